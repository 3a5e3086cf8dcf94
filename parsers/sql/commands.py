"""Statements sqlglot keeps as opaque commands but whose lineage is plain from their text:
unloads and loads (the query or table inside, and the path), ``REPLACE INTO``, renames and
refreshes. Each rule cites the vendor's syntax.

>>> found = recognise("UNLOAD ('select * from sales.orders where day = ''2024-06-01''') TO 's3://x/orders_'")
>>> found.sql, found.files_out
("select * from sales.orders where day = '2024-06-01'", ('s3://x/orders_',))
>>> recognise("RENAME TABLE shop.orders TO shop.orders_old, shop.new TO shop.orders").lifecycle
(('rename', 'shop.orders', 'shop.orders_old'), ('rename', 'shop.new', 'shop.orders'))
"""

from __future__ import annotations

import dataclasses
import re


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Recognised:
    kind: str
    sql: str | None = None  # SQL to analyse in the statement's place
    outputs: tuple[str, ...] = ()  # tables written (when ``sql`` does not say)
    files_in: tuple[str, ...] = ()
    files_out: tuple[str, ...] = ()
    lifecycle: tuple[tuple[str, str, str | None], ...] = ()


_FLAGS = re.IGNORECASE | re.DOTALL
_NAME = r"[\w.$#@\[\]\"`-]+"
# Redshift: UNLOAD ('select-statement') TO 's3://object-path/name-prefix' ...
# (https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD.html)
_UNLOAD = re.compile(r"^\s*UNLOAD\s*\(\s*'((?:[^']|'')*)'\s*\)\s*TO\s*'([^']*)'", _FLAGS)
# MySQL: REPLACE [INTO] t ... works like INSERT (https://dev.mysql.com/doc/refman/8.0/en/replace.html)
_REPLACE = re.compile(r"^(\s*)REPLACE(\s+(?:LOW_PRIORITY\s+|DELAYED\s+)?)(INTO\s+)?", _FLAGS)
_REPLACED = re.compile(_NAME + r"\s*(?:\(|SELECT|VALUES|WITH|SET)", _FLAGS)
# MySQL: LOAD DATA [LOCAL] INFILE 'file' [REPLACE|IGNORE] INTO TABLE t; Hive: LOAD DATA [LOCAL] INPATH 'path'
# [OVERWRITE] INTO TABLE t (https://dev.mysql.com/doc/refman/8.0/en/load-data.html,
# https://cwiki.apache.org/confluence/display/Hive/LanguageManual+DML#LanguageManualDML-Loadingfilesintotables)
_LOAD = re.compile(rf"^\s*LOAD\s+DATA\s+(?:LOW_PRIORITY\s+|CONCURRENT\s+)?(?:LOCAL\s+)?IN(?:FILE|PATH)\s+'([^']*)'"
                   rf".*?\bINTO\s+TABLE\s+({_NAME})", _FLAGS)
# MySQL: SELECT ... INTO OUTFILE 'file' [options] (https://dev.mysql.com/doc/refman/8.0/en/select-into.html)
_OUTFILE = re.compile(r"\bINTO\s+(?:OUTFILE|DUMPFILE)\s+'([^']*)'.*?(?=\bFROM\b|$)", _FLAGS)
# MySQL/Teradata RENAME TABLE a TO b [, c TO d]; Oracle RENAME a TO b.
_RENAME = re.compile(rf"^\s*RENAME\s+(?:TABLE\s+)?((?:{_NAME}\s+(?:TO|AS)\s+{_NAME}\s*,?\s*)+);?\s*$", _FLAGS)
_RENAME_PAIR = re.compile(rf"({_NAME})\s+(?:TO|AS)\s+({_NAME})", _FLAGS)
# ClickHouse: EXCHANGE TABLES a AND b (https://clickhouse.com/docs/sql-reference/statements/exchange)
_EXCHANGE = re.compile(rf"^\s*EXCHANGE\s+TABLES\s+({_NAME})\s+AND\s+({_NAME})", _FLAGS)
# SQL Server: EXEC sp_rename 'schema.old', 'new' (https://learn.microsoft.com/sql/relational-databases/system-stored-procedures/sp-rename-transact-sql)
_SP_RENAME = re.compile(r"^\s*EXEC(?:UTE)?\s+(?:\w+\.)?sp_rename\s+(?:@objname\s*=\s*)?N?'([^']*)'\s*,\s*"
                        r"(?:@newname\s*=\s*)?N?'([^']*)'\s*(?:,\s*N?'(?:OBJECT)?')?\s*;?\s*$", _FLAGS)
# PostgreSQL/Redshift: REFRESH MATERIALIZED VIEW [CONCURRENTLY] name [WITH [NO] DATA]
_REFRESH = re.compile(rf"^\s*REFRESH\s+MATERIALIZED\s+VIEW\s+(?:CONCURRENTLY\s+)?({_NAME})", _FLAGS)
# Databricks: CREATE [OR REPLACE] TABLE [IF NOT EXISTS] t [DEEP | SHALLOW] CLONE src [VERSION AS OF n |
# TIMESTAMP AS OF ts] [TBLPROPERTIES (...)] [LOCATION 'path'] (sqlglot reads a bare or SHALLOW clone)
# (https://docs.databricks.com/en/sql/language-manual/delta-clone.html)
# BigQuery: CREATE SNAPSHOT TABLE t CLONE src [FOR SYSTEM_TIME AS OF ts] [OPTIONS (...)]
# (https://cloud.google.com/bigquery/docs/reference/standard-sql/data-definition-language#create_snapshot_table_statement)
_CLONE = re.compile(rf"^(\s*CREATE\s+(?:OR\s+REPLACE\s+)?)(?:SNAPSHOT\s+)?(TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?{_NAME}\s+)"
                    rf"(?:DEEP\s+|SHALLOW\s+)?CLONE\s+({_NAME})", _FLAGS)
# Spark: INSERT OVERWRITE [LOCAL] DIRECTORY ['path'] USING format [OPTIONS (key 'value', ...)] query
# (https://spark.apache.org/docs/latest/sql-ref-syntax-dml-insert-overwrite-directory.html): sqlglot
# reads the Hive form (ROW FORMAT / STORED AS) but not USING; the path may be an option instead.
# (A string is matched atomically: 'it''s' could also be read as two strings, and a statement
# that does not match would try every way.)
_DIRECTORY_USING = re.compile(r"^\s*INSERT\s+OVERWRITE\s+(?:LOCAL\s+)?DIRECTORY\s*(?:'([^']*)'\s*)?USING\s+\w+\s*"
                              r"(?:OPTIONS\s*\(((?:[^()']|'(?>(?:[^']|'')*)')*)\)\s*)?", _FLAGS)
# SQL Server: DELETE [FROM] t OUTPUT deleted.c, ... INTO t2 [(c, ...)] [WHERE ...]
# (https://learn.microsoft.com/sql/t-sql/queries/output-clause-transact-sql): the deleted rows are
# inserted into t2, which sqlglot does not read; as the INSERT ... SELECT it is, then the DELETE.
_DELETE_OUTPUT = re.compile(rf"^\s*DELETE\s+(?:FROM\s+)?({_NAME})\s+OUTPUT\s+(.*?\S)\s+INTO\s+({_NAME})\s*"
                            r"(\([^()]*\))?\s*(?=WHERE\b|;|$)", _FLAGS)
# ClickHouse mutations: ALTER TABLE t [ON CLUSTER c] DELETE WHERE ... and ALTER TABLE t UPDATE c = e, ...
# [IN PARTITION p] WHERE ... (https://clickhouse.com/docs/sql-reference/statements/alter/delete, .../update)
# (UPDATE needs an assignment and DELETE a WHERE: Hive's ALTER TABLE t UPDATE STATISTICS/COLUMNS is
# no mutation.)
_MUTATION = re.compile(rf"^\s*ALTER\s+TABLE\s+({_NAME})(?:\s+ON\s+CLUSTER\s+{_NAME})?\s+"
                       r"(?:(DELETE)\s+(?=(?:IN\s+PARTITION\b.*?\s)?WHERE\b)|(UPDATE)\s+(?=\w+\s*=))", _FLAGS)
_IN_PARTITION = re.compile(r"(?:^|(?<=\s))IN\s+PARTITION\s+(?:ID\s+)?(?:'[^']*'|\w+)\s+(?=WHERE\b)", _FLAGS)
_SETTINGS = re.compile(r"(?<=\s)SETTINGS\s+\w+\s*=.*$", _FLAGS)
# Oracle: CREATE TABLE t NOLOGGING PARALLEL 4 AS query, CREATE MATERIALIZED VIEW v BUILD IMMEDIATE
# REFRESH COMPLETE ON DEMAND ENABLE QUERY REWRITE AS query: storage and refresh options (words and
# numbers) sqlglot does not read, which change nothing of what the query reads and writes.
_CREATE_OPTIONS = re.compile(rf"^(\s*CREATE\s+(?:OR\s+REPLACE\s+)?(TABLE|MATERIALIZED\s+VIEW)\s+"
                             rf"(?:IF\s+NOT\s+EXISTS\s+)?{_NAME})\s+"
                             r"(?!AS\s)(?:\w+\s+)+?AS\s+(?=SELECT\b|WITH\b|\()", _FLAGS)
# Oracle: MERGE ... WHEN MATCHED THEN UPDATE SET ... DELETE WHERE cond: deletes some of the rows the
# update touched (https://docs.oracle.com/en/database/oracle/oracle-database/19/sqlrf/MERGE.html).
_MERGE = re.compile(r"^\s*MERGE\s", _FLAGS)
_MERGE_DELETE_WHERE = re.compile(r"\bDELETE\s+WHERE\b.*?(?=\bWHEN\s+(?:NOT\s+)?MATCHED\b|$)", _FLAGS)
_PATH_OPTION = re.compile(r"(?:^|,)\s*'?path'?\s*=?\s*'([^']*)'", _FLAGS)
# PostgreSQL (and the SQL standard): CREATE {LOCAL | GLOBAL} {TEMPORARY | TEMP} TABLE ...: "GLOBAL or
# LOCAL can be written before TEMPORARY or TEMP. This presently makes no difference"
# (https://www.postgresql.org/docs/current/sql-createtable.html); sqlglot reads TEMPORARY alone.
_SCOPED_TEMPORARY = re.compile(r"^(\s*CREATE\s+)(?:LOCAL|GLOBAL)\s+(TEMP(?:ORARY)?\s+TABLE\s)", _FLAGS)
# SQL Server: UPDATE t SET c += e (and -=, *=, /=, %=, &=, |=, ^=): c = c + e
# (https://learn.microsoft.com/en-us/sql/t-sql/language-elements/compound-operators-transact-sql), which
# sqlglot does not parse; the value reads c and e, whatever the operator's precedence.
_UPDATE = re.compile(r"^\s*UPDATE\s", _FLAGS)
_COMPOUND = re.compile(r"'(?:[^']|'')*'|(?P<name>\[[^\]]*\]|\"[^\"]*\"|[\w.@#]+)\s*(?P<op>[-+*/%&|^])=(?!=)", _FLAGS)
# Partitions that change tables (each read as the INSERT ... SELECT * and DELETE it amounts to):
_ALTER = rf"^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?({_NAME})(?:\s+ON\s+CLUSTER\s+{_NAME})?\s+"
_SPEC = r"(?:\((?:[^()']|'(?:[^']|'')*'|\([^()]*\))*\)|'(?:[^']|'')*'|[\w$#]+(?:\s*\(\s*\))?)"
# Hive: ALTER TABLE a EXCHANGE PARTITION (spec) WITH TABLE b moves the partition from b to a
# (https://cwiki.apache.org/confluence/display/Hive/Exchange+Partition); Oracle: ALTER TABLE a EXCHANGE
# [SUB]PARTITION {p | FOR (value)} WITH TABLE b swaps the two's data
# (https://docs.oracle.com/en/database/oracle/oracle-database/19/vldbg/maintenance-partition-tables-indexes.html),
# MySQL likewise (https://dev.mysql.com/doc/refman/8.0/en/partitioning-management-exchange.html).
_EXCHANGE_PARTITION = re.compile(_ALTER + rf"EXCHANGE\s+(?:SUB)?PARTITION\s+(?:FOR\s*)?({_SPEC})\s+"
                                 rf"WITH\s+TABLE\s+({_NAME})", _FLAGS)
# PostgreSQL: ALTER TABLE parent ATTACH PARTITION child {FOR VALUES ... | DEFAULT}: the child's rows are the
# parent's; DETACH PARTITION child [CONCURRENTLY | FINALIZE]: the parent's rows in it leave it
# (https://www.postgresql.org/docs/current/sql-altertable.html).
_PG_PARTITION = re.compile(_ALTER + rf"(ATTACH|DETACH)\s+PARTITION\s+({_NAME})(?=\s+(?:FOR\s+VALUES|DEFAULT|"
                           r"CONCURRENTLY|FINALIZE)\b|\s*;?\s*$)", _FLAGS)
# SQL Server: ALTER TABLE a SWITCH [PARTITION n] TO b [PARTITION n] moves a's rows (or a partition's) to b
# (https://learn.microsoft.com/sql/t-sql/statements/alter-table-transact-sql#switch--partition-source_partition_number_expression--to--schema_name--target_table--partition-target_partition_number_expression-).
_SWITCH = re.compile(_ALTER + rf"SWITCH\s+(?:PARTITION\s+\S+\s+)?TO\s+({_NAME})", _FLAGS)
# ClickHouse: ALTER TABLE b MOVE PARTITION p TO TABLE a moves it; ALTER TABLE a {ATTACH | REPLACE}
# PARTITION p FROM b copies it, b keeps it (https://clickhouse.com/docs/sql-reference/statements/alter/partition).
_CLICKHOUSE_MOVE = re.compile(_ALTER + rf"MOVE\s+PARTITION\s+(?:ID\s+)?{_SPEC}\s+TO\s+TABLE\s+({_NAME})", _FLAGS)
_CLICKHOUSE_COPY = re.compile(_ALTER + rf"(ATTACH|REPLACE)\s+PARTITION\s+(?:ID\s+)?{_SPEC}\s+FROM\s+({_NAME})",
                              _FLAGS)


FIRST_WORDS = frozenset({"UNLOAD", "LOAD", "RENAME", "EXCHANGE", "EXEC", "EXECUTE", "REFRESH"})


def recognise(text: str) -> Recognised | None:
    """What a statement sqlglot cannot parse does, when its text tells."""
    if match := _UNLOAD.match(text):
        return Recognised(kind="UNLOAD", sql=match.group(1).replace("''", "'"), files_out=(match.group(2),))
    if match := _LOAD.match(text):
        return Recognised(kind="LOAD DATA", files_in=(match.group(1),), outputs=(match.group(2),))
    if match := _RENAME.match(text):
        pairs = _RENAME_PAIR.findall(match.group(1))
        return Recognised(kind="RENAME", lifecycle=tuple(("rename", old, _beside(old, new)) for old, new in pairs))
    if match := _EXCHANGE.match(text):
        return Recognised(kind="EXCHANGE", lifecycle=(("swap", match.group(1), match.group(2)),))
    if match := _SP_RENAME.match(text):
        old, new = match.group(1), _beside(match.group(1), match.group(2))
        return Recognised(kind="RENAME", lifecycle=(("rename", old, new),))
    if match := _REFRESH.match(text):
        return Recognised(kind="REFRESH", lifecycle=(("refresh", match.group(1), None),))
    return None


def rewritten(text: str) -> Recognised | None:
    """Statements that parse once a clause is set aside: ``REPLACE INTO`` as ``INSERT INTO``,
    ``SELECT ... INTO OUTFILE`` without its INTO, a Databricks clone without its options, Spark's
    ``INSERT OVERWRITE DIRECTORY ... USING`` as its query and the path it writes, SQL Server's
    ``DELETE ... OUTPUT ... INTO`` as the insert of the deleted rows and the delete, Oracle's CREATE
    TABLE/MATERIALIZED VIEW options before AS and MERGE's ``DELETE WHERE``, ClickHouse's mutations
    (``ALTER TABLE t DELETE WHERE``, ``ALTER TABLE t UPDATE ... WHERE``) as the DELETE and UPDATE they are.

    >>> rewritten("CREATE OR REPLACE TABLE b.o DEEP CLONE s.o VERSION AS OF 3 LOCATION 's3://x'").sql
    'CREATE OR REPLACE TABLE b.o CLONE s.o'
    >>> rewritten("CREATE TABLE dw.ltv NOLOGGING PARALLEL 4 AS SELECT * FROM oe.orders").sql
    'CREATE TABLE dw.ltv AS SELECT * FROM oe.orders'
    >>> rewritten("UPDATE s SET total += o.amount, note = 'a+=b' FROM s JOIN o ON o.id = s.id").sql
    "UPDATE s SET total = total +  o.amount, note = 'a+=b' FROM s JOIN o ON o.id = s.id"
    >>> found = rewritten("INSERT OVERWRITE DIRECTORY USING parquet OPTIONS (path 's3://x/y') SELECT a FROM t")
    >>> found.sql, found.files_out
    ('SELECT a FROM t', ('s3://x/y',))
    """
    if _UPDATE.match(text) and (compound := _COMPOUND.sub(_assignment, text)) != text:
        return Recognised(kind="UPDATE", sql=compound)
    if match := _SCOPED_TEMPORARY.match(text):
        return Recognised(kind="CREATE TEMPORARY", sql=match.group(1) + text[match.start(2):])
    match = _REPLACE.match(text)
    if match and _REPLACED.match(text, match.end()):
        return Recognised(kind="REPLACE", sql=f"{match.group(1)}INSERT{match.group(2)}INTO " + text[match.end():])
    if match := _OUTFILE.search(text):
        return Recognised(kind="SELECT INTO OUTFILE", sql=text[: match.start()] + text[match.end():],
                          files_out=(match.group(1),))
    if match := _DELETE_OUTPUT.match(text):
        table, values, into, columns = match.groups()
        rest = text[match.end():]
        values = re.sub(r"\bdeleted\.", "", values, flags=re.IGNORECASE)
        insert = f"INSERT INTO {into} {columns or ''} SELECT {values} FROM {table} {rest}"
        return Recognised(kind="DELETE", sql=f"{insert};\nDELETE FROM {table} {rest}")
    if match := _CLONE.match(text):
        return Recognised(kind="CREATE TABLE CLONE", sql=f"{match.group(1)}{match.group(2)}CLONE {match.group(3)}")
    if match := _MUTATION.match(text):
        table, rest = match.group(1), _IN_PARTITION.sub("", text[match.end():], count=1)
        rest = _SETTINGS.sub("", rest, count=1)
        if match.group(2):
            return Recognised(kind="DELETE", sql=f"DELETE FROM {table} {rest}")
        return Recognised(kind="UPDATE", sql=f"UPDATE {table} SET {rest}")
    if match := _CREATE_OPTIONS.match(text):
        kind = "CREATE TABLE AS" if match.group(2).upper() == "TABLE" else "CREATE MATERIALIZED VIEW"
        return Recognised(kind=kind, sql=f"{match.group(1)} AS {text[match.end():]}")
    if _MERGE.match(text) and (match := _MERGE_DELETE_WHERE.search(text)):
        return Recognised(kind="MERGE", sql=text[: match.start()] + text[match.end():])
    if match := _DIRECTORY_USING.match(text):
        option = _PATH_OPTION.search(match.group(2) or "")
        path = match.group(1) or (option.group(1) if option else None)
        if path is not None:
            return Recognised(kind="INSERT OVERWRITE DIRECTORY", sql=text[match.end():], files_out=(path,))
    return None


def partition_moves(text: str, *, swaps: bool | None) -> Recognised | None:
    """Statements that move a partition's rows between tables, as the INSERT ... SELECT * and
    DELETE they amount to (so a schema known for either table gives column lineage). ``swaps``:
    the dialect's EXCHANGE PARTITION swaps the two tables' data (Oracle, MySQL), rather than moving
    the source's partition into the target (Hive); None: as the partition is named (Hive names
    it by its columns' values, ``(ds='1')``).

    >>> partition_moves("ALTER TABLE dw.s EXCHANGE PARTITION (ds='1') WITH TABLE st.s", swaps=False).sql
    'INSERT INTO dw.s SELECT * FROM st.s;\\nDELETE FROM st.s'
    >>> partition_moves("ALTER TABLE s EXCHANGE PARTITION p1 WITH TABLE t", swaps=True).sql
    'INSERT INTO s SELECT * FROM t;\\nINSERT INTO t SELECT * FROM s'
    """
    if match := _EXCHANGE_PARTITION.match(text):
        table, spec, other = match.groups()
        if swaps is None:
            swaps = not (spec.startswith("(") and "=" in spec)
        return _moved("EXCHANGE PARTITION", other, table, keeps=False, swaps=swaps)
    if match := _PG_PARTITION.match(text):
        parent, verb, child = match.groups()
        if verb.upper() == "ATTACH":
            return _moved("ATTACH PARTITION", child, parent, keeps=True)
        return _moved("DETACH PARTITION", parent, child, keeps=False)
    if match := _SWITCH.match(text):
        return _moved("SWITCH", match.group(1), match.group(2), keeps=False)
    if match := _CLICKHOUSE_MOVE.match(text):
        return _moved("MOVE PARTITION", match.group(1), match.group(2), keeps=False)
    if match := _CLICKHOUSE_COPY.match(text):
        return _moved(match.group(2).upper() + " PARTITION", match.group(3), match.group(1), keeps=True)
    return None


def _moved(kind: str, source: str, target: str, *, keeps: bool, swaps: bool = False) -> Recognised:
    then = (f"INSERT INTO {source} SELECT * FROM {target}" if swaps else None if keeps else f"DELETE FROM {source}")
    insert = f"INSERT INTO {target} SELECT * FROM {source}"
    return Recognised(kind=kind, sql=f"{insert};\n{then}" if then else insert)


def _assignment(match: re.Match[str]) -> str:
    name = match.group("name")
    return match.group() if name is None else f"{name} = {name} {match.group('op')} "


def _beside(old: str, new: str) -> str:
    """A bare new name stays in the old one's schema (SQL Server, Oracle and PostgreSQL renames)."""
    if "." in new or "." not in old:
        return new
    return old.rsplit(".", 1)[0] + "." + new
