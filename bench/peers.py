"""The peer tools, called the same way by every benchmark: sqllineage (Python, over sqlfluff) and
openlineage-sql (Rust, over sqlparser-rs). Each gives what it found in the corpus's terms: lower
case names, and column edges as (target column, source column) pairs.

Our dialect names are sqlglot's; each peer has its own spelling, and falls back to its generic
dialect where it has no match.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# sqllineage parses with sqlfluff, whose dialect names differ from sqlglot's for a few engines.
_SQLLINEAGE_DIALECTS = {"": "ansi", "generic": "ansi", "spark": "sparksql", "spark2": "sparksql", "presto": "trino"}
# openlineage-sql knows these sqlparser-rs dialects by name; any other name silently means generic
# (integration/sql/impl/src/dialect.rs in the OpenLineage repository).
_OPENLINEAGE_DIALECTS = {
    "postgres": "postgres", "redshift": "redshift", "snowflake": "snowflake", "bigquery": "bigquery",
    "mysql": "mysql", "mariadb": "mysql", "tsql": "mssql", "hive": "hive", "spark": "hive",
    "databricks": "hive", "sqlite": "sqlite",
}


def sqllineage_dialect(dialect: str) -> str:
    from sqllineage.runner import LineageRunner

    name = _SQLLINEAGE_DIALECTS.get(dialect, dialect)
    return name if name in LineageRunner.supported_dialects()["sqlfluff"] else "ansi"


def openlineage_dialect(dialect: str) -> str:
    return _OPENLINEAGE_DIALECTS.get(dialect, "generic")


def sqllineage_tables(sql: str, dialect: str) -> bool:
    """sqllineage's table-level lineage of one text, the work the timing benchmarks measure;
    False when it failed (a failure is part of its time)."""
    from sqllineage.runner import LineageRunner

    try:
        runner = LineageRunner(sql, dialect=sqllineage_dialect(dialect), silent_mode=True)
        runner.source_tables, runner.target_tables  # noqa: B018  (the properties do the work)
    except Exception:  # noqa: BLE001  (any error of a peer's is its own)
        return False
    return True


def openlineage_tables(sql: str, dialect: str) -> bool:
    """openlineage-sql's table-level lineage of one text; False when it failed or reported errors."""
    import openlineage_sql

    try:
        return not openlineage_sql.parse([sql], dialect=openlineage_dialect(dialect)).errors
    except Exception:  # noqa: BLE001
        return False


def sqllineage_found(sql: str, dialect: str, default_schema: str | None = None,
                     tables: Mapping[str, Iterable[str]] | None = None) -> dict[str, Any]:
    """sqllineage's sources, targets and column edges (first and last column of each path, so a
    path through an intermediate table joins its ends). ``tables`` is the case's schema. An edge
    from ``t.*`` (how it marks ``count(*)``) is left out: the corpus gives count(*) no source."""
    from sqllineage.config import SQLLineageConfig
    from sqllineage.core.metadata.dummy import DummyMetaDataProvider
    from sqllineage.runner import LineageRunner

    metadata = DummyMetaDataProvider(_sqllineage_metadata(tables or {}))
    with SQLLineageConfig(DEFAULT_SCHEMA=default_schema or ""):
        runner = LineageRunner(sql, dialect=sqllineage_dialect(dialect), metadata_provider=metadata, silent_mode=True)
        return {
            "sources": {_sqllineage_name(t) for t in runner.source_tables},
            "targets": {_sqllineage_name(t) for t in runner.target_tables},
            "columns": {(_sqllineage_name(path[-1]), _sqllineage_name(path[0])) for path in runner.get_column_lineage()
                        if not str(path[0]).endswith("*")},
        }


def _sqllineage_metadata(tables: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """sqllineage looks a table up as "schema.table" (its schema may hold the database too), so
    each table is given under its two-part and its full name."""
    metadata = {}
    for name, columns in tables.items():
        parts = name.lower().split(".")
        for key in {".".join(parts[-2:]), ".".join(parts)}:
            metadata[key] = [column.lower() for column in columns]
    return metadata


def _sqllineage_name(node: object) -> str:
    # An unqualified name without a default schema is "<default>.name".
    return str(node).lower().replace("<default>.", "")


def openlineage_found(sql: str, dialect: str, default_schema: str | None = None,
                      statements: Iterable[str] | None = None) -> dict[str, Any]:
    """openlineage-sql's sources, targets and column edges, statement by statement: it names an
    output column by the SELECT's alias alone, so a statement writing one table gets that
    table's name in front (lenient: an INSERT column list is not applied)."""
    import openlineage_sql

    found: dict[str, Any] = {"sources": set(), "targets": set(), "columns": set(), "errors": 0}
    for statement in statements if statements is not None else [sql]:
        meta = openlineage_sql.parse([statement], dialect=openlineage_dialect(dialect), default_schema=default_schema)
        found["errors"] += len(meta.errors)
        targets = {_openlineage_name(t) for t in meta.out_tables}
        found["sources"] |= {_openlineage_name(t) for t in meta.in_tables}
        found["targets"] |= targets
        prefix = f"{next(iter(targets))}." if len(targets) == 1 else ""
        for column in meta.column_lineage:
            target = _openlineage_column(column.descendant, prefix)
            found["columns"] |= {(target, _openlineage_column(source, "")) for source in column.lineage}
    return found


def _openlineage_name(table: Any) -> str:
    return str(table.qualified_name).lower()


def _openlineage_column(column: Any, prefix: str) -> str:
    table = f"{_openlineage_name(column.origin)}." if column.origin is not None else prefix
    return f"{table}{column.name}".lower()
