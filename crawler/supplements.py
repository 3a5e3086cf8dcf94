"""Side exports that complete a warehouse's query history, joined to its records by query id.

- Snowflake ``ACCOUNT_USAGE.ACCESS_HISTORY``
  (https://docs.snowflake.com/en/sql-reference/account-usage/access_history): the tables each
  query named (``direct_objects_accessed``) and wrote (``objects_modified``), as Snowflake itself
  resolved them. They are checked against the parse (a disagreement is reported, as for
  BigQuery's ``referenced_tables``) and stand in for it where the text gave no lineage
  (QUERY_HISTORY cuts texts at 100K characters). ``base_objects_accessed`` is not compared: it
  names the tables behind the views a query read, which the parse of one statement cannot see
  (the view's own definition links them).
- Redshift ``SYS_QUERY_TEXT`` (https://docs.aws.amazon.com/redshift/latest/dg/SYS_QUERY_TEXT.html):
  a query's whole text in rows of 4000 characters numbered by ``sequence``, where
  ``SYS_QUERY_HISTORY`` keeps only the first 4000. Export the ``text`` column untrimmed: a part
  may end in a blank that separates two words.

A crawl reads these files before the others and completes the history records it reads after
them: a side row finds its query only within one crawl, so export both views over the same window
of query start times. Queries that side rows spoke of but no history record of the crawl named
are counted in the report's notes.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from crawler.cursors import Start
from crawler.registry import Item, Read, SourceSpec, reader
from crawler.warehouses import columns_of, export_rows, json_value, unescape
from parsers import Origin, ParseIssue, SourceRecord

ACCESS_HISTORY = "snowflake"  # a side export is named by the vendor whose history it completes
QUERY_TEXT = "redshift"
# ACCESS_HISTORY's objectDomain values of what is read and written as a table; functions,
# procedures and stages are left out, as the parse does not name them as tables either.
TABLE_DOMAINS = frozenset({"table", "view", "materialized view", "external table", "dynamic table",
                           "iceberg table", "event table", "stream"})


def export_of(columns: set[str]) -> str | None:
    """Which side export has these columns. ACCESS_HISTORY is told by either of its arrays of
    objects: a JSON row may hold either first, and a file's sample may end inside it."""
    lowered = {column.lower() for column in columns}
    if lowered & {"direct_objects_accessed", "base_objects_accessed"}:
        return ACCESS_HISTORY
    if {"query_id", "sequence", "text"} <= lowered:
        return QUERY_TEXT
    return None


@reader("warehouse_supplement", sniff=lambda sample: export_of(columns_of(sample)) is not None, supplement=True)
def read_supplement(spec: SourceSpec, path: Path, start: Start) -> Iterator[Read]:
    """A side export: each row a record of what it says about one query."""
    yield from export_rows(path, start, export_of, _side_record)


def _side_record(export: str, row: Mapping[str, Any], origin: Origin) -> Item:
    query_id = str(row.get("query_id") or "")
    if not query_id:
        return ParseIssue(code="missing_query_id", message="a row without its query_id", origin=origin)
    attributes = {"vendor": export, "query_id": query_id}
    if export == QUERY_TEXT:
        sequence = str(row.get("sequence", "")).strip()
        if not sequence.isdigit():
            return ParseIssue(code="bad_row", message=f"sequence {sequence!r} is not a number", origin=origin)
        attributes["sequence"] = sequence
        return SourceRecord(source_type="warehouse_supplement", text=str(row.get("text") or ""), origin=origin,
                            attributes=attributes)
    attributes.update(_access_claims(row))
    return SourceRecord(source_type="warehouse_supplement", text="", origin=origin, attributes=attributes)


def _access_claims(row: Mapping[str, Any]) -> dict[str, str]:
    """The tables a query named and wrote. A DDL statement (``object_modified_by_ddl``, nothing
    in ``objects_modified``) claims nothing: the parse sees some DDL as writes, some as none."""
    modified = _tables(row.get("objects_modified"))
    if not modified and json_value(row.get("object_modified_by_ddl")):
        return {}
    return {"claimed_inputs": ",".join(_tables(row.get("direct_objects_accessed"))),
            "claimed_outputs": ",".join(modified)}


def _tables(value: Any) -> list[str]:
    objects = json_value(value)
    if not isinstance(objects, list):
        return []
    return sorted({str(item["objectName"]) for item in objects
                   if isinstance(item, dict) and item.get("objectName")
                   and str(item.get("objectDomain", "")).lower() in TABLE_DOMAINS})


Key = tuple[str, str]  # (vendor, query id)


def _key(record: SourceRecord) -> Key:
    return record.attributes.get("vendor", ""), record.attributes.get("query_id", "")


class Supplements:
    """Side rows by the query they speak of, to complete the history records of the same crawl."""

    def __init__(self) -> None:
        self._claims: dict[Key, dict[str, str]] = {}
        self._parts: defaultdict[Key, dict[int, str]] = defaultdict(dict)
        self._used: set[Key] = set()

    def add(self, record: SourceRecord) -> None:
        sequence = record.attributes.get("sequence")
        if sequence is None:
            self._claims[_key(record)] = {k: v for k, v in record.attributes.items() if k.startswith("claimed_")}
        else:
            self._parts[_key(record)][int(sequence)] = record.text

    def complete(self, record: SourceRecord) -> tuple[SourceRecord, list[ParseIssue]]:
        """``record`` with what side rows say of its query: its whole text, the tables claimed."""
        if not (self._claims or self._parts):
            return record, []  # (a crawl of no warehouse history: most)
        key = _key(record)
        if key not in self._claims and key not in self._parts:
            return record, []
        self._used.add(key)
        text, issues = self._text(key, record)
        attributes = {**record.attributes, **self._claims.get(key, {})}
        return dataclasses.replace(record, text=text, attributes=attributes), issues

    def _text(self, key: Key, record: SourceRecord) -> tuple[str, list[ParseIssue]]:
        parts = self._parts.get(key)
        if not parts:
            return record.text, []
        if sorted(parts) != list(range(len(parts))):
            return record.text, [ParseIssue(
                code="incomplete_query_text", severity="warning", origin=record.origin,
                message=f"SYS_QUERY_TEXT has parts {sorted(parts)} of query {key[1]}, not all from 0: "
                        "the history's cut text is used")]
        whole = "".join(parts[sequence] for sequence in range(len(parts)))
        return unescape(whole).rstrip(), []  # text is character(4000): the last part is blank-padded

    def used(self) -> frozenset[Key]:
        """The queries whose records this crawl completed (here: in a worker process, its own)."""
        return frozenset(self._used)

    def note_used(self, keys: Iterable[Key]) -> None:
        """Count as used the queries a worker's records completed."""
        self._used.update((key[0], key[1]) for key in keys)  # (lists, when they came as JSON)

    def unused(self) -> int:
        """How many queries side rows spoke of that no history record of this crawl named."""
        return len((self._claims.keys() | self._parts.keys()) - self._used)
