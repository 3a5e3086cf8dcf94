"""Model provenance, written once above the store interface: from a model version to its training
run (when, by whom, code version, hyperparameters, metrics), the data it was trained on, the jobs
that built that data (with the evidence of each: their SQL, Spark application or task), the raw
sources at the end, where each feature it was served with came from, column by column, and the
other versions of the model that served in the same period.

Every step carries its evidence (file, line, time) as the store holds it; nothing here reads a
log. A version no training run is known of (its tracking store not crawled yet, or a prediction
log naming a version that never was) is explained as far as the graph goes, and says so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from graph.errors import NodeNotFoundError
from graph.lineage import lineage
from graph.model import Edge, Node, column_id, is_run
from graph.store import Store
from parsers import DatasetRef, Evidence

EVIDENCE_SHOWN = 2  # evidence items per step in a report: the first ones the store kept


def _evidence(store: Store, edge: Edge) -> tuple[Evidence, ...]:
    return tuple(store.evidence(edge.key)[:EVIDENCE_SHOWN])


def _drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in sorted(data.items()) if value not in (None, [], {}, ())}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Training:
    """A run that produced the version: when, by whom, and what it says of itself (facets)."""

    run: Node
    evidence: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        props = self.run.props
        facets = {k: v for k, v in props.items() if k not in ("job", "user", "session_id", "status", "statement_kind")}
        return _drop_empty({"run": self.run.name, "job": props.get("job"), "user": props.get("user"),
                            "started_at": self.run.first_seen, "facets": facets,
                            "evidence": [e.to_dict() for e in self.evidence]})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """A job that wrote a dataset upstream of the training data, from what it read."""

    job: Node
    output: Node
    inputs: tuple[Node, ...]
    distance: int = 0  # jobs away from the training data: 1 wrote it
    first_seen: str | None
    last_seen: str | None
    evidence: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return _drop_empty({"job": self.job.title, "job_id": self.job.id, "output": _qualified(self.output),
                            "inputs": [_qualified(n) for n in self.inputs], "distance": self.distance,
                            "first_seen": self.first_seen,
                            "last_seen": self.last_seen, "evidence": [e.to_dict() for e in self.evidence]})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FeatureSource:
    """Where a feature came from: its column in the training data, and the raw columns upstream."""

    feature: str
    column: str | None = None  # the training data's column of that name (namespace/table#column)
    sources: tuple[str, ...] = ()  # the raw columns its value comes from: nothing known derives them
    via: tuple[str, ...] = ()  # the columns between

    def to_dict(self) -> dict[str, Any]:
        return _drop_empty({"feature": self.feature, "column": self.column, "sources": list(self.sources),
                            "via": list(self.via)})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Serving:
    """A version's predictions in one log: how many, first and last, from which features."""

    version: str
    log: str
    count: int
    first: str | None
    last: str | None
    features: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return _drop_empty({"version": self.version, "log": self.log, "count": self.count, "first": self.first,
                            "last": self.last, "features": list(self.features),
                            "evidence": [e.to_dict() for e in self.evidence]})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Provenance:
    """The chain behind a model version, nearest first."""

    model: str | None
    version: Node
    trained: tuple[Training, ...]
    training_data: tuple[tuple[Node, tuple[Evidence, ...]], ...]
    steps: tuple[Step, ...]
    raw_sources: tuple[Node, ...]
    features: tuple[FeatureSource, ...]
    serving: tuple[Serving, ...]
    others: tuple[Serving, ...]  # other versions of the model serving in the same period
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return _drop_empty({
            "model": self.model, "version": self.version.props.get("version"), "version_id": self.version.id,
            "trained": [t.to_dict() for t in self.trained],
            "training_data": [{"dataset": _qualified(node), "evidence": [e.to_dict() for e in evidence]}
                              for node, evidence in self.training_data],
            "steps": [s.to_dict() for s in self.steps], "raw_sources": [_qualified(n) for n in self.raw_sources],
            "features": [f.to_dict() for f in self.features], "serving": [s.to_dict() for s in self.serving],
            "other_versions_serving": [s.to_dict() for s in self.others], "notes": list(self.notes),
        })


def _qualified(node: Node) -> str:
    return f"{node.namespace}/{node.name}" if node.namespace else node.name


def explain(store: Store, version_id: str, *, features: Sequence[str] = (), at: str | None = None) -> Provenance:
    """The provenance of a model version. ``features`` are the names to trace back (by default
    those it was served with); ``at`` is a prediction's time: the other versions shown are those
    serving then (else those serving while this one did).

    >>> from graph import open_store
    >>> explain(open_store("sqlite:///:memory:"), "model_version:m/1")
    Traceback (most recent call last):
    ...
    graph.errors.NodeNotFoundError: no dataset or job named 'model_version:m/1'
    """
    version = store.node(version_id)
    if version is None or version.kind != "model_version":
        raise NodeNotFoundError(version_id, [])
    model = next((e.dst for e in store.neighbors([version_id], outgoing=["OF"])), None)
    trained = _trained(store, version_id)
    data_edges = sorted(store.neighbors([version_id], outgoing=["TRAINED_ON"]), key=lambda e: e.dst)
    datasets = {node.id: node for node in store.nodes(ids=[e.dst for e in data_edges])}
    training_data = tuple((datasets[e.dst], _evidence(store, e)) for e in data_edges if e.dst in datasets)
    steps, raw = _upstream(store, [node for node, _ in training_data])
    serving = _serving(store, [version_id])
    names = list(features) or sorted({name for s in serving for name in s.features})
    notes = []
    if not trained:
        notes.append(f"no training run is known for {version.title}: is its tracking store crawled? "
                     "(a prediction log may name a version no tracking store has)")
    return Provenance(
        model=model.removeprefix("model:") if model else None, version=version, trained=trained,
        training_data=training_data, steps=steps, raw_sources=raw,
        features=tuple(_feature(store, name, [node for node, _ in training_data]) for name in names),
        serving=serving, others=_others(store, model, version_id, serving, at), notes=tuple(notes),
    )


def _trained(store: Store, version_id: str) -> tuple[Training, ...]:
    edges = [e for e in store.neighbors([version_id], incoming=["PRODUCED"]) if is_run(e.src)]
    runs = {node.id: node for node in store.nodes(ids=[e.src for e in edges])}
    found = [Training(run=runs[e.src], evidence=_evidence(store, e)) for e in edges if e.src in runs]
    return tuple(sorted(found, key=lambda t: (t.run.first_seen or "", t.run.id)))


def _upstream(store: Store, datasets: Sequence[Node]) -> tuple[tuple[Step, ...], tuple[Node, ...]]:
    """The jobs that moved data into the training data and upstream of it, nearest first, and
    the raw sources at the far end: datasets no job fills from another (created, or loaded from
    outside). A job that reads nothing (a CREATE TABLE, an INSERT ... VALUES) is no step."""
    nodes: dict[str, Node] = {}
    edges: dict[tuple[str, str, str], Edge] = {}
    distance: dict[str, int] = {}
    for dataset in datasets:
        view = lineage(store, dataset.id, "upstream")
        nodes.update(view.nodes)
        edges.update((e.key, e) for e in view.edges)
        for node, far in view.distance.items():
            distance[node] = min(far, distance.get(node, far))
    reads: dict[str, list[Node]] = {}
    for edge in edges.values():
        if edge.kind == "READS" and edge.src in nodes:
            reads.setdefault(edge.dst, []).append(nodes[edge.src])
    steps = [Step(job=nodes[e.src], output=nodes[e.dst], inputs=tuple(sorted(reads[e.src], key=lambda n: n.id)),
                  distance=distance.get(e.src, 0), first_seen=e.first_seen, last_seen=e.last_seen,
                  evidence=_evidence(store, e))
             for e in edges.values() if e.kind == "WRITES" and e.src in reads and e.dst in nodes]
    fed = {step.output.id for step in steps}
    raw = sorted((n for n in nodes.values() if n.kind == "dataset" and n.id not in fed), key=lambda n: n.id)
    return tuple(sorted(steps, key=lambda s: (s.distance, s.output.id, s.job.id))), tuple(raw)


def _feature(store: Store, name: str, datasets: Sequence[Node]) -> FeatureSource:
    """A feature traced through column lineage from the training data column of its name: the
    columns its value is computed from (direct derivations; joins and filters that only select
    rows are left out), back to those nothing further derives."""
    for dataset in datasets:
        if dataset.namespace is None:
            continue
        column = column_id(DatasetRef(namespace=dataset.namespace, name=dataset.name), name)
        if store.node(column) is None:
            continue
        view = lineage(store, column, "upstream")
        feeding: dict[str, set[str]] = {}
        for edge in view.edges:
            if edge.kind == "DERIVES" and edge.props.get("direct"):
                feeding.setdefault(edge.dst, set()).add(edge.src)
        reached, frontier = [column], [column]
        while frontier:  # nearest first
            frontier = sorted({src for dst in frontier for src in feeding.get(dst, ()) if src not in reached})
            reached += frontier
        names = {n: f"{node.namespace}#{node.name}" for n, node in view.nodes.items() if node.namespace}
        ends = sorted(names.get(n, n) for n in reached[1:] if not feeding.get(n))
        via = [names.get(n, n) for n in reached[1:] if feeding.get(n)]
        return FeatureSource(feature=name, column=f"{dataset.namespace}/{dataset.name}#{name}", sources=tuple(ends),
                             via=tuple(via))
    return FeatureSource(feature=name)


def _serving(store: Store, version_ids: Iterable[str]) -> tuple[Serving, ...]:
    edges = store.neighbors(list(version_ids), outgoing=["SERVED"])
    versions = {node.id: node for node in store.nodes(ids=sorted({e.src for e in edges}))}
    logs = {node.id: node for node in store.nodes(ids=sorted({e.dst for e in edges}))}
    found = []
    for edge in edges:
        version, log = versions.get(edge.src), logs.get(edge.dst)
        if version is None or log is None:
            continue
        found.append(Serving(version=str(version.props.get("version", version.name)), log=_qualified(log),
                             count=edge.count, first=edge.first_seen, last=edge.last_seen,
                             features=tuple(edge.props.get("features", ())), evidence=_evidence(store, edge)))
    return tuple(sorted(found, key=lambda s: (s.first or "", s.version, s.log)))


def _others(store: Store, model: str | None, version_id: str, serving: Sequence[Serving],
            at: str | None) -> tuple[Serving, ...]:
    """Other versions of the model whose predictions overlap the period: ``at``, or this one's."""
    if model is None:
        return ()
    siblings = [e.src for e in store.neighbors([model], incoming=["OF"]) if e.src != version_id and not is_run(e.src)]
    spans = [(s.first, s.last) for s in serving]
    since = at or min((first for first, _ in spans if first), default=None)
    until = at or max((last for _, last in spans if last), default=None)
    if since is None or until is None:
        return ()
    day_since, day_until = since[:10], until[:10]  # a day's stretch of a log is one span
    return tuple(s for s in _serving(store, siblings)
                 if (s.first or "")[:10] <= day_until and (s.last or "9999")[:10] >= day_since)
