"""Two-phase garbage collection of edges that the logs stopped showing.

A crawl marks live edges not seen for ``stale_after`` as stale, counting back from the newest
time the logs show (not the wall clock, so crawling last year's logs does not age them all out);
a later crawl removes those
still stale (an edge seen again in between is live again: ``apply`` clears the mark). Nodes
left without live edges go too. No crawl removes more than ``max_fraction`` of any kind of node
or edge: past that it holds back and says so, since a sudden mass removal is more likely a
source that went missing than a warehouse that changed. Removal is soft: ``as_of`` queries and
node histories still see what was.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import Counter, defaultdict

from graph.model import EDGE_KINDS, NODE_KINDS, Edge, is_run
from graph.store import EdgeKey, Store

DEFAULT_STALE_AFTER = dt.timedelta(days=30)
DEFAULT_MAX_FRACTION = 0.05


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CollectionReport:
    marked: dict[str, int]
    removed_edges: dict[str, int]
    removed_nodes: dict[str, int]
    held_back: dict[str, int]

    def messages(self) -> list[str]:
        return [f"held back removing {count} {kind} (over the {DEFAULT_MAX_FRACTION:.0%} per-crawl limit)"
                for kind, count in sorted(self.held_back.items())]


def collect(store: Store, now: dt.datetime, *, stale_after: dt.timedelta = DEFAULT_STALE_AFTER,
            max_fraction: float = DEFAULT_MAX_FRACTION, crawl: int | None = None) -> CollectionReport:
    """Mark edges stale, remove those stale since an earlier crawl, then orphaned nodes; the
    marks and removals are stamped with the ``crawl`` number, if given."""
    stamp = _stamp(now)
    # Runs and their OF edges are history, never collected: leave their (many) rows unread.
    edges = list(store.edges([kind for kind in EDGE_KINDS if kind != "OF"]))
    newest = max((e.last_seen for e in edges if e.last_seen), default=None)
    if newest is None:
        return CollectionReport(marked={}, removed_edges={}, removed_nodes={}, held_back={})
    threshold = _stamp(dt.datetime.fromisoformat(newest) - stale_after)
    live_by_kind = Counter(e.kind for e in edges if not is_run(e.src))
    stale = [e for e in edges if _is_stale(e, threshold)]
    to_mark = [e.key for e in stale if e.stale_since is None]
    candidates = [e for e in stale if e.stale_since is not None and e.stale_since < stamp]
    held: Counter[str] = Counter()
    removed = _capped(candidates, live_by_kind, max_fraction, held)
    store.set_stale(to_mark, stamp, crawl=crawl)
    orphans = _orphans(store, edges, {e.key for e in removed}, max_fraction, held)
    store.remove([e.key for e in removed], [node for node, _ in orphans], stamp, crawl=crawl)
    return CollectionReport(
        marked=dict(Counter(key[1] for key in to_mark)),
        removed_edges=dict(Counter(e.kind for e in removed)),
        removed_nodes=dict(Counter(kind for _, kind in orphans)),
        held_back=dict(held),
    )


def _stamp(moment: dt.datetime) -> str:
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _is_stale(edge: Edge, threshold: str) -> bool:
    # Runs are history, not state; an edge with no time at all cannot age.
    return not is_run(edge.src) and edge.last_seen is not None and edge.last_seen < threshold


def _capped(edges: list[Edge], live: Counter[str], max_fraction: float, held: Counter[str]) -> list[Edge]:
    by_kind: defaultdict[str, list[Edge]] = defaultdict(list)
    for edge in sorted(edges, key=lambda e: (e.last_seen or "", e.key)):  # oldest go first
        by_kind[edge.kind].append(edge)
    kept = []
    for kind, items in by_kind.items():
        allowed = math.floor(live[kind] * max_fraction)
        kept += items[:allowed]
        if len(items) > allowed:
            held[kind] += len(items) - allowed
    return kept


def _orphans(store: Store, edges: list[Edge], removed: set[EdgeKey], max_fraction: float,
             held: Counter[str]) -> list[tuple[str, str]]:
    # A run keeps no job alive: runs are history.
    connected = {end for e in edges if e.key not in removed and not is_run(e.src)
                 for end in (e.src, e.dst)}
    nodes = [n for kind in NODE_KINDS if kind != "run" for n in store.nodes(kind)]
    live = Counter(n.kind for n in nodes)
    orphans: defaultdict[str, list[str]] = defaultdict(list)
    for node in nodes:
        if node.id not in connected:
            orphans[node.kind].append(node.id)
    if orphans.get("model"):  # a model lives while a version of it does (its OF edges, left unread above)
        versioned = {e.dst for e in store.neighbors(orphans["model"], incoming=["OF"]) if e.src in connected}
        orphans["model"] = [node for node in orphans["model"] if node not in versioned]
    result = []
    for kind, ids in orphans.items():
        allowed = math.floor(live[kind] * max_fraction)
        result += [(node, kind) for node in ids[:allowed]]
        if len(ids) > allowed:
            held[kind] += len(ids) - allowed
    return result
