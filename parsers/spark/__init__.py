"""Spark lineage from event logs: the plans of SQL executions, read after the fact with nothing
installed in the jobs. The crawler's event-log reader (:mod:`crawler.formats.spark`) groups an
application's events into records; :func:`parse_spark_record` reads each."""

from __future__ import annotations

from parsers.spark.events import parse_spark_record

__all__ = ["parse_spark_record"]
