#!/usr/bin/env python3
"""Benchmark importing a large CSV of GCJ-02 incidents (``gis.ingest.import_file``).

``.venv/bin/python scripts/bench_import.py [--rows N] [--chunk C] [--seed S]
[--keep-db] [--profile] [--no-reimport]``

1. Writes a deterministic CSV of N incident rows (default 1,000,000) to
   ``var/bench/`` — code, category, report time, status, risk, GCJ-02
   longitude/latitude inside the demo district and a Chinese description, a few
   of them quoted or with slashed dates — once; a later run with the same N and
   seed reuses it.
2. Creates a throwaway database on the embedded cluster (or DATABASE_URL's
   server) holding the demo boundaries, posts and sites (no incidents).
3. Imports the file (strict, ``--crs gcj02``), then imports it again (every row
   unchanged), each in a fresh Python process so that its peak RSS
   (``resource.getrusage``) is the import's own.

Prints rows/s end to end, seconds per stage, peak RSS and the load average
(other work on the two cores slows everything; compare stages by their shares).
Python's stages — ``read`` (bytes, decoding, CSV parsing), ``parse`` (typed
values, validation), ``transform`` (GCJ-02 to WGS84), ``check`` (points, codes,
rules), ``stage`` (the COPY data) — run while the database's — ``copy``,
``compare`` (rows already there unchanged), ``assign`` (areas, set-based),
``upsert`` — work on the previous chunk, so the stages add up to more than the
wall time.  ``wait`` is Python idle for the database; ``indexes`` is setting
the table's keys and indexes aside and rebuilding them at the end.

Last it measures the storage floor: the imported rows copied out in COPY's
binary format and, in a transaction rolled back afterwards, copied back into
the emptied table with its keys and indexes set aside
(:class:`gis.bulk.SetAside`, as an import into an empty table does) and then
put back: nothing parsed, transformed, checked or assigned.  No import of these
rows into this table can take less than that.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import shapely
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gis import boundaries, bulk, crs, db, demo, schema, vocab  # noqa: E402

BENCH_DIR = ROOT / "var" / "bench"
HEADER = "编号,事件类型,上报时间,状态,风险等级,经度,纬度,描述"
WHAT = [
    "楼上漏水",
    "噪音扰民",
    "宅基地界限争执",
    "拖欠工资",
    "借款到期未还",
    "物业费争议",
    "医疗费用争议",
    "占道经营",
    "违章搭建",
    "电动车充电隐患",
]
WHO = ["张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴"]


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def csv_path(rows: int, seed: int, prefix: str = "BI") -> Path:
    tag = "" if prefix == "BI" else f"-{prefix}"
    return BENCH_DIR / f"incidents{tag}-{rows}-s{seed}.csv"


def generate(rows: int, seed: int, outline=None, prefix: str = "BI") -> Path:
    """The benchmark CSV (UTF-8, GCJ-02), written once per (rows, seed,
    prefix): points inside ``outline`` (WGS84; default the demo district),
    codes ``<prefix>00000001`` on."""
    path = csv_path(rows, seed, prefix)
    if path.is_file():
        return path
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lon, lat = _points(rng, rows, outline)
    glon, glat = crs.from_wgs84(lon, lat, "gcj02")
    categories = np.array(list(vocab.INCIDENT_CATEGORIES.values()))
    statuses = np.array(
        [vocab.INCIDENT_STATUSES[s] for s in ("received", "dispatched", "handling")]
    )
    risks = np.array(["yellow", "orange", "red"])
    start = np.datetime64("2024-01-01T00:00:00")
    seconds = rng.integers(0, 900 * 86400, rows)
    times = (start + seconds.astype("timedelta64[s]")).astype(str)
    cat = categories[rng.integers(0, len(categories), rows)]
    status = statuses[rng.integers(0, 3, rows)]
    risk = risks[rng.choice(3, rows, p=[0.8, 0.15, 0.05])]
    what = rng.integers(0, len(WHAT), rows)
    who = rng.integers(0, len(WHO), (rows, 2))
    quoted = rng.random(rows) < 0.05  # an ASCII comma inside: a quoted field
    slashed = rng.random(rows) < 0.02  # typed by hand: 2025/3/1 8:30
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as out:
        out.write(HEADER + "\n")
        for i in range(rows):
            when = times[i].replace("T", " ")
            if slashed[i]:
                y, m, d = when[:10].split("-")
                when = f"{y}/{int(m)}/{int(d)} {int(when[11:13])}:{when[14:16]}"
            text = f"{WHO[who[i, 0]]}某与{WHO[who[i, 1]]}某{WHAT[what[i]]}"
            if quoted[i]:
                text = f'"{text}, 已调解{i % 7}次"'
            out.write(
                f"{prefix}{i + 1:08d},{cat[i]},{when},{status[i]},{risk[i]},"
                f"{glon[i]:.6f},{glat[i]:.6f},{text}\n"
            )
    tmp.rename(path)
    return path


def _points(rng, n: int, outline=None):
    """``n`` WGS84 points inside ``outline`` (default the demo district), 100 m
    clear of its edge."""
    if outline is None:
        outline = boundaries.load_outline("410902")
    outline = outline.buffer(-0.001)
    shapely.prepare(outline)
    x0, y0, x1, y1 = outline.bounds
    lon, lat = np.empty(0), np.empty(0)
    while len(lon) < n:
        x = rng.uniform(x0, x1, 2 * n)
        y = rng.uniform(y0, y1, 2 * n)
        inside = shapely.contains_xy(outline, x, y)
        lon, lat = np.concatenate([lon, x[inside]]), np.concatenate([lat, y[inside]])
    return lon[:n], lat[:n]


def _run_import(url: str, path: str, chunk: int | None, profile: bool, queue):
    """One import in a fresh process; sends back its figures."""
    from gis.ingest import import_file, sources

    if chunk:
        sources.CHUNK_ROWS = chunk
    engine = db.get_engine(url)
    timings: dict[str, float] = {}
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    report = import_file(engine, "incidents", path, crs="gcj02", timings=timings)
    seconds = time.perf_counter() - start
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    queue.put(
        {
            "seconds": seconds,
            "status": report.status,
            "read": report.read,
            "loaded": report.loaded,
            "unchanged": report.unchanged,
            "errors": [str(f) for f in report.errors[:5]],
            "timings": timings,
            "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "load": _load(),
        }
    )


def timed_import(url, path, chunk, profile) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(
        target=_run_import, args=(url, str(path), chunk, profile, queue)
    )
    child.start()
    result = queue.get()
    child.join()
    return result


def storage_floor(engine: sa.Engine) -> tuple[float, float]:
    """Seconds to COPY the incident table's own rows back into it, emptied,
    with every key and index set aside as an import into an empty table sets
    them, and to put those back; rolled back afterwards."""
    with tempfile.TemporaryFile(dir=BENCH_DIR) as dump:
        with engine.connect() as conn, conn.connection.cursor() as cursor:
            cursor.copy_expert("COPY incident TO STDOUT (FORMAT binary)", dump)
        with engine.connect() as conn:
            # The rows keep their areas: the row triggers stand aside.
            conn.execute(sa.text("SET LOCAL pingan.bulk_assign = 'on'"))
            conn.execute(sa.text("TRUNCATE incident"))
            aside = bulk.SetAside(conn, "incident", unique=True)
            dump.seek(0)
            start = time.perf_counter()
            with conn.connection.cursor() as cursor:
                cursor.copy_expert(
                    "COPY incident FROM STDIN (FORMAT binary)", dump, size=1 << 20
                )
            copy = time.perf_counter() - start
            start = time.perf_counter()
            aside.restore()
            restore = time.perf_counter() - start
            conn.rollback()
    return copy, restore


def show(label: str, result: dict, rows: int) -> None:
    print(
        f"{label}: {result['status']}, read {result['read']:,}, loaded "
        f"{result['loaded']:,} ({result['unchanged']:,} unchanged) in "
        f"{result['seconds']:.2f} s = {rows / result['seconds']:,.0f} rows/s; "
        f"peak RSS {result['rss_mib']:,.0f} MiB; load average {result['load']}"
    )
    for error in result["errors"]:
        print(f"  error: {error}")
    total = result["seconds"]
    for stage, seconds in result["timings"].items():
        print(f"  {stage:<14} {seconds:7.2f} s  {100 * seconds / total:5.1f} %")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--chunk",
        type=int,
        default=None,
        help="rows per chunk (default: the importer's)",
    )
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the database and print its URL"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print a cProfile summary of the first import",
    )
    parser.add_argument("--no-reimport", action="store_true")
    args = parser.parse_args()
    print(f"load average {_load()}", flush=True)
    start = time.perf_counter()
    path = generate(args.rows, args.seed)
    size = path.stat().st_size
    print(
        f"{path.relative_to(ROOT)}: {args.rows:,} rows, {size / 2**20:,.0f} MiB "
        f"(ready in {time.perf_counter() - start:.1f} s)",
        flush=True,
    )
    server = db.database_url(start_embedded=True)
    name = f"pingan_bench_{uuid.uuid4().hex[:8]}"
    url = db.create_database(server, name)
    try:
        engine = db.get_engine(url)
        schema.migrate(engine)
        demo.load(engine, incidents=0, cameras=0)
        db.dispose_engines()
        print(
            f"database {name} with the demo boundaries; load average {_load()}",
            flush=True,
        )
        first = timed_import(url, path, args.chunk, args.profile)
        show("import   ", first, args.rows)
        if not args.no_reimport:
            again = timed_import(url, path, args.chunk, False)
            show("re-import", again, args.rows)
        with db.get_engine(url).connect() as conn:
            assigned = conn.execute(
                sa.text(
                    "SELECT count(*), count(village_id), count(grid_id), "
                    "count(township_id), count(station_id) FROM incident"
                )
            ).one()
        print(
            "incidents / with village, grid, township, station: "
            + ", ".join(f"{n:,}" for n in assigned)
        )
        copy, restore = storage_floor(db.get_engine(url))
        print(
            f"floor: COPY of the stored rows {copy:.2f} s + keys and indexes "
            f"{restore:.2f} s = {copy + restore:.2f} s = "
            f"{assigned[0] / (copy + restore):,.0f} rows/s, nothing parsed, "
            "transformed, checked or assigned",
            flush=True,
        )
    finally:
        db.dispose_engines()
        if args.keep_db:
            print(f"kept {url}")
        else:
            db.drop_database(server, name)
    print(f"load average {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
