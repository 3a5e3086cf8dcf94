"""Every dashboard test that reads the demo reads it from both stores: the embedded SQLite file
and a real Neo4j server (LINEAGE_TEST_NEO4J, or started by graph/neo4j_server/neo4j.sh; the one
database, wiped and crawled afresh for each module). ``demo_store`` (tests/conftest.py) opens
whichever this URL names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler import config as crawl_config
from crawler.crawl import crawl
from dashboard import impact
from graph import Store, open_store
from tests.graph.neo4j_server import neo4j_url


@pytest.fixture(scope="module", params=["sqlite", "neo4j"])
def demo_store_url(request: pytest.FixtureRequest, demo_store_url: str, demo_copy: Path) -> str:
    if request.param == "sqlite":
        return demo_store_url
    url = neo4j_url(request)
    store = open_store(url)
    try:
        store.wipe()  # type: ignore[attr-defined]
        crawl(crawl_config.load(demo_copy / "crawl.toml").sources, store)
    finally:
        store.close()
    return url



@pytest.fixture
def demo_store(demo_store: Store) -> Iterator[Store]:
    yield demo_store
    impact.settle()  # (an impact grid's first block leaves the rest being worked out: not under a closed store)
