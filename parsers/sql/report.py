"""The lineage of a SQL text as one JSON document: the stable shape of ``lineage sql --json``.

>>> from parsers.naming import NameContext
>>> doc = describe("insert into b select * from a; select * from b", NameContext.of("mysql", database="shop"))
>>> doc["sources"], doc["targets"], [s["kind"] for s in doc["statements"]]
(['shop.a', 'shop.b'], ['shop.b'], ['INSERT', 'SELECT'])
"""

from __future__ import annotations

from typing import Any

from parsers.naming import NameContext
from parsers.sql.lineage import analyze


def describe(sql: str, context: NameContext, source_id: str = "-") -> dict[str, Any]:
    """``id``, ``sources``, ``targets``, ``column_lineage``, ``issues``, ``confidence`` and, per
    statement, its line, kind, fingerprint, sources and targets."""
    statements = analyze(sql, context)
    return {
        "id": source_id,
        "sources": sorted({d.name for s in statements for d in s.inputs}),
        "targets": sorted({d.name for s in statements for d in s.outputs}),
        "column_lineage": [],
        "issues": [
            {"code": i.code, "message": i.message, "severity": i.severity, "line": s.statement.line}
            for s in statements
            for i in s.issues
        ],
        "confidence": min((s.confidence for s in statements), default=1.0),
        "statements": [
            {
                "line": s.statement.line,
                "kind": s.kind,
                "fingerprint": s.statement.fingerprint,
                "sources": [d.name for d in s.inputs],
                "targets": [d.name for d in s.outputs],
            }
            for s in statements
        ],
    }
