"""A table swapped in by rename keeps its lineage and is not collected (issue 16, item 15)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import graph
from crawler.crawl import crawl
from crawler.registry import SourceSpec
from graph import open_store
from graph.gc import collect

SWAP = """\
CREATE TABLE mart.daily_new AS SELECT id, amount FROM raw.orders;
DROP TABLE IF EXISTS mart.daily_old;
ALTER TABLE mart.daily RENAME TO daily_old;
ALTER TABLE mart.daily_new RENAME TO daily;
"""


def test_a_table_swapped_in_by_rename_keeps_its_upstream_and_outlives_clean_up(tmp_path: Path) -> None:
    script = tmp_path / "swap.sql"
    script.write_text(SWAP, encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'lineage.db'}")
    crawl([SourceSpec(path=str(script), dialect="postgres", database="shop")], store)
    collect(store, dt.datetime.now(dt.UTC), max_fraction=1.0)  # no cap: every orphan would go
    daily = graph.resolve(store, "shop.mart.daily")
    upstream = {n.name for n in graph.lineage(store, daily.id, "upstream").nodes.values() if n.kind == "dataset"}
    assert upstream == {"shop.mart.daily", "shop.mart.daily_new", "shop.raw.orders"}
    names = {node.id: node.name for node in store.nodes("dataset")}
    feeds = {(names[e.src], names[e.dst]) for e in store.edges(["FEEDS"])}
    # Each rename moves its own table's data: the old daily goes to daily_old, not the new one.
    assert feeds == {("shop.raw.orders", "shop.mart.daily_new"), ("shop.mart.daily_new", "shop.mart.daily"),
                     ("shop.mart.daily", "shop.mart.daily_old")}
    columns = {(e.src.rsplit("/", 1)[1], e.dst.rsplit("/", 1)[1]) for e in store.edges(["DERIVES"])}
    assert ("shop.mart.daily_new#amount", "shop.mart.daily#amount") in columns


def test_renames_in_one_statement_each_move_their_own_table(tmp_path: Path) -> None:
    script = tmp_path / "swap.sql"
    script.write_text("RENAME TABLE shop.daily TO shop.daily_old, shop.daily_new TO shop.daily;\n", encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'lineage.db'}")
    crawl([SourceSpec(path=str(script), dialect="mysql")], store)
    names = {node.id: node.name for node in store.nodes("dataset")}
    feeds = {(names[e.src], names[e.dst]) for e in store.edges(["FEEDS"])}
    assert feeds == {("shop.daily_new", "shop.daily"), ("shop.daily", "shop.daily_old")}
    # ... by jobs of their own: the job that writes daily_old reads daily only.
    (writer,) = store.neighbors([graph.resolve(store, "shop.daily_old").id], incoming=["WRITES"])
    assert {names[e.src] for e in store.neighbors([writer.src], incoming=["READS"])} == {"shop.daily"}
