"""The embedded default store: one SQLite file in WAL mode, so the dashboard reads while a crawl
writes. Every query is parameterized; removal is soft (``removed_at``) so ``as_of`` sees the past.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from graph.batch import EVIDENCE_SAMPLE, Batch, Cursor
from graph.errors import RunsAlreadyStoredError, UnknownStoreError
from graph.locks import FileLock, NoLock, WriterLock, read_only_lock
from graph.model import (
    Change,
    Details,
    Edge,
    IssueFilter,
    Member,
    Node,
    Quarantine,
    QuarantineEntry,
    Usage,
    is_run,
)
from graph.sqlite_rows import (
    EDGE_COLUMNS,
    NODE_COLUMNS,
    RUN_COLUMNS,
    chunks,
    edge_of,
    insert_issues,
    issue_clause,
    liveness,
    marks,
    node_of,
    stored_runs,
    to_json,
)
from graph.sqlite_schema import COUNTS_BY_SCAN, SCHEMA, add_missing_columns, bump_counts, count_once, live_now
from graph.sqlite_walks import Borrowed, ShapeChange, load_shape, patch_shape, reach_in_sql
from graph.store import EdgeKey, EdgeSeen
from graph.topology import Shapes, Topology
from parsers import Evidence, Origin, ParseIssue

# Keep the earliest first_seen and latest last_seen of two, either of which may be unknown.
_SPAN = """first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
           last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen))"""

# (In an upsert's SET every right-hand side reads the row as it was: added_in sees removed_at.)
_UPSERT_NODE = f"""
INSERT INTO nodes (id, kind, namespace, name, label, props, first_seen, last_seen, added_in)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    added_in = CASE WHEN removed_at IS NULL THEN added_in ELSE excluded.added_in END, removed_in = NULL,
    label = coalesce(excluded.label, label), removed_at = NULL,
    props = CASE excluded.props WHEN '{{}}' THEN props ELSE json_patch(props, excluded.props) END, {_SPAN}
"""
_UPSERT_EDGE = f"""
INSERT INTO edges (src, kind, dst, count, confidence, first_seen, last_seen, props, added_in)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (src, kind, dst) DO UPDATE SET
    added_in = CASE WHEN removed_at IS NULL THEN added_in ELSE excluded.added_in END, removed_in = NULL,
    stale_in = NULL,
    count = count + excluded.count, confidence = max(confidence, excluded.confidence),
    props = CASE excluded.props WHEN '{{}}' THEN props ELSE json_patch(props, excluded.props) END,
    stale_since = NULL, removed_at = NULL, {_SPAN}
"""
# Evidence item i of a batch row lands after what the edge had: ordinal = old count + i.
_ADD_EVIDENCE = """
INSERT OR IGNORE INTO evidence (src, kind, dst, ordinal, data)
SELECT src, kind, dst, count - ? + ?, ? FROM edges WHERE src = ? AND kind = ? AND dst = ? AND count - ? + ? <= ?
"""
_UPSERT_USAGE = f"""
INSERT INTO usage (node, user, role, count, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (node, user, role) DO UPDATE SET count = count + excluded.count, {_SPAN}
"""
_UPSERT_MEMBER = f"""
INSERT INTO members (dataset, name, count, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (dataset, name) DO UPDATE SET count = count + excluded.count, {_SPAN}
"""
# The live edges of a JSON list of keys: a primary key lookup each, in SQLite's C.
_EDGES_OF = (f"SELECT {', '.join('t.' + c for c in EDGE_COLUMNS.split(', '))} FROM json_each(?) j"
             " JOIN edges t ON t.src = j.value ->> 0 AND t.kind = j.value ->> 1 AND t.dst = j.value ->> 2"
             " WHERE t.removed_at IS NULL")
_INSERT_RUN = f"INSERT OR IGNORE INTO runs ({RUN_COLUMNS}) VALUES ({', '.join('?' * len(RUN_COLUMNS.split(', ')))})"
_INSERT_SPOOLED_RUNS = f"INSERT OR IGNORE INTO runs ({RUN_COLUMNS}) SELECT {RUN_COLUMNS} FROM spool.runs"
CACHE_KIB = 128 * 1024  # a writing connection's page cache (taken as pages are read)
# The page size of a new store (SQLite's default is 4 KiB; a store made before keeps its own). A
# crawl inserts a run per statement by a random id, so each batch's commit writes most pages of
# the id index: with 16 KiB pages, 1M runs in batches of 50,000 take a quarter less time
# (fewer pages, frames and B-tree levels), and a dashboard's point lookups read a page from the
# cache either way.
PAGE_BYTES = 16384
BUSY_SECONDS = 30.0  # how long a statement waits for another connection's write lock


def _write_ahead(connection: sqlite3.Connection) -> None:
    """WAL mode (kept in the file, so set once). The first writers of a new file race to set it,
    and SQLite refuses the others at once rather than waiting for their busy timeout: they try
    again until it has passed."""
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)

TRAVERSALS = ("auto", "memory", "store")




class SqliteStore:
    """Lineage in one SQLite file; a connection per thread, since Dash serves from many."""

    def __init__(self, url: str, path: str, *, read_only: bool = False, traversal: str = "auto") -> None:
        self.url = url
        self._traversal = traversal
        self._path = path
        self._read_only = read_only
        self._local = threading.local()
        self._memory: sqlite3.Connection | None = None
        self._shapes = Shapes(lambda: load_shape(self._connect_for_shape), lambda held: patch_shape(self._db, held))
        self._writer: WriterLock = NoLock(url) if path == ":memory:" else FileLock(url, Path(f"{path}.lock"))
        if path != ":memory:" and Path(path).is_dir():
            raise UnknownStoreError(f"{path} is a directory, not a lineage store (give a file: sqlite:///dir/lineage.db)")
        if read_only and not Path(path).exists():
            raise UnknownStoreError(f"no lineage store at {path} (run `lineage crawl` first)")
        try:
            if not read_only:
                if path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                # In one write transaction, taken before anything is read: writers opening a new
                # store at once wait for each other (a statement that reads first finds the file
                # changed under it, and SQLite refuses it at once, without waiting).
                self._db.executescript(f"BEGIN IMMEDIATE;\n{SCHEMA}\nCOMMIT;")
                add_missing_columns(self._db)
                count_once(self._db)
            else:
                self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        except (sqlite3.DatabaseError, OSError) as error:
            raise UnknownStoreError(f"{path} is not a lineage store that can be opened: {error}") from error

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

    def _connect_for_shape(self) -> sqlite3.Connection:
        """A connection of the shape's loader, closed once it has read (it runs in a thread of
        its own); an in-memory store has only the one."""
        if self._path == ":memory:":
            return Borrowed(self._db)  # type: ignore[return-value]
        return self._connect()

    def _connect(self) -> sqlite3.Connection:
        if self._read_only:
            return sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=BUSY_SECONDS)
        connection = sqlite3.connect(self._path, timeout=BUSY_SECONDS)
        connection.execute(f"PRAGMA page_size={PAGE_BYTES}")  # (before the file's first write; then a no-op)
        _write_ahead(connection)
        connection.execute("PRAGMA synchronous=NORMAL")
        # A crawl inserts a run per statement by a random id: with SQLite's 2 MB default the id
        # index outgrows the cache by a few hundred thousand runs and every insert reads pages.
        connection.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        return connection

    # -- writes ------------------------------------------------------------------------------

    def writer_lock(self, wait: float = 0.0) -> AbstractContextManager[None]:
        if self._read_only:
            raise read_only_lock(self.url)
        return self._writer.hold(wait)

    def known_runs(self, run_ids: Sequence[str]) -> set[str]:
        return stored_runs(self._db, run_ids)

    def apply(self, batch: Batch) -> None:
        if not batch:
            return
        if batch.runs_file is None:
            self._apply(batch)
            return
        # (a spool of runs is attached outside any transaction, and let go after: see spool_runs)
        self._db.execute("ATTACH DATABASE ? AS spool", (batch.runs_file,))
        try:
            self._apply(batch)
        finally:
            self._db.execute("DETACH DATABASE spool")

    def _apply(self, batch: Batch) -> None:
        with self._db as db:
            db.execute("BEGIN IMMEDIATE")
            # Runs first, each kept only if new: no lookup beforehand. Where one was stored
            # already, the batch is refused whole and its runs named (the with block rolls back).
            if batch.runs_file is None:
                runs = len(batch.runs)
                added = db.executemany(_INSERT_RUN, batch.runs.values()).rowcount if runs else 0
            else:
                runs = db.execute("SELECT count(*) FROM spool.runs").fetchone()[0]
                added = db.execute(_INSERT_SPOOLED_RUNS).rowcount
            if added != runs:
                db.rollback()  # (then the runs found are those stored before)
                ids = batch.run_ids()
                stored = stored_runs(db, list(ids))
                raise RunsAlreadyStoredError(stored, committed=stored == ids and self._last_commit(db) == batch.token)
            # Counted as written: what is live after, less what was live before.
            nodes_live = live_now(db, "node", ((n.id,) for n in batch.nodes.values()))
            edges_live = live_now(db, "edge", batch.edges)
            db.executemany(_UPSERT_NODE, [
                (n.id, n.kind, n.namespace, n.name, n.label, to_json(n.props), n.first_seen, n.last_seen, batch.crawl)
                for n in batch.nodes.values()])
            db.executemany(_UPSERT_EDGE, [
                (e.src, e.kind, e.dst, e.count, e.confidence, e.first_seen, e.last_seen, to_json(e.props), batch.crawl)
                for e in batch.edges.values()])
            db.executemany(_ADD_EVIDENCE, [
                (e.count, i, data, e.src, e.kind, e.dst, e.count, i, EVIDENCE_SAMPLE)
                for e in batch.edges.values() for i, data in enumerate(e.evidence, start=1)])
            db.executemany(_UPSERT_USAGE, [
                (u.node, u.key, u.role, u.count, u.first_seen, u.last_seen) for u in batch.usage.values()])
            db.executemany(_UPSERT_MEMBER, [
                (m.node, m.key, m.count, m.first_seen, m.last_seen) for m in batch.members.values()])
            issues = insert_issues(db, batch.issues, batch.crawl)
            bump_counts(db, "node", Counter(n.kind for n in batch.nodes.values()) - nodes_live)
            bump_counts(db, "edge", Counter(e.kind for e in batch.edges.values()) - edges_live)
            bump_counts(db, "run", {"": runs})
            bump_counts(db, "issue", {"": issues})
            db.executemany("INSERT OR REPLACE INTO cursors (path, byte_offset, line, head_length, head_digest,"
                           " tail_digest, size, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           [(c.path, c.offset, c.line, c.head_length, c.head_digest, c.tail_digest, c.size, c.state)
                            for c in batch.cursors.values()])
            if batch.nodes or batch.edges or runs:
                self._bump(db, change=ShapeChange.of_batch(batch), token=batch.token)

    @staticmethod
    def _last_commit(db: sqlite3.Connection) -> str | None:
        """The token of the last batch written (see graph.batch.Batch.token). A SQLite commit is
        never left unconfirmed, but the contract is one: a batch written again whole counts once."""
        row = db.execute("SELECT value FROM meta WHERE key = 'last_batch'").fetchone()
        return row[0] if row and row[0] else None

    def _bump(self, db: sqlite3.Connection, changes_before: int | None = None,
              change: ShapeChange | None = None, token: str = "") -> None:
        """A new generation, which readers' traversal index follows, and what it changed of the
        graph's shape; not when the write changed no row (a crawl that found nothing to age out or
        rerank leaves the index as it is). The generation's write is the last commit: its token
        (a batch's), or none."""
        if changes_before is None or db.total_changes > changes_before:
            db.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_batch', ?)", (token,))
            (change or ShapeChange()).log(db)

    def add_issues(self, issues: Sequence[ParseIssue]) -> int:
        with self._db as db:
            added = insert_issues(db, issues)
            bump_counts(db, "issue", {"": added})
            return added

    def save_report(self, report: dict[str, Any]) -> None:
        with self._db as db:
            db.execute("INSERT OR REPLACE INTO crawls (id, report) VALUES (?, ?)",
                       (report.get("crawl"), json.dumps(report, sort_keys=True)))

    def set_stale(self, edges: Sequence[EdgeKey], since: str | None, *, crawl: int | None = None) -> None:
        with self._db as db:
            before = db.total_changes
            db.executemany("UPDATE edges SET stale_since = ?, stale_in = ? WHERE src = ? AND kind = ? AND dst = ?",
                           [(since, crawl if since else None, *key) for key in edges])
            self._bump(db, before)

    def remove(self, edges: Sequence[EdgeKey], nodes: Sequence[str], at: str, *, crawl: int | None = None) -> None:
        with self._db as db:
            before = db.total_changes
            bump_counts(db, "edge", live_now(db, "edge", edges), -1)
            bump_counts(db, "node", live_now(db, "node", ((node,) for node in nodes)), -1)
            db.executemany("UPDATE edges SET removed_at = ?, removed_in = ? WHERE src = ? AND kind = ? AND dst = ?",
                           [(at, crawl, *key) for key in edges])
            db.executemany("UPDATE nodes SET removed_at = ?, removed_in = ? WHERE id = ?",
                           [(at, crawl, node) for node in nodes])
            self._bump(db, before, ShapeChange.of_removal(edges))

    def acknowledge(self, keys: Sequence[str], at: str) -> int:
        with self._db as db:
            return sum(db.execute("UPDATE issues SET acked_at = ? WHERE key = ? AND acked_at IS NULL",
                                  (at, key)).rowcount for key in keys)

    def release(self, keys: Sequence[str]) -> int:
        with self._db as db:
            released = sum(db.execute("DELETE FROM issues WHERE key = ?", (key,)).rowcount for key in keys)
            bump_counts(db, "issue", {"": -released})
            return released

    def set_ranks(self, ranks: dict[str, float]) -> None:
        with self._db as db:
            before = db.total_changes
            db.executemany("UPDATE nodes SET props = json_set(props, '$.rank', ?) "
                           "WHERE id = ? AND json_extract(props, '$.rank') IS NOT ?",
                           [(round(rank, 8), node, round(rank, 8)) for node, rank in ranks.items()])
            self._bump(db, before)

    def cursors(self) -> dict[str, Cursor]:
        rows = self._db.execute(
            "SELECT path, byte_offset, line, head_length, head_digest, tail_digest, size, state FROM cursors")
        return {path: Cursor(path=path, offset=offset, line=line, head_length=length, head_digest=head,
                             tail_digest=tail, size=size, state=state)
                for path, offset, line, length, head, tail, size, state in rows}

    # -- reads -------------------------------------------------------------------------------

    def node(self, node_id: str) -> Node | None:
        if node_id.startswith("run:"):
            return next(self._runs("WHERE id = ?", (node_id,)), None)
        row = self._db.execute(f"SELECT {NODE_COLUMNS} FROM nodes WHERE id = ?", (node_id,)).fetchone()
        return node_of(row) if row else None

    def nodes(self, kind: str | None = None, *, ids: Sequence[str] | None = None,
              include_removed: bool = False) -> Iterator[Node]:
        if ids is not None:
            # In order: each chunk then reads its own stretch of the index (a hub's impact reads 10^5).
            for chunk in chunks(sorted(ids)):
                rows = self._db.execute(f"SELECT {NODE_COLUMNS} FROM nodes WHERE id IN ({marks(chunk)})", chunk)
                yield from (node_of(row) for row in rows if include_removed or row[-1] is None)
                runs = [node_id for node_id in chunk if is_run(node_id)]
                if runs:
                    yield from self._runs(f"WHERE id IN ({marks(runs)})", tuple(runs))
            return
        if kind != "run":
            yield from (node_of(row) for row in self._node_rows(kind, include_removed))
        if kind in (None, "run"):
            yield from self._runs("", ())

    def _node_rows(self, kind: str | None, include_removed: bool = False) -> sqlite3.Cursor:
        where = [] if include_removed else ["removed_at IS NULL"]
        params: tuple[Any, ...] = ()
        if kind:
            where.append("kind = ?")
            params = (kind,)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        return self._db.execute(f"SELECT {NODE_COLUMNS} FROM nodes{clause} ORDER BY id", params)

    def _runs(self, where: str, params: tuple[Any, ...]) -> Iterator[Node]:
        rows = self._db.execute(f"SELECT {RUN_COLUMNS} FROM runs {where} ORDER BY id", params)
        for rid, job, started_at, user, session_id, status, statement_kind, facets in rows:
            props = {**(json.loads(facets) if facets != "{}" else {}), "job": job, "user": user,
                     "session_id": session_id, "status": status, "statement_kind": statement_kind}
            yield Node(id=rid, kind="run", name=rid.removeprefix("run:"),
                       props={k: v for k, v in props.items() if v is not None},
                       first_seen=started_at, last_seen=started_at)

    def find(self, text: str, kind: str | None = None, limit: int = 200) -> list[Node]:
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = (f"SELECT {NODE_COLUMNS} FROM nodes WHERE removed_at IS NULL AND kind != 'column'"
                 " AND (lower(name) LIKE ? ESCAPE '\\' OR lower(coalesce(label, '')) LIKE ? ESCAPE '\\')")
        params: list[Any] = [pattern, pattern]
        if kind:
            query += " AND kind = ?"
            params.append(kind)
        query += " ORDER BY coalesce(json_extract(props, '$.rank'), 0) DESC, name LIMIT ?"
        return [node_of(row) for row in self._db.execute(query, [*params, limit])]

    def edges(self, kinds: Sequence[str] | None = None, *, include_removed: bool = False) -> Iterator[Edge]:
        wanted = list(kinds) if kinds else None
        yield from (edge_of(row) for row in self._edge_rows(wanted, include_removed))
        if wanted is None or "OF" in wanted:
            for rid, job, started_at in self._db.execute("SELECT id, job, started_at FROM runs ORDER BY id"):
                yield Edge(src=rid, kind="OF", dst=job, first_seen=started_at, last_seen=started_at)

    def served_unproduced(self) -> list[Edge]:
        rows = self._db.execute(
            f"SELECT {EDGE_COLUMNS} FROM edges AS s WHERE s.kind = 'SERVED' AND s.removed_at IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM edges AS p WHERE p.dst = s.src AND p.kind = 'PRODUCED' AND p.removed_at IS NULL) "
            "ORDER BY src, kind, dst")
        return [edge_of(row) for row in rows]

    def _edge_rows(self, kinds: Sequence[str] | None, include_removed: bool = False) -> sqlite3.Cursor:
        where = [] if include_removed else ["removed_at IS NULL"]
        if kinds:
            where.append(f"kind IN ({marks(kinds)})")
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        return self._db.execute(f"SELECT {EDGE_COLUMNS} FROM edges{clause} ORDER BY src, kind, dst", kinds or ())

    def warm(self) -> threading.Thread | None:
        """Load the graph's shape for walks in a background thread (``lineage serve`` does on
        start); walks are answered in SQL until it is there. None when walks stay in SQL."""
        return None if self._traversal == "store" else self._shapes.warm()

    def _shape(self) -> Topology | None:
        """The graph's shape of the current generation, for walks in memory: with
        ``traversal=memory`` loaded now if need be; with ``auto`` (the default) only if loaded
        already, else None (walk in SQL) while a background thread loads it; never with ``store``."""
        if self._traversal == "store":
            return None
        wait = self._traversal == "memory" or self._path == ":memory:"
        return self._shapes.current(self.generation(), wait=wait)

    def neighbors(self, node_ids: Iterable[str], *, outgoing: Sequence[str] = (), incoming: Sequence[str] = (),
                  as_of: str | None = None, include_removed: bool = False,
                  crossing: Callable[[EdgeKey], bool] | None = None) -> list[Edge]:
        ids = list(node_ids)
        if crossing is not None:
            if as_of is None and not include_removed:
                return self._edges_of([key for key in self._neighbor_keys(ids, outgoing, incoming) if crossing(key)])
            return [edge for edge in self.neighbors(ids, outgoing=outgoing, incoming=incoming, as_of=as_of,
                                                    include_removed=include_removed) if crossing(edge.key)]
        live, live_params = liveness(as_of, include_removed)
        found: list[Edge] = []
        for column, kinds in (("src", list(outgoing)), ("dst", list(incoming))):
            if not kinds:
                continue
            for chunk in chunks(ids):
                query = (f"SELECT {EDGE_COLUMNS} FROM edges WHERE {column} IN ({marks(chunk)})"
                         f" AND kind IN ({marks(kinds)}){live}")
                found.extend(edge_of(row) for row in self._db.execute(query, [*chunk, *kinds, *live_params]))
        return found

    def edge_keys(self, node_ids: Iterable[str], *, outgoing: Sequence[str] = (),
                  incoming: Sequence[str] = ()) -> list[EdgeKey]:
        return self._neighbor_keys(list(node_ids), outgoing, incoming, live=" AND removed_at IS NULL")

    def edges_seen(self, node_ids: Iterable[str], *, outgoing: Sequence[str] = (),
                   incoming: Sequence[str] = ()) -> list[EdgeSeen]:
        # In order: each chunk of ids then reads its own stretch of the index (a third faster for a hub).
        return self._neighbor_rows(sorted(node_ids), outgoing, incoming, "src, kind, dst, last_seen",
                                   " AND removed_at IS NULL")

    def _neighbor_keys(self, ids: list[str], outgoing: Sequence[str], incoming: Sequence[str],
                       live: str = "") -> list[EdgeKey]:
        """The keys of the edges of these kinds at these nodes, live or not (unless ``live``):
        read from the keys alone (the index by target holds the source), not from the rows."""
        return self._neighbor_rows(ids, outgoing, incoming, "src, kind, dst", live)

    def _neighbor_rows(self, ids: list[str], outgoing: Sequence[str], incoming: Sequence[str], columns: str,
                       live: str) -> list[Any]:
        """These ``columns`` of the edges of these kinds at these nodes, as tuples (no Edge made)."""
        rows: list[Any] = []
        for column, kinds in (("src", list(outgoing)), ("dst", list(incoming))):
            for chunk in (chunks(ids) if kinds else ()):
                rows += self._db.execute(f"SELECT {columns} FROM edges WHERE {column} IN ({marks(chunk)})"
                                         f" AND kind IN ({marks(kinds)}){live}", [*chunk, *kinds])
        return rows

    def _edges_of(self, keys: list[EdgeKey]) -> list[Edge]:
        """The live edges of these keys."""
        found: list[Edge] = []
        for chunk in chunks(keys):
            found += map(edge_of, self._db.execute(_EDGES_OF, (json.dumps(chunk),)))
        return found

    def details(self, node_ids: Sequence[str], *, outgoing: Sequence[str] = (),
                incoming: Sequence[str] = ()) -> Details:
        ids = list(node_ids)
        return Details(nodes=list(self.nodes(ids=ids)), edges=self.neighbors(ids, outgoing=outgoing, incoming=incoming),
                       usage=self.usage(ids=ids))

    def reach(self, root: str, *, outgoing: Sequence[str], incoming: Sequence[str], steps: Mapping[str, int],
              cutoff: int | None = None) -> Mapping[str, int]:
        shape = self._shape()
        if shape is not None:
            return shape.reach(root, outgoing, incoming, steps, cutoff)
        return reach_in_sql(self._db, root, outgoing, incoming, steps, cutoff)

    def evidence(self, edge: EdgeKey) -> list[Evidence]:
        rows = self._db.execute(
            "SELECT data FROM evidence WHERE src = ? AND kind = ? AND dst = ? ORDER BY ordinal", edge)
        return [Evidence.from_dict(json.loads(data)) for (data,) in rows]

    def usage(self, node_id: str | None = None, *, ids: Sequence[str] | None = None) -> list[Usage]:
        query = "SELECT node, user, role, count, first_seen, last_seen FROM usage"
        if ids is not None:
            rows: list[tuple[Any, ...]] = []
            for chunk in chunks(ids):
                rows += self._db.execute(f"{query} WHERE node IN ({marks(chunk)})", chunk)
            rows.sort(key=lambda row: (row[0], row[2], row[1]))
        elif node_id:
            rows = list(self._db.execute(query + " WHERE node = ? ORDER BY node, role, user", (node_id,)))
        else:
            rows = list(self._db.execute(query + " ORDER BY node, role, user"))
        return [Usage(node=n, user=u, role=r, count=c, first_seen=f, last_seen=la) for n, u, r, c, f, la in rows]

    def members(self, node_id: str | None = None) -> list[Member]:
        query = "SELECT dataset, name, count, first_seen, last_seen FROM members"
        rows = self._db.execute(query + " WHERE dataset = ? ORDER BY dataset, name", (node_id,)) if node_id \
            else self._db.execute(query + " ORDER BY dataset, name")
        return [Member(dataset=d, name=n, count=c, first_seen=f, last_seen=la) for d, n, c, f, la in rows]

    def issues(self, limit: int | None = None) -> list[ParseIssue]:
        rows = self._db.execute(
            "SELECT code, severity, message, path, line, byte_offset, snippet FROM issues"
            " ORDER BY path, byte_offset, line, code LIMIT ?", (-1 if limit is None else limit,))
        return [
            ParseIssue(code=code, severity=severity, message=message, snippet=snippet,
                       origin=Origin(path=path, line=line, byte_offset=offset))
            for code, severity, message, path, line, offset, snippet in rows
        ]

    def quarantine(self, where: IssueFilter, limit: int | None = None) -> Quarantine:
        clause, params = issue_clause(where)
        (total,) = self._db.execute(f"SELECT count(*) FROM issues{clause}", params).fetchone()
        rows = self._db.execute(
            "SELECT key, code, severity, message, path, line, byte_offset, snippet, crawl, acked_at FROM issues"
            f"{clause} ORDER BY path, byte_offset, line, code LIMIT ?", [*params, -1 if limit is None else limit])
        return Quarantine(total=total, entries=[
            QuarantineEntry(key=key, crawl=crawl, acknowledged_at=acked, issue=ParseIssue(
                code=code, severity=severity, message=message, snippet=snippet,
                origin=Origin(path=path, line=line, byte_offset=offset)))
            for key, code, severity, message, path, line, offset, snippet, crawl, acked in rows])

    def reports(self, limit: int = 10) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT id, report FROM crawls ORDER BY id DESC LIMIT ?", (limit,))
        return [{**json.loads(report), "crawl": number} for number, report in rows]

    def changes(self, after: int, upto: int) -> list[Change]:
        found: list[Change] = []
        for change, column in (("added", "added_in"), ("removed", "removed_in")):
            rows = self._db.execute(f"SELECT {NODE_COLUMNS}, {column} FROM nodes WHERE {column} > ? AND {column} <= ?"
                                    " ORDER BY id", (after, upto))
            found += [Change(crawl=row[-1], change=change, node=node_of(row[:-1])) for row in rows]  # type: ignore[arg-type]
        for change, column in (("added", "added_in"), ("stale", "stale_in"), ("removed", "removed_in")):
            rows = self._db.execute(f"SELECT {EDGE_COLUMNS}, {column} FROM edges WHERE {column} > ? AND {column} <= ?"
                                    " ORDER BY src, kind, dst", (after, upto))
            found += [Change(crawl=row[-1], change=change, edge=edge_of(row[:-1])) for row in rows]  # type: ignore[arg-type]
        return found

    def counts(self) -> dict[str, int]:
        """Live nodes and edges by kind, runs and issues: ``{"dataset": 9, "READS": 20, ...}``. Kept
        by the writes (a store made before, opened read-only, is counted by a scan)."""
        db = self._db
        try:
            rows = list(db.execute("SELECT what, kind, n FROM counts"))
        except sqlite3.OperationalError:  # no such table: a store not opened for writing since
            rows = list(db.execute(COUNTS_BY_SCAN))
        counts = {kind or what: n for what, kind, n in rows}
        counts["OF"] = counts.get("OF", 0) + counts.get("run", 0)
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


def open_sqlite(url: str, read_only: bool) -> SqliteStore:
    """``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or ``sqlite:///:memory:``,
    with ``?traversal=auto|memory|store``: where walks run (see the README's Stores)."""
    parts = urlsplit(url)
    if parts.netloc or not parts.path.startswith("/") or len(parts.path) < 2:
        raise UnknownStoreError(f"bad SQLite store URL {url!r}: use sqlite:///path/to/lineage.db")
    options = parse_qs(parts.query, keep_blank_values=True)
    traversal = options.get("traversal", ["auto"])[-1]
    if set(options) - {"traversal"} or traversal not in TRAVERSALS:
        raise UnknownStoreError(f"bad SQLite store URL {url!r}: the only option is traversal={'|'.join(TRAVERSALS)}")
    return SqliteStore(url, parts.path[1:], read_only=read_only, traversal=traversal)
