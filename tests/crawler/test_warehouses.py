"""Warehouse query-history exports, each told apart by its vendor's columns; compressed and
filtered crawls."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
import zstandard

from crawler.registry import SourceSpec, type_of
from tests.crawler.test_database_logs import crawl_log, feeds

EXPORTS = Path(__file__).resolve().parents[2] / "fixtures" / "warehouses"


@pytest.mark.parametrize(
    ("export", "expected"),
    [
        ("snowflake_query_history.csv", {("CREDIT.RAW.CUSTOMERS", "CREDIT.STAGING.CUSTOMERS"),
                                         ("CREDIT.RAW.PAYMENTS", "CREDIT.STAGING.PAYMENT_HISTORY"),
                                         ("CREDIT.FEATURES.CUSTOMER_FEATURES", "CREDIT.ML.TRAINING_SET"),
                                         ("CREDIT.RAW.DEFAULT_OUTCOMES", "CREDIT.ML.TRAINING_SET")}),
        ("bigquery_jobs.jsonl", {("bank-credit.raw.customers", "bank-credit.staging.customers")}),
        ("redshift_sys_query_history.csv", {("credit.raw.customers", "credit.staging.customers"),
                                            ("credit.raw.payments", "credit.staging.payment_history")}),
        ("databricks_query_history.jsonl", {("raw.customers", "staging.customers"),
                                            ("raw.payments", "staging.payment_history"),
                                            ("features.customer_features", "ml.training_set"),
                                            ("raw.default_outcomes", "ml.training_set")}),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_exports_give_lineage_of_what_succeeded(export: str, expected: set[tuple[str, str]], tmp_path: Path) -> None:
    assert type_of(EXPORTS / export) == "warehouse_history"
    store, report = crawl_log(EXPORTS / export, tmp_path)
    assert feeds(store) == expected
    assert report.statements_failed == 1, "each export holds one failed statement: counted, no lineage"


def test_bigquery_referenced_tables_are_checked_against_the_parse(tmp_path: Path) -> None:
    _, report = crawl_log(EXPORTS / "bigquery_jobs.jsonl", tmp_path)
    assert report.issues_by_code == {"source_disagrees": 1}
    (issue,) = report.issue_sample
    assert "bank-credit.staging.customers" in issue.message and issue.origin.line == 2


@pytest.mark.parametrize("compress", ["gz", "zst"])
def test_compressed_logs_are_read_and_skipped_once_read(compress: str, tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "fixtures" / "querylogs" / "postgres" / "csvlog.csv"
    target = tmp_path / "logs" / f"postgresql-2026-11-25.csv.{compress}"
    target.parent.mkdir()
    data = source.read_bytes()
    target.write_bytes(gzip.compress(data) if compress == "gz" else zstandard.ZstdCompressor().compress(data))
    assert type_of(target) == "postgres_csvlog"
    store, first = crawl_log(target.parent, tmp_path, namespace="postgres://localhost:5432")
    plain, _ = crawl_log(source, tmp_path / "plain", namespace="postgres://localhost:5432")
    assert feeds(store) == feeds(plain) and first.records > 50
    from crawler.crawl import crawl
    assert crawl([SourceSpec(path=str(target.parent))], store).records == 0


def test_noise_filters_drop_users_and_statement_kinds(tmp_path: Path) -> None:
    log = Path(__file__).resolve().parents[2] / "fixtures" / "querylogs" / "postgres" / "jsonlog.json"
    shutil.copy(log, tmp_path / "pg.json")
    store, report = crawl_log(tmp_path / "pg.json", tmp_path, namespace="postgres://localhost:5432",
                              exclude={"user": ("svc_ingest",), "kind": ("SELECT",)})  # type: ignore[arg-type]
    assert report.filtered > 0
    users = {u.user for u in store.usage()}
    assert "svc_ingest" not in users and "etl_nightly" in users
    assert not [n for n in store.nodes("job") if n.props.get("statement_kind") == "SELECT"]


def test_dbt_run_results_give_model_lineage(tmp_path: Path) -> None:
    results = Path(__file__).resolve().parents[2] / "fixtures" / "dbt" / "run_results.json"
    assert type_of(results) == "dbt_run_results"
    store, report = crawl_log(results, tmp_path, dialect="postgres", namespace="postgres://warehouse:5432")
    assert feeds(store) == {("credit.raw.customers", "credit.staging.stg_customers"),
                            ("credit.staging.stg_customers", "credit.features.customer_features"),
                            ("credit.raw.credit_inquiries", "credit.features.customer_features"),
                            ("credit.raw.bureau_reports", "credit.features.customer_features")}
    assert report.statements_failed == 1, "the model that failed: counted, no lineage"
