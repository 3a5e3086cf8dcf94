"""The embedded store's tables, and the counts of live rows kept in them by each write."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, namespace TEXT, name TEXT NOT NULL, label TEXT,
    props TEXT NOT NULL DEFAULT '{}', first_seen TEXT, last_seen TEXT, removed_at TEXT);
CREATE INDEX IF NOT EXISTS nodes_by_kind ON nodes (kind, name);
-- Search, best ranked first (find's ORDER BY): read in rank order until the page is full, the
-- names and labels matched in the index; by kind, or across kinds.
CREATE INDEX IF NOT EXISTS nodes_by_rank ON nodes (coalesce(json_extract(props, '$.rank'), 0) DESC, name, label, kind)
    WHERE removed_at IS NULL;
CREATE INDEX IF NOT EXISTS nodes_by_kind_rank ON nodes (kind, coalesce(json_extract(props, '$.rank'), 0) DESC, name)
    WHERE removed_at IS NULL;
CREATE TABLE IF NOT EXISTS edges (
    src TEXT NOT NULL, kind TEXT NOT NULL, dst TEXT NOT NULL, count INTEGER NOT NULL,
    confidence REAL NOT NULL, first_seen TEXT, last_seen TEXT, props TEXT NOT NULL DEFAULT '{}',
    stale_since TEXT, removed_at TEXT,
    PRIMARY KEY (src, kind, dst)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS edges_by_dst ON edges (dst, kind);
CREATE TABLE IF NOT EXISTS evidence (
    src TEXT NOT NULL, kind TEXT NOT NULL, dst TEXT NOT NULL, ordinal INTEGER NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (src, kind, dst, ordinal)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, job TEXT NOT NULL, started_at TEXT, user TEXT, session_id TEXT,
    status TEXT NOT NULL, statement_kind TEXT, facets TEXT NOT NULL DEFAULT '{}');
-- (No index of runs by job: nothing asks for one, and a crawl's run inserts took a third longer
-- keeping it. Stores made before drop theirs.)
DROP INDEX IF EXISTS runs_by_job;
CREATE TABLE IF NOT EXISTS usage (
    node TEXT NOT NULL, user TEXT NOT NULL, role TEXT NOT NULL, count INTEGER NOT NULL,
    first_seen TEXT, last_seen TEXT, PRIMARY KEY (node, user, role)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS members (
    dataset TEXT NOT NULL, name TEXT NOT NULL, count INTEGER NOT NULL,
    first_seen TEXT, last_seen TEXT, PRIMARY KEY (dataset, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS issues (
    key TEXT PRIMARY KEY, code TEXT NOT NULL, severity TEXT NOT NULL, message TEXT NOT NULL,
    path TEXT NOT NULL, line INTEGER, byte_offset INTEGER, snippet TEXT);
CREATE TABLE IF NOT EXISTS crawls (id INTEGER PRIMARY KEY AUTOINCREMENT, report TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cursors (
    path TEXT PRIMARY KEY, byte_offset INTEGER NOT NULL, line INTEGER NOT NULL, head_length INTEGER NOT NULL,
    head_digest TEXT NOT NULL, tail_digest TEXT NOT NULL, size INTEGER NOT NULL, state TEXT NOT NULL DEFAULT '{}');
-- What each generation changed of the graph's shape (walk edges made live or removed, nodes made
-- live), so a reader holding the shape of an older one patches it (graph/sqlite_walks.py).
CREATE TABLE IF NOT EXISTS shape_log (generation INTEGER PRIMARY KEY, size INTEGER NOT NULL, changes TEXT NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', '0'), ('schema_version', '1');
"""

# Live nodes and edges by kind, runs and issues, kept up to date by each write in its own
# transaction: a page's counts are a lookup, not a scan of a million rows. (Not by triggers: a
# trigger's statement per row halved the write rate.) A store made before is counted once, on
# its first opening for writes (count_once).
_BUMP = ("INSERT INTO counts (what, kind, n) VALUES (?, ?, ?)"
         " ON CONFLICT (what, kind) DO UPDATE SET n = n + excluded.n")
# Of the rows a write names (a JSON list of keys), those live now, by kind: one index lookup
# each, in SQLite's C, not a query per row.
_LIVE_NOW = {
    "node": "SELECT t.kind, count(*) FROM json_each(?) j JOIN nodes t ON t.id = j.value ->> 0"
            " WHERE t.removed_at IS NULL GROUP BY t.kind",
    "edge": "SELECT t.kind, count(*) FROM json_each(?) j JOIN edges t ON t.src = j.value ->> 0"
            " AND t.kind = j.value ->> 1 AND t.dst = j.value ->> 2 WHERE t.removed_at IS NULL GROUP BY t.kind",
}


def live_now(db: sqlite3.Connection, what: str, keys: Iterable[Sequence[str]]) -> Counter[str]:
    """How many of these nodes ``(id,)`` or edges ``(src, kind, dst)`` are live, by kind."""
    listed = list(dict.fromkeys(tuple(key) for key in keys))
    return Counter(dict(db.execute(_LIVE_NOW[what], (json.dumps(listed),)))) if listed else Counter()


def bump_counts(db: sqlite3.Connection, what: str, by_kind: Mapping[str, int], sign: int = 1) -> None:
    db.executemany(_BUMP, [(what, kind, sign * n) for kind, n in by_kind.items() if n])


COUNTS_BY_SCAN = """
SELECT 'node', kind, count(*) FROM nodes WHERE removed_at IS NULL GROUP BY kind
UNION ALL SELECT 'edge', kind, count(*) FROM edges WHERE removed_at IS NULL GROUP BY kind
UNION ALL SELECT 'run', '', count(*) FROM runs
UNION ALL SELECT 'issue', '', count(*) FROM issues
"""


def count_once(db: sqlite3.Connection) -> None:
    """The counts table and its triggers, filled by one scan when the store has none yet."""
    with db:
        db.execute("BEGIN IMMEDIATE")  # two writers opening an old store: one counts it
        if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'counts'").fetchone():
            return
        db.execute("CREATE TABLE counts (what TEXT NOT NULL, kind TEXT NOT NULL, n INTEGER NOT NULL,"
                   " PRIMARY KEY (what, kind)) WITHOUT ROWID")
        db.execute(f"INSERT INTO counts (what, kind, n) {COUNTS_BY_SCAN}")



# The crawl that added (or brought back), marked stale or removed a node or edge, and the crawl
# that quarantined an issue and when it was acknowledged: what `lineage diff` and `issues` read.
_CRAWL_STAMPS = {"nodes": ("added_in INTEGER", "removed_in INTEGER"),
                 "edges": ("added_in INTEGER", "stale_in INTEGER", "removed_in INTEGER"),
                 "issues": ("crawl INTEGER", "acked_at TEXT")}


def add_missing_columns(db: sqlite3.Connection) -> None:
    """Columns added since a store was made: cursors' ``state`` (none carried before), runs'
    ``facets`` (code versions, parameters), the crawl stamps. Looked for and added in one write
    transaction: writers opening a store at once (crawls started together on a new one) add
    each column once, the others finding it there."""
    with db:
        db.execute("BEGIN IMMEDIATE")
        for table, columns in _CRAWL_STAMPS.items():
            present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            for column in columns:
                if column.split()[0] not in present:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
        if "state" not in {row[1] for row in db.execute("PRAGMA table_info(cursors)")}:
            db.execute("ALTER TABLE cursors ADD COLUMN state TEXT NOT NULL DEFAULT '{}'")
        if "facets" not in {row[1] for row in db.execute("PRAGMA table_info(runs)")}:
            db.execute("ALTER TABLE runs ADD COLUMN facets TEXT NOT NULL DEFAULT '{}'")

