"""Dashboard benchmark (issue 18's Performance paragraph), on a generated graph, in one run:

    python bench/dashboard_bench.py [--edges 1000000] [--repeats 5] [--store URL] [--code DIR] [--no-browser]

- first byte: every page (home, search, node, impact, model, crawls) asked of `lineage serve`
  (waitress) as a browser asks it: the page's HTML shell (GET) and its content (the router's
  callback, POST ``/_dash-update-component``); p50 / max over ``--repeats`` after one warm-up; the
  first ask of a hub's node page right after `lineage serve` starts (the store loads the graph's
  shape in the background meanwhile) timed apart; then each page's first ask right after a write
  (a small crawl: a few edges and its report);
- the impact grid's callbacks right after a write, as its page asks them: the first block (nearest
  first), the summary line, a block sorted by name and the last block; then the same for another
  hub asked for the first time;
- the cap: the elements the server sends for the graph of a star (500 neighbours) and of a hub at
  depth 1 and 10, against ``GraphOptions.max_elements``;
- headless Chromium at 1280x800: a node page whose neighbourhood holds 500 nodes, from navigation
  to the graph's first layout (``performance.mark`` by a script the page runs before its own,
  read with the browser's performance API) and to the details of a clicked node (interactive);
- the impact grid of a hub (every row downstream, AG Grid's infinite row model: the server sorts,
  filters and sends blocks of 100): time to the first rows, the frame times scrolled top to
  bottom, the rows in the DOM, and a jump to the last row.

The graph is bench/graph_bench.py's warehouse shape, plus the star: a table read by 125 jobs
each writing a table of its own, and written by 125 jobs each reading one (500 neighbours).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from graph_bench import NAMESPACE, WHEN, batches, shape  # noqa: E402
from outputs import write_results  # noqa: E402

import graph  # noqa: E402
from dashboard.elements import GraphOptions  # noqa: E402
from graph import changes  # noqa: E402
from graph.batch import Batch  # noqa: E402

STAR = f"dataset:{NAMESPACE}/star.center"
STAR_SIDE = 125  # jobs on each side: 125 jobs + 125 tables upstream, the same downstream


def star_batch() -> Batch:
    batch = Batch()
    batch.node(STAR, "dataset", "star.center", WHEN, namespace=NAMESPACE)
    for i in range(STAR_SIDE):
        for side, (src, dst) in (("in", (f"star.src{i}", "star.center")), ("out", ("star.center", f"star.dst{i}"))):
            job = f"job:{NAMESPACE}/star.{side}{i}"
            batch.node(job, "job", f"star.{side}{i}", WHEN, namespace=NAMESPACE, label=f"INSERT {dst}")
            for name in (src, dst):
                batch.node(f"dataset:{NAMESPACE}/{name}", "dataset", name, WHEN, namespace=NAMESPACE)
            batch.edge(f"dataset:{NAMESPACE}/{src}", "READS", job, WHEN)
            batch.edge(job, "WRITES", f"dataset:{NAMESPACE}/{dst}", WHEN)
            batch.edge(f"dataset:{NAMESPACE}/{src}", "FEEDS", f"dataset:{NAMESPACE}/{dst}", WHEN)
    return batch


def build(url: str, edges: int) -> tuple[dict[str, Any], str]:
    """The generated store, and a hub (a core raw table) to ask about."""
    layers, jobs = shape(edges)
    store = graph.open_store(url)
    start = time.perf_counter()
    total = 0
    for batch, count in batches(jobs, 20_000):
        store.apply(batch)
        total += count
    store.apply(star_batch())
    number = changes.next_crawl(store)
    store.save_report({"crawl": number, "started_at": WHEN, "files": 0, "records": total, "written": total,
                       "seconds": 0, "issues_by_code": {}, "changes": changes.crawl_summary(store, number)})
    seconds = time.perf_counter() - start
    store.close()
    return {"edges": total + 3 * 2 * STAR_SIDE, "build_s": round(seconds, 1)}, f"dataset:{NAMESPACE}/{layers[0][0]}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def first_byte(port: int, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[float, bytes]:
    """Milliseconds to the response's first byte, and the whole body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    data = json.dumps(body).encode() if body is not None else None
    start = time.perf_counter()
    connection.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
    response = connection.getresponse()
    head = response.read(1)
    elapsed = (time.perf_counter() - start) * 1000
    rest = head + response.read()
    connection.close()
    assert response.status == 200, (path, response.status)
    return elapsed, rest


def route_body(path: str) -> dict[str, Any]:
    pathname, _, search = path.partition("?")
    return {"output": "page.children", "outputs": {"id": "page", "property": "children"},
            "inputs": [{"id": "url", "property": "pathname", "value": pathname},
                       {"id": "url", "property": "search", "value": "?" + search if search else ""}],
            "changedPropIds": ["url.pathname"]}


def elements_sent(body: bytes) -> int:
    """The cytoscape elements in a routed page."""
    found: list[int] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("type") == "Cytoscape":
                found.append(len(value["props"]["elements"]))
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(json.loads(body))
    return max(found, default=0)


def pages(hub: str) -> dict[str, str]:
    node, impact = "/node/", "/impact/"
    return {"home": "/", "search": "/search?q=t1", "node star": node + quote(STAR, safe=""),
            "node hub": node + quote(hub, safe=""), "node hub depth 10": node + quote(hub, safe="") + "?up=10&down=10",
            "impact star": impact + quote(STAR, safe=""), "impact hub": impact + quote(hub, safe=""),
            "model (none)": "/model/none", "crawls": "/crawls"}


# What a small crawl does to the store (a few new edges, and its report), by the measured code's
# own store (run apart: the measured checkout may be another).
WRITE_A_LITTLE = """
import sys, time
import graph
from graph import changes
from graph.batch import Batch
url, ns, star, when = sys.argv[1:5]
store = graph.open_store(url)
number = changes.next_crawl(store)
batch = Batch(crawl=number)
for i in range(3):
    job, out = f"job:{ns}/bench.write{time.time_ns()}.{i}", f"dataset:{ns}/bench.written{i}"
    batch.node(job, "job", job.rsplit("/", 1)[1], when, namespace=ns, label=f"INSERT bench.written{i}")
    batch.node(out, "dataset", f"bench.written{i}", when, namespace=ns)
    batch.edge(star, "READS", job, when)
    batch.edge(job, "WRITES", out, when)
store.apply(batch)
report = {"crawl": number, "started_at": when, "files": 1, "records": 3, "written": 3, "seconds": 0,
          "issues_by_code": {}}
summarise = getattr(changes, "crawl_summary", None)  # (as a crawl does; a checkout from before keeps none)
if summarise is not None:
    report["changes"] = summarise(store, number)
store.save_report(report)
store.close()
"""


def first_asks(port: int, hub: str) -> dict[str, float]:
    """Each page's content, asked once."""
    return {name: round(first_byte(port, "POST", "/_dash-update-component", route_body(path))[0], 1)
            for name, path in pages(hub).items()}


def grid_body(hub: str, request: dict[str, Any]) -> dict[str, Any]:
    return {"output": "impact-grid.getRowsResponse", "outputs": {"id": "impact-grid", "property": "getRowsResponse"},
            "inputs": [{"id": "impact-grid", "property": "getRowsRequest", "value": request}],
            "state": [{"id": "impact-root", "property": "data", "value": hub}],
            "changedPropIds": ["impact-grid.getRowsRequest"]}


def summary_body(hub: str) -> dict[str, Any]:
    return {"output": "impact-summary.children", "outputs": {"id": "impact-summary", "property": "children"},
            "inputs": [{"id": "impact-grid", "property": "getRowsResponse", "value": {}}],
            "state": [{"id": "impact-root", "property": "data", "value": hub},
                      {"id": "impact-summary", "property": "children", "value": "Counting everything downstream..."}],
            "changedPropIds": ["impact-grid.getRowsResponse"]}


def grid_asks(port: int, hub: str) -> dict[str, Any]:
    """The hub's impact grid as its page asks it right after a write: the first block (the grid's
    own order: by distance), the summary line (asked once the first block is in; it counts every
    row), then a block sorted by name and the last block."""
    first, body = first_byte(port, "POST", "/_dash-update-component",
                             grid_body(hub, {"startRow": 0, "endRow": 100, "filterModel": {},
                                             "sortModel": [{"colId": "distance", "sort": "asc"}]}))
    early_count = json.loads(body)["response"]["impact-grid"]["getRowsResponse"]["rowCount"]
    try:
        summary = round(first_byte(port, "POST", "/_dash-update-component", summary_body(hub))[0], 1)
    except AssertionError:  # (a checkout from before: the summary came with the page)
        summary = None
    # (the first block may come before the number of rows in all: asked again, the impact is in)
    _, again = first_byte(port, "POST", "/_dash-update-component", grid_body(hub, {"startRow": 0, "endRow": 100}))
    rows = json.loads(again)["response"]["impact-grid"]["getRowsResponse"]["rowCount"]
    by_name = first_byte(port, "POST", "/_dash-update-component",
                         grid_body(hub, {"startRow": 0, "endRow": 100,
                                         "sortModel": [{"colId": "name", "sort": "desc"}]}))
    last = first_byte(port, "POST", "/_dash-update-component",
                      grid_body(hub, {"startRow": rows - 100, "endRow": rows, "filterModel": {},
                                      "sortModel": [{"colId": "distance", "sort": "asc"}]}))
    return {"rows": rows, "rows_in_first_block_answer": early_count, "first_block_ms": round(first, 1),
            "summary_ms": summary,
            "sorted_by_name_ms": round(by_name[0], 1), "last_block_ms": round(last[0], 1)}


def time_pages(port: int, hub: str, repeats: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, path in pages(hub).items():
        shell = [first_byte(port, "GET", path)[0] for _ in range(repeats)]
        first, body = first_byte(port, "POST", "/_dash-update-component", route_body(path))
        content = [first_byte(port, "POST", "/_dash-update-component", route_body(path))[0] for _ in range(repeats)]
        results[name] = {"shell_p50_ms": round(statistics.median(shell), 1), "shell_max_ms": round(max(shell), 1),
                         "content_first_ms": round(first, 1), "content_p50_ms": round(statistics.median(content), 1),
                         "content_max_ms": round(max(content), 1), "elements": elements_sent(body)}
    return results


# Run before the page's own scripts: marks the first frame in which the graph is drawn and laid out.
MARK_LAYOUT = """
(function watch() {
  const box = document.getElementById('lineage-graph');
  const cy = box && box._cyreg && box._cyreg.cy;
  if (cy && cy.nodes().length && cy.nodes().some(n => n.position().x !== 0 || n.position().y !== 0)) {
    performance.mark('graph-laid-out');
    return;
  }
  requestAnimationFrame(watch);
})();
"""


def browser() -> Any:
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                 "--force-device-scale-factor=1", f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=shutil.which("chromedriver")),
                              options=options)
    driver.set_window_size(1280, 800)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": MARK_LAYOUT})
    return driver


def wait(driver: Any, script: str, seconds: float = 60) -> Any:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError(script)


def node_page_in_browser(driver: Any, base: str, path: str, repeats: int) -> dict[str, Any]:
    """Navigation start to the graph's first layout, and a click to the clicked node's details."""
    laid_out, interactive = [], []
    shown = 0
    for _ in range(repeats):
        driver.get("about:blank")
        driver.get(base + path)
        laid_out.append(wait(driver, "const m = performance.getEntriesByName('graph-laid-out');"
                                     "return m.length && m[0].startTime;"))
        shown = driver.execute_script("return document.getElementById('lineage-graph')._cyreg.cy.elements().length;")
        target = driver.execute_script(
            "const cy = document.getElementById('lineage-graph')._cyreg.cy;"
            "const n = cy.nodes('.dataset:not(.root)')[0]; const p = n.renderedPosition();"
            "const box = cy.container().getBoundingClientRect();"
            "window.__clicked = performance.now();"
            "return [n.id(), box.left + p.x, box.top + p.y];")
        from selenium.webdriver.common.actions.action_builder import ActionBuilder

        actions = ActionBuilder(driver)
        start = driver.execute_script("return performance.now();")
        actions.pointer_action.move_to_location(round(target[1]), round(target[2])).click()
        actions.perform()
        wait(driver, "return document.getElementById('open-node') !== null;")
        interactive.append(driver.execute_script("return performance.now();") - start)
    return {"elements_drawn": shown,
            "first_layout_p50_ms": round(statistics.median(laid_out)), "first_layout_max_ms": round(max(laid_out)),
            "click_to_details_p50_ms": round(statistics.median(interactive))}


GRID = "const api = dash_ag_grid.getApi('impact-grid');"
# The row at an index, drawn with its data (not the grid's "loading" stub), or null.
ROW_DRAWN = """
const row = document.querySelector('#impact-grid .ag-center-cols-container [row-index="' + arguments[0] + '"]');
const name = row && row.querySelector('[col-id=name]');
return name && name.textContent.trim().length > 0 ? name.textContent : null;
"""


def impact_grid_in_browser(driver: Any, base: str, hub: str) -> dict[str, Any]:
    """The hub's impact grid (AG Grid's infinite row model, blocks of 100 from the server): from
    navigation to the first rows drawn, then scrolled top to bottom in 120 frames (frame times,
    rows in the DOM), then a jump to the last row (time until it is drawn with its data)."""
    start = time.perf_counter()
    driver.get(base + "/impact/" + quote(hub, safe=""))
    rows = wait(driver, "try { " + GRID + " return api.getDisplayedRowCount() > 100 && api.getDisplayedRowCount(); }"
                        "catch (e) { return 0; }", 300)
    wait(driver, ROW_DRAWN.replace("arguments[0]", "0"), 120)
    loaded = time.perf_counter() - start
    frames = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const viewport = document.querySelector('#impact-grid .ag-body-viewport');
        const times = []; let last = performance.now(); let step = 0; const steps = 120;
        const tick = (now) => {
          times.push(now - last); last = now;
          if (step++ >= steps) { done({times: times, dom: document.querySelectorAll(
              '#impact-grid .ag-center-cols-container [role=row]').length, top: viewport.scrollTop,
              height: viewport.scrollHeight}); return; }
          viewport.scrollTop = viewport.scrollHeight * step / steps;
          requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
    """)
    times = sorted(frames["times"][1:])
    driver.execute_script(GRID + "api.ensureIndexVisible(0, 'top');")
    wait(driver, ROW_DRAWN.replace("arguments[0]", "0"), 120)
    jump = time.perf_counter()
    driver.execute_script(GRID + f"api.ensureIndexVisible({rows - 1}, 'bottom');")
    wait(driver, ROW_DRAWN.replace("arguments[0]", str(rows - 1)), 120)
    jumped = time.perf_counter() - jump
    return {"rows": rows, "load_s": round(loaded, 2), "rows_in_dom": frames["dom"],
            "frame_p50_ms": round(statistics.median(times), 1), "frame_p95_ms": round(times[int(0.95 * len(times))], 1),
            "frame_max_ms": round(times[-1], 1), "scrolled_to_px": frames["top"],
            "jump_to_end_ms": round(jumped * 1000)}


def write_a_little(url: str, code: Path) -> None:
    """A small write to the store by the checkout ``code``, as a crawl makes while the server runs."""
    code = code.resolve()
    subprocess.run([sys.executable, "-c", WRITE_A_LITTLE, url, NAMESPACE, STAR, WHEN], cwd=code,
                   env={**os.environ, "PYTHONPATH": str(code)}, check=True)


def serve(url: str, code: Path) -> tuple[int, subprocess.Popen[bytes]]:
    """`lineage serve` of the checkout ``code`` on a free port, once it answers."""
    port = free_port()
    code = code.resolve()  # (the server runs there: `python -m` puts the working directory first)
    server = subprocess.Popen([sys.executable, "-m", "crawler", "serve", "--store", url, "--port", str(port)],
                              env={**os.environ, "PYTHONPATH": str(code)}, cwd=code, stdout=subprocess.DEVNULL,
                              stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            first_byte(port, "GET", "/")
            return port, server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"lineage serve ({code}) did not answer on port {port}")


def before_node_pages(driver: Any, checkout: str, url: str, hub: str, repeats: int) -> dict[str, Any]:
    """The same node pages served by another checkout's code (before a change), same store."""
    port, server = serve(url, Path(checkout))
    try:
        first_byte(port, "POST", "/_dash-update-component", route_body(pages(hub)["node hub"]))
        base = f"http://127.0.0.1:{port}"
        return {f"{name} (before)": node_page_in_browser(driver, base, pages(hub)[name], repeats)
                for name in ("node star", "node hub depth 10")}
    finally:
        server.terminate()
        server.wait(timeout=20)


class _Done(Exception):
    """No browser asked for: the first bytes are all."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--store", help="A store built before by this bench (skips building; it is written to).")
    parser.add_argument("--keep", metavar="PATH", help="Build the store at PATH and keep it (for --store later).")
    parser.add_argument("--code", type=Path, default=ROOT,
                        help="The checkout whose `lineage serve` is measured (another tree: before and after).")
    parser.add_argument("--no-browser", action="store_true", help="First bytes only: no Chromium, no grid.")
    parser.add_argument("--before", help="Another checkout (e.g. /work/main): its node pages timed in the same run.")
    parser.add_argument("--only", choices=("pages", "node", "grid"), action="append",
                        help="Run only these parts (repeatable); all by default. Writes dashboard-<parts>.json.")
    parser.add_argument("--settle", type=float, default=0.0, metavar="SECONDS",
                        help="Wait this long after the first ask before timing the pages (the graph's shape "
                             "loads in the background after a start): steady-state first bytes.")
    args = parser.parse_args()
    parts = set(args.only or ("pages", "node", "grid"))
    work = Path(tempfile.mkdtemp(prefix="dashboard-bench-"))
    url = args.store or f"sqlite:///{Path(args.keep).resolve() if args.keep else work / 'lineage.db'}"
    built, hub = build(url, args.edges) if not args.store else ({}, "")
    if not hub:
        hub = f"dataset:{NAMESPACE}/{shape(args.edges)[0][0][0]}"
    print(f"store: {built}", flush=True)
    port, server = serve(url, args.code)
    base = f"http://127.0.0.1:{port}"
    try:
        start = time.perf_counter()
        first_byte(port, "POST", "/_dash-update-component", route_body(pages(hub)["node hub"]))
        index_s = round(time.perf_counter() - start, 2)
        grid_after_write: dict[str, Any] = {}
        grid_other_hub: dict[str, Any] = {}
        print(f"first ask after start (a hub's node page; the graph's shape loads meanwhile): {index_s} s",
              flush=True)
        time.sleep(args.settle)
        timed = time_pages(port, hub, args.repeats) if "pages" in parts else {}
        for name, row in timed.items():
            print(f"  {name:20} shell {row['shell_p50_ms']:6.1f} ms  content {row['content_p50_ms']:7.1f} ms "
                  f"(max {row['content_max_ms']:.1f})  elements {row['elements']}", flush=True)
        cap = GraphOptions().max_elements
        over = {name: row["elements"] for name, row in timed.items() if row["elements"] > cap}
        print(f"element cap {cap}: {'kept' if not over else f'EXCEEDED {over}'}", flush=True)
        write_a_little(url, args.code)
        after_write = first_asks(port, hub)
        print(f"first asks right after a write: {after_write}", flush=True)
        write_a_little(url, args.code)
        grid_after_write = grid_asks(port, hub)
        print(f"the hub's impact grid right after a write: {grid_after_write}", flush=True)
        other = f"dataset:{NAMESPACE}/{shape(args.edges)[0][0][1]}"  # (the store's shape is loaded by now)
        grid_other_hub = grid_asks(port, other)
        print(f"another hub's impact grid, first asked: {grid_other_hub}", flush=True)
        node: dict[str, Any] = {}
        grid: dict[str, Any] = {}
        if args.no_browser:
            raise _Done
        driver = browser()
        try:
            node = {name: node_page_in_browser(driver, base, pages(hub)[name].removeprefix(base), args.repeats)
                    for name in ("node star", "node hub depth 10") if "node" in parts}
            if args.before and "node" in parts:
                node.update(before_node_pages(driver, args.before, url, hub, args.repeats))
            for name, row in node.items():
                print(f"{name} in Chromium: {row}", flush=True)
            grid = impact_grid_in_browser(driver, base, hub) if "grid" in parts else {}
            print(f"impact grid: {grid}", flush=True)
        finally:
            driver.quit()
    except _Done:
        pass
    finally:
        server.terminate()
        server.wait(timeout=20)
    result = {"edges": args.edges, "store": built, "code": str(args.code), "first_after_start_s": index_s,
              "settle_s": args.settle,
              "pages": timed, "first_after_write_ms": after_write,
              "grid_after_write_ms": grid_after_write, "grid_other_hub_ms": grid_other_hub, "cap": cap,
              "cap_kept": not over,
              "node_page": node, "impact_grid": grid}
    name = "dashboard" if args.only is None else "dashboard-" + "-".join(sorted(parts))
    write_results(f"{name}.json", result)
    if not args.store:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
