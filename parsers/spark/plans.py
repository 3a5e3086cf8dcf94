"""What a Spark SQL execution read and wrote, from the plans its start event carries.

Two views of one plan are at hand: ``sparkPlanInfo``, the physical plan as a tree of nodes (a
name, a one-line ``simpleString`` and, for scans, a ``metadata`` map), and
``physicalPlanDescription``, the same plan as ``EXPLAIN FORMATTED`` prints it: a numbered
section per node with its ``Arguments``, ``Location``, ``ReadSchema`` and ``Output``. Scans come
from the tree (with their file index location and read schema); a write command's target comes
from its line in the tree, or from its section where the tree's line is bare (a CTAS in 4.x).
V1 commands show the logical plan they run in their section list: ``LogicalRelation`` and
``HiveTableRelation`` name the catalog tables a CTAS or a view reads.
(Node names and argument order: Spark's ``SparkPlanInfo``, ``DataSourceScanExec``,
``InsertIntoHadoopFsRelationCommand`` and ``CreateDataSourceTableAsSelectCommand`` in 3.5 and 4.x.)

>>> split_args("file:/x, false, [dt#3], Parquet, [path=/x], Overwrite, [a, b]")
['file:/x', 'false', '[dt#3]', 'Parquet', '[path=/x]', 'Overwrite', '[a, b]']
>>> locations("InMemoryFileIndex(3 paths)[file:/lake/e/dt=1, file:/lake/e/dt=2, file:/lake/e/d...")
(['file:/lake/e/dt=1', 'file:/lake/e/dt=2'], True)
>>> struct_fields("struct<id:bigint,tags:array<string>,p:struct<a:int,b:map<string,int>>>")
{'id': 'bigint', 'tags': 'array<string>', 'p': 'struct<a:int,b:map<string,int>>'}
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any

MODES = frozenset({"Overwrite", "Append", "ErrorIfExists", "Ignore"})
_IDENTIFIER = re.compile(r"`(?:[^`]|``)+`(?:\.`(?:[^`]|``)+`)*")
_ATTRIBUTE = re.compile(r"([A-Za-z_][\w]*)#\d+L?")
_SECTION = re.compile(r"^\((\d+)\) (.+?)(?: \[codegen id : \d+\])?$")
_FIELD = re.compile(r"^([A-Z][A-Za-z ]*?)(?: \[\d+\])?: (.*)$")
_OPEN, _CLOSE = "([{<", ")]}>"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Scan:
    """A read: a catalog table, file paths, or both (a table and where it lives)."""

    format: str
    table: str | None = None  # as Spark prints it: spark_catalog.db.t
    paths: tuple[str, ...] = ()
    truncated: bool = False  # Spark cut the location short: more paths than listed
    read_schema: dict[str, str] = dataclasses.field(default_factory=dict)
    partition_columns: tuple[str, ...] = ()
    jdbc: bool = False
    query: str | None = None  # a JDBC read of a query (Spark's `query` option), not of a table


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Write:
    """A write command: its target table and/or path, mode, partition and output columns."""

    command: str
    line: str
    table: str | None = None
    path: str | None = None
    mode: str | None = None
    partition_columns: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    view_sql: str | None = None
    lifecycle: str | None = None  # drop, truncate, rename: no data moves
    other: str | None = None  # a rename's new name
    jdbc: bool = False  # a table of a database reached over JDBC (its URL, Spark redacts)


@dataclasses.dataclass(frozen=True, slots=True)
class Section:
    """One node of ``EXPLAIN FORMATTED``: its name and fields (Arguments, Location, ...)."""

    name: str
    fields: Mapping[str, str]


def nodes(plan: Any) -> Iterator[Mapping[str, Any]]:
    """Every node of a ``sparkPlanInfo`` tree, parents before children."""
    stack = [plan]
    while stack:
        node = stack.pop()
        if not isinstance(node, Mapping):
            continue
        yield node
        children = node.get("children")
        if isinstance(children, list):
            stack.extend(reversed(children))


@functools.lru_cache(maxsize=64)  # a record's executions are read for writes, tables and columns
def sections(description: str) -> tuple[Section, ...]:
    """The numbered node sections of a formatted physical plan description."""
    found: list[Section] = []
    fields: dict[str, str] = {}
    for line in description.splitlines():
        header = _SECTION.match(line)
        if header is not None:
            fields = {}
            found.append(Section(name=header[2].strip(), fields=fields))
            continue
        field = _FIELD.match(line)
        if field is not None and found:
            fields.setdefault(field[1], field[2])
    return tuple(found)


def split_args(text: str) -> list[str]:
    """Top-level, comma-separated arguments of a plan line (brackets and quotes nest)."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "`'\"":
            quote = char
        elif char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    tail = "".join(current).strip()
    return [*parts, tail] if tail or parts else []


def identifier(text: str) -> str | None:
    """The first backtick-quoted, dotted table identifier in ``text``, unquoted."""
    match = _IDENTIFIER.search(text)
    if match is None:
        return None
    return ".".join(part[1:-1].replace("``", "`") for part in re.findall(r"`(?:[^`]|``)+`", match[0]))


def locations(text: str) -> tuple[list[str], bool]:
    """The paths of a file index as a plan prints it, ``InMemoryFileIndex(2 paths)[a, b]`` or
    ``InMemoryFileIndex [a, b]``, and whether Spark cut the list short (it abbreviates metadata
    to ``spark.sql.maxMetadataStringLength`` characters, ending in ``...``)."""
    start = text.find("[")
    if start < 0:
        return [], False
    body = text[start + 1:]
    cut = not body.rstrip().endswith("]")
    body = body.rstrip().removesuffix("]")
    paths = [part.strip() for part in body.split(", ") if part.strip()]
    if cut and paths:
        paths.pop()  # the path the abbreviation ends in is cut
    paths = [path for path in paths if not path.startswith("...") and " more" not in path]
    count = re.search(r"\((\d+) paths?\)", text[:start])
    return paths, cut or (count is not None and int(count[1]) > len(paths))


def struct_fields(schema: str) -> dict[str, str]:
    """The top-level fields of a ``struct<...>`` type string (a scan's ReadSchema)."""
    schema = schema.strip()
    if not (schema.startswith("struct<") and schema.endswith(">")):
        return {}
    fields = {}
    for part in _split_types(schema[len("struct<"):-1]):
        name, _, kind = part.partition(":")
        if name:
            fields[name.strip("`")] = kind
    return fields


def _split_types(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char in "<(":
            depth += 1
        elif char in ">)":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    return [*parts, "".join(current)] if current else parts


def attribute_names(text: str) -> list[str]:
    """Names of the attributes (``name#12``, ``id#3L``) in a plan fragment, in order, once each."""
    return list(dict.fromkeys(_ATTRIBUTE.findall(text)))


# -- reads -----------------------------------------------------------------------------------

# Scans of what is no dataset: rows made in the driver, an RDD, a cached local relation.
_NOT_DATASETS = ("ExistingRDD", "OneRowRelation", "RDD", "LocalTableScan", "In-memory table", "Range")
_FILE_FORMATS = frozenset({"parquet", "csv", "json", "orc", "text", "avro", "binaryFile", "xml", "delta"})
# JDBCRelation(<table>) or, for the `query` option, JDBCRelation((<query>) SPARK_GEN_SUBQ_<n>).
_JDBC = re.compile(r"JDBCRelation\((?:\((?P<query>.*)\) SPARK_GEN_SUBQ_\d+|(?P<table>[^()\s]+))\)")


def scans(plan: Any) -> list[Scan]:
    """The reads among the nodes of a ``sparkPlanInfo`` tree (with the cached plans of
    ``InMemoryTableScan`` and the stages of an adaptive plan, which the tree holds as children)."""
    found = []
    for node in nodes(plan):
        name = str(node.get("nodeName", ""))
        if name.startswith("Scan ") or name.startswith("BatchScan"):
            scan = scan_of(name, str(node.get("simpleString", "")), node.get("metadata") or {})
            if scan is not None:
                found.append(scan)
    return found


def scan_of(name: str, line: str, metadata: Mapping[str, Any]) -> Scan | None:
    """The read of a scan node, from its name, one-line form and metadata (or formatted fields)."""
    rest = name.split(" ", 1)[1].strip() if " " in name else ""
    if not rest or rest.startswith(_NOT_DATASETS):
        return None
    jdbc = _JDBC.search(rest)
    if jdbc is not None:
        return Scan(format="jdbc", table=jdbc["table"], query=jdbc["query"], jdbc=True)
    fmt, _, table = rest.partition(" ")
    if fmt not in _FILE_FORMATS and fmt != "hive" and not table:
        fmt, table = "", rest  # a V2 scan named by its table: BatchScan local.db.t
    location = str(metadata.get("Location") or _field(line, "Location"))
    paths, truncated = locations(location) if location else ([], False)
    if table.startswith(("file:", "/", "hdfs:", "s3", "gs:", "abfs", "wasb", "dbfs:")):
        paths, table = paths or [table], ""  # BatchScan parquet file:/x
    schema = struct_fields(str(metadata.get("ReadSchema") or _field(line, "ReadSchema")))
    return Scan(format=fmt or "table", table=table or None, paths=tuple(paths), truncated=truncated,
                read_schema=schema, partition_columns=_partition_columns(line, metadata, schema))


def _field(line: str, name: str) -> str:
    """A ``Name: value`` field of a scan's one-line form (up to the next field)."""
    match = re.search(rf"\b{name}: (.*?)(?:, [A-Z]\w+: |$)", line)
    return match[1] if match else ""


def _partition_columns(line: str, metadata: Mapping[str, Any], schema: Mapping[str, str]) -> tuple[str, ...]:
    """Columns a scan reads from directory names: in its output but not its files' schema, or in
    its partition filters."""
    start = line.find("[")
    output = attribute_names(line[start:line.find("]", start) + 1]) if start >= 0 and schema else []
    filters = attribute_names(str(metadata.get("PartitionFilters") or _field(line, "PartitionFilters")))
    return tuple(dict.fromkeys([name for name in output if name not in schema] + filters))


def logical_tables(description: str) -> list[str]:
    """Catalog tables the logical plan of a V1 command reads (its sections ``LogicalRelation``,
    ``HiveTableRelation``): what a CTAS or a view in 4.x shows of its query."""
    found = []
    for section in sections(description):
        if section.name in ("LogicalRelation", "HiveTableRelation", "DataSourceV2Relation", "Relation"):
            table = identifier(section.fields.get("Arguments", ""))
            if table is not None:
                found.append(table)
    return found


# -- writes ----------------------------------------------------------------------------------

# Commands that write data, by node name (V1 commands run as "Execute <name>").
TABLE_WRITES = frozenset({
    "InsertIntoHadoopFsRelationCommand", "InsertIntoHiveTable", "InsertIntoDataSourceCommand",
    "CreateDataSourceTableAsSelectCommand", "CreateHiveTableAsSelectCommand",
    "OptimizedCreateHiveTableAsSelectCommand", "SaveIntoDataSourceCommand",
    "AppendData", "OverwriteByExpression", "OverwritePartitionsDynamic", "ReplaceData", "WriteDelta",
    "AtomicCreateTableAsSelect", "CreateTableAsSelect", "AtomicReplaceTableAsSelect", "ReplaceTableAsSelect",
})
DIRECTORY_WRITES = frozenset({"InsertIntoDataSourceDirCommand", "InsertIntoHiveDirCommand"})
VIEWS = frozenset({"CreateViewCommand", "CreateView", "AlterViewAsCommand"})
LIFECYCLE = {"DropTableCommand": "drop", "DropTable": "drop", "TruncateTableCommand": "truncate",
             "TruncateTable": "truncate", "AlterTableRenameCommand": "rename", "RenameTable": "rename"}
CREATES_TABLE = frozenset({"CreateDataSourceTableAsSelectCommand", "CreateHiveTableAsSelectCommand",
                           "OptimizedCreateHiveTableAsSelectCommand", "AtomicCreateTableAsSelect",
                           "CreateTableAsSelect", "AtomicReplaceTableAsSelect", "ReplaceTableAsSelect"})
_HIVE_TABLE = re.compile(r"Database: (?P<db>[^,\]]+), TableName: (?P<table>[^,\]]+)")
_V2_TABLE = re.compile(r"(?:\btable=|Identifier\(|ResolvedIdentifier\([^,]*, )(?P<table>[\w.`-]+)")
_DOTTED = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
_VIEW_SQL = re.compile(r"(?is)(?P<sql>\(?\s*(?:SELECT|WITH|FROM|VALUES|TABLE)\b.*?)"
                       r"(?:, (?:true|false))*, (?:PersistedView|LocalTempView|GlobalTempView)\b")
_OPTION = re.compile(r"(?:^|[\[,]\s*)(?P<key>[\w.]+)=(?P<value>[^,\]]*)")


def command_name(node_name: str) -> str:
    return node_name.removeprefix("Execute ").strip()


def writes(plan: Any, description: str) -> list[Write]:
    """The write commands of an execution: from the tree's nodes, each completed by its section
    of the formatted description where the tree's line is bare (a 4.x CTAS prints no arguments)."""
    arguments: dict[str, list[str]] = {}
    for section in sections(description):
        if section.fields.get("Arguments"):  # ("Execute X" has none; its child section "X" has them)
            arguments.setdefault(command_name(section.name), []).append(section.fields["Arguments"])
    found = []
    for node in nodes(plan):
        name = command_name(str(node.get("nodeName", "")))
        if name not in TABLE_WRITES and name not in DIRECTORY_WRITES and name not in VIEWS and name not in LIFECYCLE:
            continue
        line = str(node.get("simpleString", ""))
        args = line[len(str(node.get("nodeName", ""))):].strip()
        if not args and arguments.get(name):
            args = arguments[name].pop(0)
        write = _write(name, args)
        if write is not None:
            found.append(dataclasses.replace(write, line=f"{name} {args}".strip()))
    return found


def _write(name: str, args: str) -> Write | None:
    parts = split_args(args)
    if name in LIFECYCLE:
        names = [identifier(part) for part in parts if identifier(part)]
        if not names:
            return None
        return Write(command=name, line="", table=names[0], lifecycle=LIFECYCLE[name],
                     other=names[1] if len(names) > 1 else None)
    if name in VIEWS:
        return _view(name, args, parts)
    if name in DIRECTORY_WRITES:
        path = _directory(args, parts)
        return Write(command=name, line="", path=path) if path else None
    table = identifier(args) or _hive_table(args) or _v2_table(name, parts)
    options = _options(parts)
    path = _path(name, parts) or options.get("path")
    jdbc = "JdbcRelationProvider" in args or ("url" in options and "dbtable" in options)
    if table is None and path is None and options.get("dbtable"):
        table = options["dbtable"]
    if table is None and path is None:
        return None
    brackets = [part for part in parts if part.startswith("[") and part.endswith("]")]
    partitions = next((attribute_names(part) for part in brackets if "#" in part), [])
    partitions = partitions or re.findall(r"(\w+) ->", next((p for p in parts if p.startswith("Map(")), ""))
    columns = [column.strip() for column in brackets[-1][1:-1].split(",")] if brackets and "#" not in brackets[-1] \
        and "=" not in brackets[-1] else []
    return Write(command=name, line="", table=table, path=path, mode=next((p for p in parts if p in MODES), None),
                 partition_columns=tuple(partitions), columns=tuple(column for column in columns if column), jdbc=jdbc)


def _view(name: str, args: str, parts: list[str]) -> Write | None:
    view = identifier(args)
    if view is None or "TempView" in args:
        return None  # a temporary view is a name for a plan, not a dataset: later scans show its sources
    sql = _VIEW_SQL.search(args)
    return Write(command=name, line="", table=view, view_sql=sql["sql"].strip() if sql else None)


def _hive_table(args: str) -> str | None:
    match = _HIVE_TABLE.search(args)
    return f"{match['db'].strip()}.{match['table'].strip()}" if match else None


def _v2_table(name: str, parts: list[str]) -> str | None:
    if name.endswith("Command"):
        return None
    for part in parts:
        match = _V2_TABLE.search(part)
        if match is not None:
            return match["table"].replace("`", "")
        if _DOTTED.match(part):
            return part
    return None


def _path(name: str, parts: list[str]) -> str | None:
    if name == "InsertIntoHadoopFsRelationCommand" and parts and not parts[0].startswith(("[", "`")):
        return parts[0]
    return None


def _directory(args: str, parts: list[str]) -> str | None:
    location = re.search(r"Location: ([^,\])\s]+)", args)
    if location is not None:
        return location[1]
    return next((part for part in parts if re.match(r"^(?:[a-z][\w+.-]*:)?/", part)), None)


def _options(parts: list[str]) -> dict[str, str]:
    """The ``[key=value, ...]`` options of a write (``path``, ``dbtable``), as Spark prints them."""
    for part in parts:
        if part.startswith("[") and "=" in part and "#" not in part:
            return {match["key"]: match["value"].strip() for match in _OPTION.finditer(part)}
    return {}
