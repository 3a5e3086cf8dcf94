"""The catalog: which entry a table name finds when the two are qualified to different depths."""

from __future__ import annotations

from parsers.catalog import Catalog, dataset
from parsers.naming import NameContext

POSTGRES = NameContext.of("postgres")


def test_a_less_qualified_name_finds_the_one_entry_it_is_a_tail_of() -> None:
    catalog = Catalog.from_mapping({"shop.raw.orders": ["id", "amount"]}, POSTGRES)
    assert catalog.columns(dataset("raw.orders", POSTGRES)) == ("id", "amount")
    assert catalog.columns(dataset("staging.orders", POSTGRES)) is None, "another schema's table"
    assert catalog.columns(dataset("hop.raw.orders", POSTGRES)) is None, "a tail is whole dotted parts"


def test_a_name_that_fits_two_entries_finds_neither() -> None:
    catalog = Catalog.from_mapping({"shop.raw.orders": ["id"], "archive.raw.orders": ["id", "old"]}, POSTGRES)
    assert catalog.columns(dataset("raw.orders", POSTGRES)) is None
    assert catalog.columns(dataset("shop.raw.orders", POSTGRES)) == ("id",)


def test_a_more_qualified_name_finds_the_most_qualified_entry_that_is_its_tail() -> None:
    catalog = Catalog.from_mapping({"raw.orders": ["id", "amount"]}, POSTGRES)
    assert catalog.columns(dataset("shop.raw.orders", POSTGRES)) == ("id", "amount")
    assert catalog.columns(dataset("shop.staging.orders", POSTGRES)) is None
    mysql = NameContext.of("mysql")  # no default database: a bare name stays bare
    catalog = Catalog.from_mapping({"orders": ["x"], "shop.orders": ["id"]}, mysql)
    assert catalog.columns(dataset("shop.orders", mysql)) == ("id",)
    assert catalog.columns(dataset("archive.orders", mysql)) == ("x",)


def test_a_dropped_entry_is_found_by_no_tail_and_a_session_copy_keeps_its_own() -> None:
    catalog = Catalog.from_mapping({"shop.raw.orders": ["id"]}, POSTGRES)
    session = catalog.for_session()
    catalog.drop(dataset("shop.raw.orders", POSTGRES))
    assert catalog.columns(dataset("raw.orders", POSTGRES)) is None
    assert session.columns(dataset("raw.orders", POSTGRES)) == ("id",)
    session.add(dataset("shop.staging.orders", POSTGRES), ["id"], given=True)
    assert session.columns(dataset("orders", POSTGRES)) is None, "now two entries fit"


def test_a_table_learned_in_a_crawl_is_found_by_its_full_name_only() -> None:
    mysql = NameContext.of("mysql")
    catalog = Catalog()
    catalog.add(dataset("orders", mysql), ["id", "card_number"])  # CREATE TABLE orders, no database known
    catalog.add(dataset("shop.customers", mysql), ["id"])
    assert catalog.columns(dataset("orders", mysql)) == ("id", "card_number")
    assert catalog.columns(dataset("sales.orders", mysql)) is None, "another database's orders"
    assert catalog.columns(dataset("customers", mysql)) is None
