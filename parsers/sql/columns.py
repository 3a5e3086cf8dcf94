"""Column-level lineage of a statement, every output column in one pass over its scopes.

Direct dependencies are the columns an output's value is computed from; indirect ones are the
columns that decide which rows there are (WHERE, JOIN ... ON, GROUP BY, HAVING), and they touch
every output column. Columns pass through CTEs and subqueries to the tables behind them. A
column that names no table over several sources cannot be placed without a schema: it is kept
with its name alone and the confidence drops.

>>> import sqlglot
>>> from parsers.naming import NameContext
>>> tree = sqlglot.parse_one("insert into mart.t (cid, total) select c.id, sum(p.amount) "
...                          "from raw.customers c join raw.payments p on p.cid = c.id group by c.id")
>>> lineage = column_flows(tree, NameContext.of(None))
>>> [(f.target, f.source_names(), f.kind) for f in lineage.flows if f.kind == "direct"]
[('cid', ['raw.customers.id'], 'direct'), ('total', ['raw.payments.amount'], 'direct')]
>>> lineage.confidence
1.0
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.qualify_columns import qualify_columns
from sqlglot.optimizer.scope import Scope, build_scope
from sqlglot.schema import MappingSchema, ensure_schema

from parsers import dialects
from parsers.model import ColumnRef, DatasetRef
from parsers.naming import NameContext, table_ref
from parsers.sql import tables

UNRESOLVED_CONFIDENCE = 0.6

E = TypeVar("E", bound=exp.Expr)


@dataclasses.dataclass(frozen=True, slots=True)
class ColumnFlow:
    """Output column ``target`` depends on the ``sources`` columns (an unplaced one has a
    dataset with an empty name). ``table`` is the output it is a column of, where a statement
    writes several (Hive's FROM ... INSERT ... INSERT, Oracle's INSERT ALL); else its one output."""

    target: str
    sources: tuple[ColumnRef, ...]
    kind: str
    table: DatasetRef | None = None

    def source_names(self) -> list[str]:
        return [f"{ref.dataset.name}.{ref.column}" if ref.dataset.name else ref.column for ref in self.sources]


@dataclasses.dataclass(frozen=True, slots=True)
class ColumnLineage:
    """The column flows of one statement, how sure they are, and the names of its output columns
    (what a created table or view will have)."""

    flows: tuple[ColumnFlow, ...] = ()
    confidence: float = 1.0
    outputs: tuple[str, ...] = ()


def column_flows(tree: exp.Expr, context: NameContext, *,
                 reparse: Callable[[], exp.Expr] | None = None) -> ColumnLineage:
    """The column lineage of a SELECT, INSERT ... SELECT, CREATE TABLE/VIEW AS, UPDATE and MERGE;
    other statements give none.

    Qualifying columns changes the tree it is given. Without ``reparse``, ``tree`` stays as it
    is: each try of qualify works on a copy. With it, the caller hands ``tree`` over (it reads the
    tree no more): the first try works on the tree itself, and a retry on what ``reparse`` gives,
    the statement's tree anew. (A copy of a TPC-DS query costs a third of parsing it.)"""
    if isinstance(tree, exp.MultitableInserts):
        return _multitable(tree, context)
    query, targets, made = _query_and_targets(tree, context)
    if query is None:
        return ColumnLineage()
    try:
        root = build_scope(_qualified(_tries(tree, query, made, context, reparse), context))
    except (SqlglotError, KeyError, ValueError, AssertionError, RecursionError):
        # sqlglot's optimizer asserts on some shapes (``SELECT * ... ORDER BY 1`` without a
        # schema): the statement keeps its tables, only its columns are not known
        return ColumnLineage(confidence=0.5)
    if root is None:
        return ColumnLineage()
    resolver = _Resolver(context)
    branches = _branches(root)
    selects = _selects(branches[0]) if branches else []
    names = [_fold(name, context) for name in targets] or [select.alias_or_name for select in selects]
    # UNION BY NAME: the outputs are every branch's names, in order of appearance, lined up by name
    by_name = list(dict.fromkeys(select.alias_or_name for branch in branches for select in _selects(branch))) \
        if _by_name(root) else []
    if by_name and not targets:
        names = by_name
    filters = frozenset(column for branch in branches for column in resolver.filters_of(branch))
    direct: dict[str, set[ColumnRef]] = {}
    indirect: dict[str, set[ColumnRef]] = {}
    for index, name in enumerate(names[: len(by_name or selects)]):
        found = resolver.named(branches, by_name[index]) if by_name else resolver.at(branches, index)
        if found.direct:
            direct.setdefault(name, set()).update(found.direct)
        if found.indirect | filters:
            indirect.setdefault(name, set()).update(found.indirect | filters)
    target = tables.written_table(tree.this) if isinstance(tree, exp.Insert) else None
    if isinstance(tree, exp.Insert) and target is not None:  # an upsert's new value may add to the stored one
        for column, read in tables.upsert_reads(tree):
            direct.setdefault(_fold(column, context), set()).update(
                ColumnRef(dataset=table_ref(target, context), column=_fold(item.name, context)) for item in read)
    flows = [ColumnFlow(target=name, sources=_sorted(sources), kind="direct") for name, sources in direct.items()]
    flows += [ColumnFlow(target=name, sources=_sorted(sources), kind="indirect") for name, sources in indirect.items()]
    confidence = UNRESOLVED_CONFIDENCE if resolver.unresolved else 1.0
    return ColumnLineage(flows=tuple(flows), confidence=confidence, outputs=tuple(dict.fromkeys(names)))


def _multitable(tree: exp.MultitableInserts, context: NameContext) -> ColumnLineage:
    """Each insert of Hive's ``FROM src INSERT ... SELECT ... INSERT ... SELECT ...`` and Oracle's
    ``INSERT ALL|FIRST [WHEN c THEN] INTO t (cols) VALUES (...) ... SELECT ...``, as the insert it
    is alone, its flows into its own table. In INSERT FIRST (and an ELSE) a row reaches an insert
    only past every earlier condition: they decide its rows too."""
    source = tree.args.get("source")
    first = str(tree.args.get("kind") or "").upper() == "FIRST"
    flows: list[ColumnFlow] = []
    confidence = 1.0
    earlier: list[exp.Expr] = []
    for branch in tree.expressions:
        insert = branch.this if isinstance(branch, exp.ConditionalInsert) else branch
        condition = branch.args.get("expression") if isinstance(branch, exp.ConditionalInsert) else None
        conditions = [*(earlier if first or branch.args.get("else_") else []), *([condition] if condition else [])]
        if condition is not None:
            earlier.append(condition)
        target = tables.written_table(insert.this) if isinstance(insert, exp.Insert) else None
        alone = _insert_alone(insert, source, conditions) if target is not None else None
        if alone is None or target is None:
            continue
        found = column_flows(alone, context, reparse=functools.partial(_made_again, insert, source, conditions))
        table = table_ref(target, context)
        flows += [dataclasses.replace(flow, table=table) for flow in found.flows]
        confidence = min(confidence, found.confidence)
    return ColumnLineage(flows=tuple(flows), confidence=confidence)


def _insert_alone(insert: exp.Expr, source: exp.Expr | None, conditions: list[exp.Expr]) -> exp.Insert | None:
    if not isinstance(insert, exp.Insert) or source is None:
        return None
    query = insert.expression
    hive = isinstance(query, exp.Select) and query.args.get("from_") is None
    if hive and isinstance(query, exp.Select) and isinstance(source, exp.Table | exp.Subquery):
        select = query.copy()  # Hive: the SELECT reads the statement's FROM
        select.set("from_", exp.From(this=source.copy()))
    elif isinstance(query, exp.Values) and len(query.expressions) == 1 and isinstance(source, exp.Query):
        row = query.expressions[0]  # Oracle: VALUES and WHEN over the names the statement's query gives
        values = row.expressions if isinstance(row, exp.Tuple) else [row]
        select = exp.select(*(_unqualified(value) for value in values)).from_(exp.Subquery(
            this=source.copy(), alias=exp.TableAlias(this=exp.to_identifier("_rows"))))
        conditions = [_unqualified(condition) for condition in conditions]
    else:
        return None
    for condition in conditions:
        select = select.where(condition.copy())
    return exp.Insert(this=insert.this.copy(), expression=select)


def _made_again(insert: exp.Expr, source: exp.Expr | None, conditions: list[exp.Expr]) -> exp.Insert:
    alone = _insert_alone(insert, source, conditions)
    assert alone is not None  # (made once already)
    return alone


def _unqualified(expression: exp.Expr) -> exp.Expr:
    """A copy naming its columns bare: in INSERT ALL, ``t.amount`` is the query's output ``amount``."""
    copy = expression.copy()
    for column in copy.find_all(exp.Column):
        column.set("table", None)
    return copy


def _tries(tree: exp.Expr, query: exp.Query, made: bool, context: NameContext,
           reparse: Callable[[], exp.Expr] | None) -> Iterator[exp.Query]:
    """The query of ``tree`` once for each try of qualify, each for that try alone to change:
    a query made for column lineage (``made``: an UPDATE as a SELECT) is made again, one that is
    a part of ``tree`` comes from ``reparse`` or is copied."""
    if made or reparse is not None:
        yield query
    while True:
        if made:
            again = _query_and_targets(tree, context)[0]
        elif reparse is not None:
            again = _query_and_targets(reparse(), context)[0]
        else:
            again = _copied_without_positions(query)
        assert again is not None  # (the same statement, the same shape)
        yield again


def _qualified(tries: Iterator[exp.Query], context: NameContext) -> exp.Query:
    """The statement's query with its columns qualified by table, and stars expanded where the
    catalog knows the columns. A correlated subquery over tables of unknown columns cannot be
    qualified (its bare names could belong to either level): then only the tables are, and the
    resolver places what it can. Each try takes a query of its own from ``tries``: qualify
    changes the tree it is given, also when it fails part way."""
    query = next(tries)
    for expand_alias_refs in (True, False):
        # `GROUP BY day` where `day` is a SELECT alias and the tables' columns are not known: sqlglot
        # cannot tell alias from column; the resolver prefers the alias (see filters_of).
        if not expand_alias_refs and query.find(exp.Group, exp.Having, exp.Qualify) is None:
            break
        try:
            return _qualify(query, context, expand_alias_refs)
        except (OptimizeError, AssertionError):
            query = next(tries)
    return qualify(query, dialect=context.dialect, schema=_with_catalog(query, context)[0], qualify_columns=False,
                   validate_qualify_columns=False, quote_identifiers=False, expand_stars=False)


def _qualify(query: exp.Query, context: NameContext, expand_alias_refs: bool) -> exp.Query:
    schema, plain = _with_catalog(query, context)
    if not plain:
        return qualify(query, dialect=context.dialect, schema=schema, validate_qualify_columns=False,
                       quote_identifiers=False, expand_stars=schema is not None, expand_alias_refs=expand_alias_refs)
    # Where qualify's naming of tables would only alias each table by its name, its two other
    # steps alone give the same tree to lineage (a third of qualify's time on TPC-DS)
    normalized = normalize_identifiers(query, dialect=context.dialect, store_original_column_identifiers=True)
    return qualify_columns(normalized, ensure_schema(schema, dialect=context.dialect),
                           expand_alias_refs=expand_alias_refs, expand_stars=schema is not None)


def _with_catalog(query: exp.Query, context: NameContext) -> tuple[MappingSchema | None, bool]:
    """The catalog's columns for the tables ``query`` reads, as sqlglot's schema; and whether the
    query is plain: it reads tables by name and subqueries by alias only (no table function,
    UNNEST, VALUES, PIVOT, join in parentheses, table read twice under one name in one SELECT,
    nor a column named with its table's schema). In ``query``, each table of known columns is
    renamed to its dataset's full name (padded to three parts, so every table has the same
    depth) and remembers its dataset, which the renaming hides."""
    known: dict[str, Any] = {}  # {catalog: {db: {table: {column: type}}}}
    plain = not isinstance(query, exp.Subquery)
    read: set[tuple[int, str]] = set()  # (SELECT, name) of each table read
    for node in query.walk():
        if isinstance(node, exp.Table):
            _with_dataset(node, context, known)
            plain = plain and isinstance(node.this, exp.Identifier) and not node.args.get("joins") \
                and not node.args.get("pivots")
            if plain and isinstance(node.parent, exp.From | exp.Join):
                key = (id(node.parent.parent), node.alias_or_name)
                plain = key not in read  # a table read twice under one name: qualify tells them apart
                read.add(key)
        elif plain and isinstance(node, exp.UDTF | exp.Pivot):
            plain = False
        elif plain and isinstance(node, exp.Subquery):
            plain = not isinstance(node.this, exp.Subquery | exp.Table) \
                and bool(node.alias or not isinstance(node.parent, exp.From | exp.Join))
        elif plain and isinstance(node, exp.Column):
            plain = not node.args.get("db")
    return (MappingSchema(known, dialect=context.dialect, normalize=False) if known else None), plain


def _with_dataset(table: exp.Table, context: NameContext, known: dict[str, Any]) -> None:
    """A table of ``query`` marked with its dataset, renamed and ``known`` where the catalog has it."""
    if not tables.is_named(table) or tables.is_cte_reference(table):
        return
    if tables.file_read(table) is not None:
        table.meta["file"] = True  # a file's columns have no names to give lineage to
        return
    ref = table_ref(table, context)
    table.meta["dataset"] = ref
    columns = context.catalog.columns(ref) if context.catalog is not None else None
    if columns is None:
        return
    *qualifiers, name = ref.name.split(".")
    catalog_name, db = ([_PAD, _PAD] + qualifiers)[-2:]
    for key, part in (("catalog", catalog_name), ("db", db), ("this", name)):
        table.set(key, exp.to_identifier(part, quoted=True))
    known.setdefault(catalog_name, {}).setdefault(db, {})[name] = dict.fromkeys(columns, "unknown")


_PAD = "\x00"  # the missing database or schema part of a name, in the schema handed to sqlglot


def _copied_without_positions(query: E) -> E:
    """A copy of ``query`` whose nodes have no meta: the parser's token positions, which nothing
    of column lineage reads (its own marks are made on the tree qualify works on, in
    _with_catalog). sqlglot's copy hands each node's meta to ``copy.deepcopy``, about half the
    time a copy takes."""
    positioned = [(node, node._meta) for node in query.walk() if node._meta is not None]
    for node, _ in positioned:
        node._meta = None
    try:
        return query.copy()
    finally:
        for node, meta in positioned:
            node._meta = meta


def _sorted(refs: set[ColumnRef]) -> tuple[ColumnRef, ...]:
    return tuple(sorted(refs, key=lambda ref: (ref.dataset.name, ref.column)))


def _fold(name: str, context: NameContext) -> str:
    """A declared column name as the engine folds it (the query's own names are folded by qualify)."""
    return dialects.fold(context.dialect, name, quoted=False)


def _query_and_targets(tree: exp.Expr, context: NameContext) -> tuple[exp.Query | None, list[str], bool]:
    """The query whose rows become the output, the output's column names where known (declared in
    the statement, or, for an INSERT without a column list, the target's columns in the catalog),
    and whether the query was made here (else it is a part of ``tree``)."""
    if isinstance(tree, exp.Update | exp.Merge):
        return (*_as_select(tree, context), True)
    if isinstance(tree, exp.Insert | exp.Create | exp.Cache):
        query = tree.expression
        while isinstance(query, exp.Subquery):  # Teradata: CREATE TABLE t AS (SELECT ...) WITH DATA
            query = query.this
        declared = tree.this.expressions if isinstance(tree.this, exp.Schema) else []
        targets = [column.name for column in declared if isinstance(column, exp.Identifier | exp.ColumnDef)]
        target = tables.written_table(tree.this)
        if not targets and isinstance(tree, exp.Insert) and target is not None and context.catalog is not None:
            known = list(context.catalog.columns(table_ref(target, context)) or ())
            targets = _by_position(target, known) if dialects.partitions_by_column(context.dialect) else known
    else:
        query, targets = tree, []
    if not isinstance(query, exp.Query):
        return None, [], False
    outer_with = tree.args.get("with_") if query is not tree else None
    if isinstance(outer_with, exp.With) and not query.args.get("with_"):
        query = _copied_without_positions(query)
        query.set("with_", _copied_without_positions(outer_with))  # WITH ... INSERT: the CTEs belong to the query
        return query, targets, True
    return query, targets, False


def _by_position(target: exp.Table, columns: list[str]) -> list[str]:
    """The columns an INSERT without a column list fills, in select order: Hive's and Spark's
    ``PARTITION (country = 'DE', dt)`` takes the static ``country`` from the clause, and the
    dynamic ``dt`` from after every other column."""
    partition = target.args.get("partition")
    if not isinstance(partition, exp.Partition) or not columns:
        return columns
    named = [item.this if isinstance(item, exp.EQ) else item for item in partition.expressions]
    folded = {column.lower(): column for column in columns}

    def column_of(item: exp.Column) -> str:
        return folded.get(item.name.lower(), item.name)

    spec = [column_of(item) for item in named if isinstance(item, exp.Column)]
    dynamic = [column_of(item) for item in partition.expressions if isinstance(item, exp.Column)]
    return [column for column in columns if column not in spec] + dynamic


def _as_select(tree: exp.Update | exp.Merge, context: NameContext) -> tuple[exp.Query | None, list[str]]:
    """An UPDATE or MERGE as the SELECT that computes its new values: one output column per
    ``SET c = expr`` or ``INSERT (c) VALUES (expr)``, over the same tables, filtered by the same
    conditions (which become the indirect dependencies)."""
    pairs: list[tuple[str, exp.Expr]] = []
    conditions: list[exp.Expr] = []
    if isinstance(tree, exp.Update):
        pairs = _assignments(tree.expressions)
        sources = _update_sources(tree)
        if tree.args.get("where"):
            conditions.append(tree.args["where"].this)
    else:
        sources = [tree.this.copy(), tree.args["using"].copy()]
        if tree.args.get("on"):
            conditions.append(tree.args["on"])
        for when in tree.args["whens"].expressions if tree.args.get("whens") else []:
            pairs += _when_assignments(when.args.get("then"), tree, context)
            if when.args.get("condition"):
                conditions.append(when.args["condition"])
    if not pairs or not sources:
        return None, []
    select = exp.select(*(exp.alias_(value.copy(), f"_{index}", quoted=True) for index, (_, value) in enumerate(pairs)))
    select = select.from_(sources[0])
    select.set("joins", [s if isinstance(s, exp.Join) else exp.Join(this=s, kind="CROSS") for s in sources[1:]])
    for condition in conditions:
        select = select.where(condition.copy())
    return select, [name for name, _ in pairs]


def _assignments(expressions: list[exp.Expr]) -> list[tuple[str, exp.Expr]]:
    found = []
    for eq in expressions:
        if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column):
            found.append((eq.this.name, eq.expression))
        elif isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Tuple):  # SET (a, b) = (SELECT x, y ...)
            found += _row_assignment(eq.this.expressions, eq.expression)
    return found


def _row_assignment(columns: list[exp.Expr], value: exp.Expr) -> list[tuple[str, exp.Expr]]:
    """Oracle's and PostgreSQL's ``SET (a, b) = (SELECT x, y ...)`` or ``= (x, y)``: each column
    from its place in the row (from a subquery, as that subquery selecting its one value)."""
    query = value.this if isinstance(value, exp.Subquery) else None
    if isinstance(query, exp.Select) and len(query.selects) == len(columns):
        rest = query.copy()  # copied once without its values; each column gets a copy of the rest
        values = list(rest.selects)
        rest.set("expressions", [])
        found: list[tuple[str, exp.Expr]] = []
        for column, one_value in zip(columns, values, strict=True):
            one = rest.copy()
            one.set("expressions", [one_value])
            found.append((column.name, exp.Subquery(this=one)))
        return found
    if isinstance(value, exp.Tuple) and len(value.expressions) == len(columns):
        return list(zip([column.name for column in columns], value.expressions, strict=True))
    return []


def _when_assignments(then: exp.Expr | None, merge: exp.Merge, context: NameContext) -> list[tuple[str, exp.Expr]]:
    if _is_star(then):  # Spark and Databricks: UPDATE SET * / INSERT *, each target column from the source's
        target, source = merge.this, merge.args["using"]
        known = context.catalog.columns(table_ref(target, context)) if isinstance(target, exp.Table) \
            and context.catalog is not None else None
        alias = source.alias_or_name
        return [(column, exp.column(column, table=alias)) for column in known or ()] if alias else []
    if isinstance(then, exp.Update):
        return _assignments(then.expressions)
    if isinstance(then, exp.Insert) and isinstance(then.this, exp.Tuple) and isinstance(then.expression, exp.Tuple):
        return [(column.name, value) for column, value in zip(then.this.expressions, then.expression.expressions,
                                                              strict=False) if isinstance(column, exp.Column)]
    return []


def _is_star(then: exp.Expr | None) -> bool:
    return (isinstance(then, exp.Update) and len(then.expressions) == 1 and isinstance(then.expressions[0], exp.Star)) \
        or (isinstance(then, exp.Insert) and isinstance(then.this, exp.Star))


def _update_sources(tree: exp.Update) -> list[exp.Expr]:
    """The tables an UPDATE reads: its target (with MySQL's joins) and its FROM (PostgreSQL,
    SQL Server), where SQL Server's target may be an alias of a FROM table."""
    target = _with_joins(tree.this)
    from_ = tree.args.get("from_")
    if from_ is None:
        return target
    read = _with_joins(from_.this)
    aliases = {table.alias_or_name for table in from_.find_all(exp.Table)}
    if not tree.this.args.get("db") and tree.this.name in aliases:
        return read
    return [*target, *read]


def _with_joins(table: exp.Expr) -> list[exp.Expr]:
    """A table and the joins sqlglot hangs on it, as separate FROM items."""
    table = table.copy()
    return [table, *(join.pop() for join in list(table.args.get("joins") or []))]


@dataclasses.dataclass(frozen=True, slots=True)
class _Deps:
    """What a value depends on: ``direct`` columns flow into it, ``indirect`` ones decide it
    (a CASE condition, a window's partition, a subquery's filter)."""

    direct: frozenset[ColumnRef] = frozenset()
    indirect: frozenset[ColumnRef] = frozenset()

    def __or__(self, other: _Deps) -> _Deps:
        if not (other.direct or other.indirect):
            return self
        if not (self.direct or self.indirect):
            return other
        return _Deps(self.direct | other.direct, self.indirect | other.indirect)

    def deciding(self) -> _Deps:
        return _Deps(frozenset(), self.direct | self.indirect) if self.direct else self


_NOTHING = _Deps()
# Nodes that name no column, and those with a child that decides rather than gives their value.
_LEAVES = (exp.Identifier, exp.Literal, exp.Null, exp.Boolean, exp.Var)
_DECIDING = (exp.If, exp.Case, exp.Window, exp.Filter, exp.Order, exp.DecodeCase, exp.Anonymous)
_NO_IDS: frozenset[int] = frozenset()


class _Resolver:
    """Follows columns through scopes to the tables behind them, memoizing each scope's outputs."""

    def __init__(self, context: NameContext) -> None:
        self.context = context
        self.unresolved = False
        self._memo: dict[tuple[int, str], _Deps] = {}
        self._arrays: dict[int, dict[str, exp.Expr]] = {}  # ARRAY JOIN aliases by scope
        self._filters: dict[int, set[ColumnRef]] = {}  # filters_of each scope
        self._cuts = 0  # scopes filters_of met again below themselves

    def deps(self, scope: Scope, node: exp.Expr, aliases: dict[str, exp.Expr] | None = None) -> _Deps:
        """The columns behind the value of ``node``, an expression evaluated in ``scope``; a bare
        name among ``aliases`` is the SELECT expression it names."""
        if isinstance(node, _LEAVES):
            return _NOTHING
        if isinstance(node, exp.Column):
            if aliases and not node.table and node.name in aliases:
                return self.deps(scope, aliases[node.name])
            return self._column(scope, node)
        if isinstance(node, exp.Subquery | exp.Query):
            return self._subquery(scope, node)
        found = _NOTHING
        deciding = _deciding_parts(node) if isinstance(node, _DECIDING) else _NO_IDS
        for child in node.iter_expressions():
            part = self.deps(scope, child, aliases)
            found |= part.deciding() if id(child) in deciding else part
        named = _named_window(node) if isinstance(node, exp.Window) else None
        if named is not None:  # OVER w ... WINDOW w AS (PARTITION BY .. ORDER BY ..): w's parts decide
            for item in _listed(named.args.get("partition_by")) + _listed(named.args.get("order")):
                found |= self.deps(scope, item).deciding()
        return found

    def sources_of(self, scope: Scope, expression: exp.Expr,
                   aliases: dict[str, exp.Expr] | None = None) -> set[ColumnRef]:
        found = self.deps(scope, expression, aliases)
        return set(found.direct | found.indirect)

    def filters_of(self, scope: Scope, seen: set[int] | None = None) -> set[ColumnRef]:
        """Columns that decide which rows there are, here and in the derived tables read."""
        done = self._filters.get(id(scope))
        if done is not None:
            return done
        seen = set() if seen is None else seen
        if id(scope) in seen:  # a recursive CTE read in itself, or a scope read twice: counted once
            self._cuts += 1
            return set()
        seen.add(id(scope))
        cuts = self._cuts
        found: set[ColumnRef] = set()
        select = scope.expression
        clauses = [select.args.get("where")] + [join.args.get("on") for join in select.args.get("joins") or []]
        for clause in clauses:
            if clause is not None:
                found |= self.sources_of(scope, clause)
        # Where qualify could not tell a SELECT alias from a column (the tables' columns unknown),
        # the alias is meant: GROUP BY day, HAVING total > 0. So are positions: GROUP BY 1.
        aliases = _aliases(select)
        for clause in [select.args.get(key) for key in ("group", "having", "qualify")]:
            if clause is not None:
                found |= self.sources_of(scope, clause, aliases)
        group = select.args.get("group")
        selects = _selects(scope)
        for item in group.expressions if group is not None else []:
            if isinstance(item, exp.Literal) and item.is_int and 1 <= int(item.name) <= len(selects):
                found |= self.sources_of(scope, _unaliased(selects[int(item.name) - 1]))
        if group is not None and group.args.get("all"):  # GROUP BY ALL: every selected non-aggregate
            for expression in selects:
                if not expression.find(exp.AggFunc):
                    found |= self.sources_of(scope, _unaliased(expression))
        for source in _selected(scope).values():
            if isinstance(source, Scope):
                for branch in _branches(source):
                    found |= self.filters_of(branch, seen)
        if cuts == self._cuts:  # (kept where nothing below was cut short)
            self._filters[id(scope)] = found
        return found

    def at(self, branches: list[Scope], index: int) -> _Deps:
        """Sources of output column ``index``: set operations line their branches up by position."""
        found = _NOTHING
        for branch in branches:
            selects = _selects(branch)
            if index < len(selects):
                select = selects[index]
                found |= self._star(branch) if isinstance(select, exp.Star) else self.deps(branch, select)
        return found

    def named(self, branches: list[Scope], name: str) -> _Deps:
        """Sources of output column ``name`` where branches line up by name (UNION BY NAME)."""
        found = _NOTHING
        for branch in branches:
            for select in _selects(branch):
                if select.alias_or_name == name:
                    found |= self.deps(branch, select)
        return found

    def _column(self, scope: Scope, column: exp.Column, inner: Scope | None = None) -> _Deps:
        """The deps of ``column`` as ``scope`` sees it (``inner``: the UNNEST it was named in,
        which is not where its own argument comes from)."""
        name = column.name
        if name == "*" or isinstance(column.this, exp.Star):
            name, self.unresolved = "*", True  # t.* without a schema: the columns are not known
        table = column.table
        if not table and dialects.is_pseudo_column(self.context.dialect, name):
            return _NOTHING  # Oracle's LEVEL, ROWNUM: made by the query, no table's column
        if not table and name in (arrays := self._array_aliases(scope)):
            return self.deps(scope, arrays[name])  # ClickHouse: ARRAY JOIN o.skus AS sku, an element of o.skus
        if not table:
            sources = [alias for alias, source in _selected(scope).items() if source is not inner
                       and not _encloses(source, scope) and not _declares_other_columns(source, name)]
            if not sources and scope.parent is not None and (inner is not None or _without_from(scope)
                                                             or isinstance(scope.expression, exp.Unnest)):
                # UNNEST(params), (SELECT .. FROM UNNEST(params)), (SELECT a + b) with no FROM: a
                # column of the query around it
                return self._column(scope.parent, column, scope)
            if not sources:
                return _NOTHING
            if len(sources) > 1:
                self.unresolved = True
                return _Deps(frozenset({self._unplaced(name)}))
            table = sources[0]
        element = self._element(scope, column) if table not in scope.sources else None
        if element is not None:  # BigQuery: UNNEST(params) AS p, then p.key or p.value.text: a field of an element
            return element
        while table not in scope.sources and scope.parent is not None:
            scope = scope.parent  # a correlated subquery names a table of the query around it
        source = scope.sources.get(table)
        if isinstance(source, exp.Table) and tables.is_named(source) and not source.meta.get("file"):
            return _Deps(frozenset({ColumnRef(dataset=self._dataset(source), column=name)}))
        if isinstance(source, Scope):
            return self._output(source, name)
        if isinstance(source, exp.Table) and isinstance(source.this, exp.Func) and not source.meta.get("file"):
            return self._function_columns(scope, source.this)
        return _NOTHING

    def _function_columns(self, scope: Scope, function: exp.Func) -> _Deps:
        """A table function's columns are made from its arguments: json_each(o.items) AS j, then
        j.value comes from o.items (generate_series(1, 9) reads nothing)."""
        key = (id(function), "")
        if key not in self._memo:
            self._memo[key] = _NOTHING  # (an argument naming the function's own alias stops here)
            self._memo[key] = self.deps(scope, function)
        return self._memo[key]

    def _element(self, scope: Scope, column: exp.Column) -> _Deps | None:
        """The deps of ``p.field`` where ``p`` is the element an UNNEST in this scope names."""
        root = column.parts[0].name
        for source in _selected(scope).values():
            if isinstance(source, Scope) and root in _unnest_columns(source):
                return self._output(source, root)
        return None

    def _array_aliases(self, scope: Scope) -> dict[str, exp.Expr]:
        found = self._arrays.get(id(scope))
        if found is None:
            joins = scope.expression.args.get("joins") or [] if isinstance(scope.expression, exp.Select) else []
            found = self._arrays[id(scope)] = {
                item.alias: item.this for join in joins if str(join.args.get("kind") or "").upper() == "ARRAY"
                for item in [join.this, *join.expressions] if isinstance(item, exp.Alias)}
        return found

    def _subquery(self, scope: Scope, node: exp.Expr) -> _Deps:
        """A scalar or IN subquery: its output column flows, its filters decide."""
        query = node.this if isinstance(node, exp.Subquery) else node
        inner = next((s for s in scope.subquery_scopes if s.expression is query), None)
        if inner is None:
            return _NOTHING
        branches = _branches(inner)
        filters = frozenset(column for branch in branches for column in self.filters_of(branch))
        return self.at(branches, 0) | _Deps(indirect=filters)

    def _dataset(self, table: exp.Table) -> DatasetRef:
        return table.meta.get("dataset") or table_ref(table, self.context)

    def _unplaced(self, name: str) -> ColumnRef:
        """A column whose table is not known: kept with its name alone."""
        return ColumnRef(dataset=DatasetRef(namespace=self.context.namespace, name=""), column=name)

    def _output(self, scope: Scope, name: str) -> _Deps:
        """What a derived table's (CTE's, subquery's) output column ``name`` comes from."""
        key = (id(scope), name)
        if key not in self._memo and isinstance(scope.expression, exp.Lateral | exp.Unnest) \
                and not scope.subquery_scopes:  # UNNEST(o.items), LATERAL VIEW explode(tags), FLATTEN(...)
            self._memo[key] = _NOTHING  # (its argument may resolve back through it: stop there)
            self._memo[key] = self.deps(scope, scope.expression.this if isinstance(scope.expression, exp.Lateral)
                                        else exp.Tuple(expressions=[e.copy() for e in scope.expression.expressions]))
        if key not in self._memo:
            self._memo[key] = _NOTHING  # a recursive CTE refers to itself: stop there
            branches = _branches(scope)
            first = _selects(branches[0]) if branches else []
            positions = [i for i, select in enumerate(first) if select.alias_or_name == name]
            if _by_name(scope):
                found = self.named(branches, name)
            elif positions:
                found = self.at(branches, positions[0])
            else:  # not named: it comes through a SELECT *, under the same name
                found = _NOTHING
                for branch in branches:
                    if any(isinstance(s, exp.Star) for s in _selects(branch)):
                        found |= self._through_star(branch, name)
            self._memo[key] = found
        return self._memo[key]

    def _through_star(self, scope: Scope, name: str) -> _Deps:
        """Column ``name`` of a ``SELECT *``: from its one source, or (unsure) from any of them."""
        read = _selected(scope)
        if len(read) != 1:
            self.unresolved = True
        found = _NOTHING
        for source in read.values():
            if isinstance(source, exp.Table):
                found |= _Deps(frozenset({ColumnRef(dataset=self._dataset(source), column=name)}))
            elif isinstance(source, Scope):
                found |= self._output(source, name)
        return found

    def _star(self, scope: Scope) -> _Deps:
        """An output ``*`` without a schema: all columns of what the scope reads."""
        self.unresolved = True
        found = _NOTHING
        for source in _selected(scope).values():
            if isinstance(source, exp.Table) and tables.is_named(source) and not source.meta.get("file"):
                found |= _Deps(frozenset({ColumnRef(dataset=self._dataset(source), column="*")}))
            elif isinstance(source, exp.Table) and isinstance(source.this, exp.Func):
                found |= self._function_columns(scope, source.this)
            elif isinstance(source, Scope):
                for branch in _branches(source):
                    found |= self._star(branch)
        return found


def _aliases(select: exp.Expr) -> dict[str, exp.Expr]:
    """A SELECT's output names and what they compute (``day(ts) AS day``, and ``c.region``, which
    a bare ``region`` in GROUP BY names where the tables' columns are unknown)."""
    if not isinstance(select, exp.Select):
        return {}
    found: dict[str, exp.Expr] = {}
    for expression in select.selects:
        value = _unaliased(expression)
        if isinstance(value, exp.Column) and not value.table:
            continue  # a bare name: the same bare name in GROUP BY is as ambiguous
        if not isinstance(value, exp.Star) and expression.alias_or_name:
            found.setdefault(expression.alias_or_name, value)
    return found


def _unaliased(expression: exp.Expr) -> exp.Expr:
    return expression.this if isinstance(expression, exp.Alias) else expression


def _unnest_columns(source: exp.Expr | Scope) -> list[str]:
    """The columns an ``UNNEST(...) AS t(a, b)`` (BigQuery: ``AS a``, a value table) declares."""
    if not isinstance(source, Scope) or not isinstance(source.expression, exp.Unnest):
        return []
    alias = source.expression.args.get("alias")
    return [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) else []


def _declares_other_columns(source: exp.Expr | Scope, name: str) -> bool:
    """An UNNEST that names its columns holds no other: a bare name beside it is another table's."""
    declared = _unnest_columns(source)
    return bool(declared) and name not in declared


def _selected(scope: Scope) -> dict[str, exp.Expr | Scope]:
    """What a scope reads rows from: its FROM and JOIN items. (``scope.sources`` also holds every
    CTE visible there, read or not: a bare column would seem to have several tables to come from.)"""
    return {alias: source for alias, (_, source) in scope.selected_sources.items()}


def _without_from(scope: Scope) -> bool:
    """A SELECT that reads no table (``(SELECT t.a + t.b)``): its columns are the outer query's."""
    return isinstance(scope.expression, exp.Select) and not scope.expression.args.get("from_") and not _selected(scope)


def _encloses(source: exp.Expr | Scope, scope: Scope) -> bool:
    """A recursive CTE is a source of its own branches, but a bare column there is not its."""
    if not isinstance(source, Scope):
        return False
    node = scope.expression.parent
    while node is not None and node is not source.expression:
        node = node.parent
    return node is not None


def _deciding_parts(node: exp.Expr) -> set[int]:
    """The children of ``node`` that choose rather than give its value: CASE and IF conditions,
    a window's PARTITION BY and ORDER BY, an aggregate's FILTER."""
    if isinstance(node, exp.If):
        return {id(node.this)}
    if isinstance(node, exp.Case):
        return {id(node.this)} if node.this is not None else set()
    if isinstance(node, exp.Window):
        return {id(child) for key in ("partition_by", "order", "spec") for child in _listed(node.args.get(key))}
    if isinstance(node, exp.Filter):
        return {id(node.expression)}
    if isinstance(node, exp.Order) and not isinstance(node.parent, exp.Query):  # list(x ORDER BY y)
        return {id(child) for child in node.expressions}
    if isinstance(node, exp.DecodeCase):  # DECODE(subject, search, result, ..., default): subject, searches
        items = node.expressions
        return {id(item) for index, item in enumerate(items)
                if index == 0 or (index % 2 == 1 and index + 1 < len(items))}
    if isinstance(node, exp.Anonymous) and node.name.lower() == "multiif":  # ClickHouse: cond, value, ..., default
        items = node.expressions
        return {id(item) for index, item in enumerate(items) if index % 2 == 0 and index + 1 < len(items)}
    return set()


def _named_window(window: exp.Window) -> exp.Window | None:
    """The definition in ``WINDOW w AS (...)`` of a window that names one (``OVER w``)."""
    name = window.args.get("alias")
    select = window.find_ancestor(exp.Select)
    if not isinstance(name, exp.Identifier) or select is None:
        return None
    return next((w for w in select.args.get("windows") or [] if isinstance(w.this, exp.Identifier)
                 and w.this.name == name.name), None)


def _by_name(root: Scope) -> bool:
    return isinstance(root.expression, exp.SetOperation) and bool(root.expression.args.get("by_name"))


def _listed(value: object) -> list[exp.Expr]:
    if isinstance(value, list):
        return [item for item in value if isinstance(item, exp.Expr)]
    return [value] if isinstance(value, exp.Expr) else []


def _selects(scope: Scope) -> list[exp.Expr]:
    return list(scope.expression.selects) if isinstance(scope.expression, exp.Query) else []


def _branches(scope: Scope) -> list[Scope]:
    """The SELECT scopes of a scope: itself, or each branch of a UNION/INTERSECT/EXCEPT."""
    if isinstance(scope.expression, exp.SetOperation):
        return [leaf for branch in scope.set_operation_scopes for leaf in _branches(branch)]
    if isinstance(scope.expression, exp.Lateral):  # LATERAL (SELECT ...): the query inside
        return [leaf for inner in scope.subquery_scopes for leaf in _branches(inner)]
    return [scope] if isinstance(scope.expression, exp.Select) else []
