"""Prediction audit logs: one line per decision a served model made, as the ML-versioning
literature recommends keeping them: ``<date>,<model>,<model version>,<feature inputs>,<output>``
(a CSV file with a header, or JSON lines), plus the key of the decision (a customer or request
id). Where each field is comes from the source's field mapping (``fields = { ... }``: timestamp,
model, version, features, output, key); ``features`` names a field holding an object of
feature name -> value (or JSON text of one), or lists columns with commas.

Lineage is kept per model version, not per decision: the reader folds what it reads of a file
into one record per (model, version, day), with how many predictions, the first and the last,
and the names of the features. Feature values, outputs and keys are customer data: they are read
to be dropped, never put in a record. A single decision is read again from the file when asked
for (:func:`prediction_at`, :func:`find_prediction`), by ``lineage explain --prediction``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from crawler.cursors import Start
from crawler.errors import ConfigError
from crawler.registry import FieldMap, Read, SourceSpec, field_at, reader
from crawler.streams import Unreadable, rows_from
from crawler.timestamps import normalize
from parsers import Origin, ParseIssue, SourceRecord

SOURCE_TYPE = "prediction_log"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Prediction:
    """One decision as its log line tells it. Read on demand for the one line asked about; its
    feature values and output are shown to whoever asks, never stored."""

    origin: Origin
    model: str
    version: str | None = None
    timestamp: str | None = None
    key: str | None = None
    features: dict[str, Any] = dataclasses.field(default_factory=dict)
    output: Any = None

    def to_dict(self) -> dict[str, Any]:
        data = {"origin": self.origin.to_dict(), "model": self.model, "version": self.version,
                "timestamp": self.timestamp, "key": self.key, "features": sorted(self.features)}
        return {key: value for key, value in sorted(data.items()) if value not in (None, [])}


@dataclasses.dataclass(slots=True)
class _Stretch:
    """The predictions of one version on one day, in the part of a file one crawl read."""

    origin: Origin
    count: int = 0
    first: str | None = None
    last: str | None = None
    features: set[str] = dataclasses.field(default_factory=set)

    def add(self, prediction: Prediction) -> None:
        self.count += 1
        when = prediction.timestamp
        if when is not None:
            self.first = when if self.first is None else min(self.first, when)
            self.last = when if self.last is None else max(self.last, when)
        self.features.update(prediction.features)


@reader(SOURCE_TYPE)
def read_prediction_log(spec: SourceSpec, path: Path, start: Start) -> Iterator[Read]:
    """What was added to a prediction log since ``start``, folded per (model, version, day). A
    crawl resumes only after the whole part read (the last Read), so each stretch is counted once."""
    where = str(path)
    stretches: dict[tuple[str, str | None, str], _Stretch] = {}
    offset, line = start.offset, start.line
    for row, row_offset, end, number in rows_from(path, start):
        offset, line = end, number
        found = _prediction(spec.fields, row, Origin(path=where, line=number, byte_offset=row_offset))
        if isinstance(found, ParseIssue):
            yield Read(found, end, number, None)
            continue
        day = (found.timestamp or "")[:10]
        stretch = stretches.get((found.model, found.version, day))
        if stretch is None:
            stretch = stretches[(found.model, found.version, day)] = _Stretch(origin=found.origin)
        stretch.add(found)
    for (model, version, day), stretch in sorted(stretches.items(), key=lambda item: item[1].origin.line or 0):
        yield Read(_record(model, version, day, stretch, start.offset), offset, line, None)
    yield Read(None, offset, line)


def _record(model: str, version: str | None, day: str, stretch: _Stretch, chunk: int) -> SourceRecord:
    text = json.dumps({"model": model, "version": version, "day": day, "count": stretch.count,
                       "first": stretch.first, "last": stretch.last, "features": sorted(stretch.features),
                       "chunk": chunk}, sort_keys=True)
    return SourceRecord(source_type=SOURCE_TYPE, text=text, origin=stretch.origin, timestamp=stretch.first)


def _prediction(fields: FieldMap, row: dict[str, Any] | Unreadable | None, origin: Origin) -> Prediction | ParseIssue:
    """The decision a row tells, or why it tells none."""
    if isinstance(row, Unreadable):
        return ParseIssue(code="bad_csv", message=row.reason, origin=origin)
    if row is None:
        return ParseIssue(code="bad_json", message="a prediction line must be a JSON object", origin=origin)
    model = _text(row, fields.model)
    if model is None:
        return ParseIssue(code="missing_model", message=f"no model name in field {fields.model!r}", origin=origin)
    raw_time = field_at(row, fields.timestamp)
    return Prediction(origin=origin, model=model, version=_text(row, fields.version), timestamp=normalize(raw_time),
                      key=_text(row, fields.key), features=_features(fields.features, row),
                      output=field_at(row, fields.output))


def _features(where: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """Feature name -> value: from listed columns, or from one field holding an object."""
    names = [name.strip() for name in where.split(",") if name.strip()]
    if len(names) != 1:
        return {name: field_at(row, name) for name in names}
    value = field_at(row, names[0])
    if isinstance(value, str) and value.lstrip().startswith("{"):
        with contextlib.suppress(json.JSONDecodeError):
            value = json.loads(value)
    if isinstance(value, Mapping):
        return {str(name): item for name, item in value.items()}
    return {} if value is None else {names[0]: value}


def _text(obj: Mapping[str, Any], path: str) -> str | None:
    value = field_at(obj, path)
    return None if value is None or value == "" else str(value)


def prediction_at(spec: SourceSpec, path: Path, line: int) -> Prediction:
    """The decision on ``line`` of a prediction log (its first line, for a CSV record over several)."""
    for row, offset, _end, number in rows_from(path, Start()):
        if number >= line:
            found = _prediction(spec.fields, row, Origin(path=str(path), line=number, byte_offset=offset))
            if isinstance(found, ParseIssue):
                raise ConfigError(f"{path}:{number}: {found.message}")
            return found
    raise ConfigError(f"{path} has no prediction on line {line}")


def find_prediction(spec: SourceSpec, path: Path, key: str, at: str | None = None) -> Prediction:
    """The decision about ``key`` in a prediction log: the one nearest ``at`` (the last one when None)."""
    best: Prediction | None = None
    for row, offset, _end, number in rows_from(path, Start()):
        found = _prediction(spec.fields, row, Origin(path=str(path), line=number, byte_offset=offset))
        if isinstance(found, ParseIssue) or found.key != key:
            continue
        if best is None or at is None or _apart(found.timestamp, at) < _apart(best.timestamp, at):
            best = found
    if best is None:
        raise ConfigError(f"{path} has no prediction with key {key!r} (field {spec.fields.key!r})")
    return best


def _apart(when: str | None, at: str) -> float:
    if when is None:
        return float("inf")
    return abs((dt.datetime.fromisoformat(when) - dt.datetime.fromisoformat(at)).total_seconds())
