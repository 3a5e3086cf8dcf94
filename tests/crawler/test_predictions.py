"""Prediction audit logs: the fixtures of fixtures/predictions (CSV and JSON lines) crawled into
a store, edge by edge; feature values, outputs and keys never stored; one decision read back on
demand by line, or by key and time."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

import crawler  # noqa: F401  (registers the readers)
from crawler import FieldMap, SourceSpec, crawl
from crawler.errors import ConfigError
from crawler.formats.predictions import find_prediction, prediction_at
from graph import open_store
from graph.export import dumps, export
from graph.model import IssueFilter, dataset_id
from parsers.naming import file_ref

FIXTURES = Path(__file__).parents[2] / "fixtures" / "predictions"
MLRUNS = FIXTURES.parent / "demo" / "mlflow" / "mlruns"  # trains credit_limit_model versions 2 and 3
RUNS = ("5f0c8e2a9b1d4c7e8f3a6b2d0e9c1f47", "a3d7e1f9c2b84e6a9d0f1c3e5b7a2d86")
CSV_FIELDS = FieldMap(timestamp="decided_at", model="model_name", version="model_version", key="customer_id",
                      features="annual_income,utilization,age_years", output="credit_limit")
V2, V3 = "model_version:credit_limit_model/2", "model_version:credit_limit_model/3"


def _rows() -> list[dict[str, object]]:
    return [json.loads(line) for line in (FIXTURES / "decisions.jsonl").read_text().splitlines()]


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    for name in ("decisions.csv", "decisions.jsonl"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    return tmp_path


def _specs(logs: Path) -> list[SourceSpec]:
    return [SourceSpec(path=str(logs / "decisions.csv"), type="prediction_log", fields=CSV_FIELDS),
            SourceSpec(path=str(logs / "decisions.jsonl"), type="prediction_log")]


def test_each_version_serves_into_each_log_counted_with_its_span_and_feature_names(logs: Path) -> None:
    store = open_store(f"sqlite:///{logs / 'lineage.db'}")
    report = crawl(_specs(logs), store)
    # (2 versions x 2 days) x 2 files; no source here trains the versions (see the test below)
    assert report.issues_by_code == {"unknown_model_version": 2} and report.records == 8
    edges = {(e.src, e.kind, e.dst): e for e in store.edges()}
    rows = _rows()
    for name in ("decisions.csv", "decisions.jsonl"):
        log = dataset_id(file_ref(str(logs / name)))
        assert ("job:serving/serving:credit_limit_model", "WRITES", log) in edges
        for version, node in (("2", V2), ("3", V3)):
            served = edges[(node, "SERVED", log)]
            times = sorted(str(r["timestamp"]).replace("Z", ".000Z") for r in rows if r["version"] == version)
            assert served.count == len(times) and (served.first_seen, served.last_seen) == (times[0], times[-1])
            assert served.props == {"features": ["age_years", "annual_income", "utilization"]}
            assert edges[(node, "OF", "model:credit_limit_model")]
    assert {e.kind for e in edges.values()} == {"WRITES", "SERVED", "OF"}
    runs = [n for n in store.nodes("run")]
    assert len(runs) == 8 and {r.props["predictions"] for r in runs} == {4, 8}
    assert store.node("model:credit_limit_model") is not None


def test_crawling_again_changes_nothing_and_appended_lines_add_up(logs: Path) -> None:
    store = open_store(f"sqlite:///{logs / 'lineage.db'}")
    crawl(_specs(logs), store)
    before = dumps(export(store))
    crawl(_specs(logs), store)
    assert dumps(export(store)) == before
    with (logs / "decisions.jsonl").open("a") as out:
        out.write(json.dumps({**_rows()[0], "timestamp": "2026-11-04T08:00:00Z"}) + "\n")
    crawl(_specs(logs), store)
    log = dataset_id(file_ref(str(logs / "decisions.jsonl")))
    served = {(e.src, e.dst): e for e in store.edges(["SERVED"])}[(V3, log)]
    assert served.count == 9 and served.last_seen == "2026-11-04T08:00:00.000Z"


def test_feature_values_outputs_and_keys_never_reach_the_store(logs: Path) -> None:
    marked = logs / "marked.jsonl"
    marked.write_text(json.dumps({"timestamp": "2026-11-02T08:00:00Z", "model": "m", "version": "1",
                                  "key": "KEY-SECRET", "output": "OUTPUT-SECRET",
                                  "features": {"postcode": "POSTCODE-SECRET", "age": 987654.321}}) + "\n")
    store = open_store(f"sqlite:///{logs / 'lineage.db'}")
    crawl([*_specs(logs), SourceSpec(path=str(marked), type="prediction_log")], store)
    graph = dumps(export(store)).encode()
    assert b"utilization" in graph  # (the features are in the graph, their values are not)
    store.close()
    stored = b"".join(path.read_bytes() for path in logs.glob("lineage.db*"))
    assert b"postcode" in stored and b"SECRET" not in stored and b"987654" not in stored
    # Values of the fixtures: incomes and keys, which no offset, count or time can spell, in the
    # store's bytes; utilizations (0.012, 0.5: a crawl report's seconds can) in the graph.
    for row in _rows():
        features = row["features"]
        assert isinstance(features, dict)
        for value, where in ((features["annual_income"], stored), (row["key"], stored),
                             (features["utilization"], graph)):
            assert not re.search(rb"(?<![\d.])" + re.escape(str(value).encode()) + rb"(?![\d])", where), value


def test_a_line_without_a_model_is_an_issue_and_the_crawl_goes_on(tmp_path: Path) -> None:
    log = tmp_path / "bad.jsonl"
    log.write_text('{"timestamp": "2026-11-02T08:00:00Z", "version": "2"}\nnot json\n'
                   '{"timestamp": "2026-11-02T09:00:00Z", "model": "m", "version": "2", "features": {"a": 1}}\n')
    store = open_store(f"sqlite:///{tmp_path / 'lineage.db'}")
    report = crawl([SourceSpec(path=str(log), type="prediction_log")], store)
    assert report.issues_by_code == {"bad_json": 1, "missing_model": 1, "unknown_model_version": 1}
    (served,) = store.edges(["SERVED"])
    assert served.count == 1 and served.src == "model_version:m/2"


def test_a_version_no_source_trained_is_quarantined_until_its_tracking_store_is_crawled(logs: Path) -> None:
    store = open_store(f"sqlite:///{logs / 'lineage.db'}")
    crawl(_specs(logs)[1:], store)
    held = {e.issue.message.split()[2]: e.issue for e in store.quarantine(IssueFilter()).entries}
    assert sorted(held) == ["credit_limit_model/2", "credit_limit_model/3"]
    assert {i.code for i in held.values()} == {"unknown_model_version"}
    assert all(i.severity == "warning" and i.origin.path == str(logs / "decisions.jsonl") for i in held.values())
    again = crawl(_specs(logs)[1:], store)
    assert again.issues == 0 and store.quarantine(IssueFilter()).total == 2, "said once, kept while it holds"
    trained = crawl([SourceSpec(path=str(MLRUNS), type="mlflow")], store)  # (typed: its companions passed over)
    assert trained.issues == 0 and {e.src for e in store.edges(["PRODUCED"])} >= {f"run:{r}" for r in RUNS}
    assert store.quarantine(IssueFilter()).total == 0, "the versions are known now"


def test_one_decision_is_read_again_by_line_or_by_key_and_time() -> None:
    spec = SourceSpec(path=str(FIXTURES), type="prediction_log", fields=CSV_FIELDS)
    found = prediction_at(spec, FIXTURES / "decisions.csv", 3)
    row = _rows()[1]
    assert (found.model, found.version, found.key, found.output) == ("credit_limit_model", "2", row["key"],
                                                                     str(row["output"]))
    assert sorted(found.features) == ["age_years", "annual_income", "utilization"]
    assert "features" in found.to_dict() and str(row["output"]) not in json.dumps(found.to_dict())
    jsonl = SourceSpec(path=str(FIXTURES), type="prediction_log")
    by_key = find_prediction(jsonl, FIXTURES / "decisions.jsonl", str(row["key"]), "2026-11-02T09:00:00.000Z")
    assert by_key.origin.line == 2 and by_key.features == row["features"]
    with pytest.raises(ConfigError):
        prediction_at(jsonl, FIXTURES / "decisions.jsonl", 999)
