"""Every dialect quirk the parsers know, in one place, each with the vendor's word for it."""

from __future__ import annotations

from functools import cache

from sqlglot.dialects.dialect import Dialect

from parsers.errors import UnknownDialectError

# Names people use for an engine that sqlglot spells differently.
_ALIASES = {
    "postgresql": "postgres",
    "pg": "postgres",
    "mariadb": "mysql",
    "sqlserver": "tsql",
    "mssql": "tsql",
}

# Engines whose tables have two name parts (database.table: a MySQL "schema" *is* a database,
# https://dev.mysql.com/doc/refman/8.0/en/glossary.html#glos_schema; Hive and Spark's session
# catalog name tables db.table; ClickHouse likewise).
TWO_PART_NAMES = frozenset({"mysql", "hive", "spark", "spark2", "clickhouse", "doris", "starrocks"})

# The schema a bare name lands in when the log does not say:
# PostgreSQL's default search_path ends in `public`
# (https://www.postgresql.org/docs/current/ddl-schemas.html#DDL-SCHEMAS-PATH), Redshift's too;
# SQL Server's default schema is `dbo`; DuckDB's is `main`; Snowflake's is PUBLIC.
DEFAULT_SCHEMA = {
    "postgres": "public",
    "redshift": "public",
    "tsql": "dbo",
    "duckdb": "main",
    "snowflake": "PUBLIC",
}


# Statements sqlglot keeps as opaque commands that move no data between datasets (maintenance,
# permissions, session state): PostgreSQL's VACUUM, ANALYZE, CHECKPOINT, LISTEN/NOTIFY, DISCARD,
# DEALLOCATE, LOCK (https://www.postgresql.org/docs/current/sql-commands.html), MySQL's OPTIMIZE,
# FLUSH, KILL (https://dev.mysql.com/doc/refman/8.0/en/sql-server-administration-statements.html),
# and GRANT/REVOKE/SHOW/EXPLAIN everywhere.
NO_LINEAGE_COMMANDS = frozenset({
    "ANALYZE", "CHECKPOINT", "DEALLOCATE", "DISCARD", "EXPLAIN", "FLUSH", "GRANT", "KILL", "LISTEN",
    "LOCK", "NOTIFY", "OPTIMIZE", "REINDEX", "RESET", "REVOKE", "SHOW", "UNLISTEN", "VACUUM",
})


@cache
def resolve(name: str | None) -> Dialect:
    """The sqlglot dialect for a user-given name (``None`` means generic SQL).

    >>> resolve("PostgreSQL").__class__.__name__
    'Postgres'
    """
    key = (name or "").strip().lower()
    key = _ALIASES.get(key, key)
    try:
        return Dialect.get_or_raise(key or None)
    except ValueError as error:
        raise UnknownDialectError(f"unknown SQL dialect {name!r}") from error


def name_of(dialect: Dialect) -> str:
    """The canonical name of a dialect, as ``resolve`` accepts it."""
    return type(dialect).__name__.lower() if type(dialect) is not Dialect else "generic"


def default_schema(dialect: Dialect) -> str | None:
    return DEFAULT_SCHEMA.get(name_of(dialect))


def has_two_part_names(dialect: Dialect) -> bool:
    return name_of(dialect) in TWO_PART_NAMES


def default_namespace(dialect: Dialect) -> str:
    """Where datasets live when the log names no server: ``<engine>://default``."""
    return f"{name_of(dialect)}://default"
