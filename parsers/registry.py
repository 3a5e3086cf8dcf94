"""Which parser reads which source type: crawlers name the type, this maps it to a parser."""

from __future__ import annotations

from collections.abc import Callable

from parsers.claims import parse_with_claims
from parsers.errors import UnknownSourceTypeError
from parsers.joblogs import parse_joblog_record
from parsers.ml.mlflow import parse_mlflow_record
from parsers.ml.predictions import parse_prediction_record
from parsers.model import ParseResult, SourceRecord
from parsers.openlineage import parse_openlineage_record
from parsers.spark import parse_spark_record
from parsers.sql.events import parse_sql_record

Parser = Callable[[SourceRecord], ParseResult]

_PARSERS: dict[str, Parser] = {}


def register(*source_types: str) -> Callable[[Parser], Parser]:
    def add(parser: Parser) -> Parser:
        for source_type in source_types:
            _PARSERS[source_type] = parser
        return parser

    return add


# Every record whose text is SQL, whatever log it came from; a warehouse's history may also say
# which tables each statement read and wrote.
register("sql_file", "sql_trace", "postgres_log", "mysql_general", "mysql_slow", "dbt_run_results")(parse_sql_record)
register("warehouse_history")(parse_with_claims)
register("spark_eventlog")(parse_spark_record)
register("airflow_task_log", "spark_driver_log", "app_log")(parse_joblog_record)
register("prediction_log")(parse_prediction_record)
register("openlineage")(parse_openlineage_record)
register("mlflow")(parse_mlflow_record)


def parse(record: SourceRecord) -> ParseResult:
    """Parse one record with the parser registered for its source type."""
    parser = _PARSERS.get(record.source_type)
    if parser is None:
        known = ", ".join(sorted(_PARSERS))
        raise UnknownSourceTypeError(f"no parser for source type {record.source_type!r} (known: {known})")
    return parser(record)


def source_types() -> list[str]:
    return sorted(_PARSERS)
