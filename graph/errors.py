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
