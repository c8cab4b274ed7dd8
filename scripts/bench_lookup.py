#!/usr/bin/env python3
"""Benchmark jurisdiction lookups against the loaded demo district.

Run after ``./scripts/demo`` (or ``python -m gis demo``):
``.venv/bin/python scripts/bench_lookup.py [--points N] [--singles N]``.
Points are uniform over the district's bounding box (some fall outside it, as
real intake does).  Prints batch throughput and single-lookup latency from
Python (no HTTP; ``scripts/bench_http_lookup.py`` measures through the server),
with the load average, since other work on the machine slows both.

``--web`` measures what the web's time limits (:mod:`gis.deadlines`) cost a
single lookup: lookups alternate, one by one, between the web's engine and the
CLI's, so that whatever else the machine does falls on both alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gis import db, lookup  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=lookup.MAX_BATCH)
    parser.add_argument("--singles", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--web", action="store_true", help="compare with the web's engine instead"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    lons = rng.uniform(114.874, 115.249, args.points)
    lats = rng.uniform(35.584, 35.863, args.points)
    if args.web:
        return compare_web(lons[: args.singles], lats[: args.singles])
    engine = db.get_engine(db.database_url(start_embedded=True))
    with engine.connect() as conn:
        lookup.lookup_many(conn, lons[:100], lats[:100])  # warm caches
        batches = []
        for _ in range(3):
            start = time.perf_counter()
            lookup.lookup_many(conn, lons, lats)
            batches.append(time.perf_counter() - start)
        singles = []
        for i in range(args.singles):
            start = time.perf_counter()
            lookup.lookup(conn, float(lons[i]), float(lats[i]))
            singles.append(time.perf_counter() - start)
    best = min(batches)
    singles_ms = np.array(singles) * 1000
    print("load average: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    print(
        f"batch of {args.points}: {args.points / best:,.0f} points/s "
        f"(best of 3, {best:.2f} s; median {statistics.median(batches):.2f} s)"
    )
    print(
        f"single lookups: median {statistics.median(singles_ms):.2f} ms, "
        f"p95 {np.percentile(singles_ms, 95):.2f} ms, "
        f"p99 {np.percentile(singles_ms, 99):.2f} ms "
        f"({len(singles)} sequential, one connection)"
    )
    return 0


def compare_web(lons: np.ndarray, lats: np.ndarray) -> int:
    """Single lookups on the web's engine against the CLI's, paired."""
    url = db.database_url(start_embedded=True)
    engines = {
        "cli": db.get_engine(url),
        "web": db.get_engine(url, request_timeouts=True),
    }
    wall = {name: [] for name in engines}
    cpu = {name: [] for name in engines}
    with engines["cli"].connect() as cli, engines["web"].connect() as web:
        conns = {"cli": cli, "web": web}
        for conn in conns.values():
            lookup.lookup_many(conn, lons[:100], lats[:100])  # warm caches
        for i, (lon, lat) in enumerate(zip(lons.tolist(), lats.tolist(), strict=True)):
            for name in ("cli", "web")[:: 1 if i % 2 else -1]:  # either first
                start, start_cpu = time.perf_counter(), time.thread_time()
                lookup.lookup(conns[name], lon, lat)
                wall[name].append(time.perf_counter() - start)
                cpu[name].append(time.thread_time() - start_cpu)
    print("load average: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    for name in engines:
        print(
            f"{name}: median {np.median(wall[name]) * 1e3:.3f} ms, "
            f"p95 {np.percentile(wall[name], 95) * 1e3:.3f} ms, "
            f"client CPU median {np.median(cpu[name]) * 1e6:.0f} us"
        )
    extra = np.subtract(wall["web"], wall["cli"])
    extra_cpu = np.subtract(cpu["web"], cpu["cli"])
    print(
        f"web - cli, lookup by lookup: median {np.median(extra) * 1e6:+.1f} us "
        f"({np.median(extra) / np.median(wall['cli']):+.1%}), client CPU "
        f"{np.median(extra_cpu) * 1e6:+.1f} us ({len(extra)} pairs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
