"""Real errors of the graph package."""

from __future__ import annotations


class GraphError(Exception):
    """Root of the errors this package raises."""


class UnknownStoreError(GraphError):
    """A store URL whose scheme no backend is registered for, or that is malformed."""


class StoreUnavailableError(GraphError):
    """A store server that cannot be reached or refuses the credentials."""


class NodeNotFoundError(GraphError):
    """A name that matches no node."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"no dataset or job named {name!r}{hint}")
        self.name = name
        self.suggestions = suggestions


class AmbiguousNameError(GraphError):
    """A name that matches more than one node."""

    def __init__(self, name: str, candidates: list[str]) -> None:
        shown = ", ".join(candidates[:8]) + (" ..." if len(candidates) > 8 else "")
        super().__init__(f"{name!r} matches {len(candidates)} nodes: {shown}; give the full name")
        self.name = name
        self.candidates = candidates


class StoreBusyError(GraphError):
    """Another writer (a crawl, an import) holds the store's writer lock, and went on holding it
    for as long as we were willing to wait."""

    def __init__(self, store: str, holder: str, waited: float) -> None:
        super().__init__(f"{store} is busy: {holder}; gave up after waiting {waited:.0f} s")
        self.store = store
        self.holder = holder
        self.waited = waited


class RunsAlreadyStoredError(GraphError):
    """A batch holding runs the store already has: nothing of it was written (another writer
    stored them after we looked). ``graph.write`` drops those runs' events and writes the rest.
    ``committed``: they are all this very batch's, stored by an earlier try of it whose commit
    went unconfirmed (the store recorded the batch's token): the batch is written already."""

    def __init__(self, run_ids: set[str], *, committed: bool = False) -> None:
        shown = ", ".join(sorted(run_ids)[:3]) + (" ..." if len(run_ids) > 3 else "")
        super().__init__(f"the store already holds {len(run_ids)} of the batch's runs ({shown}); nothing written"
                         + (" (this batch's own, from a try whose commit went unconfirmed)" if committed else ""))
        self.run_ids = frozenset(run_ids)
        self.committed = committed
