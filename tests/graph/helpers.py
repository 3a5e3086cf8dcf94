from __future__ import annotations

from parsers import DatasetRef, Evidence, JobRef, LineageEvent, Origin, RunRef

NS = "postgres://warehouse:5432"


def ds(name: str) -> DatasetRef:
    return DatasetRef(namespace=NS, name=name)


def event(job: str, inputs: list[str], outputs: list[str], *, run: str, when: str = "2026-11-25T06:00:00.000Z",
          user: str | None = "svc", line: int = 1) -> LineageEvent:
    return LineageEvent(
        job=JobRef(namespace=NS, name=job),
        job_title=f"INSERT {', '.join(outputs)}" if outputs else f"SELECT {', '.join(inputs)}",
        statement_kind="INSERT" if outputs else "SELECT",
        inputs=tuple(ds(n) for n in inputs),
        outputs=tuple(ds(n) for n in outputs),
        run=RunRef(run_id=run, started_at=when, user=user),
        evidence=Evidence(source_type="sql_trace", origin=Origin(path="/logs/q.jsonl", line=line),
                          timestamp=when, fingerprint=job, sql=f"-- {job}"),
    )
