"""The pure core: raw records in, lineage facts out. No I/O, no globals but caches.

>>> from parsers import Origin, SourceRecord, parse
>>> result = parse(SourceRecord(source_type="sql_file", origin=Origin(path="/x.sql", line=1),
...                             text="create view v as select * from t", dialect="postgres"))
>>> [(d.name, result.events[0].dataset_facets[d.qualified]) for d in result.events[0].outputs]
[('public.v', {'kind': 'view'})]
"""

from __future__ import annotations

from parsers.model import (
    SCHEMA_VERSION,
    ColumnEdge,
    ColumnRef,
    DatasetEvent,
    DatasetRef,
    Evidence,
    JobRef,
    LineageEvent,
    ModelRef,
    Origin,
    ParseIssue,
    ParseResult,
    RunRef,
    Served,
    SourceRecord,
)
from parsers.naming import NameContext
from parsers.registry import parse, register, source_types

__all__ = [
    "SCHEMA_VERSION",
    "ColumnEdge",
    "ColumnRef",
    "DatasetEvent",
    "DatasetRef",
    "Evidence",
    "JobRef",
    "LineageEvent",
    "ModelRef",
    "NameContext",
    "Origin",
    "ParseIssue",
    "ParseResult",
    "RunRef",
    "Served",
    "SourceRecord",
    "parse",
    "register",
    "source_types",
]
