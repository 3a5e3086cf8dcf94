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
>>> flows, confidence = column_flows(tree, NameContext.of(None))
>>> [(f.target, f.source_names(), f.kind) for f in flows if f.kind == "direct"]
[('cid', ['raw.customers.id'], 'direct'), ('total', ['raw.payments.amount'], 'direct')]
>>> confidence
1.0
"""

from __future__ import annotations

import dataclasses

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope

from parsers import dialects
from parsers.model import ColumnRef, DatasetRef
from parsers.naming import NameContext, table_ref

UNRESOLVED_CONFIDENCE = 0.6


@dataclasses.dataclass(frozen=True, slots=True)
class ColumnFlow:
    """Output column ``target`` depends on the ``sources`` columns (an unplaced one has a
    dataset with an empty name)."""

    target: str
    sources: tuple[ColumnRef, ...]
    kind: str

    def source_names(self) -> list[str]:
        return [f"{ref.dataset.name}.{ref.column}" if ref.dataset.name else ref.column for ref in self.sources]


def column_flows(tree: exp.Expr, context: NameContext) -> tuple[list[ColumnFlow], float]:
    """The column lineage of a SELECT, INSERT ... SELECT, CREATE TABLE/VIEW AS; others give none."""
    query, targets = _query_and_targets(tree)
    if query is None:
        return [], 1.0
    try:
        qualified = qualify(query, dialect=context.dialect, validate_qualify_columns=False, quote_identifiers=False,
                            expand_stars=False)
        root = build_scope(qualified)
    except (SqlglotError, KeyError, ValueError):
        return [], 0.5
    if root is None:
        return [], 1.0
    resolver = _Resolver(context)
    branches = _branches(root)
    selects = _selects(branches[0]) if branches else []
    names = [_fold(name, context) for name in targets] or [select.alias_or_name for select in selects]
    flows = []
    for index, name in enumerate(names[: len(selects)]):
        sources = resolver.at(branches, index)
        if sources:
            flows.append(ColumnFlow(target=name, sources=_sorted(sources), kind="direct"))
    filters = {column for branch in branches for column in resolver.filters_of(branch)}
    if filters:
        flows += [ColumnFlow(target=name, sources=_sorted(filters), kind="indirect") for name in names]
    return flows, UNRESOLVED_CONFIDENCE if resolver.unresolved else 1.0


def _sorted(refs: set[ColumnRef]) -> tuple[ColumnRef, ...]:
    return tuple(sorted(refs, key=lambda ref: (ref.dataset.name, ref.column)))


def _fold(name: str, context: NameContext) -> str:
    """A declared column name as the engine folds it (the query's own names are folded by qualify)."""
    return dialects.fold(context.dialect, name, quoted=False)


def _query_and_targets(tree: exp.Expr) -> tuple[exp.Query | None, list[str]]:
    """The query whose rows become the output, and the output's column names where declared."""
    if isinstance(tree, exp.Insert | exp.Create):
        query = tree.expression
        declared = tree.this.expressions if isinstance(tree.this, exp.Schema) else []
        targets = [column.name for column in declared if isinstance(column, exp.Identifier | exp.ColumnDef)]
    else:
        query, targets = tree, []
    if not isinstance(query, exp.Query):
        return None, []
    query = query.copy()
    outer_with = tree.args.get("with_") if query is not tree else None
    if isinstance(outer_with, exp.With) and not query.args.get("with_"):
        query.set("with_", outer_with.copy())  # WITH ... INSERT: the CTEs belong to the query
    return query, targets


class _Resolver:
    """Follows columns through scopes to the tables behind them, memoizing each scope's outputs."""

    def __init__(self, context: NameContext) -> None:
        self.context = context
        self.unresolved = False
        self._memo: dict[tuple[int, str], frozenset[ColumnRef]] = {}

    def sources_of(self, scope: Scope, expression: exp.Expr) -> set[ColumnRef]:
        found: set[ColumnRef] = set()
        for column in expression.find_all(exp.Column):
            found |= self._column(scope, column)
        return found

    def filters_of(self, scope: Scope, seen: set[int] | None = None) -> set[ColumnRef]:
        """Columns that decide which rows there are, here and in the derived tables read."""
        seen = set() if seen is None else seen
        if id(scope) in seen:
            return set()
        seen.add(id(scope))
        found: set[ColumnRef] = set()
        select = scope.expression
        clauses = [select.args.get(key) for key in ("where", "group", "having")]
        clauses += [join.args.get("on") for join in select.args.get("joins") or []]
        for clause in clauses:
            if clause is not None:
                found |= self.sources_of(scope, clause)
        for source in scope.sources.values():
            if isinstance(source, Scope):
                for branch in _branches(source):
                    found |= self.filters_of(branch, seen)
        return found

    def _column(self, scope: Scope, column: exp.Column) -> frozenset[ColumnRef]:
        name = column.name
        if name == "*" or isinstance(column.this, exp.Star):
            name, self.unresolved = "*", True  # t.* without a schema: the columns are not known
        table = column.table
        if not table:
            if len(scope.sources) != 1:
                self.unresolved = bool(scope.sources)
                return frozenset({self._unplaced(name)}) if scope.sources else frozenset()
            table = next(iter(scope.sources))
        source = scope.sources.get(table)
        if isinstance(source, exp.Table):
            return frozenset({ColumnRef(dataset=table_ref(source, self.context), column=name)})
        if isinstance(source, Scope):
            return self._output(source, name)
        return frozenset()

    def at(self, branches: list[Scope], index: int) -> set[ColumnRef]:
        """Sources of output column ``index``: set operations line their branches up by position."""
        found: set[ColumnRef] = set()
        for branch in branches:
            selects = _selects(branch)
            if index < len(selects):
                select = selects[index]
                found |= self._star(branch) if isinstance(select, exp.Star) else self.sources_of(branch, select)
        return found

    def _unplaced(self, name: str) -> ColumnRef:
        """A column whose table is not known: kept with its name alone."""
        return ColumnRef(dataset=DatasetRef(namespace=self.context.namespace, name=""), column=name)

    def _output(self, scope: Scope, name: str) -> frozenset[ColumnRef]:
        """What a derived table's (CTE's, subquery's) output column ``name`` comes from."""
        key = (id(scope), name)
        if key not in self._memo:
            self._memo[key] = frozenset()  # a recursive CTE refers to itself: stop there
            branches = _branches(scope)
            first = _selects(branches[0]) if branches else []
            positions = [i for i, select in enumerate(first) if select.alias_or_name == name]
            if positions:
                found = self.at(branches, positions[0])
            else:  # not named: it comes through a SELECT *, under the same name
                starred = [b for b in branches if any(isinstance(s, exp.Star) for s in _selects(b))]
                found = {source for branch in starred for source in self._through_star(branch, name)}
            self._memo[key] = frozenset(found)
        return self._memo[key]

    def _through_star(self, scope: Scope, name: str) -> set[ColumnRef]:
        """Column ``name`` of a ``SELECT *``: from its one source, or (unsure) from any of them."""
        if len(scope.sources) != 1:
            self.unresolved = True
        found: set[ColumnRef] = set()
        for source in scope.sources.values():
            if isinstance(source, exp.Table):
                found.add(ColumnRef(dataset=table_ref(source, self.context), column=name))
            elif isinstance(source, Scope):
                found |= self._output(source, name)
        return found

    def _star(self, scope: Scope) -> set[ColumnRef]:
        """An output ``*`` without a schema: all columns of what the scope reads."""
        self.unresolved = True
        found: set[ColumnRef] = set()
        for source in scope.sources.values():
            if isinstance(source, exp.Table):
                found.add(ColumnRef(dataset=table_ref(source, self.context), column="*"))
            elif isinstance(source, Scope):
                for branch in _branches(source):
                    found |= self._star(branch)
        return found


def _selects(scope: Scope) -> list[exp.Expr]:
    return list(scope.expression.selects) if isinstance(scope.expression, exp.Query) else []


def _branches(scope: Scope) -> list[Scope]:
    """The SELECT scopes of a scope: itself, or each branch of a UNION/INTERSECT/EXCEPT."""
    if isinstance(scope.expression, exp.SetOperation):
        return [leaf for branch in scope.set_operation_scopes for leaf in _branches(branch)]
    return [scope] if isinstance(scope.expression, exp.Select) else []
