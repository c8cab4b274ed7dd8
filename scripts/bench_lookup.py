#!/usr/bin/env python3
"""Benchmark jurisdiction lookups against the loaded demo district.

Run after ``./scripts/demo`` (or ``python -m gis demo``):
``.venv/bin/python scripts/bench_lookup.py [--points N] [--singles N]``.
Points are uniform over the district's bounding box (some fall outside it, as
real intake does).  Prints batch throughput and single-lookup latency from
Python (no HTTP; ``scripts/bench_http_lookup.py`` measures through the server),
with the load average, since other work on the machine slows both.
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
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    lons = rng.uniform(114.874, 115.249, args.points)
    lats = rng.uniform(35.584, 35.863, args.points)
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


if __name__ == "__main__":
    sys.exit(main())
