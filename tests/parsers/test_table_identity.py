"""A table named twice in one statement is one input; two tables whose names differ only in
what makes them different (T-SQL's `#`, quotes that keep case) are two."""

from __future__ import annotations

from parsers.naming import NameContext
from parsers.sql import analyze


def _inputs(sql: str, dialect: str) -> list[str]:
    (statement,) = analyze(sql, NameContext.of(dialect, database="db"))
    return [ref.name for ref in statement.inputs]


def test_a_temporary_table_is_not_the_table_of_the_same_bare_name() -> None:
    assert _inputs("INSERT INTO dbo.out SELECT a.x FROM tmp a JOIN #tmp b ON a.id = b.id", "tsql") == [
        "db.dbo.tmp", "db.dbo.#tmp"]


def test_case_folds_before_names_are_counted_once() -> None:
    assert _inputs('INSERT INTO out SELECT 1 FROM "Orders" a JOIN orders b ON a.id = b.id JOIN ORDERS c ON true',
                   "postgres") == ["db.public.Orders", "db.public.orders"]
