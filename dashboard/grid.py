"""AG Grid's infinite row model, answered on the server: a block of rows for a request holding
``startRow``, ``endRow``, a ``sortModel`` and a ``filterModel`` (the browser holds only the
blocks in view, so a grid of every row downstream of a hub stays light).

Requests come from the browser, so anything may be in them: a request that cannot be read
(wrong types, unknown columns, filters AG Grid never sends) is answered with what can be read
of it, never with an exception. Rows are plain dicts; ``keys`` says which value of a row a
column sorts and filters by (the name column shows a markdown link, and sorts by the name).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

BLOCK = 100  # rows per request (AG Grid's cacheBlockSize)
MAX_BLOCK = 1_000  # a request for more is cut to this
MAX_TEXT = 200  # filter text past this is cut

Row = Mapping[str, Any]


def block(rows: Sequence[Row], request: Any, columns: Mapping[str, str]) -> dict[str, Any]:
    """The rows a request asks for, filtered and sorted, with how many match in all (AG Grid's
    ``rowCount``, which tells it where the scroll ends). ``columns`` maps each column id to the
    key of the row that it sorts and filters by.

    >>> rows = [{"d": 2, "n": "b"}, {"d": 1, "n": "a"}, {"d": 1, "n": "c"}]
    >>> cols = {"distance": "d", "name": "n"}
    >>> block(rows, {"startRow": 0, "endRow": 2, "sortModel": [{"colId": "name", "sort": "desc"}]}, cols)
    {'rowData': [{'d': 1, 'n': 'c'}, {'d': 2, 'n': 'b'}], 'rowCount': 3}
    >>> block(rows, {"filterModel": {"distance": {"filterType": "number", "type": "equals", "filter": 1}}}, cols)
    {'rowData': [{'d': 1, 'n': 'a'}, {'d': 1, 'n': 'c'}], 'rowCount': 2}
    >>> block(rows, {"startRow": "x", "sortModel": "drop table", "filterModel": [1]}, cols)["rowCount"]
    3
    """
    asked = request if isinstance(request, Mapping) else {}
    start, end = window(asked)
    matched = [row for row in rows if _keep(row, asked.get("filterModel"), columns)]
    ordered = _sorted(matched, asked.get("sortModel"), columns)
    return {"rowData": list(ordered[start:end]), "rowCount": len(ordered)}


def window(request: Any) -> tuple[int, int]:
    """The rows a request asks for, ``start`` up to ``end``: a block, at most ``MAX_BLOCK``.

    >>> window({"startRow": 200, "endRow": 300}), window({"startRow": 5, "endRow": 10**9}), window("x")
    ((200, 300), (5, 1005), (0, 100))
    """
    asked = request if isinstance(request, Mapping) else {}
    start = _int(asked.get("startRow"), 0)
    end = min(_int(asked.get("endRow"), start + BLOCK), start + MAX_BLOCK)
    return start, max(start, end)


def in_order_of(request: Any, columns: Mapping[str, str], first: str) -> bool:
    """Whether a request asks for the rows as they come, sorted by column ``first`` ascending
    (or not sorted) and not filtered: then a block is the rows' own slice.

    >>> cols = {"distance": "d", "name": "n"}
    >>> in_order_of({"sortModel": [{"colId": "distance", "sort": "asc"}], "filterModel": {}}, cols, "distance")
    True
    >>> in_order_of({"sortModel": [], "filterModel": {"name": {"type": "contains", "filter": "a"}}}, cols, "distance")
    False
    >>> in_order_of({"sortModel": [{"colId": "distance", "sort": "desc"}]}, cols, "distance")
    False
    """
    asked = request if isinstance(request, Mapping) else {}
    model = asked.get("filterModel")
    filtered = isinstance(model, Mapping) and any(
        isinstance(column, str) and column in columns and isinstance(condition, Mapping)
        for column, condition in model.items())
    return not filtered and _orders(asked.get("sortModel"), columns) in ([], [(columns[first], False)])


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return default
    try:
        return max(0, int(value))
    except (ValueError, OverflowError):
        return default


def _sorted(rows: list[Row], model: Any, columns: Mapping[str, str]) -> list[Row]:
    """Sorted by each column of the model in turn (the first the most significant); a row
    without the value sorts first."""
    for key, descending in reversed(_orders(model, columns)):
        rows = sorted(rows, key=_by(key), reverse=descending)
    return rows


def _orders(model: Any, columns: Mapping[str, str]) -> list[tuple[str, bool]]:
    """The sort model's keys, the first the most significant, each with whether it descends."""
    items = model if isinstance(model, list) else []
    return [(columns[item["colId"]], item.get("sort") == "desc") for item in items
            if isinstance(item, Mapping) and isinstance(item.get("colId"), str) and item["colId"] in columns]


def _by(key: str) -> Callable[[Row], tuple[int, Any]]:
    return lambda row: _sort_key(row.get(key))


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None or value == "":
        return 0, 0
    if isinstance(value, int | float):
        return 1, value
    return 2, str(value).lower()


def _keep(row: Row, model: Any, columns: Mapping[str, str]) -> bool:
    if not isinstance(model, Mapping):
        return True
    for column, condition in model.items():
        key = columns.get(column) if isinstance(column, str) else None
        if key is not None and isinstance(condition, Mapping) and not _matches(row.get(key), condition):
            return False
    return True


def _matches(value: Any, condition: Mapping[str, Any]) -> bool:
    """A column's filter: one condition, or two or more joined by ``operator`` (AND, OR)."""
    parts = condition.get("conditions")
    if isinstance(parts, list):
        tests = [_matches(value, part) for part in parts[:10] if isinstance(part, Mapping)]
        if not tests:
            return True
        return any(tests) if str(condition.get("operator", "AND")).upper() == "OR" else all(tests)
    kind = condition.get("type")
    if kind in ("blank", "notBlank"):
        return (value is None or value == "") == (kind == "blank")
    if condition.get("filterType") == "number":
        return _number(value, str(kind), condition)
    return _text(value, str(kind), condition.get("filter"))


_TEXT: dict[str, Callable[[str, str], bool]] = {
    "contains": lambda have, want: want in have,
    "notContains": lambda have, want: want not in have,
    "equals": lambda have, want: have == want,
    "notEqual": lambda have, want: have != want,
    "startsWith": lambda have, want: have.startswith(want),
    "endsWith": lambda have, want: have.endswith(want),
}


def _text(value: Any, kind: str, wanted: Any) -> bool:
    test = _TEXT.get(kind)
    if test is None or wanted is None:
        return True
    return test(("" if value is None else str(value)).lower(), str(wanted)[:MAX_TEXT].lower())


_NUMBER: dict[str, Callable[[float, float, float], bool]] = {
    "equals": lambda have, want, _: have == want,
    "notEqual": lambda have, want, _: have != want,
    "lessThan": lambda have, want, _: have < want,
    "lessThanOrEqual": lambda have, want, _: have <= want,
    "greaterThan": lambda have, want, _: have > want,
    "greaterThanOrEqual": lambda have, want, _: have >= want,
    "inRange": lambda have, low, high: low <= have <= high,
}


def _number(value: Any, kind: str, condition: Mapping[str, Any]) -> bool:
    test = _NUMBER.get(kind)
    wanted, high = _float(condition.get("filter")), _float(condition.get("filterTo"))
    if test is None or wanted is None:
        return True
    have = _float(value)
    return have is not None and test(have, wanted, high if high is not None else wanted)


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if number == number else None  # NaN matches nothing
