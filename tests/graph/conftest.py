"""Every contract test runs against each store backend: the embedded SQLite file (walked as it
chooses, in SQL, and in the graph's shape in memory) and a real Neo4j server (started by
graph/neo4j_server/neo4j.sh; under CI a server that cannot start is a failure, elsewhere a
skip), the latter twice: walked by the server, and walked in the graph's shape loaded from it
(``traversal=memory``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from graph import Store, open_store
from tests.graph.neo4j_server import neo4j_url

Factory = Callable[[], Store]


@pytest.fixture(params=["sqlite", "sqlite-sql", "sqlite-memory", "neo4j", "neo4j-memory"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """Makes empty stores of one backend (several per test, for migrations)."""
    opened: list[Store] = []
    counter = iter(range(1000))

    def make() -> Store:
        if request.param.startswith("sqlite"):
            traversal = {"sqlite": "auto", "sqlite-sql": "store", "sqlite-memory": "memory"}[request.param]
            store = open_store(f"sqlite:///{tmp_path / f'lineage-{next(counter)}.db'}?traversal={traversal}")
        else:
            traversal = "memory" if request.param == "neo4j-memory" else "server"
            store = open_store(f"{neo4j_url(request)}?traversal={traversal}")
            wipe = getattr(store, "wipe", None)
            assert wipe is not None
            wipe()
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(new_store: Factory) -> Store:
    return new_store()
