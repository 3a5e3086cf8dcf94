"""Crawls read only what is new: cursors survive rotation, notice rewrites, wait for lines
still being written, and commit with the facts they cover."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

from crawler.crawl import crawl
from crawler.registry import SourceSpec
from graph import Store, open_store
from graph.export import dumps, export


def _line(table: str, n: int) -> str:
    return json.dumps({"query": f"insert into {table} select * from src where id = {n}", "user": "etl",
                       "timestamp": f"2026-11-25T06:{n % 60:02d}:00Z"}) + "\n"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path / 'lineage.db'}")


def test_a_second_crawl_reads_only_the_new_lines(tmp_path: Path, store: Store) -> None:
    log = tmp_path / "logs" / "app.jsonl"
    log.parent.mkdir()
    log.write_text("".join(_line("a", n) for n in range(5)), encoding="utf-8")
    spec = [SourceSpec(path=str(log.parent), dialect="postgres")]
    assert crawl(spec, store).records == 5
    with log.open("a", encoding="utf-8") as stream:
        stream.write(_line("b", 5))
    second = crawl(spec, store)
    assert (second.records, second.written) == (1, 1)
    assert crawl(spec, store).records == 0
    (cursor,) = store.cursors().values()
    assert (cursor.offset, cursor.line) == (log.stat().st_size, 6)


def test_a_line_still_being_written_is_read_once_complete(tmp_path: Path, store: Store) -> None:
    log = tmp_path / "app.jsonl"
    whole = _line("a", 1)
    log.write_text(_line("a", 0) + whole[:20], encoding="utf-8")
    first = crawl([SourceSpec(path=str(log))], store)
    assert (first.records, first.issues) == (1, 0)
    with log.open("a", encoding="utf-8") as stream:
        stream.write(whole[20:])
    second = crawl([SourceSpec(path=str(log))], store)
    assert (second.records, second.issues, second.written) == (1, 0, 1)


def test_a_rotated_file_is_followed_and_the_new_one_read_from_the_start(tmp_path: Path, store: Store) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.jsonl").write_text("".join(_line("a", n) for n in range(6)), encoding="utf-8")
    spec = [SourceSpec(path=str(logs))]
    crawl(spec, store)
    with (logs / "app.jsonl").open("a", encoding="utf-8") as stream:
        stream.write(_line("a", 6))  # written just before the rotation
    (logs / "app.jsonl").rename(logs / "app.jsonl.1.jsonl")
    (logs / "app.jsonl").write_text(_line("c", 7), encoding="utf-8")
    second = crawl(spec, store)
    assert (second.records, second.written) == (2, 2), "one line left in the rotated file, one in the new"


def test_a_file_rewritten_in_the_middle_is_reported_and_read_again(tmp_path: Path, store: Store) -> None:
    log = tmp_path / "app.jsonl"
    log.write_text("".join(_line("a", n) for n in range(600)), encoding="utf-8")
    crawl([SourceSpec(path=str(log))], store)
    text = log.read_text(encoding="utf-8").replace("insert into a select * from src where id = 599",
                                                   "insert into z select * from src where id = 599")
    log.write_text(text, encoding="utf-8")
    second = crawl([SourceSpec(path=str(log))], store)
    assert second.issues_by_code == {"file_changed": 1}
    assert (second.records, second.written, second.already_seen) == (600, 1, 599)


def test_a_crawl_killed_midway_and_rerun_gives_the_same_graph(tmp_path: Path, store: Store,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "app.jsonl"
    log.write_text("".join(_line(f"t{n % 7}", n) for n in range(1200)), encoding="utf-8")
    reference = open_store(f"sqlite:///{tmp_path / 'reference.db'}")
    crawl([SourceSpec(path=str(log))], reference, batch_size=100)

    import graph
    real_write, calls = graph.write, {"n": 0}

    def dying_write(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt("killed")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(graph, "write", dying_write)
    with pytest.raises(KeyboardInterrupt):
        crawl([SourceSpec(path=str(log))], store, batch_size=100)
    monkeypatch.setattr(graph, "write", real_write)
    rerun = crawl([SourceSpec(path=str(log))], store, batch_size=100)
    assert rerun.already_seen == 0, "the cursor moved with each committed batch: nothing read twice"
    assert dumps(export(store)) == dumps(export(reference))


def _compress(data: bytes, how: str) -> bytes:
    import gzip

    import zstandard

    return gzip.compress(data) if how == "gz" else zstandard.ZstdCompressor().compress(data)


@pytest.mark.parametrize("how", ["gz", "zst"])
def test_a_log_compressed_as_it_rotates_is_read_from_where_the_last_crawl_left_it(
        tmp_path: Path, store: Store, how: str) -> None:
    """logrotate's `compress`: the log the last crawl read part of comes back as an archive
    under another name. Only what was written after that crawl is new; the whole real
    PostgreSQL log, read in these two parts, gives the graph one read of it gives."""
    import os

    lines = (Path(__file__).parents[2] / "fixtures/querylogs/postgres/csvlog.csv").read_bytes().splitlines(True)
    cut = next(i for i in range(len(lines) // 2, len(lines)) if lines[i].startswith(b"2026-"))
    logs = tmp_path / "logs"
    logs.mkdir()
    live = logs / "postgresql.csv"
    live.write_bytes(b"".join(lines[:cut]))
    os.utime(live, (1_700_000_000, 1_700_000_000))  # quiet: its last entry is whole
    spec = [SourceSpec(path=str(logs), namespace="postgres://db:5432")]
    first = crawl(spec, store)
    live.rename(logs / f"postgresql.csv.1.{how}")  # rotated, with what was written since ...
    (logs / f"postgresql.csv.1.{how}").write_bytes(_compress(b"".join(lines), how))  # ... compressed
    second = crawl(spec, store)
    assert first.records + second.records == _whole(tmp_path, lines).records
    assert _edges(store) == _edges(open_store(f"sqlite:///{tmp_path / 'whole.db'}"))
    third = crawl(spec, store)
    assert third.records == 0, "an archive read once is done"


def _whole(tmp_path: Path, lines: list[bytes]):  # type: ignore[no-untyped-def]
    whole = tmp_path / "whole" / "postgresql.csv"
    whole.parent.mkdir()
    whole.write_bytes(b"".join(lines))
    import os

    os.utime(whole, (1_700_000_000, 1_700_000_000))
    return crawl([SourceSpec(path=str(whole), namespace="postgres://db:5432")],
                 open_store(f"sqlite:///{tmp_path / 'whole.db'}"))


def _edges(store: Store) -> dict[tuple[str, str, str], int]:
    return {(edge.src, edge.kind, edge.dst): edge.count for edge in store.edges() if edge.kind != "OF"}


def test_a_growing_csv_export_is_not_parsed_again_from_its_start(tmp_path: Path, store: Store,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the header is read again: the rows the last crawl took are not parsed a second time
    (an export of a year of query history grows by a day a night)."""
    import crawler.streams

    export_file = tmp_path / "history.csv"
    rows = [f'"insert into mart.t{n} select * from raw.s where id = {n}","2026-11-25 06:00:0{n % 10}"\n'
            for n in range(40)]
    export_file.write_text("query,timestamp\n" + "".join(rows[:30]), encoding="utf-8")
    spec = [SourceSpec(path=str(export_file), dialect="postgres")]
    assert crawl(spec, store).records == 30
    export_file.write_text("query,timestamp\n" + "".join(rows), encoding="utf-8")
    parsed: list[bytes] = []
    real = crawler.streams._csv_row
    monkeypatch.setattr(crawler.streams, "_csv_row", lambda chunk: parsed.append(chunk) or real(chunk))
    second = crawl(spec, store)
    assert (second.records, second.written) == (10, 10)
    assert len(parsed) == 1 + 10, "the header, then the new rows only"


def test_a_script_appended_to_keeps_what_its_earlier_part_set(tmp_path: Path, store: Store) -> None:
    script = tmp_path / "nightly.sql"
    script.write_text("SET search_path TO mart;\nCREATE TEMP TABLE batch AS SELECT * FROM raw.orders;\n",
                      encoding="utf-8")
    spec = [SourceSpec(path=str(script), dialect="postgres", namespace="postgres://db:5432", database="credit")]
    crawl(spec, store)
    with script.open("a", encoding="utf-8") as stream:
        stream.write("INSERT INTO daily SELECT * FROM batch;\n")
    assert crawl(spec, store).records == 1
    feeds = {(store.node(e.src).name, store.node(e.dst).name) for e in store.edges(["FEEDS"])}  # type: ignore[union-attr]
    assert feeds == {("credit.raw.orders", "credit.mart.daily")}, "search_path and the temporary table held"


@pytest.mark.parametrize("copy", ["app.jsonl.gz", "app.0.jsonl.zst"])  # read after the log, before it
def test_a_compressed_copy_of_a_log_still_written_to_is_not_read_again(
        tmp_path: Path, store: Store, copy: str) -> None:
    """logrotate's `copy`, or a log gzipped by hand with `gzip -k`: the log and its compressed copy
    are in one crawl. The copy holds only lines of the log, which the log's own cursor reads."""
    logs = tmp_path / "logs"
    logs.mkdir()
    live = logs / "app.jsonl"
    live.write_text("".join(_line("a", n) for n in range(6)), encoding="utf-8")
    spec = [SourceSpec(path=str(logs))]
    assert crawl(spec, store).records == 6
    with live.open("a", encoding="utf-8") as stream:
        stream.write(_line("b", 6))
    (logs / copy).write_bytes(_compress(live.read_bytes(), copy.rsplit(".", 1)[1]))
    with live.open("a", encoding="utf-8") as stream:
        stream.write(_line("c", 7))
    second = crawl(spec, store)
    assert (second.records, second.written) == (2, 2), "the two new lines, read once, from the log"
    assert crawl(spec, store).records == 0
    live.write_text("".join(_line("d", n) for n in range(8, 14)), encoding="utf-8")  # then rotated
    assert crawl(spec, store).records == 6, "the new log; the copy holds nothing past the old log's cursor"


def _crawled_then_grown(tmp_path: Path, store: Store) -> tuple[Path, list[SourceSpec]]:
    """A log of six lines crawled, then a seventh written to it: the log, and the crawl's spec."""
    logs = tmp_path / "logs"
    logs.mkdir()
    live = logs / "app.jsonl"
    live.write_text("".join(_line("a", n) for n in range(6)), encoding="utf-8")
    spec = [SourceSpec(path=str(logs))]
    crawl(spec, store)
    with live.open("a", encoding="utf-8") as stream:
        stream.write(_line("b", 6))
    return live, spec


def test_two_compressed_copies_of_a_rotated_log_go_on_from_its_cursor_once(tmp_path: Path, store: Store) -> None:
    live, spec = _crawled_then_grown(tmp_path, store)
    logs = live.parent
    for how in ("gz", "zst"):
        (logs / f"app.jsonl.{how}").write_bytes(_compress(live.read_bytes(), how))
    live.unlink()
    second = crawl(spec, store)
    assert (second.records, second.written) == (1, 1)


def test_an_archive_read_before_heads_were_decompressed_keeps_its_own_cursor(tmp_path: Path, store: Store) -> None:
    """An archive's cursor stored by an older crawler holds the head of its compressed bytes; the
    cursor of the log it was rotated from, left where that log was, must not win over it."""
    import gzip

    import graph
    from crawler.cursors import HEAD
    from graph.batch import Cursor
    from parsers.fingerprint import digest

    live, spec = _crawled_then_grown(tmp_path, store)
    archive = live.parent / "app.1.jsonl.gz"
    archive.write_bytes(gzip.compress(live.read_bytes()))
    live.unlink()
    raw = archive.read_bytes()[:HEAD]
    graph.write(store, [], [Cursor(path=str(archive), offset=len(gzip.decompress(archive.read_bytes())), line=7,
                                   head_length=len(raw), head_digest=digest(raw.decode("latin-1")),
                                   tail_digest="", size=archive.stat().st_size)])
    later = crawl(spec, store)
    assert (later.files, later.records) == (1, 0), "the archive was read whole by the older crawler"


def test_a_small_file_is_not_taken_for_another_that_begins_alike(tmp_path: Path, store: Store) -> None:
    """Under a full head, two files that begin alike may well be two files: only a file's own
    cursor is trusted."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.jsonl").write_text(_line("a", 0), encoding="utf-8")
    spec = [SourceSpec(path=str(logs))]
    crawl(spec, store)
    (logs / "b.jsonl").write_text(_line("a", 0) + _line("b", 1), encoding="utf-8")
    assert crawl(spec, store).records == 2


def test_a_json_lines_export_with_escaped_quotes_is_read_whole_and_in_parts(tmp_path: Path, store: Store) -> None:
    """A `\\"` in a value leaves a line with an odd count of quotes: no matter in JSON lines (CSV
    quoting does not apply), every row after it is read."""
    fixture = Path(__file__).parents[2] / "fixtures/warehouses/databricks_query_history.jsonl"
    rows = [json.loads(line) for line in fixture.read_text(encoding="utf-8").splitlines()]
    for row in rows[0], rows[2]:  # one in each part read
        row["statement_text"] += " -- say \"hi"
    lines = [json.dumps(row) + "\n" for row in rows]
    assert lines[0].count('"') % 2 and lines[2].count('"') % 2
    export_file = tmp_path / "history.jsonl"
    export_file.write_text("".join(lines), encoding="utf-8")
    whole = crawl([SourceSpec(path=str(export_file))], open_store(f"sqlite:///{tmp_path / 'whole.db'}"))
    assert (whole.records, whole.statements_failed) == (4, 1)
    export_file.write_text("".join(lines[:2]), encoding="utf-8")
    spec = [SourceSpec(path=str(export_file))]
    assert crawl(spec, store).records == 2
    export_file.write_text("".join(lines), encoding="utf-8")
    second = crawl(spec, store)
    assert (second.records, second.written, second.statements_failed) == (2, 1, 1)
    assert _edges(store) == _edges(open_store(f"sqlite:///{tmp_path / 'whole.db'}"))


def test_an_export_that_begins_as_another_still_in_place_is_a_file_of_its_own(tmp_path: Path,
                                                                               store: Store) -> None:
    """A wide export's header alone fills a file's head (Snowflake's QUERY_HISTORY has some 70
    columns): the next day's export begins alike, yet is a new file, read from its start."""
    header = "query," + ",".join(f"column_{n:02d}_of_the_vendor_export" for n in range(20)) + ",timestamp\n"
    assert len(header) > 512
    filler = "," * 20

    def export(day: int, count: int) -> str:
        return header + "".join(f'"insert into mart.d{day}_{n} select * from raw.s"{filler}"2026-11-{day} 06:00:00"\n'
                                for n in range(count))

    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "history_25.csv").write_text(export(25, 30), encoding="utf-8")
    spec = [SourceSpec(path=str(exports), dialect="postgres")]
    assert crawl(spec, store).records == 30
    (exports / "history_26.csv").write_text(export(26, 40), encoding="utf-8")
    second = crawl(spec, store)
    assert (second.records, second.written, second.issues) == (40, 40, 0), "no rewrite to report either"
    # An export of the whole history so far, under a new name, goes on from the furthest cursor
    # whose bytes it holds: the day before's, not the older one that it also begins as.
    (exports / "history_27.csv").write_text(export(26, 40) + export(27, 5).removeprefix(header), encoding="utf-8")
    third = crawl(spec, store)
    assert (third.records, third.written, third.issues) == (5, 5, 0)


def test_a_small_log_rotated_after_it_grew_goes_on_from_its_cursor(tmp_path: Path, store: Store) -> None:
    """A log crawled while under a whole head, grown and then rotated: its cursor is still its
    own (the file left its place), so the rotated file is read on from it, not again."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.jsonl").write_text("".join(_line("a", n) for n in range(2)), encoding="utf-8")
    assert (logs / "app.jsonl").stat().st_size < 512
    spec = [SourceSpec(path=str(logs))]
    assert crawl(spec, store).records == 2
    with (logs / "app.jsonl").open("a", encoding="utf-8") as stream:
        stream.write("".join(_line("a", n) for n in range(2, 6)))
    (logs / "app.jsonl").rename(logs / "app.jsonl.1.jsonl")
    (logs / "app.jsonl").write_text(_line("c", 7), encoding="utf-8")
    second = crawl(spec, store)
    assert (second.records, second.issues) == (4 + 1, 0)


def test_a_plain_copy_of_a_log_is_not_read_while_or_after_the_log_is(tmp_path: Path, store: Store) -> None:
    """`cp app.jsonl app.copy.jsonl` of a log still written to: every line of the copy is read
    from the log itself, before and after the log is rotated."""
    import shutil

    live, spec = _crawled_then_grown(tmp_path, store)
    shutil.copy(live, live.parent / "app.copy.jsonl")
    assert crawl(spec, store).records == 1, "the seventh line, once"
    with live.open("a", encoding="utf-8") as stream:
        stream.write(_line("b", 7))
    assert crawl(spec, store).records == 1
    live.rename(live.parent / "app.1.jsonl")
    live.write_text(_line("c", 8), encoding="utf-8")
    assert crawl(spec, store).records == 1, "only the new log's line"


@pytest.mark.parametrize("how", ["gz", "zst"])
def test_a_cut_archive_is_reported_and_the_crawl_goes_on(tmp_path: Path, store: Store, how: str) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    whole = _compress("".join(_line("a", n) for n in range(5000)).encode(), how)  # zstd: blocks of 128 KiB
    (logs / f"app.1.jsonl.{how}").write_bytes(whole[: len(whole) // 2])  # a copy cut short
    (logs / "app.jsonl").write_text(_line("b", 1), encoding="utf-8")
    (logs / f"other.jsonl.{how}").write_bytes(b"not an archive at all")
    spec = [SourceSpec(path=str(logs), type="sql_trace")]
    report = crawl(spec, store)
    assert report.issues_by_code == {"unreadable_file": 2}
    assert 1 < report.records < 5001, "what the cut archive held before the cut, and the plain log"
    assert any(n.name == "b" for n in store.nodes(kind="dataset")), "the files after it were read"
    issues = store.issues()
    assert {Path(i.origin.path).name for i in issues} == {f"app.1.jsonl.{how}", f"other.jsonl.{how}"}
    assert all("the rest of the file is skipped" in i.message for i in issues)
    again = crawl(spec, store)
    # Both are tried again from where their reading stopped (the rest may have come since), and
    # said again in the report while they stay damaged, but quarantined once.
    assert (again.records, again.issues_by_code, len(store.issues())) == (0, {"unreadable_file": 2}, 2)


def test_a_long_script_is_parsed_in_pieces_and_only_a_huge_statement_is_skipped(
        tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from crawler import sources
    from parsers.sql import events

    monkeypatch.setattr(sources, "SCRIPT_PIECE", 400)
    monkeypatch.setattr(sources, "MAX_SQL_CHARS", 1000)
    monkeypatch.setattr(events, "MAX_SQL_CHARS", 1000)
    statements = [f"insert into mart.t{n} select * from raw.s{n};\n" for n in range(30)]
    statements[12] = "insert into mart.huge values " + ", ".join(f"({n})" for n in range(400)) + ";\n"
    # A function whose body holds statement ends, and a string that does: no piece ends in them.
    statements[5] = ("create function mart.f5() returns void as $body$\nbegin\n" + "  perform 1;\n" * 40
                     + "end;\n$body$ language plpgsql;\n")
    statements[20] = "insert into mart.t20 select 'a;\n" + "b;\n" * 150 + "' from raw.s20;\n"
    script = tmp_path / "nightly.sql"
    script.write_text("".join(statements), encoding="utf-8")
    report = crawl([SourceSpec(path=str(script), dialect="postgres")], store)
    assert report.records > 3 and report.issues_by_code == {"statement_too_large": 1}
    (issue,) = store.issues()
    before = "".join(statements[:12])
    assert (issue.origin.line, issue.origin.byte_offset) == (before.count("\n") + 1, len(before.encode()))
    feeds = [e for e in store.edges(["FEEDS"])]
    assert len(feeds) == 28 and not any("huge" in e.dst for e in feeds), "every insert but the huge one"
    (last,) = [e for e in store.edges(["WRITES"]) if e.dst.endswith("mart.t29")]
    (evidence,) = store.evidence(last.key)
    before = "".join(statements[:29])
    assert (evidence.origin.line, evidence.origin.byte_offset) == (before.count("\n") + 1, len(before.encode()))


def test_issues_commit_with_the_facts_and_the_cursor(tmp_path: Path, store: Store,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # A crawl killed after its facts and cursor commit but before a separate write of the
    # quarantine would lose the issues for good: the rerun starts past the bad line.
    from graph.sqlite_store import SqliteStore

    log = tmp_path / "app.jsonl"
    log.write_text(_line("a", 0) + "{not json\n" + _line("a", 1), encoding="utf-8")
    spec = [SourceSpec(path=str(log))]

    def killed(*args: object) -> int:
        raise SystemExit("killed")

    with monkeypatch.context() as patch:
        patch.setattr(SqliteStore, "add_issues", killed)
        with contextlib.suppress(SystemExit):
            crawl(spec, store)
    crawl(spec, store)
    assert [issue.code for issue in store.issues()] == ["bad_json"]
    assert crawl(spec, store).records == 0


@pytest.mark.parametrize("how", ["gz", "zst"])
def test_an_archive_caught_while_copied_is_read_on_once_whole(tmp_path: Path, store: Store, how: str) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    whole = _compress("".join(_line("a", n) for n in range(5000)).encode(), how)
    archive = logs / f"app.1.jsonl.{how}"
    archive.write_bytes(whole[: len(whole) // 2])  # the copy is under way
    spec = [SourceSpec(path=str(logs), type="sql_trace")]
    first = crawl(spec, store, batch_size=1000)
    assert first.issues_by_code == {"unreadable_file": 1}
    archive.write_bytes(whole)  # and done
    second = crawl(spec, store, batch_size=1000)
    assert (first.records + second.records, second.issues) == (5000, 0)
    reference = open_store(f"sqlite:///{tmp_path / 'one.db'}")
    crawl(spec, reference, batch_size=1000)
    assert _edges(store) == _edges(reference)
    assert crawl(spec, store).records == 0, "read to its end: done"


def test_an_archive_crawl_killed_midway_goes_on_where_it_stopped(tmp_path: Path, store: Store,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    crawl_module = sys.modules["crawler.crawl"]  # (the package's `crawl` is the function)
    archive = tmp_path / "app.1.jsonl.gz"
    archive.write_bytes(_compress("".join(_line("a", n) for n in range(3000)).encode(), "gz"))
    spec = [SourceSpec(path=str(archive), type="sql_trace")]
    real, flushes = crawl_module._flush, []

    def killed_after_two(*args: Any) -> None:
        real(*args)
        flushes.append(1)
        if len(flushes) == 2:
            raise SystemExit("killed")

    monkeypatch.setattr(crawl_module, "_flush", killed_after_two)
    with pytest.raises(SystemExit):
        crawl(spec, store, batch_size=500)
    monkeypatch.setattr(crawl_module, "_flush", real)
    rerun = crawl(spec, store, batch_size=500)
    assert (rerun.records, rerun.already_seen) == (2000, 0), "the 1000 stored before the kill are not read again"
    reference = open_store(f"sqlite:///{tmp_path / 'one.db'}")
    crawl(spec, reference)
    assert dumps(export(store)) == dumps(export(reference))


def test_a_file_two_sources_reach_is_read_once(tmp_path: Path, store: Store) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.jsonl").write_text(_line("a", 0) + _line("a", 1), encoding="utf-8")
    report = crawl([SourceSpec(path=str(logs)), SourceSpec(path=str(logs / "*.jsonl"))], store)
    assert (report.files, report.records) == (1, 2)
