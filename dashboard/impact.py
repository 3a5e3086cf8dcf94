"""The impact page, ``/impact/<id>``: everything downstream of a node in a sortable, filterable
grid, a one-line summary of whom a change concerns, and the whole list as CSV.

A hub reaches hundreds of thousands of nodes: the grid uses AG Grid's infinite row model, the
server sorting, filtering and sending blocks of 100 rows (:mod:`dashboard.grid`) from an impact
worked out once per root and store generation (:func:`impact_table`, seconds for a hub). The
page does not wait for it: the first blocks in the grid's own order (nearest first, no filter)
are read for those rows alone (:func:`impact_block`) while the whole impact is worked out in the
background, and the summary line, which counts every row, follows once it is
(:func:`impact_summary`, a callback of its own)."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, wait
from typing import Any

import dash_ag_grid as dag
from dash import dcc, html

import graph
from dashboard import grid, ids, styles
from dashboard.elements import node_href
from dashboard.parts import not_found, shown
from graph import ImpactPage, ImpactRow, Store
from graph.lineage import counted, impact_counts, impact_kind

# One request at a time: blocks asked together would each filter and sort the whole impact.
GRID_OPTIONS = {"animateRows": False, "cacheBlockSize": grid.BLOCK, "maxConcurrentDatasourceRequests": 1,
                "infiniteInitialRowCount": grid.BLOCK, "maxBlocksInCache": 50, "blockLoadDebounceMillis": 60}
CACHED_ROOTS = 4  # the impacts kept (per store), the most recent roots
# A block in the grid's own order that ends within this many rows is read for itself while the
# whole impact is not worked out yet (reading more rows alone would cost more than waiting).
EARLY_ROWS = 1_000
COUNTING = "Counting everything downstream..."  # the summary line until the whole impact is in

COLUMNS = ("distance", "kind", "name", "namespace", "last_used", "owners")
# What each column sorts and filters by: the name column shows a link and sorts by the name.
SORT_KEYS = {**{column: column for column in COLUMNS}, "name": "title"}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ImpactTable:
    """A node's whole impact: its rows, as the grid shows them, and the summary line."""

    page: ImpactPage
    rows: tuple[dict[str, Any], ...]
    summary: str


def impact_page(store: Store, node_id: str) -> html.Div:
    """Everything downstream of a node, nearest first: what to check before changing it. The
    grid and the summary line fill in by their own callbacks (neither waits for the other)."""
    node = store.node(node_id)
    if node is None or node.kind == "run":
        return not_found(f"No dataset, job, column or model with id {shown(node_id)}.")
    return html.Div([
        html.H2(f"Impact of changing {node.title}", id="impact-title"),
        html.P(COUNTING, style=styles.SUMMARY, id=ids.IMPACT_SUMMARY),
        html.Div([
            html.Button("Download CSV", id=ids.IMPACT_CSV_BUTTON, n_clicks=0),
            dcc.Download(id=ids.IMPACT_CSV),
            dcc.Store(id=ids.IMPACT_ROOT, data=node.id),
            dcc.Store(id=ids.IMPACT_REFRESHED),
            dcc.Link("Back to the lineage graph", href=node_href(node.id), style={"marginLeft": "16px"}),
        ], style={"margin": "6px 0"}),
        dag.AgGrid(
            id=ids.IMPACT_GRID, rowModelType="infinite", columnDefs=COLUMN_DEFS,
            defaultColDef={"sortable": True, "filter": True, "floatingFilter": True, "resizable": True},
            columnSize="responsiveSizeToFit", style=styles.GRID,
            dashGridOptions=GRID_OPTIONS,
        ),
    ])


def impact_summary(store: Store, node_id: Any) -> str:
    """The summary line of a node's impact, once the whole of it is worked out."""
    table = impact_table(store, node_id) if isinstance(node_id, str) else None
    return table.summary if table is not None else ""


# Per store and root: the store generation an impact was worked out at, and the impact (a
# future: those asking while it is worked out wait for the one answer).
_TABLES: OrderedDict[tuple[int, str], tuple[int, Future[ImpactTable | None]]] = OrderedDict()
_TABLES_LOCK = threading.Lock()


def impact_table(store: Store, node_id: str) -> ImpactTable | None:
    """The whole impact of a node, None for an unknown node (or a run). Kept for the
    ``CACHED_ROOTS`` roots asked last while the store's generation stays: each block of the
    grid, the summary and the CSV read it again."""
    future, mine = _claim(store, node_id)
    if mine:
        _fill(store, node_id, future)
    return future.result()


def _fill(store: Store, node_id: str, future: Future[ImpactTable | None]) -> None:
    try:
        future.set_result(_work_out(store, node_id))
    except BaseException as error:  # (told to every caller waiting; asked again, worked out again)
        _forget(store, node_id, future)
        future.set_exception(error)


_BACKGROUND: set[Future[ImpactTable | None]] = set()  # impacts being worked out in threads of their own


def _in_background(store: Store, node_id: str, future: Future[ImpactTable | None]) -> None:
    with _TABLES_LOCK:
        _BACKGROUND.add(future)
    future.add_done_callback(_BACKGROUND.discard)
    threading.Thread(target=_fill, args=(store, node_id, future), name="impact", daemon=True).start()


def settle(timeout: float = 120.0) -> None:
    """Wait for the impacts being worked out in the background: they read the store, which is
    not to be closed under them."""
    with _TABLES_LOCK:
        pending = list(_BACKGROUND)
    wait(pending, timeout)


def _claim(store: Store, node_id: str) -> tuple[Future[ImpactTable | None], bool]:
    """The impact of a node at the store's generation, and whether the caller is to work it out."""
    generation = store.generation()
    key = (id(store), node_id)
    with _TABLES_LOCK:
        found = _TABLES.get(key)
        if found is not None and found[0] == generation:
            _TABLES.move_to_end(key)
            return found[1], False
        future: Future[ImpactTable | None] = Future()
        _TABLES[key] = (generation, future)
        _TABLES.move_to_end(key)
        while len(_TABLES) > CACHED_ROOTS:
            _TABLES.popitem(last=False)
        return future, True


def _forget(store: Store, node_id: str, future: Future[ImpactTable | None]) -> None:
    with _TABLES_LOCK:
        key = (id(store), node_id)
        if key in _TABLES and _TABLES[key][1] is future:
            del _TABLES[key]


def _current(store: Store, node_id: str) -> Future[ImpactTable | None] | None:
    """The whole impact of a node at the store's generation, if it is worked out or on its way."""
    with _TABLES_LOCK:
        found = _TABLES.get((id(store), node_id))
    return found[1] if found is not None and found[0] == store.generation() else None


def _work_out(store: Store, node_id: str) -> ImpactTable | None:
    node = store.node(node_id)
    if node is None or node.kind == "run":
        return None
    page = graph.impact_page(store, node.id)
    return ImpactTable(page=page, rows=tuple(grid_rows(page.rows)), summary=summary(page))


def impact_block(store: Store, node_id: Any, request: Any) -> dict[str, Any]:
    """A block of the impact grid for AG Grid's request (sorted and filtered here); an unknown
    root or a request that cannot be read is answered with what can be, never raised. A block
    in the grid's own order near the top is answered before the whole impact is in (see
    :data:`EARLY_ROWS`), which is then worked out in the background."""
    if not isinstance(node_id, str):
        return grid.block((), request, SORT_KEYS)
    early = _early_block(store, node_id, request)
    if early is not None:
        return early
    table = impact_table(store, node_id)
    return grid.block(table.rows if table is not None else (), request, SORT_KEYS)


def _early_block(store: Store, node_id: str, request: Any) -> dict[str, Any] | None:
    """The block read for its rows alone (nearest first, as the whole impact orders them), or
    None when the whole impact is to answer (worked out already, or another order or filter)."""
    start, end = grid.window(request)
    if end > EARLY_ROWS or not grid.in_order_of(request, SORT_KEYS, "distance"):
        return None
    whole = _current(store, node_id)
    if whole is not None and whole.done():
        return None
    node = store.node(node_id)
    if node is None or node.kind == "run":
        return {"rowData": [], "rowCount": 0}
    rows, count = _first_rows(store, node.id, end)
    if whole is None:  # (started once the block is read: it would halve the block's share of the interpreter)
        future, mine = _claim(store, node_id)
        if mine:
            _in_background(store, node_id, future)
    return {"rowData": grid_rows(rows[start:end]), "rowCount": count}


def _first_rows(store: Store, node_id: str, end: int) -> tuple[Sequence[ImpactRow], int | None]:
    """The first ``end`` rows of a node's impact, walked a distance at a time, and how many
    there are in all (None: not known until the whole impact is in; the grid then grows as it
    is scrolled, and is refreshed when the summary line comes). Where the walk that far cannot
    tell the rows, they are read from the whole walk (its rows' details alone)."""
    head = graph.impact_head(store, node_id, end)
    if head is not None:
        return head.rows, head.total
    page = graph.impact_page(store, node_id, limit=end)
    return page.rows, page.total


COLUMN_DEFS = [
    {"field": "distance", "filter": "agNumberColumnFilter", "maxWidth": 130, "sort": "asc"},
    {"field": "kind", "maxWidth": 150},
    {"field": "name", "cellRenderer": "markdown", "minWidth": 280},
    {"field": "namespace"},
    {"field": "last_used", "headerName": "last used", "filter": "agTextColumnFilter", "cellDataType": "text"},
    {"field": "owners"},
]


def grid_rows(rows: Sequence[ImpactRow]) -> list[dict[str, Any]]:
    """One grid row per node reached; the name a markdown link to its page, escaped (names
    come from logs).

    >>> from graph import Node
    >>> grid_rows([ImpactRow(node=Node(id="dataset:x/a_b", kind="dataset", name="a_b"), distance=1,
    ...                      last_seen=None, owners=("etl",))])[0]["name"]
    '[a\\\\_b](/node/dataset%3Ax%2Fa_b)'
    """
    return [{"distance": r.distance, "kind": _kind(r),
             "name": f"[{_markdown_text(r.node.title)}]({node_href(r.node.id)})",
             "namespace": r.node.namespace or "", "last_used": r.last_seen or "", "owners": ", ".join(r.owners),
             "id": r.node.id, "title": r.node.title} for r in rows]


def _kind(row: ImpactRow) -> str:
    return impact_kind(row.node)


# Markdown's punctuation, each escaped by a backslash (a table, not a regex: a hub's impact
# names 200,000 nodes).
_MARKDOWN = str.maketrans({char: "\\" + char for char in "\\`*_{}[]()<>#+-.!|~"})


def _markdown_text(text: str) -> str:
    r"""``text`` shown as itself in markdown.

    >>> print(_markdown_text("raw.t_0 [x]"))
    raw\.t\_0 \[x\]
    """
    return text.translate(_MARKDOWN)


def summary(page: ImpactPage) -> str:
    """``12 tables, 4 jobs, 2 model versions, 5 owners to notify`` (of the rows listed, and how
    many there are in all when the list is cut).

    >>> from graph import Node
    >>> rows = (ImpactRow(node=Node(id="d", kind="dataset", name="d", props={"kind": "table"}), distance=1,
    ...                   last_seen=None, owners=("ana", "bo")),
    ...         ImpactRow(node=Node(id="j", kind="job", name="j"), distance=1, last_seen=None, owners=("ana",)))
    >>> summary(ImpactPage(rows=rows, total=2))
    '1 table, 1 job, 2 owners to notify.'
    """
    if not page.rows:
        return "Nothing downstream: a change here touches no other dataset, job or model."
    owners = {owner for r in page.rows for owner in r.owners}
    parts = [counted(count, kind) for kind, count in impact_counts(page.rows)]
    parts.append(f"{counted(len(owners), 'owner')} to notify")
    text = ", ".join(parts) + "."
    if page.total > len(page.rows):
        text = f"{page.total:,} nodes downstream; the nearest {len(page.rows)}: " + text
    return text


def impact_csv(store: Store, node_id: str) -> str | None:
    """The whole impact of a node as CSV, None for an unknown node. Cells that a spreadsheet
    would run as a formula are quoted with a leading apostrophe."""
    table = impact_table(store, node_id)
    if table is None:
        return None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["distance", "kind", "name", "namespace", "id", "last_used", "owners"])
    for r in table.page.rows:
        writer.writerow([r.distance, _kind(r), *(_cell(v) for v in (r.node.title, r.node.namespace or "", r.node.id,
                                                                   r.last_seen or "", " ".join(r.owners)))])
    return out.getvalue()


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_filename(node_id: str) -> str:
    """``impact-<name>.csv``, with only safe characters.

    >>> csv_filename("dataset:postgres://h:5432/credit.ml.scores")
    'impact-credit.ml.scores.csv'
    """
    name = node_id.rsplit("/", 1)[-1]
    return "impact-" + (re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:80] or "node") + ".csv"
