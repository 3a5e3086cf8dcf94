"""Which tables a parsed statement reads and which it writes.

CTE names are scoped as SQL scopes them: a bare name that matches a CTE visible at that point is
the CTE, never a dataset; inside a (non-recursive) CTE's own body, its name means the real table.

>>> import sqlglot
>>> roles = table_roles(sqlglot.parse_one(
...     "WITH recent AS (SELECT * FROM raw.inquiries) "
...     "INSERT INTO staging.inquiries SELECT * FROM recent JOIN raw.customers c USING (id)"))
>>> roles.kind, [t.sql() for t in roles.outputs], sorted(f"{t.db}.{t.name}" for t in roles.inputs)
('INSERT', ['staging.inquiries'], ['raw.customers', 'raw.inquiries'])
"""

from __future__ import annotations

import dataclasses

from sqlglot import exp


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TableRoles:
    """A statement's kind and the table expressions it reads and writes."""

    kind: str
    inputs: tuple[exp.Table, ...] = ()
    outputs: tuple[exp.Table, ...] = ()
    output_kind: str = "table"
    files_in: tuple[str, ...] = ()
    files_out: tuple[str, ...] = ()
    columns: tuple[tuple[str, str], ...] = ()  # a created table's declared columns and types
    # Events in a dataset's life that move no data: (event, dataset, other dataset or None).
    lifecycle: tuple[tuple[str, exp.Table, exp.Table | None], ...] = ()
    # Inputs read only to decide which rows change or come out, giving no values (a DELETE's
    # USING, an UPDATE's FROM table its SET does not use, a semi-join's subquery).
    indirect: tuple[exp.Table, ...] = ()

    @property
    def has_lineage(self) -> bool:
        return bool(self.inputs or self.outputs or self.files_in or self.files_out)


_NO_LINEAGE = TableRoles(kind="OTHER")


def table_roles(statement: exp.Expr) -> TableRoles:
    """Read and written tables of one statement; statements without data flow give none."""
    special = _special_roles(statement)
    if special is not None:
        return special
    kind, targets, output_kind = _targets(statement)
    if kind is None:
        return _NO_LINEAGE
    target_ids = {id(table) for table in targets} | {id(alias) for alias in _delete_aliases(statement)}
    for nested in _modifying_ctes(statement):
        written = _targets(nested)[1]
        targets += written
        if not (nested.args.get("returning") or isinstance(nested, exp.Update)):
            target_ids |= {id(table) for table in written}  # its rows flow on only through RETURNING
    if isinstance(statement, exp.Update):
        target_ids.add(id(statement.this))  # named by alias: the aliased table is the target
    if isinstance(statement, exp.Create):
        target_ids |= {id(table) for table in _as_tables(statement.this)}  # ClickHouse's MV ... TO t
    every = tables_in(statement)
    read = [table for table in _real_tables(statement, every) if id(table) not in target_ids]
    paths = [file_read(table) for table in read]
    files_in = tuple(path for path in paths if path is not None)
    inputs = tuple(table for table, path in zip(read, paths, strict=True) if path is None)
    if isinstance(statement, exp.Update) or (isinstance(statement, exp.Insert) and upsert_reads(statement)):
        inputs += targets  # the new values are computed from the rows it updates
    directory = _directory(statement.this) or _function_path(statement.this) if isinstance(statement, exp.Insert) \
        else None
    files_out = (directory,) if directory else ()
    files_in += tuple(_function_paths(every))
    return TableRoles(kind=kind, inputs=_unique(inputs), outputs=_unique(targets), output_kind=output_kind,
                      columns=_declared_columns(statement), files_in=tuple(dict.fromkeys(files_in)),
                      files_out=files_out, indirect=_indirect(statement, inputs, targets))


def _indirect(statement: exp.Expr, inputs: tuple[exp.Table, ...],
              targets: tuple[exp.Table, ...]) -> tuple[exp.Table, ...]:
    """The inputs every mention of which only filters: no value flows from them (the table-level
    counterpart of indirect column edges).

    >>> import sqlglot
    >>> def indirect(sql):
    ...     return [t.name for t in table_roles(sqlglot.parse_one(sql, read="postgres")).indirect]
    >>> indirect("DELETE FROM s.t USING s.r WHERE t.id = r.id")
    ['r']
    >>> indirect("UPDATE t SET flag = 1 FROM d WHERE t.id = d.id")
    ['d']
    >>> indirect("UPDATE t SET v = d.v FROM d WHERE t.id = d.id")
    []
    >>> indirect("INSERT INTO m SELECT a.x FROM a WHERE a.id IN (SELECT id FROM b)")
    ['b']
    """
    written = {id(table) for table in targets}  # an UPDATE's target gives the values it updates
    if isinstance(statement, exp.Delete) and not statement.args.get("returning"):
        filtering = {id(table) for table in inputs}  # a delete writes no values: all it reads filters
    else:
        valued = _valued_aliases(statement) if isinstance(statement, exp.Update) else None
        filtering = {id(table) for table in inputs if id(table) not in written and (
            _in_filter(table, statement) or (valued is not None and _only_joined(table, statement, valued)))}
    if not filtering:
        return ()
    direct = {_name_key(table) for table in inputs if id(table) not in filtering}
    return _unique(tuple(table for table in inputs if id(table) in filtering and _name_key(table) not in direct))


def _name_key(table: exp.Table) -> tuple[str, ...]:
    return tuple(part.name.lower() for part in table.parts)


def _in_filter(table: exp.Table, statement: exp.Expr) -> bool:
    """Whether ``table`` is read in a subquery of a WHERE, HAVING, QUALIFY or JOIN ... ON."""
    node: exp.Expr | None = table
    while node is not None and node is not statement:
        if isinstance(node, exp.Where | exp.Having | exp.Qualify) or (
                node.arg_key == "on" and isinstance(node.parent, exp.Join)):
            return True
        node = node.parent
    return False


def _valued_aliases(statement: exp.Update) -> set[str] | None:
    """The tables (by alias or name) whose columns an UPDATE's SET computes from; None when a
    column names no table (it could be any's)."""
    found = set()
    for assignment in statement.expressions:
        value = assignment.expression if isinstance(assignment, exp.EQ) else assignment
        for column in value.find_all(exp.Column):
            if not column.table:
                return None
            found.add(column.table.lower())
    return found


def _only_joined(table: exp.Table, statement: exp.Expr, valued: set[str]) -> bool:
    """An UPDATE's FROM (or joined) table whose columns its SET does not use."""
    from_ = statement.args.get("from_")
    joined = [from_, *(statement.args.get("joins") or [])] if from_ is not None else []
    in_from = any(table is found for clause in joined for found in clause.find_all(exp.Table))
    return in_from and table.alias_or_name.lower() not in valued and table.name.lower() not in valued


# Spark and Databricks read files as tables: parquet.`s3://bucket/path` (and csv, json, orc,
# avro, text, binaryFile, delta): https://spark.apache.org/docs/latest/sql-data-sources-load-save-functions.html#run-sql-on-files-directly
_FILE_FORMATS = frozenset({"parquet", "csv", "json", "orc", "avro", "text", "binaryfile", "delta"})
# Table functions that read files or URLs: DuckDB's read_*, ClickHouse's s3/url/file/hdfs.
_FILE_FUNCTIONS = frozenset({"readparquet", "read_parquet", "read_csv", "read_csv_auto", "readcsv", "read_json",
                             "read_json_auto", "readjson", "read_ndjson", "s3", "url", "file", "hdfs", "gcs"})


def file_read(table: exp.Table) -> str | None:
    """The path a table expression reads, when it names a file instead of a table: Spark's
    ``parquet.`path` ``, DuckDB's ``FROM 'file.csv'``."""
    this = table.this
    if not isinstance(this, exp.Identifier) or not ("/" in this.this or ":" in this.this):
        return None  # the common case: a name with no path in it
    name = this.this
    if table.db.lower() in _FILE_FORMATS:
        return name
    if not table.db and this.quoted and "/" in name and "." in name:
        return name
    return None


def _function_path(node: exp.Expr | None) -> str | None:
    """The file or URL a file function names: ``read_parquet('s3://...')``, ``read_csv('a.csv')``,
    ClickHouse's ``s3('https://...')`` (also as ``INSERT INTO FUNCTION s3(...)``, which writes it)."""
    if not isinstance(node, exp.Func):
        return None
    name = node.name if isinstance(node, exp.Anonymous) else node.key
    if name.lower() not in _FILE_FUNCTIONS:
        return None
    first = node.this if isinstance(node.this, exp.Literal) else next(iter(node.expressions), None)
    return first.name if isinstance(first, exp.Literal) and first.is_string else None


def _function_paths(tables: list[exp.Table]) -> list[str]:
    """Paths read by file functions in FROM."""
    return [path for table in tables if (path := _function_path(table.this)) is not None]


def _special_roles(statement: exp.Expr) -> TableRoles | None:
    """Statements whose roles are not "the target, and every other table read": loads and
    unloads, clones, caches, multi-table inserts, and lifecycle events."""
    if isinstance(statement, exp.Copy):
        return _copy_roles(statement)
    if isinstance(statement, exp.Export):  # BigQuery EXPORT DATA OPTIONS (uri = ...) AS SELECT
        return TableRoles(kind="EXPORT", inputs=_unique(tuple(_real_tables(statement))),
                          files_out=tuple(_option(statement, "uri")))
    if isinstance(statement, exp.Cache):
        return _cache_roles(statement)
    if isinstance(statement, exp.MultitableInserts):  # Hive FROM ... INSERT ...; Oracle INSERT ALL/FIRST
        inserts = [e if isinstance(e, exp.Insert) else e.find(exp.Insert) for e in statement.expressions]
        targets = tuple(t for insert in inserts if insert is not None for t in _as_tables(insert.this))
        ids = {id(t) for t in targets}
        return TableRoles(kind="INSERT", outputs=_unique(targets),
                          inputs=_unique(tuple(t for t in _real_tables(statement) if id(t) not in ids)))
    if isinstance(statement, exp.Create) and isinstance(statement.args.get("clone"), exp.Clone):
        return TableRoles(kind="CREATE TABLE CLONE", outputs=_as_tables(statement.this),
                          inputs=_as_tables(statement.args["clone"].this))
    return _lifecycle_roles(statement)


def _lifecycle_roles(statement: exp.Expr) -> TableRoles | None:
    """DROP, TRUNCATE, RENAME, SWAP, CREATE TABLE LIKE and REFRESH change a dataset's life, not
    its data's origin: lifecycle events, never lineage edges."""
    if isinstance(statement, exp.Drop) and str(statement.args.get("kind") or "").upper() in _DATA_OBJECTS:
        tables = [t for t in statement.args.get("tables") or [statement.this] if isinstance(t, exp.Table)]
        return TableRoles(kind=f"DROP {statement.args['kind'].upper()}",
                          lifecycle=tuple(("drop", t, None) for t in tables))
    if isinstance(statement, exp.TruncateTable):
        tables = [t for t in statement.expressions if isinstance(t, exp.Table)]
        return TableRoles(kind="TRUNCATE", lifecycle=tuple(("truncate", t, None) for t in tables))
    if isinstance(statement, exp.Alter) and isinstance(statement.this, exp.Table):
        events = tuple(_alter_event(statement.this, action) for action in statement.args.get("actions") or [])
        found = tuple(event for event in events if event is not None)
        return TableRoles(kind="ALTER TABLE", lifecycle=found) if found else None
    if isinstance(statement, exp.Refresh) and isinstance(statement.this, exp.Table):
        return TableRoles(kind="REFRESH", lifecycle=(("refresh", statement.this, None),))
    like = _like(statement) or _structure_of(statement)
    if like is not None and isinstance(statement, exp.Create):
        created = _as_tables(statement.this)
        return TableRoles(kind="CREATE TABLE LIKE", lifecycle=tuple(("create_like", t, like) for t in created),
                          output_kind="temporary" if _is_temporary(statement) else "table")
    return None


_DATA_OBJECTS = frozenset({"TABLE", "VIEW", "MATERIALIZED VIEW", "EXTERNAL TABLE", "DYNAMIC TABLE"})


def _alter_event(table: exp.Table, action: exp.Expr) -> tuple[str, exp.Table, exp.Table | None] | None:
    if isinstance(action, exp.AlterRename) and isinstance(action.this, exp.Table):
        renamed = action.this.copy()
        for part in ("db", "catalog"):  # a bare new name stays where the table was
            if not renamed.args.get(part) and table.args.get(part):
                renamed.set(part, table.args[part].copy())
        return "rename", table, renamed
    if isinstance(action, exp.SwapTable) and isinstance(action.this, exp.Table):
        return "swap", table, action.this
    return None


def _like(statement: exp.Expr) -> exp.Table | None:
    """The table ``CREATE TABLE b LIKE a`` (or PostgreSQL's ``(LIKE a)``) copies the structure of."""
    if not isinstance(statement, exp.Create) or statement.expression is not None:
        return None
    candidates = list(statement.this.expressions) if isinstance(statement.this, exp.Schema) else []
    properties = statement.args.get("properties")
    candidates += list(properties.expressions) if properties else []
    like = next((c for c in candidates if isinstance(c, exp.LikeProperty)), None)
    return like.this if like is not None and isinstance(like.this, exp.Table) else None


def _structure_of(statement: exp.Expr) -> exp.Table | None:
    """ClickHouse's ``CREATE TABLE b AS a ENGINE = ...`` and Teradata's ``CREATE TABLE b AS a WITH NO
    DATA``: a table named where a query would be copies that table's structure, not its rows
    (Teradata's ``WITH DATA`` copies the rows too: lineage)."""
    if not (isinstance(statement, exp.Create) and isinstance(statement.expression, exp.Table)
            and is_named(statement.expression) and str(statement.args.get("kind") or "").upper() == "TABLE"):
        return None
    data = next((p for p in _properties(statement) if isinstance(p, exp.WithDataProperty)), None)
    return statement.expression if data is None or data.args.get("no") else None


def _cache_roles(statement: exp.Cache) -> TableRoles:
    """Spark's ``CACHE TABLE t AS SELECT`` makes a temporary view t; ``CACHE TABLE t`` reads t."""
    if statement.expression is None:
        return TableRoles(kind="CACHE", inputs=_as_tables(statement.this))
    return TableRoles(kind="CACHE", outputs=_as_tables(statement.this), output_kind="temporary",
                      inputs=_unique(tuple(_real_tables(statement.expression))))


def _directory(target: exp.Expr | None) -> str | None:
    """``INSERT OVERWRITE [LOCAL] DIRECTORY 'path'`` (Hive, Spark) writes files, not a table."""
    if isinstance(target, exp.Directory) and isinstance(target.this, exp.Literal):
        return target.this.name
    return None


def _option(statement: exp.Expr, name: str) -> list[str]:
    properties = statement.args.get("options")
    return [p.args["value"].name for p in (properties.expressions if properties else [])
            if isinstance(p, exp.Property) and p.name.lower() == name and isinstance(p.args.get("value"), exp.Literal)]


def _declared_columns(statement: exp.Expr) -> tuple[tuple[str, str], ...]:
    """``CREATE TABLE t (a int, b text)``: the schema the crawler records as dataset metadata."""
    if not isinstance(statement, exp.Create) or not isinstance(statement.this, exp.Schema):
        return ()
    return tuple((column.name, column.args["kind"].sql() if column.args.get("kind") else "")
                 for column in statement.this.expressions if isinstance(column, exp.ColumnDef))


def _targets(statement: exp.Expr) -> tuple[str | None, tuple[exp.Table, ...], str]:
    if isinstance(statement, exp.Insert):
        return "INSERT", _as_tables(statement.this), "table"
    if isinstance(statement, exp.Create):
        return _create_targets(statement)
    if isinstance(statement, exp.Delete) and _delete_aliases(statement):
        return "DELETE", _multi_table_delete_targets(statement), "table"
    if isinstance(statement, exp.Update):
        return "UPDATE", _update_target(statement), "table"
    if isinstance(statement, (exp.Merge, exp.Delete)):
        return statement.key.upper(), _as_tables(statement.this), "table"
    into = _select_into(statement)
    if into is not None:
        temporary = into.args.get("temporary") or into.this.this.args.get("temporary")
        return "SELECT INTO", _as_tables(into.this), "temporary" if temporary else "table"
    if isinstance(statement, exp.Query):
        return "SELECT", (), "table"
    return None, (), "table"


def _select_into(statement: exp.Expr) -> exp.Into | None:
    """The ``INTO t`` of ``SELECT ... INTO t``; in a set operation it is written in the first
    SELECT (``SELECT a INTO t FROM x UNION ALL SELECT a FROM y``) and takes the whole result."""
    while isinstance(statement, exp.SetOperation):
        statement = statement.this
    into = statement.args.get("into") if isinstance(statement, exp.Select) else None
    return into if isinstance(into, exp.Into) else None


_DATA_MODIFYING = (exp.Insert, exp.Update, exp.Delete, exp.Merge)


def _modifying_ctes(statement: exp.Expr) -> list[exp.Expr]:
    """PostgreSQL's data-modifying statements in WITH write their tables too:
    ``WITH d AS (DELETE FROM q.jobs ... RETURNING *) INSERT INTO q.archive SELECT * FROM d``
    (https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING)."""
    with_ = statement.args.get("with_")
    if not isinstance(with_, exp.With):
        return []
    return [cte.this for cte in with_.expressions if isinstance(cte.this, _DATA_MODIFYING)]


def returned_as_select(tree: exp.Expr) -> exp.Expr:
    """The statement with each data-modifying CTE read as the rows it returns: ``DELETE FROM t
    ... RETURNING a`` hands on ``SELECT a FROM t`` (and nothing without RETURNING), so column
    lineage sees through it."""
    if not _modifying_ctes(tree):  # (only the statement's own WITH may hold one)
        return tree
    tree = tree.copy()
    for cte in list(tree.find_all(exp.CTE)):
        if isinstance(cte.this, _DATA_MODIFYING):
            written = _targets(cte.this)[1]
            target = written[0] if written else None
            returning = cte.this.args.get("returning")
            returned = list(returning.expressions) if returning is not None else []
            select = exp.select(*returned).from_(target.copy()) if returned and target is not None \
                else exp.select(exp.null())
            cte.set("this", select)
    return tree


def _update_target(statement: exp.Update) -> tuple[exp.Table, ...]:
    """SQL Server and Teradata may name the target by an alias given in the FROM:
    ``UPDATE t SET ... FROM dw.customers t JOIN ...``."""
    target = _as_tables(statement.this)
    from_ = statement.args.get("from_")
    if not target or target[0].args.get("db") or from_ is None:
        return target
    aliased = [t for t in from_.find_all(exp.Table) if t.alias and t.alias == target[0].name and is_named(t)]
    return (aliased[0],) if aliased else target


def _delete_aliases(statement: exp.Expr) -> list[exp.Table]:
    """MySQL's ``DELETE s FROM t AS s JOIN ...`` names its targets by alias."""
    return list(statement.args.get("tables") or []) if isinstance(statement, exp.Delete) else []


def _multi_table_delete_targets(statement: exp.Delete) -> tuple[exp.Table, ...]:
    if not isinstance(statement.this, exp.Expr):  # ``DELETE t WHERE ...``: FROM is optional in T-SQL and Oracle
        return tuple(table for table in _delete_aliases(statement) if is_named(table))
    aliases = {alias.name for alias in _delete_aliases(statement)}
    listed = {id(alias) for alias in _delete_aliases(statement)}
    return tuple(table for table in statement.find_all(exp.Table)
                 if id(table) not in listed and is_named(table) and table.alias_or_name in aliases)


def _copy_roles(statement: exp.Copy) -> TableRoles:
    """COPY t FROM 'file' loads a table from files; COPY t|(query) TO 'file' unloads it.
    Snowflake's COPY INTO names stages (``@stage/path``) and URLs on either side. STDIN and
    STDOUT are the client, not datasets."""
    target = _location(statement.this)
    sources = [_location(f) or f for f in statement.args.get("files") or []]
    paths = tuple(s for s in sources if isinstance(s, str))
    if target is not None:  # COPY INTO @stage | 's3://...' FROM table | (query)
        read = tuple(t for s in sources if isinstance(s, exp.Expr) for t in _real_tables(s) if _location(t) is None)
        return TableRoles(kind="COPY", inputs=_unique(read), files_out=(target,))
    if statement.args.get("kind"):
        return TableRoles(kind="COPY", outputs=_unique(_as_tables(statement.this)), files_in=paths)
    tables = tuple(table for table in _real_tables(statement))
    return TableRoles(kind="COPY", inputs=_unique(tables), files_out=paths)


def _location(node: exp.Expr | None) -> str | None:
    """A file, URL or stage a COPY names: a string, or Snowflake's ``@stage/path``."""
    if isinstance(node, exp.Literal) and node.is_string:
        return node.name
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Var | exp.Literal):
        text = node.this.name
        return text if text.startswith("@") or isinstance(node.this, exp.Literal) else None
    return None


def _create_targets(statement: exp.Create) -> tuple[str | None, tuple[exp.Table, ...], str]:
    created = str(statement.args.get("kind") or "").upper()
    if created not in ("TABLE", "VIEW"):
        return None, (), "table"
    if created == "VIEW":
        materialized = any(isinstance(p, exp.MaterializedProperty) for p in _properties(statement))
        kind = "CREATE MATERIALIZED VIEW" if materialized else "CREATE VIEW"
        into = next((p.this for p in _properties(statement) if isinstance(p, exp.ToTableProperty)), None)
        if isinstance(into, exp.Table):  # ClickHouse: CREATE MATERIALIZED VIEW mv TO t: rows go to t
            return kind, (into,), "table"
        return kind, _as_tables(statement.this), "temporary" if _is_temporary(statement) else "view"
    kind = "CREATE TABLE AS" if statement.expression else "CREATE TABLE"
    return kind, _as_tables(statement.this), "temporary" if _is_temporary(statement) else "table"


_TEMPORARY = (exp.TemporaryProperty, exp.VolatileProperty)


def _is_temporary(statement: exp.Create) -> bool:
    """TEMP/TEMPORARY, Teradata's VOLATILE, SQL Server's and Redshift's ``#name`` (and ``##name``)."""
    if any(isinstance(p, _TEMPORARY) for p in _properties(statement)):
        return True
    tables = _as_tables(statement.this)
    return bool(tables) and (bool(tables[0].this.args.get("temporary")) or tables[0].name.startswith("#"))


def _properties(statement: exp.Create) -> list[exp.Expr]:
    properties = statement.args.get("properties")
    return list(properties.expressions) if properties else []


def written_table(node: exp.Expr | None) -> exp.Table | None:
    """The named table an INSERT, CREATE or MERGE writes: ``t`` of ``INSERT INTO t (a, b)``."""
    found = _as_tables(node)
    return found[0] if found else None


def _as_tables(node: exp.Expr | None) -> tuple[exp.Table, ...]:
    if isinstance(node, exp.Schema):
        node = node.this
    if isinstance(node, exp.Table) and is_named(node):
        return (node,)
    return ()


def is_named(table: exp.Table) -> bool:
    """Table-valued functions (``generate_series(...)``, ``UNNEST``) are tables without a name."""
    return isinstance(table.this, exp.Identifier)


def _real_tables(statement: exp.Expr, tables: list[exp.Table] | None = None) -> list[exp.Table]:
    every = tables_in(statement) if tables is None else tables
    return [table for table in every if is_named(table) and not is_cte_reference(table)]


def tables_in(tree: exp.Expr) -> list[exp.Table]:
    """The table expressions of a tree, breadth first (the order of ``find_all``), walked without
    sqlglot's generic walk, which costs a fifth of a long query's parse; columns, names and
    literals never hold a table, so they are not entered."""
    found = []
    queue = [tree]
    for node in queue:  # the list grows as it is read: breadth first
        if type(node) is exp.Table:
            found.append(node)
        for value in node.args.values():
            if isinstance(value, list):
                queue.extend(item for item in value if isinstance(item, exp.Expr) and type(item) not in _LEAVES)
            elif isinstance(value, exp.Expr) and type(value) not in _LEAVES:
                queue.append(value)
    return found


_LEAVES = frozenset({exp.Column, exp.Identifier, exp.Literal, exp.DataType, exp.Star, exp.Var, exp.Boolean, exp.Null,
                     exp.Parameter, exp.Placeholder})


def is_cte_reference(table: exp.Table) -> bool:
    if table.args.get("db") or table.args.get("catalog"):
        return False
    name = table.name
    child: exp.Expr = table
    parent = table.parent
    while parent is not None:
        with_ = parent.args.get("with_")
        visible: set[str] = set()
        if isinstance(parent, exp.With):
            visible = _ctes_before(parent, child)
        elif isinstance(with_, exp.With) and with_ is not child:
            visible = {cte.alias for cte in with_.expressions}
        if name in visible:
            return True
        child, parent = parent, parent.parent
    return False


def _ctes_before(with_: exp.With, cte: exp.Expr) -> set[str]:
    """Inside a CTE's body, the CTEs defined before it are visible (and itself, if recursive)."""
    names: set[str] = set()
    for each in with_.expressions:
        if each is cte:
            if with_.args.get("recursive"):
                names.add(each.alias)
            break
        names.add(each.alias)
    return names


def upsert_reads(statement: exp.Insert) -> list[tuple[str, list[exp.Column]]]:
    """Each column an upsert's update sets (PostgreSQL's ``ON CONFLICT ... DO UPDATE SET``, MySQL's
    ``ON DUPLICATE KEY UPDATE``), with the target's columns its new value reads: ``q = t.q +
    EXCLUDED.q`` reads the stored ``q``; ``EXCLUDED.q`` and MySQL's ``VALUES(q)`` are the new row."""
    conflict = statement.args.get("conflict")
    if not isinstance(conflict, exp.OnConflict):
        return []
    target = written_table(statement.this)
    names = {target.name.lower(), target.alias.lower()} - {""} if target is not None else set()
    found = []
    for assignment in conflict.expressions:
        if isinstance(assignment, exp.EQ) and isinstance(assignment.this, exp.Column):
            read = [column for column in assignment.expression.find_all(exp.Column)
                    if (not column.table or column.table.lower() in names) and not _in_query(column, assignment)]
            found.append((assignment.this.name, read))
    return [(column, read) for column, read in found if read]


def _in_query(node: exp.Expr, within: exp.Expr) -> bool:
    """Whether ``node`` is inside a subquery of ``within`` (its columns are that query's tables')."""
    parent = node.parent
    while parent is not None and parent is not within:
        if isinstance(parent, exp.Query):
            return True
        parent = parent.parent
    return False


def _unique(tables: tuple[exp.Table, ...]) -> tuple[exp.Table, ...]:
    """Each table once, by its name as written: T-SQL's ``#tmp`` (a temporary table) and ``tmp``
    are two tables, and so are ``"Orders"`` and ``orders`` where quotes keep case."""
    seen: dict[tuple[object, ...], exp.Table] = {}
    for table in tables:
        name = table.this
        marks = (name.args.get("temporary"), name.args.get("global"), name.quoted) \
            if isinstance(name, exp.Identifier) else ()
        seen.setdefault((table.catalog, table.db, table.name, *marks), table)
    return tuple(seen.values())
