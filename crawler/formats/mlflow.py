"""MLflow tracking stores, read from their files: no tracking server needed.

Two backends (https://mlflow.org/docs/latest/self-hosting/architecture/backend-store/):

- the file store, a tree ``mlruns/<experiment id>/`` of small YAML and text files: the
  experiment's ``meta.yaml``, each run's ``<run id>/meta.yaml`` with ``params/``, ``metrics/``
  (one ``timestamp value step`` line a logged value), ``tags/``, ``inputs/`` (links to the
  experiment's ``datasets/``) and ``outputs/`` (links to its logged ``models/``); the model
  registry in ``mlruns/models/<name>/`` (aliases in its ``meta.yaml``, ``version-<n>/meta.yaml``).
  An experiment's ``meta.yaml`` is the source file (told by its keys); the rest of the tree is
  read with it and passed over by a directory crawl.
- a SQLite database (``sqlite:///mlflow.db``), told by its tables, opened read-only and queried
  with parameters.

Each ended run (FINISHED, FAILED, KILLED) is one record: its facts as JSON, for
:mod:`parsers.ml.mlflow`. A run still RUNNING (or SCHEDULED) is a ``mlflow_run_in_progress``
warning and recorded by the first crawl after it ends. The store is read whole each crawl (it is
small files and a few queries) when any of its files changed; run ids are MLflow's, so what was
stored before is not stored again.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from crawler.cursors import Start
from crawler.registry import Read, SourceSpec, reader
from parsers import Origin, ParseIssue, SourceRecord
from parsers.fingerprint import digest
from parsers.ml.mlflow import STATUSES

SOURCE_TYPE = "mlflow"
# The file store's run statuses (mlflow.entities.RunStatus) by number.
_FILE_STATUSES = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
_SQLITE_MAGIC = b"SQLite format 3\x00"
_TABLES = {"experiments", "runs", "tags", "params", "latest_metrics"}
DELETED = "Deleted_Internal"  # the stage MLflow's registry gives a deleted version (its files stay)


class StoreError(Exception):
    """A part of a store that cannot be read: its reason goes on the crawl report."""


# ---- telling a store's files -------------------------------------------------------------------

def is_experiment_meta(head: bytes) -> bool:
    """An experiment's ``meta.yaml`` in a file store (a run's has ``run_id``, a model's ``model_id``)."""
    return (b"experiment_id:" in head and b"artifact_location:" in head and b"lifecycle_stage:" in head
            and b"run_id:" not in head and b"model_id:" not in head)


def is_tracking_db(path: Path) -> bool:
    """A SQLite database holding MLflow's tracking tables."""
    try:
        with path.open("rb") as stream:
            if stream.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
                return False
        with _connect(path) as db:
            names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except (OSError, sqlite3.Error):
        return False
    return names >= _TABLES


def _in_store(directory: Path) -> bool:
    """Whether a directory lies in a file store: under an experiment's folder or the registry."""
    for folder in (directory, *directory.parents):
        meta = folder / "meta.yaml"
        if folder.name == "models" and any(_is_experiment_file(meta) for meta in folder.parent.glob("*/meta.yaml")):
            return True  # the model registry, mlruns/models/, beside the experiments
        if _is_experiment_file(meta):
            return True
    return False


def _is_experiment_file(meta: Path) -> bool:
    return meta.is_file() and meta.stat().st_size < 65536 and is_experiment_meta(meta.read_bytes())


def in_file_store(path: Path) -> bool:
    """A file of a file store other than an experiment's ``meta.yaml``: read with it, not alone."""
    return path.name != "meta.yaml" and _in_store(path.parent) or (
        path.name == "meta.yaml" and _in_store(path.parent.parent))


# ---- the reader -------------------------------------------------------------------------------

def _sniff(head: bytes) -> bool:
    return is_experiment_meta(head)


@reader(SOURCE_TYPE, sniff=_sniff, names=is_tracking_db, appended=False, ignores=in_file_store)
def read_mlflow(spec: SourceSpec, path: Path, start: Start) -> Iterator[Read]:
    """A record per ended run of the store (the experiment ``path`` is the meta.yaml of, or all
    the experiments of the database ``path`` is), whatever ``start`` says: the store is re-read."""
    version = _fingerprint(path)
    state = {"store": version}
    if start.state.get("store") != version:
        try:
            runs = _database_runs(path) if path.name != "meta.yaml" else _file_store_runs(path)
            for facts in runs:
                yield Read(_item(spec, path, facts), 0, 0, None)
        except StoreError as error:
            yield Read(_issue(path, "bad_mlflow_store", str(error)), 0, 0, None)
    yield Read(None, path.stat().st_size, 0, lambda: state)


def _fingerprint(path: Path) -> str:
    """What the store's files look like (names, sizes, modification times; artifacts left out):
    while it stays the same, a crawl has nothing to read again."""
    if path.name == "meta.yaml":
        roots = [path.parent, path.parent.parent / "models"]
    else:
        roots = [path, path.with_name(path.name + "-wal")]
    seen = []
    for root in roots:
        if root.is_file():
            seen.append(f"{root}\0{root.stat().st_size}\0{root.stat().st_mtime_ns}")
        for folder, children, files in os.walk(root):
            children[:] = sorted(child for child in children if child != "artifacts")
            for name in sorted(files):
                info = os.stat(os.path.join(folder, name))
                seen.append(f"{folder}/{name}\0{info.st_size}\0{info.st_mtime_ns}")
    return digest("\n".join(seen))


def _item(spec: SourceSpec, path: Path, facts: dict[str, Any]) -> SourceRecord | ParseIssue:
    run = facts["run"]
    if isinstance(facts.get("problem"), str):
        return _issue(path, "bad_mlflow_run", facts["problem"])
    if run.get("status") not in STATUSES:
        return _issue(path, "mlflow_run_in_progress",
                      f"run {run['run_id']} ({run.get('name') or 'unnamed'}) of experiment "
                      f"{facts['experiment']['name']!r} is {run.get('status')}: recorded once it ends",
                      severity="warning")
    return SourceRecord(source_type=SOURCE_TYPE, text=json.dumps(facts, sort_keys=True),
                        origin=Origin(path=str(path)), timestamp=None, user=run.get("user"),
                        namespace=spec.namespace, database=spec.database, schema=spec.schema,
                        dialect=spec.dialect, application=facts["experiment"]["name"])


def _issue(path: Path, code: str, message: str, severity: str = "error") -> ParseIssue:
    return ParseIssue(code=code, message=message, origin=Origin(path=str(path), byte_offset=0),
                      severity="warning" if severity == "warning" else "error")


# ---- the file store ---------------------------------------------------------------------------

def _file_store_runs(meta: Path) -> Iterator[dict[str, Any]]:
    experiment = _yaml(meta)
    if experiment.get("lifecycle_stage") == "deleted":
        return
    info = {"id": str(experiment.get("experiment_id", meta.parent.name)), "name": str(experiment.get("name", ""))}
    folder = meta.parent
    models = _logged_models(folder)
    versions = _registry(folder.parent / "models")
    for run_meta in sorted(folder.glob("*/meta.yaml")):
        if run_meta.parent.name in ("datasets", "models") or run_meta == meta:
            continue
        try:
            yield _file_run(run_meta, info, models, versions)
        except StoreError as error:
            yield {"run": {"run_id": run_meta.parent.name}, "experiment": info, "problem": str(error)}


def _file_run(run_meta: Path, experiment: dict[str, str], models: dict[str, dict[str, Any]],
              versions: list[dict[str, Any]]) -> dict[str, Any]:
    meta = _yaml(run_meta)
    missing = sorted({"run_id", "status", "start_time"} - set(meta))
    if missing:
        raise StoreError(f"{run_meta}: no {', '.join(missing)} (a truncated file?)")
    folder = run_meta.parent
    run_id = str(meta.get("run_id") or folder.name)
    tags = _values(folder / "tags")
    status = meta.get("status")
    run = {"run_id": run_id, "name": meta.get("run_name") or tags.get("mlflow.runName"),
           "status": _FILE_STATUSES.get(status, str(status)) if isinstance(status, int) else status,
           "start_time": meta.get("start_time"), "end_time": meta.get("end_time"),
           "user": meta.get("user_id") or tags.get("mlflow.user"), "tags": tags,
           "params": _values(folder / "params"), "metrics": _latest_metrics(folder / "metrics")}
    inputs = [_dataset(folder.parent / "datasets" / link["source_id"], link)
              for link in map(_yaml, sorted((folder / "inputs").glob("*/meta.yaml")))
              if link.get("source_type") == "DATASET"]
    mine = [version for version in versions if _source_run(version, models) == run_id]
    logged = [dict(model, registered=_registered(model, mine))
              for model in models.values() if model.get("source_run_id") == run_id]
    return {"experiment": experiment, "run": run, "inputs": inputs, "models": logged, "versions": mine}


def _dataset(folder: Path, link: dict[str, Any]) -> dict[str, Any]:
    dataset = _yaml(folder / "meta.yaml")
    return {"name": dataset.get("name"), "digest": dataset.get("digest"), "source_type": dataset.get("source_type"),
            "source": dataset.get("source"), "context": (link.get("tags") or {}).get("mlflow.data.context")}


def _logged_models(folder: Path) -> dict[str, dict[str, Any]]:
    models = {}
    for meta in sorted((folder / "models").glob("*/meta.yaml")):
        model = _yaml(meta)
        if model.get("model_id"):
            models[str(model["model_id"])] = {key: model.get(key) for key in
                                              ("model_id", "name", "artifact_location", "source_run_id")}
    return models


def _registry(folder: Path) -> list[dict[str, Any]]:
    versions = []
    for model_meta in sorted(folder.glob("*/meta.yaml")):
        model = _yaml(model_meta)
        aliases = model.get("aliases") or {}
        for meta in sorted(model_meta.parent.glob("version-*/meta.yaml")):
            version = _yaml(meta)
            if version.get("current_stage") == DELETED:
                continue
            number = str(version.get("version"))
            versions.append({
                "name": version.get("name") or model.get("name"), "version": number,
                "aliases": sorted(alias for alias, at in aliases.items() if str(at) == number),
                "stage": version.get("current_stage"), "status": version.get("status"),
                "creation_time": version.get("creation_timestamp"), "user": version.get("user_id"),
                "description": version.get("description"), "run_id": version.get("run_id"),
                "model_id": version.get("model_id"), "source": str(version.get("source") or ""),
                "tags": _values(meta.parent / "tags")})
    return versions


def _registered(model: dict[str, Any], versions: list[dict[str, Any]]) -> bool:
    """Whether a run's logged model is one of its registered versions: by the model id (MLflow 3's
    ``models:/<id>``) or by its artifact path (``runs:/<run id>/<name>``)."""
    return any(version.get("model_id") == model["model_id"] or str(version.get("source")).endswith(
        (f"/{model['name']}", f":/{model['model_id']}")) for version in versions)


def _source_run(version: dict[str, Any], models: dict[str, dict[str, Any]]) -> str | None:
    """The run a version came from: as the registry says, else its logged model's (MLflow 3)."""
    if version.get("run_id"):
        return str(version["run_id"])
    model = models.get(str(version.get("model_id")))
    return str(model["source_run_id"]) if model and model.get("source_run_id") else None


def _values(folder: Path) -> dict[str, str]:
    """A folder of one file a key (params, tags): keys may hold ``/`` (sub-folders)."""
    if not folder.is_dir():
        return {}
    return {str(file.relative_to(folder)): _text(file) for file in sorted(folder.rglob("*")) if file.is_file()}


def _latest_metrics(folder: Path) -> dict[str, float]:
    """Each metric's value at its latest step (then time), as MLflow's ``latest_metrics`` holds."""
    latest = {}
    for file in sorted(folder.rglob("*")) if folder.is_dir() else ():
        if not file.is_file():
            continue
        points = []
        for line in _text(file).splitlines():
            fields = line.split()
            try:
                points.append((int(fields[2]) if len(fields) > 2 else 0, int(fields[0]), float(fields[1])))
            except (IndexError, ValueError) as error:
                raise StoreError(f"{file}: not a metric line ({line[:80]!r}): {error}") from None
        if points:
            latest[str(file.relative_to(folder))] = max(points)[2]
    return latest


def _text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise StoreError(f"{file}: {error}") from None


def _yaml(file: Path) -> dict[str, Any]:
    """A ``meta.yaml``, as MLflow writes it with PyYAML."""
    text = _text(file)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise StoreError(f"{file}: not valid YAML: {str(error).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise StoreError(f"{file}: not a mapping of keys to values (truncated?)")
    return data


# ---- the SQLite store --------------------------------------------------------------------------

def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _database_runs(path: Path) -> Iterator[dict[str, Any]]:
    try:
        with _connect(path) as db:
            db.row_factory = sqlite3.Row
            runs = [_database_run(db, row) for row in db.execute(
                "SELECT r.*, e.name AS experiment_name FROM runs AS r JOIN experiments AS e USING (experiment_id) "
                "WHERE r.lifecycle_stage = ? AND e.lifecycle_stage = ? ORDER BY r.start_time, r.run_uuid",
                ("active", "active"))]
    except sqlite3.Error as error:
        raise StoreError(f"{path}: cannot read the MLflow database: {error}") from None
    yield from runs


def _database_run(db: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    run_id = row["run_uuid"]
    tags = dict(db.execute("SELECT key, value FROM tags WHERE run_uuid = ?", (run_id,)).fetchall())
    run = {"run_id": run_id, "name": row["name"], "status": row["status"], "start_time": row["start_time"],
           "end_time": row["end_time"], "user": row["user_id"] or tags.get("mlflow.user"), "tags": tags,
           "params": dict(db.execute("SELECT key, value FROM params WHERE run_uuid = ?", (run_id,)).fetchall()),
           "metrics": dict(db.execute("SELECT key, value FROM latest_metrics WHERE run_uuid = ?",
                                      (run_id,)).fetchall())}
    inputs = [dict(dataset) for dataset in db.execute(
        "SELECT d.name, d.digest, d.dataset_source_type AS source_type, d.dataset_source AS source, "
        "t.value AS context FROM inputs AS i JOIN datasets AS d ON d.dataset_uuid = i.source_id "
        "LEFT JOIN input_tags AS t ON t.input_uuid = i.input_uuid AND t.name = ? "
        "WHERE i.source_type = ? AND i.destination_type = ? AND i.destination_id = ? ORDER BY d.name",
        ("mlflow.data.context", "DATASET", "RUN", run_id))]
    versions = _database_versions(db, run_id)
    logged = [{"model_id": model["model_id"], "name": model["name"], "artifact_location": model["artifact_location"],
               "registered": _registered(model, versions)}
              for model in db.execute("SELECT model_id, name, artifact_location FROM logged_models "
                                      "WHERE source_run_id = ? ORDER BY creation_timestamp_ms", (run_id,))]
    return {"experiment": {"id": str(row["experiment_id"]), "name": row["experiment_name"]}, "run": run,
            "inputs": inputs, "models": logged, "versions": versions}


def _database_versions(db: sqlite3.Connection, run_id: str) -> list[dict[str, Any]]:
    """The registered versions made from a run: named by it, or by its logged model (MLflow 3)."""
    columns = {row[1] for row in db.execute("SELECT * FROM pragma_table_info(?)", ("model_versions",))}
    if not columns:
        return []
    model_id = "v.model_id" if "model_id" in columns else "NULL"
    rows = db.execute(
        f"SELECT v.name, v.version, v.current_stage AS stage, v.status, v.creation_time, v.user_id AS user, "  # noqa: S608
        f"v.description, v.source, {model_id} AS model_id FROM model_versions AS v "
        "WHERE v.run_id = ? AND coalesce(v.current_stage, '') != ? ORDER BY v.name, v.version",
        (run_id, DELETED)).fetchall()
    versions = []
    for version in map(dict, rows):
        aliases = [alias for (alias,) in db.execute(
            "SELECT alias FROM registered_model_aliases WHERE name = ? AND version = ? ORDER BY alias",
            (version["name"], version["version"]))]
        versions.append({**version, "version": str(version["version"]), "aliases": aliases,
                         "source": version["source"] or "", "model_id": version["model_id"]})
    return versions
