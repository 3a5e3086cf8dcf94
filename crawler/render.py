"""How the CLI shows things: text for people (rich tables), plain data for ``--json``."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

import graph
from crawler.crawl import CrawlReport
from graph.changes import Diff
from graph.lineage import (
    HistoryRow,
    ImpactPage,
    LineageView,
    applications,
    counted,
    direct_edges,
    impact_counts,
    impact_kind,
    owners,
    top_users,
)
from graph.model import Quarantine
from graph.provenance import Provenance
from parsers import Evidence, ParseIssue

console = Console(highlight=False, soft_wrap=True)
if not console.is_terminal:
    console.width = 160  # piped or logged from cron: no terminal to fit, keep table rows whole


def _table(*columns: str, title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column)
    return table


def crawl_report(report: CrawlReport, url: str) -> None:
    counts = report.graph
    console.print(
        f"Crawled {report.files} file(s), {report.records} record(s) in {report.seconds:.2f}s into {url} "
        f"(crawl {report.crawl})\n"
        f"  events: {report.events} ({report.written} new, {report.already_seen} already stored)\n"
        f"  graph:  {counts.get('dataset', 0)} datasets, {counts.get('column', 0)} columns, "
        f"{counts.get('job', 0)} jobs, "
        f"{counts.get('run', 0)} runs, "
        f"{sum(v for k, v in counts.items() if k.isupper() and k != 'OF')} edges\n"
        f"  issues: {report.issues}"
        + (" (" + ", ".join(f"{code}: {n}" for code, n in report.issues_by_code.items()) + ")" if report.issues else "")
    )
    if report.statements_failed or report.statements_rolled_back or report.filtered:
        console.print(f"  not used: {report.statements_failed} failed and {report.statements_rolled_back} rolled-back "
                      f"statements, {report.filtered} filtered out")
    for kind, counts in report.garbage.items():
        console.print(f"  {kind.replace('_', ' ')}: " + ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
    if report.retried:
        console.print(f"  quarantine retried: {report.retried.get('released', 0)} record(s) now read and released, "
                      f"{report.retried.get('still', 0)} still quarantined")
    for note in report.notes:
        console.print(f"  note: {note}")
    if report.skipped_files:
        shown = ", ".join(_short_path(path) for path in report.skipped_sample)
        more = f" and {report.skipped_files - len(report.skipped_sample)} more" if report.skipped_files > len(
            report.skipped_sample) else ""
        console.print(f"  skipped: {report.skipped_files} file(s) of no known type: {shown}{more} "
                      "(give the type with --type, or type = in the config)")
    if report.unreadable_files:
        console.print("  could not read at all: " + ", ".join(_short_path(path) for path in report.unreadable_files))
    if report.held_back:
        console.print(f"  held back: the last entry of {len(report.held_back)} log(s) still being written "
                      "(read next time): " + ", ".join(_short_path(path) for path in report.held_back[:5]))
    if report.issue_sample:
        issues_text(list(report.issue_sample[:5]))


class CrawlProgress:
    """Progress of a long crawl on stderr (never stdout, which ``--json`` owns): a live bar on a
    terminal, a plain line every ``every`` seconds when logged (cron, systemd)."""

    def __init__(self, *, every: float = 30.0) -> None:
        self._console = Console(stderr=True, highlight=False)
        self._every = every
        self._last = 0.0
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> CrawlProgress:
        if self._console.is_terminal:
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                 TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                                 console=self._console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task("crawling", total=None, rate="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, progress: Any) -> None:
        rate = progress.records / progress.seconds if progress.seconds > 0 else 0.0
        files = f"{progress.files_done}/{progress.files} files"
        if self._bar is not None:
            self._bar.update(self._task, completed=progress.bytes_done, total=progress.bytes or None,
                             description=f"{files} {Path(progress.path or '').name}", rate=f"{rate:,.0f} records/s")
            return
        finished = progress.files_done == progress.files and self._last > 0  # (a short crawl says nothing)
        if progress.seconds - self._last < self._every and not finished:
            return
        self._last = progress.seconds
        share = progress.bytes_done / progress.bytes if progress.bytes else 1.0
        eta = progress.seconds * (1 - share) / share if share > 0 else 0.0
        self._console.print(f"crawl: {files}, {progress.bytes_done / 1e6:,.1f} of {progress.bytes / 1e6:,.1f} MB "
                            f"({share:.0%}), {progress.records:,} records ({rate:,.0f}/s), about {eta:,.0f} s left")


def _where(issue: ParseIssue) -> str:
    origin = issue.origin
    where = _short_path(origin.path)
    if origin.line is not None:
        where += f":{origin.line}"
    if origin.byte_offset is not None:
        where += f" @{origin.byte_offset}"
    return where


def _short_path(path: str) -> str:
    """Paths under the working directory are shown relative to it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def issues_text(issues: list[ParseIssue]) -> None:
    if not issues:
        console.print("No issues.")
        return
    table = _table("severity", "code", "where", "message")
    for issue in issues:
        table.add_row(issue.severity, issue.code, _where(issue), issue.message)
    console.print(table)


def view_json(view: LineageView) -> dict[str, Any]:
    return {
        "root": view.root,
        "direction": view.direction,
        "nodes": [
            {**node.to_dict(), "distance": view.distance[node_id]}
            for node_id, node in sorted(view.nodes.items(), key=lambda item: (view.distance[item[0]], item[0]))
        ],
        "edges": [edge.to_dict() for edge in view.edges],
    }


def view_text(view: LineageView) -> None:
    root = view.nodes.get(view.root)
    console.print(f"{view.direction} of {root.kind if root else ''} {root.title if root else view.root}")
    table = _table("distance", "kind", "name", "last seen")
    others = [node for node_id, node in view.nodes.items() if node_id != view.root]
    for node in sorted(others, key=lambda n: (view.distance[n.id], n.kind, n.name)):
        table.add_row(str(view.distance[node.id]), node.kind, node.title, node.last_seen or "")
    if table.row_count:
        console.print(table)
    else:
        console.print(f"nothing {view.direction}")


def impact_json(root: graph.Node, page: ImpactPage) -> dict[str, Any]:
    return {
        "root": root.to_dict(),
        "total": page.total,
        "impacted": [
            {"id": r.node.id, "kind": r.node.kind, "name": r.node.title, "distance": r.distance,
             "last_seen": r.last_seen, "owners": list(r.owners)}
            for r in page.rows
        ],
    }


def impact_text(root: graph.Node, page: ImpactPage) -> None:
    rows = page.rows
    told = [counted(count, kind) for kind, count in impact_counts(rows)]
    kinds = ", ".join(told[:-1]) + " and " + told[-1] if len(told) > 1 else (told or ["nothing else"])[0]
    if page.total > len(rows):
        console.print(f"Changing {root.title} touches {page.total} node(s); the nearest {len(rows)}: {kinds}")
    else:
        console.print(f"Changing {root.title} touches {kinds}")
    table = _table("distance", "kind", "name", "last used", "owners")
    for r in rows:
        table.add_row(str(r.distance), impact_kind(r.node).replace("_", " "), r.node.title, r.last_seen or "",
                      ", ".join(r.owners))
    if rows:
        console.print(table)


def node_details(store: graph.Store, node: graph.Node) -> dict[str, Any]:
    """A node with its direct edges, each with the evidence (log line and SQL) behind it."""
    edges = [{**edge.to_dict(), "evidence": [e.to_dict() for e in store.evidence(edge.key)]}
             for edge in direct_edges(store, node.id)]
    usage = [{"user": u.user, "role": u.role, "count": u.count, "last_seen": u.last_seen}
             for u in store.usage(node.id)]
    members = [{"name": m.name, "count": m.count, "first_seen": m.first_seen, "last_seen": m.last_seen}
               for m in store.members(node.id)]
    return {"node": node.to_dict(), "owners": list(owners(store, node.id)),
            "top_users": list(top_users(store, node.id)), "applications": list(applications(store, node.id)),
            "usage": usage, "members": members, "edges": edges}


def node_text(details: dict[str, Any]) -> None:
    node = details["node"]
    console.print(f"[bold]{node.get('label') or node['name']}[/bold]  ({node['kind']})")
    for key in ("id", "namespace", "first_seen", "last_seen"):
        if node.get(key):
            console.print(f"  {key}: {node[key]}")
    for key, value in sorted(node.get("props", {}).items()):
        console.print(f"  {key}: {value}")
    for key in ("owners", "top_users", "applications"):
        if details[key]:
            console.print(f"  {key.replace('_', ' ')}: {', '.join(details[key])}")
    if details["members"]:
        console.print(f"  members ({len(details['members'])}):")
        for member in details["members"][:10]:
            console.print(f"    {member['name']}  (seen {member['count']}x, {member.get('first_seen')} .. "
                          f"{member.get('last_seen')})")
    for edge in details["edges"]:
        console.print(f"\n{edge['kind']}: {edge['src']} -> {edge['dst']}  (seen {edge['count']}x,"
                      f" {edge.get('first_seen', '?')} .. {edge.get('last_seen', '?')})")
        for evidence in edge["evidence"][:2]:
            origin = evidence["origin"]
            console.print(f"  from {origin['path']}:{origin.get('line', '?')}", style="dim")
            console.print(f"  {evidence.get('sql', '')}", markup=False)


def nodes_text(nodes: list[graph.Node]) -> None:
    if not nodes:
        console.print("No match.")
        return
    table = _table("kind", "name", "namespace", "last seen")
    for node in nodes:
        table.add_row(node.kind, node.title, node.namespace or "", node.last_seen or "")
    console.print(table)


def sql_text(result: dict[str, Any]) -> None:
    table = _table("line", "statement", "reads", "writes")
    for statement in result["statements"]:
        filters = set(statement.get("indirect_sources", ()))
        table.add_row(str(statement["line"]), statement["kind"],
                      "\n".join(f"{name} (filter only)" if name in filters else name for name in statement["sources"]),
                      "\n".join(statement["targets"]))
    console.print(table)
    console.print(f"sources: {', '.join(result['sources']) or '-'}", markup=False)
    if result.get("indirect_sources"):  # read to decide which rows change, no values from them
        console.print(f"  read only to filter: {', '.join(result['indirect_sources'])}", markup=False)
    console.print(f"targets: {', '.join(result['targets']) or '-'}", markup=False)
    for change in result.get("lifecycle", []):
        other = f" -> {change['to']}" if change.get("to") else ""
        console.print(f"{change['event']}: {change['dataset']}{other}", markup=False)
    columns: dict[str, dict[str, list[str]]] = {}
    for flow in result.get("column_lineage", []):
        columns.setdefault(flow["target"], {"direct": [], "indirect": []})[flow["kind"]].extend(flow["sources"])
    if columns:
        # A column computed only from filters, joins or groupings (count(*)) has indirect lineage
        # alone: it is listed, with those marked.
        table = _table("column", "from", "indirect (filters, joins, groupings)")
        for target, kinds in columns.items():
            table.add_row(target, "\n".join(kinds["direct"]) or "-", "\n".join(dict.fromkeys(kinds["indirect"])))
        console.print(table)
    for issue in result["issues"]:
        console.print(f"{issue['severity']}: line {issue['line']}: {issue['message']}", markup=False)


def path_text(chain: list[graph.Node], source: str, target: str, *, backwards: bool = False) -> None:
    if not chain:
        console.print(f"No lineage path between {source} and {target}.")
        return
    if backwards:
        console.print(f"No data goes from {source} to {target}; it goes the other way:", markup=False)
    console.print(" -> ".join(node.title for node in chain), markup=False)


def history_json(rows: list[HistoryRow]) -> list[dict[str, Any]]:
    return [{"src": r.edge.src, "kind": r.edge.kind, "dst": r.edge.dst, "appeared": r.appeared,
             "last_seen": r.last_seen, "stale_since": r.stale_since, "disappeared": r.disappeared,
             "count": r.edge.count} for r in rows]


def history_text(rows: list[HistoryRow]) -> None:
    table = _table("appeared", "last seen", "stale since", "disappeared", "edge")
    for r in rows:
        table.add_row(r.appeared or "", r.last_seen or "", r.stale_since or "", r.disappeared or "",
                      f"{r.edge.src} -{r.edge.kind}-> {r.edge.dst}")
    console.print(table)


def explain_json(provenance: Provenance, prediction: dict[str, Any] | None) -> dict[str, Any]:
    data = provenance.to_dict()
    return {**data, "prediction": prediction} if prediction else data


def _evidence_text(evidence: tuple[Evidence, ...]) -> str:
    if not evidence:
        return ""
    first = evidence[0]
    where = _short_path(first.origin.path) + (f":{first.origin.line}" if first.origin.line else "")
    return f"{first.source_type} {where}" + (f" @ {first.timestamp}" if first.timestamp else "")


def explain_text(provenance: Provenance, prediction: dict[str, Any] | None) -> None:
    """The provenance chain, nearest first: prediction, version, run, data, jobs, raw sources."""
    say = functools.partial(console.print, markup=False)
    if prediction:
        say(f"Prediction {_short_path(prediction['origin']['path'])}:{prediction['origin'].get('line')} "
            f"at {prediction.get('timestamp', '?')} (key {prediction.get('key', '?')}): {prediction['model']} "
            f"version {prediction.get('version', '?')}, from "
            f"{', '.join(prediction.get('features', [])) or 'no features'} (their values stay in the log)")
    version = provenance.version
    served = sum(s.count for s in provenance.serving)
    say(f"\nModel version {version.title}" + (f": {served} predictions served" if served else ""))
    for note in provenance.notes:
        say(f"  note: {note}")
    for training in provenance.trained:
        data = training.to_dict()
        say(f"\nTrained by run {data['run']} ({str(data.get('job', '?')).removeprefix('job:')}) at "
            f"{data.get('started_at', '?')} by {data.get('user', '?')}  [{_evidence_text(training.evidence)}]")
        for key, value in sorted(data.get("facets", {}).items()):
            say(f"    {key}: {json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value}")
    if provenance.training_data:
        say("\nTrained on")
        for node, evidence in provenance.training_data:
            say(f"    {node.name}  [{_evidence_text(evidence)}]")
    if provenance.steps:
        say("\nBuilt by (jobs away from the training data; the first evidence of each)")
        for step in provenance.steps:
            say(f"  {step.distance}  {step.output.name} <- {step.job.title[:70]} <- "
                + ", ".join(n.name for n in step.inputs))
            sql = " ".join((step.evidence[0].sql or "").split()) if step.evidence else ""
            say(f"       {_evidence_text(step.evidence)}" + (f": {sql[:110]}" if sql else ""))
    if provenance.raw_sources:
        say("\nRaw sources: " + ", ".join(n.name for n in provenance.raw_sources))
    traced = [f for f in provenance.features if f.column]
    if traced:
        say("\nFeatures, column by column (from the columns their values are computed from)")
        for feature in traced:
            chain = [feature.column or "", *feature.via]
            ends = ", ".join(_column_text(c) for c in feature.sources)
            say(f"    {feature.feature}: " + " <- ".join(_column_text(c) for c in chain)
                + (f" <- {ends}" if ends else ""))
    others = "Other versions serving in the same period"
    for title, rows in (("Serving", provenance.serving), (others, provenance.others)):
        if rows:
            table = _table("version", "predictions", "first", "last", "log", title=f"\n{title}")
            for row in rows:
                log = _short_path(row.log.removeprefix("file/"))
                table.add_row(row.version, str(row.count), row.first or "", row.last or "", log)
            console.print(table)


def _column_text(column: str) -> str:
    """``postgres://host:5432/credit.ml.t#c`` as ``credit.ml.t.c``: the report names one warehouse."""
    table, _, name = column.partition("#")
    return f"{re.sub(r'^[^/]*://[^/]*/|^file/', '', table)}.{name}"


def quarantine_text(page: Quarantine, hidden: int) -> None:
    """Quarantine entries, one to a line with the whole file name (to paste into ``--file``),
    the message below; then how many matched in all, when not all are shown."""
    if not page.entries:
        console.print("No issues." + (f" ({hidden} acknowledged: --all shows them)" if hidden else ""))
        return
    for entry in page.entries:
        issue = entry.issue
        where = issue.origin.path + (f":{issue.origin.line}" if issue.origin.line is not None else "") + (
            f" @{issue.origin.byte_offset}" if issue.origin.byte_offset is not None else "")
        crawl = f"crawl {entry.crawl}" if entry.crawl is not None else "imported"
        acked = "  acknowledged" if entry.acknowledged_at else ""
        console.print(f"{entry.key[:10]}  {issue.severity:<7}  {issue.code:<22}  {crawl:<9}  {where}{acked}",
                      markup=False)
        console.print(f"            {issue.message}", markup=False)
    shown = len(page.entries)
    summary = f"{shown} of {page.total} issue(s) shown (--limit N for more)" if page.total > shown \
        else f"{page.total} issue(s)"
    console.print(summary + (f"; {hidden} acknowledged not shown (--all)" if hidden else ""))


def reports_text(reports: list[dict[str, Any]]) -> None:
    if not reports:
        console.print("No crawls yet.")
        return
    table = _table("crawl", "started", "seconds", "files", "records", "new events", "issues", "graph")
    for report in reports:
        counts = report.get("graph", {})
        edges = sum(v for k, v in counts.items() if k.isupper() and k != "OF")
        table.add_row(str(report["crawl"]), str(report.get("started_at", "")), f"{report.get('seconds', 0):.1f}",
                      str(report.get("files", "")), str(report.get("records", "")), str(report.get("written", "")),
                      str(sum(report.get("issues_by_code", {}).values())),
                      f"{counts.get('dataset', 0)} datasets, {counts.get('job', 0)} jobs, {edges} edges")
    console.print(table)


def diff_text(found: Diff) -> None:
    console.print(f"Lineage changed after crawl {found.after} up to crawl {found.upto}:")
    if not found.changes:
        console.print("  nothing")
        return
    for change, groups in found.counts.items():
        console.print(f"  {change}: " + ", ".join(f"{group} {count}" for group, count in groups.items()))
    table = _table("change", "crawl", "kind", "what")
    for item in found.changes:
        if item.node is not None:
            what = found.names.get(item.node.id, item.node.id)
            kind = item.node.kind
        else:
            assert item.edge is not None
            kind = item.edge.kind
            what = f"{found.names.get(item.edge.src, item.edge.src)} -> {found.names.get(item.edge.dst, item.edge.dst)}"
        table.add_row(item.change, str(item.crawl), kind, what)
    console.print(table)
