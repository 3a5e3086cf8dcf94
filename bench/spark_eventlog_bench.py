"""Spark event-log benchmark (issue 14): read and parse a large event log, in MB/s of
decompressed log per core, with peak memory, next to the bound: the plain `json.loads` of every
line, and the floor: reading the lines and doing nothing with them.

The log is made from a real one (a fixture written by PySpark): its application, environment
and SQL execution events once, then its jobs, stages, tasks and SQL executions repeated with
fresh ids until the size is reached. Most of a real log's bytes are task events, as here.

    python bench/spark_eventlog_bench.py [--size-mb 1024] [--source fixtures/spark/...]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import zstandard

ROOT = Path(__file__).resolve().parent.parent
_HEADER = ("SparkListenerLogStart", "SparkListenerResourceProfileAdded", "SparkListenerExecutorAdded",
           "SparkListenerBlockManagerAdded", "SparkListenerEnvironmentUpdate", "SparkListenerApplicationStart")
_IDS = re.compile(rb'"(executionId|rootExecutionId|Job ID|Stage ID|Task ID|spark\.sql\.execution\.id)":"?(\d+)')


def source_log() -> Path:
    """The largest single-file event log among the fixtures (plain or zstd)."""
    logs = [path for path in (ROOT / "fixtures" / "spark").rglob("*") if path.is_file()
            and (path.name.startswith(("local-", "app-", "events_")))]
    if not logs:
        raise SystemExit("no Spark event logs under fixtures/spark (run fixtures/spark/make_eventlogs.py)")
    return max(logs, key=lambda path: path.stat().st_size)


def lines_of(path: Path) -> list[bytes]:
    data = path.read_bytes()
    if path.suffix in (".zstd", ".zst"):
        data = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True).read()
    return [line + b"\n" for line in data.split(b"\n") if line]


def make_log(target: Path, source: Path, size: int, tasks: int = 1) -> int:
    """Write a log of about ``size`` bytes from the events of ``source``, each task event
    repeated ``tasks`` times (a stage of that many tasks); return its size."""
    lines = lines_of(source)
    header = [line for line in lines if json.loads(line)["Event"] in _HEADER]
    body = []
    for line in lines:
        if line in header or b"SparkListenerApplicationEnd" in line:
            continue
        is_task = line.startswith((b'{"Event":"SparkListenerTaskStart"', b'{"Event":"SparkListenerTaskEnd"'))
        body.extend([line] * (tasks if is_task else 1))
    written, round_ = 0, 0
    with target.open("wb") as out:
        for line in header:
            out.write(line)
            written += len(line)
        while written < size:
            shift = round_ * 100_000
            block = [_IDS.sub(lambda m, s=shift: m[0][:m.start(2) - m.start(0)] + str(int(m[2]) + s).encode(), line)
                     for line in body]
            for line in block:
                out.write(line)
                written += len(line)
            round_ += 1
        out.write(b'{"Event":"SparkListenerApplicationEnd","Timestamp":1700000000000}\n')
    return target.stat().st_size


MEASURE = r"""
import json, resource, sys, time
from pathlib import Path
mode, path = sys.argv[1], Path(sys.argv[2])
started = time.perf_counter()
records = 0
if mode == "ours":
    import crawler  # noqa: F401  (registers the readers)
    import parsers
    from crawler.cursors import Start
    from crawler.registry import SourceSpec, read
    from parsers import SourceRecord
    for item in read(SourceSpec(path=str(path)), path, "spark_eventlog", Start()):
        if isinstance(item.item, SourceRecord):
            records += len(parsers.parse(item.item).events)
elif mode == "json":
    with path.open("rb") as stream:
        for line in stream:
            records += len(json.loads(line))
else:
    with path.open("rb") as stream:
        for line in stream:
            records += 1
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "records": records,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(mode: str, path: Path) -> dict[str, float]:
    """One pass in a fresh process (its own peak memory), one core."""
    done = subprocess.run([sys.executable, "-c", MEASURE, mode, str(path)], check=True, capture_output=True,
                          text=True, cwd=ROOT)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--source", type=Path, help="a real event log to grow the big one from")
    parser.add_argument("--tasks", type=int, nargs="+", default=[1, 200],
                        help="task events per task of the source: 1 keeps the source's mix (a local job: a task "
                             "or two per stage, so SQL events weigh most), 200 is a stage of Spark's default "
                             "200 shuffle partitions")
    args = parser.parse_args()
    source = args.source or source_log()
    for tasks in args.tasks:
        with tempfile.TemporaryDirectory() as folder:
            log = Path(folder) / "local-1700000000000"
            size = make_log(log, source, args.size_mb * 2**20, tasks)
            megabytes = size / 1e6
            print(f"\nevent log: {megabytes:,.0f} MB grown from {source}, each task event x{tasks}")
            results = {mode: measure(mode, log) for mode in ("lines", "json", "ours")}
        report(results, megabytes)


def report(results: dict[str, dict[str, float]], megabytes: float) -> None:
    print(f"{'pass':<34} {'seconds':>8} {'MB/s':>8} {'peak MB':>8}")
    names = {"lines": "floor: read lines, nothing else", "json": "bound: json.loads every line",
             "ours": "lineage crawler: read + parse"}
    for mode, result in results.items():
        print(f"{names[mode]:<34} {result['seconds']:>8.2f} {megabytes / result['seconds']:>8.1f} "
              f"{result['peak_mb']:>8.0f}")
    ours, bound = results["ours"]["seconds"], results["json"]["seconds"]
    print(f"ours / json.loads bound: {bound / ours:.2f}x the speed; "
          f"{megabytes / ours:.0f} MB/s on one core (goal: >= 50 MB/s); {int(results['ours']['records'])} events")


if __name__ == "__main__":
    main()
    sys.exit(0)
