"""Graph store benchmark (issue 5): ingest rate and impact-query latency on a generated graph
with a warehouse's shape, on the embedded store and on Neo4j, in one run.

    python bench/graph_bench.py [--edges 1000000] [--neo4j URL] [--queries 40]

The graph: raw tables at the bottom, layers of jobs above, each job reading a few tables
(mostly from the layer below, sometimes from hubs: a handful of core tables read by thousands
of jobs) and writing one; chains run 12 layers deep. Edges counted are READS + WRITES + FEEDS.
Impact roots: hub, a core raw table; mid, a table of layer 6; leaf, a table of the top layer,
which no job reads (nothing downstream: the cost of asking).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from outputs import write_results  # noqa: E402

import graph  # noqa: E402
from graph.batch import Batch  # noqa: E402
from graph.lineage import impact, lineage  # noqa: E402

LAYERS = 12
HUBS = 40
NAMESPACE = "postgres://bench:5432"
WHEN = "2026-11-25T00:00:00.000Z"
PAGE = 50


def shape(target_edges: int, seed: int = 7) -> tuple[list[list[str]], list[tuple[str, list[str], str]]]:
    """Datasets per layer and jobs as (job, inputs, output); about ``target_edges`` edges."""
    rng = random.Random(seed)
    # A job with k inputs gives k READS + 1 WRITES + k FEEDS edges; k averages about 2.5.
    jobs_wanted = int(target_edges / 6.0)
    per_layer = max(1, jobs_wanted // LAYERS)
    layers: list[list[str]] = [[f"raw.t{i}" for i in range(per_layer)]]
    hubs = layers[0][:HUBS]
    jobs = []
    for depth in range(1, LAYERS + 1):
        layer = []
        for index in range(per_layer):
            output = f"l{depth}.t{index}"
            k = min(1 + int(rng.paretovariate(1.6)), 12)
            inputs = {rng.choice(layers[depth - 1]) for _ in range(k)}
            if rng.random() < 0.3:
                inputs.add(rng.choice(hubs))
            if depth > 1 and rng.random() < 0.2:
                inputs.add(rng.choice(layers[rng.randrange(depth - 1)]))
            jobs.append((f"job.l{depth}.{index}", sorted(inputs), output))
            layer.append(output)
        layers.append(layer)
    return layers, jobs


def batches(jobs: list[tuple[str, list[str], str]], edges_per_batch: int) -> Iterator[tuple[Batch, int]]:
    batch, count = Batch(), 0
    for job, inputs, output in jobs:
        job_node = f"job:{NAMESPACE}/{job}"
        batch.node(job_node, "job", job, WHEN, namespace=NAMESPACE, label=f"INSERT {output}")
        out_node = f"dataset:{NAMESPACE}/{output}"
        batch.node(out_node, "dataset", output, WHEN, namespace=NAMESPACE)
        batch.edge(job_node, "WRITES", out_node, WHEN)
        for name in inputs:
            node = f"dataset:{NAMESPACE}/{name}"
            batch.node(node, "dataset", name, WHEN, namespace=NAMESPACE)
            batch.edge(node, "READS", job_node, WHEN)
            batch.edge(node, "FEEDS", out_node, WHEN)
        count += 1 + 2 * len(inputs)
        if count >= edges_per_batch:
            yield batch, count
            batch, count = Batch(), 0
    if count:
        yield batch, count


def ingest(store: graph.Store, jobs: list[tuple[str, list[str], str]], edges_per_batch: int) -> dict[str, float]:
    prepared = list(batches(jobs, edges_per_batch))  # building the rows is not the store's work
    start = time.perf_counter()
    total = 0
    for batch, count in prepared:
        store.apply(batch)
        total += count
    seconds = time.perf_counter() - start
    return {"edges": total, "seconds": round(seconds, 2), "edges_per_s": round(total / seconds)}


def latencies(store: graph.Store, roots: list[str], depth: int, view: bool) -> dict[str, float]:
    times, sizes, view_times = [], [], []
    for root in roots:
        start = time.perf_counter()
        impact(store, root, depth, limit=PAGE)
        times.append((time.perf_counter() - start) * 1000)
        if view:
            start = time.perf_counter()
            sizes.append(len(lineage(store, root, "downstream", depth).nodes))
            view_times.append((time.perf_counter() - start) * 1000)
    result = _percentiles(times)
    if view:
        result.update({f"view_{k}": v for k, v in _percentiles(view_times).items()},
                      median_nodes=int(statistics.median(sizes)))
    return result


def _percentiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1)}


def queries(store: graph.Store, layers: list[list[str]], count: int, view: bool, seed: int = 11) -> dict[str, Any]:
    rng = random.Random(seed)
    hubs = [f"dataset:{NAMESPACE}/{name}" for name in layers[0][:HUBS]]
    leaves = [f"dataset:{NAMESPACE}/{name}" for name in rng.sample(layers[LAYERS], count)]  # read by no job
    mids = [f"dataset:{NAMESPACE}/{name}" for name in rng.sample(layers[LAYERS // 2], count)]
    results = {}
    for label, roots in (("hub", rng.sample(hubs, min(count, len(hubs)))), ("mid", mids), ("leaf", leaves)):
        for depth in (3, 10):
            results[f"{label}_depth{depth}"] = latencies(store, roots, depth, view)
    return results


def run(backend: str, url: str, jobs: list[tuple[str, list[str], str]], layers: list[list[str]],
        args: argparse.Namespace) -> dict[str, Any]:
    store = graph.open_store(url)
    wipe = getattr(store, "wipe", None)
    if wipe is not None:
        wipe()
    result: dict[str, Any] = {"ingest": ingest(store, jobs, args.batch)}
    print(f"{backend}: ingest {result['ingest']}", file=sys.stderr, flush=True)
    result.update(ask(store, layers, args))
    print(f"{backend}: queries done", file=sys.stderr, flush=True)
    result["counts"] = store.counts()
    store.close()
    return result


def ask(store: graph.Store, layers: list[list[str]], args: argparse.Namespace) -> dict[str, Any]:
    """The first query (it builds or loads a traversal index, where the store keeps one), then
    the timed queries."""
    start = time.perf_counter()
    impact(store, f"dataset:{NAMESPACE}/{layers[0][0]}", 3, limit=PAGE)
    first = round((time.perf_counter() - start) * 1000, 1)
    return {"first_query_ms": first, "queries": queries(store, layers, args.queries, not args.no_view)}


def with_traversal(url: str, traversal: str) -> str:
    return url + ("&" if "?" in url else "?") + f"traversal={traversal}"


def neo4j_in_memory(url: str, layers: list[list[str]], args: argparse.Namespace) -> dict[str, Any]:
    """The same queries on the graph just ingested, walked in the graph's shape loaded from Neo4j
    (``traversal=memory``); and what that shape holds, as tracemalloc counts it."""
    store = graph.open_store(with_traversal(url, "memory"))
    result = ask(store, layers, args)
    store.close()
    tracemalloc.start()
    try:
        store = graph.open_store(with_traversal(url, "memory"))
        impact(store, f"dataset:{NAMESPACE}/{layers[0][0]}", limit=PAGE)
        result["index_mb"] = round(tracemalloc.get_traced_memory()[0] / 2**20, 1)
        store.close()
    finally:
        tracemalloc.stop()
    return result


def neo4j_floor(url: str, nodes: int, edges: int, batch: int) -> dict[str, float]:
    """The server's own pace for the bare work of an ingest: relationships with the four
    properties every edge has (count, confidence, first and last seen), created between random
    existing nodes in batches of the same size, one transaction each, no node upserts, no MERGE.
    What ingest could reach at best on this machine."""
    import neo4j

    from graph.neo4j_store import _connection

    target, auth, database, _ = _connection(url)
    rng = random.Random(3)
    with neo4j.GraphDatabase.driver(target, auth=auth, notifications_min_severity="OFF") as driver:
        driver.execute_query("CREATE INDEX bench_floor IF NOT EXISTS FOR (n:BenchFloor) ON (n.i)", database_=database)
        for start in range(0, nodes, 20_000):
            driver.execute_query("UNWIND range($start, $end) AS i CREATE (:BenchFloor {i: i})", start=start,
                                 end=min(nodes, start + 20_000) - 1, database_=database)
        rows = [[{"a": rng.randrange(nodes), "b": rng.randrange(nodes), "count": 1, "confidence": 1.0,
                  "first_seen": WHEN, "last_seen": WHEN} for _ in range(batch)] for _ in range(max(1, edges // batch))]
        begin = time.perf_counter()
        for chunk in rows:
            driver.execute_query(
                "UNWIND $rows AS r MATCH (a:BenchFloor {i: r.a}) MATCH (b:BenchFloor {i: r.b}) "
                "CREATE (a)-[:FLOOR {count: r.count, confidence: r.confidence, first_seen: r.first_seen, "
                "last_seen: r.last_seen}]->(b)", rows=chunk, database_=database)
        seconds = time.perf_counter() - begin
        with driver.session(database=database) as session:
            session.run("MATCH (:BenchFloor)-[e]->() CALL (e) { DELETE e } IN TRANSACTIONS OF 20000 ROWS").consume()
            session.run("MATCH (n:BenchFloor) CALL (n) { DELETE n } IN TRANSACTIONS OF 20000 ROWS").consume()
        driver.execute_query("DROP INDEX bench_floor IF EXISTS", database_=database)
    total = len(rows) * batch
    return {"edges": total, "seconds": round(seconds, 2), "edges_per_s": round(total / seconds)}


def index_memory(url: str, layers: list[list[str]]) -> float:
    """What the embedded store holds in memory after a hub's impact (its traversal index and the
    downstream walk's arrays), as tracemalloc counts it: SQLite's page cache is not included. A
    second build, after the timings and the peak RSS, since tracing slows it."""
    tracemalloc.start()
    try:
        store = graph.open_store(url)
        impact(store, f"dataset:{NAMESPACE}/{layers[0][0]}", limit=PAGE)
        held = tracemalloc.get_traced_memory()[0]
        store.close()
    finally:
        tracemalloc.stop()
    return round(held / 2**20, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=20_000, help="edges per write transaction")
    parser.add_argument("--queries", type=int, default=30, help="roots per query class")
    parser.add_argument("--neo4j", default=os.environ.get("LINEAGE_BENCH_NEO4J"), help="neo4j:// store URL")
    parser.add_argument("--no-view", action="store_true", help="time the impact pages only, not whole views")
    parser.add_argument("--floor", type=int, default=200_000,
                        help="edges of the Neo4j server's bare-create pace (0: skip)")
    args = parser.parse_args()
    layers, jobs = shape(args.edges)
    results: dict[str, Any] = {"target_edges": args.edges, "jobs": len(jobs)}
    with tempfile.TemporaryDirectory() as scratch:
        results["sqlite"] = run("sqlite", f"sqlite:///{scratch}/bench.db", jobs, layers, args)
        results["sqlite"]["file_mb"] = round(sum(p.stat().st_size for p in Path(scratch).iterdir()) / 2**20, 1)
        results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        results["sqlite"]["index_mb"] = index_memory(f"sqlite:///{scratch}/bench.db", layers)
    if args.neo4j:
        results["neo4j"] = run("neo4j", with_traversal(args.neo4j, "server"), jobs, layers, args)
        results["neo4j_memory"] = neo4j_in_memory(args.neo4j, layers, args)
        print("neo4j: queries in memory done", file=sys.stderr, flush=True)
        if args.floor:
            nodes = sum(results["neo4j"]["counts"].get(kind, 0) for kind in ("dataset", "job"))
            results["neo4j_floor"] = neo4j_floor(args.neo4j, nodes, args.floor, args.batch)
    print(report(results))
    write_results("graph.json", results)


def report(results: dict[str, Any]) -> str:
    lines = [f"Graph benchmark: {results['jobs']} jobs, target {results['target_edges']} edges"]
    columns = [(name, results[key]) for name, key in (("embedded", "sqlite"), ("neo4j, server walk", "neo4j"),
                                                      ("neo4j, in memory", "neo4j_memory")) if key in results]
    lines.append(f"  {'':<22}" + "".join(f"{name:>20}" for name, _ in columns))
    rates = "".join(f"{r['ingest']['edges_per_s']:>20,}" if "ingest" in r else f"{'':>20}" for _, r in columns)
    lines.append(f"  {'ingest edges/s':<22}{rates}")
    first = "".join(f"{r['first_query_ms']:>18}ms" for _, r in columns)
    lines.append(f"  {'first query (index)':<22}{first}")
    memory = "".join(f"{r['index_mb']:>18}MB" if "index_mb" in r else f"{'':>20}" for _, r in columns)
    lines.append(f"  {'index memory':<22}{memory}")
    for what, prefix in ((f"impact, first {PAGE}", ""), ("whole view", "view_")):
        if f"{prefix}p50_ms" not in columns[0][1]["queries"]["hub_depth3"]:
            continue
        lines.append(f"  {what} p50/p95")
        for key in columns[0][1]["queries"]:
            timings = [r["queries"][key] for _, r in columns]
            cells = "".join(f"{t[prefix + 'p50_ms']:>10} /{t[prefix + 'p95_ms']:>7}ms" for t in timings)
            size = f"   ({timings[0]['median_nodes']} nodes)" if "median_nodes" in timings[0] else ""
            lines.append(f"    {key:<20}{cells}{size}")
    if "neo4j" in results:
        ratio = results["sqlite"]["ingest"]["edges_per_s"] / results["neo4j"]["ingest"]["edges_per_s"]
        lines.append(f"  embedded ingest is {ratio:.1f}x Neo4j's")
    if "neo4j_floor" in results:
        floor = results["neo4j_floor"]
        share = results["neo4j"]["ingest"]["edges_per_s"] / floor["edges_per_s"]
        lines.append(f"  Neo4j's own pace creating {floor['edges']:,} bare relationships (four properties, existing"
                     f" nodes, no MERGE): {floor['edges_per_s']:,} edges/s; our ingest runs at {share:.2f}x that")
    lines.append(f"  peak RSS of this process after the embedded run: {results['peak_rss_mb']} MB")
    lines.append(f"  roots: hub = one of the {HUBS} core raw tables (3 jobs in 10 read one), mid = a table of layer"
                 f" {LAYERS // 2}, leaf = a table of the top layer {LAYERS} (no job reads it: nothing downstream)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
