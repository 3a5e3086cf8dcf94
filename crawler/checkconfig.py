"""`lineage check-config`: every problem of a crawl.toml at once, each with its file and line,
found without reading any source: unknown keys (with a "did you mean"), values of the wrong
type, unknown source types and dialects, bad extraction rules, paths and globs that match
nothing, a store that cannot be reached.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "crawl.toml").write_text('[defaults]\\ndialct = "postgres"\\n[[sources]]\\npath = "nothing/*.sql"\\n')
>>> for problem in check(folder / "crawl.toml", reach_store=False):
...     print(problem.line, problem.message)
2 [defaults]: unknown setting 'dialct' (did you mean 'dialect'?)
4 source 1: path nothing/*.sql matches no file
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from crawler import config
from crawler.errors import ConfigError, CrawlerError
from crawler.registry import SourceSpec, discover, source_types
from graph.errors import GraphError
from parsers import dialects
from parsers.errors import ParsersError

_TOP = ("store", "defaults", "sources")
_HEADER = re.compile(r"^\s*(\[\[?)\s*([\w.-]+)\s*\]\]?")


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    line: int | None
    message: str


def check(path: Path, *, reach_store: bool = True) -> list[Problem]:
    """Every problem of the config at ``path``; none means a crawl can start with it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [Problem(None, f"cannot read it: {error}")]
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        where = re.search(r"line (\d+)", str(error))
        return [Problem(int(where[1]) if where else None, f"not valid TOML: {error}")]
    lines = _Lines(text)
    problems = [Problem(lines.key(None, 0, key), _unknown("", "setting", key, _TOP))
                for key in document if key not in _TOP]
    defaults = document.get("defaults", {})
    if isinstance(defaults, Mapping):
        problems += _settings(defaults, config._DEFAULT_KEYS, "[defaults]", lines, "defaults", 0)
    else:
        problems.append(Problem(lines.key(None, 0, "defaults"), "defaults must be a table"))
    sources = document.get("sources")
    if not isinstance(sources, list) or not sources:
        problems.append(Problem(None, "no [[sources]] to crawl"))
        sources = []
    for number, source in enumerate(sources, start=1):
        if not isinstance(source, Mapping):
            problems.append(Problem(lines.table("sources", number - 1), f"source {number} must be a table"))
            continue
        merged = {**(defaults if isinstance(defaults, Mapping) else {}), **source}
        problems += list(_source(path, merged, source, number, lines))
    problems += _store(path, document.get("store"), lines, reach_store)
    return sorted(problems, key=lambda problem: (problem.line or 0, problem.message))


def _source(path: Path, merged: Mapping[str, Any], own: Mapping[str, Any], number: int,
            lines: _Lines) -> Iterator[Problem]:
    where, index = f"source {number}", number - 1
    yield from _settings(own, config._SPEC_KEYS, where, lines, "sources", index)
    kind = merged.get("type")
    if isinstance(kind, str) and kind not in source_types():
        yield Problem(lines.key("sources", index, "type"), _unknown(where, "source type", kind, source_types()))
    dialect = merged.get("dialect")
    if isinstance(dialect, str):
        try:
            dialects.resolve(dialect)
        except ParsersError as error:
            yield Problem(lines.key("sources", index, "dialect") or lines.key("defaults", 0, "dialect"),
                          f"{where}: {error}")
    try:
        config._rules(merged.get("rules"), where)
    except ConfigError as error:
        yield Problem(lines.key("sources", index, "rules") or lines.table("sources", index), str(error))
    try:
        spec = config.spec_of({**{k: v for k, v in merged.items() if k in config._SPEC_KEYS and k != "rules"},
                               "path": str(path.parent / str(merged.get("path", "")))})
    except (ConfigError, TypeError) as error:
        message = str(error)
        yield Problem(lines.table("sources", index), message if message.startswith(where) else f"{where}: {message}")
        return
    if "path" not in merged:
        yield Problem(lines.table("sources", index), f"{where}: no path")
    elif not (isinstance(kind, str) and kind not in source_types()):
        yield from _matches(spec, merged["path"], where, lines.key("sources", index, "path"))


def _matches(spec: SourceSpec, given: str, where: str, line: int | None) -> Iterator[Problem]:
    try:
        if not discover(spec):
            yield Problem(line, f"{where}: path {given} holds no file of a known type")
    except CrawlerError as error:
        message = str(error)
        yield Problem(line, f"{where}: path {given} matches no file" if "no such file" in message
                      else f"{where}: {message}")


def _settings(table: Mapping[str, Any], allowed: set[str], where: str, lines: _Lines, name: str,
              index: int) -> list[Problem]:
    found = []
    for key, value in table.items():
        line = lines.key(name, index, key)
        if key not in allowed:
            found.append(Problem(line, _unknown(where, "setting", key, sorted(allowed))))
        elif key not in config._TABLES and not isinstance(value, str):
            found.append(Problem(line, f"{where}: {key} must be a string, not {value!r}"))
    return found


def _store(path: Path, store: Any, lines: _Lines, reach: bool) -> list[Problem]:
    if store is None:
        return []
    line = lines.key(None, 0, "store")
    if not isinstance(store, str):
        return [Problem(line, f"store must be a URL string, not {store!r}")]
    url = config._relative_store(store, path.parent)
    if not reach:
        return []
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        folder = Path(url.removeprefix("sqlite:///")).parent
        while not folder.exists():
            folder = folder.parent
        return [] if _writable(folder) else [Problem(line, f"store: cannot create {url} ({folder} is not writable)")]
    import graph

    try:
        graph.open_store(url, read_only=True).close()
    except GraphError as error:
        return [Problem(line, f"store: {error}")]
    return []


def _writable(folder: Path) -> bool:
    import os

    return os.access(folder, os.W_OK)


def _unknown(where: str, what: str, key: str, known: Any) -> str:
    """``[defaults]: unknown setting 'dialct' (did you mean 'dialect'?)``."""
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{where + ': ' if where else ''}unknown {what} {key!r}{hint}"


class _Lines:
    """Where keys stand in the text: tomllib keeps no positions, so the text is scanned."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()

    def table(self, name: str | None, index: int) -> int | None:
        """The header line of table ``name`` (the ``index``-th of an array of tables)."""
        if name is None:
            return 1
        seen = -1
        for number, line in enumerate(self._lines, start=1):
            header = _HEADER.match(line)
            if header and header[2] == name:
                seen += 1
                if seen == index:
                    return number
        return None

    def key(self, name: str | None, index: int, key: str) -> int | None:
        """The line of ``key`` in table ``name`` (None: the top level, before any header)."""
        start = 0 if name is None else self.table(name, index)
        if start is None:
            return None
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for number in range(start + (0 if name is None else 1), len(self._lines) + 1):
            line = self._lines[number - 1]
            if number > 1 and _HEADER.match(line) and (name is None or number > start):
                return None
            if pattern.match(line):
                return number
        return None
