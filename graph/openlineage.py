"""A store as OpenLineage events (https://openlineage.io/spec/2-0-2/OpenLineage.json): one
COMPLETE (or FAIL) RunEvent per stored run, and a DatasetEvent per change in a dataset's life
that moved no data (its last drop, truncate, rename, swap, CREATE ... LIKE, refresh: the ones
the dataset keeps the time of), JSON lines, sorted, so equal graphs export equal lines.

What an event says, and where it comes from in our graph:

- ``run.runId``: OpenLineage wants a UUID; ours is a digest or a source's own id, so the event
  carries ``uuid5(our id)`` and keeps ours (with user, session, status, statement kind and the
  run's facets) in the custom run facet ``lineageCrawler_run``.
- ``eventTime``: the run's start (``first_seen``; the job's first sight if the run has none).
- ``job``: the run's job, by its namespace and name; the ``sql`` facet is the redacted statement
  our evidence holds for it; our evidence itself (the first samples of each of the job's READS
  and WRITES edges: source type, file, line, offset, time, fingerprint, redacted SQL), its title
  and its properties go in the custom job facet ``lineageCrawler_job``.
- ``inputs``/``outputs``: the datasets the run's *job* reads and writes. Our graph keeps those
  edges per job, not per run (a job is a template whose runs read and write the same tables), so
  every run of a job lists the same datasets: the job's live edges at export time.
- dataset facets: ``schema`` (from the dataset's known columns), ``dataSource`` (its namespace),
  ``datasetType`` (view, file...), and the dataset's other properties (its location, when it was
  last dropped or truncated) in the custom ``lineageCrawler_dataset``, which in a DatasetEvent
  names the change too (``lifecycle``: drop, truncate...), beside the standard
  ``lifecycleStateChange`` where the spec has a name for it (DROP, TRUNCATE, CREATE, OVERWRITE);
  an output's
  ``columnLineage`` holds the DERIVES edges into its
  columns from columns of the job's inputs (DIRECT and INDIRECT transformations).

Custom facets follow the spec's rules: a ``_producer`` (this project) and a ``_schemaURL`` (the
JSON schemas in ``docs/openlineage/`` of this repository). Model versions, their training and
serving edges, cluster members, quarantined issues and removed edges have no place in a RunEvent
and are not exported here (``lineage export --format json`` holds everything).

>>> from graph import open_store
>>> list(events(open_store("sqlite:///:memory:")))
[]
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from graph.batch import RUN_FIELDS
from graph.model import Edge, Node, run_name
from graph.store import Store
from parsers.openlineage import LIFECYCLE_STATES

PROJECT_URL = "https://github.com/lineage-crawler/lineage-crawler"
PRODUCER = PROJECT_URL
SCHEMAS_URL = f"{PROJECT_URL}/blob/main/docs/openlineage"
RUN_FACET = "lineageCrawler_run"
JOB_FACET = "lineageCrawler_job"
DATASET_FACET = "lineageCrawler_dataset"
READ_FACET = "lineageCrawler_read"  # an input read only to filter rows: {"indirect": true}
READ_FACET_SCHEMA = f"{SCHEMAS_URL}/LineageCrawlerReadFacet.json#/$defs/LineageCrawlerReadFacet"
DATASET_FACET_SCHEMA = f"{SCHEMAS_URL}/LineageCrawlerDatasetFacet.json#/$defs/LineageCrawlerDatasetFacet"
RUN_FACET_SCHEMA = f"{SCHEMAS_URL}/LineageCrawlerRunFacet.json#/$defs/LineageCrawlerRunFacet"
JOB_FACET_SCHEMA = f"{SCHEMAS_URL}/LineageCrawlerJobFacet.json#/$defs/LineageCrawlerJobFacet"
# The spec and facet versions these events follow: the ones openlineage-python 1.x's generated
# models name (the tests check each against them).
_SPEC = "https://openlineage.io/spec"
RUN_EVENT_SCHEMA = f"{_SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent"
DATASET_EVENT_SCHEMA = f"{_SPEC}/2-0-2/OpenLineage.json#/$defs/DatasetEvent"
FACET_SCHEMAS = {
    "schema": f"{_SPEC}/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
    "dataSource": f"{_SPEC}/facets/1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet",
    "datasetType": f"{_SPEC}/facets/1-0-1/DatasetTypeDatasetFacet.json#/$defs/DatasetTypeDatasetFacet",
    "columnLineage": f"{_SPEC}/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
    "sql": f"{_SPEC}/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet",
    "lifecycleStateChange":
        f"{_SPEC}/facets/1-0-1/LifecycleStateChangeDatasetFacet.json#/$defs/LifecycleStateChangeDatasetFacet",
}
# Evidence whose "sql" is no SQL statement (a Spark plan node's text): not a `sql` facet.
_NOT_SQL = frozenset({"spark_eventlog", "prediction_log"})
_JOB_PROPS_NOT_EXPORTED = ("rank",)  # computed by every store after a crawl


def openlineage_run_id(run: str) -> str:
    """The UUID an event gives our run: stable, so a run exports the same id every time.

    >>> openlineage_run_id("0006b33435f9ed0c") == openlineage_run_id("0006b33435f9ed0c")
    True
    """
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{PROJECT_URL}/runs/{run}"))


def events(store: Store) -> Iterator[dict[str, Any]]:
    """Every stored run as an OpenLineage RunEvent, and every change in a dataset's life that
    moved no data as a DatasetEvent, sorted by time, then job and run or dataset."""
    graph = _Graph.of(store)
    found = [graph.event(run) for run in store.nodes(kind="run")]
    found += [graph.dataset_event(dataset, change, when) for dataset in graph.datasets.values()
              for change, when in _changes(dataset)]
    yield from sorted(found, key=_order)


def _order(event: Mapping[str, Any]) -> tuple[str, ...]:
    named = event["job"] if "job" in event else event["dataset"]
    return (event["eventTime"], named["namespace"], named["name"], event.get("run", {}).get("runId", ""))


def _changes(dataset: Node) -> list[tuple[str, str]]:
    """The changes in a dataset's life it keeps the time of (the last of each kind)."""
    return [(change, when) for change in LIFECYCLE_STATES
            if isinstance(when := dataset.props.get(f"last_{change}"), str) and when]


def dumps(events: Iterable[Mapping[str, Any]]) -> str:
    """JSON lines: one event a line, keys sorted."""
    return "".join(json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
                   for event in events)


def _facet(facet: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": FACET_SCHEMAS[facet], **fields}


class _Graph:
    """What the events are made of, read from the store once."""

    def __init__(self, store: Store, jobs: dict[str, Node], datasets: dict[str, Node]) -> None:
        self.store = store
        self.jobs = jobs
        self.datasets = datasets
        self.confidence: dict[str, float] = {}  # by job: of its reads and writes (an inference's, < 1)
        # by job: its datasets, each with the edge (reads and writes are the job's, not a run's)
        self.reads: defaultdict[str, list[tuple[str, Edge]]] = defaultdict(list)
        self.writes: defaultdict[str, list[tuple[str, Edge]]] = defaultdict(list)
        self.column_of: dict[str, str] = {}  # column id -> dataset id
        self.derives_into: defaultdict[str, list[Edge]] = defaultdict(list)  # by target dataset id
        self._job_facets: dict[str, dict[str, Any]] = {}

    @classmethod
    def of(cls, store: Store) -> _Graph:
        graph = cls(store, {n.id: n for n in store.nodes(kind="job")}, {n.id: n for n in store.nodes(kind="dataset")})
        derives = []
        for edge in store.edges(["READS", "WRITES", "IN", "DERIVES"]):
            if edge.kind == "READS" and edge.src in graph.datasets:
                graph.reads[edge.dst].append((edge.src, edge))
                graph.confidence[edge.dst] = max(graph.confidence.get(edge.dst, 0.0), edge.confidence)
            elif edge.kind == "WRITES" and edge.dst in graph.datasets:
                graph.writes[edge.src].append((edge.dst, edge))
                graph.confidence[edge.src] = max(graph.confidence.get(edge.src, 0.0), edge.confidence)
            elif edge.kind == "IN":
                graph.column_of[edge.src] = edge.dst
            elif edge.kind == "DERIVES":
                derives.append(edge)
        for edge in derives:
            target = graph.column_of.get(edge.dst)
            if target is not None and graph.column_of.get(edge.src) is not None:
                graph.derives_into[target].append(edge)
        return graph

    def event(self, run: Node) -> dict[str, Any]:
        props = run.props
        job = self.jobs.get(str(props.get("job")))
        status = props.get("status", "completed")
        when = run.first_seen or (job.first_seen if job is not None else None) or "1970-01-01T00:00:00Z"
        inputs = self._during(self.reads, job, run)
        outputs = self._during(self.writes, job, run)
        return {
            "eventType": "COMPLETE" if status == "completed" else "FAIL",
            "eventTime": when,
            "producer": PRODUCER,
            "schemaURL": RUN_EVENT_SCHEMA,
            "run": {"runId": openlineage_run_id(run_name(run.id)), "facets": {RUN_FACET: _run_facet(run)}},
            "job": self._job(job, str(props.get("job", ""))),
            "inputs": [self._input(dataset, job) for dataset in inputs],
            "outputs": [self._output(dataset, set(inputs)) for dataset in outputs],
        }

    @staticmethod
    def _during(edges: Mapping[str, list[tuple[str, Edge]]], job: Node | None, run: Node) -> list[str]:
        """The job's datasets a run may have touched: those whose edge was seen while the run was.

        Reads and writes are kept per job, so a job whose runs touch other datasets each time (a
        training job, one run per model version) would otherwise list every run's in each run.
        """
        if job is None:
            return []
        start = run.first_seen
        ends = [t for t in (run.last_seen, run.props.get("ended_at"), start) if isinstance(t, str)]
        end = max(ends) if ends else None
        return sorted(dataset for dataset, edge in edges.get(job.id, ())
                      if start is None or end is None or edge.first_seen is None or edge.last_seen is None
                      or (edge.first_seen <= end and edge.last_seen >= start))

    def _job(self, job: Node | None, job_id: str) -> dict[str, Any]:
        if job is None:  # (a run whose job is gone: named by the id it points at)
            namespace, _, name = job_id.removeprefix("job:").rpartition("/")
            return {"namespace": namespace or "default", "name": name or job_id}
        facets = self._job_facets.get(job.id)
        if facets is None:
            facets = self._job_facets[job.id] = self._facets_of_job(job)
        return {"namespace": job.namespace or "default", "name": job.name, "facets": facets}

    def _facets_of_job(self, job: Node) -> dict[str, Any]:
        evidence: dict[str, dict[str, Any]] = {}
        keys = [(d, "READS", job.id) for d, _ in self.reads.get(job.id, ())]
        keys += [(job.id, "WRITES", d) for d, _ in self.writes.get(job.id, ())]
        for key in keys:
            for item in self.store.evidence(key):
                entry = {"sourceType": item.source_type, "path": item.origin.path, "line": item.origin.line,
                         "byteOffset": item.origin.byte_offset, "timestamp": item.timestamp,
                         "fingerprint": item.fingerprint, "sql": item.sql}
                entry = {k: v for k, v in entry.items() if v is not None}
                evidence[json.dumps(entry, sort_keys=True)] = entry
        samples = sorted(evidence.values(), key=lambda e: (e.get("timestamp", ""), e["path"], e.get("line", 0),
                                                           json.dumps(e, sort_keys=True)))
        ours: dict[str, Any] = {"_producer": PRODUCER, "_schemaURL": JOB_FACET_SCHEMA, "evidence": samples,
                "properties": {k: v for k, v in sorted(job.props.items()) if k not in _JOB_PROPS_NOT_EXPORTED}}
        if job.label:
            ours["title"] = job.label
        if self.confidence.get(job.id, 1.0) < 1.0:
            ours["confidence"] = self.confidence[job.id]
        facets: dict[str, Any] = {JOB_FACET: ours}
        query = next((e["sql"] for e in samples if "sql" in e and e["sourceType"] not in _NOT_SQL), None)
        if query is not None:
            facets["sql"] = _facet("sql", query=query)
        return facets

    def dataset_event(self, dataset: Node, change: str, when: str) -> dict[str, Any]:
        item = self._dataset(dataset.id)
        facets = item["facets"]
        state = LIFECYCLE_STATES[change]
        if state is not None:
            facets["lifecycleStateChange"] = _facet("lifecycleStateChange", lifecycleStateChange=state)
        facets.setdefault(DATASET_FACET, {"_producer": PRODUCER, "_schemaURL": DATASET_FACET_SCHEMA,
                                          "properties": {}})["lifecycle"] = change
        return {"eventTime": when, "producer": PRODUCER, "schemaURL": DATASET_EVENT_SCHEMA, "dataset": item}

    def _dataset(self, dataset_id: str) -> dict[str, Any]:
        node = self.datasets[dataset_id]
        namespace = node.namespace or "default"
        source = {"name": namespace, **({"uri": namespace} if "://" in namespace else {})}
        facets: dict[str, Any] = {"dataSource": _facet("dataSource", **source)}
        columns = node.props.get("schema")
        if isinstance(columns, Mapping) and columns:
            fields = [{"name": str(name), **({"type": str(kind)} if kind else {})} for name, kind in columns.items()]
            facets["schema"] = _facet("schema", fields=fields)
        kind = node.props.get("kind")
        if isinstance(kind, str) and kind:
            facets["datasetType"] = _facet("datasetType", datasetType=kind.upper())
        ours = {k: v for k, v in sorted(node.props.items()) if k not in ("schema", "kind", "rank")}
        if ours:
            facets[DATASET_FACET] = {"_producer": PRODUCER, "_schemaURL": DATASET_FACET_SCHEMA, "properties": ours}
        return {"namespace": namespace, "name": node.name, "facets": facets}

    def _input(self, dataset_id: str, job: Node | None) -> dict[str, Any]:
        item = self._dataset(dataset_id)
        if job is not None and any(found == dataset_id and edge.props.get("indirect")
                                   for found, edge in self.reads.get(job.id, ())):
            item["inputFacets"] = {READ_FACET: {"_producer": PRODUCER, "_schemaURL": READ_FACET_SCHEMA,
                                                "indirect": True}}
        return item

    def _output(self, dataset_id: str, inputs: set[str]) -> dict[str, Any]:
        item = self._dataset(dataset_id)
        fields: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
        for edge in self.derives_into.get(dataset_id, ()):
            source_dataset = self.column_of[edge.src]
            if source_dataset not in inputs | {dataset_id} or source_dataset not in self.datasets:
                continue  # another job's column lineage into this dataset (a MERGE's target: its own)
            source = self.datasets[source_dataset]
            kinds = sorted(kind.upper() for kind in ("direct", "indirect") if edge.props.get(kind))
            fields[_column(edge.dst)].append({
                "namespace": source.namespace or "default", "name": source.name, "field": _column(edge.src),
                "transformations": [{"type": kind} for kind in kinds or ["DIRECT"]]})
        if fields:
            item["facets"]["columnLineage"] = _facet("columnLineage", fields={
                name: {"inputFields": sorted(found, key=lambda f: (f["namespace"], f["name"], f["field"]))}
                for name, found in sorted(fields.items())})
        return item


def _column(column_id: str) -> str:
    return column_id.rpartition("#")[2]


def _run_facet(run: Node) -> dict[str, Any]:
    props = run.props
    facet: dict[str, Any] = {"_producer": PRODUCER, "_schemaURL": RUN_FACET_SCHEMA, "runId": run_name(run.id),
                             "status": props.get("status", "completed")}
    for ours, theirs in (("user", "user"), ("session_id", "sessionId"), ("statement_kind", "statementKind")):
        if props.get(ours) is not None:
            facet[theirs] = props[ours]
    extra = {k: v for k, v in sorted(props.items()) if k not in RUN_FIELDS}
    if extra:
        facet["facets"] = extra
    return facet

