"""What can be crawled: the spec of a source, the registry of readers by source type, and how
the files of a spec are found and their types told (by suffix, or by sniffing their first bytes).
"""

from __future__ import annotations

import dataclasses
import glob
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from crawler import hadoop
from crawler.cursors import Start
from crawler.errors import ConfigError, SourceNotFoundError
from crawler.streams import head, logical_suffix
from parsers import ParseIssue, SourceRecord
from parsers.frozen import quick_init

Item = SourceRecord | ParseIssue


def _nothing() -> dict[str, Any]:
    return {}


@quick_init
@dataclasses.dataclass(frozen=True, slots=True)
class Read:
    """An item and where reading stands after it (byte offset, lines), for the cursor.

    ``state`` tells what a crawl resuming right after the item must start the reader with;
    call it before reading on, as it looks at the reader as it stands. It is None where no
    crawl can resume: among the items one log entry gave but the last. A reader's last Read is
    one to resume after; its ``item`` is None when it only says where reading ended.
    """

    item: Item | None
    offset: int
    line: int
    state: Callable[[], dict[str, Any]] | None = _nothing


# In a reader's state: the file may still grow (a compressed log being written), so a crawl that
# read to its end reads on from there next time, as from an archive read part way.
GROWING = "growing"

# A record with this attribute is no statement: it says its session ended (what the session
# had set no longer applies; a new session may take its id).
SESSION_END = "session_end"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FieldMap:
    """Where a trace keeps each field; dotted paths reach into nested objects."""

    query: str = "query"
    timestamp: str = "timestamp"
    user: str = "user"
    database: str = "database"
    schema: str = "schema"
    session_id: str = "session_id"
    application: str = "application"
    dialect: str = "dialect"
    namespace: str = "namespace"
    # Prediction logs (crawler/formats/predictions.py): the model, its version, the features (one
    # field holding an object of name -> value, or columns listed with commas), the output, and
    # the key of the decision (a customer or request id).
    model: str = "model"
    version: str = "version"
    features: str = "features"
    output: str = "output"
    key: str = "key"

    @classmethod
    def of(cls, mapping: Mapping[str, str] | None) -> FieldMap:
        mapping = dict(mapping or {})
        unknown = set(mapping) - {field.name for field in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown trace field(s) {', '.join(sorted(unknown))}")
        return cls(**mapping)


def field_at(obj: Mapping[str, Any], path: str) -> Any:
    """The value at a FieldMap path (``a.b``: key ``b`` of the object at key ``a``); None if absent."""
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SourceSpec:
    """One thing to crawl: a path (file, directory or glob) and how to read what is there."""

    path: str
    type: str | None = None
    dialect: str | None = None
    namespace: str | None = None
    database: str | None = None
    schema: str | None = None
    fields: FieldMap = FieldMap()
    # PostgreSQL stderr logs: the server's log_line_prefix (see `lineage crawl --help`).
    log_line_prefix: str | None = None
    # Noise control: {"user": ("monitoring",), "kind": ("SELECT",)}; fields user, database,
    # application, kind (statement kind, e.g. SELECT, INSERT).
    include: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    exclude: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    # Job logs: the user's extraction rules, as the config gives them (validated when it loads):
    # ({"pattern": "wrote (?P<dataset>s3://\\S+)", "direction": "write"},)
    rules: tuple[Mapping[str, str], ...] = ()

    def wants(self, field: str, value: str | None) -> bool:
        """Whether a record whose ``field`` is ``value`` passes the include/exclude lists."""
        if value is not None and value in self.exclude.get(field, ()):
            return False
        allowed = self.include.get(field)
        return not allowed or value in allowed


Reader = Callable[[SourceSpec, Path, Start], Iterator[Read]]
Sniffer = Callable[[bytes], bool]
Namer = Callable[[Path], bool]
Continues = Callable[[Path], Path | None]
_READERS: dict[str, Reader] = {}
_NAMERS: list[tuple[str, Namer]] = []
_CONTINUES: dict[str, Continues] = {}
_BY_SUFFIX: dict[str, str] = {}
_SNIFFERS: list[tuple[str, Sniffer]] = []
_REWRITTEN: set[str] = set()  # source types whose files are edited, not appended to (scripts)
_SUPPLEMENTS: set[str] = set()


# Files that sit beside data and logs and are neither: Hadoop's checksums and job markers.
_COMPANIONS = re.compile(r"^(?:\..+\.crc|_SUCCESS|_committed_.*|_started_.*|\.DS_Store)$")
_IGNORED: list[Namer] = []


def ignored(path: Path) -> bool:
    """A file a directory crawl passes over without a word: a companion of the files it reads
    (a Hadoop checksum, a Spark application's status marker), not a source of its own."""
    return _COMPANIONS.match(path.name) is not None or any(ignore(path) for ignore in _IGNORED)


def reader(source_type: str, *suffixes: str, appended: bool = True, sniff: Sniffer | None = None,
           supplement: bool = False, names: Namer | None = None, ignores: Namer | None = None,
           continues: Continues | None = None) -> Callable[[Reader], Reader]:
    """Register a reader for a source type: the file suffixes it claims, and a test of a file's
    first bytes that recognises its format where the suffix does not tell (``.log``, ``.csv``),
    or of its name where the bytes cannot (a compressed format no reader opens).
    A ``supplement``'s records are no statements: they complete the records of other files of
    the same crawl (see :mod:`crawler.supplements`). ``continues`` names the file that one goes
    on from (the earlier part of a rolling log): a file read from its start begins with what
    reading that one left open."""

    def add(function: Reader) -> Reader:
        _READERS[source_type] = function
        for suffix in suffixes:
            _BY_SUFFIX[suffix] = source_type
        if sniff is not None:
            _SNIFFERS.append((source_type, sniff))
        if not appended:
            _REWRITTEN.add(source_type)
        if supplement:
            _SUPPLEMENTS.add(source_type)
        if names is not None:
            _NAMERS.append((source_type, names))
        if continues is not None:
            _CONTINUES[source_type] = continues
        if ignores is not None:
            _IGNORED.append(ignores)
        return function

    return add


def type_of(path: Path) -> str | None:
    """The source type of a file: by what its first bytes look like, else by its suffix."""
    sample = head(path)
    for source_type, sniff in _SNIFFERS:
        if sniff(sample):
            return source_type
    for source_type, named in _NAMERS:
        if named(path):
            return source_type
    return _BY_SUFFIX.get(logical_suffix(path))


def predecessor(source_type: str, path: Path) -> Path | None:
    """The file ``path`` goes on from (a rolling log's earlier part), if its type has such."""
    continues = _CONTINUES.get(source_type)
    return continues(path) if continues is not None else None


def is_appended(source_type: str) -> bool:
    """Whether files of this type only grow (logs), so a rewrite is worth reporting."""
    return source_type not in _REWRITTEN


def is_supplement(source_type: str) -> bool:
    return source_type in _SUPPLEMENTS


def source_types() -> list[str]:
    return sorted(_READERS)


def discover(spec: SourceSpec, skipped: list[Path] | None = None) -> list[tuple[Path, str]]:
    """The files a spec names, each with the source type that reads it, in a stable order; the
    files of a directory or glob whose type cannot be told go to ``skipped``."""
    if spec.type is not None and spec.type not in _READERS:
        raise ConfigError(f"unknown source type {spec.type!r} (known: {', '.join(source_types())})")
    root = Path(spec.path)
    if hadoop.is_uri(spec.path):
        candidates = sorted(hadoop.walk(spec.path), key=_natural)
        single = len(candidates) == 1 and str(candidates[0]) == hadoop.normalize(spec.path)
    elif root.is_file():
        candidates, single = [root], True
    elif root.is_dir():
        candidates, single = sorted((p for p in root.rglob("*") if p.is_file()), key=_natural), False
    else:
        candidates, single = sorted((Path(p) for p in glob.glob(spec.path, recursive=True) if Path(p).is_file()),
                                    key=_natural), False
        if not candidates and root.exists():
            raise SourceNotFoundError(f"not a regular file or directory (a pipe, a device?): {spec.path}")
        if not candidates:
            raise SourceNotFoundError(f"no such file or directory: {spec.path}")
    found = []
    # Each file once, however many ways the path reaches it (a link to a parent folder under **).
    for path in dict.fromkeys(candidate.resolve() for candidate in candidates):
        if spec.type is not None and not single and ignored(path):
            continue  # a companion (a file store's run folders under a typed `mlflow` directory)
        source_type = spec.type or type_of(path)
        if source_type is None and single:
            raise ConfigError(f"cannot tell what kind of source {path} is; give its type")
        if source_type is not None:
            found.append((path, source_type))
        elif skipped is not None and not ignored(path):
            skipped.append(path)
    return found


def _natural(path: Path) -> tuple[list[Any], str]:
    """Numbers in names by value: a rolling log's ``events_10_...`` after ``events_9_...``."""
    text = str(path)
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)], text


def read(spec: SourceSpec, path: Path, source_type: str, start: Start | None = None) -> Iterator[Read]:
    """What is in ``path`` from ``start`` on (the whole file by default)."""
    return _READERS[source_type](spec, path, start or Start())


