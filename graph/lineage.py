"""Lineage questions, written once above the store interface.

Distances count jobs crossed: a dataset one job downstream is at distance 1 (reads and writes
are half a step each; a model trained on a dataset, or a column derived from another, is one
step). A store answers the distances of the live graph in one go (``Store.reach``: an index in
memory, or one Cypher query); the graph of the past (``as_of``) is walked here, one layer of
neighbours at a time, the same on every store. Edges and node details are then read for the
nodes reached, or for the first page of them only (:func:`impact` with a ``limit``).
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Literal

from graph.errors import AmbiguousNameError, NodeNotFoundError
from graph.model import EDGE_KINDS, Edge, Node, Usage
from graph.store import EdgeSeen, Store

if TYPE_CHECKING:
    import networkx as nx

Direction = Literal["upstream", "downstream"]

# How data moves along each kind of edge: +1 from src to dst, -1 from dst to src.
# A model version is downstream of what it was trained on, and its predictions of it (SERVED).
DATASET_FLOW = {"READS": 1, "WRITES": 1, "TRAINED_ON": -1, "SERVED": 1}
COLUMN_FLOW = {"DERIVES": 1}
HALF_STEPS = {"READS": 1, "WRITES": 1, "TRAINED_ON": 2, "DERIVES": 2, "SERVED": 2}
MAX_PATH_DEPTH = 30


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LineageView:
    """The part of the graph around a root: nodes with their distance, and the edges among them.
    Upstream distances are negative when a view holds both directions."""

    root: str
    direction: Literal["upstream", "downstream", "both"]
    nodes: dict[str, Node]
    distance: dict[str, int]
    edges: tuple[Edge, ...]

    def graph(self) -> nx.DiGraph:
        """The view as a networkx graph in the direction data flows."""
        import networkx as nx  # (a fifth of a second to import: not for what never walks one)

        graph = nx.DiGraph()
        graph.add_nodes_from(self.nodes)
        for edge in self.edges:
            src, dst = (edge.src, edge.dst) if _flow_of(edge.kind) > 0 else (edge.dst, edge.src)
            graph.add_edge(src, dst, edge=edge)
        return graph


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ImpactRow:
    node: Node
    distance: int
    last_seen: str | None
    owners: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ImpactPage:
    """The first rows of an impact and how many nodes it reaches in all (the garbage collector
    removes only nodes left without live edges, so every node reached counts)."""

    rows: tuple[ImpactRow, ...]
    total: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HistoryRow:
    edge: Edge
    appeared: str | None
    last_seen: str | None
    stale_since: str | None
    disappeared: str | None


def _flow_of(kind: str) -> int:
    return DATASET_FLOW.get(kind) or COLUMN_FLOW.get(kind) or 1


def lineage(store: Store, root: str, direction: Direction, depth: int | None = None, *,
            as_of: str | None = None, kinds: Collection[str] | None = None, direct_only: bool = False) -> LineageView:
    """Everything up- or downstream of ``root`` within ``depth`` jobs (all of it when None),
    as the graph was at ``as_of`` (now when None), keeping only nodes of ``kinds`` (and the root);
    ``direct_only`` leaves out indirect edges (tables read only to filter rows, columns that only
    filter) and what is reached only through them."""
    root_node = store.node(root)
    if root_node is None:
        raise NodeNotFoundError(root, [])
    walk = dataclasses.replace(_Walk.of(root_node, direction, depth), direct_only=direct_only)
    half_steps = dict(walk.distances(store, as_of).items())  # a view reads every distance, many times
    found = {node.id: node for node in store.nodes(ids=list(half_steps), include_removed=as_of is not None)
             if node.removed_at is None or (as_of is not None and node.removed_at > as_of)}
    found[root] = root_node
    keep = {n for n, node in found.items() if kinds is None or node.kind in kinds or n == root}
    edges = walk.edges(store, half_steps, list(half_steps), as_of)
    # Nearest first; callers that need another order sort (the view can be large: no sorting here).
    return LineageView(
        root=root, direction=direction,
        nodes={n: found[n] for n in half_steps if n in keep},
        distance={n: (half_steps[n] + 1) // 2 for n in half_steps if n in keep},
        edges=tuple(e for e in edges if e.src in keep and e.dst in keep),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _Walk:
    """Which edges a walk follows, each way, and how far."""

    root: str
    outgoing: tuple[str, ...]
    incoming: tuple[str, ...]
    cutoff: int | None  # in half steps
    direct_only: bool = False  # indirect edges are not crossed (walked here, edge by edge)

    @classmethod
    def of(cls, root: Node, direction: Direction, depth: int | None) -> _Walk:
        flow = COLUMN_FLOW if root.kind == "column" else DATASET_FLOW
        sign = 1 if direction == "downstream" else -1
        return cls(root.id, tuple(kind for kind, way in flow.items() if way == sign),
                   tuple(kind for kind, way in flow.items() if way == -sign), None if depth is None else 2 * depth)

    def distances(self, store: Store, as_of: str | None) -> Mapping[str, int]:
        """Shortest half-step distances from the root, the root first, nearest first. Of the
        live graph, the store's own mapping (it may hold the answer in arrays: not copied)."""
        if as_of is not None or self.direct_only:
            return dict(sorted(_walk(store, self, as_of).items(), key=lambda item: item[1]))
        steps = {kind: HALF_STEPS.get(kind, 2) for kind in (*self.outgoing, *self.incoming)}
        best = store.reach(self.root, outgoing=self.outgoing, incoming=self.incoming, steps=steps,
                           cutoff=self.cutoff)
        return best if self.root in best else {self.root: 0, **best}

    def edges(self, store: Store, best: Mapping[str, int], ends: list[str], as_of: str | None) -> list[Edge]:
        """The edges the walk crossed from ``ends``."""
        # The two kinds of kinds are disjoint, so the store returns each edge once.
        return self.crossed(best, store.neighbors(ends, outgoing=self.outgoing, incoming=self.incoming, as_of=as_of))

    def crossed(self, best: Mapping[str, int], edges: Iterable[Edge]) -> list[Edge]:
        """Those of ``edges`` the walk crossed: they leave a reached node and arrive within the cutoff."""
        return [edge for edge in edges if not (self.direct_only and indirect(edge)) and self.crosses(best, edge.key)]

    def crosses(self, best: Mapping[str, int], key: tuple[str, str, str]) -> bool:
        """Whether the walk crossed the edge ``(src, kind, dst)``, but for ``direct_only``, which
        reads the edge's properties (see ``crossed``)."""
        src, kind, dst = key
        level = best.get(src if kind in self.outgoing else dst)
        return level is not None and (self.cutoff is None or level + HALF_STEPS.get(kind, 2) <= self.cutoff)


def _walk(store: Store, walk: _Walk, as_of: str | None) -> dict[str, int]:
    """Shortest half-step distances from the root (see :func:`_layers`)."""
    for level, best in _layers(store, walk, as_of):
        if level is None:
            return best
    raise AssertionError("unreachable: the last layer is None")


def _layers(store: Store, walk: _Walk, as_of: str | None) -> Iterator[tuple[int | None, dict[str, int]]]:
    """The walk one layer of neighbours per round trip (a bucketed Dijkstra: steps are 1 or 2):
    before each round trip, the half-step distance whose nodes it reads around (every node this
    near or nearer is known for good) and the distances found so far; last, None and all of them."""
    outgoing, incoming, cutoff = frozenset(walk.outgoing), frozenset(walk.incoming), walk.cutoff
    best = {walk.root: 0}
    buckets: dict[int, set[str]] = {0: {walk.root}}
    while buckets:
        level = min(buckets)
        yield level, best
        frontier = {node for node in buckets.pop(level) if best[node] == level}
        for edge in store.neighbors(frontier, outgoing=walk.outgoing, incoming=walk.incoming, as_of=as_of):
            if walk.direct_only and indirect(edge):
                continue
            forward = edge.src in frontier and edge.kind in outgoing
            if not forward and not (edge.dst in frontier and edge.kind in incoming):
                continue
            other = edge.dst if forward else edge.src
            reached = level + HALF_STEPS.get(edge.kind, 2)
            if (cutoff is None or reached <= cutoff) and reached < best.get(other, reached + 1):
                best[other] = reached
                buckets.setdefault(reached, set()).add(other)
    yield None, best


def indirect(edge: Edge) -> bool:
    """Whether an edge carries no values, only decides which rows: a table read to filter
    (``DELETE ... USING r``, a semi-join), a column that only filters, joins or groups."""
    return bool(edge.props.get("indirect")) and not edge.props.get("direct")


def neighbourhood(store: Store, root: str, depth: int = 2, *, as_of: str | None = None) -> LineageView:
    """Upstream and downstream of ``root`` together, as the node page draws them."""
    up = lineage(store, root, "upstream", depth, as_of=as_of)
    down = lineage(store, root, "downstream", depth, as_of=as_of)
    distance = {**{k: -v for k, v in up.distance.items()}, **down.distance}
    edges = {edge.key: edge for edge in (*up.edges, *down.edges)}
    return LineageView(root=root, direction="both", nodes={**up.nodes, **down.nodes}, distance=distance,
                       edges=tuple(edges[key] for key in sorted(edges)))


def impact(store: Store, root: str, depth: int | None = None, *, limit: int | None = None) -> list[ImpactRow]:
    """What changing ``root`` touches: every downstream dataset, job and model within ``depth``
    jobs (all when None), nearest first, with when it was last used and who owns it (its most
    frequent writers). With a ``limit``, the first ``limit`` rows only: details are read for
    those alone (a hub's answer runs to tens of thousands of nodes)."""
    return list(impact_page(store, root, depth, limit=limit).rows)


def impact_page(store: Store, root: str, depth: int | None = None, *, limit: int | None = None) -> ImpactPage:
    """:func:`impact`'s rows with the number of nodes downstream in all, for "first 50 of 213,000"."""
    root_node = store.node(root)
    if root_node is None:
        raise NodeNotFoundError(root, [])
    walk = _Walk.of(root_node, "downstream", depth)
    best = walk.distances(store, None)
    if limit is None:  # every distance is read, some many times: from a dict, not the walk's arrays
        best = dict(best.items())
    page, into, usage = _page(store, walk, best, root, limit)
    rows = _rows(page, best, _last_use(walk, best, into), usage)
    total = len(best) - 1  # all but the root
    if root_node.kind == "column":
        jobs = column_jobs(store, walk, best)
        # Stable: at each distance the columns come first, then the jobs that carry them there.
        rows = sorted(rows + jobs, key=lambda row: row.distance)[:limit]
        total += len(jobs)
    return ImpactPage(rows=tuple(rows), total=total)


def _last_use(walk: _Walk, reached: Mapping[str, int], into: Iterable[EdgeSeen]) -> dict[str, str]:
    """When each node was last fed by the walk: the newest of the edges it crossed to arrive.
    (An impact's walk crosses indirect edges too: the edges' keys and times tell it all.)"""
    last_use: dict[str, str] = {}
    for src, kind, dst, last_seen in into:
        target = dst if _flow_of(kind) > 0 else src
        # (Whether it is newer first: most edges into a node are no newer than one seen before.)
        if last_seen and last_seen > last_use.get(target, "") and walk.crosses(reached, (src, kind, dst)):
            last_use[target] = last_seen
    return last_use


def _rows(page: list[Node], best: Mapping[str, int], last_use: Mapping[str, str],
          usage: Iterable[Usage]) -> list[ImpactRow]:
    writers = _writers(usage)
    return [ImpactRow(node=node, distance=(best[node.id] + 1) // 2,
                      last_seen=last_use.get(node.id, node.last_seen), owners=writers.get(node.id, ()))
            for node in page]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ImpactHead:
    """The first rows of an impact, and how many nodes it reaches in all if the walk that found
    them reached everything (None: not known without the whole walk)."""

    rows: tuple[ImpactRow, ...]
    total: int | None


def impact_head(store: Store, root: str, limit: int) -> ImpactHead | None:
    """:func:`impact_page`'s first ``limit`` rows, the same rows in the same order, without its
    whole walk: downstream a distance at a time (a round trip each), no further than the rows
    need; a hub's first rows without the walk of its hundreds of thousands. None where only the
    whole walk tells them: a column's (the jobs that carry it come from the whole walk), a page
    short of live nodes, or a row's last use that an edge from a node not reached yet may set
    (from farther downstream: a table a later job also writes)."""
    root_node = store.node(root)
    if root_node is None:
        raise NodeNotFoundError(root, [])
    if root_node.kind == "column":
        return None
    walk = _Walk.of(root_node, "downstream", None)
    # (the walk's last step is whole: there is always one)
    known, reached, whole = next(step for step in _distances(store, walk) if step[2] or len(step[0]) > limit)
    page, into, usage = _page(store, walk, known, root, limit)
    last_use = _last_use(walk, reached, into)
    if not whole and (len(page) < limit or _fed_from_beyond(walk, reached, into, last_use)):
        return None
    return ImpactHead(rows=tuple(_rows(page, known, last_use, usage)), total=len(known) - 1 if whole else None)


def _fed_from_beyond(walk: _Walk, reached: Mapping[str, int], into: Iterable[EdgeSeen],
                     last_use: Mapping[str, str]) -> bool:
    """Whether an edge from a node not reached yet would make a row's last use newer, if that
    node turned out to be downstream."""
    forward = frozenset(walk.outgoing)
    for src, kind, dst, last_seen in into:
        source, target = (src, dst) if kind in forward else (dst, src)
        if source not in reached and (last_seen or "") > last_use.get(target, ""):
            return True
    return False


def _distances(store: Store, walk: _Walk) -> Iterator[tuple[dict[str, int], dict[str, int], bool]]:
    """:func:`_layers` of the live graph at whole distances: the half-step distances known for
    good, nearest first; every node reached so far; and whether the walk is over (then all of
    them, known for good)."""
    for level, best in _layers(store, walk, None):
        if level is None:
            yield dict(sorted(best.items(), key=lambda item: item[1])), best, True
        elif level % 2 == 0:
            yield dict(sorted(((n, h) for n, h in best.items() if h <= level), key=lambda item: item[1])), best, False


def column_jobs(store: Store, walk: _Walk, best: Mapping[str, int]) -> list[ImpactRow]:
    """The jobs that read the columns of a column walk and carry them on: for each derivation
    crossed, the jobs that read the source column's table and write the target column's table
    (column edges name no job: the tables do). A job is as far as the nearest column it writes."""
    columns = list(best)
    table_of = {e.src: e.dst for e in store.neighbors(columns, outgoing=["IN"])}
    hops: dict[tuple[str, str], int] = {}
    for edge in walk.crossed(best, store.neighbors(columns, outgoing=walk.outgoing, incoming=walk.incoming)):
        source, target = table_of.get(edge.src), table_of.get(edge.dst)
        if source and target:
            far = (best.get(edge.dst, 0) + 1) // 2
            hops[(source, target)] = min(far, hops.get((source, target), far))
    sources = {src for src, _ in hops}
    targets = {dst for _, dst in hops}
    reads: dict[str, dict[str, Edge]] = {}
    for edge in store.neighbors(sorted(sources), outgoing=["READS"]):
        reads.setdefault(edge.dst, {})[edge.src] = edge
    nearest: dict[str, int] = {}
    last_use: dict[str, str] = {}
    for write in store.neighbors(sorted(targets), incoming=["WRITES"]):
        for table, read in reads.get(write.src, {}).items():
            hop = hops.get((table, write.dst))
            if hop is not None:
                job = write.src
                nearest[job] = min(hop, nearest.get(job, hop))
                last_use[job] = max(last_use.get(job, ""), read.last_seen or "", write.last_seen or "")
    if not nearest:
        return []
    writers = _writers(store.usage(ids=sorted(nearest)))
    nodes = sorted((n for n in store.nodes(ids=sorted(nearest)) if n.removed_at is None),
                   key=lambda n: (nearest[n.id], n.title, n.id))
    return [ImpactRow(node=n, distance=nearest[n.id], last_seen=last_use[n.id] or n.last_seen,
                      owners=writers.get(n.id, ())) for n in nodes]


# The order an impact's kinds are told in: datasets by their own kind, then what runs on them.
IMPACT_KINDS = ("table", "view", "file", "dataset", "column", "job", "model_version", "model")


def impact_kind(node: Node) -> str:
    """What an impact row is: a dataset by its own kind (table, view, file...), else the node's."""
    return str(node.props.get("kind") or "dataset") if node.kind == "dataset" else node.kind


def impact_counts(rows: Iterable[ImpactRow]) -> list[tuple[str, int]]:
    """How many rows of each kind, each kind counted as itself, in :data:`IMPACT_KINDS` order.

    >>> rows = [ImpactRow(node=Node(id=i, kind=k, name=i), distance=1, last_seen=None, owners=())
    ...         for i, k in (("c1", "column"), ("c2", "column"), ("j", "job"), ("v", "model_version"))]
    >>> impact_counts(rows)
    [('column', 2), ('job', 1), ('model_version', 1)]
    """
    counts: dict[str, int] = {}
    for row in rows:
        kind = impact_kind(row.node)
        counts[kind] = counts.get(kind, 0) + 1
    known = {kind: i for i, kind in enumerate(IMPACT_KINDS)}
    return sorted(counts.items(), key=lambda item: (known.get(item[0], known["dataset"]), item[0]))


def counted(count: int, kind: str) -> str:
    """``1 model version``, ``3 columns``.

    >>> counted(2, "model_version")
    '2 model versions'
    """
    noun = kind.replace("_", " ")
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _page(store: Store, walk: _Walk, best: Mapping[str, int], root: str,
          limit: int | None) -> tuple[list[Node], list[EdgeSeen], list[Usage]]:
    """The page's nodes (nearest first, then by kind and name), the edges by which the walk
    arrives at them (their keys and last seen: all a page asks of them; with no ``limit``, every
    edge the walk leaves a node by, a few arriving off the page), and who used them."""
    buckets = ([node for node, _ in bucket if node != root]
               for _, bucket in itertools.groupby(best.items(), key=lambda item: (item[1] + 1) // 2))
    rank = getattr(best, "rank", None)
    if rank is not None and limit is not None:
        return _page_by_rank(store, walk, (node for ids in buckets for node in sorted(ids, key=rank)), limit)
    page: list[Node] = []
    for ids in buckets:
        if not ids:
            continue
        found = store.nodes(ids=ids)
        page += sorted((n for n in found if n.removed_at is None), key=lambda n: (n.kind, n.name, n.id))
        if limit is not None and len(page) >= limit:
            page = page[:limit]
            break
    ids = [node.id for node in page]
    if limit is None:
        # Every node reached is on the page, so the edges the walk leaves its nodes by are those
        # it arrives by: read from where they leave (SQLite keeps an edge by its source; by their
        # targets, a hub's take a lookup each, and a fifth more come from nodes not reached).
        into = store.edges_seen(list(best), outgoing=walk.outgoing, incoming=walk.incoming)
    else:
        # The edges by which the walk arrives: its outgoing kinds as they come in, and the reverse.
        into = store.edges_seen(ids, outgoing=walk.incoming, incoming=walk.outgoing)
    return page, into, store.usage(ids=ids)


def _page_by_rank(store: Store, walk: _Walk, ordered: Iterator[str],
                  limit: int) -> tuple[list[Node], list[EdgeSeen], list[Usage]]:
    """The first ``limit`` live nodes of ``ordered`` with their edges and usage (a walk over the
    graph's shape in arrays knows how nodes sort): read for the page alone, in one go however
    many distances it spans, not for every node of its distances (a hub has thousands at
    distance 1)."""
    page: list[Node] = []
    edges: list[EdgeSeen] = []
    usage: list[Usage] = []
    while len(page) < limit:
        wanted = list(itertools.islice(ordered, limit - len(page)))
        if not wanted:
            break
        details = store.details(wanted, outgoing=walk.incoming, incoming=walk.outgoing)
        found = {node.id: node for node in details.nodes}  # live ones only
        page += [found[node] for node in wanted if node in found]
        edges += ((*edge.key, edge.last_seen) for edge in details.edges)
        usage += details.usage
    return page, edges, usage


def _writers(usage: Iterable[Usage], limit: int = 3) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[Usage]] = {}
    for row in usage:
        if row.role == owning_role(row.node):
            found.setdefault(row.node, []).append(row)
    return {node: tuple(u.user for u in sorted(rows, key=lambda u: (-u.count, u.user))[:limit])
            for node, rows in found.items()}


def owners(store: Store, node_id: str, limit: int = 3) -> tuple[str, ...]:
    """The users who most often write a dataset, or run a job."""
    return users_by_role(store.usage(node_id), owning_role(node_id), limit)


def owning_role(node_id: str) -> str:
    """The usage that makes a user an owner: running a job, writing anything else."""
    return "run" if node_id.startswith("job:") else "write"


def applications(store: Store, node_id: str, limit: int = 5) -> tuple[str, ...]:
    """The applications a job's runs most often came from."""
    return users_by_role(store.usage(node_id), "application", limit)


def top_users(store: Store, node_id: str, limit: int = 5) -> tuple[str, ...]:
    """The users who most often read a dataset, or run a job."""
    return users_by_role(store.usage(node_id), "run" if node_id.startswith("job:") else "read", limit)


def users_by_role(usage: Iterable[Usage], role: str, limit: int) -> tuple[str, ...]:
    """The users who most often read (``role="read"``), wrote or ran a node: its top users, its
    owners; or (``role="application"``) the applications a job's runs came from."""
    ranked = sorted((u for u in usage if u.role == role), key=lambda u: (-u.count, u.user))
    return tuple(u.user for u in ranked[:limit])


def path(store: Store, source: str, target: str, *, as_of: str | None = None) -> list[Node]:
    """The shortest chain of datasets and jobs along which data goes from ``source`` to
    ``target`` (either way round); empty when they are not connected."""
    for start, end in ((source, target), (target, source)):
        view = lineage(store, start, "downstream", MAX_PATH_DEPTH, as_of=as_of)
        if end in view.nodes:
            import networkx as nx

            return [view.nodes[n] for n in nx.shortest_path(view.graph(), start, end)]
    return []


def history(store: Store, node_id: str) -> list[HistoryRow]:
    """When each edge of a node appeared, was last seen, went stale and disappeared."""
    every = EDGE_KINDS
    edges = store.neighbors([node_id], outgoing=every, incoming=every, include_removed=True)
    rows = [HistoryRow(edge=e, appeared=e.first_seen, last_seen=e.last_seen, stale_since=e.stale_since,
                       disappeared=e.removed_at) for e in {e.key: e for e in edges}.values()]
    return sorted(rows, key=lambda r: (r.appeared or "", r.edge.key))


def resolve(store: Store, name: str) -> Node:
    """The node a user means: an id, a full ``namespace/name``, a name, or a dotted tail of one
    (``scores`` and ``ml.scores`` both find ``credit.ml.scores``), or a job's title; a column as
    ``TABLE#COLUMN``. Names keep every character a quoted or dialect name may hold (``dbo.#paid``,
    ``cost$``, ``my table``); quoted parts (``"my.schema".t``, ```a.b`.t``, ``[a b].t``) are read
    as the dotted name they spell."""
    direct = store.node(name)
    if direct is not None and direct.removed_at is None:
        return direct
    spelled = unquoted(name)
    try:
        return _resolve_named(store, spelled)
    except NodeNotFoundError as missing:
        column = _resolve_column(store, spelled)
        if column is None:
            raise NodeNotFoundError(name, missing.suggestions) from None
        return column


def unquoted(name: str) -> str:
    """A dotted name as stored: the quotes of its parts taken off, the dots inside them kept.

    >>> unquoted('"My.Schema"."t#1"'), unquoted("[dbo].[#paid]"), unquoted("`a b`.c"), unquoted("x.y")
    ('My.Schema.t#1', 'dbo.#paid', 'a b.c', 'x.y')
    """
    if "://" in name or not any(mark in name for mark in '"`['):
        return name
    closing = {'"': '"', "`": "`", "[": "]"}
    parts, part, quote = [], "", ""
    for char in name:
        if quote:
            if char == closing[quote]:
                quote = ""
            else:
                part += char
        elif char in closing:
            quote = char
        elif char == ".":
            parts.append(part)
            part = ""
        else:
            part += char
    return ".".join([*parts, part])


def _resolve_named(store: Store, name: str) -> Node:
    for kind in ("dataset", "job"):
        node = store.node(f"{kind}:{name}")
        if node is not None and node.removed_at is None:
            return node
    candidates = [n for n in store.find(name, limit=5000) if n.kind in ("dataset", "job", "model", "model_version")]
    for matches in (
        [n for n in candidates if n.name == name or n.label == name],
        [n for n in candidates if n.name.endswith(("." + name, "/" + name))],
    ):
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise AmbiguousNameError(name, sorted(f"{n.namespace}/{n.name}" for n in matches))
    raise NodeNotFoundError(name, _suggestions(store, name))


def _resolve_column(store: Store, name: str) -> Node | None:
    """``TABLE#COLUMN``, the table named any way a dataset can be; since ``#`` may be in either
    (T-SQL's ``dbo.#t``, a column ``a#b``), each ``#`` is tried as the separator, the last first."""
    marks = [i for i, char in enumerate(name) if char == "#"]
    for at in reversed(marks):
        table, column = name[:at], name[at + 1:]
        if not table or not column:
            continue
        try:
            dataset = _resolve_named(store, table)
        except NodeNotFoundError:
            continue
        found = store.node(f"column:{dataset.namespace}/{dataset.name}#{column}")
        if found is not None:
            return found
    return None


def _suggestions(store: Store, name: str) -> list[str]:
    tail = name.rsplit(".", 1)[-1]
    pool = {n.name for prefix in {name[:3], tail[:3]} for n in store.find(prefix, limit=2000)}
    return difflib.get_close_matches(name, sorted(pool), n=3, cutoff=0.6)


def search(store: Store, text: str, kind: str | None = None, limit: int = 20) -> list[Node]:
    """Datasets and jobs whose name holds ``text``: exact names first, then names ending in it,
    then the rest; among equals the higher ranked (Goods ranks by lineage fan-out)."""
    needle = text.strip().lower()
    scored = []
    for node in store.find(needle, kind=kind, limit=max(200, limit * 10)):
        rank = _match_rank(node, needle)
        if rank is not None:
            scored.append((rank, -float(node.props.get("rank", 0.0)), node.name, node))
    scored.sort(key=lambda item: item[:3])
    return [node for *_, node in scored[:limit]]


def _match_rank(node: Node, needle: str) -> int | None:
    name = node.name.lower()
    if not needle:
        return 3
    if name == needle or name.rsplit(".", 1)[-1] == needle:
        return 0
    if name.endswith(needle):
        return 1
    if needle in name or needle in (node.label or "").lower():
        return 2
    return None


def direct_edges(store: Store, node_id: str) -> list[Edge]:
    """A node's own lineage edges (reads, writes, training), as the details panel lists them."""
    kinds = list(DATASET_FLOW)
    return sorted(store.neighbors([node_id], outgoing=kinds, incoming=kinds), key=lambda e: e.key)
