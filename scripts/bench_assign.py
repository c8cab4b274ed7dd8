#!/usr/bin/env python3
"""Benchmark set-based assignment of many incidents (``gis.assign.assign``).

``.venv/bin/python scripts/bench_assign.py [--world demo|county|both]
[--incidents N] [--repeat R]`` creates a throwaway database per world on the
embedded cluster (or DATABASE_URL's server) and loads its boundaries:

- ``demo``: the demo district (168 villages, 436 grids, simple polygons);
- ``county``: the synthetic county of :mod:`gis.demo.county` (10,000 villages
  tiled by 50,000 grids, 300+ vertices each, 25 townships, 16 stations).

It then inserts N incidents at random inside the district, unassigned and
stored in spatial order as a bulk import would, and times ``assign`` R times
twice over: once when every incident changes (all unassigned), once when
nothing changes.  Between repeats the assignments are cleared again.

Before that it measures the write's floor: the same bulk write with nothing to
compute (every row's four columns set to fixed areas by one UPDATE, keys and
indexes set aside and rebuilt as ``assign`` does), rolled back afterwards.  No
assignment of every row can take less than that.  And last, the
polygon-driven join of the grids alone: what computing the finest level costs
before any other level or any write.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gis import assign, bulk, db, demo, schema  # noqa: E402
from gis.demo import county  # noqa: E402

WORLDS = ("demo", "county")


def _load_world(engine: sa.Engine, world: str) -> str:
    if world == "demo":
        demo.load(engine, incidents=0, cameras=0)
    else:
        county.load(engine)
    with engine.connect() as conn:
        counts = conn.execute(
            sa.text("SELECT kind, count(*) FROM area GROUP BY kind ORDER BY kind")
        ).all()
        vertices = conn.execute(
            sa.text("SELECT avg(ST_NPoints(geom))::int FROM area WHERE kind = 'grid'")
        ).scalar()
    return ", ".join(f"{n:,} {k}" for k, n in counts) + f"; {vertices} vertices/grid"


def _insert_incidents(engine: sa.Engine, n: int) -> None:
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
    _vacuum(engine)


def _unassign(engine: sa.Engine) -> None:
    """Clear every incident's areas again (the state a bulk import leaves)."""
    columns = list(assign.KINDS.values())
    indexes = {"incident_station"}  # the one index on an assignment column
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL pingan.bulk_assign = 'on'"))
        definitions = conn.execute(
            sa.text(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE tablename = 'incident' AND indexname = ANY(:names)"
            ),
            {"names": sorted(indexes)},
        ).all()
        conn.execute(sa.text(f"DROP INDEX {', '.join(n for n, _ in definitions)}"))
        conn.execute(
            sa.text(f"UPDATE incident SET {', '.join(f'{c} = NULL' for c in columns)}")
        )
        for _, definition in definitions:
            conn.execute(sa.text(definition))
    _vacuum(engine)


def _vacuum(engine: sa.Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE incident"))


def _time(engine: sa.Engine, label: str, n: int) -> float:
    start = time.perf_counter()
    changed = assign.assign(engine, ["incident"])["incident"]
    seconds = time.perf_counter() - start
    print(
        f"  {label}: {seconds:6.2f} s, {changed:,} rows written, "
        f"{n / seconds:,.0f} incidents/s",
        flush=True,
    )
    return seconds


def write_floor(engine: sa.Engine) -> tuple[float, float]:
    """Seconds for the bulk write alone and for putting keys and indexes back:
    every incident gets fixed areas (one of each kind) in one UPDATE, with the
    assignment columns' keys, indexes and triggers set aside as :func:`assign`
    sets them.  Rolled back, so the table is as it was."""
    with engine.connect() as conn:
        first = dict(
            conn.execute(
                sa.text(
                    "SELECT kind, min(id) FROM area WHERE kind = ANY(:kinds) "
                    "GROUP BY kind"
                ),
                {"kinds": list(assign.KINDS)},
            ).all()
        )
        sets = ", ".join(f"{c} = :{k}" for k, c in assign.KINDS.items())
        conn.execute(sa.text("SET LOCAL pingan.bulk_assign = 'on'"))
        aside = bulk.SetAside(
            conn,
            "incident",
            list(assign.KINDS.values()),
            triggers=assign.bulk_triggers("incident"),
        )
        start = time.perf_counter()
        conn.execute(sa.text(f"UPDATE incident SET {sets}, updated_at = now()"), first)
        write = time.perf_counter() - start
        start = time.perf_counter()
        aside.restore()
        restore = time.perf_counter() - start
        conn.rollback()
    return write, restore


def one_join(engine: sa.Engine, kind: str = "grid") -> float:
    """Seconds for the polygon-driven join of one kind alone (each point's
    smallest-key area of ``kind``, today's boundaries, nothing written): the
    least that computing even one level of the assignment costs."""
    with engine.connect() as conn:
        assign.prepare(conn, lock="SHARE")
        start = time.perf_counter()
        with (
            conn.connection.cursor() as cursor,
            bulk.planner(cursor, **assign.PARALLEL),
        ):
            conn.execute(
                sa.text("""
                SELECT count(*) FROM (
                    SELECT p.id, min(r.key)
                      FROM area_part ap
                      JOIN assign_area r ON r.id = ap.area_id
                      JOIN incident p ON p.geom && ST_Envelope(ap.geom)
                                     AND _ST_Intersects(ap.geom, p.geom)
                     WHERE ap.kind = :kind AND r.valid_to IS NULL
                     GROUP BY p.id) s"""),
                {"kind": kind},
            ).scalar()
        seconds = time.perf_counter() - start
        conn.rollback()
    return seconds


def bench(server: str, world: str, n: int, repeat: int) -> None:
    name = f"pingan_bench_{uuid.uuid4().hex[:8]}"
    url = db.create_database(server, name)
    try:
        engine = db.get_engine(url)
        schema.migrate(engine)
        start = time.perf_counter()
        summary = _load_world(engine, world)
        print(f"{world}: {summary} (loaded in {time.perf_counter() - start:.0f} s)")
        start = time.perf_counter()
        _insert_incidents(engine, n)
        print(
            f"  inserted {n:,} unassigned incidents in "
            f"{time.perf_counter() - start:.0f} s",
            flush=True,
        )
        # On the freshly vacuumed table that the first run meets too (a write
        # into pages holding the previous write's dead rows is slower).  The
        # first write of a page after a checkpoint logs the whole page, so
        # the second time is the floor when a checkpoint is far.
        for label in ("floor", "again"):
            write, restore = write_floor(engine)
            print(
                f"  {label}: the write alone {write:.2f} s + keys and indexes "
                f"{restore:.2f} s = {write + restore:.2f} s, nothing computed",
                flush=True,
            )
            _vacuum(engine)  # the rolled-back rows
        for run in range(repeat):
            if run:
                _unassign(engine)
            _time(engine, "all rows change ", n)
            _time(engine, "nothing changes ", n)
        print(f"  the grid join alone: {one_join(engine):.2f} s", flush=True)
    finally:
        db.dispose_engines()
        db.drop_database(server, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", choices=(*WORLDS, "both"), default="both")
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    server = db.database_url(start_embedded=True)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for world in WORLDS if args.world == "both" else (args.world,):
        bench(server, world, args.incidents, args.repeat)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
