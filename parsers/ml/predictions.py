"""Prediction logs, as the prediction_log reader folds them: one record per model version and
day of a log, with how many predictions it made, the first and the last, and the features' names.

Each record says: the serving job of the model (``serving:<model>``) wrote the log, and the
model version served those predictions into it (``Served``: a SERVED edge from the version to the
log, counting them). A run per record, named from the log, the version, the day and where the
crawl started reading, so a crawl read again gives the same runs (stored once).

>>> from parsers import Origin, SourceRecord
>>> text = ('{"chunk": 0, "count": 3, "day": "2026-11-02", "features": ["utilization"], '
...         '"first": "2026-11-02T09:00:00.000Z", "last": "2026-11-02T17:00:00.000Z", '
...         '"model": "credit_limit_model", "version": "2"}')
>>> result = parse_prediction_record(SourceRecord(source_type="prediction_log", text=text,
...                                               origin=Origin(path="/logs/predictions.csv", line=2)))
>>> event = result.events[0]
>>> event.job.name, [d.name for d in event.outputs], event.served[0].count, event.served[0].features
('serving:credit_limit_model', ['/logs/predictions.csv'], 3, ('utilization',))
"""

from __future__ import annotations

import json

from parsers.fingerprint import digest
from parsers.model import (
    Evidence,
    JobRef,
    LineageEvent,
    ModelRef,
    ParseIssue,
    ParseResult,
    RunRef,
    Served,
    SourceRecord,
)
from parsers.naming import file_ref

NAMESPACE = "serving"


def parse_prediction_record(record: SourceRecord) -> ParseResult:
    try:
        data = json.loads(record.text)
        model = ModelRef(name=str(data["model"]), version=data.get("version"))
        count = int(data["count"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        issue = ParseIssue(code="bad_prediction_record", message=f"not a folded prediction record: {error}",
                           origin=record.origin)
        return ParseResult(record_key=record.key(), issues=(issue,))
    log = file_ref(record.origin.path)
    first, last = data.get("first"), data.get("last")
    run = RunRef(run_id="predictions:" + digest("\0".join((record.origin.path, model.name, model.version or "",
                                                           str(data.get("day", "")), str(data.get("chunk", 0))))),
                 started_at=first, facets={"predictions": count, "last_prediction": last,
                                           "model_version": model.version or ""})
    event = LineageEvent(
        job=JobRef(namespace=NAMESPACE, name=f"serving:{model.name}"),
        job_title=f"serving {model.name}",
        statement_kind="PREDICT",
        outputs=(log,),
        dataset_facets={log.qualified: {"kind": "file"}},
        run=run,
        served=(Served(model=model, count=count, first=first, last=last,
                       features=tuple(str(name) for name in data.get("features", ()))),),
        evidence=Evidence(source_type=record.source_type, origin=record.origin, timestamp=first),
    )
    return ParseResult(record_key=record.key(), events=(event,))
