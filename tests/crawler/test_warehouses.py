"""Warehouse query-history exports, each told apart by its vendor's columns, and the side exports
that complete them; compressed and filtered crawls."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
import zstandard

from crawler.crawl import crawl
from crawler.registry import SourceSpec, read, type_of
from crawler.supplements import Supplements
from parsers import Origin, SourceRecord
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


def _together(tmp_path: Path, *exports: str) -> Path:
    """A folder holding ``exports`` side by side, as a nightly export job leaves them."""
    folder = tmp_path / "exports"
    folder.mkdir()
    for export in exports:
        shutil.copy(EXPORTS / export, folder / export)
    return folder


def test_snowflake_access_history_checks_the_parse_and_stands_in_where_it_read_nothing(tmp_path: Path) -> None:
    assert type_of(EXPORTS / "snowflake_access_history.jsonl") == "warehouse_supplement"
    folder = _together(tmp_path, "snowflake_query_history.csv", "snowflake_access_history.jsonl")
    store, report = crawl_log(folder, tmp_path)
    # the generated statement QUERY_HISTORY cut short: unparseable, its lineage from ACCESS_HISTORY
    assert feeds(store) == {("CREDIT.RAW.CUSTOMERS", "CREDIT.STAGING.CUSTOMERS"),
                            ("CREDIT.RAW.PAYMENTS", "CREDIT.STAGING.PAYMENT_HISTORY"),
                            ("CREDIT.FEATURES.CUSTOMER_FEATURES", "CREDIT.ML.TRAINING_SET"),
                            ("CREDIT.RAW.DEFAULT_OUTCOMES", "CREDIT.ML.TRAINING_SET"),
                            ("CREDIT.STAGING.CUSTOMERS", "CREDIT.ML.CREDIT_LIMIT_OVERRIDES")}
    assert report.issues_by_code == {"source_disagrees": 1, "unparseable_sql": 1}
    disagreement = next(issue for issue in report.issue_sample if issue.code == "source_disagrees")
    assert "credit.ml.scores_staging" in disagreement.message and disagreement.origin.line == 7, \
        "IDENTIFIER($scores_source): only Snowflake knows which table the session variable named"
    assert report.notes[0].startswith("1 queries of side exports"), "the row of a query outside the window"
    again = crawl([SourceSpec(path=str(folder))], store, stale_after=None)
    assert again.records == 0 and not again.notes, "the side export's cursor moved with the crawl"


def test_redshift_sys_query_text_gives_the_whole_text_of_long_queries(tmp_path: Path) -> None:
    assert type_of(EXPORTS / "redshift_sys_query_text.csv") == "warehouse_supplement"
    cut, _ = crawl_log(EXPORTS / "redshift_sys_query_history.csv", tmp_path / "alone")
    assert not [edge for edge in feeds(cut) if "bureau_bands" in edge[1]], \
        "query_text keeps 4000 characters of 8000: what is left parses, and reads nothing"
    folder = _together(tmp_path, "redshift_sys_query_history.csv", "redshift_sys_query_text.csv")
    store, report = crawl_log(folder, tmp_path)
    assert feeds(store) == {("credit.raw.customers", "credit.staging.customers"),
                            ("credit.raw.payments", "credit.staging.payment_history"),
                            ("credit.staging.customers", "credit.features.bureau_bands"),
                            ("credit.raw.bureau_reports", "credit.features.bureau_bands")}
    assert report.issues_by_code == {} and report.statements_failed == 1 and not report.notes
    (job,) = [n for n in store.nodes("job") if "bureau_bands" in (n.label or "")]
    (reads,) = [e for e in store.edges(["READS"]) if e.dst == job.id and "bureau_reports" in e.src]
    (evidence,) = store.evidence(reads.key)
    assert evidence.sql is not None and "\nJOIN raw.bureau_reports" in evidence.sql, "put together, newlines back"


def test_side_rows_that_cannot_be_used_are_reported_or_left_out(tmp_path: Path) -> None:
    """A DDL statement claims nothing (the parse sees some DDL as writes, some as none); functions
    and stages are no tables; a missing part of a long text keeps the history's cut text."""
    access = tmp_path / "access.jsonl"
    function = {"objectDomain": "FUNCTION", "objectName": "CREDIT.ML.SCORE", "objectId": "7"}
    access.write_text("\n".join(json.dumps(row) for row in [
        {"QUERY_ID": "q1", "DIRECT_OBJECTS_ACCESSED": [function, {"objectDomain": "Table", "objectId": 1,
                                                                  "objectName": "CREDIT.RAW.A"}],
         "OBJECTS_MODIFIED": []},
        {"QUERY_ID": "q2", "DIRECT_OBJECTS_ACCESSED": [], "OBJECTS_MODIFIED": [],
         "OBJECT_MODIFIED_BY_DDL": {"objectDomain": "Table", "objectName": "CREDIT.RAW.B", "operationType": "ALTER"}},
    ]) + "\n", encoding="utf-8")
    rows = [r.item for r in read(SourceSpec(path=str(access)), access, "warehouse_supplement")]
    assert [dict(r.attributes) for r in rows if isinstance(r, SourceRecord)] == [
        {"vendor": "snowflake", "query_id": "q1", "claimed_inputs": "CREDIT.RAW.A", "claimed_outputs": ""},
        {"vendor": "snowflake", "query_id": "q2"}]
    parts = Supplements()
    for sequence in (0, 2):
        parts.add(SourceRecord(source_type="warehouse_supplement", text="x" * 4000, origin=Origin(path="t"),
                               attributes={"vendor": "redshift", "query_id": "9", "sequence": str(sequence)}))
    cut = SourceRecord(source_type="warehouse_history", text="select", origin=Origin(path="h"),
                       attributes={"vendor": "redshift", "query_id": "9"})
    record, issues = parts.complete(cut)
    assert record.text == "select" and [i.code for i in issues] == ["incomplete_query_text"]
