#!/usr/bin/env python3
"""What the leadership views cost on a county: heat, Gi*, emerging hot spots,
scorecards, and keeping the counts current.

``.venv/bin/python scripts/bench_leadership.py --county-url URL
[--import-rows N] [--inserts N]``

Targets (issue 15), on the county world (10,000 villages, 1,000,000 incidents
over two years; run it on a copy, ``CREATE DATABASE c TEMPLATE pingan_county``
then ``python -m gis init`` on it; the insert test writes and rolls back):

- heat layer, whole district, any filter: <= 200 ms server time (the app's
  ``Server-Timing``) and <= 300 KB on the wire (gzip), through the real app as
  a leader (``pingan_web``, row policies);
- Gi* on 10,000 squares with 999 permutations <= 1 s, and esda's ``G_Local``
  on the same squares in the same run: both times, max |dz| and |dp|;
- emerging hot spots, 24 months x 10,000 squares <= 5 s;
- scorecards for every village <= 500 ms: the JSON ``GET /api/stats`` sends
  (``stats.scorecards_json``) as the owner, and the same through the app as a
  leader (``Server-Timing``, plain and gzipped); the Python dicts the
  dashboard and the workbook read, and all three levels, for comparison;
  and the CPU the JSON costs (Python + its PostgreSQL backend), which the
  other work on the two cores does not inflate;
- a single incident insert within 1 ms of its cost without the counts'
  triggers (the same inserts with them disabled, same run);
- a 1,000,000-row import within 15 % of its time without the counts (two
  imports of scripts/bench_import.py's CSV into fresh databases holding the
  demo boundaries, one with no counts at all: ``gis.stats.rebuild`` and the
  import's own tally, ``gis.ingest.tally.for_import``, replaced by no-ops;
  each in its own process; ``--import-rounds N`` takes turns N times).

The import comparison makes its databases on the server of ``DATABASE_URL``
(set it, or the embedded cluster of this checkout is started).  Prints each
figure beside its target, and the load average (other work on the two cores
slows everything).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import multiprocessing
import os
import statistics
import sys
import time
import uuid
import warnings
from pathlib import Path

import numpy as np
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gis import db, demo, hotspots, schema, stats, users  # noqa: E402
from gis.analysis import hotspots as analysis  # noqa: E402


def _load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def heat(url: str) -> None:
    from webmap import create_app

    engine = db.get_engine(url)
    with engine.begin() as conn:
        token, _ = users.issue_service_token(conn, f"bench_{uuid.uuid4().hex[:6]}",
                                             "leader")  # fmt: skip
        box = conn.execute(sa.text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
            "ST_Extent(geom) e FROM area WHERE kind = 'district') x")
        ).one()
        township = conn.execute(sa.text(
            "SELECT min(code) FROM area WHERE kind = 'township'")).scalar()  # fmt: skip
        months = conn.execute(sa.text(
            "SELECT min(month), max(month) FROM incident_cell")).one()  # fmt: skip
    client = create_app({"DATABASE_URL": url}).test_client()
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}
    view = {"bbox": ",".join(f"{v:.6f}" for v in box), "zoom": 10}
    last = months[1].strftime("%Y-%m")
    quarter = f"{months[1].year}Q{(months[1].month - 1) // 3 + 1}"
    cases = {
        "everything, two years": {},
        "one month": {"month": last},
        "a quarter, disputes": {"quarter": quarter, "category": "dispute"},
        "neighbour disputes, open, red": {"category": "dispute_neighbour",
                                          "status": "open", "risk": "red"},
        "one township, rates": {"township": township, "measure": "rate"},
        "everything, rates": {"measure": "rate"},
    }  # fmt: skip
    print(f"heat layer (whole district, zoom 10; target <= 200 ms, <= 300 KB); "
          f"load {_load()}")  # fmt: skip
    for label, extra in cases.items():
        times, size = [], 0
        for _ in range(5):
            r = client.get("/api/layers/heat", query_string={**view, **extra},
                           headers=headers)  # fmt: skip
            assert r.status_code == 200, r.get_data(as_text=True)[:300]
            times.append(float(r.headers["Server-Timing"].split("dur=")[1]))
            size = len(r.data)
        print(f"  {label:<34} median {statistics.median(times):6.1f} ms "
              f"(first {times[0]:.0f}), {size / 1000:6.1f} KB gzip")  # fmt: skip


def gi_star(url: str) -> None:
    import esda
    from libpysal.weights import W

    with db.get_engine(url).connect() as conn:
        cells = stats.cell_counts(conn, stats.Filters(), 500)
    y, cx, cy = cells["n"], cells["cx"], cells["cy"]
    start = time.perf_counter()
    mine = analysis.gi_star(y, cx, cy, permutations=999, seed=1)
    ours = time.perf_counter() - start
    nb = analysis.neighbours(cx, cy)
    w = W({i: [int(j) for j in row if j >= 0] for i, row in enumerate(nb)},
          silence_warnings=True)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        ref = esda.G_Local(y, w, transform="B", star=True, permutations=999, seed=1)
        theirs = time.perf_counter() - start
    dz = np.abs(ref.Zs - mine.z).max()
    dp = np.abs(ref.p_sim - mine.p_sim)
    dzs = np.abs(ref.z_sim - mine.z_sim) / np.maximum(1, np.abs(ref.z_sim))
    print(f"Gi* on {len(y):,} squares of 500 m, 999 permutations (target <= 1 s): "
          f"ours {_ms(ours)}, esda G_Local {_ms(theirs)} "
          f"({theirs / ours:.0f}x); max |dz| {dz:.2e}, max |dp_sim| {dp.max():.3f} "
          f"(mean {dp.mean():.4f}), z_sim relative difference mean "
          f"{dzs.mean():.3f}; hot {int((mine.level > 0).sum())}, cold "
          f"{int((mine.level < 0).sum())}; load {_load()}")  # fmt: skip


def emerging(url: str) -> None:
    with db.get_engine(url).connect() as conn:
        start = time.perf_counter()
        report = hotspots.emerging(conn, stats.Filters(), 500)
        total = time.perf_counter() - start
    months, bins = len(report["months"]), report["bins"]
    cube = np.random.default_rng(1).poisson(3, (months, bins)).astype(float)
    side = int(np.ceil(np.sqrt(bins)))
    cx, cy = np.arange(bins) % side, np.arange(bins) // side
    start = time.perf_counter()
    analysis.emerging(cube, cx, cy)
    alone = time.perf_counter() - start
    print(f"emerging hot spots, {months} months x {bins:,} squares (target "
          f"<= 5 s): "
          f"{total:.2f} s with the counts read from PostGIS, the statistics "
          f"alone {alone:.2f} s; categories {report['summary']}; "
          f"load {_load()}")  # fmt: skip


def scorecards(url: str) -> None:
    from webmap import create_app

    engine = db.get_engine(url)
    with engine.begin() as conn:
        token, _ = users.issue_service_token(conn, f"bench_{uuid.uuid4().hex[:6]}",
                                             "leader")  # fmt: skip
    client = create_app({"DATABASE_URL": url}).test_client()
    cases = (("two years", {}),
             ("a quarter, disputes", {"quarter": "2025Q2", "category": "dispute"}))
    for label, args in cases:  # fmt: skip
        filters = stats.Filters.parse(args)
        with engine.connect() as conn:
            times, dicts = [], []
            for _ in range(3):
                start = time.perf_counter()
                body = stats.scorecards_json(conn, filters, "village")
                times.append(time.perf_counter() - start)
                start = time.perf_counter()
                report = stats.scorecards(conn, filters, "village")
                dicts.append(time.perf_counter() - start)
            start = time.perf_counter()
            stats.all_scorecards(conn, filters)
            every = time.perf_counter() - start
            cpu = _cpu(conn, functools.partial(stats.scorecards_json, conn, filters))
        served = {}
        for encoding in ("identity", "gzip"):
            served[encoding] = [float(r.headers["Server-Timing"].split("dur=")[1])
                                for r in (client.get(
                                    "/api/stats", query_string=args, headers={
                                        "Authorization": f"Bearer {token}",
                                        "Accept-Encoding": encoding})
                                    for _ in range(3))]  # fmt: skip
        print(f"scorecards, {len(report['rows']):,} villages, {label} (target "
              f"<= 500 ms): JSON as /api/stats sends it {_ms(min(times))} "
              f"(median {_ms(statistics.median(times))}), {len(body) / 1e6:.1f} MB; "
              f"through the app as a leader (Server-Timing, median of 3) "
              f"{statistics.median(served['identity']):.0f} ms, gzipped "
              f"{statistics.median(served['gzip']):.0f} ms; as Python dicts "
              f"(dashboard, workbook) {_ms(min(dicts))} (median "
              f"{_ms(statistics.median(dicts))}); villages, townships and "
              f"stations together {_ms(every)}; CPU of the JSON, mean of 5: "
              f"{cpu}; load {_load()}")  # fmt: skip


def _cpu(conn: sa.Connection, work, rounds: int = 5) -> str:
    """The CPU one call of ``work`` costs, which other work on the machine
    does not add to: this process's, and its PostgreSQL backend's from
    ``/proc`` (a server on this machine; the plans use no parallel worker)."""
    pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return "not measured (the server is not on this machine)"
    tick = os.sysconf("SC_CLK_TCK")

    def backend() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime, stime

    py, pg = time.process_time(), backend()
    for _ in range(rounds):
        work()
    py, pg = (time.process_time() - py) / rounds, (backend() - pg) / rounds
    return f"{_ms(py + pg)} (Python {_ms(py)} + PostgreSQL {_ms(pg)})"


def inserts(url: str, n: int) -> None:
    sql = sa.text(
        "INSERT INTO incident (code, category, reported_at, geom) VALUES "
        "(:c, 'dispute_debt', now(), ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
    )
    result = {}
    with db.get_engine(url).connect() as conn:
        points = conn.execute(sa.text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM "
            "area WHERE kind = 'village' AND id % 50 = 0 LIMIT :n) x"), {"n": n}
        ).all()  # fmt: skip
        conn.rollback()
        for _ in range(2):  # the second round: warm caches
            for with_counts in (True, False):
                trans = conn.begin()
                if not with_counts:
                    conn.execute(sa.text("ALTER TABLE incident DISABLE TRIGGER "
                                         "incident_counts_insert"))  # fmt: skip
                times = []
                for k in range(n):
                    x, y = points[k % len(points)]
                    start = time.perf_counter()
                    conn.execute(sql, {"c": f"BENCH-{uuid.uuid4().hex[:10]}",
                                       "x": x, "y": y})  # fmt: skip
                    times.append(time.perf_counter() - start)
                trans.rollback()
                result[with_counts] = statistics.median(times)
    delta = result[True] - result[False]
    print(f"single insert, median of {n} (target: within 1 ms of no counts): "
          f"{result[True] * 1000:.2f} ms with the counts' trigger, "
          f"{result[False] * 1000:.2f} ms without: +{delta * 1000:.2f} ms; "
          f"load {_load()}")  # fmt: skip


def _import_child(url: str, path: str, counts: bool, queue) -> None:
    from gis import stats as stats_module
    from gis.ingest import import_file, tally

    if not counts:  # neither the rebuild nor the import's own tally
        stats_module.rebuild = lambda conn, population=False: 0
        tally.for_import = lambda conn: None
    start = time.perf_counter()
    report = import_file(db.get_engine(url), "incidents", path, crs="gcj02")
    queue.put((time.perf_counter() - start, report.status, report.loaded))


def imports(rows: int, rounds: int = 1) -> None:
    spec = importlib.util.spec_from_file_location(
        "bench_import", ROOT / "scripts/bench_import.py"
    )
    bench_import = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_import)
    path = bench_import.generate(rows, 1)
    for _ in range(rounds):
        _import_pair(rows, path)


def _import_pair(rows: int, path) -> None:
    server = db.database_url(start_embedded=True)
    figures = {}
    for counts in (False, True):
        name = f"pingan_bench_{uuid.uuid4().hex[:8]}"
        url = db.create_database(server, name)
        try:
            engine = db.get_engine(url)
            schema.migrate(engine)
            demo.load(engine, incidents=0, cameras=0)
            db.dispose_engines()
            context = multiprocessing.get_context("spawn")
            queue = context.Queue()
            child = context.Process(target=_import_child,
                                    args=(url, str(path), counts, queue))  # fmt: skip
            child.start()
            figures[counts] = queue.get()
            child.join()
        finally:
            db.dispose_engines()
            db.drop_database(server, name)
    (without, status0, n0), (with_, status1, n1) = figures[False], figures[True]
    print(f"import of {rows:,} incidents (target: within 15 % of no counts): "
          f"{with_:.1f} s with the counts ({status1}, {n1:,}), "
          f"{without:.1f} s without ({status0}, {n0:,}): "
          f"{100 * (with_ / without - 1):+.0f} %; load {_load()}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--county-url",
                        help="a migrated copy of the county world (not needed "
                             "with --only import)")  # fmt: skip
    parser.add_argument("--inserts", type=int, default=200)
    parser.add_argument("--import-rows", type=int, default=1_000_000,
                        help="0: skip the import comparison")  # fmt: skip
    parser.add_argument("--import-rounds", type=int, default=1,
                        help="import pairs, taking turns")  # fmt: skip
    parser.add_argument("--only", choices=["heat", "gi", "emerging", "scorecards",
                                           "inserts", "import"],
                        help="run one part")  # fmt: skip
    args = parser.parse_args()
    if args.county_url is None and args.only != "import":
        parser.error("--county-url is required (except with --only import)")
    print(f"load average {_load()}", flush=True)
    parts = {"heat": heat, "gi": gi_star, "emerging": emerging,
             "scorecards": scorecards}  # fmt: skip
    for name, part in parts.items():
        if args.only in (None, name):
            part(args.county_url)
    if args.only in (None, "inserts"):
        inserts(args.county_url, args.inserts)
    db.dispose_engines()
    if args.import_rows and args.only in (None, "import"):
        imports(args.import_rows, args.import_rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
