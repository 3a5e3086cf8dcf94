"""The shared vocabulary: what a crawler reads and what a parser finds in it.

Every type is a frozen dataclass with a canonical JSON form: ``to_dict()`` drops ``None`` and
empty collections, sorts keys and carries ``schema_version``; ``from_dict()`` reads it back.

>>> ref = DatasetRef(namespace="postgres://db:5432", name="credit.raw.customers")
>>> DatasetRef.from_dict(ref.to_dict()) == ref
True
>>> ref.to_dict()
{'name': 'credit.raw.customers', 'namespace': 'postgres://db:5432', 'schema_version': 1}
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, TypeVar

from parsers.errors import SchemaVersionError
from parsers.fingerprint import digest
from parsers.frozen import quick_init

SCHEMA_VERSION = 1

T = TypeVar("T", bound="Record")



class Record:
    """Mixin giving a frozen dataclass its canonical JSON form."""

    __slots__ = ()
    _hints: ClassVar[dict[type, dict[str, Any]]] = {}

    def to_dict(self) -> dict[str, Any]:
        data = _encode(self)
        data["schema_version"] = SCHEMA_VERSION
        return dict(sorted(data.items()))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
        version = data.get("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise SchemaVersionError(f"{cls.__name__}: schema_version {version} is not {SCHEMA_VERSION}")
        return typing.cast(T, _decode(cls, data))


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        encoded = {}
        for field in dataclasses.fields(value):
            item = _encode(getattr(value, field.name))
            if item is None or item == () or item == [] or item == {}:
                continue
            encoded[field.name] = item
        return dict(sorted(encoded.items()))
    if isinstance(value, (tuple, list)):
        return [_encode(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _encode(item) for key, item in sorted(value.items())}
    return value


def _hints_of(cls: type) -> dict[str, Any]:
    hints = Record._hints.get(cls)
    if hints is None:
        hints = typing.get_type_hints(cls)
        Record._hints[cls] = hints
    return hints


def _decode(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return _decode(options[0], value)
    if origin is tuple:
        (item_kind, _ellipsis) = typing.get_args(kind)
        return tuple(_decode(item_kind, item) for item in value)
    if origin in (dict, Mapping) or kind is dict:
        return {key: dict(item) if isinstance(item, Mapping) else item for key, item in value.items()}
    if origin is Literal or kind is Any:
        return value
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = _hints_of(kind)
        fields = {}
        for field in dataclasses.fields(kind):
            if field.name in value:
                fields[field.name] = _decode(hints[field.name], value[field.name])
        return kind(**fields)
    return value


@quick_init
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Origin(Record):
    """Where a record was read: a file, and the line and byte offset it starts at."""

    path: str
    line: int | None = None
    byte_offset: int | None = None


@quick_init
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SourceRecord(Record):
    """One unit of raw text a crawler read, with the context the log gave it.

    ``text`` is the SQL (or other payload) as found; ``source_type`` names the crawler that
    produced it, and so the parser that reads it.
    """

    source_type: str
    text: str
    origin: Origin
    timestamp: str | None = None
    user: str | None = None
    database: str | None = None
    schema: str | None = None
    # PostgreSQL's search_path when it names several schemas (``schema`` is its first).
    search_path: tuple[str, ...] = ()
    # The session's temporary tables (qualified names): searched before the search path.
    temporary: tuple[str, ...] = ()
    session_id: str | None = None
    application: str | None = None
    dialect: str | None = None
    namespace: str | None = None
    attributes: dict[str, str] = dataclasses.field(default_factory=dict)

    def key(self) -> str:
        """A stable identity of this record: the same bytes at the same place give the same key.
        A record its reader named as one execution of a server's (``attributes["execution"]``:
        the server's process, the second and the text, as every log of that server shows them)
        has that identity wherever it was read, so a statement two logs show is one run."""
        execution = self.attributes.get("execution")
        if execution:
            return digest(f"execution\0{self.namespace or ''}\0{execution}")
        where = f"{self.origin.path}\0{self.origin.byte_offset}\0{self.origin.line}"
        return digest(f"{self.source_type}\0{where}\0{self.text}")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DatasetRef(Record):
    """A dataset's identity, by OpenLineage naming: ``namespace`` + ``name``.

    Build these with :mod:`parsers.naming`, never by hand from raw strings.
    """

    namespace: str
    name: str
    # The concrete path or table a clustered dataset was seen as (a partition, a shard):
    # kept for the member list, not part of the identity.
    member: str | None = dataclasses.field(default=None, compare=False)

    @property
    def qualified(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ColumnRef(Record):
    dataset: DatasetRef
    column: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ColumnEdge(Record):
    """A column of an output derives from a column of an input."""

    source: ColumnRef
    target: ColumnRef
    kind: Literal["direct", "indirect"] = "direct"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class JobRef(Record):
    """A job: a query template, a Spark application, a script, a training pipeline."""

    namespace: str
    name: str


@quick_init
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunRef(Record):
    """One execution of a job."""

    run_id: str
    started_at: str | None = None
    user: str | None = None
    session_id: str | None = None
    status: Literal["completed", "failed", "rolled_back", "unknown"] = "completed"
    # What else the source says of this execution: the code version (a git commit, an image
    # digest), hyperparameters, metrics, the try of a task. Kept on the run.
    facets: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ModelRef(Record):
    """A model version, for provenance (filled by the ML crawlers)."""

    name: str
    version: str | None = None
    # What the registry says of the version (aliases, stage, status, creation time): kept on it.
    facets: dict[str, Any] = dataclasses.field(default_factory=dict)
    # Where the version came from when that is not the event's own run and inputs (a registration
    # recorded apart from its training run): the run that produced it, and its training data.
    produced_by: str | None = None
    trained_on: tuple[DatasetRef, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Served(Record):
    """Predictions a model version made in one stretch of a prediction log: how many, when, and
    from which features (their names: the values are customer data, never kept)."""

    model: ModelRef
    count: int
    first: str | None = None
    last: str | None = None
    features: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ParseIssue(Record):
    """Something in the input that could not be read, kept as data with its origin."""

    code: str
    message: str
    origin: Origin
    severity: Literal["error", "warning"] = "error"
    snippet: str | None = None


@quick_init
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Evidence(Record):
    """Why an edge exists: the log record and the (redacted) statement behind it."""

    source_type: str
    origin: Origin
    timestamp: str | None = None
    fingerprint: str | None = None
    sql: str | None = None

    def to_json(self) -> str:
        """The canonical form, built directly: evidence is encoded for every stored sample."""
        origin = {key: value for key, value in (("byte_offset", self.origin.byte_offset), ("line", self.origin.line),
                                                ("path", self.origin.path)) if value is not None}
        data: dict[str, Any] = {"origin": origin, "schema_version": SCHEMA_VERSION, "source_type": self.source_type}
        for key, value in (("fingerprint", self.fingerprint), ("sql", self.sql), ("timestamp", self.timestamp)):
            if value:
                data[key] = value
        return json.dumps(data, sort_keys=True, separators=(",", ":"))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DatasetEvent(Record):
    """A change in a dataset's life that moves no data: drop, truncate, rename, swap,
    create_like, refresh. ``other`` is the new name, the swapped or the copied dataset."""

    event: str
    dataset: DatasetRef
    other: DatasetRef | None = None


@quick_init
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LineageEvent(Record):
    """What one statement (or job step) read and wrote, with the evidence for it."""

    job: JobRef
    evidence: Evidence
    statement_kind: str
    inputs: tuple[DatasetRef, ...] = ()
    outputs: tuple[DatasetRef, ...] = ()
    column_edges: tuple[ColumnEdge, ...] = ()
    run: RunRef | None = None
    job_title: str | None = None
    # Metadata found about datasets, by qualified name: {"kind": "view", "schema": {...}, ...}
    dataset_facets: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    produced: tuple[ModelRef, ...] = ()
    # Model versions whose predictions this event's outputs hold (a serving job's audit log).
    served: tuple[Served, ...] = ()
    # Metadata found about the job (a Spark application's version, master, command line):
    # kept on the job, the latest value of each winning.
    job_facets: dict[str, Any] = dataclasses.field(default_factory=dict)
    confidence: float = 1.0
    issues: tuple[ParseIssue, ...] = ()
    lifecycle: tuple[DatasetEvent, ...] = ()
    # Those of ``inputs`` read only to decide which rows change or come out (a DELETE's USING,
    # an UPDATE's filtering FROM, a semi-join): read, but no values flow from them.
    indirect: tuple[DatasetRef, ...] = ()


@quick_init
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ParseResult(Record):
    """Everything a parser found in one source record: events and issues."""

    record_key: str
    events: tuple[LineageEvent, ...] = ()
    issues: tuple[ParseIssue, ...] = ()
    # Session defaults the record changed for the records after it: (("schema", "features"),)
    sets: tuple[tuple[str, str], ...] = ()
