"""The demo's story end to end: a customer complains about one credit-limit decision (line 138 of
the limit service's prediction log), and `lineage explain` on that line, over one crawl of the
demo, names the model version, its training run, its commit, its hyperparameters, and the raw
table the questionable feature (age_years) came from."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

COMPLAINT_LINE = 138  # application A-20261126-0017 (fixtures/demo/predictions/make_predictions.py)


def _explain(demo_copy: Path, store: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crawler", "explain", *args, "--config", "crawl.toml",
                           "--store", store], capture_output=True, text=True, timeout=120, cwd=demo_copy)


def test_the_complaint_is_explained_down_to_the_raw_column(demo_copy: Path, demo_store_url: str) -> None:
    done = _explain(demo_copy, demo_store_url, "--prediction", f"predictions/decisions.csv:{COMPLAINT_LINE}",
                    "--json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["prediction"]["key"] == "A-20261126-0017"
    assert (found["model"], found["version"]) == ("credit_limit_model", "2")
    (run,) = found["trained"]
    assert run["run"] == "5f0c8e2a9b1d4c7e8f3a6b2d0e9c1f47" and run["user"] == "priya.nair"
    assert run["facets"]["code_version"] == "9c4e2a7f1b3d5e6a8c0b2d4f6a8e0c2b4d6f8a1c"
    assert run["facets"]["params"] == {"learning_rate": "0.1", "max_depth": "4", "n_estimators": "300"}
    assert [d["dataset"].rsplit("/", 1)[-1] for d in found["training_data"]] == ["credit.ml.training_set"]
    (age,) = [f for f in found["features"] if f["feature"] == "age_years"]
    assert age["sources"] == ["postgres://warehouse.bank.internal:5432/credit.raw.customers#date_of_birth"]
    assert "postgres://warehouse.bank.internal:5432/credit.raw.customers" in found["raw_sources"]
    assert [s["version"] for s in found["other_versions_serving"]] == ["3"]
    assert "96500" not in done.stdout  # the customer's income is in the log, not in the report


def test_the_other_version_was_trained_without_the_column(demo_copy: Path, demo_store_url: str) -> None:
    done = subprocess.run([sys.executable, "-m", "crawler", "explain", "--model", "credit_limit_model", "--version",
                           "3", "--json", "--store", demo_store_url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert [d["dataset"].rsplit("/", 1)[-1] for d in found["training_data"]] == ["credit.ml.training_set_v3"]
    assert "age_years" not in {f["feature"] for f in found["features"]}
