"""Query-log crawl benchmark (issue 4): a generated PostgreSQL csvlog of N statements drawn
from a few hundred templates with varying literals, crawled end to end (read, parse, write)
into the embedded store by `lineage crawl`, next to the time openlineage-sql and sqllineage
take to parse the same statements (parse only; sqllineage sampled and extrapolated), and the
bound `least_work` sets: what the least a crawl in Python does per statement costs.

    python bench/querylog_bench.py [--statements 1000000] [--templates 300] [--files 8 --workers 2]

With ``--files N`` the log is rotated into N files (PostgreSQL's own rotation: one file per hour,
``postgresql-2026-11-25_HH0000.csv``) and crawled with ``--workers 1`` and ``--workers W`` (the
cores by default): the speed-up, and the peak memory of the crawl's processes together. Next to
it, the speed-up's bound on this machine: W crawls of ``--workers 1`` at once, each of every W-th
file into a store of its own (no hand-over, no order, no writer shared: what W processes on these
cores make of the same work at best; their stores are not one crawl's).

A shared virtual machine's pace drifts by 10-20% from minute to minute, so that two crawls timed
one after the other may meet different machines. With ``--rounds R`` (3 with ``--files``) each
round crawls with one worker, then with W, then times openlineage-sql on the sample, and each
ratio is taken within its round; the report gives every round and the median of each ratio.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import hashlib
import importlib.util
import json
import os
import random
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import peers
from outputs import write_results

SCHEMAS = ("raw", "staging", "features", "ml", "reporting")
USERS = ("etl_nightly", "svc_limits", "svc_ingest", "ana_risk", "ds_maria", "svc_reports")


def templates(count: int, seed: int = 3) -> list[str]:
    """SQL templates with {n}/{s}/{d} literal slots, shaped like an application's queries."""
    rng = random.Random(seed)
    tables = [f"{schema}.t{index}" for schema in SCHEMAS for index in range(30)]
    shapes = [
        "SELECT a, b, c FROM {t1} WHERE id = {n} AND status = '{s}'",
        "SELECT x.a, y.b FROM {t1} x JOIN {t2} y ON x.id = y.id WHERE x.day >= '{d}' AND y.k IN ({n}, {n}, {n})",
        "INSERT INTO {t1} (id, a, b) VALUES ({n}, '{s}', {n})",
        "INSERT INTO {t1} SELECT * FROM {t2} WHERE updated_at > '{d}'",
        "UPDATE {t1} SET a = '{s}', b = {n} WHERE id = {n}",
        "UPDATE {t1} t SET score = s.score FROM {t2} s WHERE s.id = t.id AND s.day = '{d}'",
        "DELETE FROM {t1} WHERE created_at < '{d}'",
        "WITH recent AS (SELECT * FROM {t2} WHERE day = '{d}') INSERT INTO {t1} SELECT r.* FROM recent r "
        "JOIN {t3} z USING (id) WHERE z.flag = {n}",
        "SELECT count(*), avg(v) FROM {t1} WHERE k = '{s}' GROUP BY g HAVING count(*) > {n}",
    ]
    found = []
    for _ in range(count):
        t1, t2, t3 = rng.sample(tables, 3)
        found.append(rng.choice(shapes).replace("{t1}", t1).replace("{t2}", t2).replace("{t3}", t3))
    return found


def generate(path: Path, statements: int, template_count: int, seed: int = 5, files: int = 1) -> list[str]:
    """Write the csvlog (``files`` > 1: a directory of its rotated files); returns a sample of
    the statements (every 10th) for the peers."""
    rng = random.Random(seed)
    shapes = templates(template_count)
    weights = [1 / (rank + 1) for rank in range(len(shapes))]  # a few templates dominate, as in real logs
    sample: list[str] = []
    if files > 1:
        path.mkdir()
    for part in range(files):
        first, last = statements * part // files, statements * (part + 1) // files
        target = path / f"postgresql-2026-11-25_{part:02d}0000.csv" if files > 1 else path
        sample += _write_part(target, rng, shapes, weights, range(first, last))
        an_hour_ago = time.time() - 3600  # rotated away: no longer written to
        os.utime(target, (an_hour_ago, an_hour_ago))
    return sample


def _write_part(path: Path, rng: random.Random, shapes: list[str], weights: list[float],
                numbers: range) -> list[str]:
    sample = []
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        for number in numbers:
            template = rng.choices(shapes, weights)[0]
            sql = template.format(n=rng.randint(1, 10**6), s=f"v{rng.randint(1, 999)}",
                                  d=f"2026-11-{rng.randint(1, 28):02d}")
            session = number % 64
            second = number // 50
            clock = f"{second // 3600 % 24:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
            stamp = f"2026-11-25 {clock}.{number % 1000:03d} UTC"
            writer.writerow([stamp, USERS[session % len(USERS)], "credit", 4000 + session, "127.0.0.1:5000",
                             f"6b08{session:04x}.{4000 + session:x}", number, "idle", "2026-11-25 00:00:00 UTC",
                             f"{session}/1", 0, "LOG", "00000", f"statement: {sql}", "", "", "", "", "", "", "",
                             "", f"app{session % 5}", "client backend", "", "0"])
            if number % 10 == 0:
                sample.append(sql)
    return sample


def crawl(path: Path, store: Path, workers: int | None = None, options: tuple[str, ...] = ()) -> dict[str, Any]:
    """`lineage crawl` of ``path`` in a process of its own (with ``workers``, or other ``options``)."""
    start = time.perf_counter()
    extra = [*(["--workers", str(workers)] if workers is not None else []), *options]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen([sys.executable, "-m", "crawler", "crawl", str(path), "--store", f"sqlite:///{store}",
                                    "--namespace", "postgres://bench:5432", "--json", *extra], stdout=out, stderr=err,
                                   text=True)
        together = _TreeMemory(process.pid)
        returncode = process.wait()
        together.stop()
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if returncode != 0:
            raise SystemExit(f"crawl failed: {err.read()[-2000:]}")
        report = json.loads(out.read())
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(peak), "peak_rss_together_mb": round(together.peak),
            "records": report["records"], "events": report["events"], "timings": report["timings"],
            "graph": report["graph"]}


class _TreeMemory:
    """The peak of the resident memory of a process and its descendants together, sampled."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        self.pid, self.every, self.peak = pid, every, 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._done.wait(self.every):
            self.peak = max(self.peak, sum(_rss_mb(pid) for pid in _tree(self.pid)))


def _tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += parents.get(pid, [])
    return found


def _rss_mb(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, IndexError, ValueError):
        return 0.0


# Literals as the bound below finds them: '...' strings and numbers standing alone.
_LITERALS = re.compile(r"'(?:[^']|'')*'|(?<![\w.$])\d+(?:\.\d+)?(?![\w.])")
_RUN = "INSERT OR IGNORE INTO runs VALUES (?, ?, ?, ?, ?, ?)"


class LeanCrawl:
    """A bound, not a crawler: the least a crawl in Python does with each statement of this log
    for what the issue asks, in one loop with nothing to spare. Read the csvlog with each record's
    byte offset; hold a session's statement until its next entry tells how it ended (an ERROR
    fails it, BEGIN ... COMMIT or ROLLBACK settle a transaction's); give the time a canonical form
    (once per second); key the template by one regular expression (its tables as if cached); store
    a run row (id digest, template, time, user, status); count usage per (table, user) and each
    edge's uses, first and last time, with a sample of five evidence items. Left out, which the
    real crawl also does: multi-line records, time zones, column edges, temporary tables,
    defaults, filters, cursors and their state, issues, node and edge rows in the store."""

    def __init__(self, path: Path, store: Path) -> None:
        self.path = str(path)
        self.db = sqlite3.connect(store)
        self.db.execute("CREATE TABLE runs (id TEXT PRIMARY KEY, job TEXT, at TEXT, user TEXT, status TEXT, "
                        "kind TEXT)")
        self.templates: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.usage: dict[tuple[str, str], list[Any]] = {}
        self.edges: dict[tuple[str, str], list[Any]] = {}
        self.runs: list[tuple[str, str, str, str, str, str]] = []

    def settle(self, sql: str, at: str, user: str, offset: int, status: str) -> None:
        key = " ".join(_LITERALS.sub("?", sql).split())
        template = self.templates.get(key)
        if template is None:
            template = self.templates[key] = (hashlib.blake2b(key.encode(), digest_size=8).hexdigest(), ("in", "out"))
        job, tables = template
        # (ids as the store's: 8-byte digests in hex, so the run table's index is as large as ours)
        run = hashlib.blake2b(f"{self.path}\0{offset}\0{sql}".encode(), digest_size=8).hexdigest()
        self.runs.append((run, job, at, user, status, "SQL"))
        for table in tables:
            use = self.usage.get((table, user))
            if use is None:
                self.usage[(table, user)] = [1, at, at]
            else:
                use[0], use[2] = use[0] + 1, at
            edge = self.edges.get((table, job))
            if edge is None:
                self.edges[(table, job)] = [1, at, at, [(self.path, offset, at)]]
            else:
                edge[0], edge[2] = edge[0] + 1, at
                if len(edge[3]) < 5:
                    edge[3].append((self.path, offset, at))
        if len(self.runs) >= 20_000:
            self.flush()

    def flush(self) -> None:
        with self.db:
            self.db.executemany(_RUN, self.runs)
        self.runs.clear()

    def crawl(self) -> None:
        last: dict[str, tuple[str, str, str, int]] = {}
        work: dict[str, list[tuple[str, str, str, int]]] = {}
        seconds: dict[str, str] = {}
        offsets = [0]

        def lines(stream: Any) -> Any:
            for raw in stream:
                offsets[0] += len(raw)
                yield raw.decode("utf-8", "replace")

        with open(self.path, "rb") as stream:
            for row in csv.reader(lines(stream)):
                stamp = row[0]
                second = seconds.get(stamp[:19]) or seconds.setdefault(stamp[:19], stamp[:19].replace(" ", "T"))
                at, session, severity, message = f"{second}.{stamp[20:23]}Z", row[5], row[11], row[13]
                before = last.pop(session, None)
                if before is not None and severity == "ERROR":
                    self.settle(*before, "failed")
                    continue
                if before is not None:
                    (work[session].append(before) if session in work else self.settle(*before, "completed"))
                if severity != "LOG" or not message.startswith("statement: "):
                    continue
                sql = message[11:]
                word = sql[:8].lower()
                if word.startswith(("begin", "start")):
                    work[session] = []
                elif word.startswith(("commit", "rollback")):
                    for held in work.pop(session, []):
                        self.settle(*held, "completed" if word.startswith("commit") else "rolled_back")
                else:
                    last[session] = (sql, at, row[1], offsets[0])
        for held in last.values():
            self.settle(*held, "completed")
        self.flush()
        self.db.close()


def least_work(path: Path, store: Path) -> float:
    """Seconds the lean loop above takes over the log."""
    start = time.perf_counter()
    LeanCrawl(path, store).crawl()
    return time.perf_counter() - start


def openlineage_parse(statements: list[str]) -> float | None:
    return _timed(peers.openlineage_tables, statements, "openlineage_sql")


def sqllineage_parse(statements: list[str]) -> float | None:
    return _timed(peers.sqllineage_tables, statements, "sqllineage")


def _timed(parse: Callable[[str, str], bool], statements: list[str], module: str) -> float | None:
    """Seconds a peer takes over ``statements`` (None when it is not installed)."""
    if importlib.util.find_spec(module) is None:
        return None
    parse("SELECT a FROM b", "postgres")  # the first call loads grammars: not the per-statement cost scaled up
    start = time.perf_counter()
    for sql in statements:
        parse(sql, "postgres")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statements", type=int, default=1_000_000)
    parser.add_argument("--templates", type=int, default=300)
    parser.add_argument("--sqllineage-sample", type=int, default=300)
    parser.add_argument("--files", type=int, default=1, help="rotate the log into this many files")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="with --files: the workers of the second crawl (the first has one)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="crawls (and openlineage-sql timings) alternated this many times (3 with --files, else 1)")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.files > 1 else 1)
    warnings.simplefilter("ignore")
    n = args.statements
    timed: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / ("logs" if args.files > 1 else "postgresql.csv")
        sample = generate(log, n, args.templates, files=args.files)
        scale = n / len(sample)
        parts = sorted(log.iterdir()) if args.files > 1 else [log]
        megabytes = sum(part.stat().st_size for part in parts) / 2**20
        for number in range(rounds):
            store = Path(scratch) / f"round-{number}"
            store.mkdir()
            one = crawl(log, store / "lineage.db", workers=1 if args.files > 1 else None)
            both = crawl(log, store / "parallel.db", workers=args.workers) if args.files > 1 else None
            apart = crawl_apart(parts, args.workers, store) if args.files > 1 else None
            openlineage = openlineage_parse(sample)
            scaled = round(openlineage * scale, 1) if openlineage is not None else None
            timed.append({"ours": one, "parallel": both, "apart_s": apart, "openlineage_sql_parse_s": scaled})
            shutil.rmtree(store)
            print(f"  round {number + 1}: {_round_line(timed[-1])}", flush=True)
        least = sum(least_work(part, Path(scratch) / f"least-{number}.db") for number, part in enumerate(parts))
    sqllineage = sqllineage_parse(sample[: args.sqllineage_sample])
    ours = _median_round(timed, "ours")
    results = {
        "statements": n, "templates": args.templates, "log_mb": round(megabytes, 1), "rounds": timed, "ours": ours,
        "ours_statements_per_s": round(n / ours["seconds"]), "ours_mb_per_s": round(megabytes / ours["seconds"], 1),
        "least_work_s": round(least, 1), "least_work_statements_per_s": round(n / least),
        "openlineage_sql_parse_s": statistics.median(r["openlineage_sql_parse_s"] for r in timed)
        if timed[0]["openlineage_sql_parse_s"] is not None else None,
        "sqllineage_parse_s": round(sqllineage * n / args.sqllineage_sample, 1) if sqllineage is not None else None,
    }
    if args.files > 1:
        results.update(files=args.files, workers=args.workers, parallel=_median_round(timed, "parallel"),
                       parallel_speedup=round(statistics.median(_speedup(r) for r in timed), 2),
                       apart_s=statistics.median(r["apart_s"] for r in timed),
                       apart_speedup=round(statistics.median(_speedup(r, "apart") for r in timed), 2),
                       of_apart=round(statistics.median(_speedup(r) / _speedup(r, "apart") for r in timed), 2))
        if results["openlineage_sql_parse_s"] is not None:
            results["parallel_vs_openlineage"] = round(statistics.median(_of_openlineage(r) for r in timed), 2)
    print(report(results))
    write_results("querylog.json" if args.files == 1 else "querylog_parallel.json", results)


def crawl_apart(parts: list[Path], workers: int, scratch: Path) -> float:
    """Seconds ``workers`` crawls of ``--workers 1`` take at once, each of every ``workers``-th
    of the ``parts`` (linked into a folder of its own) into a store of its own."""
    shares = []
    for number in range(workers):
        share = scratch / f"apart-{number}"
        share.mkdir()
        for part in parts[number::workers]:
            (share / part.name).symlink_to(part)
        shares.append(share)
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(workers) as crawls:
        list(crawls.map(lambda share: crawl(share, share / "lineage.db", workers=1), shares))
    return round(time.perf_counter() - start, 1)


def _speedup(timed: dict[str, Any], how: str = "parallel") -> float:
    """``--workers 1``'s time over ``--workers W``'s, or over W crawls' apart (``how``)."""
    return float(timed["ours"]["seconds"] / (timed["apart_s"] if how == "apart" else timed["parallel"]["seconds"]))


def _of_openlineage(timed: dict[str, Any]) -> float:
    """How many times openlineage-sql's parse-alone time the fastest crawl of a round took."""
    fastest = (timed["parallel"] or timed["ours"])["seconds"]
    return float(timed["openlineage_sql_parse_s"] / fastest)


def _median_round(timed: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The crawl (``ours`` or ``parallel``) of median time over the rounds, with the highest peak memory of any."""
    crawls = sorted((r[key] for r in timed), key=lambda found: found["seconds"])
    median = dict(crawls[(len(crawls) - 1) // 2])
    for peak in ("peak_rss_mb", "peak_rss_together_mb"):
        median[peak] = max(found[peak] for found in crawls)
    return median


def _round_line(timed: dict[str, Any]) -> str:
    line = f"--workers 1 {timed['ours']['seconds']} s"
    if timed["parallel"] is not None:
        line += (f", --workers N {timed['parallel']['seconds']} s ({_speedup(timed):.2f}x; "
                 f"apart {timed['apart_s']} s, {_speedup(timed, 'apart'):.2f}x)")
    if timed["openlineage_sql_parse_s"] is not None:
        line += (f", openlineage-sql {timed['openlineage_sql_parse_s']} s "
                 f"(ours {_of_openlineage(timed):.2f}x of its pace)")
    return line


def report(r: dict[str, Any]) -> str:
    ours = r["ours"]
    lines = [
        f"PostgreSQL csvlog: {r['statements']:,} statements from {r['templates']} templates, {r['log_mb']} MB",
        f"  lineage-crawler, end to end (read, parse, store): {ours['seconds']} s, "
        f"{r['ours_statements_per_s']:,} statements/s, {r['ours_mb_per_s']} MB/s, peak RSS {ours['peak_rss_mb']} MB",
    ]
    if len(r["rounds"]) > 1:
        lines.append(f"  (the median of {len(r['rounds'])} rounds, each ratio taken within its round)")
    fastest = ours["seconds"]
    if r.get("parallel") is not None:
        both = r["parallel"]
        fastest = both["seconds"]
        lines[0] += f", in {r['files']} rotated files"
        lines.append(f"  lineage-crawler --workers {r['workers']}: {both['seconds']} s, "
                     f"{round(r['statements'] / both['seconds']):,} statements/s: "
                     f"{r['parallel_speedup']}x --workers 1; "
                     f"peak RSS of its processes together {both['peak_rss_together_mb']} MB "
                     f"(--workers 1: {ours['peak_rss_together_mb']} MB)")
        lines.append(f"  its bound here, {r['workers']} crawls of --workers 1 at once on 1/{r['workers']} of the files "
                     f"each (stores of their own): {r['apart_s']} s, {r['apart_speedup']}x --workers 1; "
                     f"--workers {r['workers']} makes {r['of_apart']:.0%} of it")
    lines.append(f"  bound: the least a crawl in Python does (bench's LeanCrawl: sessions, outcomes, runs, usage): "
                 f"{r['least_work_s']} s, {r['least_work_statements_per_s']:,} statements/s")
    for name, key, how in (("openlineage-sql 1.x, parse only", "openlineage_sql_parse_s", "every 10th statement"),
                           ("sqllineage, parse only", "sqllineage_parse_s", "a sample")):
        if r[key] is None:
            lines.append(f"  {name}: not installed")
        else:
            ratio = r.get("parallel_vs_openlineage") if key == "openlineage_sql_parse_s" else None
            lines.append(f"  {name}: {r[key]:,} s (timed on {how}, scaled)   "
                         f"-> lineage-crawler is {ratio or r[key] / fastest:.2f}x faster; the bound "
                         f"{r[key] / r['least_work_s']:.2f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
