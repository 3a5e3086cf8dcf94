"""The dashboard in a real headless Chromium at 1280x800, served by `lineage serve` (waitress) as
a user starts it, over each store (the demo in SQLite and in a real Neo4j: see conftest.py). Each
page is photographed; with LINEAGE_UPDATE_SCREENSHOTS=1 the photographs replace those in docs/
(docs/screenshot.sh does that)."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

from graph import open_store
from graph.batch import Batch
from tests.processes import answering, free_port

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.common.actions.action_builder import ActionBuilder  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
DOCS = Path(__file__).resolve().parents[2] / "docs"
SCORES = "/node/" + quote("dataset:postgres://warehouse.bank.internal:5432/credit.ml.credit_scores", safe="")
CY = "const cy = document.querySelector('#lineage-graph')._cyreg.cy;"


@contextlib.contextmanager
def _serving(store_url: str, log_path: Path) -> Iterator[str]:
    """`lineage serve` over a store, as a user starts it; its base URL once it answers."""
    base = f"http://127.0.0.1:{free_port()}"
    argv = [sys.executable, "-m", "crawler", "serve", "--store", store_url, "--port", base.rsplit(":", 1)[1]]
    with answering(argv, lambda: urllib.request.urlopen(base, timeout=1).close(), log_path):
        yield base


@pytest.fixture(scope="module")
def server(demo_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _serving(demo_store_url, tmp_path_factory.mktemp("serve") / "serve.log") as base:
        yield base


WIDE_NAMESPACE = "postgres://wide:5432"
WIDE_ROOT = f"dataset:{WIDE_NAMESPACE}/wide.root"
WIDE_JOBS = 8_000  # each reads the root and writes a table of its own: 16,000 rows downstream


@pytest.fixture(scope="module")
def wide_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A generated store whose root has 16,000 nodes downstream, served."""
    when = "2026-11-25T00:00:00.000Z"
    batch = Batch()
    batch.node(WIDE_ROOT, "dataset", "wide.root", when, namespace=WIDE_NAMESPACE)
    for i in range(WIDE_JOBS):
        job, table = f"job:{WIDE_NAMESPACE}/load{i:05d}", f"dataset:{WIDE_NAMESPACE}/wide.t{i:05d}"
        batch.node(job, "job", f"load{i:05d}", when, namespace=WIDE_NAMESPACE, label=f"INSERT wide.t{i:05d}")
        batch.node(table, "dataset", f"wide.t{i:05d}", when, namespace=WIDE_NAMESPACE, props={"kind": "table"})
        batch.edge(WIDE_ROOT, "READS", job, when)
        batch.edge(job, "WRITES", table, when)
        batch.edge(WIDE_ROOT, "FEEDS", table, when)
    work = tmp_path_factory.mktemp("wide")
    url = f"sqlite:///{work / 'lineage.db'}"
    store = open_store(url)
    try:
        store.apply(batch)
    finally:
        store.close()
    with _serving(url, work / "serve.log") as base:
        yield base


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads: Path) -> Iterator[webdriver.Chrome]:
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium and chromedriver are missing; `make test` installs them")
        pytest.skip("Chromium and chromedriver are not installed (make browser)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--hide-scrollbars", "--force-device-scale-factor=1",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
    driver.set_window_size(1280, 800)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: webdriver.Chrome, condition: object, seconds: float = 20) -> object:
    return WebDriverWait(driver, seconds).until(condition)


def _photograph(driver: webdriver.Chrome, name: str, tmp_path: Path) -> None:
    """A photograph of the page as a user sees it at 1280x800."""
    time.sleep(0.3)  # the graph's layout and centring settle
    shot = tmp_path / f"{name}.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if os.environ.get("LINEAGE_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, DOCS / f"{name}.png")


def _graph_counts(driver: webdriver.Chrome) -> dict[str, int]:
    return _wait(driver, lambda d: d.execute_script(  # type: ignore[no-any-return]
        "const box = document.querySelector('#lineage-graph');"
        "if (!box || !box._cyreg) return null; const cy = box._cyreg.cy;"
        "if (!cy.nodes().length) return null;"
        "return {nodes: cy.nodes().length, jobs: cy.nodes('.job').length, root: cy.nodes('.root').length,"
        " up: cy.nodes('.upstream').length, down: cy.nodes('.downstream').length, edges: cy.edges().length,"
        " zoom: cy.zoom()};"))


def _wait_for_change(driver: webdriver.Chrome, before: dict[str, int], key: str) -> dict[str, int]:
    return _wait(driver, lambda d: (now := _graph_counts(d))[key] != before[key] and now)  # type: ignore[return-value]


def test_search_node_depth_fold_impact_csv_model_and_crawls(server: str, browser: webdriver.Chrome, downloads: Path,
                                                            tmp_path: Path) -> None:
    browser.get(server + "/")
    _wait(browser, ec.presence_of_element_located((By.ID, "crawl-summary")))
    _photograph(browser, "dashboard-home", tmp_path)
    box = browser.find_element(By.ID, "search-input")
    box.send_keys("credit_sc")
    _wait(browser, ec.text_to_be_present_in_element((By.ID, "search-results"), "credit.ml.credit_scores"))
    box.send_keys(Keys.ENTER)
    _wait(browser, ec.text_to_be_present_in_element((By.ID, "search-title"), "Search: credit_sc"))
    assert "/search?q=credit_sc" in browser.current_url
    browser.find_element(By.CSS_SELECTOR, "#search-page a").click()
    _wait(browser, ec.text_to_be_present_in_element((By.ID, "node-title"), "credit.ml.credit_scores"))

    first = _graph_counts(browser)
    assert first["root"] == 1 and first["jobs"] == 0, "datasets only by default: jobs folded into edges"
    assert first["up"] >= 2 and first["down"] >= 3 and first["zoom"] == 1
    _photograph(browser, "dashboard", tmp_path)

    depth = browser.find_element(By.ID, "upstream-depth")
    depth.send_keys(Keys.CONTROL, "a")
    depth.send_keys("3")  # one change, 1 -> 3 (no empty value between to race it)
    deeper = _wait_for_change(browser, first, "up")
    assert deeper["up"] > first["up"] and browser.current_url.endswith("?up=3"), "the URL holds the controls"
    browser.find_element(By.CSS_SELECTOR, "#datasets-only input").click()
    unfolded = _wait_for_change(browser, deeper, "jobs")
    assert unfolded["jobs"] > 0

    browser.execute_script(CY + "cy.nodes('.downstream.dataset')[0].emit('tap');")
    _wait(browser, ec.presence_of_element_located((By.ID, "open-node")))
    assert "owners" in browser.find_element(By.ID, "node-details").text

    browser.find_element(By.ID, "impact-link").click()
    # (the summary counts every row: it follows the grid's first block, once the whole impact is in)
    _wait(browser, ec.text_to_be_present_in_element((By.ID, "impact-summary"), "owners to notify"))
    # The rows' texts read in the page at once: the infinite row model redraws rows as blocks
    # arrive, so an element found one moment may be gone the next.
    rows_text = ("return Array.from(document.querySelectorAll("
                 "'#impact-grid .ag-center-cols-container [role=row]')).map(r => r.innerText);")
    _wait(browser, lambda d: any("credit.ml.prediction_log" in text for text in d.execute_script(rows_text)))
    _photograph(browser, "dashboard-impact", tmp_path)
    browser.find_element(By.ID, "impact-csv-button").click()
    csv_file = downloads / "impact-credit.ml.credit_scores.csv"
    try:
        _wait(browser, lambda _: csv_file.exists() and csv_file.read_text().startswith("distance,kind,name"))
    except Exception:
        raise AssertionError(sorted(p.name for p in downloads.iterdir())) from None
    assert "credit.ml.prediction_log" in csv_file.read_text()

    browser.get(server + "/model/credit_limit_model")
    training = _wait(browser, ec.presence_of_element_located((By.ID, "model-training")))
    assert "e81b5d9a3c7f2e4b6d8a0c1e3f5a7b9d2c4e6f80" in training.text  # type: ignore[attr-defined]
    assert "credit.ml.training_set_v3" in browser.find_element(By.ID, "model-training-data").text
    _photograph(browser, "dashboard-model", tmp_path)

    browser.find_element(By.ID, "crawls-link").click()
    table = _wait(browser, ec.presence_of_element_located((By.ID, "crawls-table")))
    assert "361" in table.text  # type: ignore[attr-defined]  # the demo crawl's records
    assert "bad_json" in browser.find_element(By.ID, "crawls-page").text
    _photograph(browser, "dashboard-crawls", tmp_path)


def test_labels_are_at_least_12_px_at_1280x800(server: str, browser: webdriver.Chrome) -> None:
    browser.get(server + SCORES)
    _graph_counts(browser)
    sizes = browser.execute_script(
        CY + "return cy.elements().filter(e => e.style('label')).map(e => parseFloat(e.renderedStyle('font-size')));")
    viewport = browser.execute_script("return [window.innerWidth, window.innerHeight];")
    assert viewport[0] == 1280
    assert sizes and min(sizes) >= 12, sizes
    centred = browser.execute_script(
        CY + "const p = cy.nodes('.root').renderedPosition(); return [p.x / cy.width(), p.y / cy.height()];")
    assert all(0.4 < share < 0.6 for share in centred), "the page opens centred on its node"


# Each node label's rendered box (as cytoscape measured the text) against each edge's drawn path
# (its segments, end to end): the pairs where an edge runs across a label.
LABELS_UNDER_EDGES = CY + """
const inside = (p, b) => p.x > b.x1 && p.x < b.x2 && p.y > b.y1 && p.y < b.y2;
const crosses = (a, c, b) => {  // Liang-Barsky: does segment a-c pass through box b?
  let t0 = 0, t1 = 1; const dx = c.x - a.x, dy = c.y - a.y;
  for (const [p, q] of [[-dx, a.x - b.x1], [dx, b.x2 - a.x], [-dy, a.y - b.y1], [dy, b.y2 - a.y]]) {
    if (p === 0) { if (q <= 0) return false; continue; }
    const t = q / p;
    if (p < 0) { if (t > t1) return false; t0 = Math.max(t0, t); }
    else { if (t < t0) return false; t1 = Math.min(t1, t); }
  }
  return t0 < t1 || inside(a, b);
};
const labels = cy.nodes().filter(n => n.style('label')).map(n => {
  const b = n.boundingBox({includeNodes: false, includeEdges: false, includeLabels: true});
  return {id: n.id(), b: {x1: b.x1 + 1, x2: b.x2 - 1, y1: b.y1 + 1, y2: b.y2 - 1}, w: b.w, h: b.h};
});
const found = [];
cy.edges().forEach(e => {
  const points = [e.sourceEndpoint(), ...(e.segmentPoints() || []), e.targetEndpoint()];
  for (let i = 0; i + 1 < points.length; i++) {
    labels.forEach(l => { if (crosses(points[i], points[i + 1], l.b)) found.push([l.id, e.id()]); });
  }
});
return {labels: labels.length, sized: labels.filter(l => l.w > 10 && l.h >= 12).length, crossings: found};
"""


@pytest.mark.parametrize("query", ["", "?up=3&down=3", "?up=3&down=3&jobs=1"])
def test_no_label_lies_under_an_edge(server: str, browser: webdriver.Chrome, query: str) -> None:
    browser.get(server + SCORES + query)
    counts = _graph_counts(browser)
    found = browser.execute_script(LABELS_UNDER_EDGES)
    assert found["labels"] == counts["nodes"] == found["sized"] and counts["edges"] > 0
    assert found["crossings"] == [], "labels under edges"


def test_the_crossing_check_sees_a_label_moved_under_an_edge(server: str, browser: webdriver.Chrome) -> None:
    """The check above can fail: a node moved so that its label sits on an edge is caught."""
    browser.get(server + SCORES + "?up=3&down=3")
    _graph_counts(browser)
    moved = browser.execute_script(
        CY + "const e = cy.edges().filter(e => e.segmentPoints())[0];"
        "const [a, b] = [e.sourceEndpoint(), e.segmentPoints()[0]];"
        "const n = cy.nodes().filter(n => n.id() !== e.source().id() && n.id() !== e.target().id())[0];"
        "const label = n.boundingBox({includeNodes: false, includeEdges: false, includeLabels: true});"
        "const below = (label.y1 + label.y2) / 2 - n.position('y');"
        "n.position({x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 - below}); return [n.id(), e.id()];")
    found = browser.execute_script(LABELS_UNDER_EDGES)
    assert moved in found["crossings"]


RAW_CUSTOMERS = "/node/" + quote("dataset:postgres://warehouse.bank.internal:5432/credit.raw.customers", safe="")


def test_a_columns_view_draws_boxes_and_rows_and_an_edge_shows_its_sql(server: str,
                                                                       browser: webdriver.Chrome) -> None:
    browser.get(server + RAW_CUSTOMERS)
    _wait(browser, ec.presence_of_element_located((By.ID, "node-schema")))
    browser.find_element(By.LINK_TEXT, "annual_income").click()
    _wait(browser, lambda d: "column=annual_income" in d.current_url)
    drawn = _wait(browser, lambda d: d.execute_script(
        "const box = document.querySelector('#lineage-graph'); if (!box || !box._cyreg) return null;"
        "const cy = box._cyreg.cy; const boxes = cy.nodes('.table-box'); if (!boxes.length) return null;"
        "return {boxes: boxes.map(b => [b.data('label'), b.children().map(c => c.data('label'))]),"
        " orphans: cy.nodes('.column').filter(c => !c.isChild()).length,"
        " rootBox: cy.nodes('.table-box.root').data('label'), edges: cy.edges('.direct, .indirect').length};"))
    assert drawn["orphans"] == 0 and drawn["edges"] > 0 and len(drawn["boxes"]) >= 2
    assert drawn["rootBox"] == "credit.raw.customers"
    assert ["annual_income"] in [rows for _, rows in drawn["boxes"]] or any(
        "annual_income" in rows for _, rows in drawn["boxes"])
    browser.execute_script(CY + "cy.edges()[0].emit('tap');")
    _wait(browser, lambda d: "SELECT" in d.find_element(By.ID, "edge-details").text.upper())
    assert browser.execute_script(LABELS_UNDER_EDGES)["crossings"] == []


def test_tapping_a_folded_edge_shows_the_sql_behind_it(server: str, browser: webdriver.Chrome) -> None:
    browser.get(server + SCORES)
    _graph_counts(browser)
    browser.execute_script(CY + "cy.edges('[target *= \"credit.ml.credit_scores\"]')[0].emit('tap');")
    panel = _wait(browser, ec.text_to_be_present_in_element((By.ID, "edge-details"), "INSERT INTO ml.credit_scores"))
    assert panel


def _double_click_node(driver: webdriver.Chrome, selector: str) -> dict[str, str]:
    """A real double click (the mouse, not an emitted event) on the first node ``selector`` picks."""
    where = (CY + f"const n = cy.nodes({selector!r})[0]; const p = n.renderedPosition();"
             "const box = cy.container().getBoundingClientRect();"
             "return {id: n.id(), href: n.data('href'), x: box.left + p.x, y: box.top + p.y,"
             " bound: !!cy.scratch('_lineageDoubleTap')};")
    # The page centres its node up to 250 ms after drawing, and binds the double tap once the graph
    # is there: timers a loaded machine runs late. Click where the node has stopped moving.
    node = driver.execute_script(where)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        time.sleep(0.3)
        last, node = node, driver.execute_script(where)
        if node["bound"] and (last["x"], last["y"]) == (node["x"], node["y"]):
            break
    actions = ActionBuilder(driver)
    actions.pointer_action.move_to_location(round(node["x"]), round(node["y"])).double_click()
    actions.perform()
    return node  # type: ignore[no-any-return]


def test_double_clicking_a_node_opens_its_page_and_back_returns(server: str, browser: webdriver.Chrome) -> None:
    browser.get(server + SCORES)
    _graph_counts(browser)
    node = _double_click_node(browser, ".downstream.dataset")
    _wait(browser, lambda d: unquote(d.current_url.removeprefix(server)) == unquote(node["href"]))
    _wait(browser, lambda d: d.execute_script(CY + "return cy.nodes('.root').id();") == node["id"])
    assert "credit_scores" not in browser.find_element(By.ID, "node-title").text
    browser.back()
    _wait(browser, ec.text_to_be_present_in_element((By.ID, "node-title"), "credit.ml.credit_scores"))
    assert browser.current_url == server + SCORES


def test_as_of_is_in_the_url_shareable_and_back_and_forward_step_through_it(server: str,
                                                                           browser: webdriver.Chrome) -> None:
    browser.get(server + SCORES)
    now = _graph_counts(browser)
    when = browser.find_element(By.ID, "as-of")
    when.send_keys("2026-11-25T13:00", Keys.ENTER)
    _wait(browser, lambda d: "as_of=2026-11-25T13%3A00" in d.current_url)
    before = _wait_for_change(browser, now, "nodes")
    assert 1 < before["nodes"] < now["nodes"], "the graph as it was then: fewer nodes"
    assert "as of 2026-11-25T13:00:00.000Z" in browser.find_element(By.ID, "graph-note").text
    shared = browser.current_url
    browser.back()
    _wait(browser, lambda d: d.current_url == server + SCORES)
    assert _wait(browser, lambda d: _graph_counts(d)["nodes"] == now["nodes"])
    assert browser.find_element(By.ID, "as-of").get_attribute("value") == ""
    browser.forward()
    _wait(browser, lambda d: d.current_url == shared)
    assert _wait(browser, lambda d: _graph_counts(d)["nodes"] == before["nodes"])
    browser.get(shared)  # the link, opened afresh
    assert _graph_counts(browser)["nodes"] == before["nodes"]
    assert browser.find_element(By.ID, "as-of").get_attribute("value") == "2026-11-25T13:00"


HOSTILE = ["<script>alert(1)</script>", "../../etc/passwd", "' OR '1'='1", "<img src=x onerror=alert(1)>", "x" * 3000]


def test_hostile_ids_and_searches_show_a_page_and_run_nothing(server: str, browser: webdriver.Chrome) -> None:
    for text in HOSTILE:
        quoted = quote(text, safe="")
        for path in (f"/node/{quoted}", f"/impact/{quoted}", f"/model/{quoted}", f"/search?q={quoted}"):
            browser.get(server + path)
            _wait(browser, lambda d: d.find_elements(By.ID, "not-found") or d.find_elements(By.ID, "search-page"))
            with pytest.raises(NoAlertPresentException):
                browser.switch_to.alert.text  # noqa: B018
            injected = browser.execute_script(
                "return [...document.querySelectorAll('script')].filter(s => s.textContent.includes('alert(1)')).length"
                " + document.querySelectorAll('img[onerror]').length;")
            assert injected == 0, path


def test_the_server_is_waitress(server: str) -> None:
    with urllib.request.urlopen(server + "/crawls", timeout=5) as response:
        assert response.headers["Server"] == "lineage"


GRID_API = "const api = dash_ag_grid.getApi('impact-grid');"
GRID_ROWS = "#impact-grid .ag-center-cols-container [role=row]"


def _grid_titles(driver: webdriver.Chrome) -> list[str]:
    """The names in the grid's rows drawn now, top to bottom."""
    return driver.execute_script(  # type: ignore[no-any-return]
        f"return [...document.querySelectorAll('{GRID_ROWS}')]"
        ".sort((a, b) => parseInt(a.getAttribute('row-index')) - parseInt(b.getAttribute('row-index')))"
        ".map(r => (r.querySelector('[col-id=name]') || {}).textContent || '').filter(t => t);")


def test_the_impact_grid_scrolls_sorts_and_filters_16000_rows_on_the_server(wide_server: str,
                                                                            browser: webdriver.Chrome) -> None:
    browser.get(wide_server + "/impact/" + quote(WIDE_ROOT, safe=""))
    _wait(browser, ec.text_to_be_present_in_element((By.ID, "impact-summary"), "8000 tables, 8000 jobs"))
    # (the first block comes before the rest is walked, the number of rows in all with the summary)
    count = _wait(browser, lambda d: d.execute_script(
        "try { " + GRID_API + f" return api.getDisplayedRowCount() == {2 * WIDE_JOBS} && api.getDisplayedRowCount(); }}"
        " catch (e) { return 0; }"), 60)
    assert count == 2 * WIDE_JOBS, "every row downstream, not the nearest 500"
    assert len(browser.find_elements(By.CSS_SELECTOR, GRID_ROWS)) < 200, "the browser draws the rows in view"
    browser.execute_script(GRID_API + f"api.ensureIndexVisible({count - 1}, 'bottom');")
    _wait(browser, lambda d: "INSERT wide.t07999" in _grid_titles(d))  # the last row: the server's last block

    browser.execute_script(GRID_API + "api.ensureIndexVisible(0, 'top'); api.applyColumnState("
                           "{state: [{colId: 'name', sort: 'desc'}], defaultState: {sort: null}});")
    _wait(browser, lambda d: (titles := _grid_titles(d)) and titles[0] == "wide.t07999" and titles[1] == "wide.t07998")

    box = browser.find_element(By.CSS_SELECTOR, "#impact-grid .ag-floating-filter[aria-colindex='3'] input")
    box.send_keys("t0123")
    _wait(browser, lambda d: d.execute_script(GRID_API + "return api.getDisplayedRowCount();") == 20)
    titles = _wait(browser, lambda d: len(t := _grid_titles(d)) >= 10 and t)
    assert titles[:10] == [f"wide.t0123{i}" for i in range(9, -1, -1)], "filtered (a table and its job) and sorted"
