"""What only the Neo4j store does: clear errors for a server that is down or refuses the
credentials, the password kept out of messages, nodes written before a field existed."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit, urlunsplit

import pytest

from graph import StoreUnavailableError, open_store
from tests.graph.neo4j_server import neo4j_url


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_wrong_credentials_are_a_clear_error(request: pytest.FixtureRequest) -> None:
    parts = urlsplit(neo4j_url(request))
    wrong = urlunsplit((parts.scheme, f"neo4j:not-the-password@{parts.hostname}:{parts.port}", "", "", ""))
    with pytest.raises(StoreUnavailableError, match="refused the credentials") as caught:
        open_store(wrong)
    assert "not-the-password" not in str(caught.value)


def test_a_server_that_is_down_is_a_clear_error() -> None:
    with pytest.raises(StoreUnavailableError, match="cannot reach Neo4j .* is the server running"):
        open_store(f"neo4j://neo4j:secret-pass@127.0.0.1:{_free_port()}")


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
