"""The lineage of a SQL text as one JSON document: the stable shape of ``lineage sql --json``.

>>> from parsers.naming import NameContext
>>> doc = describe("insert into b select * from a; select * from b", NameContext.of("mysql", database="shop"))
>>> doc["sources"], doc["targets"], [s["kind"] for s in doc["statements"]]
(['shop.a', 'shop.b'], ['shop.b'], ['INSERT', 'SELECT'])
"""

from __future__ import annotations

from typing import Any

from parsers.naming import NameContext
from parsers.sql.lineage import StatementLineage, analyze


def describe(sql: str, context: NameContext, source_id: str = "-") -> dict[str, Any]:
    """``id``, ``sources``, ``targets``, ``column_lineage``, ``issues``, ``confidence`` and, per
    statement, its line, kind, fingerprint, sources and targets."""
    statements = analyze(sql, context, columns=True)
    columns, column_confidence = column_lineage(statements)
    return {
        **_tables(source_id, statements),
        "column_lineage": columns,
        "confidence": min([s.confidence for s in statements] + [column_confidence]),
    }


def _tables(source_id: str, statements: list[StatementLineage]) -> dict[str, Any]:
    return {
        "id": source_id,
        "sources": sorted({d.name for s in statements for d in s.inputs}),
        "targets": sorted({d.name for s in statements for d in s.outputs}),
        "issues": [
            {"code": i.code, "message": i.message, "severity": i.severity, "line": s.statement.line}
            for s in statements
            for i in s.issues
        ],
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


def column_lineage(statements: list[StatementLineage]) -> tuple[list[dict[str, Any]], float]:
    """``{"target": "tbl.col", "sources": [...], "kind": "direct"|"indirect"}`` for every output
    column of every statement (for a plain SELECT the target is the output column's name), and
    the confidence: lower where a column could not be placed without a schema."""
    found = []
    for statement in statements:
        prefix = f"{statement.outputs[0].name}." if statement.outputs else ""
        found += [{"target": prefix + flow.target, "sources": flow.source_names(), "kind": flow.kind}
                  for flow in statement.column_flows]
    return found, min((s.column_confidence for s in statements), default=1.0)
