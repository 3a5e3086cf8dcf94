"""The dashboard in a real headless Chromium, served by `lineage serve` as a user starts it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator

import pytest

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(demo_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "crawler", "serve", "--store", demo_store_url, "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(base, timeout=1):
                    break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"lineage serve exited: {log_path.read_text(errors='replace')}")
                time.sleep(0.2)
        else:
            pytest.fail("lineage serve did not answer within 20 s")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium and chromedriver are missing; `make test` installs them")
        pytest.skip("Chromium and chromedriver are not installed (make browser)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1000", f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: webdriver.Chrome, condition: object, seconds: float = 20) -> object:
    return WebDriverWait(driver, seconds).until(condition)


def test_search_then_open_a_dataset_page(server: str, browser: webdriver.Chrome) -> None:
    browser.get(server + "/")
    _wait(browser, ec.presence_of_element_located((By.ID, "crawl-summary")))
    browser.find_element(By.ID, "search-input").send_keys("credit_sc")
    link = _wait(browser, ec.element_to_be_clickable((By.LINK_TEXT, "credit.ml.credit_scores")))
    link.click()  # type: ignore[attr-defined]
    _wait(browser, ec.text_to_be_present_in_element((By.ID, "node-title"), "credit.ml.credit_scores"))
    evidence = _wait(browser, ec.presence_of_element_located((By.ID, "node-evidence")))
    assert "INSERT INTO ml.credit_scores" in evidence.text  # type: ignore[attr-defined]


def test_the_graph_draws_upstream_and_downstream(server: str, browser: webdriver.Chrome) -> None:
    browser.get(server + "/node/dataset%3Apostgres%3A%2F%2Fwarehouse.bank.internal%3A5432%2Fcredit.ml.credit_scores")
    _wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "#lineage-graph canvas")))
    counts = _wait(browser, lambda d: d.execute_script(
        "const cy = document.querySelector('#lineage-graph')._cyreg.cy;"
        "return cy.nodes().length ? [cy.nodes('.upstream').length, cy.nodes('.downstream').length,"
        " cy.nodes('.root').length, cy.edges().length] : null;"))
    upstream, downstream, root, edges = counts  # type: ignore[misc]
    assert upstream > 5 and downstream > 2 and root == 1 and edges > upstream


def test_tapping_an_edge_shows_the_sql_behind_it(server: str, browser: webdriver.Chrome) -> None:
    browser.get(server + "/node/dataset%3Apostgres%3A%2F%2Fwarehouse.bank.internal%3A5432%2Fcredit.ml.credit_scores")
    _wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "#lineage-graph canvas")))
    _wait(browser, lambda d: d.execute_script(
        "const cy = document.querySelector('#lineage-graph')._cyreg.cy;"
        "const e = cy.edges('[kind = \"WRITES\"][target *= \"credit.ml.credit_scores\"]');"
        "if (!e.length) return false; e[0].emit('tap'); return true;"))
    panel = _wait(browser, ec.text_to_be_present_in_element((By.ID, "edge-details"), "INSERT INTO ml.credit_scores"))
    assert panel
