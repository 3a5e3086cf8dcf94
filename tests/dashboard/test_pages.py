"""The dashboard without a browser: element building, routing and callbacks called directly."""

from __future__ import annotations

from typing import Any

import pytest
from dash import html

from dashboard import callbacks, pages
from dashboard.app import create_app
from dashboard.elements import elements, node_href
from graph import Store, neighbourhood, resolve


def _text(component: Any) -> str:
    """All the text a component tree shows."""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(_text(c) for c in component)
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
    built = elements(view)
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


def test_tapping_a_node_opens_its_page() -> None:
    assert callbacks.open_tapped({"id": "dataset:x/y", "href": "/node/dataset%3Ax%2Fy"}) == "/node/dataset%3Ax%2Fy"
    assert callbacks.open_tapped(None) is None


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
    assert {"page.children", "search-results.children", "url.href", "edge-details.children"} <= outputs


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
    from dashboard.elements import impact_href

    customers = resolve(demo_store, "staging.customers")
    page = pages.route(demo_store, impact_href(customers.id))
    text = _text(page)
    assert "Impact of changing credit.staging.customers" in text
    assert "credit.ml.credit_scores" in text and "credit.reporting.limit_decisions" in text
    assert "etl_nightly" in text, "owners are shown"
    assert "Not found" in _text(pages.route(demo_store, "/impact/dataset%3Anope"))


def test_a_large_impact_lists_the_nearest_and_says_how_many_in_all(demo_store: Store,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard.elements import impact_href

    customers = resolve(demo_store, "staging.customers")
    everything = _text(pages.route(demo_store, impact_href(customers.id)))
    monkeypatch.setattr(pages, "IMPACT_ROWS", 2)
    page = pages.route(demo_store, impact_href(customers.id))
    nearest = _text(page)
    assert "the nearest 2" in nearest and "nearest" not in everything
    (table,) = [c for c in page.children if getattr(c, "id", None) == "impact-table"]
    assert [row.children[0].children for row in table.children[1:]] == ["1", "1"], "the nearest rows"


def test_a_node_with_many_edges_shows_the_latest_with_their_evidence(demo_store: Store,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    customers = resolve(demo_store, "staging.customers")
    monkeypatch.setattr(pages, "EVIDENCE_EDGES", 1)
    details = _text(pages.details(demo_store, customers))
    assert "more edges." in details
    assert details.count("seen ") >= 1
