"""The dashboard without a browser: element building, routing and callbacks called directly."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import networkx
import pytest
from dash import dcc, html

from dashboard import callbacks, crawls, impact, models, pages
from dashboard.app import create_app
from dashboard.elements import GraphOptions, elements, flows, impact_href, keep, links, model_href, node_href
from graph import Edge, LineageView, Node, Store, neighbourhood, resolve
from graph.nearby import Surroundings


def _text(component: Any) -> str:
    """All the text a component tree shows."""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(_text(c) for c in component)
    rows = getattr(component, "rowData", None)  # a grid's cells
    if rows:
        return " ".join(str(value) for row in rows for value in row.values())
    children = getattr(component, "children", None)
    return _text(children) if children is not None else ""


def _find(component: Any, kind: type) -> list[Any]:
    found = [component] if isinstance(component, kind) else []
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children] if children is not None else []:
        found += _find(child, kind)
    return found


def test_elements_color_each_side_and_link_every_node(demo_store: Store) -> None:
    root = resolve(demo_store, "features.customer_features").id
    view = neighbourhood(demo_store, root, depth=1)
    built = elements(view, GraphOptions(datasets_only=False))
    nodes = {e["data"]["id"]: e for e in built if "source" not in e["data"]}
    edges = [e for e in built if "source" in e["data"]]
    assert nodes[root]["classes"] == "dataset root"
    assert "upstream" in nodes[resolve(demo_store, "staging.customers").id]["classes"]
    assert "downstream" in nodes[resolve(demo_store, "ml.credit_scores").id]["classes"]
    assert all(e["data"]["href"] == node_href(i) for i, e in nodes.items())
    assert {e["data"]["source"] for e in edges} | {e["data"]["target"] for e in edges} <= set(nodes)
    assert len(edges) == len(view.edges)


def test_the_node_page_shows_details_graph_and_sql(demo_store: Store) -> None:
    scores = resolve(demo_store, "ml.credit_scores")
    page = pages.route(demo_store, node_href(scores.id))
    text = _text(page)
    assert "credit.ml.credit_scores" in text and "first seen" in text
    assert "written by" in text and "read by" in text
    assert "INSERT INTO ml.credit_scores" in text  # the SQL behind the edge
    (graph,) = [c for c in _find(page, html.Div) if getattr(c, "id", None) == "node-evidence"]
    assert graph.children


def test_a_dataset_page_says_when_it_was_last_truncated(demo_store: Store) -> None:
    features = resolve(demo_store, "features.customer_features")
    text = _text(pages.route(demo_store, node_href(features.id)))
    assert "last truncate" in text  # TRUNCATE in the demo ELT: an event on the dataset, not an edge


def test_unknown_pages_and_nodes_say_not_found(demo_store: Store) -> None:
    assert "Not found" in _text(pages.route(demo_store, "/node/dataset%3Anope"))
    assert "Not found" in _text(pages.route(demo_store, "/elsewhere"))


def test_the_home_page_lists_datasets_and_the_last_crawl(demo_store: Store) -> None:
    text = _text(pages.route(demo_store, "/"))
    assert "credit.ml.credit_scores" in text
    assert "Last crawl" in text and "bad_json: 1" in text


def test_search_callback(demo_store: Store) -> None:
    assert callbacks.search_results(demo_store, "s") == []
    assert "credit.ml.credit_scores" in _text(callbacks.search_results(demo_store, "credit_sc"))
    assert "Nothing matches" in _text(callbacks.search_results(demo_store, "zzzz"))


def test_a_job_shows_the_users_who_run_it_and_their_applications(demo_store: Store) -> None:
    job = resolve(demo_store, "INSERT credit.ml.prediction_log from credit.ml.credit_scores")
    rows = dict(pages.fact_rows(demo_store, job))
    assert rows["owners"] == "svc_limits" and rows["applications"] == "limit-service"
    assert "top users" not in rows


def test_clicking_a_node_shows_its_details_with_a_link_to_its_page(demo_store: Store) -> None:
    scores = resolve(demo_store, "ml.credit_scores")
    panel = callbacks.select_node(demo_store, {"id": scores.id, "kind": "dataset"})
    text = _text(panel)
    assert "Open credit.ml.credit_scores" in text and "owners" in text and "top users" in text
    assert "runs" in text and "Schema (5 columns)" in text and "INSERT INTO ml.credit_scores" in text
    (link,) = [c for c in _find(panel, dcc.Link) if getattr(c, "id", None) == "open-node"]
    assert link.href == node_href(scores.id)
    assert "gone" in _text(callbacks.select_node(demo_store, {"id": "dataset:nope"}))
    assert callbacks.select_node(demo_store, None) is None


def test_tapping_an_edge_shows_its_evidence(demo_store: Store) -> None:
    scores = resolve(demo_store, "ml.credit_scores").id
    src = next(w.src for w in demo_store.neighbors([scores], incoming=["WRITES"])
               if "INSERT INTO ml.credit_scores" in (demo_store.evidence(w.key)[0].sql or ""))
    tapped = {"id": f"{src}|WRITES|{scores}", "source": src, "target": scores}
    assert "INSERT INTO ml.credit_scores" in _text(callbacks.show_edge(demo_store, tapped))
    assert "gone" in _text(callbacks.show_edge(demo_store, {"id": "a|READS|b"}))


def test_the_app_builds_with_every_callback(demo_store: Store) -> None:
    app = create_app(demo_store)
    outputs = {key.split("@")[0] for key in app.callback_map}
    assert {"page.children", "search-results.children", "url.href", "edge-details.children",
            "node-details.children", "impact-csv.data", "impact-grid.getRowsResponse",
            "impact-summary.children"} <= outputs


def test_a_token_guards_every_request(demo_store: Store) -> None:
    client = create_app(demo_store, token="s3cret-token").server.test_client()
    assert client.get("/").status_code == 401
    assert client.get("/?token=wrong").status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    assert client.get("/?token=s3cret-token").status_code == 200
    assert client.get("/_dash-layout").status_code == 200, "the cookie set by the first visit is kept"


def test_without_a_token_the_dashboard_is_open_on_loopback(demo_store: Store) -> None:
    assert create_app(demo_store).server.test_client().get("/").status_code == 200


def test_the_impact_page_lists_everything_downstream_with_owners(demo_store: Store) -> None:
    customers = resolve(demo_store, "staging.customers")
    page = pages.route(demo_store, impact_href(customers.id))
    assert "Impact of changing credit.staging.customers" in _text(page)
    block = impact.impact_block(demo_store, customers.id, {"startRow": 0, "endRow": 100})
    text = " ".join(f"{row['title']} {row['owners']}" for row in block["rowData"])
    assert "credit.ml.credit_scores" in text and "credit.reporting.limit_decisions" in text
    assert "etl_nightly" in text, "owners are shown"
    assert "Not found" in _text(pages.route(demo_store, "/impact/dataset%3Anope"))


def test_the_impact_grid_serves_every_row_sorted_and_filtered_on_the_server(demo_store: Store) -> None:
    customers = resolve(demo_store, "staging.customers").id
    table = impact.impact_table(demo_store, customers)
    assert table is not None and len(table.rows) == table.page.total >= 10
    assert "nearest" not in table.summary, "the summary counts every row"
    first = impact.impact_block(demo_store, customers, {"startRow": 0, "endRow": 4, "sortModel": [], "filterModel": {}})
    assert first["rowCount"] == len(table.rows) and len(first["rowData"]) == 4
    rest = impact.impact_block(demo_store, customers, {"startRow": 4, "endRow": 400})
    assert [r["id"] for r in first["rowData"] + rest["rowData"]] == [r["id"] for r in table.rows], "blocks tile"
    far = impact.impact_block(demo_store, customers, {"startRow": 0, "endRow": 100,
                                                      "sortModel": [{"colId": "distance", "sort": "desc"},
                                                                    {"colId": "name", "sort": "asc"}]})
    distances = [r["distance"] for r in far["rowData"]]
    assert distances == sorted(distances, reverse=True) and distances[0] > 1
    names = [r["title"] for r in far["rowData"] if r["distance"] == distances[0]]
    assert names == sorted(names, key=str.lower)
    jobs = impact.impact_block(demo_store, customers, {"startRow": 0, "endRow": 100, "filterModel": {
        "kind": {"filterType": "text", "type": "equals", "filter": "job"},
        "distance": {"filterType": "number", "operator": "OR", "conditions": [
            {"filterType": "number", "type": "equals", "filter": 1},
            {"filterType": "number", "type": "greaterThan", "filter": 2}]}}})
    assert jobs["rowCount"] == sum(1 for r in table.rows if r["kind"] == "job" and r["distance"] != 2) > 0
    assert {r["kind"] for r in jobs["rowData"]} == {"job"} and 2 not in {r["distance"] for r in jobs["rowData"]}


HOSTILE_REQUESTS = [None, "x", [], {"startRow": -5, "endRow": "1e999"}, {"startRow": 10**30, "endRow": None},
                    {"sortModel": [{"colId": "__class__", "sort": "desc"}, "name", {"colId": ["x"]}]},
                    {"filterModel": {"name": {"filterType": "text", "type": "regex", "filter": ".*("}}},
                    {"filterModel": {"distance": {"filterType": "number", "type": "inRange", "filter": "nan",
                                                  "filterTo": {"$gt": 1}}}},
                    {"filterModel": {"kind": {"operator": "XOR", "conditions": [None, 3] * 1000}}},
                    {"filterModel": {"owners": {"type": "contains", "filter": "x" * 100_000}}}]


@pytest.mark.parametrize("request_", HOSTILE_REQUESTS, ids=range(len(HOSTILE_REQUESTS)))
def test_a_malformed_grid_request_is_answered_not_raised(demo_store: Store, request_: object) -> None:
    customers = resolve(demo_store, "staging.customers").id
    answer = impact.impact_block(demo_store, customers, request_)
    assert set(answer) == {"rowData", "rowCount"} and len(answer["rowData"]) <= 1_000
    assert impact.impact_block(demo_store, {"id": 1}, request_) == {"rowData": [], "rowCount": 0}
    assert impact.impact_block(demo_store, "dataset:nope", request_) == {"rowData": [], "rowCount": 0}


def test_a_node_with_many_edges_shows_the_latest_with_their_evidence(demo_store: Store,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    customers = resolve(demo_store, "staging.customers")
    monkeypatch.setattr(pages, "EVIDENCE_EDGES", 1)
    details = _text(pages.details(demo_store, customers))
    assert "more edges." in details
    assert details.count("seen ") >= 1


def _view(root: str, nodes: list[Node], edges: list[Edge], distance: dict[str, int]) -> LineageView:
    return LineageView(root=root, direction="both", nodes={n.id: n for n in nodes}, distance=distance,
                       edges=tuple(edges))


def test_datasets_only_folds_each_job_into_edges_from_what_it_reads_to_what_it_writes() -> None:
    a, b, c = (Node(id=f"dataset:{x}", kind="dataset", name=x) for x in "abc")
    insert = Node(id="job:i", kind="job", name="i", props={"statement_kind": "INSERT"})
    merge = Node(id="job:m", kind="job", name="m", props={"statement_kind": "MERGE"})
    select = Node(id="job:s", kind="job", name="s", props={"statement_kind": "SELECT"})
    view = _view("dataset:b", [a, b, c, insert, merge, select], [
        Edge(src="dataset:a", kind="READS", dst="job:i"), Edge(src="job:i", kind="WRITES", dst="dataset:b"),
        Edge(src="dataset:a", kind="READS", dst="job:m"), Edge(src="job:m", kind="WRITES", dst="dataset:b"),
        Edge(src="dataset:b", kind="READS", dst="job:s"),  # a reader that writes nothing: left out
        Edge(src="dataset:b", kind="READS", dst="job:m"), Edge(src="job:m", kind="WRITES", dst="dataset:c"),
    ], {"dataset:a": -1, "job:i": -1, "job:m": -1, "dataset:c": 1, "job:s": 1})
    folded = {(f.src, f.dst): f for f in flows(view, datasets_only=True)}
    assert set(folded) == {("dataset:a", "dataset:b"), ("dataset:b", "dataset:c"), ("dataset:a", "dataset:c")}
    assert folded["dataset:a", "dataset:b"].label == "INSERT +1", "two jobs between the same datasets: one edge"
    assert set(folded["dataset:a", "dataset:b"].parts) == {
        ("dataset:a", "READS", "job:i"), ("job:i", "WRITES", "dataset:b"),
        ("dataset:a", "READS", "job:m"), ("job:m", "WRITES", "dataset:b")}
    built = elements(view)
    assert not [e for e in built if e["data"].get("kind") == "job"]
    assert all("label" in e["data"] for e in built if "source" in e["data"])
    assert len(flows(view, datasets_only=False)) == 7, "every stored edge, unfolded"
    job_root = _view("job:i", [a, b, insert], [Edge(src="dataset:a", kind="READS", dst="job:i"),
                                               Edge(src="job:i", kind="WRITES", dst="dataset:b")],
                     {"dataset:a": -1, "dataset:b": 1})
    assert {(f.src, f.dst) for f in flows(job_root, datasets_only=True)} == {("dataset:a", "job:i"),
                                                                             ("job:i", "dataset:b")}


def test_edges_point_the_way_data_moves() -> None:
    data = Node(id="dataset:t", kind="dataset", name="t")
    version = Node(id="model_version:m/1", kind="model_version", name="m", props={"version": "1"})
    view = _view("model_version:m/1", [data, version], [Edge(src="model_version:m/1", kind="TRAINED_ON",
                                                              dst="dataset:t")], {"dataset:t": -1})
    (flow,) = flows(view, datasets_only=True)
    assert (flow.src, flow.dst) == ("dataset:t", "model_version:m/1")


def test_a_hub_shows_its_best_ranked_neighbours_and_a_more_node_within_the_cap() -> None:
    hub = Node(id="dataset:hub", kind="dataset", name="hub")
    readers = [Node(id=f"dataset:r{i:02}", kind="dataset", name=f"r{i:02}", props={"rank": i}) for i in range(30)]
    edges = [Edge(src="dataset:hub", kind="FEEDS", dst=r.id) for r in readers]
    view = _view("dataset:hub", [hub, *readers], edges, {r.id: 1 for r in readers})
    placed, more = keep(view, flows(view, datasets_only=True), GraphOptions(per_node=5))
    assert placed == ["dataset:hub", "dataset:r29", "dataset:r28", "dataset:r27", "dataset:r26", "dataset:r25"]
    (hidden,) = more
    assert len(hidden.hidden) == 25 and hidden.side == "downstream"
    built = elements(view, GraphOptions(per_node=5))
    (node,) = [e for e in built if e["data"].get("kind") == "more"]
    assert node["data"]["label"] == "+25 more" and node["data"]["href"] == impact_href("dataset:hub")
    assert len(elements(view, GraphOptions(per_node=50, max_nodes=10, max_elements=15))) == 15
    assert len([e for e in elements(view, GraphOptions(per_node=50, max_nodes=10)) if "source" not in e["data"]]) == 11


def _drawn(store: Store, root: str, query: str) -> list[dict[str, Any]]:
    """The graph the node page draws for the query string of its URL."""
    return pages.graph_elements(store, root, pages.node_options(query))


def test_the_controls_live_in_the_url_and_depths_are_held_to_1_to_10(demo_store: Store) -> None:
    root = resolve(demo_store, "ml.credit_scores").id
    assert callbacks.node_query(2, 1, ["on"], None) == "?up=2"
    one, two = _drawn(demo_store, root, ""), _drawn(demo_store, root, callbacks.node_query(2, 1, ["on"], None))
    with_jobs = _drawn(demo_store, root, callbacks.node_query(1, 1, [], None))
    assert len(two) > len(one) and pages.graph_note(one).endswith("nodes")
    assert any(e["data"].get("kind") == "job" for e in with_jobs)
    assert not any(e["data"].get("kind") == "job" for e in one)
    assert _drawn(demo_store, root, "?up=99&down=") == _drawn(demo_store, root, "?up=10")
    assert pages.node_options("?up=-3&down=x&as_of=<script>") == GraphOptions()
    assert GraphOptions(upstream=-3, downstream="x").clamped() == GraphOptions(upstream=1, downstream=1)  # type: ignore[arg-type]


def test_as_of_draws_the_graph_as_it_was(demo_store: Store) -> None:
    scores = resolve(demo_store, "ml.credit_scores")
    now = _drawn(demo_store, scores.id, "")
    first = min(e.first_seen or "" for e in demo_store.neighbors([scores.id], outgoing=["READS"],
                                                                 incoming=["WRITES"]))
    before = _drawn(demo_store, scores.id, "?as_of=" + first[:10])  # midnight of the day it was first seen
    assert first > first[:10] and len(before) == 1, "nothing around it yet"
    assert len(_drawn(demo_store, scores.id, "?as_of=2099-01-01")) == len(now)
    page = pages.route(demo_store, node_href(scores.id), "?as_of=" + first[:10])
    assert f"as of {first[:10]}T00:00:00.000Z" in _text(page)
    (box,) = [c for c in _find(page, dcc.Input) if c.id == "as-of"]
    assert box.value == first[:10] + "T00:00"


def test_graph_labels_are_at_least_12_px() -> None:
    from dashboard import styles

    sizes = [float(rule["style"]["font-size"].removesuffix("px")) for rule in styles.GRAPH_STYLESHEET
             if "font-size" in rule["style"]]
    assert sizes and min(sizes) >= 12
    assert styles.GRAPH_LAYOUT["name"] == "preset", "placed on the server (dashboard/layout.py)"


def test_the_layout_puts_upstream_left_downstream_right_on_one_grid(demo_store: Store) -> None:
    from dashboard import layout

    scores = resolve(demo_store, "ml.credit_scores").id
    built = pages.graph_elements(demo_store, scores, GraphOptions(upstream=3, downstream=3, datasets_only=False))
    placed = layout.place(built)
    where = {e["data"]["id"]: e["position"] for e in placed if "position" in e}
    assert len(where) == sum(1 for e in built if "source" not in e["data"]) and where[scores] == {"x": 0.0, "y": 0.0}
    classes = {e["data"]["id"]: e["classes"].split() for e in placed if "position" in e}
    flows_graph = networkx.DiGraph([(e["data"]["source"], e["data"]["target"])
                                    for e in placed if "source" in e["data"]])
    assert all(where[n]["x"] < 0 for n, c in classes.items() if "upstream" in c)
    assert all(where[n]["x"] > 0 for n, c in classes.items() if "downstream" in c)
    assert all(p["x"] % layout.COLUMN == 0 and p["y"] % layout.ROW == 0 for p in where.values()), "one grid"
    assert len({(p["x"], p["y"]) for p in where.values()}) == len(where), "no two nodes in one place"
    for edge in (e for e in placed if "source" in e["data"]):
        source, target = where[edge["data"]["source"]], where[edge["data"]["target"]]
        bends = layout.route((source["x"], source["y"]), (target["x"], target["y"]))
        for x, y in bends:  # every bend in a channel (between columns) or on a lane (between rows)
            assert abs(x) % layout.COLUMN >= layout.CHANNEL - 1e-6 or (y - layout.LANE) % layout.ROW == 0
        if source["x"] > target["x"] and edge["data"]["kind"] != "MORE":  # right to left: it closes a cycle
            assert networkx.has_path(flows_graph, edge["data"]["target"], edge["data"]["source"]), edge["data"]


def test_routes_run_in_channels_and_lanes() -> None:
    from dashboard import layout

    weights, distances = layout.relative((0, 0), (600, 160), layout.route((0, 0), (600, 160)))
    assert len(weights) == len(distances) == 4
    # back from the relative form, the bends are where route put them
    for (x, y), w, d in zip(layout.route((0, 0), (600, 160)), weights, distances, strict=True):
        length = (600 ** 2 + 160 ** 2) ** 0.5
        assert abs(600 * w - 160 * d / length - x) < 0.01 and abs(160 * w + 600 * d / length - y) < 0.01


def test_a_folded_edge_shows_the_evidence_of_the_job_behind_it(demo_store: Store) -> None:
    root = resolve(demo_store, "ml.credit_scores").id
    built = _drawn(demo_store, root, "")
    (edge,) = [e["data"] for e in built if e["data"].get("target") == root
               and "customer_features" in e["data"]["source"]]
    text = _text(callbacks.show_edge(demo_store, edge))
    assert "INSERT INTO ml.credit_scores" in text and "FROM features.customer_features" in text


def test_search_finds_columns_and_enter_opens_every_match(demo_store: Store) -> None:
    found = _text(callbacks.search_results(demo_store, "date_of_birth"))
    assert "credit.raw.customers.date_of_birth" in found
    assert callbacks.search_href("  credit_sc ") == "/search?q=credit_sc"
    assert callbacks.search_href("   ") is None
    page = pages.route(demo_store, "/search", "?q=credit_sc")
    assert "credit.ml.credit_scores" in _text(page)
    links = [c.href for c in _find(page, dcc.Link)]
    assert node_href(resolve(demo_store, "ml.credit_scores").id) in links
    assert "Nothing matches" in _text(pages.route(demo_store, "/search", "?q=zzzz"))


def test_the_impact_summary_counts_kinds_and_owners(demo_store: Store) -> None:
    customers = resolve(demo_store, "staging.customers")
    (shown,) = [c for c in _find(pages.route(demo_store, impact_href(customers.id)), html.P)
                if getattr(c, "id", None) == "impact-summary"]
    assert shown.children == impact.COUNTING, "the page does not wait for the whole impact"
    summary = impact.impact_summary(demo_store, customers.id)  # (its callback's, once the grid has a block)
    assert "2 model versions" in summary and "owners to notify" in summary and "jobs" in summary
    assert impact.impact_summary(demo_store, "dataset:nope") == impact.impact_summary(demo_store, {"x": 1}) == ""


def test_the_impact_csv_lists_every_row_and_defuses_formulas(demo_store: Store) -> None:
    customers = resolve(demo_store, "staging.customers").id
    text = impact.impact_csv(demo_store, customers)
    assert text is not None
    lines = text.splitlines()
    assert lines[0] == "distance,kind,name,namespace,id,last_used,owners"
    assert any("credit.ml.credit_scores" in line for line in lines)
    assert impact.impact_csv(demo_store, "dataset:nope") is None
    assert impact._cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    download = callbacks.impact_download(demo_store, customers)
    assert download is not None and download["filename"] == "impact-credit.staging.customers.csv"


def test_the_model_page_shows_a_versions_training_run_data_and_serving(demo_store: Store) -> None:
    text = _text(pages.route(demo_store, model_href("credit_limit_model")))
    assert "Model credit_limit_model" in text and "v3 (shown)" in text and "champion" in text
    assert "e81b5d9a3c7f2e4b6d8a0c1e3f5a7b9d2c4e6f80" in text, "the training run's commit"
    assert "learning_rate" in text and "rmse" in text
    assert "credit.ml.training_set_v3" in text and "credit.raw.customers" in text
    assert "Serving" in text and "v2" in text
    older = _text(pages.route(demo_store, model_href("credit_limit_model", "2")))
    assert "v2 (shown)" in older and "Version 2" in older
    assert "Not found" in _text(pages.route(demo_store, model_href("credit_limit_model", "9")))
    assert "Not found" in _text(pages.route(demo_store, model_href("nope")))
    assert models.versions(demo_store, "nope") == []


def test_the_crawls_page_lists_reports_their_issues_and_changes(demo_store: Store) -> None:
    page = pages.route(demo_store, "/crawls")
    text = _text(page)
    assert "Crawls" in text and "bad_json: 1" in text and "unparseable_sql" in text
    assert "added 26 datasets" in text or "added" in text
    assert "credit.ml.credit_scores" in text, "the datasets the crawl added"
    assert crawls._before([3, 1], 3) == 1 and crawls._before([1], 1) == 0


HOSTILE = ["<script>alert(1)</script>", "../../etc/passwd", "..%2F..%2F", "' OR 1=1 --", '"; DROP TABLE nodes; --',
           "x" * 5000, "%00", "\\u0000", "dataset:<img src=x onerror=alert(1)>"]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_ids_and_searches_get_a_page_not_an_error(demo_store: Store, text: str) -> None:
    from urllib.parse import quote

    client = create_app(demo_store).server.test_client()
    for path in (f"/node/{quote(text, safe='')}", f"/impact/{quote(text, safe='')}", f"/model/{quote(text, safe='')}",
                 f"/model/credit_limit_model/{quote(text, safe='')}", f"/{quote(text, safe='')}", "/search"):
        page = pages.route(demo_store, path, "?q=" + quote(text))
        shown = _text(page)
        assert "Not found" in shown or "Search" in shown
        assert len(shown) < 2000, "an id is echoed cut short"
        assert not _find(page, html.Script)
        response = client.post("/_dash-update-component", json={
            "output": "page.children", "outputs": {"id": "page", "property": "children"},
            "inputs": [{"id": "url", "property": "pathname", "value": path},
                       {"id": "url", "property": "search", "value": "?q=" + quote(text)}],
            "changedPropIds": ["url.pathname"], "state": []})
        assert response.status_code == 200
        assert response.is_json
    assert callbacks.search_results(demo_store, text) is not None


def test_a_column_impact_counts_columns_and_jobs_as_themselves(demo_store: Store) -> None:
    income = resolve(demo_store, "raw.customers#annual_income").id
    summary = impact.impact_summary(demo_store, income)
    table = impact.impact_table(demo_store, income)
    assert table is not None
    columns = sum(1 for row in table.rows if row["kind"] == "column")
    jobs = [row for row in table.rows if row["kind"] == "job"]
    # (the owners to notify are the jobs' owners: the users who run them)
    assert re.fullmatch(rf"{columns} columns, {len(jobs)} jobs, [1-9][0-9]* owners to notify\.", summary)
    assert columns and any("CREATE TABLE AS credit\\.staging\\.customers" in row["name"] and row["distance"] == 1
                           for row in jobs), "the jobs that read the column"


@pytest.mark.parametrize("max_nodes", [3, 6, 12, 80])
def test_a_deep_graph_is_read_only_around_the_nodes_drawn_and_draws_the_same(
        demo_store: Store, max_nodes: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "READ_WHOLE", 0)  # (the demo is small: read around, as a hub's page is)
    read: list[str] = []
    real_read = Surroundings.read

    def counting(around: Surroundings, nodes: Any, **ways: Any) -> list[Edge]:
        nodes = list(nodes)
        read.extend(nodes)
        return real_read(around, nodes, **ways)

    monkeypatch.setattr(Surroundings, "read", counting)
    for name in ("staging.customers", "ml.credit_scores", "raw.customers"):
        root = resolve(demo_store, name).id
        for datasets_only in (True, False):
            options = GraphOptions(upstream=10, downstream=10, datasets_only=datasets_only, per_node=2,
                                   max_nodes=max_nodes)
            view = pages.view_of(demo_store, root, options)
            whole = elements(view, options)
            read.clear()
            assert pages.graph_elements(demo_store, root, options) == whole, (name, datasets_only)
            drawn = {e["data"]["id"] for e in whole if "source" not in e["data"]}
            assert set(read) <= set(view.nodes) and drawn & set(view.nodes) <= set(read)
            if max_nodes == 3 and name == "staging.customers":
                assert len(set(read)) < len(view.nodes), "a full page reads around fewer nodes than it reaches"


def test_a_hub_page_at_depth_10_is_the_whole_views_on_a_generated_warehouse(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above READ_WHOLE nodes reached, read around the nodes drawn: the same elements, of edges
    read whole only where drawn (of the others, the keys)."""
    from graph import open_store
    from graph.batch import Batch

    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    batch, rng = Batch(), __import__("random").Random(3)
    when = "2026-11-25T00:00:00.000Z"
    for layer in range(1, 6):
        for index in range(300):
            job, out = f"job:x/j{layer}.{index}", f"dataset:x/l{layer}.t{index}"
            batch.node(job, "job", f"j{layer}.{index}", when, namespace="x", label=f"INSERT l{layer}.t{index}")
            batch.node(out, "dataset", f"l{layer}.t{index}", when, namespace="x")
            batch.edge(job, "WRITES", out, when)
            for source in {"t0", *(f"t{rng.randrange(300)}" for _ in range(2))}:
                name = f"l{layer - 1}.{source}" if layer > 1 else f"raw.{source}"
                batch.node(f"dataset:x/{name}", "dataset", name, when, namespace="x")
                batch.edge(f"dataset:x/{name}", "READS", job, when)
    store.apply(batch)
    assert Surroundings(store, "dataset:x/raw.t0", 10, 10).reached() > pages.READ_WHOLE, "a hub: read around"
    read_whole: list[Edge] = []
    real_neighbors = store.neighbors

    def counting(*args: Any, **kwargs: Any) -> list[Edge]:
        found = real_neighbors(*args, **kwargs)
        read_whole.extend(found)
        return found

    for root in ("dataset:x/raw.t0", "dataset:x/l3.t0", "dataset:x/l2.t7"):
        for datasets_only in (True, False):
            options = GraphOptions(upstream=10, downstream=10, datasets_only=datasets_only)
            view = pages.view_of(store, root, options)
            whole = elements(view, options)
            read_whole.clear()
            with monkeypatch.context() as patched:
                patched.setattr(store, "neighbors", counting)
                assert pages.graph_elements(store, root, options) == whole, (root, datasets_only)
            drawn = {part for e in whole for part in e["data"].get("parts", ())}
            assert drawn <= {"|".join(edge.key) for edge in read_whole}
            if Surroundings(store, root, 10, 10).reached() > pages.READ_WHOLE:
                assert len(read_whole) < len(view.edges) / 10, (root, datasets_only, len(read_whole), len(view.edges))
    store.close()


def _elements_from_every_flow(view: LineageView, options: GraphOptions) -> list[dict[str, Any]]:
    """``elements`` as it was before it folded only the edges of the nodes drawn: every flow made."""
    from dashboard import elements as drawing

    drawn = flows(view, datasets_only=options.datasets_only)
    placed, more = keep(view, drawn, options)
    shown = set(placed)
    nodes = [drawing._node_element(view, view.nodes[n]) for n in placed]
    nodes += [drawing._more_element(m) for m in more]
    edges = [drawing._edge_element(view, f) for f in drawn if f.src in shown and f.dst in shown]
    edges += [drawing._more_edge(m) for m in more]
    return nodes + edges[:max(0, options.max_elements - len(nodes))]


@pytest.mark.parametrize("per_node", [2, 8])
def test_links_are_the_ends_of_the_flows_and_the_elements_those_of_every_flow(demo_store: Store,
                                                                              per_node: int) -> None:
    for name in ("staging.customers", "ml.credit_scores", "raw.customers", "raw.payments"):
        root = resolve(demo_store, name).id
        for datasets_only in (True, False):
            options = GraphOptions(upstream=10, downstream=10, datasets_only=datasets_only, per_node=per_node,
                                   max_nodes=12)
            view = pages.view_of(demo_store, root, options)
            assert links(view, datasets_only=datasets_only) == {
                (f.src, f.dst) for f in flows(view, datasets_only=datasets_only)}, (name, datasets_only)
            built = elements(view, options)
            assert built == _elements_from_every_flow(view, options), (name, datasets_only)
            assert any("source" in e["data"] for e in built) and any(e["data"].get("label") for e in built)


def test_the_home_counts_are_kept_until_the_store_is_written(tmp_path: Any) -> None:
    from graph import open_store
    from graph.batch import Batch

    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    batch = Batch()
    batch.node("dataset:x/a", "dataset", "a", "2026-11-25T00:00:00.000Z", namespace="x")
    store.apply(batch)
    assert "1 datasets" in _text(pages.home_page(store))
    assert "1 datasets" in _text(pages.home_page(store))
    batch = Batch()
    batch.node("dataset:x/b", "dataset", "b", "2026-11-25T00:00:00.000Z", namespace="x")
    store.apply(batch)
    assert "2 datasets" in _text(pages.home_page(store)), "a write moves the generation: counted again"
    store.close()


def test_a_columns_url_draws_a_box_per_table_with_a_row_per_column(demo_store: Store) -> None:
    customers = resolve(demo_store, "raw.customers")
    schema = _text(pages.details(demo_store, customers))
    assert "annual_income" in schema
    page = pages.route(demo_store, node_href(customers.id), "?column=annual_income")
    (graph,) = [c for c in _find(page, object) if getattr(c, "id", None) == "lineage-graph"]
    boxes = {e["data"]["id"] for e in graph.elements if "table-box" in e.get("classes", "")}
    columns = [e for e in graph.elements if e["data"].get("kind") == "column"]
    assert len(boxes) >= 2 and columns and all(c["data"]["parent"] in boxes for c in columns)
    assert f"box:{customers.id}" in boxes and "annual_income" in _text(page)
    edges = [e for e in graph.elements if "source" in e["data"]]
    assert edges and all({"direct", "indirect"} & set(e["classes"].split()) for e in edges)
    assert pages.column_href(customers, "annual_income") == node_href(customers.id) + "?column=annual_income"


def _generated_lineage(path: Any, seed: int) -> Store:
    """A small warehouse drawn at random: a hub most jobs read, cycles, jobs writing two tables or
    another job, model versions trained on tables and served into others, ranks with ties, edges
    removed."""
    import random

    from graph import open_store
    from graph.batch import Batch

    rng, when = random.Random(seed), "2026-11-25T00:00:00.000Z"
    store = open_store(f"sqlite:///{path / f'g{seed}.db'}")
    batch = Batch()
    tables = [f"dataset:g/t{i}" for i in range(30)]
    for table in tables:
        batch.node(table, "dataset", table.removeprefix("dataset:g/"), when, namespace="g")
    edges = []
    for index in range(50):
        job = f"job:g/j{index}"
        batch.node(job, "job", f"j{index}", when, namespace="g", label=rng.choice(["INSERT", "MERGE", "CTAS"]))
        for source in {tables[0] if rng.random() < 0.6 else rng.choice(tables), rng.choice(tables)}:
            edges.append((source, "READS", job))
        for target in {rng.choice(tables) for _ in range(rng.choice([1, 1, 2]))}:
            edges.append((job, "WRITES", target))
    for index in range(4):
        version = f"model_version:m{index}/1"
        batch.node(version, "model_version", f"m{index}", when, props={"version": "1"})
        edges += [(version, "TRAINED_ON", rng.choice(tables)), (version, "SERVED", rng.choice(tables))]
    edges += [(f"job:g/j{index}", "WRITES", f"job:g/j{index + 1}") for index in (3, 4, 9)]  # (jobs as ends)
    for src, kind, dst in edges:
        batch.edge(src, kind, dst, when, count=rng.randrange(1, 5))
    store.apply(batch)
    store.set_ranks({node: rng.choice([0.0, 0.1, 0.5]) for node in tables + [f"job:g/j{i}" for i in range(50)]})
    store.remove(rng.sample(edges, 8), [], "2026-11-26T00:00:00.000Z")
    return store


@pytest.mark.parametrize("seed", range(6))
def test_links_and_placing_grown_edge_by_edge_are_those_of_the_whole_view_each_round(
        tmp_path: Any, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The incremental page draws what the whole view draws: each frontier's neighbours as the
    whole view links them, the same nodes placed and "+N more" nodes, the same elements."""
    from dashboard import elements as drawing

    store = _generated_lineage(tmp_path, seed)
    monkeypatch.setattr(pages, "READ_WHOLE", 0)
    rounds: list[tuple[list[str], str, dict[str, set[str]]]] = []
    real_place = drawing._place

    def recording(root: str, neighbours: Any, node: Any, options: GraphOptions) -> Any:
        def asked(frontier: list[str], side: str) -> Any:
            found = neighbours(frontier, side)
            rounds.append((list(frontier), side, {n: {end for end in found.get(n, ()) if node(end)} for n in frontier}))
            return found
        return real_place(root, asked, node, options)

    monkeypatch.setattr(drawing, "_place", recording)
    roots = ["dataset:g/t0", "dataset:g/t7", "job:g/j3", "model_version:m1/1"]
    held_back = 0
    for root in roots:
        for up, down, per_node, max_nodes, datasets_only in ((1, 1, 8, 80, True), (2, 3, 2, 6, True),
                                                             (10, 10, 3, 12, True), (10, 10, 2, 9, False),
                                                             (3, 10, 8, 80, False)):
            options = GraphOptions(upstream=up, downstream=down, per_node=per_node, max_nodes=max_nodes,
                                   datasets_only=datasets_only)
            case = (root, options)
            view = pages.view_of(store, root, options)
            linked = links(view, datasets_only=datasets_only)
            whole = keep(view, linked, options)
            rounds.clear()
            grown = drawing.grow(Surroundings(store, root, up, down), options)
            assert grown == whole, case
            held_back += len(whole[1])
            ways = {"upstream": {(b, a) for a, b in linked}, "downstream": {(a, b) for a, b in linked}}
            for frontier, side, found in rounds:
                assert found == {n: {far for near, far in ways[side] if near == n and far in view.nodes}
                                 for n in frontier}, (case, side)
            assert pages.graph_elements(store, root, options) == elements(view, options), case
    assert held_back, "some pages have \"+N more\" nodes"
    store.close()


@pytest.mark.parametrize("node_id", ["dataset:postgres://db:5432/credit.ml.scores", "dataset:file//lake/été/{dt}",
                                     "job:routine:load", "model:limits", "", "/", "dataset:s3://b/k/", "a/b c%/d?e#f"])
def test_node_links_escape_the_whole_id(node_id: str) -> None:
    assert node_href(node_id) == "/node/" + quote(node_id, safe="")


def test_a_column_views_controls_keep_its_column_in_the_url() -> None:
    # The router draws a column view from ?column=; the controls' callback, which writes the URL's
    # query from the controls, used to drop it (the view went back to its table's page, and the
    # browser test of the columns view failed now and then, when that callback ran on the view)
    query = callbacks.node_query(2, 1, ["on"], None, "?column=annual_income&up=5")
    assert query == "?column=annual_income&up=2"
    assert pages.column_of("dataset:pg://h/db.t", query) == "column:pg://h/db.t#annual_income"
    assert callbacks.node_query(1, 1, ["on"], None, "?column=annual_income") == "?column=annual_income"
    assert callbacks.node_query(1, 1, ["on"], None, "?up=3") == ""
