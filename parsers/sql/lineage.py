"""Table-level lineage of SQL text: split -> parse -> tables -> qualify, with a template cache.

>>> from parsers.naming import NameContext
>>> context = NameContext.of("postgres", database="credit")
>>> [(s.kind, [d.name for d in s.inputs], [d.name for d in s.outputs])
...  for s in analyze("insert into ml.scores select * from features.customer_features", context)]
[('INSERT', ['credit.features.customer_features'], ['credit.ml.scores'])]
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections import OrderedDict
from collections.abc import Callable

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.tokens import TokenType

from parsers import dialects, naming
from parsers.model import ColumnRef, DatasetEvent, DatasetRef
from parsers.naming import NameContext, file_ref, parse_table, table_ref
from parsers.sql import commands, limits, routines
from parsers.sql.columns import ColumnFlow, ColumnLineage, column_flows
from parsers.sql.statements import Statement, part_of, split
from parsers.sql.tables import returned_as_select, table_roles


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StatementIssue:
    code: str
    message: str
    severity: str = "error"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StatementLineage:
    """What one statement reads and writes, or why that could not be told."""

    statement: Statement
    kind: str
    inputs: tuple[DatasetRef, ...] = ()
    outputs: tuple[DatasetRef, ...] = ()
    output_kind: str = "table"
    issues: tuple[StatementIssue, ...] = ()
    confidence: float = 1.0
    # Session defaults this statement changes for the ones after it (USE, SET search_path).
    sets: tuple[tuple[str, str], ...] = ()
    columns: tuple[tuple[str, str], ...] = ()
    column_flows: tuple[ColumnFlow, ...] = ()
    column_confidence: float = 1.0
    output_columns: tuple[str, ...] = ()  # the columns a created table or view has
    lifecycle: tuple[DatasetEvent, ...] = ()
    routine: str | None = None  # the procedure or function whose body this statement is in
    # Bare names a search path of several schemas put in its first for lack of knowing better:
    # not learned as tables that exist.
    guessed: tuple[DatasetRef, ...] = ()
    # Inputs read only to decide which rows change or come out: no values flow from them.
    indirect: tuple[DatasetRef, ...] = ()

    @property
    def has_lineage(self) -> bool:
        return bool(self.inputs or self.outputs)


class TemplateCache:
    """Parse results by statement template: a query log repeats a few hundred templates.
    Keyed twice: by the token fingerprint, and (for one-statement texts) by a quick key taken
    with regular expressions from the raw text, which spares a repeat even its tokenizing."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, ...], StatementLineage] = OrderedDict()
        self._texts: OrderedDict[tuple[str, ...], StatementLineage] = OrderedDict()

    def get_text(self, key: tuple[str, ...]) -> StatementLineage | None:
        entry = self._texts.get(key)
        if entry is not None:
            self._texts.move_to_end(key)
        return entry

    def put_text(self, key: tuple[str, ...], value: StatementLineage) -> None:
        self._texts[key] = value
        if len(self._texts) > self._size:
            self._texts.popitem(last=False)

    def get(self, key: tuple[str, ...]) -> StatementLineage | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: tuple[str, ...], value: StatementLineage) -> None:
        self._entries[key] = value
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)


_default_cache = TemplateCache()


# Dollar quotes, escapes and comments hide quotes and digits from regular expressions.
_NEEDS_TOKENS = re.compile(r"[$\\#]")
_QUICK_LIST = re.compile(r"\?(?:\s*,\s*\?)+")
_UNREADABLE = "\x00"


# Longer texts are keyed by their tokens only: regular expressions over a long query cost more
# than they save, and long texts repeat less.
QUICK_KEY_MAX = 2000


def quick_key(sql: str, dialect: Dialect | str | None = None) -> str | None:
    """A template key of a one-statement text without tokenizing it, or None when the text
    needs the tokenizer (several statements, dollar quoting, escapes, comments, a quote the
    expressions cannot close, leading space). Where it answers, every literal is a ``?``:
    the key doubles as the text's redaction (see ``redacted_repeat``).

    >>> quick_key("select * from t where id in (1, 2, 3) and name = 'O''Neil'")
    'select * from t where id in (?) and name = ?'
    >>> quick_key("select 1; select 2") is None, quick_key('select * from t where a = "x"', "mysql")
    (True, 'select * from t where a = ?')
    """
    dialect = dialect if isinstance(dialect, Dialect) else dialects.resolve(dialect)
    text = _without_literals(sql, dialect)
    if text is None or dialects.normalised(dialect, sql) != sql:  # (T-SQL's GO: maybe several statements)
        return None
    if "?," in text or "? ," in text:
        text = _QUICK_LIST.sub("?", text)
    text = " ".join(text.split()).rstrip("; ")
    return None if ";" in text else text


def redacted_repeat(sql: str, statement: Statement, dialect: Dialect) -> str:
    """The redacted text of ``sql``, a one-statement text whose lineage is ``statement``'s: the
    statement parsed from it, or, when the quick-key cache answered, the first text of its
    template, whose literals and spacing are not this one's. Then the quick key's expressions,
    which answer only where they find every literal, redact it."""
    if sql.startswith(statement.text) and sql[len(statement.text):].strip() in ("", ";"):
        return statement.redacted  # the very text the statement was parsed from
    text = _without_literals(sql, dialect)
    return statement.redacted if text is None else text.rstrip().rstrip(";").rstrip()


# The last texts' answers: a repeat's quick key and then its evidence both need one. (Not an
# lru_cache: hashing a sqlglot dialect costs more than the expressions.)
_ANSWERS: dict[tuple[str, int, str], str | None] = {}


def _without_literals(sql: str, dialect: Dialect) -> str | None:
    """``sql`` with each literal a ``?``, or None where regular expressions cannot tell them all."""
    key = (sql, id(dialect), type(dialect).__name__)
    if key in _ANSWERS:
        return _ANSWERS[key]
    if len(_ANSWERS) >= 4:
        _ANSWERS.clear()
    text = _ANSWERS[key] = _literals_out(sql, dialect)
    return text


def _literals_out(sql: str, dialect: Dialect) -> str | None:
    if (len(sql) > QUICK_KEY_MAX or sql[:1].isspace() or "--" in sql or "/*" in sql
            or _NEEDS_TOKENS.search(sql) or _other_quotes(sql)):
        return None  # (a leading space would shift offsets)
    if dialects.QUOTES_BEYOND_SINGLE.search(sql) is None and dialects.name_of(dialect) not in dialects.DASHED_NAMES:
        text = _PLAIN_LITERALS.sub("?", sql)
        # An unterminated quote, or a number the expressions do not know (9137L, 0b101, 1_000).
        return None if "'" in text or dialects.DIGIT_LED.search(text) else text
    text = dialects.literal_pattern(dialect).sub(_literal_or_name, sql)
    return None if _UNREADABLE in text else text


# (A string's inside as runs of other characters between doubled quotes: the same matches as
# ``'(?:[^']|'')*'`` in two thirds of the time, as the engine takes a run in one step.)
_PLAIN_LITERALS = re.compile(f"'[^']*(?:''[^']*)*'|{dialects.NUMBER}")
_Q_QUOTE = re.compile(r"(?<![\w$])[qQ]'")


def _other_quotes(sql: str) -> bool:
    """Quotes of more than one character: BigQuery's triple quotes, Oracle's q'{...}'. (Tested
    as substrings first: the expression alone costs a third of a quick key.)"""
    return "'''" in sql or '"""' in sql or (("q'" in sql or "Q'" in sql) and _Q_QUOTE.search(sql) is not None)


def _literal_or_name(match: re.Match[str]) -> str:
    group = match.lastgroup
    return match.group() if group == "keep" else _UNREADABLE if group == "bad" else "?"


def analyze(sql: str, context: NameContext, cache: TemplateCache | None = None, *,
            columns: bool = False) -> list[StatementLineage]:
    """Lineage of every statement in ``sql``, in order; bad statements carry issues. With
    ``columns``, column-level lineage too (once per template: it is cached with the rest)."""
    cache = _default_cache if cache is None else cache
    quick = quick_key(sql, context.dialect)
    text_key = (*_context_key(context, columns), quick or "")
    if quick is not None:
        hit = cache.get_text(text_key)
        if hit is not None:
            return [hit]
    results = _analyze_text(sql, context, cache, columns)
    if quick is not None and len(results) == 1 and _reusable(results[0]):
        cache.put_text(text_key, results[0])
    return results


def _analyze_text(sql: str, context: NameContext, cache: TemplateCache, columns: bool) -> list[StatementLineage]:
    results: list[StatementLineage] = []
    pending = split(sql, context.dialect)
    pending.reverse()
    while pending:
        statement = pending.pop()
        first = statement.tokens[0].text.upper() if statement.tokens else ""
        recognised = commands.recognise(statement.text) if first in commands.FIRST_WORDS else None
        if recognised is not None:
            results.append(_safely_recognised(statement, recognised, context, columns))
            continue
        body = routines.body_of(statement.text, context.dialect) if statement.tokens else None
        if body is not None:
            results += _routine(sql, statement, body, context, cache, columns)
            continue
        key = (*_context_key(context, columns), statement.fingerprint)
        cached = cache.get(key) if statement.cacheable else None
        if cached is None:
            cached = _analyze_statement(sql, statement, context, columns)
            if _reusable(cached):
                cache.put(key, cached)
        elif cached.statement is not statement:
            cached = dataclasses.replace(cached, statement=statement)
        unterminated = _unterminated(sql, cached, context) if cached.kind == "UNPARSEABLE" else []
        if unterminated:
            pending += reversed(unterminated)
            continue
        results.append(cached)
        if context.catalog is not None:
            _learn(context, cached)
        if cached.sets:
            context = with_sets(context, dict(cached.sets))
    return results


def with_sets(context: NameContext, changes: dict[str, str]) -> NameContext:
    """``context`` after a statement set these session defaults (a new schema without a search
    path ends the search path)."""
    path = changes.get("search_path", "" if "schema" in changes else ",".join(context.search_path))
    schemas = tuple(name for name in path.split(",") if name)
    return dataclasses.replace(context, database=changes.get("database", context.database),
                               schema=changes.get("schema", context.schema),
                               search_path=schemas if len(schemas) > 1 else ())


def _unterminated(sql: str, failed: StatementLineage, context: NameContext) -> list[Statement]:
    """The statements of a text that failed to parse as one, where the dialect lets statements
    end without a semicolon (T-SQL: ``INSERT ... SELECT ...`` then ``UPDATE ...`` on the next line),
    found as a routine's body is split; none when it holds one statement, or the dialect needs them."""
    statement = failed.statement
    if not dialects.semicolons_optional(context.dialect) or "\n" not in statement.text:
        return []
    pieces = routines.statements(statement.text, context.dialect)
    if len(pieces) < 2:
        return []
    found = [part_of(sql, statement, start, end, context.dialect) for start, end in pieces]
    return [part for part in found if part is not None]


def _reusable(lineage: StatementLineage) -> bool:
    """Whether another statement of the same template has the same lineage: not when a literal
    names what it reads or writes (a file, a URL, a stage) or the defaults it sets."""
    if not lineage.statement.cacheable or lineage.sets:
        return False
    tokens = lineage.statement.tokens
    if tokens and tokens[0].text.upper() in commands.FIRST_WORDS:
        return False  # read from its text, whose literals may name the tables: EXEC sp_rename 'a', 'b'
    return all(naming.is_table_namespace(ref.namespace) for ref in (*lineage.inputs, *lineage.outputs))


def _safely_recognised(statement: Statement, found: commands.Recognised, context: NameContext,
                       columns: bool) -> StatementLineage:
    try:
        return _recognised(statement, found, context, columns)
    except SqlglotError as error:  # a name in it that is no name: `RENAME TABLE a. TO b`
        return StatementLineage(statement=statement, kind=found.kind, confidence=0.0,
                                issues=(StatementIssue(code="unparseable_sql", message=_describe(error)),))


_REWRITE_KINDS = frozenset({"REPLACE", "CREATE TEMPORARY"})  # the rewritten statement's kind is theirs


def _recognised(statement: Statement, found: commands.Recognised, context: NameContext,
                columns: bool) -> StatementLineage:
    """A statement whose lineage its text tells (an unload, a rename...), as a StatementLineage."""
    inner = _analyze_text(found.sql, context, TemplateCache(), columns) if found.sql else []
    dataset = functools.partial(_named_dataset, context=context)
    return _moved_by_renames(StatementLineage(
        statement=statement,
        kind=inner[0].kind if found.kind in _REWRITE_KINDS and inner else found.kind,
        inputs=tuple(dict.fromkeys([*(ref for s in inner for ref in s.inputs), *map(file_ref, found.files_in)])),
        outputs=tuple(dict.fromkeys([*(ref for s in inner for ref in s.outputs), *map(dataset, found.outputs),
                                     *map(file_ref, found.files_out)])),
        issues=tuple(issue for s in inner for issue in s.issues),
        confidence=min([s.confidence for s in inner] + [1.0]),
        column_flows=_recognised_flows(inner) if not found.files_out else (),
        lifecycle=(*(change for s in inner for change in s.lifecycle),
                   *(DatasetEvent(event=event, dataset=dataset(name), other=dataset(other) if other else None)
                     for event, name, other in found.lifecycle)),
        # A statement that parses once a clause is set aside (an Oracle CTAS's storage options)
        # creates what its rewrite creates: a view, its columns.
        output_kind=inner[0].output_kind if len(inner) == 1 else "table",
        output_columns=inner[0].output_columns if len(inner) == 1 and not found.files_out else (),
    ), context)


def _moved_by_renames(lineage: StatementLineage, context: NameContext) -> StatementLineage:
    """A rename moves the data: ``ALTER TABLE t_new RENAME TO t`` reads ``t_new`` and writes
    ``t`` (each column into its namesake, where the catalog knows them), so a table swapped in
    by rename keeps the lineage of the table it was built as."""
    moves = [(change.dataset, change.other) for change in lineage.lifecycle
             if change.event == "rename" and change.other is not None and change.other != change.dataset]
    if not moves:
        return lineage
    known = context.catalog.columns(moves[0][0]) if context.catalog is not None else None
    flows = tuple(ColumnFlow(target=column, sources=(ColumnRef(dataset=moves[0][0], column=column),),
                             kind="direct", table=moves[0][1]) for column in known or ())
    return dataclasses.replace(
        lineage,
        inputs=tuple(dict.fromkeys([*lineage.inputs, *(old for old, _ in moves)])),
        outputs=tuple(dict.fromkeys([*lineage.outputs, *(new for _, new in moves)])),
        column_flows=lineage.column_flows or flows)


def _recognised_flows(inner: list[StatementLineage]) -> tuple[ColumnFlow, ...]:
    """The flows of a rewritten statement: its one statement's, or those of each that writes a table,
    each flow placed in its table (a partition exchange writes both tables)."""
    if len(inner) == 1:
        return inner[0].column_flows
    return tuple(flow if flow.table is not None else dataclasses.replace(flow, table=s.outputs[0])
                 for s in inner if s.outputs for flow in s.column_flows)


def _named_dataset(name: str, context: NameContext) -> DatasetRef:
    return table_ref(parse_table(name, context), context)


def _routine(sql: str, statement: Statement, body: routines.Body, context: NameContext, cache: TemplateCache,
             columns: bool) -> list[StatementLineage]:
    """A routine definition or a block, followed by the data statements of its body, each
    attributed to the routine (an anonymous block is "block")."""
    words = statement.text.split(None, 6)
    kind = (" ".join(w.upper() for w in words[:6] if w.upper() in _ROUTINE_KIND_WORDS) if body.routine
            else words[0].upper())
    head = StatementLineage(statement=statement, kind=kind.rstrip(";") or "BLOCK")
    inner = []
    routine = _routine_name(body.routine, context) if body.routine else "block"
    base = statement.start + body.offset
    found_parts = routines.parts(body.text, context.dialect)
    texts = [(start, body.text[start:end]) for start, end in found_parts.statements]
    texts += [(match.start(1), match.group(1).replace("''", "'")) for match in _DYNAMIC_SQL.finditer(body.text)]
    for start, text in sorted(texts) if body.sql else []:
        text = "SELECT " + text[8:] if text[:8].upper() == "PERFORM " else text  # PL/pgSQL: a query run for effect
        for loop in found_parts.loops:
            if loop.start < start < loop.end and start != loop.query_start:
                text = _with_record_fields(text, loop, context)
        for found in _analyze_text(text, context, cache, columns):
            offset = base + start + found.statement.start
            moved = dataclasses.replace(found.statement, start=offset, line=sql.count("\n", 0, offset) + 1)
            if found.kind == "SELECT INTO" and dialects.name_of(context.dialect) != "tsql":
                found = dataclasses.replace(found, outputs=(), kind="SELECT")  # INTO a variable, not a table
            if body.variables and found.column_flows:
                found = dataclasses.replace(found, column_flows=_without(found.column_flows, body.variables))
            if found.column_flows and not found.outputs:  # a query for a cursor or variables: it writes no columns
                found = dataclasses.replace(found, column_flows=())
            inner.append(dataclasses.replace(found, statement=moved, routine=routine))
    return [head, *inner] if body.routine or not inner else inner


def _with_record_fields(text: str, loop: routines.CursorLoop, context: NameContext) -> str:
    """A statement in ``FOR r IN (query) LOOP`` with each ``r.field`` the query's field, read from
    it: ``(SELECT field FROM (query) r)``, so the field's columns are the query's."""
    try:
        tokens = context.dialect.tokenize(text)
    except TokenError:
        return text
    record = loop.record.lower()
    spans = [(tokens[i].start, tokens[i + 2].end + 1, tokens[i + 2].text) for i in range(len(tokens) - 2)
             if tokens[i].text.lower() == record and tokens[i + 1].token_type == TokenType.DOT
             and tokens[i + 2].token_type in (TokenType.VAR, TokenType.IDENTIFIER)]
    for start, end, field in reversed(spans):
        text = f"{text[:start]}(SELECT {field} FROM ({loop.query}) {loop.record}){text[end:]}"
    return text


def _routine_name(name: str, context: NameContext) -> str:
    """A routine's name qualified like a table's (``dbo.load_sales`` -> ``edw.dbo.load_sales``)."""
    try:
        return _named_dataset(name, context).name
    except (SqlglotError, ValueError):  # (a damaged name sqlglot cannot split into parts: found by fuzzing)
        return name


def _without(flows: tuple[ColumnFlow, ...], variables: frozenset[str]) -> tuple[ColumnFlow, ...]:
    """Column flows without the routine's parameters and variables, which look like columns."""
    kept = []
    for flow in flows:
        sources = tuple(ref for ref in flow.sources if ref.column.lower() not in variables)
        if sources:
            kept.append(dataclasses.replace(flow, sources=sources))
    return tuple(kept)


_ROUTINE_KIND_WORDS = frozenset({"CREATE", "REPLACE", "PROCEDURE", "PROC", "FUNCTION"})
# EXECUTE IMMEDIATE 'TRUNCATE TABLE t': dynamic SQL given as a literal is analysed too.
_DYNAMIC_SQL = re.compile(r"\bEXECUTE\s+IMMEDIATE\s+'((?:[^']|'')*)'", re.IGNORECASE)


def _context_key(context: NameContext, columns: bool) -> tuple[str, ...]:
    """What, besides the template, decides a statement's lineage."""
    # Only column lineage reads the catalog: table-level results stay cached as tables come and go.
    catalog = "" if context.catalog is None or not columns else f"{id(context.catalog)}:{context.catalog.version}"
    # Under a search path of several schemas, the tables known so far place bare names.
    path = "" if not context.search_path or context.catalog is None else \
        f"{','.join(context.search_path)}:{id(context.catalog)}:{context.catalog.names_version}"
    if path and context.temporary:
        path += ":" + ",".join(sorted(context.temporary))
    return (type(context.dialect).__name__, context.namespace, context.database or "", context.schema or "",
            str(columns), catalog, path)


def _learn(context: NameContext, lineage: StatementLineage) -> None:
    """Later statements see the columns of the tables and views this one created."""
    assert context.catalog is not None
    # (A crawl's sessions' temporary tables are no tables its other sessions could find: neither
    # the one this statement makes nor those the session made before.)
    shared = not context.catalog.session
    made = lineage.output_kind == "temporary" and shared
    temporary = {*(lineage.outputs if made else ()), *(ref for ref in (*lineage.inputs, *lineage.outputs)
                                                       if shared and ref.name in context.temporary)}
    for ref in (*lineage.inputs, *lineage.outputs):
        if ref not in lineage.guessed and ref not in temporary and naming.is_table_namespace(ref.namespace):
            context.catalog.see(ref)
    if lineage.kind.startswith("CREATE") and lineage.outputs and lineage.output_columns \
            and "*" not in lineage.output_columns and not made:
        context.catalog.add(lineage.outputs[0], lineage.output_columns)  # a crawl's sessions' temp tables are not
    for change in lineage.lifecycle:
        if change.event == "drop":
            context.catalog.drop(change.dataset)
        elif change.event == "create_like" and not made:
            context.catalog.see(change.dataset)
        if change.event == "rename" and change.other is not None:
            context.catalog.unsee(change.dataset)
        if change.event == "create_like" and made:
            continue  # a temporary table made like a real one: its columns stay with its session
        if change.event in ("rename", "create_like") and change.other is not None:
            old, new = (change.dataset, change.other) if change.event == "rename" else (change.other, change.dataset)
            columns = context.catalog.columns(old)
            if columns:
                context.catalog.add(new, columns)


def _analyze_statement(sql: str, statement: Statement, context: NameContext, columns: bool) -> StatementLineage:
    quiet = dialects.no_lineage_kind([t.text.upper() for t in statement.tokens[:10]])
    if quiet is not None:
        return StatementLineage(statement=statement, kind=quiet)
    if statement.tokens and statement.tokens[0].text.upper() == "SET":
        path = dialects.search_path(statement.text)
        if path is not None:
            return StatementLineage(statement=statement, kind="SET",
                                    sets=(("schema", path[0]), ("search_path", ",".join(path))))
    depth = limits.nesting(statement.tokens)
    if depth > limits.MAX_NESTING:
        return StatementLineage(statement=statement, kind="UNPARSEABLE", confidence=0.0, issues=(
            StatementIssue(code="unparseable_sql",
                           message=f"parentheses nested {depth:,} deep: over the {limits.MAX_NESTING:,} parsed"),))
    try:
        with limits.time_limit(limits.PARSE_TIME_LIMIT):
            tree = _parse(sql, statement, context)
    except limits.ParseTimeout:
        return StatementLineage(
            statement=statement, kind="UNPARSED", confidence=0.0,
            issues=(StatementIssue(code="parse_timeout",
                                   message=f"parsing took over {limits.PARSE_TIME_LIMIT:g} s: abandoned"),))
    except RecursionError:
        return StatementLineage(statement=statement, kind="UNPARSEABLE", confidence=0.0, issues=(
            StatementIssue(code="unparseable_sql", message="nested too deeply to parse"),))
    except (TypeError, AttributeError, IndexError, KeyError, AssertionError) as error:
        # sqlglot's parser failing inside on a damaged statement (found by fuzzing: a TypeError
        # "Expr object expected; got None"), not raising its ParseError: unparseable all the same.
        return StatementLineage(statement=statement, kind="UNPARSEABLE", confidence=0.0, issues=(
            StatementIssue(code="unparseable_sql", message=f"the parser failed on it: {error}"),))
    except SqlglotError as error:
        rewritten = _rewritten(statement.text, context)
        if rewritten is not None:
            return _recognised(statement, rewritten, context, columns)
        return StatementLineage(
            statement=statement,
            kind="UNPARSEABLE",
            issues=(StatementIssue(code="unparseable_sql", message=_describe(error)),),
            confidence=0.0,
        )
    damaged = _damaged(tree, context)
    if damaged is not None:
        return StatementLineage(statement=statement, kind="UNPARSEABLE", confidence=0.0,
                                issues=(StatementIssue(code="unparseable_sql", message=damaged),))
    if isinstance(tree, exp.Use) and tree.this is not None:
        changes = dialects.use_changes(context.dialect, tree.args.get("kind") and str(tree.args["kind"]),
                                       tree.this.sql(dialect=context.dialect).replace('"', "").replace("`", ""))
        return StatementLineage(statement=statement, kind="USE", sets=tuple(changes.items()))
    if tree is None or isinstance(tree, exp.Command) or _read_from_text(tree):
        rewritten = _rewritten(statement.text, context)
        if rewritten is not None:
            return _recognised(statement, rewritten, context, columns)
        return _unsupported(statement, tree)
    roles = table_roles(tree)
    # The tables are named first: column lineage works on the tree itself, which it renames.
    # What a statement creates goes in the first schema of the search path; what it names that
    # exists, in the first schema that has it.
    creating = dataclasses.replace(context, search_path=()) if _creates(roles.kind) else context
    guessed = tuple(table_ref(t, context) for t in (*roles.inputs, *(() if creating is not context else roles.outputs))
                    if naming.guessed(t, context))
    written = [table_ref(t, context) for t in roles.outputs]
    named = StatementLineage(
        statement=statement,
        lifecycle=tuple(_change(event, table, other, context) for event, table, other in roles.lifecycle),
        kind=roles.kind,
        # Named once each: `orders` and `ORDERS` are one table once case is folded.
        inputs=tuple(dict.fromkeys([*(table_ref(t, context) for t in roles.inputs), *map(file_ref, roles.files_in)])),
        outputs=tuple(dict.fromkeys([*(table_ref(t, creating) for t in roles.outputs),
                                     *map(file_ref, roles.files_out)])),
        output_kind=roles.output_kind,
        columns=roles.columns,
        guessed=guessed,
        indirect=tuple(dict.fromkeys(table_ref(t, context) for t in roles.indirect)),
    )
    found, problems = _columns(tree, context, functools.partial(_parse, sql, statement, context)) \
        if columns and roles.has_lineage else (ColumnLineage(), ())
    if roles.kind == "SELECT" and roles.outputs:  # only its data-modifying CTEs write: its columns are the query's
        found = dataclasses.replace(found, flows=())
    problems += _unknown_columns(found.flows, roles.kind, written, context)
    if roles.kind in _WRITES and not (roles.outputs or roles.files_out):
        problems += (StatementIssue(code="no_target", severity="warning",
                                    message=f"{roles.kind} whose target could not be told"),)
    return _moved_by_renames(dataclasses.replace(
        named,
        issues=problems,
        column_flows=found.flows,
        column_confidence=found.confidence,
        output_columns=tuple(name for name, _ in roles.columns) or found.outputs,
        confidence=0.5 if any(p.code == "no_target" for p in problems) else GUESSED_CONFIDENCE if guessed else 1.0,
    ), context)


# A bare name placed in the first schema of a search path for lack of knowing where it is.
GUESSED_CONFIDENCE = 0.8


def _creates(kind: str) -> bool:
    return kind.startswith("CREATE") or kind == "SELECT INTO"


def _change(event: str, table: exp.Table, other: exp.Table | None, context: NameContext) -> DatasetEvent:
    """A lifecycle change, named: a created table in the search path's first schema, a bare new
    name of a renamed table beside the table (wherever the search path found it)."""
    creating = dataclasses.replace(context, search_path=())
    dataset = table_ref(table, creating if event == "create_like" else context)
    if other is None:
        return DatasetEvent(event=event, dataset=dataset)
    renamed = table_ref(other, creating)
    if event == "rename" and context.search_path and len(other.parts) == 1 and "." in dataset.name:
        schema = (dataset.member or dataset.name).rsplit(".", 1)[0]
        renamed = naming.clustered(DatasetRef(namespace=dataset.namespace,
                                              name=f"{schema}.{(renamed.member or renamed.name).rsplit('.', 1)[-1]}"))
    elif event != "rename":
        renamed = table_ref(other, context)
    return DatasetEvent(event=event, dataset=dataset, other=renamed)


def _unknown_columns(flows: tuple[ColumnFlow, ...], kind: str, outputs: list[DatasetRef],
                     context: NameContext) -> tuple[StatementIssue, ...]:
    """A column edge naming a column its table's known columns lack (a select-list alias used in
    the same select, which PostgreSQL rejects, read as a column of a table; a typo): a warning,
    the edge kept. A table created here is not checked as a target: its columns are this
    statement's to say."""
    if context.catalog is None:
        return ()
    named = [(ref.dataset, ref.column) for flow in flows for ref in flow.sources]
    if not kind.startswith("CREATE"):
        named += [(table, flow.target) for flow in flows
                  for table in ([flow.table] if flow.table is not None else outputs[:1])]
    missing: dict[tuple[str, str], tuple[str, ...]] = {}
    for dataset, column in dict.fromkeys(named):
        known = context.catalog.columns(dataset) if dataset.name and column != "*" else None
        if known and column.lower() not in {k.lower() for k in known}:
            missing[dataset.name, column] = known
    return tuple(StatementIssue(
        code="unknown_column", severity="warning",
        message=f"column lineage names {table}.{column}, but {table} is known to have only {', '.join(known)}")
        for (table, column), known in sorted(missing.items()))


def _read_from_text(tree: exp.Expr) -> bool:
    """ClickHouse's ``ALTER TABLE t DELETE WHERE ...`` (a DELETE, read as one) and ``ALTER TABLE a
    REPLACE PARTITION p FROM b`` (a copy): read from their text (see commands.rewritten, partition_moves)."""
    return isinstance(tree, exp.Alter) and any(isinstance(action, exp.Delete | exp.Update | exp.ReplacePartition)
                                               for action in tree.args.get("actions") or [])


def _rewritten(text: str, context: NameContext) -> commands.Recognised | None:
    return commands.rewritten(text) or commands.partition_moves(text, swaps=dialects.exchange_swaps(context.dialect))


def _columns(tree: exp.Expr, context: NameContext,
             reparse: Callable[[], exp.Expr | None]) -> tuple[ColumnLineage, tuple[StatementIssue, ...]]:
    """The column lineage of the statement of ``tree``, which it hands over (``reparse`` gives it anew)."""
    def again() -> exp.Expr:
        fresh = reparse()
        assert fresh is not None  # (parsed once already)
        return returned_as_select(fresh)

    try:
        with limits.time_limit(limits.PARSE_TIME_LIMIT):
            return column_flows(returned_as_select(tree), context, reparse=again), ()
    except limits.ParseTimeout:  # sqlglot's qualify is quadratic in some shapes: 20,000 ORs take minutes
        return ColumnLineage(confidence=0.5), (StatementIssue(
            code="column_timeout", severity="warning",
            message=f"column lineage took over {limits.PARSE_TIME_LIMIT:g} s: abandoned (its tables are kept)"),)
    # An expression nested thousands deep, or one sqlglot's scoping rejects (two tables under one
    # alias, a GROUP BY position too large for a number): its tables are still known.
    except (RecursionError, SqlglotError, OverflowError, ValueError, KeyError, AssertionError):
        return ColumnLineage(confidence=0.5), ()


def _parse(sql: str, statement: Statement, context: NameContext) -> exp.Expr | None:
    if not statement.tokens:
        raise ParseError("the SQL could not be tokenized (an unterminated quote or comment?)")
    tokens = dialects.without_ignored_clauses(context.dialect, list(statement.tokens), statement.text)
    trees = context.dialect.parser().parse(tokens, sql)
    return trees[0] if trees else None


_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "SELECT INTO"})


_EXPRESSIONS = (exp.Alias, exp.Binary, exp.Column, exp.Literal, exp.Star)
# In routine bodies an assignment (``v := expr``, ``v = expr``) or a call (``pkg.proc(1)``) is a statement.
_PROCEDURAL = (exp.PropertyEQ, exp.EQ, exp.Dot)


def _damaged(tree: exp.Expr | None, context: NameContext) -> str | None:
    """Why a tree sqlglot parsed without error is no statement of the dialect, or None: a typo
    such as ``SELEC * FORM x`` parses as an expression (``SELEC * FORM AS x``), and ``DELETE FORM t``
    as a DELETE of the table ``FORM`` where the dialect requires FROM."""
    if isinstance(tree, _EXPRESSIONS) and not isinstance(tree, _PROCEDURAL):
        return f"not a statement: it reads as the expression {_clipped(tree.sql())}"
    named = tree.args.get("tables") if isinstance(tree, exp.Delete) and not isinstance(tree.this, exp.Expr) else None
    if named and not dialects.delete_without_from(context.dialect, aliased=any(t.alias for t in named)):
        return f"DELETE without FROM: not {dialects.name_of(context.dialect)} syntax (a misspelt FROM?)"
    return None


def _clipped(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _unsupported(statement: Statement, tree: exp.Expr | None) -> StatementLineage:
    word = tree.name.upper() if tree is not None else "statement"
    if word in dialects.NO_LINEAGE_COMMANDS:
        return StatementLineage(statement=statement, kind=word)
    return StatementLineage(
        statement=statement,
        kind=word or "COMMAND",
        issues=(
            StatementIssue(
                code="unsupported_statement",
                message=f"{word} is not analysed for lineage",
                severity="warning",
            ),
        ),
        confidence=0.5,
    )


def _describe(error: SqlglotError) -> str:
    errors = getattr(error, "errors", None)
    if errors:
        first = errors[0]
        return f"{_readable(str(first.get('description')))} (line {first.get('line')}, column {first.get('col')})"
    return _readable(str(error).splitlines()[0])


# sqlglot's messages name tokens and node classes by their repr: say what a reader wrote instead.
_TOKEN_REPR = re.compile(r"<Token token_type: TokenType\.(\w+), text: (.*?), line: \d+, col: \d+, start: \d+, "
                         r"end: \d+, comments: \[.*?\]>")
_CLASS_REPR = re.compile(r"<class 'sqlglot\.expressions\.(?:\w+\.)*(\w+)'>")


def _readable(message: str) -> str:
    """
    >>> _readable("Expected table name but got <Token token_type: TokenType.ALIAS, text: AS, line: 1, "
    ...           "col: 15, start: 13, end: 14, comments: []>")
    "Expected table name but got 'AS'"
    >>> _readable("Required keyword: 'this' missing for <class 'sqlglot.expressions.query.Where'>")
    "Required keyword: 'this' missing for WHERE"
    """
    message = _TOKEN_REPR.sub(lambda m: "the end of the statement" if m.group(1) == "SENTINEL"
                              else f"'{m.group(2)}'", message)
    return _CLASS_REPR.sub(lambda m: m.group(1).upper(), message)
