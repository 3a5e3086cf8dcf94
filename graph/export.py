"""A whole store as one canonical JSON document, and back: sorted, so equal graphs export
byte-identical, and complete, so ``import`` into another store gives the same export."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from graph.batch import RUN_FIELDS, Batch, CountRow, EdgeRow, NodeRow, RunRow, facets_json
from graph.errors import GraphError
from graph.model import is_run
from graph.store import EdgeKey, Store
from parsers import Evidence, ParseIssue

EXPORT_VERSION = 1


def export(store: Store) -> dict[str, Any]:
    """Every node and edge (with its evidence, removed ones too), usage, member and issue.

    >>> from graph import open_store
    >>> export(open_store("sqlite:///:memory:"))
    {'export_version': 1, 'nodes': [], 'edges': [], 'usage': [], 'members': [], 'issues': []}
    """
    edges = []
    for edge in store.edges(include_removed=True):
        item = edge.to_dict()
        evidence = [] if is_run(edge.src) and edge.kind == "OF" else store.evidence(edge.key)
        if evidence:
            item["evidence"] = [e.to_dict() for e in evidence]
        edges.append(item)
    return {
        "export_version": EXPORT_VERSION,
        "nodes": sorted((node.to_dict() for node in store.nodes(include_removed=True)), key=lambda n: n["id"]),
        "edges": sorted(edges, key=lambda e: (e["src"], e["kind"], e["dst"])),
        "usage": [_plain(u) for u in store.usage()],
        "members": [_plain(m) for m in store.members()],
        "issues": [issue.to_dict() for issue in store.issues()],
    }


def _plain(value: Any) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(value).items() if v is not None}


def dumps(document: Mapping[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def load(store: Store, document: Mapping[str, Any]) -> int:
    """Write an export into ``store``; returns the number of nodes and edges loaded."""
    if document.get("export_version") != EXPORT_VERSION:
        raise GraphError(f"not a lineage export of version {EXPORT_VERSION}")
    batch = Batch()
    removed_nodes: defaultdict[str, list[str]] = defaultdict(list)
    for item in document.get("nodes", []):
        if item["kind"] == "run":
            batch.runs[item["id"]] = _run(item)
            continue
        batch.nodes[item["id"]] = NodeRow(
            id=item["id"], kind=item["kind"], name=item["name"], namespace=item.get("namespace"),
            label=item.get("label"), props=dict(item.get("props", {})), first_seen=item.get("first_seen"),
            last_seen=item.get("last_seen"))
        if item.get("removed_at"):
            removed_nodes[item["removed_at"]].append(item["id"])
    stale: defaultdict[str, list[EdgeKey]] = defaultdict(list)
    removed_edges: defaultdict[str, list[EdgeKey]] = defaultdict(list)
    for item in document.get("edges", []):
        if is_run(item["src"]) and item["kind"] == "OF":
            continue  # implied by the run
        row = _edge(item)
        batch.edges[(row.src, row.kind, row.dst)] = row
        if item.get("stale_since"):
            stale[item["stale_since"]].append((row.src, row.kind, row.dst))
        if item.get("removed_at"):
            removed_edges[item["removed_at"]].append((row.src, row.kind, row.dst))
    for item in document.get("usage", []):
        batch.usage[(item["node"], item["user"], item["role"])] = CountRow(
            node=item["node"], key=item["user"], role=item["role"], count=item["count"],
            first_seen=item.get("first_seen"), last_seen=item.get("last_seen"))
    for item in document.get("members", []):
        batch.members[(item["dataset"], item["name"])] = CountRow(
            node=item["dataset"], key=item["name"], count=item["count"], first_seen=item.get("first_seen"),
            last_seen=item.get("last_seen"))
    store.apply(batch)
    for since, keys in sorted(stale.items()):
        store.set_stale(keys, since)
    for at in sorted(set(removed_edges) | set(removed_nodes)):
        store.remove(removed_edges.get(at, []), removed_nodes.get(at, []), at)
    store.add_issues([ParseIssue.from_dict(item) for item in document.get("issues", [])])
    return len(batch.nodes) + len(batch.runs) + len(batch.edges)


def _run(item: Mapping[str, Any]) -> RunRow:
    props = item.get("props", {})
    return RunRow(id=item["id"], job=props["job"], started_at=item.get("first_seen"), user=props.get("user"),
                  session_id=props.get("session_id"), status=props.get("status", "completed"),
                  statement_kind=props.get("statement_kind"),
                  facets=facets_json({key: value for key, value in props.items() if key not in RUN_FIELDS}))


def _edge(item: Mapping[str, Any]) -> EdgeRow:
    return EdgeRow(
        src=item["src"], kind=item["kind"], dst=item["dst"], count=item.get("count", 1),
        confidence=item.get("confidence", 1.0), first_seen=item.get("first_seen"), last_seen=item.get("last_seen"),
        props=dict(item.get("props", {})),
        evidence=[Evidence.from_dict(e).to_json() for e in item.get("evidence", [])])
