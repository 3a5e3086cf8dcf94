"""Job logs crawled into lineage: real Airflow 2.x and 3.x task logs and a real Spark driver log
(fixtures/joblogs/, fixtures/demo/airflow/), edge by edge; a try still being written; a 10 MB
line; the user's rules and their validation when the config loads."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from crawler import SourceSpec, crawl
from crawler.config import load
from crawler.errors import ConfigError
from crawler.registry import type_of
from graph import Store, open_store

ROOT = Path(__file__).resolve().parent.parent.parent
JOBLOGS = ROOT / "fixtures" / "joblogs"
DEMO_AIRFLOW = ROOT / "fixtures" / "demo" / "airflow" / "logs"
WAREHOUSE = "postgres://warehouse.bank.internal:5432"


def _store(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path / 'lineage.db'}")


def _edges(store: Store) -> set[tuple[str, str, str]]:
    """(job, direction, dataset id) of every READS and WRITES edge."""
    found = set()
    for edge in store.edges(["READS", "WRITES"]):
        if edge.kind == "READS":
            found.add((edge.dst.removeprefix("job:"), "read", edge.src.removeprefix("dataset:")))
        else:
            found.add((edge.src.removeprefix("job:"), "write", edge.dst.removeprefix("dataset:")))
    return found


def _runs(store: Store) -> dict[str, dict[str, Any]]:
    return {node.name: node.props for node in store.nodes("run")}


def test_formats_are_told_by_their_lines_and_layout() -> None:
    airflow2 = next((JOBLOGS / "airflow-2").rglob("*.log"))
    airflow3 = next((JOBLOGS / "airflow-3").rglob("attempt=*.log"))
    assert type_of(airflow2) == "airflow_task_log"
    assert type_of(airflow3) == "airflow_task_log"
    assert type_of(JOBLOGS / "spark" / "driver.log") == "spark_driver_log"
    spark_eventlog = next((ROOT / "fixtures" / "spark" / "spark-3.5").iterdir())
    assert type_of(spark_eventlog) == "spark_eventlog"


def test_airflow_2_task_log(tmp_path: Path) -> None:
    store = _store(tmp_path)
    report = crawl([SourceSpec(path=str(JOBLOGS / "airflow-2"))], store)
    assert report.issues == 0
    job = "airflow/credit_limit_training.train_model"
    assert _edges(store) == {
        (job, "read", "generic://default/credit.ml.training_set"),
        (job, "write", "s3://bank-models/credit_limit/{version}/model.pkl"),
    }
    (name, props), = _runs(store).items()
    assert name == "airflow:credit_limit_training/train_model/manual__2026-11-20/0"
    assert props["dag_file"] == "DAGS_FOLDER/credit.py" and props["try_number"] == 0
    assert props["status"] == "completed"


def test_airflow_3_task_logs(tmp_path: Path) -> None:
    store = _store(tmp_path)
    report = crawl([SourceSpec(path=str(JOBLOGS / "airflow-3"), namespace=WAREHOUSE, dialect="postgres")], store)
    assert report.statements_failed == 1  # fail_once's first try: no lineage, counted
    job = "airflow/credit_limit_training.train_model"
    assert _edges(store) == {
        (job, "read", f"{WAREHOUSE}/credit.ml.training_set"),
        (job, "write", "s3://bank-models/credit_limit/{version}/model.pkl"),
    }
    (props,) = _runs(store).values()  # fail_once's second try read and wrote nothing: no run
    assert props["code_version"] == "3f2a9c1d0b7e4a6f8c5d2e1b0a9f8e7d6c5b4a39"
    assert props["dag_file"].endswith("dags/credit.py") and props["try_number"] == 1


def test_spark_driver_log(tmp_path: Path) -> None:
    """What the real driver log of orders_daily_driver.py names: the CSV read, the parquet
    written, the table saveAsTable wrote (its directory lies in the warehouse) and the
    saveAsTextFile output, which no event log names."""
    store = _store(tmp_path)
    report = crawl([SourceSpec(path=str(JOBLOGS / "spark" / "driver.log"))], store)
    assert report.issues == 0
    job = "spark://default/spark:orders_daily_driver"
    root = "file//tmp/lineage-driver-log"
    assert _edges(store) == {
        (job, "read", f"{root}/landing/orders.csv"),
        (job, "write", f"{root}/lake/orders"),
        (job, "write", "spark://default/sales.orders_by_country"),
        (job, "write", f"{root}/lake/orders_upper_txt"),
    }
    (props,) = _runs(store).values()
    assert props["packages"]["spark"] == "4.3.0"


def test_demo_training_tries(tmp_path: Path) -> None:
    """Real Airflow 2.11 logs of the demo's training task: the first DAG run's first try failed
    (counted, no lineage); its retry and the next day's try read the warehouse's training set
    and carry their commit and MLflow run."""
    store = _store(tmp_path)
    report = crawl([SourceSpec(path=str(DEMO_AIRFLOW), type="airflow_task_log", dialect="postgres",
                               namespace=WAREHOUSE, database="credit")], store)
    assert report.statements_failed == 1 and report.issues == 0
    assert _edges(store) == {("airflow/credit_limit_training.train_model", "read",
                              f"{WAREHOUSE}/credit.ml.training_set")}
    runs = _runs(store)
    first = runs["airflow:credit_limit_training/train_model/scheduled__2026-11-24T02:00:00+00:00/2"]
    second = runs["airflow:credit_limit_training/train_model/scheduled__2026-11-25T02:00:00+00:00/1"]
    assert first["code_version"] == "9c4e2a7f1b3d5e6a8c0b2d4f6a8e0c2b4d6f8a1c"
    assert first["mlflow_run_id"] == "5f0c8e2a9b1d4c7e8f3a6b2d0e9c1f47"
    assert second["code_version"] == "e81b5d9a3c7f2e4b6d8a0c1e3f5a7b9d2c4e6f80"
    assert second["mlflow_run_id"] == "a3d7e1f9c2b84e6a9d0f1c3e5b7a2d86"
    assert second["script"] == "/opt/credit-models/train_limit_model.py"
    assert len(runs) == 2


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_try_still_running_is_read_once_it_has_ended(tmp_path: Path) -> None:
    source = next((JOBLOGS / "airflow-2").rglob("*.log"))
    lines = source.read_bytes().splitlines(keepends=True)
    end = next(i for i, line in enumerate(lines) if b"Task exited with return code" in line)
    log = tmp_path / "logs" / "dag_id=d" / "run_id=r1" / "task_id=t" / "attempt=1.log"
    log.parent.mkdir(parents=True)
    log.write_bytes(b"".join(lines[:end]))
    store = _store(tmp_path)
    spec = SourceSpec(path=str(tmp_path / "logs"))
    first = crawl([spec], store)
    assert first.records == 0 and first.held_back and not _runs(store)
    with log.open("ab") as stream:
        stream.write(lines[end])
    second = crawl([spec], store)
    assert second.records == 1 and len(_runs(store)) == 1
    with log.open("ab") as stream:  # Airflow 2 writes on after the end: no second run
        stream.write(b"".join(lines[end + 1:]))
    third = crawl([spec], store)
    assert third.records == 0 and third.already_seen == 0 and len(_runs(store)) == 1


def test_a_try_abandoned_for_an_hour_is_read(tmp_path: Path) -> None:
    source = next((JOBLOGS / "airflow-2").rglob("*.log"))
    text = source.read_text(encoding="utf-8")
    log = tmp_path / "dag_id=d" / "run_id=r1" / "task_id=t" / "attempt=1.log"
    log.parent.mkdir(parents=True)
    log.write_text(text[:text.index("Task exited")].rsplit("\n", 1)[0] + "\n", encoding="utf-8")
    _age(log, 2 * 3600)
    store = _store(tmp_path)
    crawl([SourceSpec(path=str(tmp_path))], store)
    assert len(_runs(store)) == 1


def test_a_10_mb_line_is_an_issue_and_the_crawl_goes_on(tmp_path: Path) -> None:
    log = tmp_path / "etl.log"
    log.write_text("INFO:etl:starting\n" + "INFO:etl:" + "x" * 10_000_000 + "\n"
                   + "INFO:etl:wrote 120 rows to s3://lake/exports/orders.parquet\n", encoding="utf-8")
    store = _store(tmp_path)
    report = crawl([SourceSpec(path=str(log), type="app_log")], store)
    assert report.issues_by_code == {"line_too_long": 1}
    assert _edges(store) == {("app/app:etl", "write", "s3://lake/exports/orders.parquet")}
    issue, = store.issues()
    assert issue.origin.line == 2 and len(issue.snippet or "") <= 200


def test_app_log_user_rules_sql_and_secrets(tmp_path: Path) -> None:
    log = tmp_path / "nightly_2026-11-25.log"
    log.write_text(
        "2026-11-25 02:00:01,120 INFO etl: git commit 1a2b3c4d5e6f\n"
        "2026-11-25 02:00:02,000 INFO etl: pulling jdbc:postgresql://etl:hunter2@db.bank.internal:5432/crm "
        "dbtable=sales.customers for read\n"
        "2026-11-25 02:00:03,000 INFO etl: Running statement: INSERT INTO mart.orders SELECT * FROM raw.orders "
        "WHERE amount > 100, parameters: None\n"
        "2026-11-25 02:00:04,000 INFO etl: published batch => gs://exports/daily/2026-11-25/orders.csv\n",
        encoding="utf-8")
    config = tmp_path / "crawl.toml"
    config.write_text(f'[[sources]]\npath = "{log.name}"\ntype = "app_log"\ndialect = "postgres"\n'
                      'rules = [{ pattern = "=> (?P<dataset>gs://\\\\S+)", direction = "write", name = "arrow" }]\n',
                      encoding="utf-8")
    store = _store(tmp_path)
    crawl(list(load(config).sources), store)
    job = "app/app:nightly_{date}"
    assert _edges(store) == {
        (job, "read", "postgres://db.bank.internal:5432/crm.sales.customers"),
        (job, "read", _only(store, "raw.orders")),
        (job, "write", _only(store, "mart.orders")),
        (job, "write", "gs://exports/daily/{date}/orders.csv"),
    }
    (props,) = _runs(store).values()
    assert props["code_version"] == "1a2b3c4d5e6f"
    evidence = " ".join(item.sql or "" for edge in store.edges(["READS", "WRITES"])
                        for item in store.evidence((edge.src, edge.kind, edge.dst)))
    assert "hunter2" not in evidence and "> ?" in evidence  # credentials and literals redacted


def _only(store: Store, tail: str) -> str:
    (node,) = [node for node in store.nodes("dataset") if node.name.endswith(tail)]
    return node.id.removeprefix("dataset:")


@pytest.mark.parametrize(("rule", "message"), [
    ('{ pattern = "wrote (?P<dataset>s3://\\\\S+", direction = "write" }', "rules[1]: pattern is not a valid regex"),
    ('{ pattern = "wrote (s3://\\\\S+)", direction = "write" }', "rules[1]: pattern"),
    ('{ pattern = "wrote (?P<dataset>\\\\S+)", direction = "sideways" }', 'direction must be "read" or "write"'),
    ('{ pattern = "wrote (?P<dataset>\\\\S+)" }', "give direction"),
    ('{ pattern = "(?P<dataset>\\\\S+)", direction = "read", colour = "red" }', "unknown key(s) colour"),
], ids=["bad-regex", "no-dataset-group", "unknown-direction", "no-direction", "unknown-key"])
def test_rules_are_validated_when_the_config_loads(tmp_path: Path, rule: str, message: str) -> None:
    config = tmp_path / "crawl.toml"
    config.write_text(f'[[sources]]\npath = "logs"\ntype = "app_log"\nrules = [{rule}]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load(config)
    assert str(config) in str(raised.value) and "source 1" in str(raised.value)
    assert message in str(raised.value)


def test_a_direction_group_tells_the_direction(tmp_path: Path) -> None:
    log = tmp_path / "svc.log"
    log.write_text("INFO:svc:ingest load s3://in/a.csv\nINFO:svc:ingest save s3://out/b.csv\n", encoding="utf-8")
    shutil.copy(log, tmp_path / "copy.log")
    config = tmp_path / "crawl.toml"
    config.write_text('[[sources]]\npath = "svc.log"\ntype = "app_log"\n'
                      'rules = [{ pattern = "ingest (?P<direction>\\\\w+) (?P<dataset>s3://\\\\S+)" }]\n',
                      encoding="utf-8")
    store = _store(tmp_path)
    crawl(list(load(config).sources), store)
    assert {(direction, dataset) for _, direction, dataset in _edges(store)} == {
        ("read", "s3://in/a.csv"), ("write", "s3://out/b.csv")}
