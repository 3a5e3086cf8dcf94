"""Dataset identity: the one place a table or path becomes a :class:`DatasetRef`.

Names follow OpenLineage's naming conventions: a namespace for the server (``postgres://host:5432``)
and a dotted, fully qualified name (``db.schema.table``). Unquoted identifiers fold as the engine
folds them, and the log's default database and schema qualify bare names.

>>> from parsers.dialects import resolve
>>> context = NameContext(dialect=resolve("postgres"), namespace="postgres://db:5432", database="credit")
>>> table_ref(parse_table("Raw.Customers", context), context).name
'credit.raw.customers'
>>> table_ref(parse_table('"Raw"."Customers"', context), context).name
'credit.Raw.Customers'
>>> table_ref(parse_table("scores", context), context).name
'credit.public.scores'
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import TYPE_CHECKING

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from parsers import dialects
from parsers.frozen import quick_init
from parsers.model import DatasetRef

if TYPE_CHECKING:
    from parsers.catalog import Catalog


@quick_init
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NameContext:
    """What qualifies a bare name: the engine, its server and the session's defaults."""

    dialect: Dialect
    namespace: str
    database: str | None = None
    schema: str | None = None
    # PostgreSQL's search_path, when it names several schemas: a bare name is the table of the
    # first of them that the catalog knows one in (``schema`` is the first, for lack of any).
    search_path: tuple[str, ...] = ()
    # The session's temporary tables (qualified names): PostgreSQL searches them (pg_temp) before
    # the search path, so a bare name a temporary table holds is that table in its session alone;
    # and they are no tables a crawl's catalog learns (other sessions cannot see them).
    temporary: frozenset[str] = frozenset()
    # The columns of tables, when known: for column lineage (``SELECT *``, unqualified columns).
    catalog: Catalog | None = dataclasses.field(default=None, compare=False)

    @classmethod
    def of(
        cls,
        dialect: str | None,
        *,
        namespace: str | None = None,
        database: str | None = None,
        schema: str | None = None,
        search_path: tuple[str, ...] = (),
        temporary: tuple[str, ...] = (),
        catalog: Catalog | None = None,
    ) -> NameContext:
        resolved = dialects.resolve(dialect)
        return cls(
            dialect=resolved,
            namespace=namespace or dialects.default_namespace(resolved),
            database=database or None,
            schema=schema or None,
            search_path=search_path if len(search_path) > 1 else (),
            temporary=frozenset(temporary),
            catalog=catalog,
        )


def parse_table(name: str, context: NameContext) -> exp.Table:
    """A table expression from a name as a user or a log spells it."""
    return exp.to_table(name, dialect=context.dialect)


def table_ref(table: exp.Table, context: NameContext) -> DatasetRef:
    """The dataset a table expression names, qualified and case-folded. A bare name under a
    search path of several schemas is the first schema's that the catalog knows such a table in.

    >>> from parsers.catalog import Catalog
    >>> catalog = Catalog()
    >>> context = NameContext.of("postgres", database="shop", schema="staging",
    ...                          search_path=("staging", "raw"), catalog=catalog)
    >>> table_ref(parse_table("orders", context), context).name  # nothing known: the first
    'shop.staging.orders'
    >>> catalog.see(DatasetRef(namespace=context.namespace, name="shop.raw.orders"))
    >>> table_ref(parse_table("orders", context), context).name
    'shop.raw.orders'
    """
    parts = _parts(table, context)
    if len(parts) == 1 and context.search_path and (context.catalog is not None or context.temporary):
        found = _searched(parts, context)
        if found is not None:
            return found
    return clustered(DatasetRef(namespace=context.namespace, name=".".join(_qualify(parts, context))))


def guessed(table: exp.Table, context: NameContext) -> bool:
    """Whether ``table`` is a bare name that a search path of several schemas could place in any
    of them, none known to have it: it was put in the first for lack of better."""
    if not context.search_path or context.catalog is None:
        return False
    parts = _parts(table, context)
    return len(parts) == 1 and _searched(parts, context) is None


def _parts(table: exp.Table, context: NameContext) -> list[str]:
    parts = [_fold(part, context.dialect) for part in table.parts]
    parts[-1] = dialects.without_partition_decorator(context.dialect, parts[-1])
    return parts


def _searched(parts: list[str], context: NameContext) -> DatasetRef | None:
    """The session's temporary table of this name, else the first schema of the search path in
    which the catalog knows a table of this name."""
    for name in context.temporary:
        if name.rsplit(".", 1)[-1] == parts[0]:
            return clustered(DatasetRef(namespace=context.namespace, name=name))
    if context.catalog is None:
        return None
    for schema in context.search_path:
        ref = clustered(DatasetRef(namespace=context.namespace,
                                   name=".".join(_qualify(parts, dataclasses.replace(context, schema=schema)))))
        if context.catalog.knows(ref):
            return ref
    return None


def _fold(identifier: exp.Expr, dialect: Dialect) -> str:
    if isinstance(identifier, exp.Identifier):
        name = dialects.fold(dialect, identifier.this, quoted=identifier.quoted)
        # SQL Server's #local and ##global temporary tables: sqlglot keeps the mark aside
        return ("##" if identifier.args.get("global_") else "#" if identifier.args.get("temporary") else "") + name
    return identifier.name


def _qualify(parts: list[str], context: NameContext) -> list[str]:
    if dialects.has_two_part_names(context.dialect):
        database = context.database or context.schema
        if len(parts) == 1 and database:
            return [_fold_default(database, context.dialect), *parts]
        return parts
    schema = context.schema or dialects.default_schema(context.dialect)
    if len(parts) == 1 and schema:
        parts = [_fold_default(schema, context.dialect), *parts]
    if len(parts) == 2 and context.database:
        parts = [_fold_default(context.database, context.dialect), *parts]
    return parts


def _fold_default(name: str, dialect: Dialect) -> str:
    """A log reports names as stored, so they fold like quoted identifiers: kept as they are,
    except in engines that ignore case even when quoted (SQL Server, BigQuery datasets)."""
    return dialects.fold(dialect, name, quoted=True)



# -- Goods-style clustering ------------------------------------------------------------------
# A path or table name that varies by date, partition, shard or version is one logical
# dataset. Each variable part becomes a placeholder; the cluster is the name with all of
# them abstracted (the top-most pattern), so every member maps to exactly one stable cluster.

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_DATE = r"(?:19|20)\d\d(?:-?(?:0[1-9]|1[0-2]))(?:-?(?:0[1-9]|[12]\d|3[01]))"
_TIME = r"(?:T?[01]\d|2[0-3])(?::?[0-5]\d){1,2}(?:Z)?"
_SEGMENT_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), placeholder)
    for pattern, placeholder in (
        (r"^([A-Za-z_][\w.-]*)=.*$", r"{\1}"),                      # k=v partition: dt=2024-01-01
        (rf"^{_UUID}$", "{uuid}"),
        (rf"^{_DATE}(?:[T_ -]?{_TIME})?$", "{date}"),              # 2024-01-01, 20240101T0300
        (r"^(?:19|20)\d\d$", "{yyyy}"),                            # 2024/01/02 as three folders
        (r"^[a-z][a-z0-9-]*\d+(?:\.[a-z][a-z0-9-]*){2,}$", "{host}"),  # web-03.prod.bank.internal
        (r"^v?\d+(?:\.\d+)+$", "{version}"),                        # 1.2.3, v2.0
        (r"^v\d+$", "{version}"),
        (r"^(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,40}$", "{hex}"),  # git shas, content hashes
        (r"^\d+$", "{n}"),
    )
)
_INNER_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), placeholder)
    for pattern, placeholder in (
        (_UUID, "{uuid}"),
        (rf"(?<![0-9]){_DATE}(?:[T_]?{_TIME})?(?![0-9])", "{date}"),
        (r"(?<=[_-])(?:shard|part|p)[_-]?\d+(?:-of-\d+)?$", "{shard}"),
        (r"(?<=[_-])\d{3,}(?:-of-\d+)?$", "{shard}"),
    )
)
# Files that are pieces of a dataset directory, not datasets: Spark/Hadoop part files, markers.
_PIECE = re.compile(r"^(?:part-\d+.*|_SUCCESS|_committed_.*|_started_.*|\..*\.crc|.*\.crc)$", re.IGNORECASE)


@functools.lru_cache(maxsize=65536)  # a log names the same few thousand datasets over and over
def cluster_path(path: str) -> str:
    """The logical dataset a file path belongs to.

    >>> cluster_path("/lake/events/dt=2024-01-01/part-0001.parquet")
    '/lake/events/{dt}'
    >>> cluster_path("/exports/2024/01/02/report.csv")
    '/exports/{yyyy}/{n}/{n}/report.csv'
    >>> cluster_path("/ml/models/credit-limit/v7/model.pkl")
    '/ml/models/credit-limit/{version}/model.pkl'
    >>> cluster_path("/landing/payments/payments_20261125.csv")
    '/landing/payments/payments_{date}.csv'
    """
    segments = path.split("/")
    if len(segments) > 1 and _PIECE.match(segments[-1]):
        segments = segments[:-1]
    return "/".join(_abstract_segment(segment) for segment in segments)


@functools.lru_cache(maxsize=65536)
def cluster_table(name: str) -> str:
    """The logical table a dated or sharded table name belongs to.

    >>> cluster_table("analytics.events_20240101")
    'analytics.events_{date}'
    >>> cluster_table("shop.orders_shard_07")
    'shop.orders_{shard}'
    >>> cluster_table("credit.ml.credit_scores")
    'credit.ml.credit_scores'
    """
    *qualifier, table = name.split(".")
    return ".".join([*qualifier, _abstract_inner(table)])


def _abstract_segment(segment: str) -> str:
    if not segment:
        return segment
    for pattern, placeholder in _SEGMENT_RULES:
        if pattern.match(segment):
            return pattern.sub(placeholder, segment)
    stem, dot, suffix = segment.partition(".")
    return _abstract_inner(stem) + dot + suffix


def _abstract_inner(text: str) -> str:
    for pattern, placeholder in _INNER_RULES:
        text = pattern.sub(placeholder, text)
    return text


def clustered(ref: DatasetRef) -> DatasetRef:
    """``ref`` as its cluster, remembering the concrete name as the member (if it differs)."""
    is_path = ref.name.startswith("/") or not is_table_namespace(ref.namespace)
    name = cluster_path(ref.name) if is_path else cluster_table(ref.name)
    if name == ref.name:
        return ref
    return DatasetRef(namespace=ref.namespace, name=name, member=ref.name)


_FILE_SCHEMES = ("file", "s3", "s3a", "gs", "hdfs", "abfss", "wasbs", "dbfs", "http", "https")


def is_table_namespace(namespace: str) -> bool:
    return namespace.split(":", 1)[0] not in _FILE_SCHEMES


def given_ref(namespace: str, name: str) -> DatasetRef:
    """A dataset named as OpenLineage names it (an OpenLineage event, our own export): the name is
    kept as given, only clustered.

    >>> given_ref("s3://lake", "events/dt=2024-01-01").name
    'events/{dt}'
    """
    return clustered(DatasetRef(namespace=namespace, name=name))


def file_ref(uri: str) -> DatasetRef:
    """A file or object-store path as a clustered dataset: ``s3://bucket/key`` or ``/abs/path``.

    >>> file_ref("s3://lake/events/dt=2024-01-01/part-0001.parquet")
    DatasetRef(namespace='s3://lake', name='events/{dt}', member='events/dt=2024-01-01/part-0001.parquet')
    >>> file_ref("/data/exports/2024-05-01.csv").name
    '/data/exports/{date}.csv'
    >>> file_ref("s3://exports").name  # a bucket's root, named as OpenLineage names it
    '/'
    """
    if "://" in uri:
        scheme, rest = uri.split("://", 1)
        authority, _, key = rest.partition("/")
        if scheme != "file":
            return clustered(DatasetRef(namespace=f"{scheme}://{authority}", name=key or "/"))
        uri = "/" + key
    return clustered(DatasetRef(namespace="file", name=uri))
