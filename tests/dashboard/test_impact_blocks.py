"""The impact grid answers its first blocks (nearest first, no filter) before the whole impact is
worked out, with exactly the rows the whole impact has there; everything else waits for it."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from dashboard import grid, impact
from graph import Store, open_store, resolve
from graph.batch import Batch

NAMESPACE = "postgres://layers:5432"
ROOT = f"dataset:{NAMESPACE}/layers.root"
FAN = 400  # jobs reading the root, each writing a table read by a job writing another: 1,600 rows
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
    assert table is not None and len(table.rows) == 4 * FAN
    assert first["rowCount"] == second["rowCount"] == len(table.rows)
    assert _ids(first) + _ids(second) == [row["id"] for row in table.rows[:200]]
    assert first["rowData"] == list(table.rows[:100]), "the same rows, cell for cell"
    assert {row["distance"] for row in table.rows[:2 * FAN]} == {1}
    whole = grid.block(table.rows, {"startRow": 0, "endRow": 100, "sortModel": BY_DISTANCE}, impact.SORT_KEYS)
    assert impact.impact_block(layers, ROOT, {"startRow": 0, "endRow": 100, "sortModel": BY_DISTANCE}) == whole
    assert impact.impact_summary(layers, ROOT) == f"{2 * FAN} tables, {2 * FAN} jobs, 0 owners to notify."


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
        assert answers[3]["rowData"][0]["title"] == "layers.l2_0399" and answers[4]["rowCount"] == 2 * FAN
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
        assert answer["rowCount"] == 4 * FAN and len(answer["rowData"]) <= grid.MAX_BLOCK
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
    assert {answer["rowCount"] for answer in early} == {len(table.rows)}


def test_an_unknown_root_gets_an_empty_block(layers: Store) -> None:
    for root in ("dataset:nope", "run:x", "x" * 5000):
        assert impact.impact_block(layers, root, {"startRow": 0, "endRow": 100}) == {"rowData": [], "rowCount": 0}
