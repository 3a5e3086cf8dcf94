"""The narrow store interface every backend fills, and the registry of backends by URL scheme.

Lineage algorithms (:mod:`graph.lineage`) are written once above this interface.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

from graph.errors import UnknownStoreError
from graph.model import Edge, Node, Usage, WriteStats
from parsers import Evidence, LineageEvent, ParseIssue

EVIDENCE_SAMPLE = 5  # evidence items kept per edge: the first ones seen


class Store(Protocol):
    """What a lineage store does. Writes are idempotent: a run already stored is skipped."""

    url: str

    def write(self, events: Sequence[LineageEvent]) -> WriteStats: ...

    def add_issues(self, issues: Sequence[ParseIssue]) -> int: ...

    def save_report(self, report: dict[str, Any]) -> None: ...

    def node(self, node_id: str) -> Node | None: ...

    def nodes(self, kind: str | None = None) -> Iterator[Node]: ...

    def edges(self, kinds: Sequence[str] | None = None) -> Iterator[Edge]: ...

    def evidence(self, edge: tuple[str, str, str]) -> list[Evidence]: ...

    def usage(self, node_id: str | None = None) -> list[Usage]: ...

    def issues(self, limit: int | None = None) -> list[ParseIssue]: ...

    def reports(self, limit: int = 10) -> list[dict[str, Any]]: ...

    def counts(self) -> dict[str, int]: ...

    def generation(self) -> int: ...

    def close(self) -> None: ...


Opener = Callable[[str, bool], Store]
_BACKENDS: dict[str, Opener] = {}


def register_backend(scheme: str, opener: Opener) -> None:
    _BACKENDS[scheme] = opener


def open_store(url: str, *, read_only: bool = False) -> Store:
    """Open the store a URL names: ``sqlite:///path/lineage.db`` (the default backend).

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
