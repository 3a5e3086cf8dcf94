"""Timestamps as logs write them, made comparable: ISO 8601 in UTC, always to the millisecond,
so that text order is time order in every store.

>>> normalize("2024-05-01 02:00:00+02:00")
'2024-05-01T00:00:00.000Z'
>>> normalize(1714521600)
'2024-05-01T00:00:00.000Z'
>>> normalize("2024-05-01T00:00:00") # a naive time is taken as UTC
'2024-05-01T00:00:00.000Z'
>>> normalize("2024-05-01 06:00:00.000 -0800")  # Snowflake's export format
'2024-05-01T14:00:00.000Z'
>>> normalize("2024-05-01 02:00:00.123456+02:00")
'2024-05-01T00:00:00.123Z'
>>> normalize("2024-05-01 02:00:00.5 UTC")
'2024-05-01T02:00:00.500Z'
>>> normalize("yesterday") is None
True
"""

from __future__ import annotations

import datetime as dt
import functools
import re

_OFFSET = re.compile(r"\s?([+-]\d\d)(\d\d)$")  # "... -0800" as Snowflake and MySQL write it
_SPACED_ZONE = re.compile(r"\s(Z|[+-]\d\d(?::\d\d)?)$")  # "... 02:00:00.123 +02:00", "... Z"
_EPOCH_MILLIS_ABOVE = 10**11  # larger epoch numbers are milliseconds (after 1973 in ms)


# "2024-05-01 02:00:00.123456 +02:00": the second, its fraction, and the zone after it.
_SPLIT = re.compile(r"(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)\.(\d{1,9})(\s?(?:UTC|Z|[+-]\d\d(?::?\d\d)?)?)")


# Seconds read before, by the text around a fraction of three digits (the date and time before
# it, the zone after): most log times, looked up without the regular expression.
_SECONDS: dict[str, str] = {}
_SECONDS_MAX = 4096


def normalize(value: object) -> str | None:
    """The canonical form of a timestamp, or None if it cannot be read."""
    if not isinstance(value, str):
        return _normalize(value)
    milliseconds = len(value) >= 23 and value[19] == "." and value[20:23].isdigit() and not value[23:24].isdigit()
    if milliseconds:
        second = _SECONDS.get(around := value[:19] + value[23:])
        if second is not None:
            return f"{second}{value[20:23]}Z"
    if (parts := _SPLIT.fullmatch(value)) is not None:
        # A log writes the same second many times over: convert the second once, keep the fraction.
        second = _second(parts[1] + parts[3])
        if second is None:
            return None
        if milliseconds:
            if len(_SECONDS) >= _SECONDS_MAX:
                _SECONDS.clear()
            _SECONDS[around] = second
        return f"{second}{(parts[2] + '00')[:3]}Z"
    return _normalize(value)


@functools.lru_cache(maxsize=4096)
def _second(text: str) -> str | None:
    """The canonical form of a whole second, up to the fraction's dot."""
    normal = _normalize(text)
    return None if normal is None else normal[:-4]


def _normalize(value: object) -> str | None:
    moment = _parse(value)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse(value: object) -> dt.datetime | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > _EPOCH_MILLIS_ABOVE else value
        try:
            return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):  # 1e300, NaN: not a time
            return None
    if isinstance(value, str):
        text = value.strip()
        if text.replace(".", "", 1).isdigit():
            return _parse(float(text))
        text = _OFFSET.sub(r"\1:\2", _SPACED_ZONE.sub(r"\1", text.replace(" UTC", "+00:00")))
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            return None
    return None


def from_epoch(seconds: float) -> str:
    """A file's modification time, in the canonical form."""
    return normalize(seconds) or ""
