"""A repeat of a template answered from the cache is still evidenced by its own text."""

from __future__ import annotations

import parsers
from parsers import Origin, SourceRecord


def _record(sql: str, line: int) -> SourceRecord:
    return SourceRecord(source_type="postgres_log", text=sql, origin=Origin(path="/pg.log", line=line),
                        dialect="postgres", namespace="postgres://db:5432", database="credit")


def test_each_repeat_keeps_its_own_redacted_text() -> None:
    first = parsers.parse(_record("INSERT INTO mart.t SELECT * FROM raw.s WHERE id IN (1, 2)", 1)).events[0]
    again = parsers.parse(_record("INSERT INTO mart.t  SELECT * FROM raw.s WHERE id IN (7, 8, 9, 10);", 2)).events[0]
    assert first.job == again.job, "one template"
    assert first.evidence.sql == "INSERT INTO mart.t SELECT * FROM raw.s WHERE id IN (?, ?)"
    assert again.evidence.sql == "INSERT INTO mart.t  SELECT * FROM raw.s WHERE id IN (?, ?, ?, ?)"
    assert "7" not in again.evidence.sql
