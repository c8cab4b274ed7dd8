#!/usr/bin/env python3
"""Benchmark importing a large CSV of GCJ-02 incidents (``gis.ingest.import_file``).

``.venv/bin/python scripts/bench_import.py [--rows N] [--chunk C] [--seed S]
[--keep-db] [--profile] [--no-reimport] [--baseline DIR [--rounds N]]``

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

With ``--baseline DIR`` the same file is also imported, turn about, by the
code of the checkout DIR (today's ``main``, say) into a second identical
database, and the ratio of the times is printed (:mod:`benchlib`).

Last it measures the storage floor: the imported rows copied out in COPY's
binary format and, in a transaction rolled back afterwards, copied back into
the emptied table with its keys and indexes set aside
(:class:`gis.bulk.SetAside`, as an import into an empty table does) and then
put back: nothing parsed, transformed, checked or assigned.  No import of these
rows into this table can take less than that.
"""

from __future__ import annotations

import argparse
import os
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

from benchlib import baseline_dir, import_in_child, ratio_line  # noqa: E402

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


def timed_import(url, path, chunk, profile, code=ROOT) -> dict:
    """The import in a fresh process (its peak RSS is its own), with the
    ``gis`` of the checkout ``code``."""
    result = import_in_child(url, "incidents", path, code, chunk, profile,
                             crs="gcj02")  # fmt: skip
    result["load"] = _load()
    return result


def _turns(url, other, path, args, baseline, label, first=True) -> tuple:
    """One import of the file with this code and, if asked, one with the
    baseline's (``first``: this one first); their seconds."""
    order = [("this", url, ROOT), ("baseline", other, baseline)]
    if not first:
        order.reverse()
    seconds = {}
    for who, target, code in order:
        if target is None:
            continue
        result = timed_import(target, path, args.chunk,
                              args.profile and who == "this", code)  # fmt: skip
        show(f"{label} ({who})", result, args.rows)
        seconds[who] = result["seconds"]
    if other is not None:
        print(ratio_line(label, seconds["this"], seconds["baseline"]), flush=True)
    return seconds["this"], seconds.get("baseline", seconds["this"])


def empty_incidents(url: str) -> None:
    """The incident table emptied and settled, for another first import."""
    engine = db.get_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("TRUNCATE incident"))
        conn.execute(sa.text("VACUUM ANALYZE"))


def fresh_database(server: str) -> tuple[str, str]:
    """A migrated database holding the demo's boundaries, posts and sites."""
    name = f"pingan_bench_{uuid.uuid4().hex[:8]}"
    url = db.create_database(server, name)
    engine = db.get_engine(url)
    schema.migrate(engine)
    demo.load(engine, incidents=0, cameras=0)
    # Settled before anything is timed: otherwise the autovacuum of a
    # database just loaded runs during the other database's import.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    db.dispose_engines()
    return name, url


def storage_floor(engine: sa.Engine) -> tuple[float, float]:
    """Seconds to COPY the incident table's own rows back into it, emptied,
    with every key and index set aside as an import into an empty table sets
    them, and to put those back; rolled back afterwards."""
    with tempfile.TemporaryFile(dir=BENCH_DIR) as dump:
        with engine.connect() as conn, conn.connection.cursor() as cursor:
            cursor.copy_expert("COPY incident TO STDOUT (FORMAT binary)", dump)
            written = _filled_columns(conn)
        with engine.connect() as conn:
            # The rows keep their areas: the row triggers stand aside.
            conn.execute(sa.text("SET LOCAL pingan.bulk_assign = 'on'"))
            conn.execute(sa.text("TRUNCATE incident"))
            # As the import sets them aside (a partial index of a column
            # every row leaves NULL stays).
            aside = bulk.SetAside(conn, "incident", unique=True, written=written)
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


def _filled_columns(conn) -> list[str]:
    """The incident columns that hold a value in some row."""
    names = conn.execute(
        sa.text(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'incident'::regclass "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        )
    ).scalars().all()
    counts = conn.execute(
        sa.text(f"SELECT {', '.join(f'count({n})' for n in names)} FROM incident")
    ).one()
    return [name for name, count in zip(names, counts, strict=True) if count]


def show(label: str, result: dict, rows: int) -> None:
    print(
        f"{label}: {result['status']}, read {result['read']:,}, loaded "
        f"{result['loaded']:,} ({result['unchanged']:,} unchanged) in "
        f"{result['seconds']:.2f} s = {rows / result['seconds']:,.0f} rows/s; "
        f"Python's CPU {result['cpu_s']:.2f} s; peak RSS {result['rss_mib']:,.0f} "
        f"MiB; load average {result['load']}"
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
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="with --baseline: rounds of both imports, taking turns; the best "
        "of each is compared",
    )
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="also import with the code of this checkout (e.g. a worktree of "
        "main), on a second identical database, and print the ratio",
    )
    args = parser.parse_args()
    baseline = baseline_dir(args.baseline)
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
    name, url = fresh_database(server)
    names = [name]
    try:
        other = None
        if baseline is not None:
            base_name, other = fresh_database(server)
            names.append(base_name)
        print(
            f"database(s) {', '.join(names)} with the demo boundaries; load "
            f"average {_load()}",
            flush=True,
        )
        # Taking turns (this first, then the baseline first), so that both
        # meet the same load on the machine and the same warm caches; with
        # --rounds the best of each is compared (the least disturbed run).
        pairs = {"import": [], "re-import": []}
        for round_no in range(args.rounds):
            if round_no:
                for each in (url, other):
                    if each is not None:
                        empty_incidents(each)
            pairs["import"].append(_turns(url, other, path, args, baseline, "import",
                                          first=round_no % 2 == 0))  # fmt: skip
            if not args.no_reimport:
                pairs["re-import"].append(_turns(url, other, path, args, baseline,
                                                 "re-import",
                                                 first=round_no % 2 == 1))  # fmt: skip
        if other is not None:
            for label, runs in pairs.items():
                if runs:
                    best = [min(r[i] for r in runs) for i in (0, 1)]
                    print(ratio_line(f"{label}, best of {len(runs)}", *best),
                          flush=True)  # fmt: skip
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
            for each in names:
                db.drop_database(server, each)
    print(f"load average {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
