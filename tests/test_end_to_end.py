"""The whole path on the demo scenario: crawl fixtures, then ask where the scores come from."""

from __future__ import annotations

from pathlib import Path

from crawler import config as crawl_config
from crawler.crawl import crawl
from graph import Store, lineage, open_store, path, resolve
from graph.export import dumps, export
from graph.lineage import applications, owners

CREDIT = "postgres://warehouse.bank.internal:5432/credit"


def test_the_scores_come_from_the_raw_tables_along_the_elt_path(demo_store: Store) -> None:
    scores = resolve(demo_store, "ml.credit_scores")
    assert scores.id == f"dataset:{CREDIT}.ml.credit_scores"
    view = lineage(demo_store, scores.id, "upstream")
    upstream = {n.name for n in view.nodes.values() if n.kind == "dataset"}
    assert {"credit.raw.customers", "credit.raw.credit_inquiries", "credit.raw.payments",
            "credit.raw.card_accounts", "credit.raw.bureau_reports"} <= upstream
    assert "credit.raw.default_outcomes" not in upstream, "training labels do not feed the scores"
    chain = path(demo_store, f"dataset:{CREDIT}.raw.customers", scores.id)
    datasets = [node.name for node in chain if node.kind == "dataset"]
    assert datasets == ["credit.raw.customers", "credit.staging.customers",
                        "credit.features.customer_features", "credit.ml.credit_scores"]


def test_ctes_and_aliases_never_become_datasets(demo_store: Store) -> None:
    names = {node.name.rsplit(".", 1)[-1] for node in demo_store.nodes("dataset")}
    assert not names & {"recent", "inquiries", "lateness", "p", "h", "r", "c", "f", "s"}


def test_the_trace_resolves_bare_names_with_its_schema(demo_store: Store) -> None:
    readers = lineage(demo_store, resolve(demo_store, "ml.credit_scores").id, "downstream", depth=1)
    titles = {n.title for n in readers.nodes.values() if n.kind == "job"}
    assert "SELECT from credit.ml.credit_scores" in titles  # `FROM credit_scores` with search_schema=ml


def test_the_view_is_a_view_and_the_evidence_is_redacted(demo_store: Store) -> None:
    view = resolve(demo_store, "reporting.limit_decisions")
    assert view.props.get("kind") == "view"
    inquiries = resolve(demo_store, "raw.credit_inquiries").id
    writers = demo_store.neighbors([inquiries], incoming=["WRITES"])
    (evidence,) = [found for found in (demo_store.evidence(w.key) for w in writers)
                   if found[0].origin.path.endswith("query_trace.jsonl")]
    assert len(evidence) == 5
    assert all("lender-" not in (e.sql or "") and "VALUES (?, ?, ?, ?)" in (e.sql or "") for e in evidence)


def test_bad_records_are_quarantined_with_their_place(demo_store: Store) -> None:
    issues = demo_store.issues()
    assert sorted((i.code, i.origin.line) for i in issues) == [("bad_json", 132), ("unparseable_sql", 58)]
    assert all(i.origin.path.endswith("query_trace.jsonl") and i.origin.byte_offset for i in issues)


def test_crawling_twice_gives_the_same_export(demo_copy: Path, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    specs = crawl_config.load(demo_copy / "crawl.toml").sources
    first = crawl(specs, store)
    once = dumps(export(store))
    second = crawl(specs, store)
    assert (second.records, second.written) == (0, 0), "cursors: nothing new to read"
    assert first.written > 0
    assert second.graph == first.graph
    assert dumps(export(store)) == once


def test_the_features_go_through_the_spark_job_and_back(demo_store: Store) -> None:
    features = resolve(demo_store, "features.payment_behaviour")
    chain = path(demo_store, resolve(demo_store, "staging.payment_history").id, features.id)
    assert [node.name if node.kind == "dataset" else node.title for node in chain] == [
        "credit.staging.payment_history",
        "COPY /data/exports/credit/payment_history.csv from credit.staging.payment_history",
        "/data/exports/credit/payment_history.csv",
        "SPARK credit_features_nightly",
        "/data/lake/features/payment_behaviour",  # the COPY's part-00000.csv is the directory
        "COPY credit.features.payment_behaviour from /data/lake/features/payment_behaviour",
        "credit.features.payment_behaviour",
    ]
    training = lineage(demo_store, resolve(demo_store, "ml.training_set").id, "upstream")
    assert "/data/lake/events/card_transactions/{dt}" in {n.name for n in training.nodes.values()}


def test_each_demo_job_has_its_own_label_its_owners_and_its_applications(demo_store: Store) -> None:
    """The demo's jobs are query templates named by a hash: each is labelled by what it does, to
    what, from what, no two alike, and shows who runs it from which application."""
    jobs = list(demo_store.nodes("job"))
    labels = [job.label for job in jobs]
    assert None not in labels and len(set(labels)) == len(labels)
    scores = sorted(label for label in labels if label and label.startswith("INSERT credit.ml.credit_scores"))
    assert scores == ["INSERT credit.ml.credit_scores from credit.features.customer_features",  # the server's log
                      "INSERT credit.ml.credit_scores from credit.features.customer_features, "
                      "credit.features.payment_behaviour"]  # the ELT script
    logging = resolve(demo_store, "INSERT credit.ml.prediction_log from credit.ml.credit_scores (2)")
    assert logging.kind == "job" and logging.name.startswith("sql:")
    found = {resolve(demo_store, label).id for label in labels if label}
    assert len(found) == len(jobs)
    trace = [job for job in jobs if applications(demo_store, job.id) == ("limit-service",)]
    assert trace and {owners(demo_store, job.id) for job in trace} == {("svc_limits",)}
