"""Lineage from job logs: Airflow task logs, Spark driver logs and applications' own logs.
Extraction rules are data (:mod:`parsers.joblogs.rules`): built-in rules per format, and the
user's from the crawl config. The crawler's readers (:mod:`crawler.formats.joblogs`) group the
lines of one task try (or one driver, or one stretch of an application's log) into a record;
:func:`parse_joblog_record` reads each."""

from __future__ import annotations

from parsers.joblogs.events import parse_joblog_record

__all__ = ["parse_joblog_record"]
