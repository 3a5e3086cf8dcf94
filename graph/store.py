"""The narrow store interface every backend fills, and the registry of backends by URL scheme.

A backend stores rows (``apply`` a folded :class:`graph.batch.Batch`) and answers a few reads;
ingestion (:mod:`graph.ingest`), lineage questions (:mod:`graph.lineage`), ranking and garbage
collection are written once above it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol
from urllib.parse import urlsplit

from graph.batch import Batch, Cursor
from graph.errors import UnknownStoreError
from graph.model import Change, Details, Edge, IssueFilter, Member, Node, Quarantine, Usage
from parsers import Evidence, ParseIssue

EdgeKey = tuple[str, str, str]
# An edge's key and when it was last seen: ``(src, kind, dst, last_seen)``.
EdgeSeen = tuple[str, str, str, str | None]


class Store(Protocol):
    """What a lineage store does. ``apply`` is one transaction; reads see only live (not removed)
    nodes and edges unless asked for removed ones or for the graph ``as_of`` a time."""

    url: str

    # -- writes
    def writer_lock(self, wait: float = 0.0) -> AbstractContextManager[None]:
        """Hold the store's one writer lock for a ``with`` block (re-entrant on this handle),
        waiting up to ``wait`` seconds for another holder; then :class:`graph.errors.StoreBusyError`
        naming it. A lock whose holder died is taken over (see :mod:`graph.locks`). Writers hold
        it (a crawl, an import); readers need not."""
        ...

    def known_runs(self, run_ids: Sequence[str]) -> set[str]: ...

    def apply(self, batch: Batch) -> None:
        """Write the batch in one transaction, unless the store holds any of its runs already
        (another writer stored them since we looked): then write nothing and raise
        :class:`graph.errors.RunsAlreadyStoredError` with their ids. Checked inside the
        transaction, so a run's facts are never counted twice, lock or no lock."""
        ...

    def add_issues(self, issues: Sequence[ParseIssue]) -> int: ...

    def save_report(self, report: dict[str, Any]) -> None:
        """Keep a crawl's report under its number, ``report["crawl"]`` (see
        :func:`graph.changes.next_crawl`); a report without one is numbered after the last."""
        ...

    def set_stale(self, edges: Sequence[EdgeKey], since: str | None, *, crawl: int | None = None) -> None:
        """Mark edges stale since ``since`` (None: live again), stamped with the ``crawl``."""
        ...

    def remove(self, edges: Sequence[EdgeKey], nodes: Sequence[str], at: str, *, crawl: int | None = None) -> None:
        """Remove edges and nodes (softly: ``removed_at``), stamped with the ``crawl``."""
        ...

    def acknowledge(self, keys: Sequence[str], at: str) -> int:
        """Mark these quarantine entries acknowledged at ``at`` (those not yet); return how many."""
        ...

    def release(self, keys: Sequence[str]) -> int:
        """Take these entries out of the quarantine (cleared, or read fine on a retry)."""
        ...

    def set_ranks(self, ranks: dict[str, float]) -> None: ...

    def cursors(self) -> dict[str, Cursor]: ...

    # -- reads
    def node(self, node_id: str) -> Node | None: ...

    def nodes(self, kind: str | None = None, *, ids: Sequence[str] | None = None,
              include_removed: bool = False) -> Iterator[Node]: ...

    def find(self, text: str, kind: str | None = None, limit: int = 200) -> list[Node]: ...

    def edges(self, kinds: Sequence[str] | None = None, *, include_removed: bool = False) -> Iterator[Edge]: ...

    def neighbors(self, node_ids: Iterable[str], *, outgoing: Sequence[str] = (), incoming: Sequence[str] = (),
                  as_of: str | None = None, include_removed: bool = False,
                  crossing: Callable[[EdgeKey], bool] | None = None) -> list[Edge]:
        """The edges of the ``outgoing`` kinds leaving these nodes and of the ``incoming`` kinds
        arriving; of those, with ``crossing``, only the ones whose key it holds true for (a store
        may ask it before reading the rest of each edge: a hub's page keeps a few of thousands)."""
        ...

    def edge_keys(self, node_ids: Iterable[str], *, outgoing: Sequence[str] = (),
                  incoming: Sequence[str] = ()) -> list[EdgeKey]:
        """The keys of the live edges ``neighbors`` returns, without the rest of each edge (a
        hub's page finds where thousands of edges go, and reads whole the few it draws)."""
        ...

    def edges_seen(self, node_ids: Iterable[str], *, outgoing: Sequence[str] = (),
                   incoming: Sequence[str] = ()) -> list[EdgeSeen]:
        """The keys of the live edges ``neighbors`` returns, each with its ``last_seen``, without
        the rest of the edge (a hub's whole impact asks when each of ~10^5 nodes was last fed by
        half a million edges, and needs nothing else of them)."""
        ...

    def served_unproduced(self) -> list[Edge]:
        """The live SERVED edges of the model versions that no live PRODUCED edge reaches (a
        prediction log names them; no crawled source trained or registered them), in edge order."""
        ...

    def details(self, node_ids: Sequence[str], *, outgoing: Sequence[str] = (),
                incoming: Sequence[str] = ()) -> Details:
        """``nodes(ids=...)``, ``neighbors(...)`` and ``usage(ids=...)`` of the same nodes at once
        (one round trip to a server: an impact page asks all three)."""
        ...

    def reach(self, root: str, *, outgoing: Sequence[str], incoming: Sequence[str], steps: Mapping[str, int],
              cutoff: int | None = None) -> Mapping[str, int]:
        """Shortest distances from ``root`` over live edges of the ``outgoing`` kinds (src to dst)
        and the ``incoming`` ones (dst to src), an edge of kind k costing ``steps[k]``; only those
        within ``cutoff`` (all when None); iterated nearest first. Any mapping will do (a dict, or
        one over arrays that makes names only as they are read: a hub reaches ~10^5 nodes)."""
        ...

    def evidence(self, edge: EdgeKey) -> list[Evidence]: ...

    def usage(self, node_id: str | None = None, *, ids: Sequence[str] | None = None) -> list[Usage]: ...

    def members(self, node_id: str | None = None) -> list[Member]: ...

    def issues(self, limit: int | None = None) -> list[ParseIssue]: ...

    def quarantine(self, where: IssueFilter, limit: int | None = None) -> Quarantine:
        """The entries that match, in path, offset, line and code order (the first ``limit``),
        and how many match in all."""
        ...

    def reports(self, limit: int = 10) -> list[dict[str, Any]]:
        """The last crawls' reports, newest first, each with its number under ``"crawl"``."""
        ...

    def changes(self, after: int, upto: int) -> list[Change]:
        """What the crawls numbered ``after`` + 1 to ``upto`` added, marked stale and removed:
        nodes (not runs) and edges, each as it is now, once per kind of change, by the crawl
        that did it last (an edge added by crawl 4 and again by crawl 6 after its removal: 6)."""
        ...

    def counts(self) -> dict[str, int]: ...

    def generation(self) -> int: ...

    def close(self) -> None: ...


Opener = Callable[[str, bool], Store]
_BACKENDS: dict[str, Opener] = {}


def register_backend(scheme: str, opener: Opener) -> None:
    _BACKENDS[scheme] = opener


def open_store(url: str, *, read_only: bool = False) -> Store:
    """Open the store a URL names: ``sqlite:///path/lineage.db`` (the default backend) or
    ``neo4j://user:password@host:7687``.

    >>> store = open_store("sqlite:///:memory:")
    >>> store.generation()
    0
    """
    scheme = urlsplit(url).scheme
    opener = _BACKENDS.get(scheme)
    if opener is None:
        known = ", ".join(f"{name}://" for name in sorted(_BACKENDS))
        raise UnknownStoreError(f"no store backend for {url!r} (known: {known})")
    return opener(url, read_only)

