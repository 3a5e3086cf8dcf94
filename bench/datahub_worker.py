"""DataHub's side of bench/datahub_bench.py, run by the Python of DataHub's own virtualenv
(acryl-datahub pins another sqlglot than ours): it imports nothing of this project.

It answers one JSON request a line on stdin with one JSON line on stdout, timing its own work,
so that starting it and its imports are not counted:

- ``{"cold": {"dialect": D, "schemas": {suite: {table: {column: type}}}, "statements": [[suite, sql], ...]}}``
  sets up a SchemaResolver per suite (the suite's tables, as ``<suite>.public.<table>``) and
  answers ``{"ready": true}``; then each ``{"run": N}`` times ``sqlglot_lineage`` of statement N
  (``null``: of every statement) with every cache of DataHub's SQL parsing emptied before it, and
  ``{"settle": true}`` collects its garbage before a round, as the bench does its own.
- ``{"log": PATH}``: DataHub's SqlParsingAggregator fed each statement of a PostgreSQL csvlog as an
  ObservedQuery (read with the csv module), then asked for its metadata (``gen_metadata``).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import gc
import json
import logging
import sys
import time
from typing import Any

from datahub.emitter.mce_builder import make_dataset_urn
from datahub.sql_parsing import sqlglot_lineage as lineage_module
from datahub.sql_parsing import sqlglot_utils
from datahub.sql_parsing.schema_resolver import SchemaResolver
from datahub.sql_parsing.sqlglot_lineage import sqlglot_lineage

CACHED_MODULES = (lineage_module, sqlglot_utils)


def caches() -> list[Any]:
    """Every functools cache of DataHub's SQL parsing (parse results, parsed statements, dialects)."""
    found = []
    for module in CACHED_MODULES:
        for value in vars(module).values():
            if isinstance(value, functools._lru_cache_wrapper):  # noqa: SLF001
                found.append(value)
    return found


class Cold:
    def __init__(self, dialect: str, schemas: dict[str, dict[str, dict[str, str]]],
                 statements: list[list[str]]) -> None:
        self.statements = statements
        self.resolvers = {}
        for suite, tables in schemas.items():
            resolver = SchemaResolver(platform=dialect, env="PROD")
            for table, columns in tables.items():
                resolver.add_raw_schema_info(make_dataset_urn(dialect, f"{suite}.public.{table}"), columns)
            self.resolvers[suite] = resolver
        self.caches = caches()
        self.run()  # the first calls build the dialect's tokenizer and parser tables: not what is measured

    def run(self, index: int | None = None) -> dict[str, Any]:
        """Every statement (or the one at ``index``), each with DataHub's caches emptied first."""
        failed = column_edges = 0
        chosen = self.statements if index is None else self.statements[index:index + 1]
        seconds = 0.0
        for suite, sql in chosen:
            for cache in self.caches:
                cache.cache_clear()
            start = time.perf_counter()
            result = sqlglot_lineage(sql, self.resolvers[suite], default_db=suite, default_schema="public")
            seconds += time.perf_counter() - start
            if result.debug_info.error is not None:
                failed += 1
            column_edges += len(result.column_lineage or ())
        return {"seconds": seconds, "failed": failed, "column_edges": column_edges}

    def settle(self) -> dict[str, Any]:
        """Before a round (as the bench before timing ours): each side pays for its own garbage only."""
        gc.collect()
        gc.freeze()
        return {"settled": True}


def aggregate(path: str) -> dict[str, Any]:
    """The aggregator over a csvlog, end to end: reading, parsing, lineage, usage, operations."""
    from datahub.ingestion.source.usage.usage_common import BaseUsageConfig
    from datahub.metadata.urns import CorpUserUrn
    from datahub.sql_parsing.sql_parsing_aggregator import ObservedQuery, SqlParsingAggregator

    start = time.perf_counter()
    day = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    aggregator = SqlParsingAggregator(
        platform="postgres", generate_lineage=True, generate_queries=True, generate_usage_statistics=True,
        generate_query_usage_statistics=True, generate_operations=True,
        usage_config=BaseUsageConfig(start_time=day, end_time=day + dt.timedelta(days=1)))
    statements = 0
    with open(path, newline="", encoding="utf-8") as stream:
        for row in csv.reader(stream):
            message = row[13]
            if not message.startswith("statement: "):
                continue
            when = dt.datetime.strptime(row[0].removesuffix(" UTC"), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=dt.UTC)
            aggregator.add_observed_query(ObservedQuery(
                query=message.removeprefix("statement: "), timestamp=when, user=CorpUserUrn(row[1]),
                session_id=row[5], default_db=row[2], default_schema="public"))
            statements += 1
    mcps = sum(1 for _ in aggregator.gen_metadata())
    report = aggregator.report
    aggregator.close()
    return {"seconds": time.perf_counter() - start, "statements": statements, "mcps": mcps,
            "failed": getattr(report, "num_observed_queries_failed", None)}


def main() -> None:
    logging.disable(logging.WARNING)  # DataHub logs each statement it cannot parse
    cold: Cold | None = None
    for line in sys.stdin:
        request = json.loads(line)
        if "cold" in request:
            cold = Cold(**request["cold"])
            answer: dict[str, Any] = {"ready": True}
        elif "run" in request:
            assert cold is not None
            answer = cold.run(request["run"])
        elif "settle" in request:
            assert cold is not None
            answer = cold.settle()
        else:
            answer = aggregate(request["log"])
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
