"""SQL lineage with sqlglot: statements, tables, names, events."""

from __future__ import annotations

from parsers.sql.events import parse_sql_record
from parsers.sql.lineage import StatementLineage, TemplateCache, analyze
from parsers.sql.report import describe

__all__ = ["StatementLineage", "TemplateCache", "analyze", "describe", "parse_sql_record"]
