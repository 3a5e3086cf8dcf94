"""The Neo4j store: the same contract over Bolt with the official driver, for scale and sharing.

Every node carries the label ``Node`` with a unique ``id`` (constraint created on open) and its
kind as a property; relationships are typed by edge kind. Writes are batched ``UNWIND ... MERGE``
in one managed transaction per batch (the driver retries transient errors); an edge with an end
created by the same batch is written with ``CREATE``, between nodes found by element id. Every
query is a constant string with parameters: relationship types come from the fixed list of edge
kinds, never from data.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

import neo4j
import numpy as np
from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable

from graph.batch import EVIDENCE_SAMPLE, RUN_FIELDS, Batch, Cursor, EdgeRow, with_runs
from graph.errors import RunsAlreadyStoredError, StoreUnavailableError, UnknownStoreError
from graph.locks import read_only_lock
from graph.model import (
    EDGE_KINDS,
    Change,
    Details,
    Edge,
    IssueFilter,
    Member,
    Node,
    Quarantine,
    QuarantineEntry,
    Usage,
    issue_key,
)
from graph.neo4j_lock import Lease, lease_seconds
from graph.store import EdgeKey, EdgeSeen, register_backend
from graph.topology import END_KINDS, KINDS, Shapes, Topology
from parsers import Evidence, Origin, ParseIssue

SCHEMA = (
    "CREATE CONSTRAINT node_id IF NOT EXISTS FOR (n:Node) REQUIRE n.id IS UNIQUE",
    "CREATE INDEX node_kind IF NOT EXISTS FOR (n:Node) ON (n.kind)",
    "CREATE TEXT INDEX node_search IF NOT EXISTS FOR (n:Node) ON (n.search)",
    "CREATE CONSTRAINT usage_id IF NOT EXISTS FOR (u:Usage) REQUIRE u.id IS UNIQUE",
    "CREATE INDEX usage_node IF NOT EXISTS FOR (u:Usage) ON (u.node)",
    "CREATE CONSTRAINT member_id IF NOT EXISTS FOR (m:Member) REQUIRE m.id IS UNIQUE",
    "CREATE INDEX member_dataset IF NOT EXISTS FOR (m:Member) ON (m.dataset)",
    "CREATE CONSTRAINT issue_key IF NOT EXISTS FOR (i:Issue) REQUIRE i.key IS UNIQUE",
    "CREATE CONSTRAINT meta_key IF NOT EXISTS FOR (m:Meta) REQUIRE m.key IS UNIQUE",
    "CREATE CONSTRAINT cursor_path IF NOT EXISTS FOR (c:Cursor) REQUIRE c.path IS UNIQUE",
    "CREATE CONSTRAINT writer_lock_name IF NOT EXISTS FOR (l:WriterLock) REQUIRE l.name IS UNIQUE",
)

_SPAN = """
    {v}.first_seen = CASE WHEN {v}.first_seen IS NULL
                               OR ({r}.first_seen IS NOT NULL AND {r}.first_seen < {v}.first_seen)
                          THEN {r}.first_seen ELSE {v}.first_seen END,
    {v}.last_seen = CASE WHEN {v}.last_seen IS NULL OR ({r}.last_seen IS NOT NULL AND {r}.last_seen > {v}.last_seen)
                         THEN {r}.last_seen ELSE {v}.last_seen END"""

# Returns each node's element id (for cheap seeks by the edge writes) and whether this
# transaction created it: no other transaction can see such a node until commit, so an edge to it
# cannot exist yet and is created without the existence check of MERGE.
_NODES = """
UNWIND $rows AS r
MERGE (n:Node {id: r.id})
ON CREATE SET n.kind = r.kind, n.name = r.name, n.namespace = r.namespace, n.label = r.label, n.props = r.props,
    n.search = r.search, n.first_seen = r.first_seen, n.last_seen = r.last_seen, n.created_by_batch = true,
    n.added_in = $crawl
ON MATCH SET n.added_in = CASE WHEN n.removed_at IS NULL THEN n.added_in ELSE $crawl END, n.removed_in = null,
    n.label = coalesce(r.label, n.label), n.props = coalesce(r.props, n.props), n.removed_at = null,
""" + _SPAN.format(v="n", r="r") + """
WITH n, r, n.created_by_batch IS NOT NULL AS created
REMOVE n.created_by_batch
RETURN collect([r.id, elementId(n), created]) AS nodes
"""

# Which runs were already stored, checked in the writing transaction: MERGE under the unique
# constraint waits for a transaction creating the same run to end, then finds it (so two writers
# cannot both take a run for new). Those rows stop here; the caller then rolls back.
_RUNS = """
UNWIND $rows AS r
MERGE (x:Node {id: r.id})
ON CREATE SET x.kind = 'run', x.name = r.name, x.job = r.job, x.user = r.user, x.session_id = r.session_id,
              x.status = r.status, x.statement_kind = r.statement_kind, x.facets = r.facets,
              x.first_seen = r.started_at, x.last_seen = r.started_at, x.created_by_batch = true
WITH x, r, x.created_by_batch IS NOT NULL AS created
REMOVE x.created_by_batch
WITH x, r, created
CALL (x, r, created) {
    WITH x, r WHERE created
    MATCH (j:Node {id: r.job})
    MERGE (x)-[o:OF]->(j)
    ON CREATE SET o.count = 1, o.confidence = 1.0, o.first_seen = r.started_at, o.last_seen = r.started_at
}
RETURN collect(CASE WHEN created THEN [r.id, elementId(x)] END) AS runs,
       collect(CASE WHEN NOT created THEN r.id END) AS stored
"""

# One query per edge kind: Cypher cannot take a relationship type as a parameter. Properties are
# named one by one: a map (SET e = r) could write any property, so the planner would add an Eager
# (all rows held before the first write). Empty props and evidence are not stored (null: readers
# take a missing one as empty).
_EDGE_PROPS = ("{count: r.count, confidence: r.confidence, first_seen: r.first_seen, last_seen: r.last_seen, "
               "evidence: r.evidence, props: r.props, added_in: $crawl}")
_EDGE_MERGE = """
UNWIND $rows AS r
MATCH (a:Node {id: r.src})
MATCH (b:Node {id: r.dst})
MERGE (a)-[e:%s]->(b)
ON CREATE SET e.count = r.count, e.confidence = r.confidence, e.first_seen = r.first_seen,
    e.last_seen = r.last_seen, e.evidence = r.evidence, e.props = r.props, e.added_in = $crawl
ON MATCH SET e.added_in = CASE WHEN e.removed_at IS NULL THEN e.added_in ELSE $crawl END, e.removed_in = null,
    e.stale_in = null, e.count = e.count + r.count,
    e.confidence = CASE WHEN r.confidence > e.confidence THEN r.confidence ELSE e.confidence END,
    e.evidence = CASE WHEN r.evidence IS NOT NULL AND size(coalesce(e.evidence, [])) < $sample
                      THEN (coalesce(e.evidence, []) + r.evidence)[0..$sample] ELSE e.evidence END,
    e.props = coalesce(r.props, e.props), e.stale_since = null, e.removed_at = null,
""" + _SPAN.format(v="e", r="r")
# Between nodes found by element id (the node upsert returns them), and without MERGE's existence
# check where an end was created by this batch.
_EDGE_MERGE_SEEK = _EDGE_MERGE.replace("MATCH (a:Node {id: r.src})", "MATCH (a) WHERE elementId(a) = r.a").replace(
    "MATCH (b:Node {id: r.dst})", "MATCH (b) WHERE elementId(b) = r.b")
_EDGE_CREATE = """
UNWIND $rows AS r
MATCH (a) WHERE elementId(a) = r.a
MATCH (b) WHERE elementId(b) = r.b
CREATE (a)-[e:%s """ + _EDGE_PROPS.replace("%", "%%") + """]->(b)
"""
_EDGE_WRITES = {(kind, how): template % kind for kind in EDGE_KINDS
                for how, template in (("merge", _EDGE_MERGE), ("seek", _EDGE_MERGE_SEEK), ("create", _EDGE_CREATE))}

_COUNTERS = """
UNWIND $rows AS r
MERGE (u:%s {id: r.id})
ON CREATE SET u.count = 0, u.node = r.node, u.key = r.key, u.role = r.role
SET u.count = u.count + r.count,
""" + _SPAN.format(v="u", r="r")
_USAGE = _COUNTERS % "Usage"
_MEMBERS = _COUNTERS % "Member"

_EDGE_FIELDS = """a.id AS src, type(e) AS kind, b.id AS dst, e.count AS count, e.confidence AS confidence,
    e.first_seen AS first_seen, e.last_seen AS last_seen, e.props AS props, e.stale_since AS stale_since,
    e.removed_at AS removed_at"""
_EDGE_MAP = "{" + ", ".join(f"{name}: {name}" for name in (
    "src", "kind", "dst", "count", "confidence", "first_seen", "last_seen", "props", "stale_since", "removed_at")) + "}"
# What ``edges_seen`` reads of each edge: no properties, evidence counts or stamps it does not use.
_SEEN_FIELDS = "a.id AS src, type(e) AS kind, b.id AS dst, e.last_seen AS last_seen"
_LIVE = " AND e.removed_at IS NULL"
_AS_OF = " AND (e.first_seen IS NULL OR e.first_seen <= $as_of) AND (e.removed_at IS NULL OR e.removed_at > $as_of)"


class _Rows(list[Any]):
    """A statement's rows, shown by their count: the driver formats every query's parameters for
    its debug log even when that log is off (neo4j 6.x, Bolt 5 ``run``), which cost 7% of an
    ingest's time on 128k edges."""

    def __repr__(self) -> str:
        return f"<{len(self)} rows>"


class Neo4jStore:
    """Lineage in a Neo4j database, reached over Bolt."""

    def __init__(self, url: str, *, read_only: bool = False, lease: float | None = None) -> None:
        self.url = _redacted(url)
        target, auth, self._database, self._traversal = _connection(url)
        self._shapes = Shapes(self._load_topology)
        self._looked = threading.local()  # (generation, when) of this thread's last node lookup
        # Server notifications (a property not in the schema yet, on an empty database) are noise here.
        self._driver = neo4j.GraphDatabase.driver(target, auth=auth, notifications_min_severity="OFF")
        self._read_only = read_only
        self._kinds_seen: set[str] = set()  # edge kinds known to be in the database
        self._lease = Lease(self.url, self._driver, self._database, lease_seconds(lease))
        try:
            self._driver.verify_connectivity()
            if not read_only:
                for statement in SCHEMA:
                    self._driver.execute_query(statement, database_=self._database)
                self._driver.execute_query("MERGE (m:Meta {key: 'generation'}) ON CREATE SET m.value = 0",
                                           database_=self._database)
        except AuthError as error:
            self._driver.close()
            raise StoreUnavailableError(f"Neo4j at {self.url} refused the credentials: {error.message}") from error
        except (ServiceUnavailable, OSError) as error:
            self._driver.close()
            raise StoreUnavailableError(
                f"cannot reach Neo4j at {self.url}: is the server running? ({error})") from error

    def _read(self, query: str, **params: Any) -> list[neo4j.Record]:
        # An auto-commit query: one round trip, where a managed transaction takes three; and all
        # records in one batch (the default pulls a thousand per round trip).
        with self._driver.session(database=self._database, default_access_mode=neo4j.READ_ACCESS,
                                  fetch_size=-1) as session:
            return list(session.run(query, params))

    def _read_rows(self, query: str, **params: Any) -> list[Any]:
        """The list a query returns as ``rows`` in its one record: the driver spends ~70 us on
        each record it receives, ten times what a list item costs (50 nodes: 8 ms against 4.6).
        For answers bounded by what the caller asks about; a whole store comes record by record."""
        records = self._read(query, **params)
        return records[0]["rows"] if records else []

    def _read_one(self, query: str, **params: Any) -> neo4j.Record | None:
        records = self._read(query, **params)
        return records[0] if records else None

    def _write(self, work: Any) -> Any:
        self._lease.check()
        self._looked.generation = None
        with self._driver.session(database=self._database) as session:
            return session.execute_write(work)

    # -- writes ------------------------------------------------------------------------------

    def writer_lock(self, wait: float = 0.0) -> AbstractContextManager[None]:
        if self._read_only:
            raise read_only_lock(self.url)
        return self._lease.hold(wait)

    def known_runs(self, run_ids: Sequence[str]) -> set[str]:
        records = self._read("MATCH (n:Node) WHERE n.id IN $ids RETURN n.id AS id", ids=list(run_ids))
        return {record["id"] for record in records}

    def apply(self, batch: Batch) -> None:
        if batch:
            batch = with_runs(batch)  # (runs spooled for SQLite's store: see graph.batch.spool_runs)
            self._write(lambda tx: self._apply(tx, batch))

    def _apply(self, tx: neo4j.ManagedTransaction, batch: Batch) -> None:
        elements, created = _upsert_nodes(tx, batch)
        elements.update(_upsert_runs(tx, batch))
        for (kind, how), rows in _edge_rows(tx, batch, elements, created).items():
            tx.run(_EDGE_WRITES[kind, how], rows=_Rows(rows), sample=EVIDENCE_SAMPLE, crawl=batch.crawl)
        # Each statement is a round trip: none for what the batch does not have.
        if batch.usage:
            tx.run(_USAGE, rows=[{"id": f"{u.node}|{u.key}|{u.role}", "node": u.node, "key": u.key, "role": u.role,
                                  "count": u.count, "first_seen": u.first_seen, "last_seen": u.last_seen}
                                 for u in batch.usage.values()])
        if batch.cursors:
            tx.run("""UNWIND $rows AS r MERGE (c:Cursor {path: r.path}) SET c += r""",
                   rows=[dataclasses.asdict(c) for c in batch.cursors.values()])
        if batch.issues:
            _merge_issues(tx, batch.issues, batch.crawl)
        if batch.members:
            tx.run(_MEMBERS, rows=[{"id": f"{m.node}|{m.key}", "node": m.node, "key": m.key, "role": "",
                                    "count": m.count, "first_seen": m.first_seen, "last_seen": m.last_seen}
                                   for m in batch.members.values()])
        if batch.nodes or batch.edges or batch.runs:
            _bump(tx, batch.token)

    def add_issues(self, issues: Sequence[ParseIssue]) -> int:
        return self._write(lambda tx: _merge_issues(tx, issues)) if issues else 0

    def save_report(self, report: dict[str, Any]) -> None:
        # The Meta counter numbers the crawls (the highest number given so far).
        self._write(lambda tx: tx.run(
            """MERGE (m:Meta {key: 'crawls'}) ON CREATE SET m.value = 0
               WITH m, coalesce($crawl, m.value + 1) AS seq
               SET m.value = CASE WHEN seq > m.value THEN seq ELSE m.value END
               MERGE (c:Crawl {seq: seq}) SET c.report = $report""",
            crawl=report.get("crawl"), report=json.dumps(report, sort_keys=True)))

    def set_stale(self, edges: Sequence[EdgeKey], since: str | None, *, crawl: int | None = None) -> None:
        def work(tx: neo4j.ManagedTransaction) -> None:
            _set_edges(tx, edges, "stale_since", since, crawl if since else None)
            _bump(tx)

        self._write(work)

    def remove(self, edges: Sequence[EdgeKey], nodes: Sequence[str], at: str, *, crawl: int | None = None) -> None:
        def work(tx: neo4j.ManagedTransaction) -> None:
            _set_edges(tx, edges, "removed_at", at, crawl)
            tx.run("UNWIND $ids AS id MATCH (n:Node {id: id}) SET n.removed_at = $at, n.removed_in = $crawl",
                   ids=list(nodes), at=at, crawl=crawl)
            _bump(tx)

        self._write(work)

    def acknowledge(self, keys: Sequence[str], at: str) -> int:
        record = self._write(lambda tx: tx.run(
            "UNWIND $keys AS k MATCH (i:Issue {key: k}) WHERE i.acked_at IS NULL SET i.acked_at = $at "
            "RETURN count(i) AS n", keys=list(keys), at=at).single())
        return int(record["n"]) if record else 0

    def release(self, keys: Sequence[str]) -> int:
        record = self._write(lambda tx: tx.run(
            "UNWIND $keys AS k MATCH (i:Issue {key: k}) DELETE i RETURN count(*) AS n", keys=list(keys)).single())
        return int(record["n"]) if record else 0

    def set_ranks(self, ranks: dict[str, float]) -> None:
        def work(tx: neo4j.ManagedTransaction) -> None:
            old = _props_of(tx, list(ranks))
            rows = [{"id": node, "rank": round(rank, 8),
                     "props": json.dumps({**old.get(node, {}), "rank": round(rank, 8)}, sort_keys=True)}
                    for node, rank in ranks.items() if node in old]
            tx.run("UNWIND $rows AS r MATCH (n:Node {id: r.id}) SET n.rank = r.rank, n.props = r.props", rows=rows)
            _bump(tx)

        self._write(work)

    def cursors(self) -> dict[str, Cursor]:
        records = self._read("MATCH (c:Cursor) RETURN c")
        fields = {f.name for f in dataclasses.fields(Cursor)}  # a field newer than the node: its default
        return {c["path"]: Cursor(**{name: value for name, value in c.items() if name in fields})
                for c in (r["c"] for r in records)}

    # -- reads -------------------------------------------------------------------------------

    def node(self, node_id: str) -> Node | None:
        # With the generation: a walk from this node, which lineage questions start right after,
        # then needs no round trip of its own to know whether the graph's shape it holds is current.
        record = self._read_one("OPTIONAL MATCH (n:Node {id: $id}) OPTIONAL MATCH (m:Meta {key: 'generation'}) "
                                "RETURN n, m.value AS generation", id=node_id)
        if record is None:
            return None
        self._looked.generation = (int(record["generation"] or 0), time.monotonic())
        return _node(record["n"]) if record["n"] is not None else None

    def nodes(self, kind: str | None = None, *, ids: Sequence[str] | None = None,
              include_removed: bool = False) -> Iterator[Node]:
        # Each condition only when given: "$x IS NULL OR ..." would keep the planner off the indexes.
        conditions = [] if include_removed else ["n.removed_at IS NULL"]
        if kind is not None:
            conditions.append("n.kind = $kind")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        if ids is not None:
            query = (f"UNWIND $ids AS id MATCH (n:Node {{id: id}}){where} WITH n ORDER BY n.id "
                     "RETURN collect(properties(n)) AS rows")  # maps: no node objects to build
            yield from (_node(n) for n in self._read_rows(query, kind=kind, ids=list(ids)))
        else:
            yield from (_node(r["n"]) for r in self._read(f"MATCH (n:Node){where} RETURN n ORDER BY n.id", kind=kind))

    def find(self, text: str, kind: str | None = None, limit: int = 200) -> list[Node]:
        of_kind = " AND n.kind = $kind" if kind is not None else ""
        records = self._read(
            f"""MATCH (n:Node) WHERE n.search CONTAINS $text AND n.removed_at IS NULL
                 AND NOT n.kind IN ['column', 'run']{of_kind}
               RETURN n ORDER BY coalesce(n.rank, 0.0) DESC, n.name LIMIT $limit""",
            text=text.lower(), kind=kind, limit=limit)
        return [_node(r["n"]) for r in records]

    def edges(self, kinds: Sequence[str] | None = None, *, include_removed: bool = False) -> Iterator[Edge]:
        live = "" if include_removed else _LIVE
        of_kind = "type(e) IN $kinds" if kinds else "true"
        records = self._read(
            f"MATCH (a:Node)-[e]->(b:Node) WHERE {of_kind}{live} "
            f"RETURN {_EDGE_FIELDS} ORDER BY src, kind, dst", kinds=list(kinds) if kinds else None)
        yield from (_edge(r) for r in records)

    def served_unproduced(self) -> list[Edge]:
        records = self._read(
            "MATCH (a:Node)-[e:SERVED]->(b:Node) WHERE e.removed_at IS NULL AND NOT EXISTS { "
            "MATCH (:Node)-[p:PRODUCED]->(a) WHERE p.removed_at IS NULL } "
            f"RETURN {_EDGE_FIELDS} ORDER BY src, kind, dst")
        return [_edge(r) for r in records]

    def neighbors(self, node_ids: Iterable[str], *, outgoing: Sequence[str] = (), incoming: Sequence[str] = (),
                  as_of: str | None = None, include_removed: bool = False,
                  crossing: Callable[[EdgeKey], bool] | None = None) -> list[Edge]:
        live = "" if include_removed else _AS_OF if as_of is not None else _LIVE
        ids = list(node_ids)
        if not ids or not (outgoing or incoming):
            return []
        # Both directions in one round trip: a traversal asks once per level.
        query = f"{_neighbors_of(live)} RETURN collect({_EDGE_MAP}) AS rows"
        rows = self._read_rows(query, ids=ids, outgoing=list(outgoing), incoming=list(incoming), as_of=as_of)
        edges = [_edge(r) for r in rows]
        return edges if crossing is None else [edge for edge in edges if crossing(edge.key)]

    def edge_keys(self, node_ids: Iterable[str], *, outgoing: Sequence[str] = (),
                  incoming: Sequence[str] = ()) -> list[EdgeKey]:
        # One round trip either way; the rows' other fields cost the server little.
        return [edge.key for edge in self.neighbors(node_ids, outgoing=outgoing, incoming=incoming)]

    def edges_seen(self, node_ids: Iterable[str], *, outgoing: Sequence[str] = (),
                   incoming: Sequence[str] = ()) -> list[EdgeSeen]:
        ids = list(node_ids)
        if not ids or not (outgoing or incoming):
            return []
        # Lists, not maps: a hub's answer runs to half a million rows, and each key costs on the wire.
        query = f"{_neighbors_of(_LIVE, _SEEN_FIELDS)} RETURN collect([src, kind, dst, last_seen]) AS rows"
        rows = self._read_rows(query, ids=ids, outgoing=list(outgoing), incoming=list(incoming))
        return [(src, kind, dst, last_seen) for src, kind, dst, last_seen in rows]

    def details(self, node_ids: Sequence[str], *, outgoing: Sequence[str] = (),
                incoming: Sequence[str] = ()) -> Details:
        ids = list(node_ids)
        if not ids:
            return Details(nodes=[], edges=[], usage=[])
        # Three subqueries of one row each (an aggregate): one round trip.
        edges = (f"CALL () {{ {_neighbors_of(_LIVE)} RETURN collect({_EDGE_MAP}) AS edges }} "
                 if outgoing or incoming else "")
        query = ("CALL () { UNWIND $ids AS id MATCH (n:Node {id: id}) WHERE n.removed_at IS NULL "
                 "RETURN collect(properties(n)) AS nodes } "
                 f"{edges}"
                 "CALL () { UNWIND $ids AS id MATCH (u:Usage {node: id}) RETURN collect(properties(u)) AS usage } "
                 f"RETURN nodes, {'edges' if edges else '[]'} AS edges, usage")
        record = self._read_one(query, ids=ids, outgoing=list(outgoing), incoming=list(incoming))
        if record is None:
            return Details(nodes=[], edges=[], usage=[])
        return Details(nodes=[_node(n) for n in record["nodes"]], edges=[_edge(e) for e in record["edges"]],
                       usage=[_usage(u) for u in record["usage"]])

    def reach(self, root: str, *, outgoing: Sequence[str], incoming: Sequence[str], steps: Mapping[str, int],
              cutoff: int | None = None) -> Mapping[str, int]:
        """In the graph's shape held here (see ``traversal`` in the README), or on the server."""
        topology = self._walk_topology()
        if topology is not None:
            return topology.reach(root, outgoing, incoming, steps, cutoff)
        return self._reach_on_server(root, outgoing=outgoing, incoming=incoming, steps=steps, cutoff=cutoff)

    def warm(self) -> threading.Thread | None:
        """Load the graph's shape for walks in a background thread (``lineage serve`` does on
        start); the server walks until it is there. None with ``traversal=server``."""
        return None if self._traversal == "server" else self._shapes.warm()

    def _walk_topology(self) -> Topology | None:
        """The graph's shape for walks, loaded or reloaded when the store's generation has moved;
        None when the server walks. With ``traversal=auto`` the server answers the walks of a
        generation until its shape, loaded in a background thread, is there (a million edges
        take seconds to load; one walk on the server costs less); ``memory`` waits for it."""
        if self._traversal == "server":
            return None
        return self._shapes.current(self._current_generation(), wait=self._traversal == "memory")

    def _current_generation(self) -> int:
        """The generation read by this thread's node lookup of a moment ago (a walk then sees
        the graph as of that lookup; a write by this store since clears it), else read now."""
        looked = getattr(self._looked, "generation", None)
        if looked is not None and time.monotonic() - looked[1] < _LOOKUP_FRESH:
            return int(looked[0])
        return self.generation()

    def _load_topology(self) -> Topology:
        """Nodes and live walk edges in one read transaction, so the shape is that of one
        generation. Ends come as the server's internal node ids, in lists: a string per end, or
        a record per edge, would cost ten times as much to decode."""
        def work(tx: neo4j.ManagedTransaction) -> tuple[int, Any, list[Any]]:
            generation = tx.run("MATCH (m:Meta {key: 'generation'}) RETURN m.value AS value").single()
            nodes = tx.run("MATCH (n:Node) WHERE n.kind IN $kinds WITH n ORDER BY n.kind, n.name, n.id "
                           "RETURN collect(id(n)) AS keys, collect(n.id) AS ids", kinds=list(END_KINDS)).single()
            edges = tx.run(f"MATCH (a:Node)-[e:{'|'.join(KINDS)}]->(b:Node) WHERE {_alive('e')} "
                           "RETURN type(e) AS kind, collect(id(a)) AS src, collect(id(b)) AS dst").values()
            return int(generation["value"]) if generation else 0, nodes, edges

        with self._driver.session(database=self._database, default_access_mode=neo4j.READ_ACCESS) as session:
            generation, nodes, edges = session.execute_read(work)
        ids: list[str] = nodes["ids"] if nodes else []
        keys = np.array(nodes["keys"] if nodes else [], np.int64)
        by_key = np.argsort(keys)
        sorted_keys = keys[by_key]
        ends, codes = [], []
        for kind, src, dst in edges:
            pair = np.stack([np.array(src, np.int64), np.array(dst, np.int64)], axis=1)
            at = np.searchsorted(sorted_keys, pair).clip(0, max(len(keys) - 1, 0))
            known = (sorted_keys[at] == pair).all(axis=1) if len(keys) else np.zeros(len(pair), bool)
            ends.append(by_key[at[known]])
            codes.append(np.full(int(known.sum()), KINDS.index(kind), np.int8))
        return Topology(ids, np.concatenate(ends) if ends else np.empty((0, 2), np.int32),
                        np.concatenate(codes) if codes else np.empty(0, np.int8), generation)

    def _reach_on_server(self, root: str, *, outgoing: Sequence[str], incoming: Sequence[str],
                         steps: Mapping[str, int], cutoff: int | None) -> dict[str, int]:
        """One query, normally: a breadth-first expansion over the main kinds (those sharing a
        direction and a step: reads and writes, or derivations), and from everything it reaches one
        step over the other kinds (training). Nodes that step reaches are expanded in a next round
        (a model version never is: it has no reads or writes)."""
        query, main_step, others = _reach_query(outgoing, incoming, steps, cutoff)
        if others and not self._has_edges(others):
            query, main_step, _ = _reach_query(outgoing, incoming, steps, cutoff, main_only=True)
        best: dict[str, int] = {}
        starts = {root: 0}
        while starts:
            record = self._read_one(query(min(starts.values())), starts=[[node, at] for node, at in starts.items()],
                                    step=main_step, cutoff=cutoff)
            for at, nodes in record["reached"] if record else []:
                for node in nodes:
                    if at < best.get(node, at + 1):
                        best[node] = at
            beyond = [(node, at) for group in (record["beyond"] if record else []) for pairs in group
                      for node, at in pairs]
            starts = {}
            for node, at in beyond:
                if (cutoff is None or at <= cutoff) and at < min(best.get(node, at + 1), starts.get(node, at + 1)):
                    starts[node] = at
        return dict(sorted(best.items(), key=lambda item: item[1]))

    def _has_edges(self, kinds: Sequence[str]) -> bool:
        """From the counts store: one lookup per kind, no scan; remembered once true (edges are
        marked removed, never deleted, but by a wipe), which saves a round trip per walk."""
        if not self._kinds_seen.intersection(kinds):
            self._kinds_seen.update(kind for kind in kinds if kind in EDGE_KINDS for record in self._read(
                f"MATCH ()-[t:{kind}]->() RETURN count(t) > 0 AS some") if record["some"])
        return bool(self._kinds_seen.intersection(kinds))

    def evidence(self, edge: EdgeKey) -> list[Evidence]:
        src, kind, dst = edge
        records = self._read("MATCH (a:Node {id: $src})-[e]->(b:Node {id: $dst}) WHERE type(e) = $kind "
                             "RETURN e.evidence AS evidence", src=src, dst=dst, kind=kind)
        if not records:
            return []
        return [Evidence.from_dict(json.loads(item)) for item in records[0]["evidence"] or []]

    def usage(self, node_id: str | None = None, *, ids: Sequence[str] | None = None) -> list[Usage]:
        match = ("UNWIND $ids AS id MATCH (u:Usage {node: id})" if ids is not None
                 else "MATCH (u:Usage) WHERE u.node = $node" if node_id is not None else "MATCH (u:Usage)")
        found = (self._read_rows(f"{match} WITH u ORDER BY u.node, u.role, u.key RETURN collect(u) AS rows",
                                 ids=list(ids)) if ids is not None else
                 [r["u"] for r in self._read(f"{match} RETURN u ORDER BY u.node, u.role, u.key", node=node_id)])
        return [_usage(u) for u in found]

    def members(self, node_id: str | None = None) -> list[Member]:
        where = "WHERE m.node = $node " if node_id is not None else ""
        records = self._read(f"MATCH (m:Member) {where}RETURN m ORDER BY m.node, m.key", node=node_id)
        return [Member(dataset=m["node"], name=m["key"], count=m["count"], first_seen=m.get("first_seen"),
                       last_seen=m.get("last_seen")) for m in (r["m"] for r in records)]

    def issues(self, limit: int | None = None) -> list[ParseIssue]:
        records = self._read("MATCH (i:Issue) RETURN i ORDER BY i.path, i.byte_offset, i.line, i.code "
                             "LIMIT $limit", limit=limit if limit is not None else 2**62)
        return [ParseIssue(code=i["code"], severity=i["severity"], message=i["message"], snippet=i.get("snippet"),
                           origin=Origin(path=i["path"], line=i.get("line"), byte_offset=i.get("byte_offset")))
                for i in (r["i"] for r in records)]

    def quarantine(self, where: IssueFilter, limit: int | None = None) -> Quarantine:
        clause, params = _issue_clause(where)
        total = self._read(f"MATCH (i:Issue){clause} RETURN count(i) AS n", **params)[0]["n"]
        records = self._read(f"MATCH (i:Issue){clause} RETURN i ORDER BY i.path, i.byte_offset, i.line, i.code "
                             "LIMIT $limit", limit=limit if limit is not None else 2**62, **params)
        return Quarantine(total=total, entries=[
            QuarantineEntry(key=i["key"], crawl=i.get("crawl"), acknowledged_at=i.get("acked_at"), issue=ParseIssue(
                code=i["code"], severity=i["severity"], message=i["message"], snippet=i.get("snippet"),
                origin=Origin(path=i["path"], line=i.get("line"), byte_offset=i.get("byte_offset"))))
            for i in (r["i"] for r in records)])

    def reports(self, limit: int = 10) -> list[dict[str, Any]]:
        records = self._read("MATCH (c:Crawl) RETURN c.seq AS seq, c.report AS report ORDER BY c.seq DESC "
                             "LIMIT $limit", limit=limit)
        return [{**json.loads(r["report"]), "crawl": r["seq"]} for r in records]

    def changes(self, after: int, upto: int) -> list[Change]:
        found: list[Change] = []
        for change, field in (("added", "added_in"), ("removed", "removed_in")):
            records = self._read(f"MATCH (n:Node) WHERE n.{field} > $after AND n.{field} <= $upto "
                                 f"RETURN n, n.{field} AS crawl ORDER BY n.id", after=after, upto=upto)
            found += [Change(crawl=r["crawl"], change=change, node=_node(r["n"])) for r in records]  # type: ignore[arg-type]
        for change, field in (("added", "added_in"), ("stale", "stale_in"), ("removed", "removed_in")):
            records = self._read(f"MATCH (a:Node)-[e]->(b:Node) WHERE e.{field} > $after AND e.{field} <= $upto "
                                 f"RETURN {_EDGE_FIELDS}, e.{field} AS crawl ORDER BY src, kind, dst",
                                 after=after, upto=upto)
            found += [Change(crawl=r["crawl"], change=change, edge=_edge(r)) for r in records]  # type: ignore[arg-type]
        return found

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self._read("MATCH (n:Node) WHERE n.removed_at IS NULL RETURN n.kind AS kind, count(*) AS n"):
            counts[record["kind"]] = record["n"]
        for record in self._read("MATCH ()-[e]->() WHERE e.removed_at IS NULL RETURN type(e) AS kind, count(*) AS n"):
            counts[record["kind"]] = record["n"]
        counts["issue"] = self._read("MATCH (i:Issue) RETURN count(i) AS n")[0]["n"]
        return {kind: count for kind, count in sorted(counts.items()) if count}

    def generation(self) -> int:
        records = self._read("MATCH (m:Meta {key: 'generation'}) RETURN m.value AS value")
        return int(records[0]["value"]) if records else 0

    def wipe(self) -> None:
        """Delete everything (for tests and `lineage import` into a fresh database) but the
        generation, which moves on: a reader's traversal index of the old graph must not pass
        for one of the new."""
        # In batches, relationships first: ten thousand nodes with their relationships at once
        # overran the server's transaction memory on a graph of a million edges.
        with self._driver.session(database=self._database) as session:
            session.run("MATCH ()-[e]->() CALL (e) { DELETE e } IN TRANSACTIONS OF 20000 ROWS").consume()
            session.run("MATCH (n) WHERE NOT (n:Meta AND n.key = 'generation') "
                        "CALL (n) { DELETE n } IN TRANSACTIONS OF 20000 ROWS").consume()
        self._kinds_seen.clear()
        self._write(_bump)

    def close(self) -> None:
        self._shapes.finish()  # (the shape's loader reads through the driver's connections)
        self._driver.close()


def _upsert_nodes(tx: neo4j.ManagedTransaction, batch: Batch) -> tuple[dict[str, str], set[str]]:
    """Upsert the batch's nodes; their element ids, and the ids of those this transaction created.
    Properties are merged with what is stored only where the batch has any (most nodes have none:
    their stored properties stay as they are)."""
    if not batch.nodes:
        return {}, set()
    old = _props_of(tx, [n.id for n in batch.nodes.values() if n.props])
    rows = [{"id": n.id, "kind": n.kind, "name": n.name, "namespace": n.namespace, "label": n.label,
             "props": json.dumps(_merged(old.get(n.id), n.props), sort_keys=True) if n.props else None,
             "search": f"{n.name} {n.label or ''}".lower(), "first_seen": n.first_seen, "last_seen": n.last_seen}
            for n in batch.nodes.values()]
    record = tx.run(_NODES, rows=_Rows(rows), crawl=batch.crawl).single()
    found = record["nodes"] if record else []
    return {node: element for node, element, _ in found}, {node for node, _, new in found if new}


def _upsert_runs(tx: neo4j.ManagedTransaction, batch: Batch) -> dict[str, str]:
    if not batch.runs:
        return {}
    record = tx.run(_RUNS, rows=[{
        "id": r.id, "name": r.id.removeprefix("run:"), "job": r.job, "user": r.user, "session_id": r.session_id,
        "status": r.status, "statement_kind": r.statement_kind, "started_at": r.started_at,
        "facets": r.facets if r.facets != "{}" else None}
        for r in batch.runs.values()]).single(strict=True)
    if record["stored"]:
        stored = set(record["stored"])  # (execute_write rolls back)
        raise RunsAlreadyStoredError(stored, committed=stored == batch.runs.keys() and _last_commit(tx) == batch.token)
    return dict(record["runs"])


def _edge_rows(tx: neo4j.ManagedTransaction, batch: Batch, elements: dict[str, str],
               created: set[str]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Rows by edge kind and by how they are written: created outright when an end is new in this
    transaction, else merged (between nodes found by element id when the batch upserted both)."""
    old = _edge_props_of(tx, [e for e in batch.edges.values()
                              if e.props and e.src not in created and e.dst not in created])
    by_kind: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in batch.edges.values():
        a, b = elements.get(e.src), elements.get(e.dst)
        how = "merge" if a is None or b is None else "create" if e.src in created or e.dst in created else "seek"
        props = _merged(old.get((e.src, e.kind, e.dst)), e.props) if e.props else None
        # Only the ends the query uses: every string costs the server a decode.
        ends = {"src": e.src, "dst": e.dst} if how == "merge" else {"a": a, "b": b}
        by_kind.setdefault((e.kind, how), []).append({
            **ends, "count": e.count, "confidence": e.confidence, "first_seen": e.first_seen,
            "last_seen": e.last_seen, "evidence": e.evidence[:EVIDENCE_SAMPLE] or None,
            "props": json.dumps(props, sort_keys=True) if props is not None else None})
    return by_kind


def _neighbors_of(live: str, fields: str = _EDGE_FIELDS) -> str:
    """A subquery of the edges of the nodes ``$ids``: those of kinds ``$outgoing`` leaving them
    and those of kinds ``$incoming`` arriving, as ``fields`` (of ``a``, ``e`` and ``b``)."""
    return (f"CALL () {{ "
            f"UNWIND $ids AS id MATCH (a:Node {{id: id}})-[e]->(b:Node) WHERE type(e) IN $outgoing{live} "
            f"RETURN {fields} UNION ALL "
            f"UNWIND $ids AS id MATCH (a:Node)-[e]->(b:Node {{id: id}}) WHERE type(e) IN $incoming{live} "
            f"RETURN {fields} }}")


def _usage(u: Any) -> Usage:
    return Usage(node=u["node"], user=u["key"], role=u["role"], count=u["count"], first_seen=u.get("first_seen"),
                 last_seen=u.get("last_seen"))


def _reach_query(outgoing: Sequence[str], incoming: Sequence[str], steps: Mapping[str, int],
                 cutoff: int | None, *, main_only: bool = False) -> tuple[Callable[[int], str], int, list[str]]:
    """The Cypher of Neo4jStore.reach, by the lowest start distance of a round (the hop limit of
    a variable-length pattern must be a literal); its main step; the other kinds. A step over
    the other kinds from every node reached costs as much as the expansion: ``main_only`` leaves
    it out (for a graph that has no edges of those kinds)."""
    groups: dict[tuple[str, int], list[str]] = {}
    for kinds, way in ((outgoing, "out"), (incoming, "in")):
        for kind in kinds:
            if kind not in EDGE_KINDS:
                raise ValueError(f"unknown edge kind {kind!r}")
            groups.setdefault((way, steps[kind]), []).append(kind)
    (way, step), main = max(groups.items(), key=lambda group: len(group[1]))
    others = [(key, kinds) for key, kinds in groups.items() if key != (way, step) and not main_only]
    arrows = {"out": ("-", "->"), "in": ("<-", "-")}
    left, right = arrows[way]
    beyond = " + ".join(
        f"[(n){arrows[w][0]}[t:{'|'.join(kinds)}]{arrows[w][1]}(m) WHERE {_alive('t')} | [m.id, d + {s}]]"
        for (w, s), kinds in others)
    # Ids grouped by distance: a pair per node costs more to pack and unpack than the walk itself.
    grouped = (f"WITH d, collect(n.id) AS ids, collect({beyond}) AS beyond "
               f"RETURN collect([d, ids]) AS reached, collect(beyond) AS beyond" if beyond else
               "WITH d, collect(n.id) AS ids RETURN collect([d, ids]) AS reached, [] AS beyond")
    within = "" if cutoff is None else " WHERE d <= $cutoff"

    def query(lowest: int) -> str:
        hops = "" if cutoff is None else str(max(0, (cutoff - lowest) // step))
        return (f"UNWIND $starts AS s MATCH (start:Node {{id: s[0]}}) "
                f"MATCH (start){left}[rs:{'|'.join(main)}*0..{hops}]{right}(n) WHERE all(r IN rs WHERE {_alive('r')}) "
                f"WITH s, n, min(size(rs)) AS hops WITH n, min(s[1] + hops * $step) AS d{within} {grouped}")

    return query, step, [kind for _, kinds in others for kind in kinds]


def _alive(v: str) -> str:
    return f"{v}.removed_at IS NULL"


def _bump(tx: neo4j.ManagedTransaction, token: str = "") -> None:
    """Count a write in the store's generation, and record the token of the batch it wrote
    (null for other writes) for :func:`_last_commit`."""
    tx.run("MERGE (m:Meta {key: 'generation'}) ON CREATE SET m.value = 0 SET m.value = m.value + 1, "
           "m.last_batch = $token", token=token or None)


def _last_commit(tx: neo4j.ManagedTransaction) -> str | None:
    """The token of the last batch written: the one a try whose commit went unconfirmed left, if
    it committed and no other write came since (then the runs count as stored by another)."""
    record = tx.run("MATCH (m:Meta {key: 'generation'}) RETURN m.last_batch AS token").single()
    return record["token"] if record else None


def _set_edges(tx: neo4j.ManagedTransaction, edges: Sequence[EdgeKey], field: str, value: str | None,
               crawl: int | None) -> None:
    rows = [{"src": src, "kind": kind, "dst": dst} for src, kind, dst in edges]
    query = ("UNWIND $rows AS r MATCH (a:Node {id: r.src})-[e]->(b:Node {id: r.dst}) WHERE type(e) = r.kind "
             + ("SET e.stale_since = $value, e.stale_in = $crawl" if field == "stale_since"
                else "SET e.removed_at = $value, e.removed_in = $crawl"))
    tx.run(query, rows=rows, value=value, crawl=crawl)


def _issue_clause(where: IssueFilter) -> tuple[str, dict[str, Any]]:
    """The WHERE clause (or nothing) and its parameters for a quarantine filter."""
    conditions: list[str] = []
    params: dict[str, Any] = {}
    for condition, name, value in (("i.code IN $codes", "codes", list(where.codes) or None),
                                   ("i.severity = $severity", "severity", where.severity),
                                   ("i.crawl >= $since", "since", where.since),
                                   ("(i.path = $path OR i.path STARTS WITH $under)", "path", where.path),
                                   ("i.key STARTS WITH $key", "key", where.key)):
        if value is not None:
            conditions.append(condition)
            params[name] = value
    if where.path is not None:
        params["under"] = where.path.rstrip("/") + "/"
    if where.acknowledged is not None:
        conditions.append("i.acked_at IS NOT NULL" if where.acknowledged else "i.acked_at IS NULL")
    return (f" WHERE {' AND '.join(conditions)}" if conditions else ""), params


def _props_of(tx: neo4j.ManagedTransaction, ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    result = tx.run("MATCH (n:Node) WHERE n.id IN $ids RETURN n.id AS id, n.props AS props", ids=ids)
    return {r["id"]: json.loads(r["props"] or "{}") for r in result}


def _edge_props_of(tx: neo4j.ManagedTransaction, rows: list[EdgeRow]) -> dict[EdgeKey, dict[str, Any]]:
    if not rows:
        return {}
    keys = [{"src": r.src, "kind": r.kind, "dst": r.dst} for r in rows]
    result = tx.run("UNWIND $keys AS k MATCH (a:Node {id: k.src})-[e]->(b:Node {id: k.dst}) WHERE type(e) = k.kind "
                    "RETURN k.src AS src, k.kind AS kind, k.dst AS dst, e.props AS props", keys=keys)
    return {(r["src"], r["kind"], r["dst"]): json.loads(r["props"] or "{}") for r in result}


def _merged(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Merge as SQLite's json_patch does: new keys win, nested objects merge, nulls delete."""
    merged = dict(old or {})
    for key, value in new.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def _node(n: Any) -> Node:
    if n["kind"] == "run":
        props = {**json.loads(n.get("facets") or "{}"), **{k: n.get(k) for k in RUN_FIELDS}}
        return Node(id=n["id"], kind="run", name=n["name"], props={k: v for k, v in props.items() if v is not None},
                    first_seen=n.get("first_seen"), last_seen=n.get("last_seen"))
    return Node(id=n["id"], kind=n["kind"], name=n["name"], namespace=n.get("namespace"), label=n.get("label"),
                props=json.loads(n.get("props") or "{}"), first_seen=n.get("first_seen"),
                last_seen=n.get("last_seen"), removed_at=n.get("removed_at"))


def _edge(r: Any) -> Edge:
    return Edge(src=r["src"], kind=r["kind"], dst=r["dst"], count=r["count"], confidence=r["confidence"],
                first_seen=r["first_seen"], last_seen=r["last_seen"], props=json.loads(r["props"] or "{}"),
                stale_since=r["stale_since"], removed_at=r["removed_at"])


TRAVERSALS = ("auto", "memory", "server")
_LOOKUP_FRESH = 0.1  # seconds for which a node lookup's generation answers for the graph


def _connection(url: str) -> tuple[str, tuple[str, str] | None, str | None, str]:
    """The Bolt address, credentials, database and traversal of
    ``neo4j://user:password@host:7687/database?traversal=auto``."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise UnknownStoreError(f"bad Neo4j store URL {_redacted(url)!r}: use neo4j://user:password@host:7687")
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    auth = (unquote(parts.username or "neo4j"), unquote(parts.password)) if parts.password else None
    database = parts.path.strip("/") or None
    options = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(options) - {"traversal"})
    traversal = options.get("traversal", ["auto"])[-1]
    if unknown or traversal not in TRAVERSALS:
        raise UnknownStoreError(f"bad Neo4j store URL {_redacted(url)!r}: the only option is "
                                f"traversal={'|'.join(TRAVERSALS)}")
    return urlunsplit((parts.scheme, netloc, "", "", "")), auth, database, traversal


def _redacted(url: str) -> str:
    """The URL without its password, for messages and reports."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def open_neo4j(url: str, read_only: bool) -> Neo4jStore:
    try:
        return Neo4jStore(url, read_only=read_only)
    except Neo4jError as error:
        raise StoreUnavailableError(f"Neo4j at {_redacted(url)} failed: {error.message}") from error


for _scheme in ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc"):
    register_backend(_scheme, open_neo4j)


def _merge_issues(tx: neo4j.ManagedTransaction, issues: Sequence[ParseIssue], crawl: int | None = None) -> int:
    """Quarantine the issues not there yet (one is known by its code, place and message), stamped
    with the crawl that found them."""
    rows: dict[str, dict[str, Any]] = {}
    for issue in issues:
        origin = issue.origin
        key = issue_key(issue)
        rows[key] = {"key": key, "code": issue.code, "severity": issue.severity, "message": issue.message,
                     "path": origin.path, "line": origin.line, "byte_offset": origin.byte_offset,
                     "snippet": issue.snippet, "crawl": crawl}
    result = tx.run("""UNWIND $rows AS r MERGE (i:Issue {key: r.key})
        ON CREATE SET i += r, i.created = true
        WITH i WHERE i.created REMOVE i.created RETURN count(i) AS added""", rows=list(rows.values()))
    record = result.single()
    return int(record["added"]) if record else 0
