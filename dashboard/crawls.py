"""The crawls page, ``/crawls``: every crawl's report (counters, timings, issues with a sample)
and what it changed in the lineage against the crawl before (:func:`graph.changes.diff`)."""

from __future__ import annotations

from typing import Any

from dash import dcc, html
from dash.development.base_component import Component

from dashboard import styles
from dashboard.elements import node_href
from dashboard.parts import by_generation
from graph import Store
from graph.changes import Diff, diff

CRAWLS_SHOWN = 20
CHANGES_SHOWN = 50  # nodes listed per crawl; edges are counted


def crawls_page(store: Store) -> html.Div:
    reports = store.reports(limit=CRAWLS_SHOWN)
    if not reports:
        return html.Div([html.H2("Crawls"), html.P("No crawl yet.", style=styles.MUTED)], id="crawls-page")
    numbers = [int(r.get("crawl", 0)) for r in reports]
    return html.Div([
        html.H2("Crawls"),
        html.P(f"The last {len(reports)} crawls, newest first; open one for its issues and what it changed.",
               style=styles.MUTED),
        html.Table([_header(), *(_row(r) for r in reports)], style=styles.TABLE, id="crawls-table"),
        *(crawl_section(store, report, _before(numbers, n)) for report, n in zip(reports, numbers, strict=True)),
    ], id="crawls-page")


def _before(numbers: list[int], number: int) -> int:
    """The crawl before ``number`` (0: the empty store)."""
    return max((n for n in numbers if n < number), default=max(0, number - 1))


_COLUMNS = ("crawl", "started", "seconds", "files", "records", "new events", "issues", "failed", "rolled back")


def _header() -> html.Tr:
    return html.Tr([html.Th(h, style=styles.TH) for h in _COLUMNS])


def _row(report: dict[str, Any]) -> html.Tr:
    issues = sum((report.get("issues_by_code") or {}).values())
    values = (report.get("crawl"), report.get("started_at"), report.get("seconds"), report.get("files"),
              report.get("records"), report.get("written"), issues, report.get("statements_failed"),
              report.get("statements_rolled_back"))
    return html.Tr([html.Td("" if v is None else str(v), style=styles.TD) for v in values])


def crawl_section(store: Store, report: dict[str, Any], before: int) -> html.Details:
    number = int(report.get("crawl", 0))
    changed = by_generation(store, f"diff:{before}:{number}", lambda: diff(store, before, number))
    return html.Details([
        html.Summary(f"Crawl {number}: {change_line(changed)}"),
        html.H4("Issues"),
        _issues(report),
        html.H4(f"Changes since crawl {before}"),
        _changes(changed),
    ], id=f"crawl-{number}", open=number == int(store.reports(limit=1)[0].get("crawl", 0)))


def change_line(changed: Diff) -> str:
    """``added 26 datasets, 62 jobs, 52 READS; removed 1 dataset`` (nothing: ``no lineage changed``)."""
    parts = []
    for change, groups in changed.counts.items():
        parts.append(f"{change} " + ", ".join(f"{count} {group}" for group, count in groups.items()))
    return "; ".join(parts) or "no lineage changed"


def _issues(report: dict[str, Any]) -> Component:
    by_code = report.get("issues_by_code") or {}
    sample = report.get("issue_sample") or []
    if not by_code:
        return html.P("None.", style=styles.MUTED)
    return html.Div([
        html.Ul([html.Li(f"{code}: {count}") for code, count in sorted(by_code.items())]),
        html.Table([html.Tr([html.Td(str(item.get("code", "")), style=styles.TD),
                             html.Td(_where(item.get("origin") or {}), style=styles.TD),
                             html.Td(str(item.get("message", "")), style={**styles.TD, **styles.MUTED})])
                    for item in sample if isinstance(item, dict)], style=styles.TABLE),
    ], className="crawl-issues")


def _where(origin: dict[str, Any]) -> str:
    place = f"{origin.get('path', '?')}:{origin.get('line', '?')}"
    return place + (f" @{origin['byte_offset']}" if origin.get("byte_offset") is not None else "")


def _changes(changed: Diff) -> Component:
    nodes = [c for c in changed.changes if c.node is not None and c.node.kind in ("dataset", "job", "model",
                                                                                      "model_version")]
    if not changed.changes:
        return html.P("No lineage changed.", style=styles.MUTED)
    items = [html.Li([f"{c.change} {c.node.kind} ", dcc.Link(changed.names.get(c.node.id, c.node.id),
                                                              href=node_href(c.node.id))])
             for c in nodes[:CHANGES_SHOWN] if c.node is not None]
    more = [html.Li(f"... and {len(nodes) - CHANGES_SHOWN} more", style=styles.MUTED)] \
        if len(nodes) > CHANGES_SHOWN else []
    return html.Ul([*items, *more], className="crawl-changes")
