"""Goods-style importance: PageRank over the job-dataset graph, run against the flow of data,
so a dataset that feeds many jobs and datasets (directly or not) ranks high. Search uses it to
order equal matches."""

from __future__ import annotations

import networkx as nx

from graph.lineage import DATASET_FLOW
from graph.store import Store

DAMPING = 0.85


def compute_ranks(store: Store) -> dict[str, float]:
    """PageRank of every dataset, job and model version, scaled so the mean is 1."""
    graph = nx.DiGraph()
    for edge in store.edges(list(DATASET_FLOW)):
        # Rank flows from consumers back to producers: being upstream of much is what counts.
        producer, consumer = (edge.src, edge.dst) if DATASET_FLOW[edge.kind] > 0 else (edge.dst, edge.src)
        graph.add_edge(consumer, producer)
    if graph.number_of_nodes() == 0:
        return {}
    ranks = nx.pagerank(graph, alpha=DAMPING)
    scale = graph.number_of_nodes()
    return {node: rank * scale for node, rank in ranks.items()}


def update_ranks(store: Store) -> int:
    """Recompute and store the ranks; returns how many nodes were ranked."""
    ranks = compute_ranks(store)
    if ranks:
        store.set_ranks(ranks)
    return len(ranks)
