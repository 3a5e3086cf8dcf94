"""Every dialect quirk the parsers know, in one place, each with the vendor's word for it."""

from __future__ import annotations

import re
import string
from functools import cache

from sqlglot.dialects.dialect import Dialect, NormalizationStrategy
from sqlglot.tokens import Token

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
# catalog name tables db.table; ClickHouse and Teradata likewise).
TWO_PART_NAMES = frozenset({"mysql", "hive", "spark", "spark2", "clickhouse", "doris", "starrocks", "teradata"})

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
    "LOCK", "NOTIFY", "OPTIMIZE", "PREPARE", "REINDEX", "RESET", "REVOKE", "SHOW", "UNLISTEN", "VACUUM",
})
# CREATE/ALTER/DROP of things that hold no data: users, roles, routines, indexes, types...
# (routine bodies are parsed for lineage where a dialect supports it, not here).
NO_DATA_OBJECTS = frozenset({
    "USER", "ROLE", "GROUP", "EXTENSION", "FUNCTION", "PROCEDURE", "TRIGGER", "EVENT", "INDEX", "UNIQUE",
    "SEQUENCE", "TYPE", "DOMAIN", "POLICY", "PUBLICATION", "SUBSCRIPTION", "SERVER", "RULE", "AGGREGATE",
    "OPERATOR", "COLLATION", "LANGUAGE", "TABLESPACE", "STATISTICS", "DATABASE", "SCHEMA", "DEFAULT",
})
_MODIFIERS = frozenset({"OR", "REPLACE", "DEFINER", "DEFINITELY", "IF", "NOT", "EXISTS", "TEMP", "TEMPORARY",
                        "UNIQUE", "CONCURRENTLY", "AGGREGATE", "CONSTRAINT", "TRUSTED", "PROCEDURAL", "SQL",
                        "SECURITY", "ALGORITHM", "=", "@", "CURRENT_USER"})


# FROM is optional in ``DELETE [FROM] t WHERE ...`` here (elsewhere a FROM-less DELETE is a typo,
# as is ``DELETE FORM t``); True where the table may then take an alias, which T-SQL gives only in a FROM:
# https://learn.microsoft.com/en-us/sql/t-sql/statements/delete-transact-sql,
# https://docs.oracle.com/en/database/oracle/oracle-database/19/sqlrf/DELETE.html,
# https://cloud.google.com/bigquery/docs/reference/standard-sql/dml-syntax#delete_statement,
# https://docs.teradata.com/r/Teradata-VantageCloud-Lake/SQL-Reference/SQL-Data-Manipulation-Language/Statement-Syntax/DELETE
_DELETE_WITHOUT_FROM = {"tsql": False, "oracle": True, "bigquery": True, "teradata": True, "generic": False}


def delete_without_from(dialect: Dialect, aliased: bool) -> bool:
    """Whether the dialect's DELETE may name its table without FROM (no dialect: it may, but not with an
    alias: `DELETE FORM customers` is a misspelt FROM, not the table FORM aliased customers)."""
    allowed = _DELETE_WITHOUT_FROM.get(name_of(dialect))
    return allowed is not None and (allowed or not aliased)


# BigQuery partition decorators: ``t$20240101`` (a day, hour, month or year, or an integer range's
# start), ``t$__UNPARTITIONED__``, ``t$__NULL__`` name a partition of ``t``, not another table
# (https://cloud.google.com/bigquery/docs/managing-partitioned-table-data#write-to-partition).
_PARTITION_DECORATOR = re.compile(r"\$(?:\d+|__UNPARTITIONED__|__NULL__)$", re.IGNORECASE)


def without_partition_decorator(dialect: Dialect, table: str) -> str:
    """The table a partition decorator names a part of.

    >>> without_partition_decorator(resolve("bigquery"), "ds.t$20240101")
    'ds.t'
    >>> without_partition_decorator(resolve("oracle"), "SYS.V$1")
    'SYS.V$1'
    """
    if "$" not in table or name_of(dialect) != "bigquery":
        return table
    return _PARTITION_DECORATOR.sub("", table)


# T-SQL: "the semicolon statement terminator ... is not required" for most statements
# (https://learn.microsoft.com/en-us/sql/t-sql/language-elements/transact-sql-syntax-conventions-transact-sql):
# scripts put one statement a line, or several lines, with none. sqlglot splits at semicolons only
# (tobymao/sqlglot#6106, #3874: out of its scope).
_SEMICOLONS_OPTIONAL = frozenset({"tsql"})


def semicolons_optional(dialect: Dialect) -> bool:
    return name_of(dialect) in _SEMICOLONS_OPTIONAL


# ALTER TABLE a EXCHANGE PARTITION ... WITH TABLE b: Hive moves b's partition into a, b loses it
# (https://cwiki.apache.org/confluence/display/Hive/Exchange+Partition); Oracle and MySQL swap the
# partition's rows and the table's (https://docs.oracle.com/en/database/oracle/oracle-database/19/sqlrf/ALTER-TABLE.html,
# https://dev.mysql.com/doc/refman/8.0/en/partitioning-management-exchange.html). Elsewhere: as it is written.
_EXCHANGE_SWAPS = {"hive": False, "spark": False, "spark2": False, "databricks": False, "oracle": True, "mysql": True}


def exchange_swaps(dialect: Dialect) -> bool | None:
    """Whether the dialect's EXCHANGE PARTITION swaps data both ways (None: not known)."""
    return _EXCHANGE_SWAPS.get(name_of(dialect))


def no_lineage_kind(words: list[str]) -> str | None:
    """The kind of a statement known to move no data, from its first words (upper case), so it
    needs no parse: ``VACUUM``, ``CREATE USER``, ``DROP FUNCTION`` ... Else None.

    >>> no_lineage_kind(["CREATE", "OR", "REPLACE", "FUNCTION", "f"])
    'CREATE FUNCTION'
    >>> no_lineage_kind(["CREATE", "TABLE", "t"]) is None
    True
    """
    if not words:
        return None
    if words[0] in NO_LINEAGE_COMMANDS:
        return words[0]
    if words[0] in ("CREATE", "ALTER", "DROP", "COMMENT"):
        for word in words[1:8]:
            if word in NO_DATA_OBJECTS and not (word == "UNIQUE" and "INDEX" not in words[:6]):
                return f"{words[0]} {word}"
            if word not in _MODIFIERS and not word.startswith(("`", "'", '"')) and "@" not in word:
                return None
    return None


_SEARCH_PATH = re.compile(r"^\s*set\s+(?:session\s+|local\s+)?search_path\s*(?:to|=)\s*(.+?)\s*;?\s*$",
                          re.IGNORECASE | re.DOTALL)


def search_path_schema(statement: str) -> str | None:
    """The schema bare names resolve to after PostgreSQL's ``SET search_path`` when nothing is
    known of where tables are: its first entry other than ``"$user"``
    (https://www.postgresql.org/docs/current/ddl-schemas.html#DDL-SCHEMAS-PATH).

    >>> search_path_schema('SET search_path TO "$user", features, public')
    'features'
    >>> search_path_schema("select 1") is None
    True
    """
    found = search_path(statement)
    return found[0] if found else None


def search_path(statement: str) -> tuple[str, ...] | None:
    """The schemas of PostgreSQL's ``SET search_path``, in order: a bare name is the table of
    the first schema that has one (``"$user"`` and the implicit ``pg_catalog``/``pg_temp``
    left out; a quoted entry keeps its case, a bare one folds).

    >>> search_path('SET search_path TO staging, Raw, "Mart", public')
    ('staging', 'raw', 'Mart', 'public')
    """
    match = _SEARCH_PATH.match(statement)
    if not match:
        return None
    schemas = []
    for entry in match.group(1).split(","):
        name = entry.strip()
        if not name or name.strip("\"'") == "$user":
            continue
        name = name[1:-1] if name.startswith('"') else name.strip("'").lower()
        if name not in ("pg_catalog", "pg_temp") and name not in schemas:
            schemas.append(name)
    return tuple(schemas) or None


def use_changes(dialect: Dialect, kind: str | None, name: str) -> dict[str, str]:
    """What ``USE [kind] name`` sets: MySQL, Hive and Spark switch the database; Snowflake,
    SQL Server and Databricks switch the database, or the schema with ``USE SCHEMA``
    (https://docs.snowflake.com/en/sql-reference/sql/use); warehouses and roles name no data."""
    kind = (kind or "").upper()
    if kind in ("WAREHOUSE", "ROLE", "SECONDARY ROLES", "CATALOG"):
        return {}
    if kind == "SCHEMA" and not has_two_part_names(dialect):
        if "." in name:
            database, schema = name.rsplit(".", 1)
            return {"database": database, "schema": schema}
        return {"schema": name}
    if "." in name and not has_two_part_names(dialect):  # Trino: USE catalog.schema
        database, schema = name.rsplit(".", 1)
        return {"database": database, "schema": schema}
    if name_of(dialect) == "trino":  # USE schema: within the current catalog
        return {"schema": name}
    return {"database": name}


# Clauses sqlglot does not parse, dropped from the tokens before parsing because they change
# nothing about lineage: PostgreSQL's CREATE TEMP TABLE ... ON COMMIT DROP | DELETE ROWS |
# PRESERVE ROWS (https://www.postgresql.org/docs/current/sql-createtable.html) and
# CREATE MATERIALIZED VIEW ... WITH [NO] DATA
# (https://www.postgresql.org/docs/current/sql-creatematerializedview.html).
_IGNORED_CLAUSES = {
    "postgres": (("on", "commit", "drop"), ("on", "commit", "delete", "rows"), ("on", "commit", "preserve", "rows"),
                 ("with", "no", "data"), ("with", "data")),
}


def without_ignored_clauses(dialect: Dialect, tokens: list[Token], text: str) -> list[Token]:
    clauses = _IGNORED_CLAUSES.get(name_of(dialect))
    if not clauses:
        return tokens
    lowered = text.lower()  # one pass in C finds the common case: none of the clauses' words
    if "commit" not in lowered and "data" not in lowered[-16:]:
        return tokens
    words = [token.text.lower() for token in tokens]
    kept: list[Token] = []
    index = 0
    while index < len(tokens):
        clause = next((c for c in clauses if tuple(words[index:index + len(c)]) == c), None)
        if clause is not None and (clause[0] != "with" or index + len(clause) == len(tokens)):  # WITH DATA ends it
            index += len(clause)
            continue
        kept.append(tokens[index])
        index += 1
    return kept


# Text sqlglot's tokenizer or parser for the dialect does not read, rewritten before tokenizing into
# what it reads, each character in its place (a statement's offset, line and text are the log's):
# - Athena, Presto and Trino: `name` in backticks (Athena's DDL is Hive's and people write its
#   quoting in queries too: https://docs.aws.amazon.com/athena/latest/ug/tables-databases-columns-names.html)
#   is read as "name" (sqlglot's Trino tokenizer knows only double quotes);
# - Teradata: the data attribute phrases after an expression, (TITLE 'heading'), (NAMED alias),
#   ([NOT] CASESPECIFIC), (UPPERCASE) (https://docs.teradata.com/r/Teradata-VantageCloud-Lake/SQL-Reference/
#   Data-Types-and-Literals/Data-Type-Formats-and-Format-Phrases): a title and case attributes change no
#   value and are blanked; NAMED is an alias, read as AS (sqlglot parses FORMAT since tobymao/sqlglot#5348,
#   not these: out of its core team's scope, tobymao/sqlglot#5325).
# - SQL Server: a line ``GO [count]`` ends a batch, which the client tools send alone; it is no
#   statement (https://learn.microsoft.com/en-us/sql/t-sql/language-elements/sql-server-utilities-statements-go),
#   and sqlglot's tokenizer takes it for a command whose argument is the rest of the text (tobymao/sqlglot#6238:
#   it wants ``GO;``): read as ``;``.
# - SQL Server: ``SET @n += 1`` (and -=, *=, /=, %=, &=, |=, ^=), a compound assignment to a variable
#   (https://learn.microsoft.com/en-us/sql/t-sql/language-elements/compound-operators-transact-sql), which
#   sqlglot does not parse: read as ``SET @n = 1``, the same for lineage (a variable is no dataset).
_SKIPPED = r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/"
_NORMALISED = {
    "athena": re.compile(rf"{_SKIPPED}|\"(?:[^\"]|\"\")*\"|(?P<backtick>`[^`\"]*`)", re.DOTALL),
    "teradata": re.compile(rf"{_SKIPPED}|\"(?:[^\"]|\"\")*\"|(?P<blank>\(\s*(?:TITLE\s+'(?:[^']|'')*'|(?:NOT\s+)?"
                           r"(?:CASESPECIFIC|CS|UPPERCASE|UC))\s*\))|\((?P<named>\s*NAMED\s+)(?P<alias>\w+|\"[^\"]*\")\s*\)",
                           re.DOTALL | re.IGNORECASE),
}
_NORMALISED["presto"] = _NORMALISED["trino"] = _NORMALISED["athena"]
_NORMALISED["tsql"] = re.compile(rf"{_SKIPPED}|\"(?:[^\"]|\"\")*\"|\[[^\]]*\]|(?P<go>^[ \t]*GO(?:[ \t]+\d+)?[ \t]*$)"
                                 r"|(?P<variable>@\w+\s*)[-+*/%&|^](?==)",
                                 re.DOTALL | re.IGNORECASE | re.MULTILINE)
_TSQL_NEEDS = re.compile(r"\bGO\b|[-+*/%&|^]=", re.IGNORECASE)
_NEEDS = {"athena": "`", "presto": "`", "trino": "`", "teradata": "("}


def normalised(dialect: Dialect, sql: str) -> str:
    """``sql`` as the dialect's parser reads it, of the same length, each character in its place.

    >>> print(normalised(resolve("athena"), "SELECT `a` FROM `db`.`t` WHERE b = '`x`'"))
    SELECT "a" FROM "db"."t" WHERE b = '`x`'
    >>> print(normalised(resolve("teradata"), "SELECT a (TITLE 'A'), b (NAMED c) FROM t"))
    SELECT a            , b     AS c  FROM t
    >>> normalised(resolve("tsql"), "SET @n += 1\\n  go 2\\nSELECT 'GO'").splitlines()
    ['SET @n  = 1', '  ;   ', "SELECT 'GO'"]
    """
    name = name_of(dialect)
    pattern = _NORMALISED.get(name)
    if pattern is None or (_NEEDS[name] not in sql if name in _NEEDS else not _TSQL_NEEDS.search(sql)):
        return sql
    return pattern.sub(_normalised_match, sql)


def _normalised_match(match: re.Match[str]) -> str:
    text = match.group()
    if match.lastgroup == "backtick":
        return f'"{text[1:-1]}"'
    if match.lastgroup == "variable":
        return match.group("variable") + " "
    if match.lastgroup == "go":
        return ";".rjust(len(text) - len(text.lstrip()) + 1).ljust(len(text))
    if match.lastgroup == "blank":
        return " " * len(text)
    if "named" in match.re.groupindex and match.group("named") is not None:
        before, after = match.start("alias") - match.start() - 3, match.end() - match.end("alias")
        return " " * before + "AS " + match.group("alias") + " " * after
    return text


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


# Pseudo-columns: names a query may use bare that are no table's column (Oracle's hierarchical
# LEVEL, ROWNUM, ROWID; https://docs.oracle.com/en/database/oracle/oracle-database/19/sqlrf/Pseudocolumns.html).
_PSEUDO_COLUMNS = {
    "oracle": frozenset({"level", "rownum", "rowid", "connect_by_iscycle", "connect_by_isleaf", "ora_rowscn"}),
}


def partitions_by_column(dialect: Dialect) -> bool:
    """Whether ``INSERT INTO t PARTITION (...)`` names partition columns (Hive, Spark, Databricks),
    not partitions (MySQL's ``PARTITION (p0)``)."""
    return name_of(dialect) in ("hive", "spark", "spark2", "databricks")


def is_pseudo_column(dialect: Dialect, name: str) -> bool:
    return name.lower() in _PSEUDO_COLUMNS.get(name_of(dialect), frozenset())


def fold(dialect: Dialect, name: str, *, quoted: bool) -> str:
    """An identifier as the engine resolves it: unquoted names fold (PostgreSQL lower, Snowflake
    and Oracle upper), quoted ones keep their case except in case-insensitive engines; MySQL and
    ClickHouse keep case always. The same rule as sqlglot's ``normalize_identifier`` for an
    identifier standing alone, without copying expressions.

    >>> fold(resolve("snowflake"), "Orders", quoted=False), fold(resolve("snowflake"), "Orders", quoted=True)
    ('ORDERS', 'Orders')
    >>> fold(resolve("bigquery"), "Orders", quoted=True), fold(resolve("mysql"), "Orders", quoted=False)
    ('orders', 'Orders')
    """
    strategy = dialect.normalization_strategy
    if strategy is NormalizationStrategy.CASE_SENSITIVE:
        return name
    if quoted and strategy not in _IGNORES_QUOTES:
        return name
    ascii_only = dialect.ASCII_ONLY_NORMALIZATION and not name.isascii()  # PostgreSQL leaves "É" alone
    if strategy in _UPPER:
        return name.translate(_ASCII_UPPER) if ascii_only else name.upper()
    return name.translate(_ASCII_LOWER) if ascii_only else name.lower()


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)
_IGNORES_QUOTES = (NormalizationStrategy.CASE_INSENSITIVE, NormalizationStrategy.CASE_INSENSITIVE_UPPERCASE)
_UPPER = (NormalizationStrategy.UPPERCASE, NormalizationStrategy.CASE_INSENSITIVE_UPPERCASE)


def has_two_part_names(dialect: Dialect) -> bool:
    return name_of(dialect) in TWO_PART_NAMES


def default_namespace(dialect: Dialect) -> str:
    """Where datasets live when the log names no server: ``<engine>://default``."""
    return f"{name_of(dialect)}://default"


# Engines whose table names may hold dashes unquoted: BigQuery's `my-project-123.ds.t`.
DASHED_NAMES = frozenset({"bigquery"})


def literal_pattern(dialect: Dialect) -> re.Pattern[str]:
    """The literals of a one-statement text as regular expressions find them, for a template
    key taken without the tokenizer. Groups: ``keep`` (a quoted name, kept whole), ``bad`` (what
    the expressions cannot read: an unterminated quote, a dash in a BigQuery name); any other
    match is a literal. Which quotes open strings and which open names is asked of sqlglot's
    tokenizer for the dialect (MySQL's "x" is a string, PostgreSQL's a name, T-SQL's [x] a name).
    Text that needs more (comments, escapes, dollar quotes) is left to the tokenizer before this."""
    # By the class's identity: a sqlglot dialect's own hash costs more than the expressions.
    pattern = _LITERAL_PATTERNS.get(id(type(dialect)))
    if pattern is None:
        pattern = _LITERAL_PATTERNS[id(type(dialect))] = _literal_pattern(dialect)
    return pattern


_LITERAL_PATTERNS: dict[int, re.Pattern[str]] = {}


def _literal_pattern(dialect: Dialect) -> re.Pattern[str]:
    def reads(text: str) -> str:
        return dialect.tokenize(text)[0].token_type.name

    names: list[str] = []
    strings = [r"'(?:[^']|'')*'"]
    (strings if reads('"a"') == "STRING" else names).append(r'"(?:[^"]|"")*"')
    if reads("`b`") == "IDENTIFIER":
        names.append(r"`(?:[^`]|``)*`")
    brackets = reads("[c]") == "IDENTIFIER"
    if brackets:
        names.append(r"\[[^\]]*\]")
    bad = [r"['\"`]", DIGIT_LED.pattern] + ([r"\["] if brackets else [])
    if name_of(dialect) in DASHED_NAMES:
        bad.append(r"(?<=\w)-(?=\d)")
    return re.compile(f"(?P<keep>{'|'.join(names) or '(?!)'})|{'|'.join(strings)}|{NUMBER}|(?P<bad>{'|'.join(bad)})")


# A number as a literal: not part of a name (t1, 2020_sales) nor after a placeholder's $. (Its
# first character before the look-behind, as in DIGIT_LED: every branch of an expression that
# holds it then starts with a character, and the engine skips to those at C speed.)
NUMBER = (r"0[xX][0-9a-fA-F]+(?!\w)|(?:\d(?<![\w$]\d)\d*(?:\.\d*)?|\.(?<![\w$]\.)\d+)(?:[eE][+-]?\d+)?"
          r"(?![\w.])")
# What is left of a number NUMBER does not take: 9137L, 1.5BD, 0b101, 1_000 (Spark, MySQL, ClickHouse).
# (The digit first: the engine then skips to digits at C speed, twice as fast as trying the
# look-behind at every character.)
DIGIT_LED = re.compile(r"\d(?<![\w$]\d)")
# Text with none of these characters has no quoted name nor double-quoted string in any dialect:
# its literals are '...' strings and numbers, found without asking the dialect (three times faster).
QUOTES_BEYOND_SINGLE = re.compile(r"[\"`\[]")
