"""Column-level lineage: through CTEs, subqueries and set operations, direct kept apart from
indirect, and a lower confidence where a column cannot be placed without a schema."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import sqlglot

from parsers import NameContext
from parsers.catalog import Catalog
from parsers.sql import columns
from parsers.sql.columns import column_flows
from parsers.sql.lineage import TemplateCache, analyze

DEMO_ELT = Path(__file__).resolve().parents[2] / "fixtures" / "demo" / "elt" / "nightly_credit_elt.sql"

CONTEXT = NameContext.of("postgres", database="credit")


def flows(sql: str, context: NameContext = CONTEXT) -> tuple[dict[tuple[str, str], tuple[str, ...]], float]:
    found = column_flows(sqlglot.parse_one(sql, dialect="postgres"), context)
    return {(flow.target, flow.kind): tuple(flow.source_names()) for flow in found.flows}, found.confidence


def with_catalog(mapping: dict[str, dict[str, str]]) -> NameContext:
    context = NameContext.of("postgres", database="credit")
    return dataclasses.replace(context, catalog=Catalog.from_mapping(mapping, context))


def test_columns_pass_through_ctes_and_subqueries_to_the_tables() -> None:
    found, confidence = flows(
        "with r as (select customer_id, amount * 2 as doubled from raw.payments where amount > 0) "
        "insert into mart.totals (cid, total) "
        "select x.customer_id, x.t from (select customer_id, sum(doubled) as t from r group by customer_id) x")
    assert found[("cid", "direct")] == ("credit.raw.payments.customer_id",)
    assert found[("total", "direct")] == ("credit.raw.payments.amount",)
    assert found[("total", "indirect")] == ("credit.raw.payments.amount", "credit.raw.payments.customer_id")
    assert confidence == 1.0


def test_a_bare_column_comes_from_what_its_query_reads_not_every_cte_in_sight() -> None:
    # Every earlier CTE is visible in a later one and in a nested WITH, but `positive` reads only
    # `balances`: its bare columns, and those of a SELECT * over it, are that CTE's.
    found, confidence = flows(
        "with paid as (select order_id, sum(amount) as paid from raw.payments group by order_id), "
        "balances as (select o.customer_id, o.total - p.paid as balance "
        "             from raw.orders o join paid p using (order_id)), "
        "owed as (with positive as (select * from balances where balance > 0) "
        "         select customer_id, sum(balance) as outstanding from positive group by customer_id) "
        "insert into mart.owed (customer_id, outstanding) select customer_id, outstanding from owed")
    assert found[("customer_id", "direct")] == ("credit.raw.orders.customer_id",)
    assert found[("outstanding", "direct")] == ("credit.raw.orders.total", "credit.raw.payments.amount")
    assert confidence == 1.0


@pytest.mark.parametrize("group", ["group by day having total > 0", "group by 1 having sum(p.amount) > 0",
                                   "group by all having sum(p.amount) > 0"])
def test_grouping_by_an_alias_a_position_or_all_decides_the_rows_by_what_it_names(group: str) -> None:
    # Without the tables' columns sqlglot cannot tell the alias `day` from a column `day`: the
    # alias is meant. The whole statement's columns stay placed.
    found, confidence = flows("select date_trunc('day', p.paid_at) as day, sum(p.amount) as total "
                              f"from raw.payments p join raw.accounts a on a.id = p.account_id {group}")
    assert found[("total", "indirect")] == ("credit.raw.accounts.id", "credit.raw.payments.account_id",
                                            "credit.raw.payments.amount", "credit.raw.payments.paid_at")
    assert found[("day", "direct")] == ("credit.raw.payments.paid_at",)
    assert confidence == 1.0


def test_what_chooses_a_value_decides_it_named_windows_decode_and_multiif() -> None:
    found, _ = flows("select rank() over w as r, decode(status, 0, 'new', 'old') as label from raw.orders "
                     "window w as (partition by region order by amount desc)")
    assert found[("r", "indirect")] == ("credit.raw.orders.amount", "credit.raw.orders.region")
    assert found[("label", "indirect")] == ("credit.raw.orders.status",)
    assert ("label", "direct") not in found  # its values are the literals
    clickhouse = NameContext.of("clickhouse", database="analytics")
    tree = sqlglot.parse_one("select multiIf(ltv >= 1000, 'whale', tier) as tier from users", dialect="clickhouse")
    multi = {(f.target, f.kind): tuple(f.source_names()) for f in column_flows(tree, clickhouse).flows}
    assert multi == {("tier", "direct"): ("analytics.users.tier",), ("tier", "indirect"): ("analytics.users.ltv",)}


def test_union_by_name_lines_columns_up_by_name() -> None:
    duckdb = NameContext.of("duckdb")
    tree = sqlglot.parse_one("select id, email from app_users union all by name select email, id, source from old",
                             dialect="duckdb")
    found = {f.target: tuple(f.source_names()) for f in column_flows(tree, duckdb).flows}
    assert found == {"id": ("main.app_users.id", "main.old.id"), "email": ("main.app_users.email", "main.old.email"),
                     "source": ("main.old.source",)}


def test_set_operations_line_columns_up_by_position() -> None:
    found, _ = flows("insert into t select id, name from a union all select key, label from b")
    assert found[("name", "direct")] == ("credit.public.a.name", "credit.public.b.label")


def test_a_column_that_cannot_be_placed_lowers_the_confidence() -> None:
    found, confidence = flows("select amount from raw.payments p join raw.accounts a on a.id = p.account_id")
    assert found[("amount", "direct")] == ("amount",)
    assert confidence < 1.0


def test_statements_without_a_query_have_no_column_lineage() -> None:
    assert flows("delete from t where id = 1") == ({}, 1.0)


def test_a_catalog_expands_stars_and_maps_an_insert_by_position() -> None:
    context = with_catalog({"raw.payments": {"id": "int", "amount": "numeric"},
                            "mart.payments": {"payment_id": "int", "value": "numeric"}})
    found, confidence = flows("insert into mart.payments select * from raw.payments", context)
    assert found[("payment_id", "direct")] == ("credit.raw.payments.id",)
    assert found[("value", "direct")] == ("credit.raw.payments.amount",)
    assert confidence == 1.0


def test_an_insert_into_partitions_maps_static_ones_from_the_clause_and_dynamic_ones_last() -> None:
    hive = NameContext.of("hive")
    hive = dataclasses.replace(hive, catalog=Catalog.from_mapping(
        {"dw.fact": {"id": "bigint", "country": "string", "amount": "decimal", "dt": "string"}}, hive))
    tree = sqlglot.parse_one("insert overwrite table dw.fact partition (country = 'DE', dt) "
                             "select o.id, o.amount, to_date(o.created_at) from ods.orders o", dialect="hive")
    found = {f.target: tuple(f.source_names()) for f in column_flows(tree, hive).flows if f.kind == "direct"}
    assert found == {"id": ("ods.orders.id",), "amount": ("ods.orders.amount",), "dt": ("ods.orders.created_at",)}


def test_a_mysql_partition_clause_names_partitions_not_columns() -> None:
    mysql = NameContext.of("mysql", database="w")
    mysql = dataclasses.replace(mysql, catalog=Catalog.from_mapping({"w.t": {"a": "int", "b": "int"}}, mysql))
    found = column_flows(sqlglot.parse_one("insert into t partition (p0) select x, y from s", dialect="mysql"), mysql)
    assert found.outputs == ("a", "b")
    assert {f.target: tuple(f.source_names()) for f in found.flows} == {"a": ("w.s.x",), "b": ("w.s.y",)}


def test_merge_update_set_star_and_insert_star_take_every_target_column_from_the_source() -> None:
    spark = NameContext.of("spark")
    spark = dataclasses.replace(spark, catalog=Catalog.from_mapping({"silver.stock": {"sku": "string", "qty": "int"}},
                                                                    spark))
    tree = sqlglot.parse_one("merge into silver.stock t using bronze.snapshots s on t.sku = s.sku "
                             "when matched then update set * when not matched then insert *", dialect="spark")
    found = {f.target: tuple(f.source_names()) for f in column_flows(tree, spark).flows if f.kind == "direct"}
    assert found == {"sku": ("bronze.snapshots.sku",), "qty": ("bronze.snapshots.qty",)}


def test_a_catalog_places_unqualified_columns_over_a_join() -> None:
    context = with_catalog({"raw.payments": {"id": "int", "amount": "numeric", "account_id": "int"},
                            "raw.accounts": {"id": "int", "owner": "text"}})
    found, confidence = flows("select amount, owner from raw.payments p join raw.accounts a on a.id = p.account_id",
                              context)
    assert found[("amount", "direct")] == ("credit.raw.payments.amount",)
    assert found[("owner", "direct")] == ("credit.raw.accounts.owner",)
    assert confidence == 1.0


def test_update_sets_columns_from_its_expressions_and_the_tables_it_reads() -> None:
    found, _ = flows("update mart.accounts a set balance = a.balance + p.amount, touched = now() "
                     "from raw.payments p where p.account_id = a.id")
    assert found[("balance", "direct")] == ("credit.mart.accounts.balance", "credit.raw.payments.amount")
    assert ("touched", "direct") not in found
    assert found[("balance", "indirect")] == ("credit.mart.accounts.id", "credit.raw.payments.account_id")


def test_merge_gives_every_branch_its_columns() -> None:
    found, _ = flows("merge into mart.accounts t using raw.updates u on t.id = u.id "
                     "when matched and u.deleted then delete "
                     "when matched then update set balance = u.balance "
                     "when not matched then insert (id, balance) values (u.id, u.balance * 1.1)")
    assert found[("balance", "direct")] == ("credit.raw.updates.balance",)
    assert found[("id", "direct")] == ("credit.raw.updates.id",)
    assert found[("id", "indirect")] == (
        "credit.mart.accounts.id", "credit.raw.updates.deleted", "credit.raw.updates.id")


@pytest.mark.parametrize("sql", [
    "SELECT * FROM sales.orders ORDER BY 1",  # sqlglot's optimizer asserts on it without a schema
    "SELECT " + "(" * 30 + "a" + ")" * 30 + " FROM t",
    "INSERT INTO t SELECT " + " + ".join(f"c{n}" for n in range(3000)) + " FROM s",
])
def test_odd_statements_keep_their_tables_whatever_their_columns_do(sql: str) -> None:
    from parsers.sql import analyze

    (found,) = analyze(sql, CONTEXT, columns=True)
    assert found.inputs, found.issues


def test_a_statement_nested_too_deep_to_parse_is_an_issue_not_a_crash() -> None:
    from parsers.sql import analyze

    (found,) = analyze("SELECT " + "(" * 2000 + "a" + ")" * 2000 + " FROM t", CONTEXT, columns=True)
    assert [issue.code for issue in found.issues] == ["unparseable_sql"]


@pytest.mark.parametrize(("dialect", "sql", "reads_target"), [
    ("mysql", "insert into stock (sku, qty) select d.sku, sum(d.n) from deltas d group by d.sku "
              "on duplicate key update qty = stock.qty + values(qty)", True),
    ("postgres", "insert into stock as s (sku, qty) select sku, n from deltas "
                 "on conflict (sku) do update set qty = s.qty + excluded.qty", True),
    ("postgres", "insert into stock (sku, qty) select sku, n from deltas "
                 "on conflict (sku) do update set qty = excluded.qty", False),
])
def test_an_upsert_that_adds_to_the_stored_value_reads_its_target(dialect: str, sql: str, reads_target: bool) -> None:
    from parsers.sql import analyze

    (found,) = analyze(sql, NameContext.of(dialect, database="w"), columns=True)
    stock = "w.stock" if dialect == "mysql" else "w.public.stock"
    assert (stock in [ref.name for ref in found.inputs]) is reads_target
    (qty,) = [flow for flow in found.column_flows if flow.target == "qty" and flow.kind == "direct"]
    assert (f"{stock}.qty" in qty.source_names()) is reads_target


def test_array_join_aliases_are_elements_of_their_arrays() -> None:
    tree = sqlglot.parse_one("select o.id, sku, qty from shop.orders as o array join o.skus as sku, o.qtys as qty",
                             dialect="clickhouse")
    found = {f.target: tuple(f.source_names()) for f in column_flows(tree, NameContext.of("clickhouse")).flows}
    assert found == {"id": ("shop.orders.id",), "sku": ("shop.orders.skus",), "qty": ("shop.orders.qtys",)}


def test_a_row_assignment_takes_each_column_from_its_place_in_the_subquery() -> None:
    found, _ = flows("update mart.cd c set (limit_usd, band) = (select r.approved, r.band from raw.reviews r "
                     "where r.cid = c.id) where c.active")
    assert found[("limit_usd", "direct")] == ("credit.raw.reviews.approved",)
    assert found[("band", "direct")] == ("credit.raw.reviews.band",)
    assert found[("band", "indirect")] == ("credit.mart.cd.active", "credit.mart.cd.id", "credit.raw.reviews.cid")


def test_a_multitable_insert_puts_each_column_in_its_own_table() -> None:
    from parsers.model import Origin, SourceRecord
    from parsers.sql.events import parse_sql_record

    sql = ("INSERT FIRST WHEN t.amount > 1000 THEN INTO dwh.large (id, amount) VALUES (txn_id, amount) "
           "ELSE INTO dwh.small (id) VALUES (txn_id) "
           "SELECT t.txn_id, t.amount FROM stg.txns t")
    record = SourceRecord(source_type="sql_file", text=sql, origin=Origin(path="/etl.sql", line=1), dialect="oracle")
    (event,) = parse_sql_record(record).events
    edges = {(e.target.dataset.name, e.target.column, e.kind, e.source.column) for e in event.column_edges}
    assert edges == {("DWH.LARGE", "ID", "direct", "TXN_ID"), ("DWH.LARGE", "AMOUNT", "direct", "AMOUNT"),
                     ("DWH.LARGE", "ID", "indirect", "AMOUNT"), ("DWH.LARGE", "AMOUNT", "indirect", "AMOUNT"),
                     ("DWH.SMALL", "ID", "direct", "TXN_ID"), ("DWH.SMALL", "ID", "indirect", "AMOUNT")}
    hive = SourceRecord(source_type="sql_file", origin=Origin(path="/etl.hql", line=1), dialect="hive", text=(
        "FROM ods.e e INSERT OVERWRITE TABLE dw.clicks SELECT e.id, e.url WHERE e.kind = 'click' "
        "INSERT INTO TABLE dw.kinds SELECT e.kind, count(*) GROUP BY e.kind"))
    (event,) = parse_sql_record(hive).events
    direct = {(e.target.dataset.name, e.source.column) for e in event.column_edges if e.kind == "direct"}
    assert direct == {("dw.clicks", "id"), ("dw.clicks", "url"), ("dw.kinds", "kind")}


@pytest.mark.parametrize(("dialect", "sql", "expected"), [
    ("bigquery", "select event_date, ep.value.string_value as loc from d.events, unnest(event_params) as ep "
                 "where ep.key = 'page'",
     {"event_date": ("p.d.events.event_date",), "loc": ("p.d.events.event_params",)}),
    ("trino", "select o.id, t.sku from h.orders o cross join unnest(o.items) as t(sku, qty)",
     {"id": ("p.h.orders.id",), "sku": ("p.h.orders.items",)}),
])
def test_an_unnest_that_names_its_columns_holds_no_other(dialect: str, sql: str,
                                                         expected: dict[str, tuple[str, ...]]) -> None:
    found = column_flows(sqlglot.parse_one(sql, dialect=dialect), NameContext.of(dialect, database="p"))
    assert {f.target: tuple(f.source_names()) for f in found.flows if f.kind == "direct"} == expected
    assert found.confidence == 1.0


def test_oracle_pseudo_columns_are_no_tables_columns() -> None:
    tree = sqlglot.parse_one("select level as depth, rownum as n, employee_id from hr.employees "
                             "start with manager_id is null connect by prior employee_id = manager_id",
                             dialect="oracle")
    found = {f.target: tuple(f.source_names()) for f in column_flows(tree, NameContext.of("oracle")).flows
             if f.kind == "direct"}
    assert found == {"EMPLOYEE_ID": ("HR.EMPLOYEES.EMPLOYEE_ID",)}


def test_a_table_functions_columns_come_from_its_arguments() -> None:
    found, _ = flows("select o.id, e.key, e.value from raw.orders o, jsonb_each(o.doc) as e, generate_series(1, 3) g")
    assert found[("key", "direct")] == found[("value", "direct")] == ("credit.raw.orders.doc",)
    found, _ = flows("select * from read_csv('s3://b/x.csv')")
    assert found == {}  # not a table named `read_csv`


def test_union_by_name_lines_columns_up_by_name_under_an_insert_and_in_a_cte() -> None:
    duckdb = NameContext.of("duckdb")
    for sql, expected in [
        ("insert into x (p, q) select a, b from t union all by name select b, a from u",
         {"p": ("main.t.a", "main.u.a"), "q": ("main.t.b", "main.u.b")}),
        ("with v as (select a, b from t union all by name select b, a from s) select a from v",
         {"a": ("main.s.a", "main.t.a")}),
    ]:
        found = column_flows(sqlglot.parse_one(sql, dialect="duckdb"), duckdb)
        assert {f.target: tuple(f.source_names()) for f in found.flows if f.kind == "direct"} == expected


def test_a_row_assignment_of_many_columns_is_linear() -> None:
    import time

    names = ", ".join(f"a{i}" for i in range(300))
    values = ", ".join(f"coalesce(x{i}, y{i}) + z{i}" for i in range(300))
    started = time.process_time()
    found, _ = flows(f"update t set ({names}) = (select {values} from s join u on s.k = u.k where s.id = t.id)")
    assert len([key for key in found if key[1] == "direct"]) == 300
    assert time.process_time() - started < 10.0, "(about 1 s; a copy of the whole query per column took 17 s)"


def test_a_column_inside_unnest_in_a_scalar_subquery_is_the_outer_querys() -> None:
    # GA4's pattern; the resolver went round between the UNNEST and the query around it
    tree = sqlglot.parse_one("select event_name, (select value.int_value from unnest(event_params) "
                             "where key = 'sid') as sid from ds.events", dialect="bigquery")
    found = column_flows(tree, NameContext.of("bigquery", database="p"))
    assert {f.target: tuple(f.source_names()) for f in found.flows if f.kind == "direct"}["event_name"] == (
        "p.ds.events.event_name",)
    assert found.confidence == 1.0


def test_a_script_fills_the_tables_it_creates_by_position_temporary_ones_too() -> None:
    from parsers.sql.report import describe

    doc = describe("CREATE TABLE t (a int, b int); INSERT INTO t SELECT x, y FROM s; "
                   "CREATE TEMP TABLE tt (c int, d int); INSERT INTO tt SELECT x, y FROM s; "
                   "INSERT INTO u SELECT c, d FROM tt", NameContext.of("postgres"))
    direct = {(f["target"], tuple(f["sources"])) for f in doc["column_lineage"] if f["kind"] == "direct"}
    assert direct == {("public.t.a", ("public.s.x",)), ("public.t.b", ("public.s.y",)),
                      ("public.u.c", ("public.s.x",)), ("public.u.d", ("public.s.y",))}


def test_a_crawls_catalog_does_not_learn_a_sessions_temporary_tables() -> None:
    from parsers.catalog import Catalog
    from parsers.sql import analyze

    context = dataclasses.replace(NameContext.of("postgres"), catalog=Catalog())
    analyze("CREATE TEMP TABLE tt (c int, d int)", context)
    analyze("CREATE TABLE t (a int)", context)
    assert context.catalog is not None and len(context.catalog) == 1  # t only: sessions may share tt's name


def _unknown_columns(sql: str, context: NameContext) -> list[tuple[int, str, str]]:
    found = analyze(sql, context, TemplateCache(), columns=True)
    return [(lineage.statement.line, issue.severity, issue.message)
            for lineage in found for issue in lineage.issues if issue.code == "unknown_column"]


def test_a_column_the_learned_schema_lacks_is_a_warning_and_the_edge_is_kept() -> None:
    context = with_catalog({})
    script = ("CREATE TABLE t (a int, b int);\nCREATE TABLE u (x int, y int);\n"
              "INSERT INTO u (x, y) SELECT t.a, t.zz FROM t;\n"
              "INSERT INTO u (x, nope) SELECT a, B FROM t;\n"
              "INSERT INTO u (x, y) SELECT a, b FROM t;\n"
              "INSERT INTO unknown_table (x) SELECT whatever FROM elsewhere;\n")
    assert _unknown_columns(script, context) == [
        (3, "warning", "column lineage names credit.public.t.zz, but credit.public.t is known to have only a, b"),
        (4, "warning", "column lineage names credit.public.u.nope, but credit.public.u is known to have only x, y"),
    ]
    (kept,) = [f for f in analyze(script, with_catalog({}), TemplateCache(), columns=True)[2].column_flows
               if f.target == "y"]
    assert kept.source_names() == ["credit.public.t.zz"]


@pytest.mark.parametrize("given", [{}, {
    "raw.customers": {c: "t" for c in ("customer_id", "full_name", "date_of_birth", "postcode",
                                       "annual_income", "updated_at")},
    "features.customer_features": {c: "t" for c in ("customer_id", "age_years", "annual_income", "inquiries_90d",
                                                    "late_payments_30d", "bureau_score", "utilization")},
}], ids=["learned-only", "warehouse-schema"])
def test_the_demo_elt_script_names_only_columns_its_tables_have(given: dict[str, dict[str, str]]) -> None:
    """The demo's ELT runs on PostgreSQL 16 (checked against a real server when it changed): no
    select-list alias used inside its own select, so every column it reads is placed in a table
    and none is one its table lacks."""
    context = with_catalog(given)
    sql = DEMO_ELT.read_text(encoding="utf-8")
    assert _unknown_columns(sql, context) == []
    context = with_catalog(given)
    unplaced = {(lineage.statement.line, ref.column) for lineage in analyze(sql, context, TemplateCache(), columns=True)
                for flow in lineage.column_flows for ref in flow.sources if not ref.dataset.name}
    assert unplaced == set()


@pytest.mark.parametrize("sql", [
    # an INSERT's query, a part of the statement's tree; tables the catalog knows (renamed in the copy
    # that is qualified) and one it does not
    "insert into mart.totals (cid, total) select p.customer_id, sum(p.amount) from raw.payments p "
    "join raw.customers c on c.id = p.customer_id join raw.unknown u on u.id = c.id group by 1",
    # WITH ... INSERT (the CTEs joined to the query) over a table of unknown columns, grouped by a
    # SELECT alias: the first qualify fails part way through its copy, and a second one is made
    "with r as (select * from raw.unknown) insert into mart.totals select customer_id, amount as day from r "
    "group by day having sum(amount) > 0",
])
def test_column_lineage_leaves_the_statements_tree_as_parsed(sql: str) -> None:
    # The template cache keeps what a statement's tree gave; table lineage reads the tree's tables
    # after column lineage: qualifying works on copies, and the parser's token positions stay.
    context = with_catalog({"credit.raw.payments": {"customer_id": "int", "amount": "numeric"},
                            "credit.raw.customers": {"id": "int"}})
    tree = sqlglot.parse_one(sql, dialect="postgres")
    before = tree.copy()
    positions = [(node.meta_get("line"), node.meta_get("col"), node.meta_get("start")) for node in tree.walk()]
    found = column_flows(tree, context)
    assert found.flows and found.confidence > 0
    assert tree == before and tree.sql() == before.sql()
    assert [(node.meta_get("line"), node.meta_get("col"), node.meta_get("start")) for node in tree.walk()] == positions
    assert any(start is not None for _, _, start in positions)
    assert not any(node.meta_get("dataset") or node.meta_get("file") for node in tree.walk())


@pytest.mark.parametrize(("sql", "reparsed", "queries"), [
    ("insert into mart.totals (cid, total) select p.customer_id, sum(p.amount) from raw.payments p "
     "join raw.customers c on c.id = p.customer_id join raw.unknown u on u.id = c.id group by 1", 0, 1),
    # the first qualify fails part way through the tree: the second works on a new parse
    ("insert into mart.totals select customer_id, amount as day from raw.unknown group by day "
     "having sum(amount) > 0", 1, 2),
    # the query is made for column lineage (the CTEs joined to it): a retry makes it again, unparsed
    ("with r as (select * from raw.unknown) insert into mart.totals select customer_id, amount as day from r "
     "group by day having sum(amount) > 0", 0, 2),
])
def test_column_lineage_of_a_tree_handed_over_is_that_of_a_kept_one(sql: str, reparsed: int, queries: int,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # analyze hands the statement's tree over once its tables are named: qualify works on the tree
    # itself, and only a retry costs a parse
    context = with_catalog({"credit.raw.payments": {"customer_id": "int", "amount": "numeric"},
                            "credit.raw.customers": {"id": "int"}})
    kept = column_flows(sqlglot.parse_one(sql, dialect="postgres"), context)
    parses, made = [], []
    query_of = columns._query_and_targets
    monkeypatch.setattr(columns, "_query_and_targets", lambda tree, given: made.append(tree) or query_of(tree, given))

    def reparse() -> sqlglot.exp.Expr:
        parses.append(sql)
        return sqlglot.parse_one(sql, dialect="postgres")

    handed = column_flows(sqlglot.parse_one(sql, dialect="postgres"), context, reparse=reparse)
    assert handed == kept and kept.flows
    assert len(parses) == reparsed
    assert len(made) == queries  # the statement's query taken once, and once more for each retry


@pytest.mark.parametrize(("sql", "plain"), [
    ("with r as (select customer_id, amount from raw.payments where amount > 0) "
     "select c.id, (select max(r.amount) from r where r.customer_id = c.id) as top, payments.* "
     "from raw.customers c join raw.payments on payments.customer_id = c.id", True),
    ("select x.total from (select customer_id, sum(amount) as total from raw.payments group by 1) x", True),
    ("select raw.payments.amount from raw.payments", False),  # a column named with its table's schema
    ("select total from (select sum(amount) as total from raw.payments)", False),  # a subquery without alias
    ("select p.amount, g from raw.payments p, generate_series(1, p.amount) g", False),  # a table function
    ("select p.amount, t from raw.payments p, unnest(array[p.customer_id]) as u(t)", False),
    ("select v.a, p.amount from raw.payments p, (values (1), (2)) as v(a)", False),
    ("select * from raw.customers join raw.payments on payments.customer_id = customers.id "
     "join raw.customers using (id)", False),  # a table read twice under one name
])
def test_qualifying_columns_alone_gives_the_lineage_qualify_gives(sql: str, plain: bool,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # A query that reads tables by name and subqueries by alias skips qualify's naming of tables,
    # which would only alias each table by its name; any other shape goes through all of qualify.
    context = with_catalog({"credit.raw.payments": {"customer_id": "int", "amount": "numeric"},
                            "credit.raw.customers": {"id": "int"}})
    assert columns._with_catalog(sqlglot.parse_one(sql, dialect="postgres"), context)[1] is plain
    found = column_flows(sqlglot.parse_one(sql, dialect="postgres"), context)
    with_catalog_of = columns._with_catalog
    monkeypatch.setattr(columns, "_with_catalog", lambda query, given: (with_catalog_of(query, given)[0], False))
    assert column_flows(sqlglot.parse_one(sql, dialect="postgres"), context) == found
    assert found.flows


def test_analyze_names_the_tables_before_column_lineage_renames_them() -> None:
    # Column lineage renames the tables of the statement's tree to their datasets' full names,
    # padded to three parts, in the tree itself: the statement's tables are named first.
    context = NameContext.of("postgres")
    context = dataclasses.replace(context, catalog=Catalog.from_mapping(
        {"raw.payments": {"customer_id": "int", "amount": "numeric"}, "raw.customers": {"id": "int", "region": "text"}},
        context))
    sql = ("insert into mart.totals (region, total) select c.region, sum(p.amount) from raw.payments p "
           "join raw.customers c on c.id = p.customer_id where p.amount > 0 group by c.region")
    found = analyze(sql, context, TemplateCache(), columns=True)[0]
    assert [ref.name for ref in found.inputs] == ["raw.payments", "raw.customers"]
    assert [ref.name for ref in found.outputs] == ["mart.totals"]
    assert {(flow.target, tuple(flow.source_names())) for flow in found.column_flows if flow.kind == "direct"} == {
        ("region", ("raw.customers.region",)), ("total", ("raw.payments.amount",))}
    assert found.statement.redacted.startswith("insert into mart.totals (region, total) select c.region")
