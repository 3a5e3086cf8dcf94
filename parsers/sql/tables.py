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

    @property
    def has_lineage(self) -> bool:
        return bool(self.inputs or self.outputs or self.files_in or self.files_out)


_NO_LINEAGE = TableRoles(kind="OTHER")


def table_roles(statement: exp.Expr) -> TableRoles:
    """Read and written tables of one statement; statements without data flow give none."""
    if isinstance(statement, exp.Copy):
        return _copy_roles(statement)
    kind, targets, output_kind = _targets(statement)
    if kind is None:
        return _NO_LINEAGE
    target_ids = {id(table) for table in targets} | {id(alias) for alias in _delete_aliases(statement)}
    inputs = tuple(table for table in _real_tables(statement) if id(table) not in target_ids)
    return TableRoles(kind=kind, inputs=_unique(inputs), outputs=_unique(targets), output_kind=output_kind,
                      columns=_declared_columns(statement))


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
    if isinstance(statement, (exp.Merge, exp.Update, exp.Delete)):
        return statement.key.upper(), _as_tables(statement.this), "table"
    if isinstance(statement, exp.Select) and statement.args.get("into"):
        into = statement.args["into"]
        return "SELECT INTO", _as_tables(into.this), "temporary" if into.args.get("temporary") else "table"
    if isinstance(statement, exp.Query):
        return "SELECT", (), "table"
    return None, (), "table"


def _delete_aliases(statement: exp.Expr) -> list[exp.Table]:
    """MySQL's ``DELETE s FROM t AS s JOIN ...`` names its targets by alias."""
    return list(statement.args.get("tables") or []) if isinstance(statement, exp.Delete) else []


def _multi_table_delete_targets(statement: exp.Delete) -> tuple[exp.Table, ...]:
    aliases = {alias.name for alias in _delete_aliases(statement)}
    listed = {id(alias) for alias in _delete_aliases(statement)}
    return tuple(table for table in statement.find_all(exp.Table)
                 if id(table) not in listed and is_named(table) and table.alias_or_name in aliases)


def _copy_roles(statement: exp.Copy) -> TableRoles:
    """COPY t FROM 'file' loads a table from files; COPY t|(query) TO 'file' unloads it.
    STDIN and STDOUT are the client, not datasets."""
    paths = tuple(f.name for f in statement.args.get("files") or [] if isinstance(f, exp.Literal) and f.is_string)
    loads = bool(statement.args.get("kind"))
    tables = tuple(table for table in _real_tables(statement))
    if loads:
        return TableRoles(kind="COPY", outputs=_unique(_as_tables(statement.this)), files_in=paths)
    return TableRoles(kind="COPY", inputs=_unique(tables), files_out=paths)


def _create_targets(statement: exp.Create) -> tuple[str | None, tuple[exp.Table, ...], str]:
    created = str(statement.args.get("kind") or "").upper()
    if created not in ("TABLE", "VIEW"):
        return None, (), "table"
    if created == "VIEW":
        materialized = any(isinstance(p, exp.MaterializedProperty) for p in _properties(statement))
        kind = "CREATE MATERIALIZED VIEW" if materialized else "CREATE VIEW"
        return kind, _as_tables(statement.this), "view"
    kind = "CREATE TABLE AS" if statement.expression else "CREATE TABLE"
    temporary = any(isinstance(p, exp.TemporaryProperty) for p in _properties(statement))
    return kind, _as_tables(statement.this), "temporary" if temporary else "table"


def _properties(statement: exp.Create) -> list[exp.Expr]:
    properties = statement.args.get("properties")
    return list(properties.expressions) if properties else []


def _as_tables(node: exp.Expr | None) -> tuple[exp.Table, ...]:
    if isinstance(node, exp.Schema):
        node = node.this
    if isinstance(node, exp.Table) and is_named(node):
        return (node,)
    return ()


def is_named(table: exp.Table) -> bool:
    """Table-valued functions (``generate_series(...)``, ``UNNEST``) are tables without a name."""
    return isinstance(table.this, exp.Identifier)


def _real_tables(statement: exp.Expr) -> list[exp.Table]:
    return [
        table
        for table in statement.find_all(exp.Table)
        if is_named(table) and not is_cte_reference(table)
    ]


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


def _unique(tables: tuple[exp.Table, ...]) -> tuple[exp.Table, ...]:
    seen: dict[tuple[str, ...], exp.Table] = {}
    for table in tables:
        seen.setdefault((table.catalog, table.db, table.name), table)
    return tuple(seen.values())
