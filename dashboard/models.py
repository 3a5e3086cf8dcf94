"""The model page, ``/model/<name>[/<version>]``: a model's versions, and for one of them (the
newest by default) its provenance: training run (commit, parameters, metrics), training data,
the jobs that built it, the raw sources, where each feature came from, and the versions serving."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from dash import dcc, html
from dash.development.base_component import Component

from dashboard import styles
from dashboard.elements import model_href, node_href
from dashboard.parts import not_found, shown
from graph import Node, Store
from graph.provenance import Provenance, Serving, explain

STEPS_SHOWN = 40


def versions(store: Store, model: str) -> list[Node]:
    """The versions of a model, newest first (by number when they are numbers)."""
    ids = [e.src for e in store.neighbors([f"model:{model}"], incoming=["OF"]) if e.src.startswith("model_version:")]
    return sorted(store.nodes(ids=ids), key=_version_key, reverse=True)


def _version_key(node: Node) -> tuple[int, str, str]:
    number = str(node.props.get("version", ""))
    return (int(number) if number.isdigit() else -1, str(node.props.get("registered_at", "")), node.id)


def model_page(store: Store, model: str, version: str | None) -> html.Div:
    node = store.node(f"model:{model}")
    found = versions(store, model) if node is not None else []
    if node is None:
        return not_found(f"No model named {shown(model)}.")
    chosen = next((v for v in found if str(v.props.get("version")) == version), None) if version else \
        (found[0] if found else None)
    if version and chosen is None:
        return not_found(f"Model {shown(model)} has no version {shown(version)}.")
    return html.Div([
        html.H2(f"Model {model}", id="model-title"),
        version_table(model, found, chosen),
        provenance_section(explain(store, chosen.id)) if chosen else html.P("No version of it is known yet.",
                                                                               style=styles.MUTED),
    ], id="model-page")


def version_table(model: str, found: Sequence[Node], chosen: Node | None) -> html.Table:
    header = html.Tr([html.Th(h, style=styles.TH) for h in ("version", "aliases", "status", "registered", "")])
    rows = [html.Tr([
        html.Td(dcc.Link(f"v{v.props.get('version', '?')}", href=model_href(model, str(v.props.get("version", ""))))
                if v is not chosen else html.B(f"v{v.props.get('version', '?')} (shown)"), style=styles.TD),
        html.Td(", ".join(v.props.get("aliases") or []), style=styles.TD),
        html.Td(str(v.props.get("status", "")), style=styles.TD),
        html.Td(str(v.props.get("registered_at", "")), style=styles.TD),
        html.Td(dcc.Link("graph", href=node_href(v.id)), style=styles.TD),
    ]) for v in found]
    return html.Table([header, *rows], style=styles.TABLE, id="model-versions")


def provenance_section(found: Provenance) -> html.Div:
    version = found.version.props.get("version", "?")
    return html.Div([
        html.H3(f"Version {version}: trained by"),
        *([training(t.run, t.evidence) for t in found.trained] or [html.Div("No training run known.",
                                                                          style=styles.MUTED)]),
        html.H3("Training data"),
        html.Ul([html.Li([dcc.Link(_qualified(node), href=node_href(node.id)), " ", _evidence_line(evidence)])
                 for node, evidence in found.training_data], id="model-training-data"),
        html.H3(f"Jobs upstream ({len(found.steps)})"),
        steps_table(found),
        html.H3("Raw sources"),
        html.Ul([html.Li(dcc.Link(_qualified(n), href=node_href(n.id))) for n in found.raw_sources],
                id="model-raw-sources"),
        html.H3("Features, from their sources"),
        html.Table([html.Tr([html.Td(html.Code(f.feature), style=styles.TD),
                             html.Td(", ".join(_column(s) for s in f.sources) or "?", style=styles.TD),
                             html.Td(" <- ".join(_column(s) for s in f.via), style={**styles.TD, **styles.MUTED})])
                    for f in found.features], style=styles.TABLE, id="model-features"),
        html.H3("Serving"),
        serving_table([*found.serving, *found.others]),
        *[html.P(note, style=styles.MUTED) for note in found.notes],
    ], id="model-provenance")


def training(run: Node, evidence: Iterable[Any]) -> html.Div:
    props = run.props
    facts = [("run", str(props.get("run_name") or run.name)), ("user", str(props.get("user", ""))),
             ("started", run.first_seen or ""), ("ended", str(props.get("ended_at", ""))),
             ("commit", str(props.get("code_version", ""))), ("source", str(props.get("source", ""))),
             ("job", str(props.get("job", "")))]
    return html.Div([
        html.Table([html.Tr([html.Th(k, style=styles.TH), html.Td(v)]) for k, v in facts if v], style=styles.TABLE),
        _mapping("parameters", props.get("params")),
        _mapping("metrics", props.get("metrics")),
        _evidence_line(evidence),
    ], className="model-training", id="model-training")


def _mapping(title: str, values: Any) -> html.Div:
    if not isinstance(values, dict) or not values:
        return html.Div()
    return html.Div([html.B(title), html.Table([html.Tr([html.Td(html.Code(str(k)), style=styles.TD),
                                                        html.Td(str(v), style=styles.TD)])
                                                for k, v in sorted(values.items())], style=styles.TABLE)],
                    id=f"model-{title}")


def steps_table(found: Provenance) -> html.Table:
    header = html.Tr([html.Th(h, style=styles.TH) for h in ("distance", "job", "writes", "reads", "last seen")])
    rows = [html.Tr([
        html.Td(str(s.distance), style=styles.TD),
        html.Td(dcc.Link(s.job.title, href=node_href(s.job.id)), style=styles.TD),
        html.Td(dcc.Link(_qualified(s.output, short=True), href=node_href(s.output.id)), style=styles.TD),
        html.Td(", ".join(_qualified(n, short=True) for n in s.inputs), style=styles.TD),
        html.Td(s.last_seen or "", style={**styles.TD, **styles.MUTED}),
    ]) for s in found.steps[:STEPS_SHOWN]]
    more = [html.Tr(html.Td(f"... and {len(found.steps) - STEPS_SHOWN} more", colSpan=5))] \
        if len(found.steps) > STEPS_SHOWN else []
    return html.Table([header, *rows, *more], style=styles.TABLE, id="model-steps")


def serving_table(serving: Sequence[Serving]) -> Component:
    if not serving:
        return html.P("No predictions of it logged.", style=styles.MUTED)
    header = html.Tr([html.Th(h, style=styles.TH) for h in ("version", "log", "predictions", "first", "last")])
    rows = [html.Tr([html.Td(f"v{s.version}", style=styles.TD), html.Td(s.log, style=styles.TD),
                     html.Td(str(s.count), style=styles.TD), html.Td(s.first or "", style=styles.TD),
                     html.Td(s.last or "", style=styles.TD)]) for s in serving]
    return html.Table([header, *rows], style=styles.TABLE, id="model-serving")


def _evidence_line(evidence: Iterable[Any]) -> html.Span:
    first = next(iter(evidence), None)
    if first is None:
        return html.Span()
    origin = first.origin
    where = f"{origin.path}:{origin.line}" if origin.line else origin.path
    return html.Span(f"({first.source_type}: {where}, {first.timestamp or ''})", style=styles.MUTED)


def _qualified(node: Node, short: bool = False) -> str:
    if short or not node.namespace:
        return node.title
    return f"{node.namespace}/{node.name}"


def _column(qualified: str) -> str:
    """``postgres://h:5432/credit.raw.customers#email`` -> ``credit.raw.customers.email``."""
    where, _, column = qualified.rpartition("#")
    table = where.rsplit("/", 1)[-1] if "://" in where else where
    return f"{table}.{column}" if where else qualified
