"""Column-level lineage: through CTEs, subqueries and set operations, direct kept apart from
indirect, and a lower confidence where a column cannot be placed without a schema."""

from __future__ import annotations

import sqlglot

from parsers import NameContext
from parsers.sql.columns import column_flows

CONTEXT = NameContext.of("postgres", database="credit")


def flows(sql: str) -> tuple[dict[tuple[str, str], tuple[str, ...]], float]:
    found, confidence = column_flows(sqlglot.parse_one(sql, dialect="postgres"), CONTEXT)
    return {(flow.target, flow.kind): tuple(flow.source_names()) for flow in found}, confidence


def test_columns_pass_through_ctes_and_subqueries_to_the_tables() -> None:
    found, confidence = flows(
        "with r as (select customer_id, amount * 2 as doubled from raw.payments where amount > 0) "
        "insert into mart.totals (cid, total) "
        "select x.customer_id, x.t from (select customer_id, sum(doubled) as t from r group by customer_id) x")
    assert found[("cid", "direct")] == ("credit.raw.payments.customer_id",)
    assert found[("total", "direct")] == ("credit.raw.payments.amount",)
    assert found[("total", "indirect")] == ("credit.raw.payments.amount", "credit.raw.payments.customer_id")
    assert confidence == 1.0


def test_set_operations_line_columns_up_by_position() -> None:
    found, _ = flows("insert into t select id, name from a union all select key, label from b")
    assert found[("name", "direct")] == ("credit.public.a.name", "credit.public.b.label")


def test_a_column_that_cannot_be_placed_lowers_the_confidence() -> None:
    found, confidence = flows("select amount from raw.payments p join raw.accounts a on a.id = p.account_id")
    assert found[("amount", "direct")] == ("amount",)
    assert confidence < 1.0


def test_statements_without_a_query_have_no_column_lineage() -> None:
    assert flows("delete from t where id = 1") == ({}, 1.0)
