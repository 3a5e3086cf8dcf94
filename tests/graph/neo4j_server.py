"""The real Neo4j server for the contract tests, started once per test session."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "graph" / "neo4j_server" / "neo4j.sh"
_state: dict[str, str] = {}


def neo4j_url(request: pytest.FixtureRequest) -> str:
    """The store URL of a running server, starting it on first use (stopped at session end)."""
    if "url" in _state:
        return _state["url"]
    if "error" in _state:
        _unavailable(_state["error"])
    url = os.environ.get("LINEAGE_TEST_NEO4J")
    if not url:
        if not SCRIPT.exists():
            _state["error"] = f"{SCRIPT} is missing"
            _unavailable(_state["error"])
        started = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=600)
        if started.returncode != 0:
            _state["error"] = f"neo4j.sh start failed: {started.stdout[-2000:]} {started.stderr[-2000:]}"
            _unavailable(_state["error"])
        url = started.stdout.strip().splitlines()[-1]
        request.session.config.add_cleanup(lambda: subprocess.run(["bash", str(SCRIPT), "stop"], timeout=120))
    _state["url"] = url
    return url


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"Neo4j is not available under CI: {reason}")
    pytest.skip(f"Neo4j is not available: {reason}")
