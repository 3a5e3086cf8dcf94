"""What only the embedded store does: its URL forms, WAL readers beside a writer, columns added to
stores made before."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import graph
from graph import UnknownStoreError, open_store
from tests.graph.helpers import NS, event


def _half_written(tmp_path: Path) -> tuple[str, graph.Store, list[Any], graph.Store, graph.Store]:
    """The contract tests' warehouse but its last 8 events, written; its URL, the writer, the
    events, and two readers: one walking as a server does (auto) and one walking in SQL."""
    from tests.graph.test_contract import _warehouse

    url = f"sqlite:///{tmp_path / 'l.db'}"
    writer, events = open_store(url), _warehouse()
    graph.write(writer, events[:-8])
    return url, writer, events, open_store(url, read_only=True), open_store(f"{url}?traversal=store", read_only=True)

ROOT = Path(__file__).resolve().parents[2]


def test_a_reader_sees_what_a_writer_commits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    writer = open_store(url)
    reader = open_store(url, read_only=True)
    assert reader.counts() == {}
    graph.write(writer, [event("j1", ["raw.a"], ["stg.b"], run="r1")])
    assert reader.counts()["dataset"] == 2
    with pytest.raises(Exception, match="readonly"):
        reader.apply(graph.batch.batch_of([event("j2", ["x"], ["y"], run="r2")]))  # type: ignore[attr-defined]


def test_a_new_store_has_16_kib_pages_and_one_made_with_4_kib_keeps_them(tmp_path: Path) -> None:
    """(A crawl's run inserts are a quarter cheaper with 16 KiB pages: see PAGE_BYTES.)"""
    new, old = tmp_path / "new.db", tmp_path / "old.db"
    with sqlite3.connect(old) as db:
        db.execute("PRAGMA page_size=4096")
        db.execute("CREATE TABLE kept (x)")
    for path in (new, old):
        graph.write(open_store(f"sqlite:///{path}"), [event("j1", ["raw.a"], ["stg.b"], run="r1")])
    assert [sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0] for path in (new, old)] == [16384, 4096]
    for path in (new, old):
        assert open_store(f"sqlite:///{path}", read_only=True).counts()["dataset"] == 2


def test_reading_a_store_that_does_not_exist_says_so(tmp_path: Path) -> None:
    with pytest.raises(UnknownStoreError, match="no lineage store"):
        open_store(f"sqlite:///{tmp_path / 'missing.db'}", read_only=True)


@pytest.mark.parametrize("url", ["mongodb://x", "sqlite://relative.db", "nonsense"])
def test_bad_store_urls_are_refused(url: str) -> None:
    with pytest.raises(UnknownStoreError):
        open_store(url)


def test_a_store_made_before_cursors_carried_state_gets_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE cursors (path TEXT PRIMARY KEY, byte_offset INTEGER NOT NULL, line INTEGER NOT NULL,"
                   " head_length INTEGER NOT NULL, head_digest TEXT NOT NULL, tail_digest TEXT NOT NULL,"
                   " size INTEGER NOT NULL)")
        db.execute("INSERT INTO cursors VALUES ('/logs/a.log', 10, 1, 10, 'h', 't', 10)")
    (cursor,) = open_store(f"sqlite:///{path}").cursors().values()
    assert (cursor.offset, cursor.state) == (10, "{}")


def test_a_crawl_that_changes_nothing_keeps_the_generation_and_the_shape_loaded(tmp_path: Path) -> None:
    from crawler.crawl import crawl
    from crawler.registry import SourceSpec

    script = tmp_path / "elt.sql"
    script.write_text("insert into mart.b select * from raw.a;\n", encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    crawl([SourceSpec(path=str(script), dialect="postgres")], store)
    generation = store.generation()
    crawl([SourceSpec(path=str(script), dialect="postgres")], store)  # nothing new, nothing to age out
    assert store.generation() == generation


def test_reach_answers_a_mapping_nearest_first(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    graph.write(store, [event("j1", ["raw.a"], ["stg.b"], run="r1"), event("j2", ["stg.b"], ["mart.c"], run="r2")])
    ds, job = f"dataset:{NS}/", f"job:{NS}/"
    best = store.reach(ds + "raw.a", outgoing=("READS", "WRITES"), incoming=("TRAINED_ON",),
                       steps={"READS": 1, "WRITES": 1, "TRAINED_ON": 2}, cutoff=3)
    assert list(best.items()) == [(ds + "raw.a", 0), (job + "j1", 1), (ds + "stg.b", 2), (job + "j2", 3)]
    assert (len(best), best[ds + "stg.b"], list(best)[-1]) == (4, 2, job + "j2")
    assert ds + "mart.c" not in best and "nowhere" not in best
    with pytest.raises(KeyError):
        best[ds + "mart.c"]
    assert store.reach("nowhere", outgoing=("READS",), incoming=(), steps={"READS": 1}) == {"nowhere": 0}


def test_walks_answer_alike_in_sql_while_the_shape_loads_in_memory_after_and_after_writes(tmp_path: Path) -> None:
    from graph import impact, lineage
    from graph.topology import Reached

    url, writer, events, auto, in_sql = _half_written(tmp_path)
    roots = [f"dataset:{NS}/{name}" for name in ("raw.t0", "raw.t3", "l1.t2", "l2.t4")]

    def answers(store: graph.Store) -> list[object]:
        return [(lineage(store, root, way, depth).distance, impact(store, root, depth))
                for root in roots for way in ("upstream", "downstream") for depth in (1, 3, None)]

    def walked_in_memory() -> bool:
        return isinstance(auto.reach(roots[0], outgoing=("READS", "WRITES"), incoming=(), steps={"READS": 1,
                                                                                               "WRITES": 1}), Reached)

    assert not walked_in_memory(), "the first walk is SQL's while the shape loads"
    before = answers(in_sql)
    assert answers(auto) == before
    loader = auto.warm()  # type: ignore[attr-defined]
    loader.join()
    assert walked_in_memory() and answers(auto) == before
    graph.write(writer, events[-8:])
    assert walked_in_memory(), "a write: the shape held is patched with what the write changed"
    after = answers(in_sql)
    assert after != before and answers(auto) == after
    auto.warm().join()  # type: ignore[attr-defined]
    assert walked_in_memory() and answers(auto) == after
    assert in_sql.warm() is None  # type: ignore[attr-defined]


# Writes as a crawl (another process, with its own store on the file) makes them: new jobs and
# tables whose names sort among the others, edges removed (and a node), marked stale, brought back.
WRITE_AS_A_CRAWL = """
import sys
import graph
from tests.graph.helpers import NS, event
from tests.graph.test_contract import _warehouse
store = graph.open_store(sys.argv[1])
step = sys.argv[2]
reads = [edge.key for edge in store.edges(["READS"])]
if step == "write":
    graph.write(store, [*_warehouse()[-8:], event("j1.7", ["raw.t0", "raw.t3"], ["l1.t2b"], run="n1"),
                        event("a.first", ["raw.t0"], ["a.t0"], run="n2"), event("zz", ["l1.t2b"], ["l2.t9"], run="n3")])
elif step == "remove":
    writes = [edge.key for edge in store.edges(["WRITES"])]
    store.remove([*reads[:3], *writes[2:4]], [f"dataset:{NS}/l2.t9"], "2026-11-26T00:00:00.000Z")
elif step == "stale":
    store.set_stale(reads[3:6], "2026-11-26T00:00:00.000Z")
elif step == "revive":
    graph.write(store, [event("a.first", ["raw.t0"], ["a.t0"], run="n4"), event("zz", ["l1.t2b"], ["l2.t9"], run="n5")])
store.close()
"""


def test_writes_by_another_process_patch_the_shape_held_and_walks_in_memory_answer_as_sql_walks(
        tmp_path: Path) -> None:
    from graph import impact, lineage
    from graph.topology import Reached

    url, _, _, serving, in_sql = _half_written(tmp_path)
    serving.warm().join()  # type: ignore[attr-defined]
    roots = [f"dataset:{NS}/{name}" for name in ("raw.t0", "raw.t3", "l1.t2", "l3.t4")]

    def answers(store: graph.Store) -> list[object]:
        return [(lineage(store, root, way, depth).distance, impact(store, root, depth),
                 impact(store, root, depth, limit=4), impact(store, root, depth, limit=9))
                for root in roots for way in ("upstream", "downstream") for depth in (1, 3, None)]

    def in_memory_at(generation: int) -> bool:
        walked = serving.reach(roots[0], outgoing=("READS", "WRITES"), incoming=(), steps={"READS": 1, "WRITES": 1})
        return isinstance(walked, Reached) and serving._shapes._current.generation == generation  # type: ignore

    seen = [answers(in_sql)]
    assert answers(serving) == seen[0]
    for step in ("write", "remove", "stale", "revive"):
        subprocess.run([sys.executable, "-c", WRITE_AS_A_CRAWL, url, step], check=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert in_memory_at(serving.generation()), step
        seen.append(answers(in_sql))
        assert answers(serving) == seen[-1], step
    assert seen[1] != seen[0] and seen[2] != seen[1] and seen[3] == seen[2] and seen[4] != seen[3]
    assert serving._shapes.loads == 1, "patched after each write, never loaded again"  # type: ignore[attr-defined]


@pytest.mark.parametrize("option", ["traversal=fast", "walk=memory"])
def test_unknown_url_options_are_refused(tmp_path: Path, option: str) -> None:
    with pytest.raises(UnknownStoreError, match="the only option is traversal=auto[|]memory[|]store"):
        open_store(f"sqlite:///{tmp_path / 'l.db'}?{option}")


def test_a_store_made_before_counts_were_kept_is_counted_once_when_opened_for_writing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    store = open_store(url)
    graph.write(store, [event("j1", ["raw.a"], ["stg.b"], run="r1")])
    expected = store.counts()
    store.close()
    with sqlite3.connect(tmp_path / "l.db") as db:  # as a store made before counts were kept
        db.execute("DROP TABLE counts")
    assert open_store(url, read_only=True).counts() == expected, "read-only: counted by a scan"
    store = open_store(url)
    graph.write(store, [event("j2", ["stg.b"], ["mart.c"], run="r2")])
    with sqlite3.connect(tmp_path / "l.db") as db:
        kept = dict(db.execute("SELECT kind, n FROM counts WHERE what = 'node'").fetchall())
    assert kept == {"dataset": 3, "job": 2} and store.counts()["run"] == 2


def test_writers_opening_a_new_store_at_once_all_open_it(tmp_path: Path) -> None:
    """Crawls started together on a new store: one sets WAL mode, makes the tables and adds the
    columns stores gained since, the others wait and find them; none fails with a duplicate
    column or "database is locked" (each of the three, before it was mended, failed most runs
    of this test)."""
    opens = ("import sys, time\nfrom graph import open_store\n"
             "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\nopen_store(sys.argv[1]).close()")
    for round_ in range(8):
        url = f"sqlite:///{tmp_path / f'l{round_}.db'}"
        at = str(time.time() + 2.5)  # (after every writer has imported the store)
        writers = [subprocess.Popen([sys.executable, "-c", opens, url, at], cwd=ROOT, stderr=subprocess.PIPE,
                                    text=True) for _ in range(4)]
        failed = [err for writer in writers if (err := writer.communicate(timeout=60)[1]) and writer.returncode]
        assert not failed, failed[0][-300:]
    store = open_store(url)
    graph.write(store, [event("j1", ["raw.a"], ["stg.b"], run="r1")])
    assert store.counts()["run"] == 1


def test_a_store_made_with_an_index_of_runs_by_job_drops_it_and_keeps_its_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    store = open_store(url)
    graph.write(store, [event("j1", ["raw.a"], ["stg.b"], run="r1")])
    store.close()
    with sqlite3.connect(tmp_path / "l.db") as db:  # as stores were made before
        db.execute("CREATE INDEX runs_by_job ON runs (job)")
    store = open_store(url)
    graph.write(store, [event("j1", ["raw.a"], ["stg.b"], run="r2")])
    with sqlite3.connect(tmp_path / "l.db") as db:
        indexes = {row[1] for row in db.execute("PRAGMA index_list(runs)")}
    assert "runs_by_job" not in indexes and indexes, indexes  # (the id's own index stays)
    assert sorted(n.name for n in store.nodes(kind="run")) == ["r1", "r2"]


@pytest.mark.parametrize("kind", [None, "dataset"])
def test_search_reads_an_index_in_rank_order_not_the_table(tmp_path: Path, kind: str | None) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    graph.write(store, [event("j1", ["raw.a"], ["stg.b"], run="r1")])
    db = sqlite3.connect(tmp_path / "l.db")
    query = ("SELECT id FROM nodes WHERE removed_at IS NULL AND kind != 'column' AND lower(name) LIKE ?"
             + (" AND kind = ?" if kind else "") + " ORDER BY coalesce(json_extract(props, '$.rank'), 0) DESC, name"
             " LIMIT 5")
    plan = " ".join(row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {query}", ["%a%", *([kind] if kind else [])]))
    assert "USING INDEX nodes_by" in plan and "TEMP B-TREE" not in plan, plan
    assert [n.name for n in store.find("a", kind=kind)] == ["raw.a"]


def test_pages_asking_at_once_after_a_write_find_the_shape_patched_once(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from graph import lineage

    url, writer, events, serving, in_sql = _half_written(tmp_path)
    serving.warm().join()  # type: ignore[attr-defined]
    root = f"dataset:{NS}/raw.t0"
    lineage(serving, root, "downstream", None)  # a walk built: the patch carries it over
    graph.write(writer, events[-8:])
    with ThreadPoolExecutor(8) as pool:
        seen = list(pool.map(lambda _: lineage(serving, root, "downstream", None).distance, range(16)))
    assert seen == [lineage(in_sql, root, "downstream", None).distance] * 16
    assert serving._shapes.loads == 1  # type: ignore[attr-defined]
    assert serving._shapes._current.generation == serving.generation()  # type: ignore[attr-defined]
