from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from crawler import config as crawl_config
from crawler.errors import ConfigError, SourceNotFoundError
from crawler.registry import FieldMap, SourceSpec, discover, read
from parsers import ParseIssue, SourceRecord


def _read_all(spec: SourceSpec) -> list[SourceRecord | ParseIssue]:
    return [r.item for path, kind in discover(spec) for r in read(spec, path, kind)]


def test_a_sql_file_is_one_record_with_its_origin_and_defaults(tmp_path: Path) -> None:
    script = tmp_path / "elt.sql"
    script.write_text("insert into a select * from b;\ninsert into c select * from a;\n", encoding="utf-8")
    (record,) = _read_all(SourceSpec(path=str(script), dialect="postgres", database="credit"))
    assert isinstance(record, SourceRecord)
    assert record.source_type == "sql_file"
    assert record.origin.path == str(script.resolve())
    assert (record.origin.line, record.origin.byte_offset) == (1, 0)
    assert (record.dialect, record.database) == ("postgres", "credit")
    assert record.timestamp is not None and record.timestamp.endswith("Z")


def test_a_trace_maps_its_fields_and_keeps_byte_offsets(tmp_path: Path) -> None:
    lines = [
        {"q": "select 1", "ctx": {"user": "ana", "db": "credit"}, "at": "2026-11-25T06:00:00+01:00"},
        {"q": "insert into t select * from s", "ctx": {"user": "svc", "db": "credit"}, "at": 1764050400},
    ]
    trace = tmp_path / "trace.jsonl"
    text = "\n".join(json.dumps(line) for line in lines) + "\n"
    trace.write_text(text, encoding="utf-8")
    fields = FieldMap.of({"query": "q", "user": "ctx.user", "database": "ctx.db", "timestamp": "at"})
    first, second = _read_all(SourceSpec(path=str(trace), fields=fields, dialect="postgres"))
    assert isinstance(first, SourceRecord) and isinstance(second, SourceRecord)
    assert (first.text, first.user, first.database) == ("select 1", "ana", "credit")
    assert first.timestamp == "2026-11-25T05:00:00.000Z"
    assert second.timestamp == "2025-11-25T06:00:00.000Z"
    assert (second.origin.line, second.origin.byte_offset) == (2, len(text.splitlines(keepends=True)[0]))


def test_bad_lines_become_issues_and_reading_goes_on(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    good = json.dumps({"query": "select * from t"})
    trace.write_bytes(
        b"not json at all\n" + good.encode() + b"\n" + b'["a list"]\n' + b'{"query": ""}\n'
        + b'{"query": "select \xff from t"}\n' + good.encode()[:-3]  # cut short: still being written
    )
    items = _read_all(SourceSpec(path=str(trace)))
    issues = [item for item in items if isinstance(item, ParseIssue)]
    records = [item for item in items if isinstance(item, SourceRecord)]
    assert [i.code for i in issues] == ["bad_json", "bad_json", "missing_query", "bad_encoding"]
    assert [i.origin.line for i in issues] == [1, 3, 4, 5]
    assert [r.origin.line for r in records] == [2, 5], "the line cut short is left for a later crawl"
    assert records[1].text == "select \ufffd from t"
    assert all(i.snippet is None for i in issues), "unreadable lines cannot be redacted, so are not copied"


def test_directories_are_walked_by_suffix(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.sql").write_text("select 1", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text("", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("", encoding="utf-8")
    found = discover(SourceSpec(path=str(tmp_path)))
    assert [(p.name, kind) for p, kind in found] == [("x.sql", "sql_file"), ("b.jsonl", "sql_trace")]


def test_a_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="no such file or directory"):
        discover(SourceSpec(path=str(tmp_path / "nope.sql")))


def test_an_unknown_source_type_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown source type 'kafka'"):
        discover(SourceSpec(path=str(tmp_path), type="kafka"))


def test_config_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "crawl.toml").write_text(
        '[defaults]\ndialect = "postgres"\n[[sources]]\npath = "logs"\nfields = { query = "sql" }\n',
        encoding="utf-8",
    )
    config = crawl_config.load(tmp_path / "crawl.toml", {"database": "credit", "dialect": None})
    (spec,) = config.sources
    assert spec.path == str(tmp_path / "logs")
    assert (spec.dialect, spec.database, spec.fields.query) == ("postgres", "credit", "sql")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[sources]]\npath = 1\n[bogus]\n", "unknown setting"),
        ("store = 'x'\n", "no \\[\\[sources\\]\\]"),
        ("[[sources]]\ntype = 'sql_file'\n", "no path"),
        ("[[sources]]\npath = 'x'\nfields = { nope = 'a' }\n", "unknown trace field"),
        ("[[sources\n", "not valid TOML"),
        ("[[sources]]\npath = 5\n", "path must be a string"),
        ("[defaults]\ndialect = ['postgres']\n[[sources]]\npath = 'x'\n", "dialect must be a string"),
        ("[[sources]]\npath = 'x'\nfields = { query = 5 }\n", "fields must be a table of trace field names"),
        ("store = 3\n[[sources]]\npath = 'x'\n", "store must be a URL string"),
    ],
    ids=["unknown-table", "no-sources", "no-path", "unknown-field", "bad-toml", "path-number", "dialect-list",
         "field-number", "store-number"],
)
def test_bad_configs_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "crawl.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        crawl_config.load(tmp_path / "crawl.toml")


def test_a_huge_statement_is_reported_and_the_crawl_goes_on(tmp_path: Path) -> None:
    from crawler.crawl import crawl
    from graph import open_store

    values = ",".join(f"({n}, 'customer-{n}')" for n in range(2_500_000))  # about 50 MB
    trace = tmp_path / "big.jsonl"
    with trace.open("w", encoding="utf-8") as stream:
        stream.write(json.dumps({"query": f"insert into raw.customers values {values}"}) + "\n")
        stream.write(json.dumps({"query": "insert into stg.c select * from raw.customers"}) + "\n")
    assert trace.stat().st_size > 45 * 2**20
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    report = crawl([SourceSpec(path=str(trace), dialect="postgres")], store)
    assert report.issues_by_code == {"statement_too_large": 1}
    assert report.written == 1
    (issue,) = store.issues()
    assert "customer-" not in (issue.snippet or ""), "no literal copied into the quarantine"


def test_procedures_are_jobs_and_drops_are_kept_on_the_dataset(tmp_path: Path) -> None:
    from crawler.crawl import crawl
    from graph import open_store

    script = tmp_path / "deploy.sql"
    script.write_text(
        "CREATE OR REPLACE PROCEDURE mart.load_totals(p_day date) LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  DELETE FROM mart.totals WHERE day = p_day;\n"
        "  INSERT INTO mart.totals (day, total) SELECT day, sum(amount) FROM raw.payments\n"
        "  WHERE day = p_day GROUP BY day;\n"
        "END $$;\n"
        "DROP TABLE IF EXISTS mart.totals_old;\n", encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    crawl([SourceSpec(path=str(script), dialect="postgres")], store)
    (job,) = [node for node in store.nodes(kind="job") if node.name.startswith("routine:")]
    assert job.name == "routine:mart.load_totals"
    names = {node.id: node.name for node in store.nodes()}
    assert {names[e.dst] for e in store.edges(["WRITES"]) if e.src == job.id} == {"mart.totals"}
    assert {names[e.src] for e in store.edges(["READS"]) if e.dst == job.id} == {"raw.payments"}
    (dropped,) = [node for node in store.nodes(kind="dataset") if node.name == "mart.totals_old"]
    assert "last_drop" in dropped.props
    assert not [edge for edge in store.edges() if dropped.id in (edge.src, edge.dst)], "a drop is no edge"


def test_a_crawl_expands_stars_from_tables_created_earlier_in_it_or_before(tmp_path: Path) -> None:
    from crawler.crawl import crawl
    from graph import open_store

    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    first = tmp_path / "ddl.sql"
    first.write_text("CREATE TABLE raw.orders (id int, amount numeric);\n", encoding="utf-8")
    crawl([SourceSpec(path=str(first), dialect="postgres")], store)
    second = tmp_path / "load.sql"
    second.write_text("CREATE TABLE mart.big AS SELECT * FROM raw.orders WHERE amount > 100;\n"
                      "INSERT INTO mart.copy SELECT * FROM mart.big;\n", encoding="utf-8")
    crawl([SourceSpec(path=str(second), dialect="postgres")], store)
    names = {node.id: node.label or node.name for node in store.nodes(kind="column")}
    derives = {(names[e.src], names[e.dst]) for e in store.edges(["DERIVES"]) if e.props.get("direct")}
    assert ("raw.orders.amount", "mart.big.amount") in derives  # raw.orders was created by the first crawl
    assert ("mart.big.id", "mart.copy.id") in derives  # mart.big was learned from this crawl's CREATE


def test_a_statement_longer_than_a_csv_field_may_be_is_read(tmp_path: Path) -> None:
    values = ",".join(f"({n})" for n in range(40_000))  # about 300 KB: over csv's default field limit
    trace = tmp_path / "queries.csv"
    trace.write_text('query\n"insert into raw.numbers values ' + values + '"\n"select * from raw.numbers"\n',
                     encoding="utf-8")
    records = [r for r in _read_all(SourceSpec(path=str(trace), dialect="postgres")) if isinstance(r, SourceRecord)]
    assert [len(r.text) > 200_000 for r in records] == [True, False]


def test_mysql8_slow_log_keeps_connections_apart(tmp_path: Path) -> None:
    log = tmp_path / "slow.log"
    log.write_text(
        "/usr/sbin/mysqld, Version: 8.0.36. started with:\n"
        "Tcp port: 3306  Unix socket: /tmp/mysql.sock\nTime                 Id Command    Argument\n"
        "# Time: 2026-11-26T10:00:00.000000Z\n# User@Host: etl[etl] @ localhost []  Id:     8\n"
        "# Query_time: 0.1  Lock_time: 0.0 Rows_sent: 0  Rows_examined: 0\nSET timestamp=1795600000;\n"
        "insert into shop.a select * from shop.b;\n"
        "# Time: 2026-11-26T10:00:01.000000Z\n# User@Host: bi[bi] @ localhost []  Id:     9\n"
        "# Query_time: 0.1  Lock_time: 0.0 Rows_sent: 0  Rows_examined: 0\nSET timestamp=1795600001;\n"
        "insert into shop.c select * from shop.d;\n", encoding="utf-8")
    os.utime(log, (1_700_000_000, 1_700_000_000))  # not being written: its last entry is complete
    records = [r for r in _read_all(SourceSpec(path=str(log), type="mysql_slow")) if isinstance(r, SourceRecord)]
    assert [(r.session_id, r.user) for r in records] == [("thread:8", "etl"), ("thread:9", "bi")]


@pytest.mark.parametrize("value", ["99999999999999999999", 1e300, float("nan")])
def test_a_timestamp_out_of_range_is_no_time_not_a_crash(value: object) -> None:
    from crawler.timestamps import normalize

    assert normalize(value) is None


def test_the_per_second_shortcut_reads_timestamps_as_the_full_reader_does() -> None:
    """Timestamps with a fraction take a shortcut (each second converted once); it must agree
    with the full reader on every form, including those neither can read."""
    import itertools

    from crawler.timestamps import _normalize, normalize

    days = ["2024-05-01 02:00:00", "2024-05-01T23:59:59", "2024-02-30 02:00:00", "2024-05-01 24:00:00"]
    fractions = [".5", ".123", ".123456", ".123456789"]
    zones = ["", "Z", " Z", "UTC", " UTC", "+02:00", " +02:00", "+0200", " -0800", "-08", " -08", "+2", " CEST"]
    for _ in range(2):  # the second time, each second has been read before (milliseconds: looked up)
        for value in ("".join(parts) for parts in itertools.product(days, fractions, zones)):
            assert normalize(value) == _normalize(value), value
            other = value.replace(".123", ".987", 1)
            assert normalize(other) == _normalize(other), other
    assert normalize("2024-05-01 02:00:00.123 +02:00") == "2024-05-01T00:00:00.123Z"


def test_a_mysql_thread_id_used_again_starts_a_new_session(tmp_path: Path) -> None:
    from crawler.crawl import crawl
    from graph import open_store

    log = tmp_path / "general.log"
    log.write_text(
        "/usr/sbin/mariadbd, Version: 10.11.19-MariaDB-log. started with:\n"
        "Tcp port: 3306  Unix socket: /tmp/mysqld.sock\nTime\t\t    Id Command\tArgument\n"
        "261126 13:23:22\t     5 Connect\tetl@localhost on reporting using Socket\n"
        "\t\t     5 Query\tUSE staging\n"
        "\t\t     5 Query\tCREATE TEMPORARY TABLE batch AS SELECT * FROM raw.orders\n"
        "\t\t     5 Quit\t\n"
        "261126 13:24:00\t     5 Connect\tbi@localhost on reporting using Socket\n"
        "\t\t     5 Query\tINSERT INTO summary SELECT * FROM batch\n"
        "\t\t     5 Quit\t\n", encoding="utf-8")
    os.utime(log, (1_700_000_000, 1_700_000_000))
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    crawl([SourceSpec(path=str(log), type="mysql_general")], store)
    names = {node.id: node.name for node in store.nodes(kind="dataset")}
    feeds = {(names[e.src], names[e.dst]) for e in store.edges(["FEEDS"])}
    # neither the old connection's USE nor its temporary table carries over to the new one
    assert feeds == {("reporting.batch", "reporting.summary")}


def test_a_file_reached_by_several_paths_is_crawled_once(tmp_path: Path) -> None:

    logs = tmp_path / "logs"
    (logs / "today").mkdir(parents=True)
    (logs / "today" / "a.sql").write_text("insert into b select * from a;\n", encoding="utf-8")
    (logs / "today" / "back").symlink_to(logs)  # a link to a parent: ** walks through it again and again
    found = discover(SourceSpec(path=str(logs / "**" / "*.sql")))
    assert found == [((logs / "today" / "a.sql").resolve(), "sql_file")]


def test_a_stray_quote_in_a_csv_trace_costs_its_line_only(tmp_path: Path) -> None:
    import time

    from crawler.crawl import crawl
    from graph import open_store

    rows = ["query,ts", *(f'"insert into a.t{n} select * from c.d",2026-01-01' for n in range(3)),
            'insert into bad.q select 1,2026-01-01 "',  # the quote opens a field that never ends
            *(f'"insert into b.t{n} select * from c.d",2026-01-02' for n in range(4))]
    trace = tmp_path / "q.csv"
    trace.write_text("\n".join(rows) + "\n", encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    spec = [SourceSpec(path=str(trace), type="sql_trace_csv")]
    assert crawl(spec, store).records == 3, "written just now: the open quote may close in what comes"
    os.utime(trace, (time.time() - 60, time.time() - 60))
    report = crawl(spec, store)
    assert (report.records, report.issues_by_code) == (4, {"bad_csv": 1})
    (issue,) = store.issues()
    assert (issue.origin.line, issue.origin.byte_offset) == (5, len("\n".join(rows[:4]).encode()) + 1)
    assert crawl(spec, store).records == 0


def test_a_pipe_is_refused_as_what_it_is(tmp_path: Path) -> None:
    pipe = tmp_path / "queries.sql"
    os.mkfifo(pipe)
    with pytest.raises(SourceNotFoundError, match="not a regular file or directory"):
        discover(SourceSpec(path=str(pipe)))


def test_a_file_cut_mid_line_and_left_for_an_hour_is_read_up_to_the_cut(tmp_path: Path) -> None:
    import time

    from crawler.crawl import crawl
    from graph import open_store

    rows = ["query,ts", *(f'"insert into a.t{n} select * from c.d",2026-01-01' for n in range(3)),
            'insert into bad.q select 1,2026-01-01 "', '"insert into b.t0 select * from c.d",2026-01-02',
            '"insert into b.t1 sel']  # the writer crashed here
    trace = tmp_path / "q.csv"
    trace.write_text("\n".join(rows), encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    spec = [SourceSpec(path=str(trace), type="sql_trace_csv")]
    os.utime(trace, (time.time() - 60, time.time() - 60))
    assert crawl(spec, store).records == 3, "a minute: the cut line may still be finished"
    os.utime(trace, (time.time() - 7200, time.time() - 7200))
    report = crawl(spec, store)
    assert (report.records, report.issues_by_code) == (1, {"bad_csv": 1}), "the cut line itself is never read"


@pytest.mark.parametrize("source_type", ["sql_trace_csv", "warehouse_history", "warehouse_supplement"])
def test_a_bare_carriage_return_in_an_unquoted_field_is_a_bad_row_not_a_crash(source_type: str,
                                                                               tmp_path: Path) -> None:
    from crawler.crawl import crawl
    from graph import open_store

    trace = tmp_path / "trace.csv"
    trace.write_bytes(b'query_text,user_name\r\n"select 1",bob\r\nselect 2\rx,al\n"select 3",eve\n')
    report = crawl([SourceSpec(path=str(trace), type=source_type)], open_store(f"sqlite:///{tmp_path / 'l.db'}"))
    assert report.issues_by_code.get("bad_csv") == 1
    (bad,) = [issue for issue in report.issue_sample if issue.code == "bad_csv"]
    assert bad.origin.line == 3 and "new-line character" in bad.message


def test_a_header_that_is_no_csv_row_skips_the_file_with_a_reason(tmp_path: Path) -> None:
    from crawler.crawl import crawl
    from graph import open_store

    trace = tmp_path / "trace.csv"
    trace.write_bytes(b'query_text\r,x\n"select 1"\n')
    report = crawl([SourceSpec(path=str(trace), type="sql_trace_csv")], open_store(f"sqlite:///{tmp_path / 'l.db'}"))
    assert report.issues_by_code == {"bad_csv": 1} and report.records == 0


@pytest.mark.parametrize(("dialect", "script"), [
    ("postgres", "CREATE TEMP TABLE tmp_x AS SELECT * FROM raw.a;\nINSERT INTO mart.b SELECT * FROM tmp_x;\n"
                 "DROP TABLE tmp_x;\n"),
    ("tsql", "SELECT * INTO #t FROM dbo.a;\nINSERT INTO dbo.b SELECT * FROM #t;\nDROP TABLE #t;\n"),
    ("tsql", "DROP TABLE #never_seen_created;\nINSERT INTO dbo.b SELECT * FROM dbo.a;\n"),
], ids=["postgres temp", "tsql #temp", "tsql #temp made before the log"])
def test_a_dropped_temporary_table_leaves_no_dataset(dialect: str, script: str, tmp_path: Path) -> None:
    """(Issue 20: the drop became a phantom dataset, public.tmp_x with last_drop, that every later
    crawl held back from removal.)"""
    from crawler.crawl import crawl
    from graph import open_store

    path = tmp_path / "etl.sql"
    path.write_text(script, encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    crawl([SourceSpec(path=str(path), dialect=dialect)], store)
    assert {node.name for node in store.nodes("dataset")} == ({"raw.a", "mart.b"} if dialect == "postgres"
                                                              else {"dbo.a", "dbo.b"})


def test_a_table_created_after_a_temporary_one_of_its_name_was_dropped_is_a_table(tmp_path: Path) -> None:
    from crawler.crawl import crawl
    from graph import open_store

    path = tmp_path / "etl.sql"
    path.write_text("CREATE TEMP TABLE x AS SELECT * FROM raw.a;\nDROP TABLE x;\n"
                    "CREATE TABLE x AS SELECT * FROM raw.b;\nINSERT INTO mart.c SELECT * FROM x;\n", encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    crawl([SourceSpec(path=str(path), dialect="postgres")], store)
    assert {(edge.src, edge.dst) for edge in store.edges(["FEEDS"])} == {
        ("dataset:postgres://default/raw.b", "dataset:postgres://default/public.x"),
        ("dataset:postgres://default/public.x", "dataset:postgres://default/mart.c")}


def test_a_scripts_statements_take_the_time_it_was_first_crawled_not_its_mtime(tmp_path: Path) -> None:
    """(Issue 17: a fresh checkout made every script look 'last seen today' on each clone.)"""
    import time

    from crawler.crawl import crawl
    from graph import open_store

    script = tmp_path / "etl.sql"
    script.write_text("insert into mart.b select * from raw.a;\n", encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    report = crawl([SourceSpec(path=str(script), dialect="postgres")], store)
    assert any("take the time a crawl first read the file" in note for note in report.notes)
    (first,) = store.nodes("run")
    time.sleep(1.1)
    script.write_text("insert into mart.b select * from raw.a;\ninsert into mart.c select * from raw.a;\n",
                      encoding="utf-8")  # appended to, and touched: a new mtime
    crawl([SourceSpec(path=str(script), dialect="postgres")], store)
    times = {run.first_seen for run in store.nodes("run")}
    assert times == {first.first_seen}, "the appended statement takes the file's first crawl time too"
