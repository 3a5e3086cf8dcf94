"""OpenLineage events as JSON lines: what OpenLineage's file transport, a Marquez export and the
Spark, Airflow and dbt integrations write (one event an line), and what ``lineage export
--format openlineage`` writes.

A run is told in several events: START, maybe RUNNING and OTHER, then one of COMPLETE, FAIL or
ABORT (https://openlineage.io/docs/spec/run-cycle). Only the end gives (or, failed or aborted,
withholds) lineage; what the events before it said is merged into it (datasets by namespace and
name, facets by name, the later winning), and the run starts at its START. A START whose end is
not read yet waits, in the cursor's state, for a later line or a later crawl of the same file;
at most ``MAX_OPEN_RUNS`` wait (the oldest is dropped, with a warning). A DatasetEvent or
JobEvent (OpenLineage 2) has no run: it is a record of its own, read for its datasets' facets.

Bad lines (not JSON, not an event, longer than ``MAX_EVENT_BYTES``) are issues; the file is read on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from crawler.cursors import Start
from crawler.registry import Item, Read, SourceSpec, reader
from crawler.streams import lines_from
from crawler.timestamps import normalize
from parsers import Origin, ParseIssue, SourceRecord

SOURCE_TYPE = "openlineage"
# A Spark event with its logical plan facet runs to a few megabytes; a line past this is no
# event anyone means to be read (and would be held whole in memory to be parsed).
MAX_EVENT_BYTES = 8 << 20
MAX_OPEN_RUNS = 10_000
_ENDS = {"COMPLETE", "FAIL", "ABORT"}


def sniff(head: bytes) -> bool:
    """A JSON-lines file whose first line is an OpenLineage event."""
    first = head.lstrip().split(b"\n", 1)[0]
    return (first.startswith(b"{") and b'"eventTime"' in first
            and any(key in first for key in (b'"producer"', b'"runId"', b'"schemaURL"')))


@reader(SOURCE_TYPE, sniff=sniff)
def read_openlineage(spec: SourceSpec, path: Path, start: Start) -> Iterator[Read]:
    """A record per run ended (and per DatasetEvent and JobEvent) after ``start``."""
    runs = OpenRuns.from_state(start.state)
    where = str(path)
    for raw, offset, number in lines_from(path, start):
        end = offset + len(raw)
        if raw.strip():
            for item in runs.take(raw, Origin(path=where, line=number, byte_offset=offset)):
                yield Read(item, end, number, None)
        yield Read(None, end, number, runs.to_state)


class OpenRuns:
    """The runs started and not ended yet, by runId: their events merged so far."""

    def __init__(self, pending: dict[str, dict[str, Any]]) -> None:
        self.pending = pending

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> OpenRuns:
        return cls({run: dict(item) for run, item in state.get("open_runs", {}).items()})

    def to_state(self) -> dict[str, Any]:
        return {"open_runs": self.pending} if self.pending else {}

    def take(self, raw: bytes, origin: Origin) -> Iterator[Item]:
        """What one line gives: a record of an ended run or of a static event, an issue, or nothing
        yet (a run going on)."""
        event = _event(raw, origin)
        if isinstance(event, ParseIssue):
            yield event
            return
        if "run" not in event:  # a DatasetEvent or JobEvent
            yield _record(event, origin, None)
            return
        run = event["run"]
        run_id = run.get("runId") if isinstance(run, Mapping) else None
        if not isinstance(run_id, str) or not run_id:
            yield _issue("bad_openlineage", "a RunEvent without run.runId", origin)
            return
        kind = event.get("eventType") or "COMPLETE"  # (optional in the spec: a lone event is the whole run)
        if not isinstance(kind, str):  # (found by fuzzing: an object here raised TypeError out of the crawl)
            yield _issue("bad_openlineage", f"eventType is not a string: {kind!r}"[:200], origin)
            return
        if kind in _ENDS:
            before = self.pending.pop(run_id, None)
            merged = _merge(before["event"], event) if before else event
            yield _record(merged, origin, before["started_at"] if before else None)
        elif kind in ("START", "RUNNING") or run_id in self.pending:
            yield from self._wait(run_id, event, kind, origin)

    def _wait(self, run_id: str, event: dict[str, Any], kind: str, origin: Origin) -> Iterator[Item]:
        before = self.pending.pop(run_id, None)
        started = before["started_at"] if before else None
        if kind == "START" or started is None:
            started = normalize(event.get("eventTime"))
        self.pending[run_id] = {"event": _merge(before["event"], event) if before else event, "started_at": started}
        if len(self.pending) > MAX_OPEN_RUNS:
            oldest = next(iter(self.pending))
            del self.pending[oldest]
            yield _issue("run_never_ended", f"run {oldest} started but no end was read among the next "
                         f"{MAX_OPEN_RUNS} runs: its events are dropped", origin, severity="warning")


def _event(raw: bytes, origin: Origin) -> dict[str, Any] | ParseIssue:
    if len(raw) > MAX_EVENT_BYTES:
        return _issue("event_too_large", f"a line of {len(raw)} bytes (over {MAX_EVENT_BYTES}): skipped", origin)
    try:
        event = json.loads(raw)
    except ValueError as error:  # (UnicodeDecodeError too)
        return _issue("bad_json", f"not JSON: {error}", origin)
    if not isinstance(event, dict) or not any(key in event for key in ("run", "job", "dataset")):
        return _issue("bad_openlineage", "not an OpenLineage event (no run, job or dataset)", origin)
    return event


def _record(event: Mapping[str, Any], origin: Origin, started_at: str | None) -> SourceRecord:
    attributes = {"started_at": started_at} if started_at else {}
    if event.get("eventType") in ("FAIL", "ABORT"):
        attributes["status"] = "failed"  # counted, no lineage (as a failed statement)
    return SourceRecord(source_type=SOURCE_TYPE, text=json.dumps(event, sort_keys=True, ensure_ascii=False),
                        origin=origin, timestamp=normalize(event.get("eventTime")), attributes=attributes)


def _merge(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """A run's events as one: the later's fields win, facets merge by name, datasets by name."""
    merged = {**before, **after}
    for key in ("run", "job"):
        if isinstance(before.get(key), Mapping) and isinstance(after.get(key), Mapping):
            merged[key] = _with_facets(before[key], after[key])
    for key in ("inputs", "outputs"):
        if isinstance(before.get(key), list) and isinstance(after.get(key), list):
            merged[key] = _datasets(before[key], after[key])
    return merged


def _with_facets(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**before, **after}
    for key in ("facets", "inputFacets", "outputFacets"):
        if isinstance(before.get(key), Mapping) and isinstance(after.get(key), Mapping):
            merged[key] = {**before[key], **after[key]}
    return merged


def _datasets(before: list[Any], after: list[Any]) -> list[Any]:
    def key(item: Any) -> Any:
        # (as JSON text: a namespace or name of a wrong type, an object, must not break the merge)
        return json.dumps([item.get("namespace"), item.get("name")] if isinstance(item, Mapping) else item,
                          sort_keys=True, default=str)

    merged: dict[Any, Any] = {key(item): item for item in before}
    for item in after:
        earlier = merged.get(key(item))
        both = isinstance(earlier, Mapping) and isinstance(item, Mapping)
        merged[key(item)] = _with_facets(earlier, item) if both and earlier is not None else item
    return list(merged.values())


def _issue(code: str, message: str, origin: Origin, severity: Literal["error", "warning"] = "error") -> ParseIssue:
    return ParseIssue(code=code, message=message, origin=origin, severity=severity)
