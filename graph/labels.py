"""Job labels that no two jobs of a store share.

A job's title says what it does to what (``INSERT ml.scores from raw.customers``); two query
templates that differ only in a filter have the same one. The first job to take a title keeps it
bare, the next ones get ``(2)``, ``(3)``, ... in the order the store first saw them; a job keeps
the label it was first given for good, so a label never changes because another job appeared
later, or because its own title changed since (a later crawl names it as before).
"""

from __future__ import annotations

import re

from graph.batch import Batch, NodeRow
from graph.store import Store

_NUMBERED = re.compile(r" \((\d+)\)$")
_FIND_LIMIT = 100_000


def label_jobs(store: Store, batch: Batch) -> None:
    """Give the batch's jobs their labels in ``store``: a known job its stored label, a new one
    its title, numbered where another job of the store (or an earlier one of the batch) has it."""
    rows = [row for row in batch.nodes.values() if row.kind == "job" and row.label]
    if not rows:
        return
    stored = {node.id: node.label for node in store.nodes("job", ids=[row.id for row in rows], include_removed=True)}
    fresh: list[NodeRow] = []
    for row in rows:
        label = stored.get(row.id)
        if label:
            row.label = label
        else:
            fresh.append(row)
    highest = {title: _highest_taken(store, title) for title in dict.fromkeys(row.label or "" for row in fresh)}
    for row in fresh:
        title = row.label or ""
        number = highest[title] = highest[title] + 1
        row.label = title if number == 1 else f"{title} ({number})"


def _highest_taken(store: Store, title: str) -> int:
    """The highest number a job of the store has ``title`` under (the bare title is 1; 0: none)."""
    highest = 0
    for node in store.find(title, kind="job", limit=_FIND_LIMIT):
        label = node.label or ""
        if label == title:
            highest = max(highest, 1)
        elif label.startswith(title) and (numbered := _NUMBERED.fullmatch(label[len(title):])):
            highest = max(highest, int(numbered.group(1)))
    return highest
