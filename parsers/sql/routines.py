"""The SQL inside stored procedures, functions and anonymous blocks.

A routine's body runs when it is called, so its statements' lineage belongs to the routine (the
job). The body is procedural (T-SQL, PL/pgSQL, Snowflake Scripting, BigQuery scripting, Oracle
PL/SQL, MySQL): variables, IF/LOOP, exception handlers. Those are skipped; the data statements
between them (INSERT, UPDATE, DELETE, MERGE, SELECT, CREATE, DROP, TRUNCATE ...) are cut out and
analysed like any other SQL. A routine written in another language (Python, JavaScript, Java)
gives nothing.

>>> body = body_of("CREATE PROCEDURE dbo.load_sales AS BEGIN SET NOCOUNT ON; "
...                "INSERT INTO dbo.sales SELECT * FROM stg.sales; END", "tsql")
>>> body.routine, [body.text[start:end] for start, end in statements(body.text, "tsql")]
('dbo.load_sales', ['INSERT INTO dbo.sales SELECT * FROM stg.sales'])
>>> block = body_of("IF OBJECT_ID('v') IS NOT NULL DROP VIEW v", "tsql")
>>> [block.text[start:end] for start, end in statements(block.text, "tsql")]
['DROP VIEW v']
"""

from __future__ import annotations

import dataclasses
import re

from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from parsers.sql.statements import command_words


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Body:
    """A routine's or block's body: ``text`` starts at ``offset`` of the statement's text."""

    routine: str | None  # None for an anonymous block
    text: str
    offset: int
    sql: bool = True  # False for a body in another language
    variables: frozenset[str] = frozenset()  # parameters and declared variables: not columns


_ROUTINE = re.compile(
    r"^\s*(?:CREATE\s+(?:OR\s+(?:REPLACE|ALTER)\s+)?(?:DEFINER\s*=\s*\S+\s+)?|REPLACE\s+)"
    r"(?:TEMP(?:ORARY)?\s+)?(?P<kind>PROCEDURE|PROC|FUNCTION)\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"(?P<name>[\w.$#@\[\]\"`-]+)", re.IGNORECASE)
_DOLLAR = re.compile(r"(\$[A-Za-z_]*\$)(.*)\1", re.DOTALL)
_LANGUAGE = re.compile(r"\bLANGUAGE\s+'?(\w+)", re.IGNORECASE)
_SQL_LANGUAGES = frozenset({"sql", "plpgsql", "plsql", "tsql", "sqlscript"})
_BODY_START = re.compile(r"\b(?:AS|IS|BEGIN)\b", re.IGNORECASE)
# Statements that open a block or are procedural; a text starting with one is searched for the
# data statements inside.
_BLOCK_WORDS = frozenset({"BEGIN", "DECLARE", "DO", "IF", "ELSE", "ELSIF", "ELSEIF", "END", "EXCEPTION", "LOOP",
                          "WHILE", "FOR", "RETURN", "RAISE", "WHEN", "EXECUTE", "EXEC", "CALL", "FOREACH", "REPEAT"})


def body_of(text: str, dialect: str | Dialect) -> Body | None:
    """The body of a routine definition or a block, or None for any other statement."""
    routine = _ROUTINE.match(text)
    if routine is not None:
        return _routine_body(text, routine)
    first = text.lstrip().split(None, 1)[0].upper().rstrip(";") if text.strip() else ""
    if first not in _BLOCK_WORDS:
        return None
    dollar = _DOLLAR.search(text)
    if first in ("DO", "EXECUTE") and dollar is not None:  # DO $$ ... $$, EXECUTE IMMEDIATE $$ ... $$
        return Body(routine=None, text=dollar.group(2), offset=dollar.start(2), sql=_is_sql(text, dollar),
                    variables=_variables(dollar.group(2)))
    return Body(routine=None, text=text, offset=0, variables=_variables(text))  # a block has no parameters


def _routine_body(text: str, routine: re.Match[str]) -> Body:
    name = routine.group("name").replace('"', "").replace("`", "").replace("[", "").replace("]", "")
    dollar = _DOLLAR.search(text, routine.end())
    if dollar is not None:
        return Body(routine=name, text=dollar.group(2), offset=dollar.start(2), sql=_is_sql(text, dollar),
                    variables=_parameters(text[routine.end():dollar.start()]) | _variables(dollar.group(2)))
    language = _LANGUAGE.search(text, routine.end())
    if language is not None and language.group(1).lower() not in _SQL_LANGUAGES:
        return Body(routine=name, text="", offset=len(text), sql=False)
    start = _BODY_START.search(text, _after_parameters(text, routine.end()))
    offset = start.end() if start is not None and start.group(0).upper() != "BEGIN" else (
        start.start() if start is not None else len(text))
    return Body(routine=name, text=text[offset:], offset=offset,
                variables=_parameters(text[routine.end():offset]) | _variables(text[offset:]))


_PARAMETER = re.compile(r"(?:^\s*\(|,)\s*(?:IN\s+|OUT\s+|INOUT\s+)?(\w+)\s+(?:IN\s+|OUT\s+)?[A-Za-z]", re.IGNORECASE)
_DECLARED = re.compile(r"\bDECLARE\s+(\w+)", re.IGNORECASE)


def _parameters(header: str) -> frozenset[str]:
    """Parameter names (``(p_day date, IN n INT64)``) and the variables the header declares (T-SQL's
    ``AS DECLARE``), lower case: read from the routine's header, never from its statements, whose
    ``SELECT a, b FROM`` would read as parameters too."""
    return frozenset(name.lower() for name in _PARAMETER.findall(header)) | _variables(header)


def _variables(text: str) -> frozenset[str]:
    """``DECLARE``d variables, lower case."""
    return frozenset(name.lower() for name in _DECLARED.findall(text))


def _is_sql(text: str, dollar: re.Match[str]) -> bool:
    outside = text[: dollar.start()] + text[dollar.end():]
    language = _LANGUAGE.search(outside)
    return language is None or language.group(1).lower() in _SQL_LANGUAGES


def _after_parameters(text: str, index: int) -> int:
    """Past a routine's parenthesized parameter list, if it has one."""
    rest = text[index:]
    if not rest.lstrip().startswith("("):
        return index
    depth = 0
    for position, char in enumerate(rest):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == ")" and depth == 0:
            return index + position + 1
    return len(text)


# Words that start a statement that reads or writes data.
_STARTERS = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "SELECT", "WITH", "CREATE", "DROP", "TRUNCATE",
                       "ALTER", "COPY", "REPLACE", "UPSERT", "PERFORM", "RENAME", "UNLOAD", "EXPORT", "USE"})
# Procedural words that end a data statement written without a semicolon (T-SQL allows that).
_CLOSERS = frozenset({"BEGIN", "END", "ELSE", "ELSIF", "ELSEIF", "WHEN", "RETURN", "DECLARE", "PRINT", "RAISE",
                      "EXCEPTION", "IF", "WHILE", "LOOP", "COMMIT", "ROLLBACK", "EXEC", "EXECUTE", "CALL", "GO"})
# Inside these, the words above belong to the statement (MERGE ... WHEN MATCHED THEN UPDATE).
_CONTINUES = {
    "INSERT": {"SELECT", "WITH"}, "CREATE": {"SELECT", "WITH"}, "WITH": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "REPLACE": {"SELECT", "WITH"}, "UPSERT": {"SELECT", "WITH"},
}


_NESTS = {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}  # how a token changes the depth of parentheses


@dataclasses.dataclass(frozen=True, slots=True)
class CursorLoop:
    """``FOR r IN (query) LOOP ... END LOOP`` (PL/SQL): the record's name, its query (and where
    that stands), and where the loop stands in the body."""

    record: str
    query: str
    query_start: int
    start: int
    end: int


@dataclasses.dataclass(frozen=True, slots=True)
class Parts:
    """A procedural body's data statements, as (start, end) in order, and its cursor loops."""

    statements: list[tuple[int, int]]
    loops: list[CursorLoop]


def statements(body: str, dialect: str | Dialect) -> list[tuple[int, int]]:
    """(start, end) of each data statement in a procedural body, in order."""
    return parts(body, dialect).statements


def parts(body: str, dialect: str | Dialect) -> Parts:
    """The data statements and cursor loops of a procedural body, from one tokenization."""
    parser_dialect = Dialect.get_or_raise(dialect)
    try:
        tokens = parser_dialect.tokenize(body)
    except TokenError:
        return Parts(statements=[], loops=[])
    # BigQuery's tokenizer takes BEGIN for a command and the rest of the block (up to a semicolon)
    # for its argument, one string: the block's own statements are in that rest.
    tokens = _commands_opened(body, tokens, parser_dialect)
    found: list[tuple[int, int]] = []
    current: list[Token] = []
    depth = cases = 0
    for index, token in enumerate(tokens):
        word = token.text.upper() if token.token_type != TokenType.STRING else ""
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if depth == 0 and _ends(current, token, word, following, cases):
            _close(current, found)
            current = []
        if token.token_type == TokenType.SEMICOLON and depth == 0:
            continue
        depth += _NESTS.get(token.token_type, 0)
        cases += 1 if word == "CASE" else -1 if word == "END" and cases else 0
        if current or (depth == 0 and word in _STARTERS):
            current.append(token)
    _close(current, found)
    loops = _cursor_loops(body, tokens)
    # A loop's query is read by the routine, though in parentheses where no statement starts.
    queries = [(loop.query_start, loop.query_start + len(loop.query)) for loop in loops]
    return Parts(statements=sorted(found + queries), loops=loops)


def _cursor_loops(body: str, tokens: list[Token]) -> list[CursorLoop]:
    """The cursor loops of a body, outermost first."""
    words = [token.text.upper() if token.token_type != TokenType.STRING else "" for token in tokens]
    found = []
    for index in range(len(tokens) - 4):
        if words[index] != "FOR" or words[index + 2] != "IN" or tokens[index + 3].token_type != TokenType.L_PAREN \
                or words[index + 4] not in ("SELECT", "WITH"):
            continue
        depth, close = 0, None
        for at in range(index + 3, len(tokens)):
            depth += _NESTS.get(tokens[at].token_type, 0)
            if depth == 0:
                close = at
                break
        if close is None:
            continue
        end = _loop_end(words, close + 1)  # (a block split at its semicolons may hold no END LOOP: to its end)
        query_start = tokens[index + 4].start
        found.append(CursorLoop(record=tokens[index + 1].text, query=body[query_start:tokens[close - 1].end + 1],
                                query_start=query_start, start=tokens[index].start,
                                end=tokens[end].end + 1 if end is not None else len(body)))
    return found


def _loop_end(words: list[str], after: int) -> int | None:
    """The index of the LOOP of the ``END LOOP`` that closes the loop opened after ``after``."""
    depth = 0
    for at in range(after, len(words)):
        if words[at] == "LOOP" and words[at - 1] != "END":
            depth += 1
        elif words[at] == "LOOP":
            depth -= 1
            if depth == 0:
                return at
    return None


def _commands_opened(body: str, tokens: list[Token], dialect: Dialect) -> list[Token]:
    """Each command word's argument the tokenizer kept as one string, tokenized in its place."""
    commands = dialect.tokenizer_class.COMMANDS
    if not any(token.token_type in commands for token in tokens):
        return tokens
    opened: list[Token] = []
    index = 0
    while index < len(tokens):
        token, following = tokens[index], tokens[index + 1] if index + 1 < len(tokens) else None
        if token.token_type in commands and following is not None and following.token_type is TokenType.STRING:
            opened += command_words(body, [token, following], dialect)
            index += 2
            continue
        opened.append(token)
        index += 1
    return opened


def _ends(current: list[Token], token: Token, word: str, following: Token | None, cases: int) -> bool:
    """Whether ``token`` ends the statement being collected (or, with none, may start one)."""
    if token.token_type == TokenType.SEMICOLON:
        return True
    if not current:
        return False
    first = current[0].text.upper()
    if first == "MERGE":
        return False  # its WHEN ... THEN UPDATE/INSERT/DELETE are its own; a semicolon ends it
    previous = current[-1].text.upper()
    if word in _STARTERS:
        if previous == "OR":
            return False  # CREATE OR REPLACE, INSERT OR REPLACE
        return word not in _CONTINUES.get(first, set()) and not (word == "SELECT" and previous in
                                                                   ("UNION", "ALL", "EXCEPT", "INTERSECT", "MINUS",
                                                                    "DISTINCT", "AS", "("))
    if word in _CLOSERS and cases == 0:
        function_call = following is not None and following.token_type == TokenType.L_PAREN and word == "IF"
        return not function_call and not (word == "IF" and previous in _OBJECT_KINDS)  # DROP TABLE IF EXISTS
    return False


_OBJECT_KINDS = frozenset({"TABLE", "VIEW", "SCHEMA", "INDEX", "SEQUENCE", "DATABASE", "FUNCTION", "PROCEDURE",
                           "TYPE", "STAGE", "STREAM", "TASK"})


def _close(current: list[Token], found: list[tuple[int, int]]) -> None:
    if current:
        found.append((current[0].start, current[-1].end + 1))
