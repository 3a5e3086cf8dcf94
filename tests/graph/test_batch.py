"""Folding events into a batch: repeats of a template fold as a span, and must give exactly the
rows that folding every event on its own gives (counts, time spans, evidence order, users)."""

from __future__ import annotations

import dataclasses
import random

import parsers
from graph.batch import EVIDENCE_SAMPLE, Batch, _fold, batch_of
from parsers import LineageEvent, Origin, SourceRecord
from parsers.sessions import Session

NS = "postgres://warehouse:5432"
TEMPLATES = (
    "INSERT INTO mart.daily (day, total) SELECT day, sum(amount) FROM raw.orders WHERE region = '{s}' GROUP BY day",
    "SELECT o.id, c.name FROM raw.orders o JOIN raw.customers c ON o.cid = c.id WHERE o.id = {n}",
    "UPDATE mart.daily SET total = {n} WHERE day = '{s}'",
    "CREATE TEMP TABLE recent AS SELECT * FROM raw.orders WHERE day > '{s}'",
    "INSERT INTO mart.recent_copy (id) SELECT id FROM recent",
    "DROP TABLE IF EXISTS mart.scratch_{n}",
    "CREATE OR REPLACE VIEW mart.v_daily AS SELECT day, total FROM mart.daily WHERE total > {n}",
    # Two templates that leave different props on one dataset: the last to run must win.
    "CREATE TABLE mart.flip AS SELECT day FROM raw.orders WHERE day > '{s}'",
    "CREATE OR REPLACE VIEW mart.flip AS SELECT total FROM mart.daily WHERE total > {n}",
)


def events(count: int, seed: int = 11) -> list[LineageEvent]:
    """Events as a crawl makes them: parsed, then seen through their session's temporary tables.
    Times are not in order (several sessions interleave) and users vary."""
    rng = random.Random(seed)
    sessions: dict[str, Session] = {}
    found: list[LineageEvent] = []
    for number in range(count):
        sql = rng.choice(TEMPLATES).format(n=rng.randint(1, 3), s=f"v{rng.randint(1, 99)}")
        session = f"s{rng.randint(1, 4)}"
        record = SourceRecord(
            source_type="postgres_log", text=sql, origin=Origin(path="/logs/pg.csv", line=number + 1,
                                                                byte_offset=number * 100),
            timestamp=f"2026-11-25T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00.000Z",
            user=rng.choice(["etl", "ana", None]), session_id=session, dialect="postgres", namespace=NS,
            database="credit")
        found += sessions.setdefault(session, Session()).observe(parsers.parse(record))
    return found


def one_by_one(found: list[LineageEvent]) -> Batch:
    batch = Batch()
    for event in found:
        _fold(batch, event)
    return batch


def rows(batch: Batch) -> dict[str, object]:
    return {name: {key: row._asdict() if isinstance(row, tuple) else dataclasses.asdict(row)
                   for key, row in getattr(batch, name).items()}
            for name in ("nodes", "edges", "runs", "usage", "members")}


def test_repeats_fold_to_the_rows_of_folding_each_event() -> None:
    found = events(400)
    folded = batch_of(found)
    assert rows(folded) == rows(one_by_one(found))
    # The spans really were folded as repeats, and still kept the first evidence in order.
    reads = folded.edges[(f"dataset:{NS}/credit.raw.orders", "READS",
                          next(e for e in folded.edges if e[1] == "READS")[2])]
    assert reads.count > EVIDENCE_SAMPLE and len(reads.evidence) == EVIDENCE_SAMPLE


def test_a_fold_in_parts_adds_up_to_the_whole() -> None:
    found = events(120, seed=3)
    whole = batch_of(found)
    first, second = batch_of(found[:50]), batch_of(found[50:])
    for key, row in whole.edges.items():
        parts = [batch.edges[key] for batch in (first, second) if key in batch.edges]
        assert row.count == sum(part.count for part in parts)
        assert row.first_seen == min(part.first_seen for part in parts if part.first_seen)
        assert row.last_seen == max(part.last_seen for part in parts if part.last_seen)


def _repeats(event: LineageEvent, titles: list[str]) -> list[LineageEvent]:
    """Repeats of one parsed event (sharing its objects, as a cached parse's events do), each
    with its own run and time, and the job title given."""
    return [dataclasses.replace(
        event, job_title=title,
        evidence=dataclasses.replace(event.evidence, timestamp=f"2026-11-25T10:{n:02d}:00.000Z"),
        run=dataclasses.replace(event.run, run_id=f"{event.run.run_id}-{n}", user=f"u{n % 3}"))
        for n, title in enumerate(titles)]


def test_one_job_under_two_titles_is_labelled_by_the_last_event() -> None:
    """The same statement seen under two search paths is one job with two titles: folded as
    spans, the label is still the last event's, as when folded one by one."""
    (event,) = [e for e in events(30) if e.outputs and e.inputs][:1]
    found = _repeats(event, ["INSERT a", "INSERT b"] * 4 + ["INSERT a"])
    assert rows(batch_of(found)) == rows(one_by_one(found))
    assert batch_of(found).nodes[next(iter(batch_of(found).runs.values())).job].label == "INSERT a"


def test_events_that_touch_no_dataset_leave_no_run() -> None:
    event = next(e for e in events(30) if e.inputs)
    bare = dataclasses.replace(event, inputs=(), outputs=(), column_edges=(), dataset_facets={})
    found = _repeats(bare, ["SELECT"] * 5)
    assert rows(batch_of(found)) == rows(one_by_one(found))
    assert not batch_of(found).runs


def test_a_column_named_by_several_column_edges_of_one_event_counts_once_with_one_evidence_item() -> None:
    """INSERT INTO t SELECT a, a + b: column a is in two flows, and a -> x flows both ways."""
    result = parsers.parse(SourceRecord(
        source_type="sql_trace", dialect="postgres", origin=Origin(path="/q.jsonl", line=7, byte_offset=90),
        text="insert into mart.t (x, y) select a, a + b from raw.s where a > 0"))
    (event,) = result.events
    sources = [edge.source.column for edge in event.column_edges]
    assert sources.count("a") >= 2, "the case needs a column in several flows"
    batch = batch_of([event])
    a_in = [edge for key, edge in batch.edges.items() if key[1] == "IN" and key[0].endswith("#a")]
    assert len(a_in) == 1 and a_in[0].count == 1 and len(a_in[0].evidence) == 1
    for edge in batch.edges.values():
        assert len(edge.evidence) == len(set(edge.evidence)), edge
