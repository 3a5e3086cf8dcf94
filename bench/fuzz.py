"""Fuzz every source type at volume (issue 17): N generated inputs per type (mutated fixtures,
random bytes, wrong encodings, JSON and CSV of wrong shapes, as tests/crawler/test_fuzz.py makes
them, drawn here with `random` rather than hypothesis, whose bookkeeping would cost more than the
crawl), each read, parsed and folded into a batch the way a crawl does, in worker processes.
Counts crashes (an exception out of the reader, the parser or the fold) and hangs (an input over
its CPU-time bound), and prints inputs/s per type.

    python bench/fuzz.py [--examples 100000] [--types sql_trace,spark_eventlog] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.cursors import Start  # noqa: E402
from crawler.registry import SourceSpec, is_supplement, read, source_types  # noqa: E402
from graph.batch import batch_of  # noqa: E402
from parsers import SourceRecord, parse  # noqa: E402
from tests.crawler.fuzz_inputs import bounded, seeds  # noqa: E402

CRASHES = Path(tempfile.gettempdir()) / "lineage-fuzz-crashes"
_SPECIALS = [b'"', b"'", b"\\", b"\r", b"\x00", b"{", b"}", b",", b"\n", b"\r\n", b"\xff\xfe"]


def mutate(rng: random.Random, seed: bytes) -> bytes:
    text = bytearray(seed)
    for _ in range(rng.randint(0, 6)):
        if not text:
            break
        at = rng.randint(0, len(text))
        edit = rng.randrange(5)
        if edit == 0:
            del text[at:at + rng.randint(1, 400)]
        elif edit == 1:
            text[at:at] = rng.randbytes(rng.randint(1, 40))
        elif edit == 2:
            text[at:at] = rng.choice(_SPECIALS)
        elif edit == 3:
            end = text.find(b"\n", at)
            text[at:at] = text[at:end + 1 if end >= 0 else len(text)]
        elif at < len(text):
            text[at] = rng.randrange(256)
    if rng.random() < 0.5:
        del text[rng.randint(0, len(text)):]
    return bytes(text)


def generate(rng: random.Random, own: list[bytes]) -> bytes:
    kind = rng.random()
    if kind < 0.6:
        return mutate(rng, rng.choice(own))
    if kind < 0.75:
        return rng.randbytes(rng.randint(0, 3000))
    if kind < 0.9:
        rows = [json.dumps(rng.choice([None, 1, "x", [1, {"a": None}], {"query": rng.random()}, {"Event": 3}]))
                for _ in range(rng.randint(0, 10))]
        return "\n".join(rows).encode()
    return rng.choice(own).replace(b"\n", b"\xff\xfe\n")


def one(source_type: str, data: bytes, folder: Path) -> None:
    """Read, parse and fold one input as a crawl does (no store)."""
    path = folder / "input.log"
    path.write_bytes(data)
    os.utime(path, (time.time() - 7200, time.time() - 7200))
    spec = SourceSpec(path=str(path), type=source_type)
    events = []
    for item in read(spec, path, source_type, Start()):
        if isinstance(item.item, SourceRecord) and not is_supplement(source_type):  # (supplements complete others)
            events.extend(parse(item.item).events)
    batch_of(events)


def run(task: tuple[str, int, int]) -> dict[str, object]:
    source_type, count, seed = task
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    rng = random.Random(seed)
    own = [piece for piece in seeds()[source_type]] or [b"select 1;\n"]
    crashes: list[str] = []
    hangs = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(count):
            data = generate(rng, own)
            try:
                with bounded(20):
                    one(source_type, data, Path(folder))
            except TimeoutError:
                hangs += 1
            except Exception:  # noqa: BLE001  (a crash is what this looks for)
                kept = CRASHES / f"{source_type}-{seed}-{len(crashes)}.bin"
                kept.parent.mkdir(parents=True, exist_ok=True)
                kept.write_bytes(data)  # to reproduce it: crawl this file with --type source_type
                crashes.append(f"input kept in {kept}\n{traceback.format_exc(limit=8)}" if len(crashes) < 3 else "")
    return {"type": source_type, "inputs": count, "seconds": time.perf_counter() - started,
            "crashes": len(crashes), "hangs": hangs, "samples": [c for c in crashes if c]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=100_000, help="inputs per source type")
    parser.add_argument("--types", help="comma-separated source types (all by default)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    sys.setrecursionlimit(20_000)  # as the CLI sets it
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # (as the CLI does: crawls report such statements)
    kinds = args.types.split(",") if args.types else source_types()
    per = max(1, args.examples // args.workers)
    tasks = [(kind, per, index) for kind in kinds for index in range(args.workers)]
    with multiprocessing.Pool(args.workers) as pool:
        results = pool.map(run, tasks)
    totals: dict[str, dict[str, float]] = {}
    for result in results:
        total = totals.setdefault(str(result["type"]), {"inputs": 0, "seconds": 0.0, "crashes": 0, "hangs": 0})
        for key in ("inputs", "seconds", "crashes", "hangs"):
            total[key] += float(result[key])  # type: ignore[arg-type]
        for sample in result["samples"]:  # type: ignore[attr-defined]
            print(f"--- crash in {result['type']}:\n{sample}")
    print(f"{'source type':<22} {'inputs':>9} {'inputs/s':>9} {'crashes':>8} {'hangs':>6}")
    for kind, total in totals.items():
        rate = total["inputs"] / total["seconds"] * args.workers if total["seconds"] else 0
        print(f"{kind:<22} {int(total['inputs']):>9,} {rate:>9,.0f} {int(total['crashes']):>8} "
              f"{int(total['hangs']):>6}")
    bad = sum(total["crashes"] + total["hangs"] for total in totals.values())
    print(f"{'all':<22} {int(sum(t['inputs'] for t in totals.values())):>9,} crashes and hangs: {int(bad)}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
