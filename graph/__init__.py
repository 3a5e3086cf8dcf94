"""Store and query the lineage graph: one narrow store interface, backends by URL scheme,
ingestion, lineage questions, ranking and garbage collection written once above it.
"""

from __future__ import annotations

import graph.neo4j_store  # noqa: F401  (registers neo4j:// and bolt://)
import graph.sqlite_store  # noqa: F401  (registers the embedded default backend)
from graph.errors import AmbiguousNameError, GraphError, NodeNotFoundError, StoreUnavailableError, UnknownStoreError
from graph.ingest import write
from graph.lineage import (
    HistoryRow,
    ImpactRow,
    LineageView,
    history,
    impact,
    lineage,
    neighbourhood,
    path,
    resolve,
    search,
)
from graph.model import Edge, Member, Node, Usage, WriteStats
from graph.store import Store, open_store

__all__ = [
    "AmbiguousNameError",
    "Edge",
    "GraphError",
    "HistoryRow",
    "ImpactRow",
    "LineageView",
    "Member",
    "Node",
    "NodeNotFoundError",
    "Store",
    "StoreUnavailableError",
    "UnknownStoreError",
    "Usage",
    "WriteStats",
    "history",
    "impact",
    "lineage",
    "neighbourhood",
    "open_store",
    "path",
    "resolve",
    "search",
    "write",
]
