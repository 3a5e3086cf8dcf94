"""Servers the tests start as real processes (``lineage serve``, moto's S3): a free port, and a
process started and polled until it answers."""

from __future__ import annotations

import contextlib
import subprocess
import time
import urllib.error
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tests.servers._common import free_port

__all__ = ["answering", "free_port"]


@contextlib.contextmanager
def answering(argv: Sequence[str], ready: Callable[[], object], log_path: Path, *,
              seconds: float = 20.0) -> Iterator[subprocess.Popen[bytes]]:
    """Runs ``argv`` (output to ``log_path``) until ``ready()`` stops raising a connection error,
    yields the process, and terminates it afterwards. An HTTP error is an answer: it is raised."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + seconds
        while True:
            try:
                ready()
                break
            except urllib.error.HTTPError:
                raise
            except OSError:  # (not listening yet)
                if process.poll() is not None:
                    pytest.fail(f"{argv[0]} exited: {log_path.read_text(errors='replace')}")
                if time.monotonic() > deadline:
                    pytest.fail(f"{argv[0]} did not answer within {seconds:.0f} s")
                time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)
