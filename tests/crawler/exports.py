"""The graph export tests compare between two crawls, with today's read times masked."""

from __future__ import annotations

import datetime as dt
import re

from graph import open_store
from graph.export import dumps, export


def masked_export(url: str) -> str:
    """The store's export as JSON, with the times SQL scripts were first read masked.

    A SQL script has no times of its own, so it takes the time a crawl first reads it:
    today's, and different in each of two separate stores.
    """
    store = open_store(url, read_only=True)
    try:
        text = dumps(export(store))
    finally:
        store.close()
    today = dt.datetime.now(dt.UTC).date().isoformat()
    return re.sub(rf"{today}T[0-9:.]+Z", "(read today)", text)
