#!/usr/bin/env python3
"""What the gap analysis costs: every kind, every role, at the county's size.

Target (issue 13): all kinds for a 5,000-village / 2,000-post county in at
most 1 s.  Run against the synthetic county of 71 x 71 villages in a database
of its own (the gaps read no incident, so few will do)::

    DATABASE_URL=postgresql://.../pingan_county \\
        python -m gis demo --county --county-size 71x71 --incidents 1000
    DATABASE_URL=postgresql://.../pingan_county .venv/bin/python scripts/bench_gaps.py

First times what a boundary or post change costs the next analysis, once
(:func:`gis.gaps.keep`: today's distances and splits computed and kept
again), then :func:`gis.gaps.analyse` (the JSON report: read, every rule,
summary, ranking; the kept answers current) and the workbook after it, as
the owner (the CLI) and as a planner and a station user through
``pingan_web`` under the row policies, as the web app reads.  Each is run
``--repeat`` times after one warm-up; the median and the slowest are printed.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gis import access, db, gaps, users  # noqa: E402


def _time(run, repeat: int) -> tuple[float, float]:
    run()
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), max(seconds)


def _web_connection(url: str, role: str, station: str | None):
    """A pingan_web connection scoped to a fresh user of ``role``."""
    owner = db.get_engine(url)
    name = f"bench_gaps_{role}"
    with owner.begin() as conn:
        conn.execute(sa.text("DELETE FROM app_user WHERE username = :n"), {"n": name})
        token, _ = users.issue_service_token(conn, name, role, station=station)
    web = db.get_engine(db.web_url(url))
    conn = web.connect()
    access.begin(conn.connection.dbapi_connection, token)
    return conn


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    url = db.database_url(start_embedded=True)
    owner = db.get_engine(url)
    with owner.connect() as conn:
        size = conn.execute(sa.text(
            "SELECT count(*) FILTER (WHERE kind = 'village'), "
            "count(*) FILTER (WHERE kind = 'grid'), "
            "(SELECT count(*) FROM post), (SELECT count(*) FROM duty_assignment), "
            "min(code) FILTER (WHERE kind = 'police_station') "
            "FROM area WHERE valid_to IS NULL"
        )).one()  # fmt: skip
    villages, grids, posts, assignments, station = size
    print(f"county: {villages} villages, {grids} grids, {posts} posts, "
          f"{assignments} assignments")  # fmt: skip
    # Today's distances and splits are kept until a boundary or a post changes
    # (duty_keep, migration 0014): what the first analysis after such a change
    # pays once, then every analysis reads them.
    cold = []
    for _ in range(args.repeat):
        with owner.begin() as conn:  # as a boundary import's statement would
            conn.execute(sa.text("UPDATE duty_inputs SET version = version + 1"))
        start = time.perf_counter()
        gaps.keep(owner)
        cold.append(time.perf_counter() - start)
    print(f"after a boundary or post change: keeping distances and splits "
          f"again {statistics.median(cold):.3f}s (median), once")  # fmt: skip
    runs = [("owner (CLI)", owner.connect())]
    runs.append(("planner (pingan_web)", _web_connection(url, "planner", None)))
    runs.append(("station (pingan_web)", _web_connection(url, "station", station)))
    print(f"{'who':24} {'analyse median':>15} {'max':>8} {'+xlsx':>8}  findings")
    for who, conn in runs:
        report = gaps.analyse(conn)
        median, worst = _time(lambda c=conn: gaps.analyse(c), args.repeat)
        start = time.perf_counter()
        gaps.write_xlsx(report, io.BytesIO())
        xlsx = time.perf_counter() - start
        counts = {k: len(v) for k, v in report["findings"].items()}
        print(f"{who:24} {median:>14.3f}s {worst:>7.3f}s {xlsx:>7.3f}s  {counts}")
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
