"""Fixtures the crawler tests share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from graph import open_store
from tests.graph.neo4j_server import neo4j_url

Fresh = Callable[[], str]


@pytest.fixture(params=["sqlite", "neo4j"])
def fresh_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Fresh]:
    """Makes the URL of an empty store of one backend (Neo4j: the one database, wiped)."""
    counter = iter(range(1000))

    def make() -> str:
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / f'lineage-{next(counter)}.db'}"
        url = neo4j_url(request)
        store = open_store(url)
        try:
            store.wipe()  # type: ignore[attr-defined]
        finally:
            store.close()
        return url

    yield make
