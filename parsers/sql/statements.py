"""Split SQL text into statements, and fingerprint and redact each one from its tokens.

The text is tokenized once; the same tokens give the statement boundaries, the fingerprint
(literals abstracted, so repeats of a template share it), the redacted text that is stored,
and the input of the parser.

>>> [s.redacted for s in split("insert into t select * from s where id in (1, 2, 3); select 'x'", "postgres")]
['insert into t select * from s where id in (?, ?, ?)', 'select ?']
>>> a, b = split("select * from t where id = 1; SELECT * FROM t WHERE id = 42", "postgres")
>>> a.fingerprint == b.fingerprint
True
"""

from __future__ import annotations

import dataclasses
import re

from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from parsers.dialects import normalised
from parsers.fingerprint import digest

LITERAL_TOKENS = frozenset(
    {
        TokenType.STRING,
        TokenType.NUMBER,
        TokenType.BIT_STRING,
        TokenType.HEX_STRING,
        TokenType.BYTE_STRING,
        TokenType.NATIONAL_STRING,
        TokenType.NATIONAL_RAW_STRING,
        TokenType.RAW_STRING,
        TokenType.UNICODE_STRING,
    }
)

# Statements whose literals name datasets (file paths, stages): their fingerprint keeps them.
_LITERALS_NAME_DATASETS = frozenset({"copy", "unload", "load", "export"})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Statement:
    """One statement of a text: where it stands, its tokens, fingerprint and redacted text."""

    text: str
    start: int
    line: int
    tokens: tuple[Token, ...]
    fingerprint: str
    redacted: str
    cacheable: bool


def split(sql: str, dialect: str | Dialect) -> list[Statement]:
    """Statements of ``sql`` in order; a text the tokenizer rejects falls back to ``;`` splits."""
    dialect = Dialect.get_or_raise(dialect)
    readable = normalised(dialect, sql)  # (each character in its place: offsets and text are the log's)
    try:
        tokens = dialect.tokenize(readable)
    except TokenError:
        return _split_untokenizable(sql)
    chunks = _one_statement(readable, tokens) or _chunks(tokens)
    return [_statement(sql, chunk, dialect, readable) for chunk in chunks]


def _one_statement(sql: str, tokens: list[Token]) -> list[list[Token]] | None:
    """The common case without a walk over the tokens: a text with no semicolon but maybe one
    at its very end is one statement (a semicolon token is a ``;`` character of the text)."""
    semicolons = sql.count(";")
    if semicolons > 1 or not tokens or _in_routine(tokens[:_ROUTINE_WORDS]):
        return None
    if semicolons == 0:
        return [tokens]
    if tokens[-1].token_type is TokenType.SEMICOLON:
        return [tokens[:-1]] if len(tokens) > 1 else []
    return None


_ROUTINES = frozenset({"FUNCTION", "PROCEDURE", "PROC", "TRIGGER", "EVENT"})
_CLOSERS = frozenset({"IF", "LOOP", "WHILE", "REPEAT", "FOR"})


def _chunks(tokens: list[Token]) -> list[list[Token]]:
    """Statements as token lists: split at semicolons, except inside the BEGIN ... END body of
    a routine (MySQL, T-SQL, PL/SQL style), whose own statements end in semicolons too."""
    chunks: list[list[Token]] = []
    start = 0
    for index, token in enumerate(tokens):
        if token.token_type is not TokenType.SEMICOLON:
            continue
        chunk = tokens[start:index]
        if _in_routine(chunk[:_ROUTINE_WORDS]):  # its body has semicolons of its own
            return chunks + _routine_chunks(tokens[start:])
        if chunk:
            chunks.append(chunk)
        start = index + 1
    rest = tokens[start:]
    if rest and _in_routine(rest[:_ROUTINE_WORDS]):
        return chunks + _routine_chunks(rest)
    return chunks + [rest] if rest else chunks


def _routine_chunks(tokens: list[Token]) -> list[list[Token]]:
    """Chunks of a text that starts with a routine: semicolons count only outside its body."""
    chunks: list[list[Token]] = [[]]
    depth = 0
    routine = False
    for index, token in enumerate(tokens):
        chunk = chunks[-1]
        if token.token_type == TokenType.SEMICOLON and depth == 0:
            chunks.append([])
            continue
        chunk.append(token)
        if len(chunk) <= _ROUTINE_WORDS:  # a routine is known by its first words
            routine = _in_routine(chunk)
        if routine:
            depth += _nesting(token, tokens[index + 1] if index + 1 < len(tokens) else None)
            depth = max(depth, 0)
    return [chunk for chunk in chunks if chunk]


_ROUTINE_WORDS = 8


def _in_routine(chunk: list[Token]) -> bool:
    words = [t.text.upper() for t in chunk[:_ROUTINE_WORDS]]
    return bool(words) and words[0] == "CREATE" and any(word in _ROUTINES for word in words)


def _nesting(token: Token, following: Token | None) -> int:
    word = token.text.upper()
    if word in ("BEGIN", "CASE"):
        return 1
    if word == "END":
        after = following.text.upper() if following is not None else ""
        return 0 if after in _CLOSERS else -1
    return 0


def part_of(sql: str, statement: Statement, start: int, end: int, dialect: str | Dialect) -> Statement | None:
    """The statement made of ``statement``'s tokens from ``start`` to ``end`` (offsets in its text)."""
    first, last = statement.start + start, statement.start + end
    tokens = [token for token in statement.tokens if first <= token.start and token.end < last]
    return _statement(sql, tokens, Dialect.get_or_raise(dialect)) if tokens else None


def _statement(sql: str, tokens: list[Token], dialect: Dialect, readable: str | None = None) -> Statement:
    start, end = tokens[0].start, tokens[-1].end + 1
    first_word = tokens[0].text.lower()
    fingerprint, literals = _fingerprint(command_words(readable or sql, tokens, dialect),
                                         keep_literals=first_word in _LITERALS_NAME_DATASETS)
    if readable is not None and readable[start:end] != sql[start:end]:
        literals = sorted(literals + _set_aside(sql, readable, start, end), key=lambda token: token.start)
    return Statement(
        text=sql[start:end],
        start=start,
        line=tokens[0].line,
        tokens=tuple(tokens),
        fingerprint=fingerprint,
        redacted=_redact(sql, start, end, literals),
        cacheable=first_word not in _LITERALS_NAME_DATASETS,
    )


def command_words(sql: str, tokens: list[Token], dialect: Dialect) -> list[Token]:
    """The tokens of a statement that starts with a word sqlglot takes for a command it does
    not parse (MySQL's REPLACE, RENAME, EXECUTE...): its tokenizer keeps the rest of the text as
    one string token, at a wrong offset, so every REPLACE would have one fingerprint (one cached
    lineage) and the stored text its literals. The rest is tokenized on its own instead."""
    if (len(tokens) != 2 or tokens[1].token_type is not TokenType.STRING
            or tokens[0].token_type not in dialect.tokenizer_class.COMMANDS):
        return tokens
    rest = tokens[1].text
    offset = sql.find(rest, tokens[0].end + 1)
    try:
        inner = dialect.tokenize(rest) if offset >= 0 else []
    except TokenError:
        return tokens
    if not inner or inner[0].token_type in dialect.tokenizer_class.COMMANDS:
        return tokens  # (the rest is a command again: not worth a second round)
    line = sql.count("\n", 0, offset)
    return [tokens[0], *(Token(token.token_type, token.text, token.line + line, token.col,
                               token.start + offset, token.end + offset) for token in inner)]


def _fingerprint(tokens: list[Token], *, keep_literals: bool) -> tuple[str, list[Token]]:
    """The template's digest (literals as ``?``, unless they name datasets) and the literals,
    which the stored text redacts either way. A number after ``$`` is a placeholder's (``$1``)."""
    words: list[str] = []
    literals: list[Token] = []
    previous: TokenType | None = None
    for token in tokens:
        kind = token.token_type
        if kind in _LITERAL_OR_NAME:
            if kind is TokenType.IDENTIFIER:
                words.append(f'"{token.text}"')
                previous = kind
                continue
            if previous is not TokenType.PARAMETER:
                literals.append(token)
                if not keep_literals:
                    words.append("?")
                    _collapse_lists(words)
                    previous = kind
                    continue
        word = token.text.lower()
        words.append(word)
        if word == "?":  # a placeholder
            _collapse_lists(words)
        previous = kind
    return digest(" ".join(words)), literals


_LITERAL_OR_NAME = LITERAL_TOKENS | {TokenType.IDENTIFIER}


def _collapse_lists(words: list[str]) -> None:
    """`(?, ?, ?)` and `(?), (?)` collapse, so IN-lists and VALUES rows of any length match
    (called after each ``?``: both patterns end in one)."""
    if words[-3:] == ["?", ",", "?"]:
        del words[-2:]
    elif words[-6:] == ["(", "?", ")", ",", "(", "?"]:
        del words[-4:]


_QUOTED = re.compile(r"'(?:[^']|'')*'")


def _set_aside(sql: str, readable: str, start: int, end: int) -> list[Token]:
    """The strings of the log's text that the text as parsed blanked (Teradata's ``(TITLE '...')``):
    redacted all the same."""
    return [Token(TokenType.STRING, match.group(), start=match.start(), end=match.end() - 1)
            for match in _QUOTED.finditer(sql, start, end) if readable[match.start()] != "'"]


def _redact(sql: str, start: int, end: int, literals: list[Token]) -> str:
    parts = []
    cursor = start
    for token in literals:
        parts.append(sql[cursor : token.start])
        parts.append("?")
        cursor = token.end + 1
    parts.append(sql[cursor:end])
    return "".join(parts)


_STATEMENT_END = re.compile(r";\s*")
_LOOSE_LITERAL = re.compile(r"'(?:[^']|'')*'?|\b\d+(?:\.\d+)?\b")


def _split_untokenizable(sql: str) -> list[Statement]:
    """Last resort for text the tokenizer cannot read (an unterminated quote, say)."""
    statements = []
    cursor = 0
    for piece in _STATEMENT_END.split(sql):
        start = sql.find(piece, cursor) if piece else cursor
        cursor = start + len(piece)
        text = piece.strip()
        if not text:
            continue
        offset = start + (len(piece) - len(piece.lstrip()))
        statements.append(
            Statement(
                text=text,
                start=offset,
                line=sql.count("\n", 0, offset) + 1,
                tokens=(),
                fingerprint=digest(text),
                redacted=_LOOSE_LITERAL.sub("?", text),
                cacheable=False,
            )
        )
    return statements
