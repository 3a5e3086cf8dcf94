"""The embedded default store: one SQLite file in WAL mode, so the dashboard reads while a crawl
writes. Every query is parameterized.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from graph.errors import UnknownStoreError
from graph.model import Edge, Node, Usage, WriteStats, dataset_id, job_id, run_id
from graph.store import EVIDENCE_SAMPLE, register_backend
from parsers import Evidence, LineageEvent, Origin, ParseIssue
from parsers.fingerprint import digest

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, namespace TEXT, name TEXT NOT NULL, label TEXT,
    props TEXT NOT NULL DEFAULT '{}', first_seen TEXT, last_seen TEXT);
CREATE INDEX IF NOT EXISTS nodes_by_kind ON nodes (kind, name);
CREATE TABLE IF NOT EXISTS edges (
    src TEXT NOT NULL, kind TEXT NOT NULL, dst TEXT NOT NULL, count INTEGER NOT NULL,
    confidence REAL NOT NULL, first_seen TEXT, last_seen TEXT,
    PRIMARY KEY (src, kind, dst)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS edges_by_dst ON edges (dst, kind);
CREATE TABLE IF NOT EXISTS evidence (
    src TEXT NOT NULL, kind TEXT NOT NULL, dst TEXT NOT NULL, ordinal INTEGER NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (src, kind, dst, ordinal)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, job TEXT NOT NULL, started_at TEXT, user TEXT, session_id TEXT,
    status TEXT NOT NULL, statement_kind TEXT);
CREATE INDEX IF NOT EXISTS runs_by_job ON runs (job);
CREATE TABLE IF NOT EXISTS usage (
    node TEXT NOT NULL, user TEXT NOT NULL, role TEXT NOT NULL, count INTEGER NOT NULL,
    first_seen TEXT, last_seen TEXT, PRIMARY KEY (node, user, role)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS issues (
    key TEXT PRIMARY KEY, code TEXT NOT NULL, severity TEXT NOT NULL, message TEXT NOT NULL,
    path TEXT NOT NULL, line INTEGER, byte_offset INTEGER, snippet TEXT);
CREATE TABLE IF NOT EXISTS crawls (id INTEGER PRIMARY KEY AUTOINCREMENT, report TEXT NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', '0'), ('schema_version', '1');
"""

# Keep the earliest first_seen and latest last_seen of two, either of which may be unknown.
_SPAN = """first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
           last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen))"""

_UPSERT_NODE = f"""
INSERT INTO nodes (id, kind, namespace, name, label, props, first_seen, last_seen)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    label = coalesce(excluded.label, label),
    props = json_patch(props, excluded.props),
    {_SPAN}
"""

_UPSERT_EDGE = f"""
INSERT INTO edges (src, kind, dst, count, confidence, first_seen, last_seen) VALUES (?, ?, ?, 1, ?, ?, ?)
ON CONFLICT (src, kind, dst) DO UPDATE SET
    count = count + 1, confidence = max(confidence, excluded.confidence), {_SPAN}
RETURNING count
"""

_UPSERT_USAGE = f"""
INSERT INTO usage (node, user, role, count, first_seen, last_seen) VALUES (?, ?, ?, 1, ?, ?)
ON CONFLICT (node, user, role) DO UPDATE SET count = count + 1, {_SPAN}
"""


class SqliteStore:
    """Lineage in one SQLite file; a connection per thread, since Dash serves from many."""

    def __init__(self, url: str, path: str, *, read_only: bool = False) -> None:
        self.url = url
        self._path = path
        self._read_only = read_only
        self._local = threading.local()
        self._memory: sqlite3.Connection | None = None
        if not read_only:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db.executescript(SCHEMA)
        elif not Path(path).exists():
            raise UnknownStoreError(f"no lineage store at {path} (run `lineage crawl` first)")

    @property
    def _db(self) -> sqlite3.Connection:
        if self._path == ":memory:":
            if self._memory is None:
                self._memory = sqlite3.connect(":memory:", check_same_thread=False)
            return self._memory
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connect()
            self._local.connection = connection
        return connection

    def _connect(self) -> sqlite3.Connection:
        if self._read_only:
            connection = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=30)
        else:
            connection = sqlite3.connect(self._path, timeout=30)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    # -- writes ------------------------------------------------------------------------------

    def write(self, events: Sequence[LineageEvent]) -> WriteStats:
        written = 0
        with self._db as db:
            for event in events:
                if self._write_event(db, event):
                    written += 1
            if written:
                db.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
        return WriteStats(events=len(events), written=written, already_seen=len(events) - written)

    def _write_event(self, db: sqlite3.Connection, event: LineageEvent) -> bool:
        """Store one event unless its run is stored already (this is what makes crawls idempotent)."""
        run = event.run
        job = job_id(event.job)
        when = event.evidence.timestamp
        if run is not None:
            inserted = db.execute(
                "INSERT OR IGNORE INTO runs (id, job, started_at, user, session_id, status, statement_kind)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id(run.run_id), job, run.started_at, run.user, run.session_id, run.status,
                 event.statement_kind),
            ).rowcount
            if not inserted:
                return False
        props = {"statement_kind": event.statement_kind}
        db.execute(_UPSERT_NODE, (job, "job", event.job.namespace, event.job.name, event.job_title,
                                  json.dumps(props), when, when))
        for ref in (*event.inputs, *event.outputs):
            kind = event.dataset_kinds.get(ref.qualified)
            db.execute(_UPSERT_NODE, (dataset_id(ref), "dataset", ref.namespace, ref.name, None,
                                      json.dumps({"kind": kind} if kind else {}), when, when))
        evidence = event.evidence.to_json()
        edges = [(dataset_id(ref), "READS", job) for ref in event.inputs]
        edges += [(job, "WRITES", dataset_id(ref)) for ref in event.outputs]
        edges += [(dataset_id(i), "FEEDS", dataset_id(o)) for i in event.inputs for o in event.outputs]
        for src, kind, dst in edges:
            self._upsert_edge(db, (src, kind, dst), event.confidence, when, evidence)
        user = run.user if run is not None else None
        if user:
            for role, refs in (("read", event.inputs), ("write", event.outputs)):
                for ref in refs:
                    db.execute(_UPSERT_USAGE, (dataset_id(ref), user, role, when, when))
        return True

    def _upsert_edge(
        self, db: sqlite3.Connection, key: tuple[str, str, str], confidence: float, when: str | None,
        evidence: str,
    ) -> None:
        (count,) = db.execute(_UPSERT_EDGE, (*key, confidence, when, when)).fetchone()
        if count <= EVIDENCE_SAMPLE:
            db.execute("INSERT INTO evidence (src, kind, dst, ordinal, data) VALUES (?, ?, ?, ?, ?)",
                       (*key, count, evidence))

    def add_issues(self, issues: Sequence[ParseIssue]) -> int:
        added = 0
        with self._db as db:
            for issue in issues:
                origin = issue.origin
                key = digest(f"{issue.code}\0{origin.path}\0{origin.line}\0{origin.byte_offset}\0{issue.message}")
                added += db.execute(
                    "INSERT OR IGNORE INTO issues (key, code, severity, message, path, line, byte_offset, snippet)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, issue.code, issue.severity, issue.message, origin.path, origin.line,
                     origin.byte_offset, issue.snippet),
                ).rowcount
        return added

    def save_report(self, report: dict[str, Any]) -> None:
        with self._db as db:
            db.execute("INSERT INTO crawls (report) VALUES (?)", (json.dumps(report, sort_keys=True),))

    # -- reads -------------------------------------------------------------------------------

    def node(self, node_id: str) -> Node | None:
        if node_id.startswith("run:"):
            return next(self._runs("WHERE id = ?", (node_id,)), None)
        row = self._db.execute(
            "SELECT id, kind, namespace, name, label, props, first_seen, last_seen FROM nodes WHERE id = ?",
            (node_id,),
        ).fetchone()
        return _node(row) if row else None

    def nodes(self, kind: str | None = None) -> Iterator[Node]:
        if kind == "run":
            yield from self._runs("", ())
            return
        query = "SELECT id, kind, namespace, name, label, props, first_seen, last_seen FROM nodes"
        rows = self._db.execute(query + " WHERE kind = ? ORDER BY id", (kind,)) if kind else \
            self._db.execute(query + " ORDER BY id")
        yield from (_node(row) for row in rows)
        if kind is None:
            yield from self._runs("", ())

    def _runs(self, where: str, params: tuple[Any, ...]) -> Iterator[Node]:
        rows = self._db.execute(
            "SELECT id, job, started_at, user, session_id, status, statement_kind FROM runs "
            + where + " ORDER BY id", params)
        for rid, job, started_at, user, session_id, status, statement_kind in rows:
            props = {"job": job, "user": user, "session_id": session_id, "status": status,
                     "statement_kind": statement_kind}
            yield Node(id=rid, kind="run", name=rid.removeprefix("run:"),
                       props={k: v for k, v in props.items() if v is not None},
                       first_seen=started_at, last_seen=started_at)

    def edges(self, kinds: Sequence[str] | None = None) -> Iterator[Edge]:
        wanted = list(kinds) if kinds else None
        if wanted is None or set(wanted) - {"OF"}:
            query = "SELECT src, kind, dst, count, confidence, first_seen, last_seen FROM edges"
            if wanted:
                query += f" WHERE kind IN ({', '.join('?' for _ in wanted)})"
            for src, kind, dst, count, confidence, first_seen, last_seen in self._db.execute(
                query + " ORDER BY src, kind, dst", wanted or ()
            ):
                yield Edge(src=src, kind=kind, dst=dst, count=count, confidence=confidence,
                           first_seen=first_seen, last_seen=last_seen)
        if wanted is None or "OF" in wanted:
            for rid, job, started_at in self._db.execute("SELECT id, job, started_at FROM runs ORDER BY id"):
                yield Edge(src=rid, kind="OF", dst=job, first_seen=started_at, last_seen=started_at)

    def evidence(self, edge: tuple[str, str, str]) -> list[Evidence]:
        rows = self._db.execute(
            "SELECT data FROM evidence WHERE src = ? AND kind = ? AND dst = ? ORDER BY ordinal", edge)
        return [Evidence.from_dict(json.loads(data)) for (data,) in rows]

    def usage(self, node_id: str | None = None) -> list[Usage]:
        query = "SELECT node, user, role, count, first_seen, last_seen FROM usage"
        rows = self._db.execute(query + " WHERE node = ? ORDER BY node, role, user", (node_id,)) if node_id \
            else self._db.execute(query + " ORDER BY node, role, user")
        return [Usage(node=n, user=u, role=r, count=c, first_seen=f, last_seen=la) for n, u, r, c, f, la in rows]

    def issues(self, limit: int | None = None) -> list[ParseIssue]:
        rows = self._db.execute(
            "SELECT code, severity, message, path, line, byte_offset, snippet FROM issues"
            " ORDER BY path, byte_offset, line, code LIMIT ?", (-1 if limit is None else limit,))
        return [
            ParseIssue(code=code, severity=severity, message=message, snippet=snippet,
                       origin=Origin(path=path, line=line, byte_offset=offset))
            for code, severity, message, path, line, offset, snippet in rows
        ]

    def reports(self, limit: int = 10) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT report FROM crawls ORDER BY id DESC LIMIT ?", (limit,))
        return [json.loads(report) for (report,) in rows]

    def counts(self) -> dict[str, int]:
        """Nodes by kind and edges by kind, e.g. ``{"dataset": 9, "job": 12, "READS": 20, ...}``."""
        counts = dict(self._db.execute("SELECT kind, count(*) FROM nodes GROUP BY kind").fetchall())
        counts.update(self._db.execute("SELECT kind, count(*) FROM edges GROUP BY kind").fetchall())
        (runs,) = self._db.execute("SELECT count(*) FROM runs").fetchone()
        counts.update({"run": runs, "OF": runs, "issue": self._db.execute("SELECT count(*) FROM issues").fetchone()[0]})
        return {kind: count for kind, count in sorted(counts.items()) if count}

    def generation(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        connection = getattr(self._local, "connection", None) or self._memory
        if connection is not None:
            connection.close()
        self._local = threading.local()
        self._memory = None


def _node(row: tuple[Any, ...]) -> Node:
    node_id, kind, namespace, name, label, props, first_seen, last_seen = row
    return Node(id=node_id, kind=kind, namespace=namespace, name=name, label=label,
                props=json.loads(props), first_seen=first_seen, last_seen=last_seen)


def open_sqlite(url: str, read_only: bool) -> SqliteStore:
    """``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or ``sqlite:///:memory:``."""
    parts = urlsplit(url)
    if parts.netloc or not parts.path.startswith("/") or len(parts.path) < 2:
        raise UnknownStoreError(f"bad SQLite store URL {url!r}: use sqlite:///path/to/lineage.db")
    return SqliteStore(url, parts.path[1:], read_only=read_only)


register_backend("sqlite", open_sqlite)
