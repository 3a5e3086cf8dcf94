"""Extraction rules as data: a regex with named groups, and what a match means.

A rule finds one of three things in a log message:

- a dataset read or written: a group ``dataset``, ``path``, ``uri`` or ``table`` (a table name,
  qualified as the source's dialect and defaults say), and a direction, fixed (``read`` or
  ``write``) or told by a ``direction`` group's word (``read``, ``load``, ``scan``, ``from`` ...
  against ``write``, ``save``, ``insert``, ``to``, ``output`` ...); an optional ``jdbc`` group
  holding a JDBC URL names the table's server;
- SQL (a group ``sql``), sent to the SQL engine: its tables join the run's inputs and outputs;
- facts about the run (any other named groups: ``code_version``, ``script``, ``image``,
  ``mlflow_run_id``, ``package`` with ``version``), kept on the run as its facets.

>>> rule = user_rule({"pattern": r"wrote (?P<dataset>s3://\\S+)", "direction": "write"})
>>> [(m.direction, m.dataset) for m in rule.find("INFO wrote s3://lake/x.parquet")]
[('write', 's3://lake/x.parquet')]
>>> user_rule({"pattern": "(?P<dataset>x"})
Traceback (most recent call last):
...
parsers.errors.RuleError: pattern is not a valid regex: missing ), unterminated subpattern at position 0
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from parsers.errors import RuleError

Direction = Literal["read", "write"]
DATASET_GROUPS = ("dataset", "path", "uri", "table")
READ_WORDS = frozenset({
    "read", "reads", "reading", "load", "loads", "loaded", "loading", "scan", "scans", "scanned", "scanning",
    "from", "fetch", "fetched", "fetching", "download", "downloaded", "downloading", "input", "inputs",
    "query", "queried", "querying", "select", "selected", "consume", "consumed", "source"})
WRITE_WORDS = frozenset({
    "write", "writes", "wrote", "written", "writing", "save", "saves", "saved", "saving", "insert", "inserts",
    "inserted", "inserting", "to", "into", "output", "outputs", "upload", "uploaded", "uploading", "export",
    "exported", "exporting", "store", "stored", "storing", "persist", "persisted", "dump", "dumped", "put",
    "create", "created", "overwrite", "overwrote", "overwritten", "append", "appended", "sink", "target",
    "publish", "published"})
_WORD = re.compile(r"[A-Za-z]+")
USER_KEYS = frozenset({"pattern", "direction", "name"})


@dataclasses.dataclass(frozen=True, slots=True)
class Match:
    """What one rule found in one message."""

    rule: str
    direction: Direction | None = None
    dataset: str | None = None
    is_table: bool = False
    jdbc: str | None = None
    sql: str | None = None
    facts: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """A regex with named groups and what its matches mean (see the module's docstring)."""

    name: str
    pattern: re.Pattern[str]
    direction: Direction | None = None
    # A cheap test first: a rule whose message lacks every one of these words is not run.
    needs: tuple[str, ...] = ()

    def find(self, message: str) -> Iterator[Match]:
        if self.needs and not any(word in message for word in self.needs):
            return
        groups = self.pattern.groupindex
        for found in self.pattern.finditer(message):
            target = next((group for group in DATASET_GROUPS if group in groups and found[group]), None)
            if target is not None:
                direction = self.direction or _direction(message, found, target)
                if direction is not None:
                    yield Match(rule=self.name, direction=direction, dataset=found[target].strip(),
                                is_table=target == "table", jdbc=found["jdbc"] if "jdbc" in groups else None)
            elif "sql" in groups and found["sql"]:
                yield Match(rule=self.name, sql=found["sql"].strip())
            else:
                facts = tuple((key, value) for key, value in found.groupdict().items()
                              if value and key not in ("direction", "jdbc"))
                if facts:
                    yield Match(rule=self.name, facts=facts)


def _direction(message: str, found: re.Match[str], target: str) -> Direction | None:
    """The direction word nearest before the dataset, in the span the ``direction`` group opens:
    "read the config and wrote s3://b" wrote s3://b."""
    if "direction" not in found.re.groupindex or found["direction"] is None:
        return None
    if found.start("direction") > found.start(target):  # "dbtable=x for read": the word after it
        return word_direction(found["direction"])
    span = message[found.start("direction"):found.start(target)]
    for word in reversed(_WORD.findall(span)):
        kind = word_direction(word)
        if kind is not None:
            return kind
    return None


def word_direction(word: str) -> Direction | None:
    """Whether a word says a read or a write.

    >>> word_direction("Loaded"), word_direction("into"), word_direction("table")
    ('read', 'write', None)
    """
    word = word.lower()
    return "read" if word in READ_WORDS else "write" if word in WRITE_WORDS else None


def user_rule(settings: Mapping[str, Any], number: int = 1) -> Rule:
    """A rule from the crawl config: ``{pattern = "...", direction = "read"|"write", name = "..."}``;
    a ``direction`` key is needed unless the pattern has a ``direction`` group. Raises
    :class:`RuleError` saying what is wrong."""
    if not isinstance(settings, Mapping):
        raise RuleError(f"a rule is a table like {{ pattern = \"...\", direction = \"write\" }}, not {settings!r}")
    unknown = set(settings) - USER_KEYS
    if unknown:
        raise RuleError(f"unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(USER_KEYS))})")
    pattern, direction = settings.get("pattern"), settings.get("direction")
    if not isinstance(pattern, str) or not pattern:
        raise RuleError("pattern must be a non-empty string (a regex)")
    compiled = _compile(pattern)
    groups = set(compiled.groupindex)
    if not groups & {*DATASET_GROUPS, "sql"}:
        raise RuleError(f"pattern {pattern!r} has no named group dataset, path, uri, table or sql: "
                        "write (?P<dataset>...) around what names the dataset")
    if direction is not None and direction not in ("read", "write"):
        raise RuleError(f"direction must be \"read\" or \"write\", not {direction!r}")
    if direction is None and "direction" not in groups and not groups & {"sql"}:
        raise RuleError("give direction = \"read\" or \"write\", or a (?P<direction>...) group whose word tells it")
    name = settings.get("name") or f"user_rule_{number}"
    return Rule(name=str(name), pattern=compiled, direction=direction)


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as error:
        raise RuleError(f"pattern is not a valid regex: {error}") from error


@functools.lru_cache(maxsize=64)
def user_rules(settings: tuple[tuple[tuple[str, str], ...], ...]) -> tuple[Rule, ...]:
    """Rules from their settings as a record carries them (validated when the config loaded)."""
    return tuple(user_rule(dict(items), number) for number, items in enumerate(settings, start=1))


# -- Built-in rules ------------------------------------------------------------------------------
_DIRECTION_WORDS = "|".join(sorted(READ_WORDS | WRITE_WORDS, key=len, reverse=True))
_DIR = rf"(?P<direction>\b(?i:{_DIRECTION_WORDS})\b)"
# Object stores and file systems by scheme; a bare absolute path of two segments or more.
URI = r"(?:s3a?|s3n|gs|gcs|abfss?|wasbs?|hdfs|dbfs|file):/{1,3}[^\s'\"<>,;()\[\]{}`]+"
_BARE_PATH = r"(?<![\w:/.~-])/(?:[\w.=@+-]+/)+[\w.=@*+-]+"
JDBC = r"jdbc:[a-z0-9]+(?::[a-z]+)?:(?://|@)[^\s'\"<>,;()]+"
_TABLE = r"[`\"\[]?[A-Za-z_][\w$]*[`\"\]]?(?:\.[`\"\[]?[A-Za-z_][\w$]*[`\"\]]?){0,2}"


def _rule(name: str, pattern: str, direction: Direction | None = None, *needs: str) -> Rule:
    return Rule(name=name, pattern=re.compile(pattern), direction=direction, needs=needs)


# Any format: URIs and paths after a direction word, tables in known phrases, SQL in known
# phrases, and the run's code: a git commit, an image digest, a script, package versions.
COMMON: tuple[Rule, ...] = (
    _rule("uri", rf"{_DIR}[^\n]{{0,80}}?(?P<uri>{URI}|{_BARE_PATH})"),
    _rule("table", rf"{_DIR}(?:\s+[\w-]+){{0,4}}?\s+(?i:table|view)\s+(?P<table>{_TABLE})"
                   rf"(?:[^\n]{{0,40}}?(?P<jdbc>{JDBC}))?"),
    _rule("jdbc_dbtable", rf"(?P<jdbc>{JDBC})[^\n]{{0,40}}?\bdbtable\s*[=:]\s*['\"]?(?P<table>{_TABLE})"
                          rf"[^\n]{{0,40}}?\b(?P<direction>(?i:read|write|load|save|from|to|into))\b", None, "dbtable"),
    _rule("sql", r"(?i:\b(?:running statement|executing(?: sql| query)?|sql|query)\s*:\s*)"
                 r"(?P<sql>(?i:with|select|insert|update|delete|merge|create|copy|replace|upsert|unload)\b.*?)"
                 r"(?:,\s*parameters:.*)?$"),
    _rule("git_commit", r"(?i:\b(?:git[ _-]?)?(?:commit|sha|revision|rev)\b(?:\s+id)?\s*[:=]?\s*)"
                        r"(?P<code_version>[0-9a-f]{7,40})\b", None, "commit", "sha", "rev", "Commit", "SHA", "Rev"),
    _rule("image", r"(?P<image>[\w.-]+(?::\d+)?/[\w./-]+(?::[\w.-]+)?@sha256:[0-9a-f]{64})", None, "sha256:"),
    _rule("script", r"(?i:\b(?:running|executing|script|command|entry ?point|file)\b)[^\n]{0,80}?"
                    r"(?P<script>(?:[\w.~-]*/)*[\w.-]+\.(?:py|sh|sql|jar|R|scala|ipynb))\b"),
    _rule("pip_pin", r"(?<![\w.-])(?P<package>[A-Za-z][\w.-]*)==(?P<version>\d[\w.+-]*)", None, "=="),
    _rule("package_version", r"\b(?P<package>[A-Z][\w-]*|[a-z][\w-]*) version (?P<version>v?\d+(?:\.\d+)+)\b",
          None, " version "),
    _rule("mlflow_run", r"(?i:\bmlflow\b[^\n]{0,60}?\brun(?:[ _-]?id)?\b\s*[:=]?\s*)['\"]?"
                        r"(?P<mlflow_run_id>[0-9a-f]{32})",
          None, "mlflow", "MLflow", "MLFlow"),
)

# Spark's driver log (log4j, local mode also shows its executor's lines): files scanned and
# split, task outputs committed (their directory is what the job wrote), the warehouse.
SPARK_DRIVER: tuple[Rule, ...] = (
    _rule("spark_file_scan", r"^Reading File path: (?P<path>\S+?), range:", "read", "Reading File path"),
    _rule("spark_input_split", r"input split: (?P<path>\S+?):\d+\+\d+$", "read", "input split"),
    _rule("spark_task_output", r"^Saved output of task '[^']*' to (?P<path>\S+?)/_temporary/", "write",
          "Saved output"),
    _rule("spark_warehouse", r"^Warehouse path is '(?P<warehouse>[^']+)'", None, "Warehouse path"),
    _rule("spark_app", r"^Submitted application: (?P<spark_app>.+)$", None, "Submitted application"),
)

# Airflow's task logs: the try's identity as the task runner exports it (2.x), the DAG file it
# ran (2.x's ``--subdir``; 3.x says it in a field; ``script`` is what the task's own lines name).
AIRFLOW: tuple[Rule, ...] = (
    _rule("airflow_context", r"AIRFLOW_CTX_DAG_ID='(?P<_dag_id>[^']+)' AIRFLOW_CTX_TASK_ID='(?P<_task_id>[^']+)'"
                             r".*?AIRFLOW_CTX_DAG_RUN_ID='(?P<_run_id>[^']+)'", None, "AIRFLOW_CTX_"),
    _rule("airflow_dag_file", r"'--subdir', '(?P<dag_file>[^']+)'", None, "--subdir"),
)
