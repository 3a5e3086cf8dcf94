from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler import config as crawl_config
from crawler.crawl import crawl
from graph import Store, open_store

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "fixtures" / "demo"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", help="Rewrite golden files from current output.")


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@pytest.fixture(scope="session")
def demo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo fixtures copied aside, so tests may touch file times without touching the repo."""
    target = tmp_path_factory.mktemp("fixtures") / "fixtures"
    shutil.copytree(DEMO.parent, target)  # the demo's crawl.toml reaches into ../querylogs
    return target / "demo"


@pytest.fixture(scope="session")
def demo_store_url(demo_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store holding one crawl of the demo fixtures (shared: tests only read it)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'lineage.db'}"
    store = open_store(url)
    crawl(crawl_config.load(demo_copy / "crawl.toml").sources, store)
    store.close()
    return url


@pytest.fixture
def demo_store(demo_store_url: str) -> Iterator[Store]:
    store = open_store(demo_store_url, read_only=True)
    yield store
    store.close()


from tests.servers.live import (  # noqa: E402, F401  (session-wide server fixtures)
    mariadb_logs,
    postgres_logs,
    postgres_long_prefix_logs,
)
