"""Store and query the lineage graph: one narrow store interface, backends by URL scheme,
lineage algorithms written once above it.
"""

from __future__ import annotations

import graph.sqlite_store  # noqa: F401  (registers the embedded default backend)
from graph.errors import AmbiguousNameError, GraphError, NodeNotFoundError, UnknownStoreError
from graph.lineage import ImpactRow, LineageIndex, LineageView, impact, lineage, neighbourhood, resolve, search
from graph.model import Edge, Node, Usage, WriteStats
from graph.store import Store, open_store

__all__ = [
    "AmbiguousNameError",
    "Edge",
    "GraphError",
    "ImpactRow",
    "LineageIndex",
    "LineageView",
    "Node",
    "NodeNotFoundError",
    "Store",
    "UnknownStoreError",
    "Usage",
    "WriteStats",
    "impact",
    "lineage",
    "neighbourhood",
    "open_store",
    "resolve",
    "search",
]
