"""MLflow tracking stores, as the mlflow reader folds them: one record per ended run, with its
experiment, tags, params, latest metrics, the datasets it logged with ``mlflow.log_input``, the
models it logged, and the registered model versions made from it.

A run is a Run of the training job ``mlflow:<experiment name>``; it reads its datasets and writes
the artifacts of the models it logged but nobody registered. Each registered version is an event
of its own, its registration (a run of the same job, ``mlflow-registry:<model>/<version>``): a
ModelVersion of the Model, PRODUCED by the training run, TRAINED_ON the run's datasets. Registrations made after
the run was recorded are recorded by a later crawl: both runs are stable, so a crawl read again
stores nothing new.

>>> import json
>>> from parsers import Origin, SourceRecord
>>> facts = {"experiment": {"id": "1", "name": "churn"},
...          "run": {"run_id": "ab12", "status": "FINISHED", "start_time": 1782900000000, "user": "ann",
...                  "tags": {"mlflow.source.git.commit": "c0ffee"}, "params": {"lr": "0.1"},
...                  "metrics": {"auc": 0.8}},
...          "inputs": [{"name": "train", "digest": "d1", "source_type": "local",
...                      "source": '{"uri": "/lake/churn/dt=2026-07-01/part-0.csv"}'}],
...          "versions": [{"name": "churn_model", "version": "3", "aliases": ["champion"]}]}
>>> record = SourceRecord(source_type="mlflow", text=json.dumps(facts), origin=Origin(path="/mlruns/1/meta.yaml"))
>>> training, registration = parse_mlflow_record(record).events
>>> training.job.name, training.run.facets["code_version"], [d.name for d in training.inputs]
('mlflow:churn', 'c0ffee', ['/lake/churn/{dt}'])
>>> model = registration.produced[0]
>>> model.name, model.version, model.produced_by, model.facets["aliases"]
('churn_model', '3', 'ab12', ['champion'])
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from parsers.model import (
    DatasetRef,
    Evidence,
    JobRef,
    LineageEvent,
    ModelRef,
    ParseIssue,
    ParseResult,
    RunRef,
    SourceRecord,
)
from parsers.naming import NameContext, file_ref, is_table_namespace, parse_table, table_ref
from parsers.redact import redact_properties

NAMESPACE = "mlflow"
REGISTRY = "mlflow-registry"  # a registration's run: mlflow-registry:<model>/<version>
# MLflow's run statuses, as our runs' (a RUNNING or SCHEDULED run is not recorded until it ends).
STATUSES: dict[str, Literal["completed", "failed"]] = {"FINISHED": "completed", "FAILED": "failed",
                                                       "KILLED": "failed"}
# The tags MLflow sets from the code that ran (mlflow.utils.mlflow_tags).
COMMIT, SOURCE = "mlflow.source.git.commit", "mlflow.source.name"
# URI schemes of database servers, as OpenLineage names their namespaces.
_SCHEMES = {"postgresql": "postgres", "postgres": "postgres", "mysql": "mysql", "mariadb": "mysql",
            "redshift": "redshift", "snowflake": "snowflake", "mssql": "sqlserver", "sqlserver": "sqlserver"}


def parse_mlflow_record(record: SourceRecord) -> ParseResult:
    """The training run and the registrations of one record of an MLflow store."""
    try:
        facts = json.loads(record.text)
        run = facts["run"]
        experiment = facts["experiment"]["name"]
    except (ValueError, KeyError, TypeError) as error:
        issue = ParseIssue(code="bad_mlflow_record", message=f"not an MLflow run record: {error}",
                           origin=record.origin, snippet=record.text[:200])
        return ParseResult(record_key=record.key(), issues=(issue,))
    job = JobRef(namespace=NAMESPACE, name=f"{NAMESPACE}:{experiment}")
    inputs, issues = _inputs(facts.get("inputs", ()), record)
    events = [_training(record, job, run, inputs, facts.get("models", ()))]
    events += [_registration(record, job, run, inputs, version) for version in facts.get("versions", ())]
    return ParseResult(record_key=record.key(), events=tuple(events), issues=tuple(issues))


def _training(record: SourceRecord, job: JobRef, run: Mapping[str, Any], inputs: tuple[DatasetRef, ...],
              models: Any) -> LineageEvent:
    when = _time(run.get("start_time"))
    artifacts = {file_ref(model["artifact_location"]): model for model in models
                 if not model.get("registered") and model.get("artifact_location")}
    facets = {ref.qualified: {"kind": "model-artifact", "model": model.get("name", "")}
              for ref, model in artifacts.items()}
    return LineageEvent(
        job=job, statement_kind="TRAIN", inputs=inputs, outputs=tuple(artifacts),
        run=RunRef(run_id=run["run_id"], started_at=when, user=run.get("user") or None,
                   status=STATUSES.get(run.get("status", ""), "unknown"), facets=_run_facets(run)),
        evidence=Evidence(source_type=record.source_type, origin=record.origin, timestamp=when),
        job_title=job.name.removeprefix(f"{NAMESPACE}:"), dataset_facets=facets)


def _run_facets(run: Mapping[str, Any]) -> dict[str, Any]:
    tags = run.get("tags") or {}
    facets = {"mlflow_run_id": run["run_id"], "run_name": run.get("name"), "code_version": tags.get(COMMIT),
              "source": tags.get(SOURCE), "params": redact_properties(run.get("params") or {}),
              "metrics": dict(run.get("metrics") or {}), "ended_at": _time(run.get("end_time"))}
    return {key: value for key, value in facets.items() if value not in (None, "", {})}


def _registration(record: SourceRecord, job: JobRef, run: Mapping[str, Any], inputs: tuple[DatasetRef, ...],
                  version: Mapping[str, Any]) -> LineageEvent:
    name, number = version["name"], str(version["version"])
    when = _time(version.get("creation_time"))
    facets = {"aliases": sorted(version.get("aliases") or []), "stage": version.get("stage"),
              "status": version.get("status"), "registered_at": when, "mlflow_run_id": run["run_id"],
              "description": version.get("description")}
    facets = {key: value for key, value in facets.items() if value not in (None, "", [], "None")}
    model = ModelRef(name=name, version=number, facets=facets, produced_by=run["run_id"], trained_on=inputs)
    return LineageEvent(
        job=job, statement_kind="TRAIN", produced=(model,),
        run=RunRef(run_id=f"{REGISTRY}:{name}/{number}", started_at=when,
                   user=version.get("user") or None, facets={"mlflow_run_id": run["run_id"], "registers": name}),
        evidence=Evidence(source_type=record.source_type, origin=record.origin, timestamp=when),
        job_title=job.name.removeprefix(f"{NAMESPACE}:"))


def _inputs(inputs: Any, record: SourceRecord) -> tuple[tuple[DatasetRef, ...], list[ParseIssue]]:
    refs: list[DatasetRef] = []
    issues = []
    for logged in inputs:
        ref = dataset_of(logged, record)
        if ref is None:
            issues.append(ParseIssue(
                code="mlflow_dataset_unnamed", severity="warning", origin=record.origin,
                message=f"dataset {logged.get('name')!r} (source type {logged.get('source_type')!r}) names no "
                        "path or table: not linked", snippet=str(logged.get("source"))[:200]))
        elif ref not in refs:
            refs.append(ref)
    return tuple(refs), issues


def dataset_of(logged: Mapping[str, Any], record: SourceRecord) -> DatasetRef | None:
    """The dataset a logged MLflow dataset was read from, by its source: a path or object-store
    URI (``{"uri": ...}``), a table (``table_name``, Delta's ``delta_table_name``, Spark's
    ``table``), alone or with a database URI saying which server (``postgresql://host:5432/db``).

    >>> from parsers import Origin
    >>> here = SourceRecord(source_type="mlflow", text="", origin=Origin(path="x"))
    >>> source = '{"uri": "postgresql://trainer@db.internal:5432/credit", "table_name": "ml.training_set"}'
    >>> dataset_of({"source": source}, here)
    DatasetRef(namespace='postgres://db.internal:5432', name='credit.ml.training_set', member=None)
    """
    try:
        source = json.loads(logged.get("source") or "{}")
    except ValueError:
        return None
    if not isinstance(source, dict):
        return None
    uri = source.get("uri") or source.get("path") or source.get("url")
    table = source.get("table_name") or source.get("delta_table_name") or source.get("table")
    if isinstance(uri, str) and uri:
        scheme = urlsplit(uri).scheme
        if scheme in _SCHEMES:
            return _database_table(uri, table)
        if table is None and (uri.startswith("/") or not is_table_namespace(scheme)):
            return file_ref(uri)
    if isinstance(table, str) and table:
        context = NameContext.of(record.dialect or "spark", namespace=record.namespace or "spark_catalog",
                                 database=record.database, schema=record.schema)
        return table_ref(parse_table(table, context), context)
    return None


def _database_table(uri: str, table: str | None) -> DatasetRef | None:
    """A table on a database server named by a URI (credentials dropped): the database from the
    URI's path qualifies a table name given apart; or the path names the whole table."""
    parts = urlsplit(uri)
    scheme = _SCHEMES[parts.scheme]
    host = parts.hostname or "localhost"
    namespace = f"{scheme}://{host}:{parts.port}" if parts.port else f"{scheme}://{host}"
    path = parts.path.strip("/").replace("/", ".")
    name = f"{path}.{table}" if table and path else table or path
    if not name:
        return None
    dialect = {"postgres": "postgres", "redshift": "redshift", "snowflake": "snowflake"}.get(scheme, "mysql")
    if scheme == "sqlserver":
        dialect = "tsql"
    context = NameContext.of(dialect, namespace=namespace)
    return table_ref(parse_table(name, context), context)


def _time(millis: Any) -> str | None:
    """MLflow's epoch milliseconds as an ISO time in UTC, as our other sources give times."""
    if not isinstance(millis, (int, float)) or millis <= 0:
        return None
    moment = datetime.datetime.fromtimestamp(millis / 1000, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
