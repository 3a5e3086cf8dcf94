"""A crawled session sees through its temporary tables, however the SQL spells them."""

from __future__ import annotations

import pytest

import parsers
from parsers import LineageEvent, Origin, SourceRecord, catalog
from parsers.sessions import Session


def crawled(*statements: str) -> list[LineageEvent]:
    """Each statement as its own log record of one session, as a query log gives them."""
    session = Session()
    found: list[LineageEvent] = []
    for number, sql in enumerate(statements, start=1):
        record = SourceRecord(source_type="postgres_log", text=sql, origin=Origin(path="/pg.csv", line=number),
                              dialect="postgres", namespace="postgres://db:5432", database="shop", session_id="s1")
        found += session.observe(parsers.parse(session.prepare(record)))
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


def known_crawled(*statements: str) -> list[LineageEvent]:
    """As ``crawled``, with a crawl's catalog: what earlier statements named is known to exist."""
    with catalog.using(catalog.Catalog()):
        return crawled(*statements)


def _flows(found: list[LineageEvent]) -> list[tuple[list[str], list[str]]]:
    return [([r.name for r in e.inputs], [r.name for r in e.outputs]) for e in found if e.inputs or e.outputs]


def test_a_bare_name_is_the_first_schema_of_the_search_path_that_has_the_table() -> None:
    found = known_crawled("INSERT INTO raw.orders (id) VALUES (1)",
                          "SET search_path TO staging, raw, public",
                          "INSERT INTO staging.customers (id) VALUES (1)",
                          "CREATE TABLE orders_clean AS SELECT o.id FROM orders o JOIN customers c ON c.id = o.id",
                          "INSERT INTO mart.daily SELECT * FROM orders_clean")
    assert _flows(found) == [
        ([], ["shop.raw.orders"]), ([], ["shop.staging.customers"]),
        # Created in the first schema; read from the one that has it.
        (["shop.raw.orders", "shop.staging.customers"], ["shop.staging.orders_clean"]),
        (["shop.staging.orders_clean"], ["shop.mart.daily"])]
    assert all(e.confidence == 1.0 for e in found)


def test_a_bare_name_nothing_is_known_of_goes_to_the_first_schema_with_less_confidence() -> None:
    (event,) = known_crawled("SET search_path TO staging, raw", "INSERT INTO mart.daily SELECT * FROM orders")
    assert [r.name for r in event.inputs] == ["shop.staging.orders"]
    assert event.confidence < 1.0


def test_a_search_path_follows_drops_and_renames() -> None:
    found = known_crawled("SET search_path TO staging, raw",
                          "INSERT INTO raw.orders (id) VALUES (1)", "INSERT INTO staging.orders (id) VALUES (1)",
                          "INSERT INTO mart.a SELECT * FROM orders",  # staging's: first in the path
                          "DROP TABLE orders",  # PostgreSQL drops staging.orders
                          "INSERT INTO mart.b SELECT * FROM orders",  # now raw's
                          "ALTER TABLE orders RENAME TO orders_old",  # raw.orders -> raw.orders_old
                          "INSERT INTO mart.c SELECT * FROM orders_old")
    assert [(ins, outs) for ins, outs in _flows(found) if outs[0].startswith("shop.mart") or ins] == [
        (["shop.staging.orders"], ["shop.mart.a"]), (["shop.raw.orders"], ["shop.mart.b"]),
        (["shop.raw.orders"], ["shop.raw.orders_old"]), (["shop.raw.orders_old"], ["shop.mart.c"])]
    assert [c.dataset.name for e in found for c in e.lifecycle] == ["shop.staging.orders", "shop.raw.orders"]


def test_a_search_path_carries_over_to_the_next_crawl() -> None:
    session = Session()
    record = SourceRecord(source_type="postgres_log", text="SET search_path TO staging, raw",
                          origin=Origin(path="/pg.csv", line=1), dialect="postgres", database="shop")
    session.observe(parsers.parse(record))
    again = Session.from_state(session.to_state())
    assert again.prepare(record).search_path == ("staging", "raw")


def test_a_temporary_table_made_like_another_is_no_table_other_sessions_find() -> None:
    """The refresh's temporary card_accounts (created under a search path, so named in its first
    schema) must not make the review's bare card_accounts staging's: PostgreSQL's temporary
    tables are their session's alone (as in the real-server workload's staging refresh)."""
    refresh, review = Session(), Session()
    path = "SET search_path TO staging, raw, public"

    def run(session: Session, sql: str, line: int) -> list[LineageEvent]:
        record = SourceRecord(source_type="postgres_log", text=sql, origin=Origin(path="/pg.csv", line=line),
                              dialect="postgres", namespace="postgres://db:5432", database="shop",
                              session_id="refresh" if session is refresh else "review")
        return session.observe(parsers.parse(session.prepare(record)))

    with catalog.using(catalog.Catalog()):
        found = run(refresh, "CREATE TABLE raw.card_accounts (id bigint, balance numeric)", 1)
        found += run(refresh, path, 2) + run(review, path, 3)
        found += run(refresh, "CREATE TEMP TABLE card_accounts (LIKE raw.card_accounts INCLUDING DEFAULTS)", 4)
        found += run(refresh, "INSERT INTO card_accounts SELECT * FROM raw.card_accounts WHERE balance > 0", 5)
        found += run(review, "CREATE TABLE reporting.review AS SELECT * FROM card_accounts", 6)
        found += run(refresh, "CREATE TABLE activity AS SELECT * FROM card_accounts", 7)
    # In the refresh, card_accounts is its temporary table (searched before the path), seen through.
    assert _flows(found) == [([], ["shop.raw.card_accounts"]),
                             (["shop.raw.card_accounts"], ["shop.reporting.review"]),
                             (["shop.raw.card_accounts"], ["shop.staging.activity"])]
