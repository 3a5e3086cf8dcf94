"""Tables read only to decide which rows change are kept, marked indirect (issue 16, item 16)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from crawler.cli import main
from graph import open_store

SCRIPT = """\
CREATE TEMP TABLE leavers AS SELECT customer_id FROM crm.churn WHERE churned;
DELETE FROM mart.customers AS c USING gdpr.erasures AS e WHERE c.id = e.customer_id;
UPDATE mart.customers SET active = false FROM leavers AS l WHERE mart.customers.id = l.customer_id;
UPDATE mart.customers AS c SET segment = s.segment FROM crm.segments AS s WHERE c.id = s.customer_id;
INSERT INTO mart.orders SELECT o.id, o.amount FROM raw.orders AS o
WHERE o.customer_id IN (SELECT id FROM mart.customers)
  AND NOT EXISTS (SELECT 1 FROM raw.refunds AS r WHERE r.id = o.id);
"""


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_filtering_reads_are_marked_in_the_graph_and_walks_may_leave_them_out(tmp_path: Path) -> None:
    script = tmp_path / "nightly.sql"
    script.write_text(SCRIPT, encoding="utf-8")
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    _run("crawl", str(script), "--dialect", "postgres", "--namespace", "postgres://dw:5432", "--store", store_url,
         "--quiet")
    store = open_store(store_url)
    names = {node.id: node.name for node in store.nodes("dataset")}
    feeds = {(names[e.src], names[e.dst]): e.props for e in store.edges(["FEEDS"])}
    assert feeds == {
        ("gdpr.erasures", "mart.customers"): {"indirect": True},  # DELETE ... USING
        ("crm.churn", "mart.customers"): {"indirect": True},  # through the filtering temporary table
        ("crm.segments", "mart.customers"): {"direct": True},  # SET takes its values
        ("raw.orders", "mart.orders"): {"direct": True},
        ("mart.customers", "mart.orders"): {"indirect": True},  # IN (SELECT ...)
        ("raw.refunds", "mart.orders"): {"indirect": True},  # NOT EXISTS (...)
    }
    indirect = {names[e.src] for e in store.edges(["READS"]) if e.props.get("indirect")}
    assert indirect == {"gdpr.erasures", "crm.churn", "mart.customers", "raw.refunds"}

    def upstream(*flags: str) -> set[str]:
        view = json.loads(_run("upstream", "mart.orders", "--kind", "dataset", "--store", store_url, "--json", *flags))
        return {node["name"] for node in view["nodes"]}

    assert upstream() == {"mart.orders", "raw.orders", "mart.customers", "raw.refunds",
                          "gdpr.erasures", "crm.churn", "crm.segments"}
    assert upstream("--direct-only") == {"mart.orders", "raw.orders"}


def test_lineage_sql_tells_the_sources_read_only_to_filter() -> None:
    doc = json.loads(_run("sql", "--dialect", "postgres", "--json", "-e", SCRIPT))
    # (A script's totals see a table filtering only where it is read: crm.churn goes into the
    # temporary table directly; the statements tell that the temporary table only filters.)
    assert doc["indirect_sources"] == ["gdpr.erasures", "raw.refunds"]
    assert [s.get("indirect_sources", []) for s in doc["statements"]] == [
        [], ["gdpr.erasures"], ["public.leavers"], [], ["mart.customers", "raw.refunds"]]
