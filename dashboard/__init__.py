"""The Dash dashboard: search, lineage graphs and the evidence behind every edge. Read-only."""

from __future__ import annotations
