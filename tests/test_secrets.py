"""A secrets audit: unique secrets planted across every kind of source (query literals and
connection strings, Spark's command line and properties, job-log lines, MLflow parameters,
prediction features) are crawled, then looked for everywhere the product writes or shows:
the store's files, `lineage export` in both formats, the reports, the quarantine and every
dashboard page. None may appear."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import plotly.utils
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SECRET = re.compile(r"SECRET-\w+")


def _old(path: Path) -> None:
    os.utime(path, (time.time() - 7200, time.time() - 7200))  # settled: read to its end


def _plant_sql(folder: Path) -> None:
    trace = folder / "trace.jsonl"
    rows = [
        {"query": "insert into mart.users select * from raw.users where api_key = 'SECRET-SQL1'", "user": "etl"},
        {"query": "create user app with password 'SECRET-SQL2'", "user": "dba"},
        {"query": "select * from dblink('host=db user=u password=SECRET-SQL3', 'select 1') as t(a int)"},
        {"query": "insert into mart.audit values (1, 'SECRET-SQL4'", "user": "etl"},  # unparseable: quarantined
    ]
    trace.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    _old(trace)


def _plant_spark(folder: Path) -> None:
    source = FIXTURES / "spark" / "spark-3.5" / "local-1796460109393"
    lines = source.read_bytes().splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.startswith(b'{"Event":"SparkListenerEnvironmentUpdate"'):
            event = json.loads(line)
            event["System Properties"]["sun.java.command"] = (
                "org.apache.spark.deploy.SparkSubmit job.py --api-key SECRET-SPK1 "
                "--source jdbc:postgresql://etl:SECRET-SPK2@db:5432/crm --day 2024-01-01")
            event["Spark Properties"]["spark.sql.catalog.lake.s3.access-key"] = "SECRET-SPK3"
            lines[index] = json.dumps(event, separators=(",", ":")).encode() + b"\n"
    (folder / "spark").mkdir()
    (folder / "spark" / source.name).write_bytes(b"".join(lines))
    _old(folder / "spark" / source.name)


def _plant_joblog(folder: Path) -> None:
    source = next((FIXTURES / "joblogs" / "airflow-2").rglob("*.log"))
    target = folder / "airflow" / source.relative_to(FIXTURES / "joblogs" / "airflow-2")
    target.parent.mkdir(parents=True)
    text = source.read_text(encoding="utf-8")
    planted = ("[2026-11-24T02:05:03.000+0000] {train.py:12} INFO - connecting with password=SECRET-JOB1 "
               "to jdbc:postgresql://etl:SECRET-JOB2@db:5432/credit, reading table credit.ml.training_set\n")
    lines = text.splitlines(keepends=True)
    target.write_text("".join([*lines[:3], planted, *lines[3:]]), encoding="utf-8")
    _old(target)


def _plant_mlflow(folder: Path) -> None:
    store = folder / "mlflow"
    shutil.copytree(FIXTURES / "mlflow" / "store", store)
    for run in (store / "mlruns").glob("*/*/params"):
        (run / "db_password").write_text("SECRET-ML1", encoding="utf-8")
        (run / "api_token").write_text("SECRET-ML2", encoding="utf-8")


def _plant_predictions(folder: Path) -> None:
    log = folder / "predictions.jsonl"
    rows = [{"ts": f"2026-11-2{day}T10:00:00Z", "model": "credit_limit_model", "version": "2", "key": f"A-{day}",
             "features": {"annual_income": 52000, "postcode": f"SECRET-PRD{day}"}, "output": 1200}
            for day in range(1, 4)]
    log.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    _old(log)
    (folder / "crawl.toml").write_text(
        '[[sources]]\npath = "sql"\n[[sources]]\npath = "spark"\n[[sources]]\npath = "airflow"\n'
        '[[sources]]\npath = "mlflow"\n'
        '[[sources]]\npath = "predictions.jsonl"\ntype = "prediction_log"\n'
        'fields = { timestamp = "ts", model = "model", version = "version", features = "features", '
        'output = "output", key = "key" }\n', encoding="utf-8")


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("secrets")
    (folder / "sql").mkdir()
    _plant_sql(folder / "sql")
    for plant in (_plant_spark, _plant_joblog, _plant_mlflow, _plant_predictions):
        plant(folder)
    planted = set()
    for path in folder.rglob("*"):
        if path.is_file():
            planted.update(SECRET.findall(path.read_bytes().decode("latin-1")))
    assert len(planted) >= 14, planted  # (every plant took: 4 SQL, 3 Spark, 2 job log, 2 MLflow, 3 predictions)
    url = f"sqlite:///{folder / 'store' / 'lineage.db'}"
    done = _lineage("crawl", "--config", str(folder / "crawl.toml"), "--store", url, "--quiet")
    assert done.returncode in (0, 1), done.stderr
    return folder, url


def _lineage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crawler", *args], capture_output=True, text=True, timeout=300)


def _found(text: str) -> list[str]:
    return sorted(set(SECRET.findall(text)))


def test_the_crawl_read_every_source(crawled: tuple[Path, str]) -> None:
    _, url = crawled
    report = json.loads(_lineage("reports", "--store", url, "--json").stdout)[0]
    assert report["records"] >= 10 and report["graph"].get("model_version", 0) >= 1


def test_no_secret_in_the_store_files(crawled: tuple[Path, str]) -> None:
    folder, _ = crawled
    text = b"".join(path.read_bytes() for path in (folder / "store").glob("lineage.db*")).decode("latin-1")
    assert _found(text) == []


@pytest.mark.parametrize("command", [["export"], ["export", "--format", "openlineage"], ["reports", "--json"],
                                     ["issues", "--json", "--all", "--limit", "1000"]],
                         ids=["export", "openlineage", "reports", "quarantine"])
def test_no_secret_in_what_the_cli_prints(command: list[str], crawled: tuple[Path, str]) -> None:
    _, url = crawled
    done = _lineage(*command, "--store", url)
    assert done.returncode == 0, done.stderr
    assert _found(done.stdout + done.stderr) == []


def test_no_secret_on_any_dashboard_page(crawled: tuple[Path, str]) -> None:
    from dashboard import pages
    from graph import open_store

    _, url = crawled
    store = open_store(url, read_only=True)
    try:
        routes = ["/", "/crawls"]
        for node in store.nodes():
            if node.kind != "run":
                routes += [f"/node/{node.id}", f"/impact/{node.id}"]
        assert len(routes) > 20
        for route in routes:
            layout = pages.route(store, route)
            assert _found(json.dumps(layout, cls=plotly.utils.PlotlyJSONEncoder)) == [], route
    finally:
        store.close()
