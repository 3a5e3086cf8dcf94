"""What only the Neo4j store does: clear errors for a server that is down or refuses the
credentials or for a URL option it does not know, the password kept out of messages, nodes
written before a field existed, where walks run."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest

from graph import StoreUnavailableError, UnknownStoreError, open_store
from graph.lineage import impact
from tests.graph.helpers import event
from tests.graph.neo4j_server import neo4j_url
from tests.processes import free_port


def test_wrong_credentials_are_a_clear_error(request: pytest.FixtureRequest) -> None:
    parts = urlsplit(neo4j_url(request))
    wrong = urlunsplit((parts.scheme, f"neo4j:not-the-password@{parts.hostname}:{parts.port}", "", "", ""))
    with pytest.raises(StoreUnavailableError, match="refused the credentials") as caught:
        open_store(wrong)
    assert "not-the-password" not in str(caught.value)


def test_a_server_that_is_down_is_a_clear_error() -> None:
    with pytest.raises(StoreUnavailableError, match="cannot reach Neo4j .* is the server running"):
        open_store(f"neo4j://neo4j:secret-pass@127.0.0.1:{free_port()}")


@pytest.mark.parametrize("option", ["traversal=fast", "walk=memory", "traversal"])
def test_an_unknown_url_option_is_a_clear_error(option: str) -> None:
    with pytest.raises(UnknownStoreError, match="the only option is traversal=auto[|]memory[|]server"):
        open_store(f"neo4j://neo4j:secret-pass@127.0.0.1:{free_port()}?{option}")


def test_auto_traversal_walks_on_the_server_while_the_shape_loads_in_the_background(
        request: pytest.FixtureRequest) -> None:
    import graph
    from graph.topology import Reached

    store = open_store(f"{neo4j_url(request)}?traversal=auto")
    try:
        store.wipe()  # type: ignore[attr-defined]
        graph.write(store, [event("j1", ["raw.a"], ["stg.b"], run="r1")])
        root = "dataset:postgres://warehouse:5432/raw.a"

        def in_memory() -> bool:
            return isinstance(store.reach(root, outgoing=("READS", "WRITES"), incoming=(),
                                          steps={"READS": 1, "WRITES": 1}), Reached)

        assert not in_memory(), "the first walk is the server's; the shape loads meanwhile"
        store.warm().join()  # type: ignore[attr-defined]
        assert in_memory() and {row.node.name for row in impact(store, root)} == {"j1", "stg.b"}
        graph.write(store, [event("j2", ["stg.b"], ["mart.c"], run="r2")])
        assert not in_memory(), "a write: the server walks until the new shape is loaded"
        assert {row.node.name for row in impact(store, root)} == {"j1", "stg.b", "j2", "mart.c"}
        store.warm().join()  # type: ignore[attr-defined]
        assert in_memory() and {row.node.name for row in impact(store, root)} == {"j1", "stg.b", "j2", "mart.c"}
    finally:
        store.close()


def test_a_walk_in_memory_sees_what_another_client_wrote(request: pytest.FixtureRequest) -> None:
    import graph

    reader = open_store(f"{neo4j_url(request)}?traversal=memory")
    writer = open_store(f"{neo4j_url(request)}?traversal=server")
    try:
        writer.wipe()  # type: ignore[attr-defined]
        graph.write(writer, [event("j1", ["raw.a"], ["stg.b"], run="r1")])
        root = "dataset:postgres://warehouse:5432/raw.a"
        assert {row.node.name for row in impact(reader, root)} == {"j1", "stg.b"}
        graph.write(writer, [event("j2", ["stg.b"], ["mart.c"], run="r2")])
        assert {row.node.name for row in impact(reader, root)} == {"j1", "stg.b", "j2", "mart.c"}
    finally:
        reader.close()
        writer.close()


def test_the_store_url_shown_hides_the_password(request: pytest.FixtureRequest) -> None:
    store = open_store(neo4j_url(request))
    try:
        assert "lineage-test" not in store.url and "***" in store.url
    finally:
        store.close()


def test_a_cursor_written_before_cursors_carried_state_reads_with_none(request: pytest.FixtureRequest) -> None:
    store = open_store(neo4j_url(request))
    try:
        store.wipe()  # type: ignore[attr-defined]
        store._write(lambda tx: tx.run(  # type: ignore[attr-defined]
            "CREATE (:Cursor {path: '/logs/a.log', offset: 10, line: 1, head_length: 10, head_digest: 'h',"
            " tail_digest: 't', size: 10})"))
        (cursor,) = store.cursors().values()
        assert (cursor.offset, cursor.state) == (10, "{}")
    finally:
        store.close()


def test_closing_waits_for_the_shape_loading_in_the_background(request: pytest.FixtureRequest) -> None:
    # The loader reads through the driver's connections: closing them under it broke the driver
    # (BufferError in its goodbye, a socket left open), now and then, at the end of a test
    import graph

    store = open_store(f"{neo4j_url(request)}?traversal=auto")
    store.wipe()  # type: ignore[attr-defined]
    graph.write(store, [event("j1", ["raw.a"], ["stg.b"], run="r1")])
    loader = store.warm()  # type: ignore[attr-defined]
    store.close()
    assert not loader.is_alive()
