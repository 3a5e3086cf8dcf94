"""A crawled session sees through its temporary tables, however the SQL spells them."""

from __future__ import annotations

import pytest

import parsers
from parsers import LineageEvent, Origin, SourceRecord
from parsers.sessions import Session


def crawled(*statements: str) -> list[LineageEvent]:
    """Each statement as its own log record of one session, as a query log gives them."""
    session = Session()
    found: list[LineageEvent] = []
    for number, sql in enumerate(statements, start=1):
        record = SourceRecord(source_type="postgres_log", text=sql, origin=Origin(path="/pg.csv", line=number),
                              dialect="postgres", namespace="postgres://db:5432", database="shop", session_id="s1")
        found += session.observe(parsers.parse(record))
    return found


@pytest.mark.parametrize("create", [
    "CREATE TEMP TABLE stage (LIKE raw.orders)",
    "CREATE LOCAL TEMPORARY TABLE stage (LIKE raw.orders)",
    "CREATE GLOBAL TEMP TABLE stage (id int, amount numeric)",
], ids=["like", "local-like", "global-declared"])
def test_a_temporary_table_made_empty_is_seen_through(create: str) -> None:
    found = crawled(create, "INSERT INTO stage SELECT * FROM raw.orders",
                    "INSERT INTO mart.daily SELECT * FROM stage", "DROP TABLE stage")
    named = {ref.name for event in found for ref in (*event.inputs, *event.outputs)}
    named |= {change.dataset.name for event in found for change in event.lifecycle}
    assert named == {"shop.raw.orders", "shop.mart.daily"}
    assert [([r.name for r in e.inputs], [r.name for r in e.outputs]) for e in found if e.outputs] == [
        (["shop.raw.orders"], ["shop.mart.daily"])]


def test_local_temporary_as_select_is_temporary() -> None:
    found = crawled("CREATE LOCAL TEMPORARY TABLE stage AS SELECT * FROM raw.orders",
                    "INSERT INTO mart.daily SELECT * FROM stage")
    assert [([r.name for r in e.inputs], [r.name for r in e.outputs]) for e in found if e.outputs] == [
        (["shop.raw.orders"], ["shop.mart.daily"])]
