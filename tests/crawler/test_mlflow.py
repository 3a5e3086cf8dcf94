"""MLflow tracking stores: the file store in fixtures/mlflow/store (written by real MLflow with
fixtures/mlflow/make_store.py) crawled edge by edge; the script run live into a temp dir for the
file store and the SQLite store, crawled, then a running run ended and a version registered late
with real MLflow, and crawled again; bad stores reported, the crawl going on."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import crawler  # noqa: F401  (registers the readers)
from crawler import SourceSpec, crawl
from crawler.formats.mlflow import is_tracking_db
from graph import Store, open_store

ROOT = Path(__file__).parents[2]
FIXTURE = ROOT / "fixtures" / "mlflow" / "store"
JOB = "job:mlflow/mlflow:loan-default"
LAKE, S3 = "dataset:file//data/lake/loans/{dt}", "dataset:s3://bank-lake/loans/{date}/loans.parquet"
V1, V2, MODEL = "model_version:loan_model/1", "model_version:loan_model/2", "model:loan_model"


def _runs(store: Store) -> dict[str, Any]:
    """The training runs by their MLflow run name."""
    return {node.props["run_name"]: node for node in store.nodes("run") if "run_name" in node.props}


def _edges(store: Store) -> set[tuple[str, str, str]]:
    return {(e.src, e.kind, e.dst) for e in store.edges()}


def _check_store(store: Store) -> None:
    """What the store written by make_store.py must give, whichever backend held it."""
    runs = _runs(store)
    assert set(runs) == {"train-a", "train-b", "train-c"}  # train-d is still running
    a, b, c = runs["train-a"], runs["train-b"], runs["train-c"]
    assert (a.props["user"], a.props["status"], a.props["code_version"]) == ("alice", "completed", "a" * 40)
    assert a.props["params"] == {"learning_rate": "0.1", "max_depth": "4"}
    assert a.props["metrics"] == {"auc": 0.81, "logloss": 0.47}  # the last values
    assert a.props["source"] == "train.py" and a.props["mlflow_run_id"] == a.name
    assert (b.props["user"], b.props["code_version"], b.props["metrics"]) == ("bob", "b" * 40, {"auc": 0.84})
    assert (c.props["status"], c.props["user"]) == ("failed", "carol")
    assert {run.props["job"] for run in runs.values()} == {JOB}
    edges = _edges(store)
    run_a, run_b = f"run:{a.name}", f"run:{b.name}"
    for version, run, data in ((V1, run_a, LAKE), (V2, run_b, S3)):
        assert {(run, "PRODUCED", version), (version, "OF", MODEL), (version, "TRAINED_ON", data)} <= edges
    assert {(LAKE, "READS", JOB), (S3, "READS", JOB)} <= edges
    assert {kind for src, kind, dst in edges if src in (V1, V2) or dst in (V1, V2)} == {"PRODUCED", "OF", "TRAINED_ON"}
    v1, v2 = store.node(V1), store.node(V2)
    assert v1 is not None and v2 is not None
    assert "aliases" not in v1.props and v2.props["aliases"] == ["champion"]
    assert (v1.props["mlflow_run_id"], v2.props["mlflow_run_id"]) == (a.name, b.name)
    assert v1.props["status"] == "READY" and v1.props["registered_at"].endswith("Z")
    # The explainer train-a logged and nobody registered: a model artifact the run wrote.
    (artifact,) = [node for node in store.nodes("dataset") if node.props.get("kind") == "model-artifact"]
    assert artifact.props["model"] == "explainer" and (JOB, "WRITES", artifact.id) in edges
    registrations = [node for node in store.nodes("run") if node.name.startswith("mlflow-registry:")]
    assert {node.props["job"] for node in registrations} == {JOB} and len(registrations) == 2


def _crawl(path: Path, store: Store, **spec: Any) -> Any:
    return crawl([SourceSpec(path=str(path), **spec)], store)


def test_the_fixture_file_store_edge_by_edge(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'lineage.db'}")
    report = _crawl(FIXTURE, store)
    assert report.issues_by_code == {"mlflow_run_in_progress": 1} and report.skipped_files == 0
    _check_store(store)
    again = _crawl(FIXTURE, store)
    assert (again.records, again.written) == (0, 0)  # the store has not changed: nothing read again


def test_a_truncated_meta_yaml_is_an_issue_and_the_other_runs_are_read(tmp_path: Path) -> None:
    copy = tmp_path / "store"
    shutil.copytree(FIXTURE, copy)
    metas = {meta.read_text().split("run_name: ")[1].split()[0]: meta for meta in copy.glob("mlruns/*/*/meta.yaml")
             if "run_name: " in meta.read_text()}
    metas["train-c"].write_text(metas["train-c"].read_text()[:60])
    metas["train-b"].write_text("run_id: {unclosed\n")
    store = open_store(f"sqlite:///{tmp_path / 'lineage.db'}")
    report = _crawl(copy, store)
    assert report.issues_by_code == {"bad_mlflow_run": 2, "mlflow_run_in_progress": 1}
    assert set(_runs(store)) == {"train-a"} and store.node(V1) is not None
    messages = {i.message.split(":")[0]: i.message for i in report.issue_sample if i.code == "bad_mlflow_run"}
    assert "not valid YAML" in messages[str(metas["train-b"])]
    assert "truncated" in messages[str(metas["train-c"])]


def test_a_corrupt_database_is_an_issue(tmp_path: Path) -> None:
    db = tmp_path / "mlflow.db"
    db.write_bytes(b"SQLite format 3\x00" + b"\x00" * 84 + b"garbage" * 200)
    assert not is_tracking_db(db)
    store = open_store(f"sqlite:///{tmp_path / 'lineage.db'}")
    report = _crawl(db, store, type="mlflow")
    assert report.issues_by_code == {"bad_mlflow_store": 1}
    assert "cannot read the MLflow database" in report.issue_sample[0].message


def _make(out: Path, backend: str, *more: str) -> dict[str, str]:
    done = subprocess.run([sys.executable, str(ROOT / "fixtures" / "mlflow" / "make_store.py"), str(out),
                           "--backend", backend, *more], capture_output=True, text=True, timeout=300, check=True,
                          cwd=out.parent)
    return dict(line.split() for line in done.stdout.splitlines())


@pytest.mark.parametrize("backend", ["file", "sqlite"])
def test_live_store_written_by_mlflow_then_a_run_ends_and_a_version_is_registered(tmp_path: Path,
                                                                                backend: str) -> None:
    pytest.importorskip("mlflow")
    out = tmp_path / "mlflow"
    runs = _make(out, backend)
    source = out if backend == "file" else out / "mlflow.db"
    if backend == "sqlite":
        assert is_tracking_db(source)
        with sqlite3.connect(source) as db:
            assert db.execute("SELECT count(*) FROM runs").fetchone() == (4,)
    store = open_store(f"sqlite:///{tmp_path / 'lineage.db'}")
    report = _crawl(source, store)
    assert report.issues_by_code == {"mlflow_run_in_progress": 1}
    _check_store(store)
    assert _crawl(source, store).written == 0
    # A store touched but not changed: read again, nothing new stored.
    (next((out / "mlruns").glob("*/tags/team")) if backend == "file" else source).touch()
    again = _crawl(source, store)
    assert (again.records, again.written, again.already_seen) == (3, 0, report.written)
    # train-d ends, and a version of train-a's explainer is registered: the next crawl records both.
    assert _make(out, backend, "--finish") == runs
    report = _crawl(source, store)
    assert report.issues == 0 and report.written == 2
    assert _runs(store)["train-d"].props["status"] == "failed"
    edges = _edges(store)
    assert {(f"run:{runs['train-a']}", "PRODUCED", "model_version:loan_model/3"),
            ("model_version:loan_model/3", "TRAINED_ON", LAKE)} <= edges
