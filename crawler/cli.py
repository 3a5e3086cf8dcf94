"""The `lineage` command-line program.

Readable text by default, ``--json`` for scripts. Errors are one line on stderr and a non-zero
exit, never a traceback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import json
import logging
import os
import re
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

import graph
from crawler import checkconfig, hadoop, parallel, quarantine, render
from crawler import config as crawl_config
from crawler import explain as explaining
from crawler.crawl import ENGINES
from crawler.crawl import crawl as run_crawl
from crawler.errors import ConfigError, CrawlerError, SourceNotFoundError
from crawler.registry import source_types
from crawler.timestamps import normalize
from graph import changes, openlineage
from graph.errors import GraphError, StoreBusyError
from graph.export import dumps, export, load
from graph.lineage import Direction
from graph.model import IssueFilter
from graph.provenance import Provenance
from parsers import NameContext
from parsers.catalog import Catalog
from parsers.errors import ParsersError
from parsers.sql.report import bad_input, describe, unreadable

DEFAULT_STORE = "sqlite:///.lineage/lineage.db"
# Exit statuses of `lineage crawl` (other commands: 1 for an error, 2 for a usage error).
QUARANTINED = 1  # the crawl completed; some records are in the quarantine
SOURCE_UNREADABLE = 3  # a source could not be read at all
STORE_FAILED = 4  # the store failed
STORE_BUSY = 4  # another crawl or import holds the store's writer lock
UNPARSEABLE = 1  # `lineage sql` printed its answer, but some input could not be read as SQL
F = TypeVar("F", bound=Callable[..., Any])


class _Lineage(click.Group):
    """Turns the errors users cause (bad names, missing files) into one clear line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StoreBusyError as error:
            click.echo(f"lineage: error: {error} (--wait SECONDS waits for it)", err=True)
            sys.exit(STORE_BUSY)
        except (CrawlerError, GraphError, ParsersError, OSError) as error:
            click.echo(f"lineage: error: {error}", err=True)
            sys.exit(1)


def store_option(function: F) -> F:
    return click.option(
        "--store", "store_url", default=lambda: os.environ.get("LINEAGE_STORE", DEFAULT_STORE),
        show_default=f"$LINEAGE_STORE or {DEFAULT_STORE}", help="Store URL: sqlite:///path.db",
    )(function)


def wait_option(function: F) -> F:
    return click.option(
        "--wait", type=click.FloatRange(min=0), default=0, show_default=True, metavar="SECONDS",
        help="If another crawl or import is writing the store, wait this long for it; then exit 4 "
             "naming it (host, pid, start).")(function)


def json_option(function: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(function)


def dialect_options(function: F) -> F:
    for option in reversed([
        click.option("--dialect", help="SQL dialect: postgres, mysql, snowflake, bigquery, spark, tsql, ..."),
        click.option("--default-db", "database", help="Database that qualifies bare table names."),
        click.option("--default-schema", "schema", help="Schema that qualifies bare table names."),
    ]):
        function = option(function)
    return function


def _open(url: str) -> graph.Store:
    return graph.open_store(url, read_only=True)


def _emit(as_json: bool, data: Any, text: Callable[[], None]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        text()


PARSE_RECURSION_LIMIT = 20_000


@click.group(cls=_Lineage, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lineage-crawler")
def main() -> None:
    """Lineage Crawler: data lineage inferred from the logs your systems already write."""
    # sqlglot logs every statement it keeps as an opaque command; crawls report those as issues.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    # The neo4j driver logs a connection it cannot make; our error line says it once.
    logging.getLogger("neo4j").setLevel(logging.CRITICAL)
    # sqlglot's parser recurses about 17 frames per parenthesis: generated SQL nested 60 deep
    # would not parse under Python's default limit of 1000.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), PARSE_RECURSION_LIMIT))


@main.command()
@click.argument("paths", nargs=-1)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="A crawl.toml to run.")
@store_option
@dialect_options
@click.option("--namespace", help="Namespace of the datasets, e.g. postgres://host:5432.")
@click.option("--type", "source_type", type=click.Choice(source_types()), help="Read every path as this type.")
@click.option("--log-line-prefix", metavar="PREFIX",
              help="The server's log_line_prefix, for PostgreSQL stderr logs (e.g. '%m [%p] %q%u@%d app=%a '); "
                   "without it, it is worked out from the log's lines.")
@click.option("--stale-after", type=click.IntRange(min=0), default=30, show_default=True,
              help="Days unseen before an edge is marked stale (removed on a later crawl); 0 keeps everything.")
@click.option("--workers", type=click.IntRange(min=1),
              help="Processes that read and parse files (one file in one process), while this one writes in "
                   f"order: the same graph as --workers 1. [default: the cores ({parallel.default_workers()}) when "
                   f"there are over {parallel.AUTO_MIN_BYTES >> 20} MB to read, else 1]")
@click.option("--engine", type=click.Choice(ENGINES), default="local", show_default=True,
              help="Where files are read and parsed: here (see --workers), or as Spark tasks (pyspark, Java 17), "
                   "written here in the same batches: the same graph.")
@click.option("--spark-master", metavar="URL",
              help="With --engine spark: the cluster's master URL (spark://host:7077, yarn, k8s://...) "
                   "[default: local[*]]; executors need the lineage-crawler wheel and the files at the same paths.")
@click.option("--retry-quarantine", is_flag=True, help="First read the quarantined records of the files crawled again "
                                                   "(after a parser upgrade): those that now parse leave it.")
@wait_option
@click.option("--quiet", "-q", is_flag=True, help="No progress and no report: errors only (for cron); the exit "
                                                  "status tells how it went.")
@json_option
def crawl(paths: tuple[str, ...], config_file: str | None, store_url: str, dialect: str | None,
          database: str | None, schema: str | None, namespace: str | None, source_type: str | None,
          log_line_prefix: str | None, stale_after: int, workers: int | None, engine: str, spark_master: str | None,
          retry_quarantine: bool, wait: float, quiet: bool, as_json: bool) -> None:
    """Crawl query logs, SQL files, traces, warehouse histories and Spark event logs (files,
    directories or globs) into the store; each file's type is told from its first bytes.

    One writer at a time: a crawl started while another crawl or an import writes the same store
    waits up to --wait seconds, then exits with status 4 and names the holder. A crawl that was
    killed leaves no lock behind (Neo4j: once its lease runs out, or at once on the same host).

    \b
    Exit status, for cron:
      0  everything was read
      1  the crawl completed, but some records went to the quarantine (lineage issues)
      2  a usage or configuration error: nothing was crawled
      3  a source could not be read at all (missing, or nothing of a file readable)
      4  the store failed, or another crawl holds it (see --wait)"""
    if engine == "spark" and workers is not None:
        raise click.UsageError("--workers is for --engine local: Spark runs as many tasks as it has cores")
    if spark_master is not None and engine != "spark":
        raise click.UsageError("--spark-master is for --engine spark")
    try:
        settings, url = _crawl_settings(paths, config_file, store_url, source_type,
                                        {"dialect": dialect, "database": database, "schema": schema,
                                         "namespace": namespace, "log_line_prefix": log_line_prefix})
        hadoop.check_engine(settings.sources, engine)
    except ConfigError as error:
        raise click.UsageError(str(error)) from error  # (exit status 2)
    try:
        store = graph.open_store(url)
        try:
            with contextlib.ExitStack() as stack:
                progress = None if quiet else stack.enter_context(render.CrawlProgress())
                report = run_crawl(settings.sources, store, wait=wait, progress=progress,
                                   stale_after=dt.timedelta(days=stale_after) if stale_after else None,
                                   retry_quarantine=retry_quarantine, workers=workers, engine=engine,
                                   spark_master=spark_master)
        finally:
            store.close()
    except SourceNotFoundError as error:
        click.echo(f"lineage: error: {error}", err=True)
        sys.exit(SOURCE_UNREADABLE)
    except ConfigError as error:  # (found while discovering: a single file of no known type)
        raise click.UsageError(str(error)) from error
    except StoreBusyError:
        raise  # (the group says it and exits 4)
    except Exception as error:  # noqa: BLE001  (whatever the store's driver raises: one line, status 4)
        if not _is_store_failure(error):
            raise
        click.echo(f"lineage: error: the store failed: {error}", err=True)
        sys.exit(STORE_FAILED)
    if as_json or not quiet:
        _emit(as_json, report.to_dict(), lambda: render.crawl_report(report, url))
    sys.exit(SOURCE_UNREADABLE if report.unreadable_files else QUARANTINED if report.issues else 0)


@main.command(name="check-config")
@click.argument("config_file", type=click.Path(dir_okay=False))
@click.option("--no-store", is_flag=True, help="Do not try to reach the store.")
def check_config(config_file: str, no_store: bool) -> None:
    """Check a crawl.toml without reading any source: unknown keys (with a "did you mean"), wrong
    types, unknown source types and dialects, bad rules, paths and globs that match nothing, a
    store that cannot be reached. One line per problem, FILE:LINE: message; exit 2 if any."""
    problems = checkconfig.check(Path(config_file), reach_store=not no_store)
    for problem in problems:
        where = f"{config_file}:{problem.line}" if problem.line else config_file
        click.echo(f"{where}: {problem.message}", err=True)
    if problems:
        sys.exit(2)
    click.echo(f"{config_file}: ok")


def _crawl_settings(paths: tuple[str, ...], config_file: str | None, store_url: str, source_type: str | None,
                    options: dict[str, str | None]) -> tuple[crawl_config.CrawlConfig, str]:
    """The sources and the store URL of a crawl, from a config file or the paths and options."""
    if config_file:
        if paths:
            raise click.UsageError("give either --config or paths, not both")
        if source_type:
            raise click.UsageError("--type applies to paths; in a config, set type = per source")
        settings = crawl_config.load(config_file, options)
    elif paths:
        settings = crawl_config.from_paths(paths, {**options, "type": source_type})
    else:
        raise click.UsageError("nothing to crawl: give paths or --config")
    unknown = sorted({spec.type for spec in settings.sources if spec.type and spec.type not in source_types()})
    if unknown:  # said before the store is opened: a mistyped type crawls nothing
        raise ConfigError(f"unknown source type {', '.join(map(repr, unknown))} (known: {', '.join(source_types())})")
    explicit = click.get_current_context().get_parameter_source("store_url") == click.core.ParameterSource.COMMANDLINE
    return settings, store_url if explicit or not settings.store else settings.store


def _is_store_failure(error: BaseException) -> bool:
    """An error of the store: ours, SQLite's (a full disk, a file that is no database), the
    Neo4j driver's (the server gone)."""
    return isinstance(error, (GraphError, sqlite3.Error)) or type(error).__module__.startswith("neo4j")


def _walk(name: str, direction: Direction, options: dict[str, Any]) -> None:
    store = _open(options["store_url"])
    root = graph.resolve(store, name)
    kinds = set(options["kinds"]) if options["kinds"] else None
    view = graph.lineage(store, root.id, direction, options["depth"], as_of=_as_of(options["as_of"]), kinds=kinds,
                         direct_only=options["direct_only"])
    _emit(options["as_json"], render.view_json(view), lambda: render.view_text(view))


def _as_of(value: str | None) -> str | None:
    if value is None:
        return None
    stamp = normalize(value)
    if stamp is None:
        raise click.BadParameter(f"{value!r} is not a date or time (use ISO 8601, e.g. 2026-11-01)",
                                 param_hint="--as-of")
    return stamp


def walk_options(function: F) -> F:
    for option in reversed([
        click.argument("name"),
        click.option("--depth", type=click.IntRange(min=1), help="How many jobs away to go (all by default)."),
        click.option("--as-of", "as_of", help="The graph as it was at this time (ISO 8601)."),
        click.option("--kind", "kinds", multiple=True, type=click.Choice(["dataset", "job", "model_version", "column"]),
                     help="Only list nodes of this kind (repeatable)."),
        click.option("--direct-only", "direct_only", is_flag=True,
                     help="Leave out indirect edges (tables read only to filter rows: DELETE ... USING, "
                          "semi-joins; columns that only filter) and what only they reach."),
        store_option,
        json_option,
    ]):
        function = option(function)
    return function


@main.command()
@walk_options
def upstream(name: str, **options: Any) -> None:
    """Datasets and jobs upstream of NAME (a dataset, job or column): where its data comes from."""
    _walk(name, "upstream", options)


@main.command()
@walk_options
def downstream(name: str, **options: Any) -> None:
    """Datasets and jobs downstream of NAME (a dataset, job or column): where its data goes."""
    _walk(name, "downstream", options)


@main.command(name="path")
@click.argument("source")
@click.argument("target")
@store_option
@json_option
def path_command(source: str, target: str, store_url: str, as_json: bool) -> None:
    """The chain of jobs and datasets that carries data from SOURCE to TARGET (or, said so, from
    TARGET to SOURCE when data goes only that way; in --json the chain starts where data starts)."""
    store = _open(store_url)
    start = graph.resolve(store, source).id
    chain = graph.path(store, start, graph.resolve(store, target).id)
    _emit(as_json, [node.to_dict() for node in chain],
          lambda: render.path_text(chain, source, target, backwards=bool(chain) and chain[0].id != start))


@main.command()
@click.argument("name")
@store_option
@json_option
def history(name: str, store_url: str, as_json: bool) -> None:
    """When each edge of NAME appeared, was last seen, went stale and disappeared."""
    store = _open(store_url)
    rows = graph.history(store, graph.resolve(store, name).id)
    _emit(as_json, render.history_json(rows), lambda: render.history_text(rows))


@main.command()
@click.argument("name")
@click.option("--depth", type=click.IntRange(min=1), help="How many jobs away to go (all by default).")
@click.option("--limit", type=click.IntRange(min=1), help="List only the nearest N (the total is still told).")
@store_option
@json_option
def impact(name: str, depth: int | None, limit: int | None, store_url: str, as_json: bool) -> None:
    """Everything downstream of NAME that a change to it would touch, with owners and last use."""
    store = _open(store_url)
    root = graph.resolve(store, name)
    page = graph.impact_page(store, root.id, depth, limit=limit)
    _emit(as_json, render.impact_json(root, page), lambda: render.impact_text(root, page))


@main.command()
@click.argument("name")
@store_option
@json_option
def show(name: str, store_url: str, as_json: bool) -> None:
    """A node's details: kind, first and last seen, users, and the evidence behind its edges."""
    store = _open(store_url)
    node = graph.resolve(store, name)
    details = render.node_details(store, node)
    _emit(as_json, details, lambda: render.node_text(details))


@main.command()
@click.argument("text")
@click.option("--kind", type=click.Choice(["dataset", "job"]), help="Only nodes of this kind.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@store_option
@json_option
def search(text: str, kind: str | None, limit: int, store_url: str, as_json: bool) -> None:
    """Datasets and jobs whose name contains TEXT, best match first."""
    store = _open(store_url)
    found = graph.search(store, text, kind=kind, limit=limit)
    _emit(as_json, [node.to_dict() for node in found], lambda: render.nodes_text(found))


@main.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-e", "--execute", "sql_text", help="SQL text to analyse (it is never run).")
@click.option("--jsonl", "batch", type=click.Path(dir_okay=False, allow_dash=True),
              help="Many inputs: one JSON object per line (id, sql, and optionally dialect, default_db, "
                   "default_schema, schema); prints one JSON line per input, in order.")
@click.option("--schema", "schema_file", type=click.Path(dir_okay=False, exists=True),
              help="Columns of tables, for SELECT * and unqualified columns: JSON {table: {column: type}} or a "
                   "CSV export of information_schema.columns.")
@dialect_options
@json_option
def sql(file: str | None, sql_text: str | None, batch: str | None, schema_file: str | None, dialect: str | None,
        database: str | None, schema: str | None, as_json: bool) -> None:
    """The lineage of SQL text from FILE (or - for stdin), -e or --jsonl, without a store. The
    SQL is never run."""
    if batch is not None:
        if file is not None or sql_text is not None:
            raise click.UsageError("give --jsonl alone, or a FILE or -e SQL")
        _sql_batch(batch, dialect, database, schema, schema_file)
        return
    if (file is None) == (sql_text is None):
        raise click.UsageError("give a FILE, -e SQL or --jsonl FILE (one of them)")
    if sql_text is None:
        sql_text = sys.stdin.read() if file == "-" else Path(str(file)).read_text(encoding="utf-8")
    context = _with_schema(NameContext.of(dialect, database=database, schema=schema), schema_file)
    result = describe(sql_text, context, source_id=file or "-e")
    _emit(as_json, result, lambda: render.sql_text(result))
    if unreadable(result):
        sys.exit(UNPARSEABLE)


def _with_schema(context: NameContext, schema_file: str | None) -> NameContext:
    if schema_file is None:
        return context
    try:
        return dataclasses.replace(context, catalog=Catalog.load(Path(schema_file), context))
    except ParsersError as error:
        raise click.ClickException(str(error)) from error


def _sql_batch(batch: str, dialect: str | None, database: str | None, schema: str | None,
               schema_file: str | None) -> None:
    failed = False
    with click.open_file(batch, encoding="utf-8") as stream:  # "-" is stdin, left open
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                context = NameContext.of(item.get("dialect") or dialect, database=item.get("default_db") or database,
                                         schema=item.get("default_schema") or schema)
                if item.get("schema"):
                    context = dataclasses.replace(context, catalog=Catalog.from_mapping(item["schema"], context))
                else:
                    context = _with_schema(context, schema_file)
                result = describe(str(item["sql"]), context, source_id=str(item.get("id", number)))
            except (ValueError, KeyError, TypeError, AttributeError, ParsersError) as error:
                result = bad_input(f"line {number}", f"line {number}: {error}")
            click.echo(json.dumps(result, sort_keys=True))
            failed = failed or unreadable(result)
    if failed:
        sys.exit(UNPARSEABLE)


@main.command(name="export")
@click.option("--format", "fmt", type=click.Choice(["json", "openlineage"]), default="json", show_default=True,
              help="json: the whole store, for `lineage import`; openlineage: one OpenLineage RunEvent per run "
                   "and a DatasetEvent per drop, truncate or rename, as JSON lines (read back by the "
                   "`openlineage` source).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
@store_option
def export_command(fmt: str, output: str | None, store_url: str) -> None:
    """Every node and edge with its evidence, sorted: equal graphs export byte-identical."""
    store = graph.open_store(store_url, read_only=True)
    text = openlineage.dumps(openlineage.events(store)) if fmt == "openlineage" else dumps(export(store))
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@main.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@store_option
@wait_option
def import_command(file: str, store_url: str, wait: float) -> None:
    """Load an export (from `lineage export`, of any store) into the store, holding its writer
    lock (see `lineage crawl --help`)."""
    text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise click.ClickException(f"{file} is not JSON: {error}") from error
    store = graph.open_store(store_url)
    try:
        with store.writer_lock(wait):
            loaded = load(store, document)
    finally:
        store.close()
    click.echo(f"Loaded {loaded} nodes, runs and edges into {store_url}")


@main.command()
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1), help="List at most N.")
@click.option("--code", "codes", multiple=True, help="Only issues of this code (repeatable).")
@click.option("--severity", type=click.Choice(["error", "warning"]), help="Only issues of this severity.")
@click.option("--file", "path", metavar="PATH", help="Only issues of this file, or of the files under this directory.")
@click.option("--since", type=click.IntRange(min=0), metavar="CRAWL",
              help="Only issues this crawl or a later one quarantined (`lineage reports` numbers them).")
@click.option("--all", "show_all", is_flag=True, help="Acknowledged issues too.")
@click.option("--ack", "acks", multiple=True, metavar="CODE|ID",
              help="Acknowledge the matching issues: all of a code, or one by its id (repeatable); they are then "
                   "listed with --all only.")
@click.option("--clear", is_flag=True, help="Take the matching issues out of the quarantine (give a filter); with "
                                            "--file, the next crawl reads those files again from their start (after a "
                                            "wrong --type).")
@store_option
@wait_option
@json_option
def issues(limit: int, codes: tuple[str, ...], severity: str | None, path: str | None, since: int | None,
           show_all: bool, acks: tuple[str, ...], clear: bool, store_url: str, wait: float, as_json: bool) -> None:
    """What the crawls could not read (the quarantine), with file and offset; how many in all
    when only some are listed. --ack and --clear manage it."""
    where = IssueFilter(codes=codes, severity=severity, path=str(Path(path).resolve()) if path else None,
                        since=since, acknowledged=None if show_all or clear or acks else False)
    if acks or clear:
        _manage_quarantine(where, acks, clear, store_url, wait)
        return
    store = graph.open_store(store_url, read_only=True)
    page = store.quarantine(where, limit)
    hidden = 0 if show_all else store.quarantine(dataclasses.replace(where, acknowledged=True), 0).total
    _emit(as_json, {"total": page.total, "shown": len(page.entries), "acknowledged_hidden": hidden,
                    "issues": [entry.to_dict() for entry in page.entries]},
          lambda: render.quarantine_text(page, hidden))


def _manage_quarantine(where: IssueFilter, acks: tuple[str, ...], clear: bool, store_url: str, wait: float) -> None:
    """Acknowledge (--ack) or clear (--clear) quarantine entries, holding the writer lock."""
    if acks and clear:
        raise click.UsageError("give --ack or --clear, not both")
    if clear and where == IssueFilter():
        raise click.UsageError("--clear takes the issues of a filter out: give --code, --file, --severity or --since")
    store = graph.open_store(store_url)
    try:
        with store.writer_lock(wait):
            targets = [where] if clear else [
                dataclasses.replace(where, key=ack) if _ISSUE_ID.fullmatch(ack)
                else dataclasses.replace(where, codes=(*where.codes, ack)) for ack in acks]
            keys = {entry.key: entry for target in targets for entry in store.quarantine(target).entries}
            if clear:
                cleared = store.release(list(keys))
                rewound = quarantine.rewind(store, sorted({e.issue.origin.path for e in keys.values()})) \
                    if where.path else []
                click.echo(f"Cleared {cleared} issue(s) from the quarantine"
                           + (f"; the next crawl reads {len(rewound)} file(s) again from the start" if rewound else ""))
            else:
                stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
                click.echo(f"Acknowledged {store.acknowledge(list(keys), stamp)} issue(s)")
    finally:
        store.close()


# An issue's id as `lineage issues` shows it (the start of its key); anything else is a code.
_ISSUE_ID = re.compile(r"[0-9a-f]{6,16}")


@main.command()
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@store_option
@json_option
def reports(limit: int, store_url: str, as_json: bool) -> None:
    """The last crawls' reports, newest first, by crawl number (for `lineage diff` and
    `lineage issues --since`)."""
    found = _open(store_url).reports(limit)
    _emit(as_json, found, lambda: render.reports_text(found))


@main.command(name="diff")
@click.argument("first", required=False, type=click.IntRange(min=0), metavar="[A]")
@click.argument("second", required=False, type=click.IntRange(min=0), metavar="[B]")
@store_option
@json_option
def diff_command(first: int | None, second: int | None, store_url: str, as_json: bool) -> None:
    """The lineage that changed between crawls A and B (by default the last two; A alone: from A
    to the last): datasets, jobs, columns and edges (column edges too) added, gone stale and
    removed; counts first, then the list."""
    store = _open(store_url)
    after, upto = changes.crawl_pair(store, first, second)
    found = changes.diff(store, after, upto)
    _emit(as_json, found.to_dict(), lambda: render.diff_text(found))


@main.command()
@store_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind (local only by default).")
@click.option("--port", default=8050, show_default=True, type=click.IntRange(1, 65535))
@click.option("--token", default=lambda: os.environ.get("LINEAGE_TOKEN"),
              help="Access token every request must carry; required off 127.0.0.1. [$LINEAGE_TOKEN]")
@click.option("--threads", "--workers", "threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Requests served at once (waitress's worker threads).")
@click.option("--debug", is_flag=True, help="Flask's development server with Dash's debug tools, not waitress.")
def serve(store_url: str, host: str, port: int, token: str | None, threads: int, debug: bool) -> None:
    """Serve the dashboard (read-only) for the store, with waitress."""
    from dashboard.app import create_app  # the one place the CLI reaches up into the dashboard

    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        raise click.UsageError(f"serving on {host} exposes the lineage: give --token (or $LINEAGE_TOKEN)")
    store = graph.open_store(store_url, read_only=True)
    warm = getattr(store, "warm", None)  # the graph's shape for walks
    loading = warm() if warm is not None else None
    app = create_app(store, token=token)
    if loading is not None:
        # Loaded before the server listens: the first pages would otherwise walk the store its
        # slower way, and share the process with the loading (a hub's page: 1 s, not 0.2 s).
        clock = time.perf_counter()
        click.echo("Loading the graph's shape for walks...", err=True)
        loading.join()
        click.echo(f"Loaded in {time.perf_counter() - clock:.1f} s.", err=True)
    # What is built by now lives as long as the server: out of the collector's full passes, which
    # otherwise walk it again and again while a hub's page allocates (a quarter of the page's time).
    gc.freeze()
    hint = "?token=..." if token else ""
    click.echo(f"Lineage dashboard on http://{host}:{port}/{hint} (store {store.url}); Ctrl-C stops it.")
    if debug:
        app.run(host=host, port=port, debug=True)
        return
    import waitress

    waitress.serve(app.server, host=host, port=port, threads=threads, ident="lineage")


@main.command()
@click.option("--prediction", "where", metavar="FILE:LINE",
              help="A decision in a prediction log: FILE:LINE, or FILE with --key (and --at).")
@click.option("--key", help="The decision's key (customer or request id) in the --prediction FILE.")
@click.option("--at", "at", help="With --key: the decision nearest this time (ISO 8601); the last one by default.")
@click.option("--model", help="A model's name: explain a version of it (--version; its newest by default).")
@click.option("--version", "version", help="With --model: the version to explain.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True),
              help="The crawl.toml whose prediction_log source reads FILE: its field mapping.")
@click.option("--field", "fields", multiple=True, metavar="NAME=COLUMN",
              help="Where FILE keeps a field, without --config (timestamp, model, version, features, output, key).")
@store_option
@json_option
def explain(where: str | None, key: str | None, at: str | None, model: str | None, version: str | None,
            config_file: str | None, fields: tuple[str, ...], store_url: str, as_json: bool) -> None:
    """Why a model decided as it did: the provenance chain of the model version behind a
    prediction (or of a model's version), from the training run (when, who, code version,
    hyperparameters, metrics) to the training data, the jobs that built it and the raw sources,
    each with its evidence; and the other versions serving in the same period. Feature values are
    read from the log for the line asked about and never stored."""
    if (where is None) == (model is None):
        raise click.UsageError("give --prediction FILE:LINE (or FILE --key K) or --model NAME")
    store = _open(store_url)
    prediction = None
    if where is not None:
        mapping = dict(item.split("=", 1) for item in fields if "=" in item)
        spec = explaining.source_of(Path(where if key else where.rpartition(":")[0] or where), config_file, mapping)
        found = explaining.read_prediction(spec, where, key, _as_of(at))
        provenance: Provenance = explaining.explain_prediction(store, found)
        prediction = found.to_dict()
    else:
        assert model is not None
        provenance = explaining.explain_model(store, model, version)
    _emit(as_json, render.explain_json(provenance, prediction), lambda: render.explain_text(provenance, prediction))
