"""The impact page, ``/impact/<id>``: everything downstream of a node in a sortable, filterable
grid, a one-line summary of whom a change concerns, and the whole list as CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

import dash_ag_grid as dag
from dash import dcc, html

import graph
from dashboard import ids, styles
from dashboard.elements import node_href
from dashboard.parts import not_found, shown
from graph import ImpactPage, ImpactRow, Store
from graph.lineage import counted, impact_counts, impact_kind

# A hub table reaches hundreds of thousands of nodes: the grid holds the nearest, and says so.
IMPACT_ROWS = 500
CSV_ROWS = 20_000
# Pages of 100; AG Grid draws only the rows in view either way.
GRID_OPTIONS = {"animateRows": False, "pagination": True, "paginationPageSize": 100,
                "paginationPageSizeSelector": False}

COLUMNS = ("distance", "kind", "name", "namespace", "last_used", "owners")


def impact_page(store: Store, node_id: str) -> html.Div:
    """Everything downstream of a node, nearest first: what to check before changing it."""
    node = store.node(node_id)
    if node is None or node.kind == "run":
        return not_found(f"No dataset, job, column or model with id {shown(node_id)}.")
    page = graph.impact_page(store, node.id, limit=IMPACT_ROWS)
    return html.Div([
        html.H2(f"Impact of changing {node.title}", id="impact-title"),
        html.P(summary(page), style=styles.SUMMARY, id="impact-summary"),
        html.Div([
            html.Button("Download CSV", id=ids.IMPACT_CSV_BUTTON, n_clicks=0),
            dcc.Download(id=ids.IMPACT_CSV),
            dcc.Store(id=ids.IMPACT_ROOT, data=node.id),
            dcc.Link("Back to the lineage graph", href=node_href(node.id), style={"marginLeft": "16px"}),
        ], style={"margin": "6px 0"}),
        dag.AgGrid(
            id=ids.IMPACT_GRID, rowData=grid_rows(page.rows), columnDefs=COLUMN_DEFS,
            defaultColDef={"sortable": True, "filter": True, "floatingFilter": True, "resizable": True},
            columnSize="responsiveSizeToFit", style=styles.GRID,
            dashGridOptions=GRID_OPTIONS,
        ),
    ])


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
             "id": r.node.id} for r in rows]


def _kind(row: ImpactRow) -> str:
    return impact_kind(row.node)


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~])")


def _markdown_text(text: str) -> str:
    return _MARKDOWN.sub(r"\\\1", text)


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
    """The impact of a node as CSV (up to ``CSV_ROWS`` rows), None for an unknown node. Cells
    that a spreadsheet would run as a formula are quoted with a leading apostrophe."""
    node = store.node(node_id)
    if node is None or node.kind == "run":
        return None
    page = graph.impact_page(store, node.id, limit=CSV_ROWS)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["distance", "kind", "name", "namespace", "id", "last_used", "owners"])
    for r in page.rows:
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
