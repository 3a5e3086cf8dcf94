"""Warehouse query-history exports (CSV or JSON lines) with the vendors' own column names, and
generic CSV traces with a user-given field mapping.

- Snowflake ``ACCOUNT_USAGE.QUERY_HISTORY``: https://docs.snowflake.com/en/sql-reference/account-usage/query_history
- BigQuery ``INFORMATION_SCHEMA.JOBS``: https://cloud.google.com/bigquery/docs/information-schema-jobs
  (``referenced_tables`` and ``destination_table`` are compared with the parse; disagreements are reported)
- Redshift ``SYS_QUERY_HISTORY``: https://docs.aws.amazon.com/redshift/latest/dg/SYS_QUERY_HISTORY.html
  (its texts are cut at 4000 characters and written with ``\\n`` for newlines)
- Databricks ``system.query.history``: https://docs.databricks.com/en/admin/system-tables/query-history.html

Only statements that succeeded give lineage; failed and cancelled ones are counted. Side exports
that complete these histories (Snowflake's ACCESS_HISTORY, Redshift's SYS_QUERY_TEXT) are read by
:mod:`crawler.supplements`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from crawler.cursors import Start
from crawler.registry import Item, Read, SourceSpec, reader
from crawler.streams import Unreadable, rows_from
from crawler.timestamps import normalize
from parsers import Origin, ParseIssue, SourceRecord


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Vendor:
    """Where one vendor's export keeps each field (column names compared case-insensitively)."""

    name: str
    dialect: str
    marks: frozenset[str]  # columns that together say "this is that vendor's export"
    query: str
    timestamp: str
    user: str
    status: str
    succeeded: frozenset[str]
    query_id: str | None = None  # what side exports of the same vendor join on
    database: str | None = None
    schema: str | None = None
    session: str | None = None
    application: str | None = None
    escaped: bool = False  # texts written with an escaped newline and backslash (see unescape)


VENDORS = (
    Vendor(name="snowflake", dialect="snowflake", marks=frozenset({"query_text", "execution_status", "warehouse_name"}),
           query="query_text", timestamp="start_time", user="user_name", status="execution_status",
           succeeded=frozenset({"success"}), query_id="query_id", database="database_name", schema="schema_name",
           session="session_id"),
    Vendor(name="databricks", dialect="databricks", marks=frozenset({"statement_text", "execution_status"}),
           query="statement_text", timestamp="start_time", user="executed_by", status="execution_status",
           succeeded=frozenset({"finished"}), session="session_id", application="client_application"),
    Vendor(name="bigquery", dialect="bigquery", marks=frozenset({"job_id", "query", "creation_time"}),
           query="query", timestamp="creation_time", user="user_email", status="state",
           succeeded=frozenset({"done"}), database="project_id"),
    Vendor(name="redshift", dialect="redshift", marks=frozenset({"query_text", "query_type", "status"}),
           query="query_text", timestamp="start_time", user="user_id", status="status",
           succeeded=frozenset({"success"}), query_id="query_id", database="database_name", session="session_id",
           escaped=True),
)


def vendor_of(columns: set[str]) -> Vendor | None:
    lowered = {column.lower() for column in columns}
    return next((vendor for vendor in VENDORS if vendor.marks <= lowered), None)


def columns_of(sample: bytes) -> set[str]:
    """The column names a file's first line shows: a CSV header, or the keys of a JSON object
    (found by pattern, not parsed: a long first row is cut off in a sample)."""
    first = sample.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    if first.lstrip().startswith("{"):
        return set(re.findall(r'"(\w+)"\s*:', first))
    return {column.strip().strip('"') for column in first.split(",")}


Kind = TypeVar("Kind")


def export_rows(path: Path, start: Start, kind_of: Callable[[set[str]], Kind | None],
                item: Callable[[Kind, Mapping[str, Any], Origin], Item]) -> Iterator[Read]:
    """The rows of an export (CSV or JSON lines) from ``start`` on, as items: ``kind_of`` tells
    which export it is from its columns (compared in lower case), ``item`` makes each row's."""
    where = str(path)
    kind: Kind | None = None
    for raw_row, offset, end, number in rows_from(path, start):
        origin = Origin(path=where, line=number, byte_offset=offset)
        if raw_row is None:
            yield Read(ParseIssue(code="bad_json", message="not a JSON object", origin=origin), end, number)
            continue
        if isinstance(raw_row, Unreadable):
            yield Read(ParseIssue(code="bad_csv", message=raw_row.reason, origin=origin), end, number)
            continue
        row = {str(k).lower(): v for k, v in raw_row.items()}
        kind = kind or kind_of(set(row))
        if kind is None:
            yield Read(ParseIssue(code="unknown_export", message="columns of no known export", origin=origin),
                       end, number)
            continue
        yield Read(item(kind, row, origin), end, number)


@reader("warehouse_history", sniff=lambda sample: vendor_of(columns_of(sample)) is not None)
def read_warehouse_history(spec: SourceSpec, path: Path, start: Start) -> Iterator[Read]:
    """A vendor's query-history export: the vendor is told from its columns."""
    yield from export_rows(path, start, vendor_of, lambda vendor, row, origin: _record(spec, vendor, row, origin))


def _record(spec: SourceSpec, vendor: Vendor, row: Mapping[str, Any], origin: Origin) -> SourceRecord:
    def text(column: str | None) -> str | None:
        value = row.get(column) if column else None
        return None if value in (None, "") else str(value)

    status = (text(vendor.status) or "").lower()
    failed = status not in vendor.succeeded or (vendor.name == "bigquery" and row.get("error_result"))
    attributes = {"status": "failed" if failed else "completed", "vendor": vendor.name}
    query_id = text(vendor.query_id)
    if query_id is not None:
        attributes["query_id"] = query_id
    attributes.update(_claims(vendor, row))
    query = text(vendor.query) or ""
    return SourceRecord(
        source_type="warehouse_history", text=unescape(query) if vendor.escaped else query, origin=origin,
        timestamp=normalize(text(vendor.timestamp)), user=text(vendor.user),
        database=text(vendor.database) or spec.database, schema=text(vendor.schema) or spec.schema,
        session_id=text(vendor.session), application=text(vendor.application),
        dialect=spec.dialect or vendor.dialect, namespace=spec.namespace or f"{vendor.name}://default",
        attributes=attributes,
    )


def _claims(vendor: Vendor, row: Mapping[str, Any]) -> dict[str, str]:
    """What the warehouse itself says the job read and wrote (BigQuery), to check the parse by."""
    if vendor.name != "bigquery":
        return {}
    claims = {}
    referenced = json_value(row.get("referenced_tables"))
    if isinstance(referenced, list):
        claims["claimed_inputs"] = ",".join(sorted(_bigquery_table(t) for t in referenced if isinstance(t, dict)))
    destination = json_value(row.get("destination_table"))
    if isinstance(destination, dict) and destination.get("table_id") and not str(
            destination.get("dataset_id", "")).startswith("_"):  # "_..." datasets hold anonymous results
        claims["claimed_outputs"] = _bigquery_table(destination)
    return claims


def unescape(text: str) -> str:
    r"""A Redshift system table's text as it was run: ``\n`` stands for a newline and ``\\`` for
    a backslash (https://docs.aws.amazon.com/redshift/latest/dg/SYS_QUERY_TEXT.html).

    >>> print(unescape(r"select 1\nfrom t where s like '%\\n%'"))
    select 1
    from t where s like '%\n%'
    """
    return re.sub(r"\\([\\n])", lambda match: "\n" if match[1] == "n" else "\\", text)


def json_value(value: Any) -> Any:
    if isinstance(value, str) and value.strip().startswith(("[", "{")):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _bigquery_table(table: Mapping[str, Any]) -> str:
    return f"{table.get('project_id')}.{table.get('dataset_id')}.{table.get('table_id')}".lower()


def _sniff_dbt(sample: bytes) -> bool:
    return b'"dbt_schema_version"' in sample and b"run-results" in sample


@reader("dbt_run_results", sniff=_sniff_dbt)
def read_dbt_run_results(spec: SourceSpec, path: Path, start: Start) -> Iterator[Read]:
    """dbt's ``target/run_results.json``: each model that ran becomes ``CREATE TABLE relation AS
    compiled_code`` (https://docs.getdbt.com/reference/artifacts/run-results-json). Tests and
    other nodes without a relation are skipped; models that failed are counted."""
    if start.offset:
        return  # written whole by each dbt invocation: a changed file is read again from the start
    data = path.read_bytes()
    where = str(path)
    try:
        document = json.loads(data)
    except ValueError as error:
        yield Read(ParseIssue(code="bad_json", message=f"not JSON: {error}", origin=Origin(path=where)),
                   len(data), data.count(b"\n"))
        return
    if not isinstance(document, dict) or not isinstance(document.get("results") or [], list):
        yield Read(ParseIssue(code="bad_json", origin=Origin(path=where),
                              message="not dbt's run_results.json: no object with a list of results"),
                   len(data), data.count(b"\n"))
        return
    metadata = document.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    for index, result in enumerate(document.get("results") or []):
        if not isinstance(result, dict):
            issue = ParseIssue(code="bad_json", origin=Origin(path=where, line=index + 1),
                               message=f"result {index + 1} is not an object: skipped")
            yield Read(issue, len(data), data.count(b"\n"))
            continue
        relation, code = result.get("relation_name"), result.get("compiled_code")
        if not relation or not code or not str(result.get("unique_id", "")).startswith(("model.", "snapshot.")):
            continue
        timing = result.get("timing")
        timing = timing if isinstance(timing, list) else []
        finished = [t["completed_at"] for t in timing if isinstance(t, dict) and t.get("completed_at")]
        yield Read(SourceRecord(
            source_type="dbt_run_results", text=f"CREATE TABLE {relation} AS {code}",
            origin=Origin(path=where, line=index + 1), timestamp=normalize(finished[-1] if finished else None),
            dialect=spec.dialect, namespace=spec.namespace, database=spec.database, schema=spec.schema,
            session_id=str(metadata.get("invocation_id") or "") or None,
            attributes={"status": "completed" if result.get("status") == "success" else "failed",
                        "dbt_node": str(result.get("unique_id"))},
        ), len(data), data.count(b"\n"))
