"""`lineage explain` as a user runs it, in a real subprocess: a prediction log crawled with its
field mapping from a crawl.toml, one decision explained by line and by key, a model by name."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parents[2] / "fixtures" / "predictions"
CONFIG = """
[[sources]]
path = "decisions.csv"
type = "prediction_log"
fields = { timestamp = "decided_at", model = "model_name", version = "model_version", key = "customer_id", \
features = "annual_income,utilization,age_years", output = "credit_limit" }
"""


def lineage(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crawler", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


@pytest.fixture
def crawled(tmp_path: Path) -> Path:
    shutil.copy(FIXTURES / "decisions.csv", tmp_path / "decisions.csv")
    (tmp_path / "crawl.toml").write_text(CONFIG)
    done = lineage("crawl", "--config", "crawl.toml", "--store", f"sqlite:///{tmp_path / 'l.db'}", cwd=tmp_path)
    # (exit 1: no tracking store is crawled here, so the served versions are unknown_model_version issues)
    assert done.returncode == 1 and "unknown_model_version" in done.stdout, done.stderr
    return tmp_path


def test_explain_a_prediction_by_line_and_by_key(crawled: Path) -> None:
    store = f"sqlite:///{crawled / 'l.db'}"
    by_line = lineage("explain", "--prediction", "decisions.csv:3", "--config", "crawl.toml", "--store", store,
                      "--json", cwd=crawled)
    assert by_line.returncode == 0, by_line.stderr
    data = json.loads(by_line.stdout)
    assert data["prediction"]["key"] == "C-10037" and data["prediction"]["origin"]["line"] == 3
    assert data["version"] == "2" and data["serving"][0]["count"] == 16
    assert [s["version"] for s in data["other_versions_serving"]] == ["3"]
    assert "no training run is known" in data["notes"][0]
    assert "38000" not in by_line.stdout  # the customer's income stays in the log
    by_key = lineage("explain", "--prediction", "decisions.csv", "--key", "C-10037", "--at", "2026-11-02",
                     "--config", "crawl.toml", "--store", store, cwd=crawled)
    assert by_key.returncode == 0, by_key.stderr
    assert "decisions.csv:3" in by_key.stdout and "Model version credit_limit_model 2" in by_key.stdout


def test_explain_a_model_by_name(crawled: Path) -> None:
    done = lineage("explain", "--model", "credit_limit_model", "--store", f"sqlite:///{crawled / 'l.db'}", "--json",
                   cwd=crawled)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["version"] == "3"  # the newest


@pytest.mark.parametrize("args", [
    ["--prediction", "decisions.csv:3"],  # no mapping: the CSV's model column is not "model"
    ["--prediction", "decisions.csv:x", "--config", "crawl.toml"],
    ["--model", "no_such_model"],
    [],
], ids=["unmapped", "not-a-line", "unknown-model", "nothing-asked"])
def test_mistakes_are_one_line_and_a_non_zero_exit(crawled: Path, args: list[str]) -> None:
    done = lineage("explain", *args, "--store", f"sqlite:///{crawled / 'l.db'}", cwd=crawled)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].count("error") + done.stderr.count("Error:") >= 1, done.stderr
    assert len([line for line in done.stderr.splitlines() if line.strip()]) <= 3, done.stderr


def test_a_version_no_source_told_of_is_named(crawled: Path) -> None:
    log = crawled / "other.jsonl"
    log.write_text('{"timestamp": "2026-11-02T08:00:00Z", "model": "credit_limit_model", "version": "9"}\n')
    done = lineage("explain", "--prediction", f"{log}:1", "--store", f"sqlite:///{crawled / 'l.db'}", cwd=crawled)
    assert done.returncode == 1 and "credit_limit_model version 9 is in no crawled source" in done.stderr


def test_impact_and_explain_of_a_trained_model_as_text(tmp_path: Path) -> None:
    import graph
    from tests.graph.test_provenance import _graph

    store = graph.open_store(f"sqlite:///{tmp_path / 'l.db'}")
    graph.write(store, _graph())
    store.close()
    url = f"sqlite:///{tmp_path / 'l.db'}"
    impact = lineage("impact", "raw.customers", "--store", url, cwd=tmp_path)
    assert impact.returncode == 0, impact.stderr
    assert "and 2 model versions" in impact.stdout and "credit_limit_model 2" in impact.stdout
    text = lineage("explain", "--model", "credit_limit_model", "--version", "2", "--store", url, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    for expected in ("Trained by run run-v2", "code_version: a1b2c3d", '{"max_depth": "6"}', "build_training_set",
                     "age_years: ml.training_set.age_years <- staging.customers.date_of_birth <- "
                     "raw.customers.date_of_birth",
                     "Other versions serving in the same period"):
        assert expected in text.stdout, expected
