"""The Spark crawl engine against the local one (issue 19): the query log of
``bench/querylog_bench.py`` rotated into N files, crawled end to end with ``--workers 1``,
``--workers 2`` and ``--engine spark --spark-master MASTER``, each in a process of its own.

    python bench/spark_engine_bench.py [--statements 1000000] [--files 8] [--master local[2]]

Measured: the speed-ups; Spark's fixed start-up cost (the same crawl of a log of a few statements
a file on both engines: the JVM, the session, a job per file); and, from the Spark crawl's own
timings, the parse time its tasks took (which N executors divide) and the write time the driver
took (which no executor count divides). From those, what the numbers imply on N executors: the
crawl time c + S * max(p / N, w) for S statements (c: start-up, p: parse per statement on one
task slot, w: the driver's write per statement, at the local engine's pace, the driver having
its host to itself), and the log size from which it beats the local engine's --workers 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from outputs import write_results  # noqa: E402
from querylog_bench import crawl, generate  # noqa: E402

EXECUTORS = (2, 8, 32, 128)
TINY = 10  # statements a file, for the start-up cost


def measure(statements: int, files: int, master: str, templates: int) -> dict[str, Any]:
    spark = ("--engine", "spark", "--spark-master", master)
    load = round(os.getloadavg()[0], 1)  # (other work on the machine slows every run)
    with tempfile.TemporaryDirectory() as scratch:
        tiny, log = Path(scratch) / "tiny", Path(scratch) / "logs"
        generate(tiny, TINY * files, templates, files=files)
        generate(log, statements, templates, files=files)
        megabytes = sum(part.stat().st_size for part in log.iterdir()) / 2**20
        runs = {
            "tiny_local": crawl(tiny, Path(scratch) / "tiny-local.db", workers=1),
            "tiny_spark": crawl(tiny, Path(scratch) / "tiny-spark.db", options=spark),
            "local_1": crawl(log, Path(scratch) / "local-1.db", workers=1),
            "local_2": crawl(log, Path(scratch) / "local-2.db", workers=2),
            "spark": crawl(log, Path(scratch) / "spark.db", options=spark),
        }
    if runs["spark"]["graph"] != runs["local_1"]["graph"]:
        raise SystemExit(f"the engines' graphs differ: {runs['spark']['graph']} vs {runs['local_1']['graph']}")
    return {"statements": statements, "files": files, "master": master, "log_mb": round(megabytes, 1),
            "cores": os.cpu_count(), "load_before": load, "load_after": round(os.getloadavg()[0], 1), **runs}


def implied(r: dict[str, Any]) -> dict[str, Any]:
    """Start-up, per-statement costs, and what they imply for N executors."""
    n = r["statements"]
    startup = max(0.0, r["tiny_spark"]["seconds"] - r["tiny_local"]["seconds"])
    timings = r["spark"]["timings"]
    parse = (timings.get("read_parse", 0.0) + timings.get("read_parse_again", 0.0)) / n  # on one task slot
    write = timings.get("write", 0.0) / n  # on the driver, serial, sharing the cores with the tasks here
    # On a cluster the driver has its host to itself: it writes at the local engine's pace.
    alone = r["local_1"]["timings"].get("write", 0.0) / n
    local = r["local_1"]["seconds"] / n
    projected = {}
    for executors in EXECUTORS:
        pace = max(parse / executors, alone)
        projected[executors] = {
            "seconds_per_million": round(startup + 1e6 * pace, 1),
            "speedup_vs_workers_1": round(local / pace, 2),
            "pays_off_from_statements": round(startup / (local - pace)) if local > pace else None,
        }
    measured_pace = (r["spark"]["seconds"] - startup) / n
    return {
        "speedup_vs_workers_1": round(r["local_1"]["seconds"] / r["spark"]["seconds"], 2),
        "speedup_vs_workers_2": round(r["local_2"]["seconds"] / r["spark"]["seconds"], 2),
        "workers_2_vs_workers_1": round(r["local_1"]["seconds"] / r["local_2"]["seconds"], 2),
        "startup_s": round(startup, 1),
        "parse_us_per_statement": round(parse * 1e6, 1),
        "write_us_per_statement": round(write * 1e6, 1),
        "local_us_per_statement": round(local * 1e6, 1),
        "mb_per_million_statements": round(r["log_mb"] * 1e6 / n),
        "pays_off_here_from_statements": round(startup / (local - measured_pace)) if local > measured_pace else None,
        "driver_alone_write_us_per_statement": round(alone * 1e6, 1),
        "ceiling_speedup": round(local / alone, 2) if alone else None,
        "executors": projected,
    }


def report(r: dict[str, Any], x: dict[str, Any]) -> str:
    mb = x["mb_per_million_statements"] / 1e6

    def size(statements: int | None) -> str:
        return "no size (its pace, past start-up, is no faster than --workers 1's)" if statements is None else \
            f"{statements:,} statements ({statements * mb:,.0f} MB)"

    lines = [
        f"PostgreSQL csvlog: {r['statements']:,} statements, {r['log_mb']} MB, in {r['files']} rotated files "
        f"(load average {r['load_before']} before, {r['load_after']} after, on {r['cores']} cores)",
        f"  local engine --workers 1: {r['local_1']['seconds']} s",
        f"  local engine --workers 2: {r['local_2']['seconds']} s ({x['workers_2_vs_workers_1']}x --workers 1)",
        f"  --engine spark --spark-master {r['master']}: {r['spark']['seconds']} s: "
        f"{x['speedup_vs_workers_1']}x --workers 1, {x['speedup_vs_workers_2']}x --workers 2",
        f"  Spark's fixed start-up cost: {x['startup_s']} s ({r['tiny_spark']['seconds']} s vs "
        f"{r['tiny_local']['seconds']} s for {r['files']} files of {TINY} statements)",
        f"  per statement: parse {x['parse_us_per_statement']} us on one task slot, the driver's write "
        f"{x['write_us_per_statement']} us, a --workers 1 crawl {x['local_us_per_statement']} us in all",
        f"  pays off here ({r['master']}) from {size(x['pays_off_here_from_statements'])}",
        f"  ceiling on any cluster (the driver writes alone, at --workers 1's write pace, "
        f"{x['driver_alone_write_us_per_statement']} us): {x['ceiling_speedup']}x --workers 1",
    ]
    for executors, p in x["executors"].items():
        lines.append(f"  implied on {executors} task slots: {p['seconds_per_million']} s per 1M statements, "
                     f"{p['speedup_vs_workers_1']}x --workers 1 past start-up; pays off from "
                     f"{size(p['pays_off_from_statements'])}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statements", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--templates", type=int, default=300)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    results = measure(args.statements, args.files, args.master, args.templates)
    derived = implied(results)
    print(report(results, derived))
    write_results("spark_engine.json", {**results, "implied": derived})


if __name__ == "__main__":
    main()
