"""The crawls page, ``/crawls``: every crawl's report (counters, timings, issues with a sample)
and what it changed in the lineage against the crawl before: the summary the crawl kept with its
report (:func:`graph.changes.summary`, worked out when it ended; the diff scans whole tables, and
any write would throw a page's worth of them away)."""

from __future__ import annotations

from typing import Any

from dash import dcc, html
from dash.development.base_component import Component

from dashboard import styles
from dashboard.elements import node_href
from graph import Store
from graph.changes import LISTED_AT_MOST, in_order

CRAWLS_SHOWN = 20
CHANGES_SHOWN = LISTED_AT_MOST  # nodes listed per crawl (as many as its report keeps); edges are counted


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
        *(crawl_section(report, _before(numbers, n), newest=n == numbers[0])
          for report, n in zip(reports, numbers, strict=True)),
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


def crawl_section(report: dict[str, Any], before: int, *, newest: bool = False) -> html.Details:
    number = int(report.get("crawl", 0))
    changed = kept_changes(report, before)
    return html.Details([
        html.Summary(f"Crawl {number}: {change_line(changed) if changed is not None else 'changes not kept'}"),
        html.H4("Issues"),
        _issues(report),
        html.H4(f"Changes since crawl {before}"),
        _changes(changed) if changed is not None else _not_kept(before, number),
    ], id=f"crawl-{number}", open=newest)


def kept_changes(report: dict[str, Any], before: int) -> dict[str, Any] | None:
    """The change summary a crawl kept with its report, if it is of the changes since ``before``
    (None: a report from before crawls kept one, or a summary of something else)."""
    kept = report.get("changes")
    if not isinstance(kept, dict) or kept.get("after") != before or not isinstance(kept.get("counts"), dict):
        return None
    return kept


def change_line(changed: dict[str, Any]) -> str:
    """``added 26 datasets, 62 jobs, 52 READS; removed 1 dataset`` (nothing: ``no lineage changed``).

    >>> change_line({"counts": {"added": {"datasets": 2, "READS": 3}, "removed": {"jobs": 1}}})
    'added 2 datasets, 3 READS; removed 1 jobs'
    >>> change_line({"counts": {"removed": {"READS": 1}, "added": {"READS": 3, "datasets": 2}}})
    'added 2 datasets, 3 READS; removed 1 READS'
    >>> change_line({"counts": {}})
    'no lineage changed'
    """
    parts = []
    for change, groups in in_order(changed["counts"]).items():
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


def _changes(changed: dict[str, Any]) -> Component:
    if not changed["counts"]:
        return html.P("No lineage changed.", style=styles.MUTED)
    listed = [item for item in changed.get("listed") or [] if isinstance(item, dict)][:CHANGES_SHOWN]
    items = [html.Li([f"{item.get('change')} {item.get('kind')} ",
                      dcc.Link(str(item.get("name") or item.get("id")), href=node_href(str(item.get("id"))))])
             for item in listed]
    more = int(changed.get("nodes") or 0) - len(listed)
    return html.Ul([*items, *([html.Li(f"... and {more} more", style=styles.MUTED)] if more > 0 else [])],
                   className="crawl-changes")


def _not_kept(before: int, number: int) -> Component:
    return html.P(f"Not kept with this report: the crawl ran before reports kept their changes "
                  f"(`lineage diff {before} {number}` works them out).", style=styles.MUTED)
