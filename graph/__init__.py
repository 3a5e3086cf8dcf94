"""Store and query the lineage graph: one narrow store interface, backends by URL scheme,
ingestion, lineage questions, ranking and garbage collection written once above it.

Light to import: the stores (numpy) and networkx load when first used, so that what only folds
rows (a parallel crawl's workers: graph.batch, graph.ingest) does not pay for them.
"""

from __future__ import annotations

from graph.errors import (
    AmbiguousNameError,
    GraphError,
    NodeNotFoundError,
    StoreBusyError,
    StoreUnavailableError,
    UnknownStoreError,
)
from graph.ingest import write
from graph.lineage import (
    HistoryRow,
    ImpactHead,
    ImpactPage,
    ImpactRow,
    LineageView,
    history,
    impact,
    impact_head,
    impact_page,
    lineage,
    neighbourhood,
    path,
    resolve,
    search,
)
from graph.model import Edge, Member, Node, Usage, WriteStats
from graph.store import Store, open_store, register_backend


def _open_sqlite(url: str, read_only: bool) -> Store:
    # (numpy, for the store's walks: not for what only folds rows)
    from graph.sqlite_store import open_sqlite

    return open_sqlite(url, read_only)


def _open_neo4j(url: str, read_only: bool) -> Store:
    # The driver takes about a second to import: only a Neo4j URL pays for it.
    from graph.neo4j_store import open_neo4j

    return open_neo4j(url, read_only)


register_backend("sqlite", _open_sqlite)
for _scheme in ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc"):
    register_backend(_scheme, _open_neo4j)

__all__ = [
    "AmbiguousNameError",
    "Edge",
    "GraphError",
    "HistoryRow",
    "ImpactHead",
    "ImpactPage",
    "ImpactRow",
    "LineageView",
    "Member",
    "Node",
    "NodeNotFoundError",
    "Store",
    "StoreBusyError",
    "StoreUnavailableError",
    "UnknownStoreError",
    "Usage",
    "WriteStats",
    "history",
    "impact",
    "impact_head",
    "impact_page",
    "lineage",
    "neighbourhood",
    "open_store",
    "path",
    "resolve",
    "search",
    "write",
]
