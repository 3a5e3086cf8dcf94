"""Small pieces every page uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from dash import dcc, html

from graph import Store

T = TypeVar("T")

MAX_SHOWN_ID = 120  # an unknown id is echoed back this far (as text), no further


def shown(text: str) -> str:
    """Text from a URL, as a page may echo it: cut short.

    >>> shown("x" * 200).endswith("...")
    True
    """
    return text if len(text) <= MAX_SHOWN_ID else text[:MAX_SHOWN_ID] + "..."


def not_found(message: str) -> html.Div:
    return html.Div([html.H2("Not found"), html.P(message), dcc.Link("Back to search", href="/")],
                    id="not-found")


_MEMO: dict[tuple[int, str], tuple[int, Any]] = {}


def by_generation(store: Store, key: str, compute: Callable[[], T]) -> T:
    """What ``compute()`` gives, kept while the store's generation stays: the store's counts and the
    home page's lists scan whole tables (seconds at a million edges) and move only when it is written."""
    generation = store.generation()
    found = _MEMO.get((id(store), key))
    if found is None or found[0] != generation:
        found = _MEMO[(id(store), key)] = (generation, compute())
    return found[1]
