"""Find and read sources, drive crawls, and host the `lineage` command-line program."""

from __future__ import annotations

from crawler.crawl import CrawlReport, crawl
from crawler.sources import FieldMap, SourceSpec

__all__ = ["CrawlReport", "FieldMap", "SourceSpec", "crawl"]
