"""The `lineage` command-line program.

Readable text by default, ``--json`` for scripts. Errors are one line on stderr and a non-zero
exit, never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

import graph
from crawler import config as crawl_config
from crawler import render
from crawler.crawl import crawl as run_crawl
from crawler.errors import CrawlerError
from crawler.sources import source_types
from graph.errors import GraphError
from graph.export import dumps, export
from graph.lineage import Direction
from parsers import NameContext
from parsers.errors import ParsersError
from parsers.sql.report import describe

DEFAULT_STORE = "sqlite:///.lineage/lineage.db"
F = TypeVar("F", bound=Callable[..., Any])


class _Lineage(click.Group):
    """Turns the errors users cause (bad names, missing files) into one clear line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (CrawlerError, GraphError, ParsersError, OSError) as error:
            click.echo(f"lineage: error: {error}", err=True)
            sys.exit(1)


def store_option(function: F) -> F:
    return click.option(
        "--store", "store_url", default=lambda: os.environ.get("LINEAGE_STORE", DEFAULT_STORE),
        show_default=f"$LINEAGE_STORE or {DEFAULT_STORE}", help="Store URL: sqlite:///path.db",
    )(function)


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


def _open(url: str) -> tuple[graph.Store, graph.LineageIndex]:
    store = graph.open_store(url, read_only=True)
    return store, graph.LineageIndex(store)


def _emit(as_json: bool, data: Any, text: Callable[[], None]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        text()


@click.group(cls=_Lineage, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lineage-crawler")
def main() -> None:
    """Lineage Crawler: data lineage inferred from the logs your systems already write."""
    # sqlglot logs every statement it keeps as an opaque command; crawls report those as issues.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)


@main.command()
@click.argument("paths", nargs=-1)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="A crawl.toml to run.")
@store_option
@dialect_options
@click.option("--namespace", help="Namespace of the datasets, e.g. postgres://host:5432.")
@click.option("--type", "source_type", type=click.Choice(source_types()), help="Read every path as this type.")
@json_option
def crawl(paths: tuple[str, ...], config_file: str | None, store_url: str, dialect: str | None,
          database: str | None, schema: str | None, namespace: str | None, source_type: str | None,
          as_json: bool) -> None:
    """Crawl SQL files and query traces (files, directories or globs) into the store."""
    options = {"dialect": dialect, "database": database, "schema": schema, "namespace": namespace}
    if config_file:
        settings = crawl_config.load(config_file, options)
        if paths:
            raise click.UsageError("give either --config or paths, not both")
    elif paths:
        settings = crawl_config.from_paths(paths, {**options, "type": source_type})
    else:
        raise click.UsageError("nothing to crawl: give paths or --config")
    explicit = click.get_current_context().get_parameter_source("store_url") == click.core.ParameterSource.COMMANDLINE
    url = store_url if explicit or not settings.store else settings.store
    store = graph.open_store(url)
    try:
        report = run_crawl(settings.sources, store)
    finally:
        store.close()
    _emit(as_json, report.to_dict(), lambda: render.crawl_report(report, url))


def _walk(name: str, direction: Direction, depth: int | None, store_url: str, as_json: bool) -> None:
    store, index = _open(store_url)
    root = graph.resolve(index, name)
    view = graph.lineage(index, root.id, direction, depth)
    _emit(as_json, render.view_json(view), lambda: render.view_text(view))


depth_option = click.option("--depth", type=click.IntRange(min=1), help="How many jobs away to go (all by default).")


@main.command()
@click.argument("name")
@depth_option
@store_option
@json_option
def upstream(name: str, depth: int | None, store_url: str, as_json: bool) -> None:
    """Datasets and jobs upstream of NAME (a dataset or job): where its data comes from."""
    _walk(name, "upstream", depth, store_url, as_json)


@main.command()
@click.argument("name")
@depth_option
@store_option
@json_option
def downstream(name: str, depth: int | None, store_url: str, as_json: bool) -> None:
    """Datasets and jobs downstream of NAME (a dataset or job): where its data goes."""
    _walk(name, "downstream", depth, store_url, as_json)


@main.command()
@click.argument("name")
@store_option
@json_option
def impact(name: str, store_url: str, as_json: bool) -> None:
    """Everything downstream of NAME that a change to it would touch, with owners and last use."""
    store, index = _open(store_url)
    root = graph.resolve(index, name)
    rows = graph.impact(index, root.id)
    _emit(as_json, render.impact_json(root, rows), lambda: render.impact_text(root, rows))


@main.command()
@click.argument("name")
@store_option
@json_option
def show(name: str, store_url: str, as_json: bool) -> None:
    """A node's details: kind, first and last seen, users, and the evidence behind its edges."""
    store, index = _open(store_url)
    node = graph.resolve(index, name)
    details = render.node_details(store, index, node)
    _emit(as_json, details, lambda: render.node_text(details))


@main.command()
@click.argument("text")
@click.option("--kind", type=click.Choice(["dataset", "job"]), help="Only nodes of this kind.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@store_option
@json_option
def search(text: str, kind: str | None, limit: int, store_url: str, as_json: bool) -> None:
    """Datasets and jobs whose name contains TEXT, best match first."""
    store, index = _open(store_url)
    found = graph.search(index, text, kind=kind, limit=limit)
    _emit(as_json, [node.to_dict() for node in found], lambda: render.nodes_text(found))


@main.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-e", "--execute", "sql_text", help="SQL text to analyse (it is never run).")
@dialect_options
@json_option
def sql(file: str | None, sql_text: str | None, dialect: str | None, database: str | None,
        schema: str | None, as_json: bool) -> None:
    """The lineage of SQL text from FILE (or - for stdin) or -e, without a store."""
    if (file is None) == (sql_text is None):
        raise click.UsageError("give a FILE or -e SQL (one of them)")
    if sql_text is None:
        sql_text = sys.stdin.read() if file == "-" else Path(str(file)).read_text(encoding="utf-8")
    context = NameContext.of(dialect, database=database, schema=schema)
    result = describe(sql_text, context, source_id=file or "-e")
    _emit(as_json, result, lambda: render.sql_text(result))


@main.command(name="export")
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
@store_option
def export_command(fmt: str, output: str | None, store_url: str) -> None:
    """Every node and edge with its evidence, sorted: equal graphs export byte-identical."""
    store = graph.open_store(store_url, read_only=True)
    text = dumps(export(store))
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@main.command()
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@store_option
@json_option
def issues(limit: int, store_url: str, as_json: bool) -> None:
    """What the crawls could not read (the quarantine), with file and offset."""
    store = graph.open_store(store_url, read_only=True)
    found = store.issues(limit)
    _emit(as_json, [issue.to_dict() for issue in found], lambda: render.issues_text(found))


@main.command()
@store_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind (local only by default).")
@click.option("--port", default=8050, show_default=True, type=click.IntRange(1, 65535))
def serve(store_url: str, host: str, port: int) -> None:
    """Serve the dashboard (read-only) for the store."""
    from dashboard.app import create_app  # the one place the CLI reaches up into the dashboard

    store = graph.open_store(store_url, read_only=True)
    click.echo(f"Lineage dashboard on http://{host}:{port}/ (store {store_url}); Ctrl-C stops it.")
    create_app(store).run(host=host, port=port, debug=False)

