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

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from parsers import dialects
from parsers.model import DatasetRef


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NameContext:
    """What qualifies a bare name: the engine, its server and the session's defaults."""

    dialect: Dialect
    namespace: str
    database: str | None = None
    schema: str | None = None

    @classmethod
    def of(
        cls,
        dialect: str | None,
        *,
        namespace: str | None = None,
        database: str | None = None,
        schema: str | None = None,
    ) -> NameContext:
        resolved = dialects.resolve(dialect)
        return cls(
            dialect=resolved,
            namespace=namespace or dialects.default_namespace(resolved),
            database=database or None,
            schema=schema or None,
        )


def parse_table(name: str, context: NameContext) -> exp.Table:
    """A table expression from a name as a user or a log spells it."""
    return exp.to_table(name, dialect=context.dialect)


def table_ref(table: exp.Table, context: NameContext) -> DatasetRef:
    """The dataset a table expression names, qualified and case-folded."""
    parts = [_fold(part, context.dialect) for part in table.parts]
    return DatasetRef(namespace=context.namespace, name=".".join(_qualify(parts, context)))


def _fold(identifier: exp.Expr, dialect: Dialect) -> str:
    if isinstance(identifier, exp.Identifier):
        return dialect.normalize_identifier(identifier.copy()).name
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
    return dialect.normalize_identifier(exp.to_identifier(name, quoted=True)).name

