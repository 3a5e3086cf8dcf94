"""The impact grid answers its first blocks (nearest first, no filter) before the whole impact is
worked out, with exactly the rows the whole impact has there; everything else waits for it."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import graph
from dashboard import grid, impact
from graph import Store, open_store, resolve
from graph.batch import Batch

NAMESPACE = "postgres://layers:5432"
ROOT = f"dataset:{NAMESPACE}/layers.root"
FAN = 400  # jobs reading the root, each writing a table read by a job writing another: 1,600 rows
ROWS = 4 * FAN + 2  # and the two jobs that write back
BY_DISTANCE = [{"colId": "distance", "sort": "asc"}]


@pytest.fixture(scope="module")
def layers_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A generated store: the root, then ``FAN`` tables at distance 1 and ``FAN`` at distance 2,
    with the jobs between (names that sort apart from the order they were written in)."""
    when = "2026-11-25T00:00:00.000Z"
    batch = Batch()
    batch.node(ROOT, "dataset", "layers.root", when, namespace=NAMESPACE)
    for i in range(FAN):
        source = ROOT
        for level in (1, 2):
            name = f"layers.l{level}_{(i * 7919) % FAN:04d}"
            job, table = f"job:{NAMESPACE}/{name}.load", f"dataset:{NAMESPACE}/{name}"
            batch.node(job, "job", f"{name}.load", when, namespace=NAMESPACE, label=f"INSERT {name}")
            batch.node(table, "dataset", name, when, namespace=NAMESPACE, props={"kind": "table"})
            batch.edge(source, "READS", job, when)
            batch.edge(job, "WRITES", table, when)
            source = table
    # Tables that a job farther downstream writes again: before the last use of the nearer
    # ones (the first rows tell their last use from the nearer jobs), and after (only the whole
    # walk tells it).
    for i, when_again in ((0, "2026-01-01T00:00:00.000Z"), (1, "2026-12-01T00:00:00.000Z")):
        back = f"job:{NAMESPACE}/layers.back{i}"
        batch.node(back, "job", f"layers.back{i}", when_again, namespace=NAMESPACE, label=f"MERGE back{i}")
        batch.edge(f"dataset:{NAMESPACE}/layers.l2_{i:04d}", "READS", back, when_again)
        batch.edge(back, "WRITES", f"dataset:{NAMESPACE}/layers.l1_{i:04d}", when_again)
    url = f"sqlite:///{tmp_path_factory.mktemp('layers') / 'lineage.db'}"
    store = open_store(url)
    store.apply(batch)
    store.close()
    return url


@pytest.fixture(autouse=True)
def _nothing_worked_out() -> None:
    """Impacts are kept by the store object's id: a store opened by one test may take the id of
    the one closed by the test before, and find its impact."""
    impact._TABLES.clear()


@pytest.fixture
def layers(layers_url: str) -> Iterator[Store]:
    store = open_store(layers_url, read_only=True)
    yield store
    impact.settle()
    store.close()


def _ids(answer: dict[str, Any]) -> list[str]:
    return [row["id"] for row in answer["rowData"]]


def test_the_first_block_is_the_first_rows_of_the_whole_impact(layers: Store) -> None:
    assert impact._current(layers, ROOT) is None, "nothing worked out yet for this store"
    first = impact.impact_block(layers, ROOT, {"startRow": 0, "endRow": 100, "sortModel": BY_DISTANCE,
                                               "filterModel": {}})
    second = impact.impact_block(layers, ROOT, {"startRow": 100, "endRow": 200, "sortModel": []})
    assert impact._current(layers, ROOT) is not None, "the whole impact is on its way meanwhile"
    table = impact.impact_table(layers, ROOT)
    assert table is not None and len(table.rows) == ROWS
    assert first["rowCount"] == second["rowCount"] == len(table.rows)
    assert _ids(first) + _ids(second) == [row["id"] for row in table.rows[:200]]
    assert first["rowData"] == list(table.rows[:100]), "the same rows, cell for cell"
    assert {row["distance"] for row in table.rows[:2 * FAN]} == {1}
    whole = grid.block(table.rows, {"startRow": 0, "endRow": 100, "sortModel": BY_DISTANCE}, impact.SORT_KEYS)
    assert impact.impact_block(layers, ROOT, {"startRow": 0, "endRow": 100, "sortModel": BY_DISTANCE}) == whole
    assert impact.impact_summary(layers, ROOT) == f"{2 * FAN} tables, {2 * FAN + 2} jobs, 0 owners to notify."


def test_blocks_asked_together_while_the_impact_is_worked_out_agree_with_it(layers_url: str) -> None:
    requests = [{"startRow": 0, "endRow": 100, "sortModel": BY_DISTANCE},
                {"startRow": 900, "endRow": 1000, "sortModel": BY_DISTANCE},
                {"startRow": 1500, "endRow": 1600, "sortModel": BY_DISTANCE},
                {"startRow": 0, "endRow": 100, "sortModel": [{"colId": "name", "sort": "desc"}]},
                {"startRow": 0, "endRow": 100, "filterModel": {"kind": {"filterType": "text", "type": "equals",
                                                                        "filter": "job"}}}]
    store = open_store(layers_url, read_only=True)  # (a store of its own: nothing worked out for it)
    try:
        with ThreadPoolExecutor(len(requests)) as pool:
            answers = list(pool.map(lambda request: impact.impact_block(store, ROOT, request), requests))
        table = impact.impact_table(store, ROOT)
        assert table is not None
        assert answers == [grid.block(table.rows, request, impact.SORT_KEYS) for request in requests]
        assert answers[3]["rowData"][0]["title"] == "MERGE back1" and answers[4]["rowCount"] == 2 * FAN + 2
    finally:
        impact.settle()
        store.close()


HUGE = [{"startRow": 0, "endRow": 10**12, "sortModel": BY_DISTANCE}, {"startRow": 10**30, "endRow": 10**31},
        {"startRow": -1, "endRow": "1e999", "sortModel": [{"colId": "distance"}], "filterModel": "x"},
        {"startRow": 999, "endRow": 1001, "sortModel": BY_DISTANCE * 1000}]


@pytest.mark.parametrize("request_", HUGE, ids=range(len(HUGE)))
def test_a_huge_or_hostile_block_request_is_answered(layers_url: str, request_: Any) -> None:
    store = open_store(layers_url, read_only=True)
    try:
        answer = impact.impact_block(store, ROOT, request_)
        table = impact.impact_table(store, ROOT)
        assert table is not None
        assert answer == grid.block(table.rows, request_, impact.SORT_KEYS)
        assert answer["rowCount"] == ROWS and len(answer["rowData"]) <= grid.MAX_BLOCK
    finally:
        impact.settle()
        store.close()


def test_the_demo_impact_blocks_tile_as_the_whole_impact_does(demo_store: Store) -> None:
    customers = resolve(demo_store, "staging.customers").id
    early = [impact.impact_block(demo_store, customers, {"startRow": start, "endRow": start + 4})
             for start in range(0, 12, 4)]
    table = impact.impact_table(demo_store, customers)
    assert table is not None and len(table.rows) > 12
    assert [row for answer in early for row in answer["rowData"]] == list(table.rows[:12])
    # (the number of rows in all, where the walk that found them went no further, comes later)
    assert {answer["rowCount"] for answer in early} <= {None, len(table.rows)}
    assert impact.impact_block(demo_store, customers, {"startRow": 0, "endRow": 4})["rowCount"] == len(table.rows)


def test_an_unknown_root_gets_an_empty_block(layers: Store) -> None:
    for root in ("dataset:nope", "run:x", "x" * 5000):
        assert impact.impact_block(layers, root, {"startRow": 0, "endRow": 100}) == {"rowData": [], "rowCount": 0}


@pytest.mark.parametrize("limit", [1, 100, 799, 800, 801, 1000, 5000])
def test_the_first_rows_walked_a_distance_at_a_time_are_the_whole_walks(layers: Store, limit: int) -> None:
    whole = graph.impact_page(layers, ROOT)
    head = graph.impact_head(layers, ROOT, limit)
    if head is None:  # (only where a row's last use may come from farther downstream)
        assert any((row.last_seen or "").startswith("2026-12-01") for row in whole.rows[:limit])
        return
    assert head.rows == whole.rows[:limit]
    assert head.total == (whole.total if limit >= whole.total else None), "known once the walk is over"


def test_a_last_use_from_farther_downstream_is_left_to_the_whole_walk(layers: Store) -> None:
    whole = {row.node.id: row for row in graph.impact_page(layers, ROOT).rows}
    first = f"dataset:{NAMESPACE}/layers.l1_0000"  # written again by a later job, long before
    again = f"dataset:{NAMESPACE}/layers.l1_0001"  # written again by a later job, after
    assert whole[again].last_seen == "2026-12-01T00:00:00.000Z" != whole[first].last_seen
    rows = [row.node.id for row in graph.impact_page(layers, ROOT, limit=2 * FAN).rows]
    assert graph.impact_head(layers, ROOT, rows.index(again)) is not None
    assert graph.impact_head(layers, ROOT, rows.index(again) + 1) is None
    block = impact.impact_block(layers, ROOT, {"startRow": 0, "endRow": 100, "sortModel": BY_DISTANCE})
    table = impact.impact_table(layers, ROOT)
    assert table is not None and block["rowData"] == list(table.rows[:100])


@pytest.mark.parametrize("name", ["raw.customers", "staging.customers", "features.customer_features",
                                  "raw.customers#annual_income"])
@pytest.mark.parametrize("limit", [1, 3, 10, 1000])
def test_the_demo_first_rows_are_the_whole_walks(demo_store: Store, name: str, limit: int) -> None:
    root = resolve(demo_store, name).id
    whole = graph.impact_page(demo_store, root)
    head = graph.impact_head(demo_store, root, limit)
    if head is not None:
        assert head.rows == whole.rows[:limit]
        assert head.total in (None, whole.total)
    else:
        assert "#" in root or limit < whole.total


def test_grid_names_escape_every_markdown_punctuation_mark_and_nothing_else() -> None:
    punctuation = "\\`*_{}[]()<>#+-.!|~"
    name = f"raw{punctuation}t0 é:/=%"
    expected = "raw" + "".join("\\" + char for char in punctuation) + "t0 é:/=%"
    assert impact._markdown_text(name) == expected
