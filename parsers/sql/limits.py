"""A time limit on parsing one statement, so a pathological statement cannot hold a crawl.

sqlglot cannot be interrupted from another thread, so the limit is a timer signal, which Python
delivers only to the main thread: elsewhere (a dashboard worker thread) statements parse without
a limit. The previous timer is restored afterwards.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Any

PARSE_TIME_LIMIT = 10.0  # seconds for one statement
# Parentheses one statement may nest before it is not parsed: sqlglot's parser and the walks
# after it recurse per level, and the compiled build does so on the C stack, where 10,000 levels
# crash the process (a segmentation fault, not a RecursionError). Real SQL nests tens deep.
MAX_NESTING = 1000


def nesting(tokens: Sequence[Any]) -> int:
    """How deep a statement's parentheses nest, from its tokens."""
    depth = deepest = 0
    for token in tokens:
        kind = token.token_type.name
        if kind == "L_PAREN":
            depth += 1
            deepest = max(deepest, depth)
        elif kind == "R_PAREN":
            depth -= 1
    return deepest


class ParseTimeout(Exception):
    """A statement took longer than the limit to parse."""


def _expired(signum: int, frame: FrameType | None) -> None:
    raise ParseTimeout


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`ParseTimeout` in the block after ``seconds`` (main thread only)."""
    if not seconds or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    previous = signal.getsignal(signal.SIGALRM)
    if previous is not _expired:  # nested or repeated limits share the handler
        signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if previous is not _expired:
            signal.signal(signal.SIGALRM, previous)
