"""Lineage events folded into the rows a store upserts: written once, applied by every backend.

Folding first means a batch touches each node and edge once, however many events repeat it:
counts add up, time spans widen, the first evidence is kept (at most ``EVIDENCE_SAMPLE``).
A backend's ``apply`` merges a batch into what it holds with the same rules.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import marshal
import operator
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from graph.model import column_id, dataset_id, job_id, model_id, model_version_id, run_id
from graph.sqlite_rows import RUN_COLUMNS
from parsers import DatasetRef, Evidence, LineageEvent, ParseIssue, RunRef

EVIDENCE_SAMPLE = 5  # evidence items kept per edge: the first ones seen


def earliest(a: str | None, b: str | None) -> str | None:
    return b if a is None else a if b is None else min(a, b)


def latest(a: str | None, b: str | None) -> str | None:
    return b if a is None else a if b is None else max(a, b)


@dataclasses.dataclass(slots=True, kw_only=True)
class NodeRow:
    id: str
    kind: str
    name: str
    namespace: str | None = None
    label: str | None = None
    props: dict[str, Any] = dataclasses.field(default_factory=dict)
    first_seen: str | None = None
    last_seen: str | None = None


@dataclasses.dataclass(slots=True, kw_only=True)
class EdgeRow:
    src: str
    kind: str
    dst: str
    count: int = 0
    confidence: float = 0.0
    first_seen: str | None = None
    last_seen: str | None = None
    props: dict[str, Any] = dataclasses.field(default_factory=dict)
    evidence: list[str] = dataclasses.field(default_factory=list)  # canonical JSON of Evidence


class RunRow(NamedTuple):
    """A run as stored: a plain tuple, since a batch holds one per statement and crosses the
    process boundary of a parallel crawl (a tuple pickles several times cheaper than a
    dataclass), with its facets already in their canonical JSON form (``facets_json``)."""

    id: str
    job: str
    started_at: str | None = None
    user: str | None = None
    session_id: str | None = None
    status: str = "completed"
    statement_kind: str | None = None
    facets: str = "{}"  # canonical JSON


def facets_json(facets: Mapping[str, Any]) -> str:
    """A run's facets as stored: sorted keys, ``{}`` when there are none.

    >>> facets_json({"user": "etl", "application": "psql"})
    '{"application": "psql", "user": "etl"}'
    >>> facets_json({"application": "psql"}), facets_json({"application": 1}), facets_json({"application": True})
    ('{"application": "psql"}', '{"application": 1}', '{"application": true}')
    """
    if not facets:
        return "{}"
    if len(facets) == 1:  # (most runs: one application's; looked up without a key made for it)
        for name, value in facets.items():
            if type(value) is str:
                found = _ONE_FACET_JSON.get(name, {}).get(value)
                if found is None:
                    if len(_ONE_FACET_JSON) >= 64:
                        _ONE_FACET_JSON.clear()
                    named = _ONE_FACET_JSON.setdefault(name, {})
                    if len(named) >= 4096:
                        named.clear()
                    found = named[value] = json.dumps(facets)
                return found
    key = tuple(facets.items())
    # Most runs of a log carry the same few texts (its applications); other values are encoded
    # each time (as keys, 1 and True would be one).
    if not (type(key[0][1]) is str if len(key) == 1 else all(type(value) is str for _, value in key)):
        return json.dumps(facets, sort_keys=True)
    found = _FACETS_JSON.get(key)
    if found is None:
        if len(_FACETS_JSON) >= 4096:
            _FACETS_JSON.clear()
        found = _FACETS_JSON[key] = json.dumps(facets, sort_keys=True)
    return found


_FACETS_JSON: dict[tuple[tuple[str, str], ...], str] = {}
_ONE_FACET_JSON: dict[str, dict[str, str]] = {}  # by name, then value


# The properties every run has; anything else a run carries is one of its facets.
RUN_FIELDS = ("job", "user", "session_id", "status", "statement_kind")


@dataclasses.dataclass(slots=True, kw_only=True)
class CountRow:
    """A counter with a time span: usage of a node by a user, or a member of a cluster."""

    node: str
    key: str
    role: str = ""
    count: int = 0
    first_seen: str | None = None
    last_seen: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Cursor:
    """How far a crawl has read a source file, and how to recognise that file again after a
    rotation or rename (its head) or a rewrite (the bytes just before the offset)."""

    path: str
    offset: int
    line: int  # lines before offset, so line numbers go on where they stopped
    head_length: int
    head_digest: str
    tail_digest: str
    size: int
    # What reading carries over to the next crawl of the file, as canonical JSON text: the
    # sessions still open at ``offset`` (defaults, temporary tables, statements of a transaction
    # not yet ended), so a log read in parts gives what one read gives.
    state: str = "{}"


@dataclasses.dataclass(slots=True)
class Batch:
    nodes: dict[str, NodeRow] = dataclasses.field(default_factory=dict)
    edges: dict[tuple[str, str, str], EdgeRow] = dataclasses.field(default_factory=dict)
    runs: dict[str, RunRow] = dataclasses.field(default_factory=dict)
    usage: dict[tuple[str, str, str], CountRow] = dataclasses.field(default_factory=dict)
    members: dict[tuple[str, str], CountRow] = dataclasses.field(default_factory=dict)
    # Cursor moves commit with the facts read up to them, and with the issues found in what was
    # read: a crash loses all or none (a rerun reads the same part again).
    cursors: dict[str, Cursor] = dataclasses.field(default_factory=dict)
    issues: list[ParseIssue] = dataclasses.field(default_factory=list)
    # The crawl writing the batch (its number, see graph.changes): nodes and edges it adds (or
    # brings back after a removal) and issues it quarantines are stamped with it. None: unstamped.
    crawl: int | None = None
    # Names the write this batch is a try of (graph.ingest.write's token). A server can go away
    # after committing and before saying so; the write tried again then finds its own runs stored,
    # and a store that records the token of its last commit tells "this very write, done" from
    # "runs another write stored".
    token: str = ""
    # A SQLite file whose table ``runs`` holds this batch's runs, in place of ``runs`` (see
    # spool_runs: a parallel crawl's workers hand them over so, for the SQLite store to copy in C;
    # another store reads them back first, see with_runs).
    runs_file: str | None = None
    _encoded: dict[int, str] = dataclasses.field(default_factory=dict, repr=False)

    def node(self, node_id: str, kind: str, name: str, when: str | None, *, namespace: str | None = None,
             label: str | None = None, props: dict[str, Any] | None = None, until: str | None = None) -> None:
        """Upsert a node seen at ``when`` (through ``until``, for a span of repeats)."""
        row = self.nodes.get(node_id)
        if row is None:
            row = self.nodes[node_id] = NodeRow(id=node_id, kind=kind, name=name, namespace=namespace)
        row.label = label or row.label
        row.props.update(props or {})
        row.first_seen, row.last_seen = earliest(row.first_seen, when), latest(row.last_seen, until or when)

    def edge(self, src: str, kind: str, dst: str, when: str | None, *, confidence: float = 1.0,
             evidence: Evidence | str | None = None, props: dict[str, Any] | None = None, count: int = 1,
             until: str | None = None) -> None:
        key = (src, kind, dst)
        row = self.edges.get(key)
        if row is None:
            row = self.edges[key] = EdgeRow(src=src, kind=kind, dst=dst)
        row.count += count
        row.confidence = max(row.confidence, confidence)
        row.first_seen, row.last_seen = earliest(row.first_seen, when), latest(row.last_seen, until or when)
        row.props.update(props or {})
        if evidence is not None and len(row.evidence) < EVIDENCE_SAMPLE:
            row.evidence.append(evidence if isinstance(evidence, str) else self._json(evidence))

    def _json(self, evidence: Evidence) -> str:
        """Evidence is encoded only for the samples kept, and once per event."""
        key = id(evidence)
        text = self._encoded.get(key)
        if text is None:
            text = self._encoded[key] = evidence.to_json()
        return text

    def count(self, table: str, node: str, key: str, when: str | None, role: str = "", count: int = 1,
              until: str | None = None) -> None:
        rows: dict[Any, CountRow] = self.usage if table == "usage" else self.members
        index = (node, key, role) if table == "usage" else (node, key)
        row = rows.get(index)
        if row is None:
            row = rows[index] = CountRow(node=node, key=key, role=role)
        row.count += count
        row.first_seen, row.last_seen = earliest(row.first_seen, when), latest(row.last_seen, until or when)

    def __bool__(self) -> bool:
        return bool(self.nodes or self.edges or self.runs or self.runs_file or self.cursors or self.issues)

    def run_ids(self) -> set[str]:
        """The ids of the batch's runs, held or spooled."""
        if self.runs_file is None:
            return set(self.runs)
        with contextlib.closing(sqlite3.connect(self.runs_file)) as spool:
            return {run for run, in spool.execute("SELECT id FROM runs")}

    # A batch folded in a worker process of a parallel crawl crosses to the writer pickled, a row
    # per statement (its run) and one per template, user and table: as plain tuples, which pickle
    # in a third of the time rows as objects take, each way. (The fold's cache stays behind.) The
    # runs, tuples of texts, go marshalled: in two thirds of pickle's time, and their rows are
    # made again without a call of Python's each (RunRow._make): a write of 50,000 runs takes
    # about 50 ms less in all. (Both ends run the same Python: a Spark job's must too.)
    def __getstate__(self) -> dict[str, Any]:
        return {"nodes": list(map(_NODE_VALUES, self.nodes.values())),
                "edges": list(map(_EDGE_VALUES, self.edges.values())),
                "runs": marshal.dumps(list(map(tuple, self.runs.values()))),
                "usage": list(map(_COUNT_VALUES, self.usage.values())),
                "members": list(map(_COUNT_VALUES, self.members.values())),
                "cursors": self.cursors, "issues": self.issues, "crawl": self.crawl, "token": self.token,
                "runs_file": self.runs_file}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.nodes = {values[0]: NodeRow(**dict(zip(_NODE_FIELDS, values, strict=True))) for values in state["nodes"]}
        self.edges = {values[:3]: EdgeRow(**dict(zip(_EDGE_FIELDS, values, strict=True))) for values in state["edges"]}
        runs = marshal.loads(state["runs"])
        self.runs = dict(zip([values[0] for values in runs], map(_RUN_ROW, runs), strict=True))
        self.usage = {values[:3]: CountRow(**dict(zip(_COUNT_FIELDS, values, strict=True)))
                      for values in state["usage"]}
        self.members = {values[:2]: CountRow(**dict(zip(_COUNT_FIELDS, values, strict=True)))
                        for values in state["members"]}
        self.cursors, self.issues, self.crawl, self.token = (state["cursors"], state["issues"], state["crawl"],
                                                             state["token"])
        self.runs_file = state["runs_file"]
        self._encoded = {}


def spool_runs(batch: Batch, path: str) -> None:
    """Move ``batch``'s runs into a new SQLite file at ``path`` (see Batch.runs_file). Folded in a
    worker of a parallel crawl, 50,000 runs so handed over cost the worker about what pickling
    them does, and the SQLite store's writer a third of what unpickling and inserting them does:
    it copies them in C (INSERT ... SELECT), with no object of Python's made for a run. (Written
    without a journal: the file is new, and read only once whole; one a worker killed half way
    left is never read.)"""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as spool:
        spool.execute("PRAGMA journal_mode=OFF")
        spool.execute("PRAGMA synchronous=OFF")
        spool.execute(f"CREATE TABLE runs ({RUN_COLUMNS})")
        spool.execute("BEGIN")
        spool.executemany(f"INSERT INTO runs ({RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", batch.runs.values())
        spool.execute("COMMIT")
    batch.runs, batch.runs_file = {}, path


def with_runs(batch: Batch) -> Batch:
    """``batch`` with its spooled runs (if any) read back into ``runs``: for a store that cannot
    read the spool itself."""
    if batch.runs_file is None:
        return batch
    with contextlib.closing(sqlite3.connect(batch.runs_file)) as spool:
        rows = spool.execute(f"SELECT {RUN_COLUMNS} FROM runs").fetchall()
    return dataclasses.replace(batch, runs=dict(zip([row[0] for row in rows], map(_RUN_ROW, rows), strict=True)),
                               runs_file=None)


def _fields(row: type) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(row))


# (a row's key fields first: its key in the batch is a prefix of its values)
_NODE_FIELDS, _EDGE_FIELDS, _COUNT_FIELDS = _fields(NodeRow), _fields(EdgeRow), _fields(CountRow)
_NODE_VALUES = operator.attrgetter(*_NODE_FIELDS)
_EDGE_VALUES = operator.attrgetter(*_EDGE_FIELDS)
_COUNT_VALUES = operator.attrgetter(*_COUNT_FIELDS)
_RUN_ROW = functools.partial(tuple.__new__, RunRow)  # (a run's values as a RunRow, all of them in C)


def batch_of(events: Iterable[LineageEvent]) -> Batch:
    """Fold events into one batch of rows. An event that repeats an earlier one's shape (the
    same template: the very same inputs, outputs, columns and facets) adds its count, time,
    user and run to that shape's rows instead of being folded again."""
    batch = Batch()
    repeats: dict[tuple[Any, ...], _Repeat] = {}
    for index, event in enumerate(events):
        key = _shape_key(event)
        repeat = repeats.get(key) if key is not None else None
        if repeat is None:
            _fold(batch, event)
            if key is not None:
                repeats[key] = _Repeat(first=event)
            continue
        repeat.take(batch, event, index)
    for repeat in sorted(repeats.values(), key=lambda r: r.last_index):
        repeat.close(batch)
    return batch


def _shape_key(event: LineageEvent) -> tuple[Any, ...] | None:
    """Events sharing these objects (and values) fold to the same rows. Object identities are
    safe keys while the events are alive, which they are for the whole fold."""
    if event.lifecycle or event.produced or event.served or event.run is None:
        return None  # their rows depend on the event's own time or run
    if not (event.inputs or event.outputs or event.column_edges):
        return None  # no rows at all (not even a run): nothing to repeat
    return (id(event.job), id(event.inputs), id(event.indirect), id(event.outputs), id(event.column_edges),
            id(event.dataset_facets),
            id(event.job_facets) if event.job_facets else None, event.job_title, event.statement_kind, event.confidence)


@dataclasses.dataclass(slots=True)
class _Plan:
    """The rows one event of a shape touches, as found by folding its first event alone."""

    job: str
    edges: list[tuple[EdgeRow, int]]  # the batch's row, and how many times one event adds to it
    evidence: list[tuple[EdgeRow, int]]  # how many evidence items one event adds to it
    nodes: list[NodeRow]
    labels: list[tuple[NodeRow, str]]  # one job may have several titles (shapes): the last one wins
    props: list[tuple[NodeRow, dict[str, Any]]]  # node props one event sets, in the order it sets them
    members: list[tuple[str, str, int]]
    usage: list[tuple[str, str]]  # (node, role) that a run's user is counted on


def _plan(batch: Batch, event: LineageEvent) -> _Plan:
    """(Found by ``_fold`` itself, so it cannot drift from it; ``_Repeat.take`` then repeats
    what in the plan depends on the order of events: labels, props, evidence, runs, users.)"""
    alone = Batch()
    _fold(alone, event)
    return _Plan(
        job=job_id(event.job),
        edges=[(batch.edges[key], row.count) for key, row in alone.edges.items()],
        evidence=[(batch.edges[key], len(row.evidence)) for key, row in alone.edges.items() if row.evidence],
        nodes=[batch.nodes[node_id] for node_id in alone.nodes],
        labels=[(batch.nodes[node_id], row.label) for node_id, row in alone.nodes.items() if row.label],
        props=[(batch.nodes[node_id], row.props) for node_id, row in alone.nodes.items() if row.props],
        members=[(row.node, row.key, row.count) for row in alone.members.values()],
        usage=_usage_keys(event),
    )


@dataclasses.dataclass(slots=True)
class _Repeat:
    """The later events of one shape, folded as a span: counts, first and last time, users."""

    first: LineageEvent
    plan: _Plan | None = None
    seen: int = 1
    since: str | None = None
    until: str | None = None
    last_index: int = -1
    users: dict[str, list[Any]] = dataclasses.field(default_factory=dict)  # user: [count, first, last]
    applications: dict[str, list[Any]] = dataclasses.field(default_factory=dict)  # the same, per application

    def take(self, batch: Batch, event: LineageEvent, index: int) -> None:
        plan = self.plan = self.plan or _plan(batch, self.first)
        when = event.evidence.timestamp
        self.seen += 1
        self.last_index = index
        if when is not None:  # (earliest and latest, inline: this runs for every event of a shape)
            if self.since is None or when < self.since:
                self.since = when
            if self.until is None or when > self.until:
                self.until = when
        for node, label in plan.labels:  # the last event to set a label or a prop wins, as when
            node.label = label  # folded one by one
        for node, props in plan.props:
            node.props.update(props)
        if self.seen <= EVIDENCE_SAMPLE:  # after that every row of the shape holds a full sample
            for edge, times in plan.evidence:
                for _ in range(times):
                    if len(edge.evidence) < EVIDENCE_SAMPLE:
                        edge.evidence.append(batch._json(event.evidence))
        run = event.run
        assert run is not None  # (a shape needs a run)
        row = _run_row(run, plan.job, event.statement_kind)
        batch.runs[row[0]] = row
        if run.user:
            _widen(self.users, run.user, when)
        application = _application(run)
        if application:
            _widen(self.applications, application, when)

    def close(self, batch: Batch) -> None:
        """Add the span of the later events to the shape's rows."""
        if self.plan is None:
            return
        repeats, since, until = self.seen - 1, self.since, self.until
        for row, times in self.plan.edges:
            row.count += repeats * times
            row.first_seen, row.last_seen = earliest(row.first_seen, since), latest(row.last_seen, until)
        for node in self.plan.nodes:
            node.first_seen, node.last_seen = earliest(node.first_seen, since), latest(node.last_seen, until)
        for node_id, key, times in self.plan.members:
            batch.count("members", node_id, key, since, count=repeats * times, until=until)
        for user, (count, first, last) in self.users.items():
            for node_id, role in self.plan.usage:
                batch.count("usage", node_id, user, first, role=role, count=count, until=last)
        for application, (count, first, last) in self.applications.items():
            batch.count("usage", self.plan.job, application, first, role="application", count=count, until=last)


def _widen(spans: dict[str, list[Any]], key: str, when: str | None) -> None:
    span = spans.get(key)
    if span is None:
        spans[key] = [1, when, when]
        return
    span[0] += 1
    if when is not None:  # (earliest and latest, inline: twice an event)
        if span[1] is None or when < span[1]:
            span[1] = when
        if span[2] is None or when > span[2]:
            span[2] = when


def _fold(batch: Batch, event: LineageEvent) -> None:
    when = event.evidence.timestamp
    evidence = event.evidence
    for change in event.lifecycle:  # a dataset's life, kept on it: no edge, no job
        other = {f"{change.event}_with": change.other.name} if change.other is not None else {}
        # (what the event says of the dataset too: an OpenLineage DatasetEvent's schema)
        facets = event.dataset_facets.get(change.dataset.qualified, {})
        _dataset(batch, change.dataset, when, {**facets, f"last_{change.event}": when or "", **other})
        if change.other is not None:
            # The name it took (or was swapped with, or made like) is seen then too: a statement
            # names it among its outputs as well, another producer's DatasetEvent of a RENAME not.
            _dataset(batch, change.other, when, None)
    if not (event.inputs or event.outputs or event.column_edges or event.produced):
        return
    job = job_id(event.job)
    batch.node(job, "job", event.job.name, when, namespace=event.job.namespace, label=event.job_title,
               props={"statement_kind": event.statement_kind, **event.job_facets})
    for ref in (*event.inputs, *event.outputs):
        _dataset(batch, ref, when, event.dataset_facets.get(ref.qualified))
    indirect = frozenset(event.indirect)
    for ref in event.inputs:
        batch.edge(dataset_id(ref), "READS", job, when, confidence=event.confidence, evidence=evidence,
                   props=_INDIRECT if ref in indirect else None)
    for ref in event.outputs:
        batch.edge(job, "WRITES", dataset_id(ref), when, confidence=event.confidence, evidence=evidence)
        for source in event.inputs:
            if source == ref:
                continue  # UPDATE t SET x = x + 1 reads t, but t does not feed itself
            # Kinds merge as a DERIVES edge's do: one source may feed a table both ways (two jobs).
            batch.edge(dataset_id(source), "FEEDS", dataset_id(ref), when, confidence=event.confidence,
                       evidence=evidence, props=_INDIRECT if source in indirect else _DIRECT)
    _columns(batch, event, when, evidence)
    _models(batch, event, when, evidence)
    _served(batch, event, evidence)
    _run_and_usage(batch, event, job, when)


# A read that only decides which rows change (DELETE ... USING r, a semi-join) is marked; a FEEDS
# edge says which way each source fed it.
_INDIRECT = {"indirect": True}
_DIRECT = {"direct": True}


def _dataset(batch: Batch, ref: DatasetRef, when: str | None, facets: dict[str, Any] | None) -> None:
    props = dict(facets or {})
    if props.get("kind") == "table":
        del props["kind"]  # the default: never let it overwrite a view or file learned elsewhere
    batch.node(dataset_id(ref), "dataset", ref.name, when, namespace=ref.namespace, props=props)
    if ref.member is not None:
        batch.count("members", dataset_id(ref), ref.member, when)


def _columns(batch: Batch, event: LineageEvent, when: str | None, evidence: Evidence) -> None:
    """Column nodes, IN and DERIVES edges: each once per event, however many of its column edges
    name a column or a pair (so an edge's count is of events, and its evidence items distinct)."""
    placed: set[str] = set()
    flows: dict[tuple[str, str], dict[str, bool]] = {}
    for edge in event.column_edges:
        ends = []
        for column in (edge.source, edge.target):
            node = column_id(column.dataset, column.column)
            if node not in placed:
                placed.add(node)
                batch.node(node, "column", column.column, when, namespace=column.dataset.qualified,
                           label=f"{column.dataset.name}.{column.column}")
                batch.edge(node, "IN", dataset_id(column.dataset), when, evidence=evidence)
            ends.append(node)
        # A column may feed another both ways (its value, and a filter on it): flags, so that
        # merging one kind into an edge never erases the other.
        flows.setdefault((ends[0], ends[1]), {})[edge.kind] = True
    for (source, target), kinds in flows.items():
        batch.edge(source, "DERIVES", target, when, confidence=event.confidence, evidence=evidence, props=kinds)


def _models(batch: Batch, event: LineageEvent, when: str | None, evidence: Evidence) -> None:
    for model in event.produced:
        version, parent = model_version_id(model), model_id(model)
        batch.node(parent, "model", model.name, when)
        batch.node(version, "model_version", f"{model.name} {model.version or ''}".strip(), when,
                   props={**model.facets, "version": model.version} if model.version else dict(model.facets))
        batch.edge(version, "OF", parent, when)
        producer = model.produced_by or (event.run.run_id if event.run is not None else None)
        if producer is not None:
            batch.edge(run_id(producer), "PRODUCED", version, when, evidence=evidence)
        for ref in model.trained_on:
            _dataset(batch, ref, when, event.dataset_facets.get(ref.qualified))
        for ref in model.trained_on or event.inputs:
            batch.edge(version, "TRAINED_ON", dataset_id(ref), when, confidence=event.confidence,
                       evidence=evidence)


def _served(batch: Batch, event: LineageEvent, evidence: Evidence) -> None:
    """A model version's predictions in the logs the event wrote: one edge a version and log,
    counting predictions over their time span, with the names of the features they were made from."""
    for served in event.served:
        model, version = served.model, model_version_id(served.model)
        batch.node(model_id(model), "model", model.name, served.first, until=served.last)
        batch.node(version, "model_version", f"{model.name} {model.version or ''}".strip(), served.first,
                   props={"version": model.version} if model.version else {}, until=served.last)
        batch.edge(version, "OF", model_id(model), served.first, until=served.last)
        for ref in event.outputs:
            batch.edge(version, "SERVED", dataset_id(ref), served.first, evidence=evidence, count=served.count,
                       until=served.last, props={"features": list(served.features)} if served.features else None)


def _run_and_usage(batch: Batch, event: LineageEvent, job: str, when: str | None) -> None:
    run = event.run
    if run is None:
        return
    row = _run_row(run, job, event.statement_kind)
    batch.runs[row[0]] = row
    if run.user:
        for node_id, role in _usage_keys(event):
            batch.count("usage", node_id, run.user, when, role=role)
    application = _application(run)
    if application:
        batch.count("usage", job, application, when, role="application")


def _application(run: RunRef) -> str | None:
    """The application a run came from (PostgreSQL's application_name, a trace's field)."""
    found = run.facets.get("application")
    return found if isinstance(found, str) and found else None


def _run_row(run: RunRef, job: str, statement_kind: str | None) -> RunRow:
    # (made as _RUN_ROW makes it: RunRow's own constructor is a call of Python's, a run each)
    return _RUN_ROW((run_id(run.run_id), job, run.started_at, run.user, run.session_id, run.status, statement_kind,
                     facets_json(run.facets)))


def _usage_keys(event: LineageEvent) -> list[tuple[str, str]]:
    """The nodes a run's user is counted on: the datasets it read and wrote, and its job (which
    the users who run it own, as the users who write a dataset own it)."""
    return [*((dataset_id(ref), role) for role, refs in (("read", event.inputs), ("write", event.outputs))
              for ref in refs), (job_id(event.job), "run")]
