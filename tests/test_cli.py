"""The `lineage` program as a user runs it: in a real subprocess for the error paths, so a
traceback cannot hide."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import main
from tests.processes import answering, free_port

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo"


def run(*args: str, status: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == status, result.output
    return result.output


# `lineage crawl` of the demo exits 1: it completes, with its two bad trace lines in the quarantine.
QUARANTINED = 1
# `lineage sql` exits 1 when it printed its answer but some input could not be read as SQL.
UNPARSEABLE = 1


def test_help_lists_the_commands() -> None:
    text = run("--help")
    for command in ("crawl", "upstream", "downstream", "impact", "show", "search", "sql", "export", "serve"):
        assert command in text


def test_crawl_then_query(tmp_path: Path, demo_copy: Path) -> None:
    store = f"sqlite:///{tmp_path / 'l.db'}"
    report = json.loads(run("crawl", "--config", str(demo_copy / "crawl.toml"), "--store", store, "--json",
                            status=QUARANTINED))
    assert report["files"] == 10 and report["written"] > 0 and report["issues_by_code"]
    up = json.loads(run("upstream", "credit_scores", "--store", store, "--json"))
    assert "credit.raw.customers" in {n["name"] for n in up["nodes"]}
    shallow = json.loads(run("upstream", "credit_scores", "--depth", "1", "--store", store, "--json"))
    assert "credit.raw.customers" not in {n["name"] for n in shallow["nodes"]}
    down = json.loads(run("downstream", "raw.customers", "--store", store, "--json"))
    assert "credit.reporting.limit_decisions" in {n["name"] for n in down["nodes"]}
    impact = json.loads(run("impact", "staging.customers", "--store", store, "--json"))
    assert {"credit.ml.credit_scores", "credit.ml.prediction_log"} <= {r["name"] for r in impact["impacted"]}
    assert impact["total"] == len(impact["impacted"])
    nearest = json.loads(run("impact", "staging.customers", "--limit", "2", "--store", store, "--json"))
    assert nearest["total"] == impact["total"] and nearest["impacted"] == impact["impacted"][:2]
    show = json.loads(run("show", "ml.credit_scores", "--store", store, "--json"))
    assert any("insert into ml.credit_scores" in e["evidence"][0]["sql"].lower() for e in show["edges"])
    found = json.loads(run("search", "scores", "--kind", "dataset", "--store", store, "--json"))
    assert found[0]["name"] == "credit.ml.credit_scores"
    assert "credit.ml.credit_scores" in run("upstream", "credit_scores", "--store", store)
    issues = json.loads(run("issues", "--store", store, "--json"))
    assert {i["code"] for i in issues["issues"]} == {"bad_json", "unparseable_sql"} and issues["total"] == 2


def test_crawl_of_paths_with_options(tmp_path: Path) -> None:
    script = tmp_path / "a.sql"
    script.write_text("insert into mart.c select * from stg.b;", encoding="utf-8")
    store = f"sqlite:///{tmp_path / 'l.db'}"
    run("crawl", str(script), "--dialect", "snowflake", "--default-db", "DW", "--store", store)
    up = json.loads(run("upstream", "C", "--store", store, "--json"))
    assert {n["name"] for n in up["nodes"] if n["kind"] == "dataset"} == {"DW.MART.C", "DW.STG.B"}


def test_export_is_byte_identical_for_the_same_graph(tmp_path: Path, demo_copy: Path) -> None:
    store = f"sqlite:///{tmp_path / 'l.db'}"
    run("crawl", "--config", str(demo_copy / "crawl.toml"), "--store", store, status=QUARANTINED)
    first = run("export", "--store", store)
    run("crawl", "--config", str(demo_copy / "crawl.toml"), "--store", store)  # nothing new: 0
    assert run("export", "--store", store) == first
    document = json.loads(first)
    assert document["edges"] == sorted(document["edges"], key=lambda e: (e["src"], e["kind"], e["dst"]))
    assert all("evidence" in e for e in document["edges"] if e["kind"] != "OF")


def test_sql_prints_lineage_without_a_store() -> None:
    result = json.loads(run("sql", "-e", "with x as (select * from a) insert into b select * from x",
                            "--dialect", "postgres", "--default-db", "credit", "--json"))
    assert (result["sources"], result["targets"]) == (["credit.public.a"], ["credit.public.b"])
    assert set(result) >= {"id", "sources", "targets", "column_lineage", "issues", "confidence"}
    text = run("sql", str(DEMO / "elt" / "nightly_credit_elt.sql"), "--dialect", "postgres")
    assert "MERGE" in text and "staging.payment_history" in text


@pytest.mark.parametrize(("sql", "dialect", "message"), [
    ("SELEC * FORM x", "postgres", "not a statement: it reads as the expression SELEC * FORM AS x"),
    ("DELETE FORM customers WHERE id = 1", "postgres", "DELETE without FROM: not postgres syntax"),
    ("DELETE FORM customers WHERE id = 1", "tsql", "DELETE without FROM: not tsql syntax"),
    ("DELETE FORM customers WHERE id = 1", None, "DELETE without FROM: not generic syntax"),
    ("SELECT * FROM (", "postgres", "Expected table name but got the end of the statement"),
    ("CREATE TABLE AS SELECT 1", "postgres", "Expected table name but got 'AS'"),
], ids=["misspelt-select", "misspelt-from-postgres", "misspelt-from-tsql", "misspelt-from-generic", "cut-short",
        "no-table-name"])
def test_sql_says_what_it_could_not_read_and_exits_1(sql: str, dialect: str | None, message: str) -> None:
    chosen = ["--dialect", dialect] if dialect else []
    result = json.loads(run("sql", "-e", sql, *chosen, "--json", status=UNPARSEABLE))
    assert [(i["code"], i["severity"]) for i in result["issues"]] == [("unparseable_sql", "error")]
    assert message in result["issues"][0]["message"] and "<Token" not in result["issues"][0]["message"]
    assert result["confidence"] == 0.0 and result["targets"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["upstream", "no_such_table"], "no dataset or job named 'no_such_table'"),
        (["crawl", "/nonexistent/x.sql"], "no such file or directory"),
        (["crawl", "--config", "/nonexistent/crawl.toml"], "no such config file"),
        (["sql", "-e", "select 1", "--dialect", "klingon"], "unknown SQL dialect 'klingon'"),
        (["upstream", "x", "--store", "redis://localhost"], "no store backend"),
        (["upstream", "x", "--depth", "0"], "Invalid value for '--depth'"),
        (["crawl"], "nothing to crawl"),
        (["serve", "--host", "0.0.0.0"], "give --token"),
        (["crawl", "--config", str(DEMO / "crawl.toml"), "--type", "mysql_slow"], "--type applies to paths"),
    ],
    ids=["unknown-name", "missing-file", "missing-config", "bad-dialect", "bad-store", "bad-depth", "no-paths",
         "exposed-without-token", "type-with-config"],
)
def test_mistakes_get_one_clear_line_and_a_non_zero_exit(
    args: list[str], message: str, demo_store_url: str
) -> None:
    if "--store" not in args:
        args = [*args, "--store", demo_store_url] if args[0] != "sql" else args
    result = subprocess.run([sys.executable, "-m", "crawler", *args], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_store_that_cannot_be_reached_is_one_line() -> None:
    # The neo4j driver logs the failed connection itself; only our line may reach the user.
    result = subprocess.run([sys.executable, "-m", "crawler", "upstream", "x", "--store",
                             "neo4j://neo4j:secret-pass@127.0.0.1:1"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [line for line in result.stderr.splitlines()
                                          if line.startswith("lineage: error: cannot reach Neo4j")] != []
    assert "secret-pass" not in result.stderr


def test_path_history_kind_filter_as_of_and_import(tmp_path: Path, demo_copy: Path) -> None:
    store = f"sqlite:///{tmp_path / 'l.db'}"
    run("crawl", "--config", str(demo_copy / "crawl.toml"), "--store", store, status=QUARANTINED)
    chain = json.loads(run("path", "raw.customers", "ml.credit_scores", "--store", store, "--json"))
    assert chain[0]["name"] == "credit.raw.customers" and chain[-1]["name"] == "credit.ml.credit_scores"
    forward = run("path", "raw.customers", "ml.credit_scores", "--store", store)
    assert "->" in forward and "other way" not in forward
    backward = run("path", "ml.credit_scores", "raw.customers", "--store", store)
    assert backward.startswith("No data goes from ml.credit_scores to raw.customers; it goes the other way:")
    assert backward.splitlines()[1] == forward.splitlines()[0], "the chain as it is, from raw.customers"
    history = json.loads(run("history", "staging.customers", "--store", store, "--json"))
    assert history and all(row["appeared"] for row in history)
    only = json.loads(run("downstream", "raw.customers", "--kind", "job", "--store", store, "--json"))
    assert {n["kind"] for n in only["nodes"]} == {"job", "dataset"}
    assert [n["name"] for n in only["nodes"] if n["kind"] == "dataset"] == ["credit.raw.customers"]
    before = json.loads(run("downstream", "raw.customers", "--as-of", "2000-01-01", "--store", store, "--json"))
    assert [n["name"] for n in before["nodes"]] == ["credit.raw.customers"], "nothing was seen before 2000"
    exported = tmp_path / "graph.json"
    run("export", "--store", store, "--output", str(exported))
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    assert "Loaded" in run("import", str(exported), "--store", copy)
    assert run("export", "--store", copy) == exported.read_text(encoding="utf-8")


def test_sql_batch_mode_answers_each_line_in_order(tmp_path: Path) -> None:
    batch = tmp_path / "cases.jsonl"
    batch.write_text("\n".join([
        json.dumps({"id": "a", "sql": "insert into t select * from s", "dialect": "postgres", "default_db": "d"}),
        "not json",
        json.dumps({"id": "c", "sql": "USE shop; insert into orders select * from carts", "dialect": "mysql"}),
    ]) + "\n", encoding="utf-8")
    lines = [json.loads(line) for line in run("sql", "--jsonl", str(batch), status=UNPARSEABLE).splitlines()]
    assert [line["id"] for line in lines] == ["a", "line 2", "c"]
    assert (lines[0]["sources"], lines[0]["targets"]) == (["d.public.s"], ["d.public.t"])
    assert lines[1]["issues"][0]["code"] == "bad_input"
    assert {len(line) for line in lines} == {len(lines[0])} and lines[1].keys() == lines[0].keys(), "one shape"
    assert (lines[2]["sources"], lines[2]["targets"]) == (["shop.carts"], ["shop.orders"])


def test_column_lineage_from_a_crawl(tmp_path: Path, demo_copy: Path) -> None:
    store = f"sqlite:///{tmp_path / 'l.db'}"
    run("crawl", "--config", str(demo_copy / "crawl.toml"), "--store", store, status=QUARANTINED)
    up = json.loads(run("upstream", "ml.credit_scores#recommended_limit", "--store", store, "--json"))
    labels = {n.get("label") for n in up["nodes"]}
    assert "credit.features.customer_features.annual_income" in labels
    assert "credit.raw.customers.annual_income" in labels, "through staging, to the raw column"
    assert all(n["kind"] == "column" for n in up["nodes"])
    text = run("upstream", "ml.credit_scores#recommended_limit", "--store", store)
    assert text.startswith("upstream of column credit.ml.credit_scores.recommended_limit\n"), "the column's table too"


def test_sql_takes_a_schema_as_json_or_an_information_schema_export(tmp_path: Path) -> None:
    json_schema = tmp_path / "schema.json"
    json_schema.write_text('{"raw.orders": {"id": "int", "amount": "numeric"}}', encoding="utf-8")
    csv_schema = tmp_path / "columns.csv"
    csv_schema.write_text("table_schema,table_name,column_name,ordinal_position\n"
                          "raw,orders,amount,2\nraw,orders,id,1\n", encoding="utf-8")
    for schema in (json_schema, csv_schema):
        result = CliRunner().invoke(main, ["sql", "--dialect", "postgres", "--schema", str(schema), "--json",
                                           "-e", "create table mart.o as select * from raw.orders"])
        assert result.exit_code == 0, result.output
        flows = json.loads(result.output)["column_lineage"]
        assert [(f["target"], f["sources"]) for f in flows] == [("mart.o.id", ["raw.orders.id"]),
                                                               ("mart.o.amount", ["raw.orders.amount"])]


def test_an_export_with_its_database_serves_sql_that_names_schema_and_table(tmp_path: Path) -> None:
    # information_schema.columns as Snowflake exports it: table_catalog filled in; the SQL and the
    # command line name no database.
    csv_schema = tmp_path / "columns.csv"
    csv_schema.write_text("TABLE_CATALOG,TABLE_SCHEMA,TABLE_NAME,COLUMN_NAME,ORDINAL_POSITION\n"
                          "ANALYTICS,PUBLIC,ORDERS,ID,1\nANALYTICS,PUBLIC,ORDERS,AMOUNT,2\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["sql", "--dialect", "snowflake", "--schema", str(csv_schema), "--json",
                                       "-e", "create table mart.o as select * from public.orders"])
    assert result.exit_code == 0, result.output
    flows = json.loads(result.output)["column_lineage"]
    assert [(f["target"], f["sources"]) for f in flows] == [("MART.O.ID", ["PUBLIC.ORDERS.ID"]),
                                                           ("MART.O.AMOUNT", ["PUBLIC.ORDERS.AMOUNT"])]


def test_sql_batch_lines_carry_their_own_schema(tmp_path: Path) -> None:
    batch = tmp_path / "in.jsonl"
    batch.write_text(json.dumps({"id": "q1", "sql": "select * from shop.t", "dialect": "mysql",
                                 "schema": {"shop.t": {"a": "int"}}}) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["sql", "--jsonl", str(batch)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["column_lineage"] == [{"kind": "direct", "sources": ["shop.t.a"], "target": "a"}]


def test_reports_and_the_diff_of_two_crawls(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'l.db'}"
    trace = tmp_path / "trace.jsonl"
    line = '{{"timestamp": "{ts}", "user": "etl", "query": "INSERT INTO mart.{dst} (x) SELECT x FROM raw.{src}"}}\n'
    trace.write_text(line.format(ts="2026-01-01T00:00:00+00:00", src="old", dst="old"), encoding="utf-8")
    run("crawl", str(trace), "--store", store, "-q")
    with trace.open("a", encoding="utf-8") as stream:
        stream.write(line.format(ts="2026-11-25T00:00:00+00:00", src="a", dst="b"))
    run("crawl", str(trace), "--store", store, "-q")  # raw.old's edges are 300 days older: marked stale
    reports = json.loads(run("reports", "--store", store, "--json"))
    assert [r["crawl"] for r in reports] == [2, 1]
    assert "2026" in run("reports", "--store", store)
    last = json.loads(run("diff", "--store", store, "--json"))
    assert (last["after"], last["upto"]) == (1, 2)
    assert last["counts"]["added"]["datasets"] == 2 and last["counts"]["added"]["DERIVES"] == 1
    assert last["counts"]["stale"] == {"READS": 1, "WRITES": 1, "FEEDS": 1, "IN": 2, "DERIVES": 1}
    added = {(c["kind"], c.get("name") or f'{c["src_name"]} -> {c["dst_name"]}') for c in last["changes"]
             if c["change"] == "added"}
    assert {("dataset", "raw.a"), ("column", "mart.b.x"), ("DERIVES", "raw.a.x -> mart.b.x")} <= added
    text = run("diff", "--store", store)
    assert text.index("added: datasets 2") < text.index("raw.a.x -> mart.b.x"), "counts first, then the list"
    first = json.loads(run("diff", "0", "1", "--store", store, "--json"))
    assert first["counts"] == {"added": first["counts"]["added"]} and first["counts"]["added"]["datasets"] == 2
    assert json.loads(run("diff", "1", "--store", store, "--json"))["upto"] == 2
    result = CliRunner().invoke(main, ["diff", "7", "--store", store])
    assert result.exit_code == 1 and "no report of crawl 7" in result.output


def test_sql_text_lists_columns_with_indirect_lineage_only() -> None:
    """(Issue 20: count(*) was left out of the text output, which showed direct flows only.)"""
    text = run("sql", "-e", "insert into mart.t (x, y) select a, count(*) from raw.s where b > 1 group by a",
               "--dialect", "postgres")
    rows = {line.split("│")[0].strip(): [cell.strip() for cell in line.split("│")[1:]]
            for line in text.splitlines() if line.startswith("mart.t.")}
    assert rows == {"mart.t.x": ["raw.s.a", "raw.s.a"], "mart.t.y": ["-", "raw.s.a"]}


@pytest.mark.parametrize("store", ["directory", "not-a-database", "another-sqlite-file"])
def test_a_sqlite_store_that_is_no_lineage_store_is_one_line(store: str, tmp_path: Path) -> None:
    """(Issue 20: each gave a sqlite3 traceback.)"""
    path = tmp_path / store
    if store == "directory":
        path.mkdir()
    elif store == "not-a-database":
        path.write_bytes(b"not a database at all" * 100)
    else:
        import sqlite3

        sqlite3.connect(path).execute("create table other (a)").connection.close()
    result = subprocess.run([sys.executable, "-m", "crawler", "search", "x", "--store", f"sqlite:///{path}"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"lineage: error: {path}") and len(result.stderr.splitlines()) == 1


def test_check_config_says_every_problem_with_its_line_and_reads_nothing(tmp_path: Path) -> None:
    (tmp_path / "etl.sql").write_text("insert into b select * from a;\n", encoding="utf-8")
    config = tmp_path / "crawl.toml"
    config.write_text('store = "sqlite:///store/lineage.db"\nfoo = 1\n[defaults]\ndialct = "postgres"\n'
                      '[[sources]]\npath = "etl.sql"\ntype = "sql_fil"\n'
                      '[[sources]]\npath = "nothing/*.log"\nrules = [{ pattern = "(", direction = "write" }]\n'
                      '[[sources]]\npath = "etl.sql"\ndialect = "klingon"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "crawler", "check-config", str(config)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"{config}:2: unknown setting 'foo'",
        f"{config}:4: [defaults]: unknown setting 'dialct' (did you mean 'dialect'?)",
        f"{config}:7: source 1: unknown source type 'sql_fil' (did you mean 'sql_file'?)",
        f"{config}:9: source 2: path nothing/*.log matches no file",
        f"{config}:10: source 2: rules[1]: pattern is not a valid regex: missing ), unterminated subpattern "
        "at position 0",
        f"{config}:13: source 3: unknown SQL dialect 'klingon'",
    ]
    assert not (tmp_path / "store").exists(), "nothing read, nothing written"
    good = subprocess.run([sys.executable, "-m", "crawler", "check-config", str(DEMO / "crawl.toml")],
                          capture_output=True, text=True, timeout=60)
    assert good.returncode == 0, good.stderr


def test_column_impact_counts_each_kind_as_itself_and_lists_the_jobs_that_read_it(tmp_path: Path,
                                                                                 demo_copy: Path) -> None:
    store = f"sqlite:///{tmp_path / 'l.db'}"
    run("crawl", "--config", str(demo_copy / "crawl.toml"), "--store", store, status=QUARANTINED)
    found = json.loads(run("impact", "raw.customers#annual_income", "--store", store, "--json"))
    kinds = {(r["kind"], r["name"], r["distance"]) for r in found["impacted"]}
    columns = sum(1 for r in found["impacted"] if r["kind"] == "column")
    jobs = {r["id"] for r in found["impacted"] if r["kind"] == "job"}
    assert ("column", "credit.staging.customers.annual_income", 1) in kinds
    # The jobs that read the column and carry it on, each as far as the column it writes.
    assert ("job", "CREATE TABLE AS credit.staging.customers from credit.raw.customers", 1) in kinds
    assert ("job", "INSERT credit.features.customer_features from credit.staging.customers, "
                   "credit.raw.bureau_reports +2", 2) in kinds
    assert found["total"] == len(found["impacted"]) == columns + len(jobs)
    text = run("impact", "raw.customers#annual_income", "--store", store)
    assert text.splitlines()[0] == (f"Changing credit.raw.customers.annual_income touches {columns} columns "
                                    f"and {len(jobs)} jobs")
    # Model versions are model versions, not jobs.
    table = run("impact", "raw.customers", "--store", store).splitlines()[0]
    assert table.endswith(" jobs and 2 model versions") and "dataset(s)" not in table


def test_serve_has_loaded_the_graphs_shape_when_it_first_answers(demo_store_url: str, tmp_path: Path) -> None:
    # (the first pages walk the shape in memory, not the store's slower way while it loads)
    base = f"http://127.0.0.1:{free_port()}"
    argv = [sys.executable, "-m", "crawler", "serve", "--store", demo_store_url, "--port", base.rsplit(":", 1)[1]]
    log = tmp_path / "serve.log"
    with answering(argv, lambda: urllib.request.urlopen(base, timeout=1).close(), log):
        told = log.read_text()
    assert "Loading the graph's shape for walks..." in told and "Loaded in" in told
