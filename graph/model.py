"""What the graph holds: nodes and edges as the stores return them, and their ids.

Node ids are built here and only here, from the parsers' refs:

>>> from parsers import DatasetRef
>>> dataset_id(DatasetRef(namespace="postgres://db:5432", name="credit.raw.customers"))
'dataset:postgres://db:5432/credit.raw.customers'
>>> column_id(DatasetRef(namespace="postgres://db:5432", name="credit.raw.customers"), "email")
'column:postgres://db:5432/credit.raw.customers#email'
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from parsers import DatasetRef, JobRef, ModelRef, ParseIssue
from parsers.fingerprint import digest

NODE_KINDS: tuple[str, ...] = ("dataset", "column", "job", "run", "model", "model_version", "source")
EDGE_KINDS: tuple[str, ...] = ("READS", "WRITES", "FEEDS", "OF", "IN", "DERIVES", "TRAINED_ON", "PRODUCED",
                               "SERVED")


def dataset_id(ref: DatasetRef) -> str:
    return f"dataset:{ref.namespace}/{ref.name}"


def column_id(ref: DatasetRef, column: str) -> str:
    return f"column:{ref.namespace}/{ref.name}#{column}"


def job_id(ref: JobRef) -> str:
    return f"job:{ref.namespace}/{ref.name}"


_RUN = "run:"


def issue_key(issue: ParseIssue) -> str:
    """An issue's identity in the quarantine: its code, place and message (so it is held once)."""
    origin = issue.origin
    return digest(f"{issue.code}\0{origin.path}\0{origin.line}\0{origin.byte_offset}\0{issue.message}")


def run_id(run: str) -> str:
    return f"{_RUN}{run}"


def is_run(node_id: str) -> bool:
    """Runs are kept apart from the lineage graph: one per executed statement, never collected."""
    return node_id.startswith(_RUN)


def run_name(node_id: str) -> str:
    """The run's own id, from its node id."""
    return node_id.removeprefix(_RUN)


def model_id(ref: ModelRef) -> str:
    return f"model:{ref.name}"


def model_version_id(ref: ModelRef) -> str:
    return f"model_version:{ref.name}/{ref.version or 'unversioned'}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    id: str
    kind: str
    name: str
    namespace: str | None = None
    label: str | None = None
    props: dict[str, Any] = dataclasses.field(default_factory=dict)
    first_seen: str | None = None
    last_seen: str | None = None
    removed_at: str | None = None

    @property
    def title(self) -> str:
        return self.label or self.name

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in sorted(dataclasses.asdict(self).items()) if v not in (None, {}, [])}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Edge:
    src: str
    dst: str
    kind: str
    count: int = 1
    confidence: float = 1.0
    first_seen: str | None = None
    last_seen: str | None = None
    props: dict[str, Any] = dataclasses.field(default_factory=dict)
    stale_since: str | None = None
    removed_at: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.src, self.kind, self.dst)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in sorted(dataclasses.asdict(self).items()) if v not in (None, {})}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """Who read or wrote a dataset, or ran a job, how often, and when; for a job, also the
    applications its runs came from (``role="application"``, the application in ``user``)."""

    node: str
    user: str
    role: Literal["read", "write", "run", "application"]
    count: int
    first_seen: str | None = None
    last_seen: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    """A concrete path or table of a clustered dataset, with its own first and last seen."""

    dataset: str
    name: str
    count: int
    first_seen: str | None = None
    last_seen: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Details:
    """What a page of nodes shows: the live nodes among those asked for, their live edges of
    the kinds asked for, and who used them (in no particular order)."""

    nodes: list[Node]
    edges: list[Edge]
    usage: list[Usage]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WriteStats:
    events: int = 0
    written: int = 0
    already_seen: int = 0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """What a crawl did to one node or edge: ``added`` (new, or back after its removal), ``stale``
    (marked by garbage collection) or ``removed``. Exactly one of ``node`` and ``edge`` is set."""

    crawl: int
    change: Literal["added", "stale", "removed"]
    node: Node | None = None
    edge: Edge | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class IssueFilter:
    """Which quarantine entries to list, acknowledge or release; every condition given must hold.
    ``path`` is a file, or a directory (every file under it); ``since`` a crawl number (entries
    that crawl or a later one quarantined); ``key`` the start of an entry's key;
    ``acknowledged`` False or True for those not acknowledged or acknowledged, None for both."""

    codes: tuple[str, ...] = ()
    severity: str | None = None
    path: str | None = None
    since: int | None = None
    key: str | None = None
    acknowledged: bool | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class QuarantineEntry:
    """An issue as the quarantine holds it: its key (see :func:`issue_key`), the crawl that put it
    there (None when loaded by an import), and when it was acknowledged, if it was."""

    key: str
    issue: ParseIssue
    crawl: int | None = None
    acknowledged_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        extra = {"id": self.key, "crawl": self.crawl, "acknowledged_at": self.acknowledged_at}
        return {**self.issue.to_dict(), **{k: v for k, v in extra.items() if v is not None}}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Quarantine:
    """A page of quarantine entries and how many matched in all."""

    total: int
    entries: list[QuarantineEntry]
