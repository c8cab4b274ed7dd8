#!/usr/bin/env python3
"""Benchmark set-based assignment of many incidents against the demo boundaries.

``.venv/bin/python scripts/bench_assign.py [--incidents N]`` creates a throwaway
database on the embedded cluster (or DATABASE_URL's server), loads the demo
boundaries, inserts N incidents at random inside the district (unassigned,
stored in spatial order as a bulk import would), then times ``gis.assign.assign`` twice:
the first run assigns every incident, the second finds nothing to change.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gis import assign, db, demo, schema  # noqa: E402


def _insert_incidents(engine: sa.Engine, n: int) -> float:
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL pingan.bulk_assign = 'on'"))
        conn.execute(
            sa.text("""
            INSERT INTO incident (code, category, reported_at, geom)
            SELECT 'B' || row_number() OVER (), 'dispute_neighbour',
                   timestamptz '2025-01-01' + random() * interval '600 days', pt
              FROM (SELECT (ST_Dump(ST_GeneratePoints(geom, :n))).geom AS pt
                      FROM area WHERE kind = 'district') s
             ORDER BY ST_GeoHash(pt, 10)"""),
            {"n": n},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE incident"))
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1_000_000)
    args = parser.parse_args()
    server = db.database_url(start_embedded=True)
    name = f"pingan_bench_{uuid.uuid4().hex[:8]}"
    url = db.create_database(server, name)
    try:
        engine = db.get_engine(url)
        schema.migrate(engine)
        demo.load(engine, incidents=0, cameras=0)
        seconds = _insert_incidents(engine, args.incidents)
        print(f"inserted {args.incidents:,} unassigned incidents in {seconds:.1f} s")
        for label in ("first run (all assigned)", "second run (nothing changed)"):
            start = time.perf_counter()
            changed = assign.assign(engine, ["incident"])["incident"]
            seconds = time.perf_counter() - start
            print(
                f"{label}: {seconds:.2f} s, {changed:,} rows written, "
                f"{args.incidents / seconds:,.0f} incidents/s"
            )
    finally:
        db.dispose_engines()
        db.drop_database(server, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
