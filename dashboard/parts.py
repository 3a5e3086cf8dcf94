"""Small pieces every page uses."""

from __future__ import annotations

from dash import dcc, html

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
