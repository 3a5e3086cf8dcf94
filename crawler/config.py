"""Crawl configuration: a TOML file (for nightly runs) or command-line paths and options.

```toml
store = "sqlite:///lineage/lineage.db"

[defaults]                      # apply to every source unless it says otherwise
dialect = "postgres"
namespace = "postgres://warehouse:5432"
database = "credit"

[[sources]]
path = "elt/"                   # a file, a directory or a glob; relative to this file
[[sources]]
path = "traces/*.jsonl"
type = "sql_trace"
fields = { query = "query_text", user = "usename" }
[[sources]]
path = "logs/app"
type = "app_log"                # job logs: the user's extraction rules (see parsers/joblogs/rules.py)
rules = [{ pattern = "wrote (?P<dataset>s3://\\S+)", direction = "write" }]
```
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crawler import hadoop
from crawler.errors import ConfigError
from crawler.registry import FieldMap, SourceSpec
from parsers.errors import RuleError
from parsers.joblogs.rules import user_rule

_SPEC_KEYS = {"path", "type", "dialect", "namespace", "database", "schema", "fields", "log_line_prefix",
              "include", "exclude", "rules"}
_DEFAULT_KEYS = _SPEC_KEYS - {"path", "type"}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CrawlConfig:
    store: str | None
    sources: tuple[SourceSpec, ...]


def load(path: str | Path, overrides: Mapping[str, str | None] | None = None) -> CrawlConfig:
    """Read a crawl config; ``overrides`` (from the command line) win over its defaults."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigError(f"no such config file: {path}") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    unknown = set(document) - {"store", "defaults", "sources"}
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    defaults = _table(document.get("defaults", {}), _DEFAULT_KEYS, f"{path} [defaults]")
    defaults.update({k: v for k, v in (overrides or {}).items() if v is not None})
    sources = document.get("sources") or []
    if not isinstance(sources, list) or not sources:
        raise ConfigError(f"{path}: no [[sources]] to crawl")
    specs = []
    for number, source in enumerate(sources, start=1):
        settings = {**defaults, **_table(source, _SPEC_KEYS, f"{path} source {number}")}
        settings["rules"] = _rules(settings.get("rules"), f"{path} source {number}")
        if "path" not in settings:
            raise ConfigError(f"{path} source {number}: no path")
        if not hadoop.is_uri(settings["path"]):  # (a URI names the same file from anywhere)
            settings["path"] = str(path.parent / settings["path"])
        specs.append(spec_of(settings))
    store = document.get("store")
    if store is not None and not isinstance(store, str):
        raise ConfigError(f"{path}: store must be a URL string, not {store!r}")
    return CrawlConfig(store=_relative_store(store, path.parent) if store else None, sources=tuple(specs))


def from_paths(paths: Sequence[str], options: Mapping[str, Any]) -> CrawlConfig:
    """The config of ``lineage crawl PATH... --dialect D ...``."""
    settings = {k: v for k, v in options.items() if v is not None}
    return CrawlConfig(store=None, sources=tuple(spec_of({**settings, "path": p}) for p in paths))


def spec_of(settings: Mapping[str, Any]) -> SourceSpec:
    fields = settings.get("fields")
    if fields is not None and (not isinstance(fields, Mapping)
                               or not all(isinstance(name, str) for name in fields.values())):
        raise ConfigError("fields must be a table of trace field names (strings)")
    lists = {key: _filters(key, settings.get(key)) for key in ("include", "exclude")}
    return SourceSpec(**{**settings, **lists, "fields": FieldMap.of(fields)})


_FILTER_FIELDS = {"user", "database", "application", "kind"}


def _filters(key: str, value: Any) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or set(value) - _FILTER_FIELDS:
        raise ConfigError(f"{key} must be a table with lists under {', '.join(sorted(_FILTER_FIELDS))}")
    return {field: tuple(str(v) for v in (values if isinstance(values, list) else [values]))
            for field, values in value.items()}


def _table(value: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a table")
    unknown = set(value) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    for key, setting in value.items():
        if key not in _TABLES and not isinstance(setting, str):
            raise ConfigError(f"{where}: {key} must be a string, not {setting!r}")
    return dict(value)


_TABLES = {"fields", "include", "exclude", "rules"}


def _rules(value: Any, where: str) -> tuple[dict[str, str], ...]:
    """Job-log extraction rules, each checked now: a bad one is a clear error, not a crawl's surprise."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(f"{where}: rules must be a list of tables like "
                          '{ pattern = "wrote (?P<dataset>s3://\\S+)", direction = "write" }')
    for number, rule in enumerate(value, start=1):
        try:
            user_rule(rule, number)
        except RuleError as error:
            raise ConfigError(f"{where}: rules[{number}]: {error}") from error
    return tuple(dict(rule) for rule in value)


def _relative_store(url: str, base: Path) -> str:
    """A relative SQLite path in a config file is relative to that file."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(base / url[len(prefix):])
    return url
