"""A whole store as one canonical JSON document: sorted, so equal graphs export byte-identical."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from graph.store import Store

EXPORT_VERSION = 1


def export(store: Store) -> dict[str, Any]:
    """Every node and edge (with its evidence), usage and issue of ``store``.

    >>> from graph import open_store
    >>> export(open_store("sqlite:///:memory:"))
    {'export_version': 1, 'nodes': [], 'edges': [], 'usage': [], 'issues': []}
    """
    edges = []
    for edge in store.edges():
        item = edge.to_dict()
        evidence = store.evidence(edge.key) if edge.kind != "OF" else []
        if evidence:
            item["evidence"] = [e.to_dict() for e in evidence]
        edges.append(item)
    return {
        "export_version": EXPORT_VERSION,
        "nodes": sorted((node.to_dict() for node in store.nodes()), key=lambda n: n["id"]),
        "edges": sorted(edges, key=lambda e: (e["src"], e["kind"], e["dst"])),
        "usage": [{k: v for k, v in dataclasses.asdict(u).items() if v is not None} for u in store.usage()],
        "issues": [issue.to_dict() for issue in store.issues()],
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
