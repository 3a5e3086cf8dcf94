"""The lineage of a SQL text as one JSON document: the stable shape of ``lineage sql --json``.

>>> from parsers.naming import NameContext
>>> doc = describe("insert into b select * from a; select * from b", NameContext.of("mysql", database="shop"))
>>> doc["sources"], doc["targets"], [s["kind"] for s in doc["statements"]]
(['shop.a', 'shop.b'], ['shop.b'], ['INSERT', 'SELECT'])
>>> describe("drop table if exists staging.old", NameContext.of("postgres"))["lifecycle"]
[{'event': 'drop', 'dataset': 'staging.old'}]
"""

from __future__ import annotations

import dataclasses
from typing import Any

from parsers.catalog import Catalog
from parsers.model import DatasetEvent
from parsers.naming import NameContext
from parsers.sql.lineage import StatementLineage, analyze
from parsers.sql.scripts import display_name, resolve


def describe(sql: str, context: NameContext, source_id: str = "-") -> dict[str, Any]:
    """``id``, ``sources``, ``targets``, ``column_lineage``, ``lifecycle``, ``issues``,
    ``confidence`` and, per statement, its line, kind, fingerprint, sources and targets (the
    intermediate tables a script passes data through are in those, not in the totals)."""
    # The text is one session: it learns the columns of the tables it creates, temporary ones
    # too, for its later statements (INSERT INTO t SELECT ... by position, SELECT * FROM t).
    session = context.catalog.for_session() if context.catalog is not None else Catalog(session=True)
    statements = analyze(sql, dataclasses.replace(context, catalog=session), columns=True)
    script = resolve(statements)
    direct = {ref for s in statements for ref in s.inputs if ref not in s.indirect}
    indirect = sorted({display_name(d) for d in script.sources if d not in direct})
    return {
        "id": source_id,
        # Sources read only to decide which rows change or come out (DELETE ... USING, semi-joins).
        **({"indirect_sources": indirect} if indirect else {}),
        "sources": sorted({display_name(d) for d in script.sources}),
        "targets": sorted({display_name(d) for d in script.targets}),
        "column_lineage": [{"target": f.target, "sources": list(f.sources), "kind": f.kind} for f in script.columns],
        "lifecycle": [_lifecycle(change) for change in script.lifecycle],
        "intermediates": [display_name(d) for d in script.intermediates],
        "issues": [
            {"code": i.code, "message": i.message, "severity": i.severity, "line": s.statement.line}
            for s in statements
            for i in s.issues
        ],
        "confidence": min([s.confidence for s in statements] + [s.column_confidence for s in statements] + [1.0]),
        "statements": [_statement(s) for s in statements],
    }


def unreadable(doc: dict[str, Any]) -> bool:
    """Whether some of a described input could not be read as SQL (an issue of severity error).

    >>> unreadable(describe("selec * form x", NameContext.of("postgres")))
    True
    """
    return any(issue["severity"] == "error" for issue in doc["issues"])


def bad_input(source_id: str, message: str) -> dict[str, Any]:
    """What ``describe`` gives for an input that holds no SQL to read: the same keys, empty."""
    return {"id": source_id, "sources": [], "targets": [], "column_lineage": [], "lifecycle": [],
            "intermediates": [], "issues": [{"code": "bad_input", "message": message, "severity": "error"}],
            "confidence": 0.0, "statements": []}


def _statement(s: StatementLineage) -> dict[str, Any]:
    found = {"line": s.statement.line, "kind": s.kind, "fingerprint": s.statement.fingerprint,
             "sources": [display_name(d) for d in s.inputs], "targets": [display_name(d) for d in s.outputs]}
    if s.indirect:
        found["indirect_sources"] = [display_name(d) for d in s.indirect]
    if s.routine:
        found["routine"] = s.routine
    return found


def _lifecycle(change: DatasetEvent) -> dict[str, str]:
    found = {"event": change.event, "dataset": display_name(change.dataset)}
    if change.other is not None:
        found["to"] = display_name(change.other)
    return found
