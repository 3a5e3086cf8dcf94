"""A crawl keeps what it changed in the lineage with its report (the crawls page reads it rather
than working out a diff per crawl on every visit): the kept summary is the diff of the store's
crawl stamps, on both stores."""

from __future__ import annotations

import json
from pathlib import Path

from crawler import config as crawl_config
from crawler.crawl import CrawlReport, crawl
from crawler.registry import SourceSpec
from dashboard import crawls
from graph import Store, open_store
from graph.changes import LISTED_AT_MOST, diff, summary
from tests.crawler.conftest import Fresh

LINE = '{{"timestamp": "{ts}", "user": "etl", "query": "INSERT INTO mart.{dst} (x) SELECT x FROM raw.{src}"}}\n'


def _kept_is_the_diff(store: Store, report: CrawlReport) -> dict[str, object]:
    """The report's summary, checked against the diff worked out now, and as the store keeps it."""
    expected = summary(diff(store, report.crawl - 1, report.crawl))
    assert report.changes == expected
    (saved,) = store.reports(limit=1)
    assert saved["changes"] == json.loads(json.dumps(expected)), "kept as it was worked out"
    section = crawls.crawl_section(saved, report.crawl - 1, newest=True)
    assert str(section) == str(crawls.crawl_section({**saved, "changes": expected}, report.crawl - 1, newest=True))
    return expected


def test_each_crawl_keeps_the_diff_of_what_it_changed(fresh_store: Fresh, demo_copy: Path, tmp_path: Path) -> None:
    store = open_store(fresh_store())
    try:
        first = _kept_is_the_diff(store, crawl(crawl_config.load(demo_copy / "crawl.toml").sources, store))
        assert first["after"] == 0 and first["counts"]["added"]["datasets"] > 20  # type: ignore[index]
        assert first["nodes"] > LISTED_AT_MOST == len(first["listed"]), "the first ones listed, all counted"  # type: ignore[arg-type, operator]
        trace = tmp_path / "trace.jsonl"
        trace.write_text(LINE.format(ts="2027-01-01T00:00:00+00:00", src="old", dst="old"), encoding="utf-8")
        spec = [SourceSpec(path=str(trace))]
        _kept_is_the_diff(store, crawl(spec, store))
        with trace.open("a", encoding="utf-8") as stream:
            stream.write(LINE.format(ts="2027-11-25T00:00:00+00:00", src="a", dst="b"))
        third = _kept_is_the_diff(store, crawl(spec, store))  # the edges before are 300 days older: stale
        assert sum(third["counts"]["stale"].values()) >= 1 and third["counts"]["added"]["datasets"] == 2  # type: ignore[index]
        assert {item["name"] for item in third["listed"]} >= {"raw.a", "mart.b"}  # type: ignore[union-attr, index]
        fourth = _kept_is_the_diff(store, crawl(spec, store))  # still stale: removed
        assert list(fourth["counts"]) == ["removed"]  # type: ignore[arg-type]
        fifth = _kept_is_the_diff(store, crawl(spec, store, stale_after=None))  # nothing new, no aging
        assert fifth["counts"] == {} and fifth["listed"] == []
        text = str(crawls.crawls_page(store))
        assert "Crawl 5: no lineage changed" in text and "Crawl 4: removed" in text
        assert "Crawl 3: added 2 datasets" in text
    finally:
        store.close()


def test_a_report_from_before_changes_were_kept_says_so(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    store.save_report({"crawl": 1, "files": 1})
    text = str(crawls.crawls_page(store))
    assert "Crawl 1: changes not kept" in text and "lineage diff 0 1" in text
    store.close()
