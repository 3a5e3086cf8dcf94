"""What columns tables have: given by the user (a schema file) or learned during a crawl from
``CREATE TABLE`` statements, ``CREATE TABLE ... AS`` and ``CREATE VIEW``.

Column lineage needs it to expand ``SELECT *`` and to place a column that names no table in a
query over several tables. Tables are keyed by their dataset identity, so a schema file spelling
``Raw.Orders`` and a log spelling ``raw.orders`` meet on one entry.

>>> from parsers.naming import NameContext
>>> context = NameContext.of("postgres", database="shop")
>>> catalog = Catalog.from_mapping({"raw.orders": {"ID": "int", "amount": "numeric"}}, context)
>>> catalog.columns(dataset("Raw.Orders", context))
('id', 'amount')
>>> catalog.columns(dataset("raw.customers", context)) is None
True

A name and an entry a user gave (a schema file) that differ only in how far they are qualified
meet when one is the other's dotted tail and no other entry fits as well (as sqlglot's
MappingSchema finds a table): a schema file exported with its ``table_catalog`` serves SQL that
names ``schema.table`` only. Tables learned in a crawl match by their full names only: a bare
``orders`` created where the database was not known is no other database's ``orders``.

>>> catalog.columns(dataset("orders", NameContext.of("postgres", schema="raw")))
('id', 'amount')
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import io
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlglot import exp

from parsers import dialects
from parsers.errors import ParsersError
from parsers.model import DatasetRef
from parsers.naming import NameContext, parse_table, table_ref

# The columns of an information_schema.columns export that name a column's place
# (https://www.postgresql.org/docs/current/infoschema-columns.html; the same names in MySQL,
# Snowflake, SQL Server, Redshift, Trino, BigQuery's INFORMATION_SCHEMA.COLUMNS).
_INFO_SCHEMA = ("table_catalog", "table_schema", "table_name", "column_name")


class SchemaFileError(ParsersError):
    """A schema file that cannot be read: the user's to fix."""


# Catalog versions, drawn from one counter: no two catalogs of a process (a crawl's, each
# script's, each parallel crawl's per file) share one, so a template cache keyed by version
# cannot answer from another catalog's columns.
_VERSIONS = itertools.count(1)


class Catalog:
    """Columns by dataset, in their declared order. ``version`` moves with every change, so
    results computed against an older catalog are not mistaken for current ones.

    A ``journal`` (a list, when set) records every lookup with its answer and every change, in
    order: a parallel crawl parses a file against the catalog it had at hand, then checks with
    :meth:`replay` that the catalog the file meets in crawl order answers the same.

    >>> ref = DatasetRef(namespace="postgres://db:5432", name="shop.raw.orders")
    >>> worker = Catalog()
    >>> worker.journal = []
    >>> worker.columns(ref) is None
    True
    >>> crawl_order = Catalog()
    >>> crawl_order.replay(worker.journal)
    True
    >>> crawl_order.add(ref, ["id"])  # an earlier file of the crawl created it
    >>> crawl_order.replay(worker.journal)  # the file must be parsed again, with the columns
    False
    """

    def __init__(self, *, session: bool = False) -> None:
        # Keyed without case: a default database given in lower case and a schema file's name in
        # the engine's case (Snowflake's upper) still meet.
        self._columns: dict[tuple[str, str], tuple[str, ...]] = {}
        # The entries a user gave, and each under its name's proper dotted tails ('raw.orders',
        # 'orders' for 'shop.raw.orders'), for names that are less qualified than the entry.
        self._given: set[tuple[str, str]] = set()
        self._tails: dict[tuple[str, str], set[tuple[str, str]]] = {}
        self.version = next(_VERSIONS)
        self.journal: list[tuple[Any, ...]] | None = None
        # One session's (a script's): it learns the session's temporary tables too. A crawl's
        # catalog serves every session of its logs, whose temporary tables may share names.
        self.session = session
        # Where tables live (Spark's and Hive's: a table is also a directory), by normalized URI.
        self._locations: dict[str, DatasetRef] = {}
        # The tables known to exist (created, or named in a statement, so far; with columns or
        # not): a bare name under a search path of several schemas is the first schema's that has
        # one. ``names_version`` moves when the set does.
        self._tables: set[tuple[str, str]] = set()
        self.names_version = next(_VERSIONS)

    def for_session(self) -> Catalog:
        """A copy of these columns that one session (a script) adds to, temporary tables too."""
        return self.copy(session=True)

    def copy(self, *, session: bool = False) -> Catalog:
        """These columns and locations in a catalog of their own (without the journal)."""
        copy = Catalog(session=session)
        copy._locations = dict(self._locations)
        copy._columns = dict(self._columns)
        copy._given = set(self._given)
        copy._tails = {tail: set(keys) for tail, keys in self._tails.items()}
        copy._tables = set(self._tables)
        return copy

    def __len__(self) -> int:
        return len(self._columns)

    def columns(self, ref: DatasetRef) -> tuple[str, ...] | None:
        """The table's columns: its own entry, else the one given entry it is a dotted tail of,
        else the most qualified given entry that is a dotted tail of it (None where no entry, or
        several, fit)."""
        found = self._lookup(ref)
        if self.journal is not None:
            self.journal.append(("columns", ref, found))
        return found

    def _lookup(self, ref: DatasetRef) -> tuple[str, ...] | None:
        key = _key(ref)
        found = self._columns.get(key)
        if found is not None or not self._given:
            return found
        fuller = self._tails.get(key)
        if fuller:
            return self._columns[next(iter(fuller))] if len(fuller) == 1 else None
        namespace, name = key
        for tail in _tails(name):
            if (namespace, tail) in self._given:
                return self._columns.get((namespace, tail))
        return None

    def knows(self, ref: DatasetRef) -> bool:
        """Whether a table of this name is known to exist: seen in the crawl, or given.

        >>> catalog = Catalog()
        >>> ref = DatasetRef(namespace="pg", name="shop.raw.orders")
        >>> catalog.see(ref)
        >>> catalog.knows(ref), catalog.knows(DatasetRef(namespace="pg", name="shop.staging.orders"))
        (True, False)
        """
        found = self._knows(ref)
        if self.journal is not None:
            self.journal.append(("knows", ref, found))
        return found

    def _knows(self, ref: DatasetRef) -> bool:
        return _key(ref) in self._tables or (bool(self._given) and self._lookup(ref) is not None)

    def see(self, ref: DatasetRef) -> None:
        """Record that a table of this name exists (a statement named or created it)."""
        key = _key(ref)
        if key in self._tables:
            return
        if self.journal is not None:
            self.journal.append(("see", ref))
        self._tables.add(key)
        self.names_version = next(_VERSIONS)

    def unsee(self, ref: DatasetRef) -> None:
        """Record that no table of this name exists any more (it was renamed)."""
        key = _key(ref)
        if key not in self._tables:
            return
        if self.journal is not None:
            self.journal.append(("unsee", ref))
        self._tables.discard(key)
        self.names_version = next(_VERSIONS)

    def add(self, ref: DatasetRef, columns: Sequence[str], *, given: bool = False) -> None:
        """Record (or replace) a table's columns; a table created twice keeps the newer. A
        ``given`` table (a user's schema file) is also found by names qualified more or less."""
        columns = tuple(dict.fromkeys(columns))
        if self.journal is not None:
            self.journal.append(("add", ref, columns, given))
        key = _key(ref)
        if columns and self._columns.get(key) != columns:
            self._columns[key] = columns
            self.version = next(_VERSIONS)
        if columns and key not in self._tables:
            self._tables.add(key)
            self.names_version = next(_VERSIONS)
        if columns and given and key not in self._given:
            self._given.add(key)
            for tail in _tails(key[1]):
                self._tails.setdefault((key[0], tail), set()).add(key)

    def add_location(self, uri: str, ref: DatasetRef) -> None:
        """Record that table ``ref`` lives at ``uri`` (``file:///wh/sales.db/orders``)."""
        if self.journal is not None:
            self.journal.append(("add_location", uri, ref))
        self._locations[uri.rstrip("/")] = ref

    def locate(self, uri: str) -> DatasetRef | None:
        """The table living at ``uri``, or in a directory above it (a partition of it).

        >>> catalog = Catalog()
        >>> catalog.add_location("s3://lake/orders", DatasetRef(namespace="hive://default", name="sales.orders"))
        >>> catalog.locate("s3://lake/orders/dt=2024-01-01").name
        'sales.orders'
        >>> catalog.locate("s3://lake/orders_v2") is None
        True
        """
        found = self._find(uri)
        if self.journal is not None:
            self.journal.append(("locate", uri, found))
        return found

    def _find(self, uri: str) -> DatasetRef | None:
        if not self._locations:
            return None
        path = uri.rstrip("/")
        while path and "/" in path:
            found = self._locations.get(path)
            if found is not None:
                return found
            path = path.rsplit("/", 1)[0]
        return None

    def drop(self, ref: DatasetRef) -> None:
        if self.journal is not None:
            self.journal.append(("drop", ref))
        key = _key(ref)
        if self._columns.pop(key, None) is not None:
            self.version = next(_VERSIONS)
        if key in self._tables:
            self._tables.discard(key)
            self.names_version = next(_VERSIONS)
        if key in self._given:
            self._given.discard(key)
            for tail in _tails(key[1]):
                keys = self._tails.get((key[0], tail))
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del self._tails[(key[0], tail)]

    def replay(self, journal: Iterable[tuple[Any, ...]]) -> bool:
        """Make another catalog's journaled changes here, in order, checking that each lookup
        journaled between them is answered here as it was there; False at the first that is not
        (the changes up to it are made)."""
        for entry in journal:
            kind = entry[0]
            if kind == "columns" and self._lookup(entry[1]) != entry[2]:
                return False
            if kind == "locate" and self._find(entry[1]) != entry[2]:
                return False
            if kind == "knows" and self._knows(entry[1]) != entry[2]:
                return False
            if kind == "add":
                self.add(entry[1], entry[2], given=entry[3])
            elif kind == "drop":
                self.drop(entry[1])
            elif kind == "add_location":
                self.add_location(entry[1], entry[2])
            elif kind == "see":
                self.see(entry[1])
            elif kind == "unsee":
                self.unsee(entry[1])
        return True

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Mapping[str, str] | Sequence[str]], context: NameContext) -> Catalog:
        """From ``{table: {column: type}}`` (or ``{table: [column, ...]}``), names as a user writes
        them: folded and qualified like the SQL's."""
        catalog = cls()
        for table, columns in mapping.items():
            catalog.add(dataset(table, context), [_column(name, context) for name in columns], given=True)
        return catalog

    @classmethod
    def load(cls, path: Path, context: NameContext) -> Catalog:
        """A JSON ``{table: {column: type}}`` file, or a CSV export of information_schema.columns."""
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise SchemaFileError(f"cannot read schema file {path}: {error}") from error
        if text.lstrip().startswith("{"):
            try:
                mapping = json.loads(text)
            except ValueError as error:
                raise SchemaFileError(f"{path} is not valid JSON: {error}") from error
            if not isinstance(mapping, dict) or not all(isinstance(v, dict | list) for v in mapping.values()):
                raise SchemaFileError(f"{path}: expected {{table: {{column: type}}}}")
            return cls.from_mapping(mapping, context)
        rows = csv.DictReader(io.StringIO(text))
        return cls.from_mapping(_information_schema(rows, path, context), context)


# The catalog of the crawl under way: what earlier statements created is known to later ones.
_current: contextvars.ContextVar[Catalog | None] = contextvars.ContextVar("catalog", default=None)


def current() -> Catalog | None:
    return _current.get()


@contextlib.contextmanager
def using(catalog: Catalog) -> Iterator[Catalog]:
    """Make ``catalog`` the one SQL records are parsed with, for the block (a crawl)."""
    token = _current.set(catalog)
    try:
        yield catalog
    finally:
        _current.reset(token)


def _key(ref: DatasetRef) -> tuple[str, str]:
    return ref.namespace, ref.name.lower()


def _tails(name: str) -> list[str]:
    """A dotted name's proper tails, longest first: 'shop.raw.orders' -> 'raw.orders', 'orders'.
    (Names of datasets are dotted by their qualifiers; a dot inside a quoted part splits too,
    which only makes a tail that no other entry has.)"""
    tails = []
    start = name.find(".")
    while start >= 0:
        tails.append(name[start + 1:])
        start = name.find(".", start + 1)
    return tails


def dataset(name: str, context: NameContext) -> DatasetRef:
    return table_ref(parse_table(name, context), context)


def _column(name: str, context: NameContext) -> str:
    return dialects.fold(context.dialect, name, quoted=False)


def _information_schema(rows: Iterable[dict[str, str]], path: Path, context: NameContext) -> dict[str, list[str]]:
    tables: dict[str, list[tuple[int, str]]] = {}
    for number, row in enumerate(rows, start=2):
        row = {(key or "").strip().lower(): (value or "").strip() for key, value in row.items()}
        if "table_name" not in row or "column_name" not in row:
            raise SchemaFileError(f"{path}: expected JSON or an information_schema.columns CSV "
                                  f"(columns {', '.join(_INFO_SCHEMA)}, ordinal_position)")
        parts = [row.get(key, "") for key in _INFO_SCHEMA[:3]]
        table = ".".join(_quoted(part, context) for part in parts if part)
        position = int(row["ordinal_position"]) if row.get("ordinal_position", "").isdigit() else number
        tables.setdefault(table, []).append((position, row["column_name"]))
    return {table: [name for _, name in sorted(columns)] for table, columns in tables.items()}


def _quoted(part: str, context: NameContext) -> str:
    """information_schema gives names as stored: quoted, so they keep their case where it counts."""
    return exp.to_identifier(part, quoted=True).sql(dialect=context.dialect)
