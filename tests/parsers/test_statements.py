from __future__ import annotations

import gc

import pytest

from parsers.sql.statements import split


def test_split_keeps_each_statements_place() -> None:
    sql = "-- nightly\nBEGIN;\ninsert into a\nselect * from b;\n\n  delete from c where id = 1;"
    statements = split(sql, "postgres")
    assert [s.line for s in statements] == [2, 3, 6]
    assert [sql[s.start: s.start + len(s.text)] for s in statements] == [s.text for s in statements]
    assert statements[1].text == "insert into a\nselect * from b"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("select * from t where id = 1", "SELECT * FROM t WHERE id = 982"),
        ("select * from t where id in (1, 2)", "select * from t where id in (7, 8, 9, 10)"),
        ("insert into t values (1, 'a'), (2, 'b')", "insert into t values (3, 'c')"),
        ("select * from t where d > '2024-01-01'", "select * from t where d > '2026-11-25'"),
    ],
    ids=["number", "in-list", "values-rows", "date-string"],
)
def test_literals_do_not_change_the_fingerprint(one: str, other: str) -> None:
    assert split(one, "postgres")[0].fingerprint == split(other, "postgres")[0].fingerprint


def test_different_templates_have_different_fingerprints() -> None:
    a, b, c = split("select a from t; select b from t; select a from u", "postgres")
    assert len({a.fingerprint, b.fingerprint, c.fingerprint}) == 3


def test_redaction_removes_every_literal_and_keeps_placeholders() -> None:
    (statement,) = split(
        "update cards set limit_usd = 20000.50, holder = 'Jane O''Neil' where ssn = E'123-45' and id = $1",
        "postgres",
    )
    assert statement.redacted == "update cards set limit_usd = ?, holder = ? where ssn = ? and id = $1"


def test_paths_in_copy_are_kept_in_the_fingerprint() -> None:
    a, b = split("copy t from '/data/a.csv'; copy t from '/data/b.csv'", "postgres")
    assert a.fingerprint != b.fingerprint
    assert not a.cacheable


def test_untokenizable_text_still_splits_and_is_redacted() -> None:
    statements = split("select 1 from t;\nselect 'unterminated from u where ssn = 123", "postgres")
    assert [s.line for s in statements] == [1, 2]
    assert "123" not in statements[1].redacted
    assert statements[1].tokens == ()


def test_a_statement_that_parses_too_long_is_abandoned_with_an_issue(monkeypatch: pytest.MonkeyPatch) -> None:
    from parsers import NameContext
    from parsers.sql import TemplateCache, analyze, limits

    # 20,000 terms parse in about 80 ms once sqlglot is warm (300 ms cold): well over 5 ms.
    monkeypatch.setattr(limits, "PARSE_TIME_LIMIT", 0.005)
    slow = "select " + "+".join(["a"] * 20000) + " from t"
    # (With garbage collection off: hypothesis, once imported, runs a callback on each collection,
    # and a timer's exception raised inside it is swallowed, as Python does for gc callbacks.)
    gc.disable()
    try:
        (result,) = analyze(slow, NameContext.of("postgres"), TemplateCache())
    finally:
        gc.enable()
    assert [issue.code for issue in result.issues] == ["parse_timeout"]
    monkeypatch.setattr(limits, "PARSE_TIME_LIMIT", 10.0)
    (fine,) = analyze("insert into b select * from a", NameContext.of("postgres"), TemplateCache())
    assert fine.outputs and not fine.issues


def test_column_lineage_that_takes_too_long_is_abandoned_and_the_tables_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    from parsers import NameContext
    from parsers.sql import TemplateCache, analyze, limits

    monkeypatch.setattr(limits, "PARSE_TIME_LIMIT", 1.0)
    # It parses in a blink; sqlglot's qualify takes it in quadratic time (about 15 s unbounded).
    ors = "insert into mart.picked select a from raw.o where " + " or ".join(f"a = {n}" for n in range(4000))
    (result,) = analyze(ors, NameContext.of("postgres"), TemplateCache(), columns=True)
    # (the issue says the limit fired; a wall-clock bound here failed on a loaded machine)
    assert [issue.code for issue in result.issues] == ["column_timeout"]
    assert ([d.name for d in result.inputs], [d.name for d in result.outputs]) == (["raw.o"], ["mart.picked"])
    assert result.column_confidence < 1 and not result.column_flows


def test_a_template_whose_literals_name_its_datasets_is_not_reused() -> None:
    from parsers import NameContext
    from parsers.sql import TemplateCache, analyze

    cache, context = TemplateCache(), NameContext.of("duckdb")
    for path in ("s3://a/x.parquet", "s3://b/y.parquet"):
        (found,) = analyze(f"select * from read_parquet('{path}')", context, cache)
        assert [f"{d.namespace}/{d.member or d.name}" for d in found.inputs] == [path]
    for schema in ("features", "staging"):
        *_, last = analyze(f"SET search_path TO '{schema}'; select * from t", NameContext.of("postgres"), cache)
        assert [d.name for d in last.inputs] == [f"{schema}.t"]


def test_quick_keys_do_not_mix_quoted_names_or_comments() -> None:
    from parsers import NameContext
    from parsers.sql import TemplateCache, analyze

    cache = TemplateCache()
    seen = [analyze(sql, NameContext.of(dialect), cache)[0].inputs[0].name for dialect, sql in (
        ("bigquery", "select * from `proj-123.ds.t`"), ("bigquery", "select * from `proj-456.ds.t`"),
        ("tsql", "select * from [2019]"), ("tsql", "select * from [2020]"),
        ("postgres", "/* don't */ select * from a where x = '1'"),
        ("postgres", "/* don't */ select * from b where x = '1'"))]
    assert len(set(seen)) == 6, seen


@pytest.mark.parametrize("sql", ["RENAME TABLE a. TO b", "EXEC sp_rename '', 'x'", "REFRESH MATERIALIZED VIEW ."])
def test_a_command_naming_no_table_is_an_issue_not_a_crash(sql: str) -> None:
    from parsers import NameContext
    from parsers.sql import analyze

    (found,) = analyze(sql, NameContext.of("tsql"))
    assert [issue.code for issue in found.issues] == ["unparseable_sql"]


@pytest.mark.parametrize(("sql", "kind", "output_kind"), [
    ("CREATE TABLE dw.ltv NOLOGGING PARALLEL 4 AS SELECT o.id, o.total FROM oe.orders o", "CREATE TABLE AS", "table"),
    ("CREATE MATERIALIZED VIEW dw.ltv BUILD IMMEDIATE REFRESH COMPLETE ON DEMAND ENABLE QUERY REWRITE\n"
     "AS SELECT o.id, o.total FROM oe.orders o", "CREATE MATERIALIZED VIEW", "view"),
    ("MERGE INTO dw.ltv t USING oe.orders o ON (t.id = o.id) WHEN MATCHED THEN UPDATE SET t.total = o.total "
     "DELETE WHERE o.status = 'X' WHEN NOT MATCHED THEN INSERT (id, total) VALUES (o.id, o.total)", "MERGE", "table"),
])
def test_oracle_clauses_sqlglot_cannot_read_are_set_aside(sql: str, kind: str, output_kind: str) -> None:
    from parsers import NameContext
    from parsers.sql import analyze

    (found,) = analyze(sql, NameContext.of("oracle"), columns=True)
    assert (found.kind, found.output_kind, found.issues) == (kind, output_kind, ())
    assert [d.name for d in found.inputs] == ["OE.ORDERS"] and [d.name for d in found.outputs] == ["DW.LTV"]
    assert {flow.target: [s.column for s in flow.sources] for flow in found.column_flows if flow.kind == "direct"} \
        == {"ID": ["ID"], "TOTAL": ["TOTAL"]}


@pytest.mark.parametrize(("dialect", "sql", "expected"), [
    ("clickhouse", "ALTER TABLE a.events ON CLUSTER main DELETE WHERE uid IN (SELECT uid FROM a.gdpr)",
     ("DELETE", ["a.gdpr"], ["a.events"], [])),
    ("clickhouse", "ALTER TABLE a.users UPDATE plan = upper(plan) IN PARTITION 202405 WHERE ends < now()",
     ("UPDATE", ["a.users"], ["a.users"], [])),
    ("clickhouse", "CREATE TABLE a.backup AS a.events ENGINE = MergeTree ORDER BY id",
     ("CREATE TABLE LIKE", [], [], [("create_like", "a.backup", "a.events")])),
    ("teradata", "CREATE TABLE bkp.c AS edw.c WITH NO DATA",
     ("CREATE TABLE LIKE", [], [], [("create_like", "bkp.c", "edw.c")])),
    ("teradata", "CREATE TABLE bkp.c AS edw.c WITH DATA", ("CREATE TABLE AS", ["edw.c"], ["bkp.c"], [])),
    ("bigquery", "CREATE SNAPSHOT TABLE bkp.o CLONE s.o FOR SYSTEM_TIME AS OF TIMESTAMP '2024-06-01' "
     "OPTIONS (expiration_timestamp = TIMESTAMP '2024-09-01')", ("CREATE TABLE CLONE", ["p.s.o"], ["p.bkp.o"], [])),
])
def test_mutations_structure_copies_and_snapshots_are_read_for_what_they_do(dialect: str, sql: str,
                                                                            expected: tuple[object, ...]) -> None:
    from parsers import NameContext
    from parsers.sql import analyze

    (found,) = analyze(sql, NameContext.of(dialect, database="p" if dialect == "bigquery" else None))
    lifecycle = [(change.event, change.dataset.name, change.other.name if change.other else None)
                 for change in found.lifecycle]
    assert (found.kind, [d.name for d in found.inputs], [d.name for d in found.outputs], lifecycle) == expected
    assert not found.issues


def test_a_cte_named_data_is_not_postgres_with_data() -> None:
    from parsers import NameContext
    from parsers.sql import analyze

    (found,) = analyze("WITH data AS (select a from s) select * from data", NameContext.of("postgres"))
    assert [d.name for d in found.inputs] == ["public.s"]


def test_create_proc_keeps_its_body_together() -> None:
    from parsers.sql.statements import split

    statements = split("CREATE PROC dbo.p AS BEGIN INSERT INTO a SELECT 1; UPDATE b SET x = 1; END; SELECT 2", "tsql")
    assert len(statements) == 2


def test_a_procedure_body_is_split_into_its_statements_not_at_their_own_words() -> None:
    """OR REPLACE and IF EXISTS belong to the statement they are in; a T-SQL IF after a
    statement without a semicolon still starts the next one."""
    from parsers.sql import routines

    def texts(body: str, dialect: str) -> list[str]:
        return [" ".join(body[start:end].split()) for start, end in routines.statements(body, dialect)]

    body = ("BEGIN CREATE OR REPLACE TEMPORARY TABLE t AS SELECT a FROM s; DROP TABLE IF EXISTS t; "
            "INSERT OR REPLACE INTO u SELECT a FROM s; END;")
    assert texts(body, "snowflake") == ["CREATE OR REPLACE TEMPORARY TABLE t AS SELECT a FROM s",
                                        "DROP TABLE IF EXISTS t", "INSERT OR REPLACE INTO u SELECT a FROM s"]
    assert texts("BEGIN UPDATE t SET a = 1 IF @x > 0 DELETE FROM u END", "tsql") == [
        "UPDATE t SET a = 1", "DELETE FROM u"]


def test_a_cursor_loops_query_is_a_statement_of_the_body() -> None:
    from parsers.sql import routines

    body = ("BEGIN FOR r IN (SELECT id, lim FROM stg.reviews WHERE ok = 1) LOOP "
            "UPDATE crm.customers SET lim = r.lim WHERE id = r.id; END LOOP; END;")
    assert [" ".join(body[start:end].split()) for start, end in routines.statements(body, "oracle")] == [
        "SELECT id, lim FROM stg.reviews WHERE ok = 1", "UPDATE crm.customers SET lim = r.lim WHERE id = r.id"]


def test_a_bigquery_block_reads_the_statement_right_after_begin() -> None:
    # BigQuery's tokenizer takes BEGIN for a command whose argument is the rest of the text.
    from parsers import NameContext
    from parsers.sql import analyze

    sql = ("BEGIN\n  CREATE TEMP TABLE fresh AS SELECT id, ts FROM app.users;\n"
           "  INSERT INTO growth.signups (id, ts) SELECT id, ts FROM fresh;\n"
           "EXCEPTION WHEN ERROR THEN\n  SELECT @@error.message;\nEND;")
    found = analyze(sql, NameContext.of("bigquery", database="p"), columns=True)
    writes = [(s.kind, [d.name for d in s.inputs], [d.name for d in s.outputs]) for s in found if s.outputs]
    assert writes == [("CREATE TABLE AS", ["p.app.users"], ["fresh"]), ("INSERT", ["fresh"], ["p.growth.signups"])]


@pytest.mark.parametrize(("dialect", "sql", "expected"), [
    # GA4's pattern: the column inside UNNEST is the outer query's (it recursed without end)
    ("bigquery", "CREATE TABLE ds.x AS SELECT event_name, (SELECT value.int_value FROM UNNEST(event_params) "
                 "WHERE key = 'sid') AS sid FROM ds.events", ("CREATE TABLE AS", ["p.ds.events"], ["p.ds.x"])),
    # sqlglot's scoping raises on two tables under one alias: columns unknown, tables kept
    ("postgres", "CREATE TABLE z AS SELECT x FROM t a JOIN u a ON a.id = a.id",
     ("CREATE TABLE AS", ["public.t", "public.u"], ["public.z"])),
    ("postgres", "SELECT a FROM t GROUP BY 99999999999999999999999", ("SELECT", ["public.t"], [])),
    ("clickhouse", "ALTER TABLE db.t DELETE IN PARTITION '2024' WHERE x IN (SELECT x FROM db.g) "
                   "SETTINGS mutations_sync = 2", ("DELETE", ["db.g"], ["db.t"])),
    ("hive", "ALTER TABLE t UPDATE STATISTICS SET ('numRows'='1')", ("ALTER", [], [])),
    ("oracle", "CREATE TABLE IF NOT EXISTS ltv NOLOGGING AS SELECT a FROM s.src",
     ("CREATE TABLE AS", ["S.SRC"], ["LTV"])),
    ("oracle", "MERGE INTO d USING s ON (d.k = s.k) WHEN MATCHED THEN UPDATE SET d.v = s.v DELETE WHERE "
               "CASE WHEN s.f = 'D' THEN 1 ELSE 0 END = 1 WHEN NOT MATCHED THEN INSERT (k, v) VALUES (s.k, s.v)",
     ("MERGE", ["S"], ["D"])),
    # the nested query reads `other`, not the target
    ("postgres", "INSERT INTO t (id, q) SELECT id, q FROM s ON CONFLICT (id) DO UPDATE "
                 "SET q = (SELECT max(z) FROM other o WHERE o.id = EXCLUDED.id)",
     ("INSERT", ["public.s", "public.other"], ["public.t"])),
])
def test_reviewed_edge_cases_keep_their_tables_and_never_raise(dialect: str, sql: str,
                                                               expected: tuple[object, ...]) -> None:
    from parsers import NameContext
    from parsers.sql import analyze

    (found,) = analyze(sql, NameContext.of(dialect, database="p" if dialect == "bigquery" else None), columns=True)
    assert (found.kind, [d.name for d in found.inputs], [d.name for d in found.outputs]) == expected


def test_a_procedures_bigquery_block_reads_its_first_statement() -> None:
    from parsers import NameContext
    from parsers.sql import analyze

    found = analyze("CREATE PROCEDURE ds.p() BEGIN CREATE TEMP TABLE tmp AS SELECT a FROM ds.src; "
                    "INSERT INTO ds.out (a) SELECT a FROM tmp; END", NameContext.of("bigquery", database="p"))
    assert [(s.kind, [d.name for d in s.inputs]) for s in found if s.outputs] == [
        ("CREATE TABLE AS", ["p.ds.src"]), ("INSERT", ["tmp"])]


def test_a_cursor_loops_record_fields_are_its_querys_columns() -> None:
    from parsers import NameContext
    from parsers.sql.report import describe

    doc = describe("DECLARE v_cut DATE := SYSDATE; BEGIN FOR r IN (SELECT cid, approved, band FROM stg.reviews "
                   "WHERE ok = 1) LOOP UPDATE crm.customers SET lim = r.approved, risk = r.band "
                   "WHERE id = r.cid; END LOOP; END;", NameContext.of("oracle"))
    direct = {(f["target"], tuple(f["sources"])) for f in doc["column_lineage"] if f["kind"] == "direct"}
    # the cursor's own query writes nothing; `approved, band FROM` is no parameter list either
    assert direct == {("CRM.CUSTOMERS.LIM", ("STG.REVIEWS.APPROVED",)), ("CRM.CUSTOMERS.RISK", ("STG.REVIEWS.BAND",))}


@pytest.mark.parametrize(("dialect", "sql"), [
    ("tsql", "DECLARE @n INT = 0;\nSET @n += 1;\nSET @n *= 2;\nINSERT INTO dbo.t SELECT @n, a FROM dbo.s"),
    ("tsql", "INSERT INTO dbo.t SELECT a FROM dbo.s\nGO\nUPDATE dbo.t SET a = 1\nGO 5\n"),
    ("athena", "INSERT INTO `db`.`t` SELECT `a` FROM `db`.`s`"),
    ("trino", "CREATE TABLE `c`.`db`.`t` AS SELECT `a` FROM `c`.`db`.`s`"),
    ("teradata", "CREATE TABLE db.t AS (SELECT a (TITLE 'A'), b (NAMED c) (NOT CASESPECIFIC) FROM db.s) WITH DATA"),
], ids=["tsql-compound-set", "tsql-go", "athena-backticks", "trino-backticks", "teradata-title-named"])
def test_statements_sqlglot_cannot_parse_as_written_are_read(dialect: str, sql: str) -> None:
    from parsers import NameContext
    from parsers.sql import analyze

    found = analyze(sql, NameContext.of(dialect), columns=True)
    assert [issue.code for statement in found for issue in statement.issues] == []
    assert any(statement.outputs for statement in found)


def test_t_sql_statements_without_semicolons_are_split_where_the_parser_needs_it() -> None:
    from parsers import NameContext
    from parsers.sql import analyze

    sql = ("USE sales\nDECLARE @n INT = 0\nINSERT INTO dbo.a (x)\nSELECT x FROM dbo.b\n"
           "UPDATE dbo.c SET x = d.x FROM dbo.c JOIN dbo.d ON c.id = d.id\nGO\nSELECT 'GO'\nGO")
    found = [s for s in analyze(sql, NameContext.of("tsql")) if s.kind != "USE"]
    assert [(s.kind, s.statement.line, s.statement.text.split()[0]) for s in found] == [
        ("INSERT", 3, "INSERT"), ("UPDATE", 5, "UPDATE"), ("SELECT", 7, "SELECT")]
    assert [ref.name for ref in found[0].outputs] == ["sales.dbo.a"]  # USE, with no semicolon, still counts
    assert sql[found[1].statement.start:].startswith("UPDATE dbo.c")  # evidence points at the log's text
    assert not [issue for statement in found for issue in statement.issues]


def test_normalised_text_keeps_the_log_s_own_text_as_evidence() -> None:
    (statement,) = split("SELECT `a` FROM `db`.`s` WHERE b = 'x'", "athena")
    assert statement.text == "SELECT `a` FROM `db`.`s` WHERE b = 'x'"
    assert statement.redacted == "SELECT `a` FROM `db`.`s` WHERE b = ?"
