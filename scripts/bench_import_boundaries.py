#!/usr/bin/env python3
"""Benchmark importing a detailed village Shapefile (``python -m gis import villages``).

``.venv/bin/python scripts/bench_import_boundaries.py [--columns C --rows R]
[--grids] [--baseline DIR]`` builds the synthetic county of
:mod:`gis.demo.county` (default 100 x 100 = 10,000 villages of 300+ vertices
sharing their edges), writes its villages the way a surveying bureau sends
them — a GBK Shapefile in the CGCS2000 Gauss-Kruger zone of the county
(EPSG:4547), Chinese field names — and imports it into a throwaway database
that holds the county's district, townships and police stations (imported
first, from GeoJSON).

Printed: the time to write the file, the import time (target: under 10 s for
10,000 villages) with its features/s, the same file imported again (every
feature unchanged), and with ``--grids`` the 50,000 grids as a second file.
Each import runs in a fresh process (:mod:`benchlib`).  With ``--baseline
DIR`` the same files also go, turn about, into a second identical database
with the code of the checkout DIR (today's ``main``), and the ratio is
printed.  Last, the storage floor: the stored villages and their lookup
pieces deleted and COPYed back in binary form (rolled back), nothing read,
transformed, checked or cut.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import geopandas as gpd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import baseline_dir, import_in_child, ratio_line  # noqa: E402

from gis import db, schema  # noqa: E402
from gis.demo import county  # noqa: E402
from gis.ingest import import_file  # noqa: E402

LAYERS = {
    "district": "districts",
    "township": "townships",
    "police_station": "stations",
    "village": "villages",
    "grid": "grids",
}
ZONE = "EPSG:4547"  # CGCS2000 3-degree Gauss-Kruger, CM 114E, no zone prefix


def _frame(areas: list[dict], kind: str, crs: str) -> gpd.GeoDataFrame:
    rows = [a for a in areas if a["kind"] == kind]
    frame = gpd.GeoDataFrame(
        {
            "编码": [a["code"] for a in rows],
            "名称": [a["name"] for a in rows],
            "上级编码": [a["parent_code"] for a in rows],
        },
        geometry=[a["geom"] for a in rows],
        crs="EPSG:4326",
    )
    return frame.to_crs(crs) if crs != "EPSG:4326" else frame


def _import(url: str, layer: str, path: Path, label: str, code=None) -> float:
    """One import in a fresh process (with the ``gis`` of ``code`` if given)."""
    result = import_in_child(url, layer, path, **({"code": code} if code else {}))
    if result["status"] != "loaded":
        raise SystemExit(f"{label}: {result['status']} {result['errors'][:3]}")
    seconds = result["seconds"]
    print(
        f"  {label}: {seconds:6.2f} s, {result['read']:,} features "
        f"({result['read'] / seconds:,.0f}/s), {result['unchanged']:,} unchanged, "
        f"{result['warnings']} warnings, peak RSS {result['rss_mib']:,.0f} MiB",
        flush=True,
    )
    return seconds


def _parents(url: str, areas: list[dict], folder: Path) -> None:
    """District, townships and stations, imported from GeoJSON."""
    engine = db.get_engine(url)
    schema.migrate(engine)
    for kind in ("district", "township", "police_station"):
        path = folder / f"{kind}.geojson"
        if not path.exists():
            _frame(areas, kind, "EPSG:4326").to_file(path, driver="GeoJSON")
        import_file(engine, LAYERS[kind], path)


def storage_floor(url: str, kind: str) -> float:
    """Seconds to COPY the stored areas of ``kind`` and their lookup pieces
    back into the tables they were deleted from (rolled back afterwards)."""
    engine = db.get_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.text("SET LOCAL pingan.bulk_subdivide = 'on'"))
        dumps = {}
        cursor = conn.connection.cursor()
        for table, where in (("area", f"kind = '{kind}'"),
                             ("area_part", f"kind = '{kind}'")):  # fmt: skip
            dumps[table] = io.BytesIO()
            cursor.copy_expert(
                f"COPY (SELECT * FROM {table} WHERE {where}) TO STDOUT "
                "(FORMAT binary)", dumps[table],
            )  # fmt: skip
        cursor.execute(f"DELETE FROM area_part WHERE kind = '{kind}'; "
                       f"DELETE FROM area WHERE kind = '{kind}'")  # fmt: skip
        start = time.perf_counter()
        for table in ("area", "area_part"):
            dumps[table].seek(0)
            cursor.copy_expert(f"COPY {table} FROM STDIN (FORMAT binary)", dumps[table])
        seconds = time.perf_counter() - start
        conn.rollback()
    return seconds


def _compare(urls: list[str], layer: str, path: Path, baseline) -> None:
    """First import and the same file again, taking turns with the baseline
    (this first, then the baseline first)."""
    first = _import(urls[0], layer, path, "first import ")
    if baseline is not None:
        base = _import(urls[1], layer, path, "baseline first import ", baseline)
        print("  " + ratio_line("first import", first, base))
        base = _import(urls[1], layer, path, "baseline same file again", baseline)
    again = _import(urls[0], layer, path, "same file again")
    if baseline is not None:
        print("  " + ratio_line("same file again", again, base))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=100)
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--grids", action="store_true", help="also import the grids")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="also import with the code of this checkout (e.g. a worktree of "
        "main), into a second identical database, and print the ratio",
    )
    args = parser.parse_args()
    baseline = baseline_dir(args.baseline)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    spec = county.CountySpec(columns=args.columns, rows=args.rows)
    start = time.perf_counter()
    areas = county.generate(spec)
    print(f"generated {len(areas):,} areas in {time.perf_counter() - start:.1f} s")
    server = db.database_url(start_embedded=True)
    names = [f"pingan_bench_{uuid.uuid4().hex[:8]}"]
    if baseline is not None:
        names.append(f"pingan_bench_{uuid.uuid4().hex[:8]}")
    urls = [db.create_database(server, name) for name in names]
    try:
        with tempfile.TemporaryDirectory(prefix="pingan-bench-") as tmp:
            folder = Path(tmp)
            for url in urls:
                _parents(url, areas, folder)
            kinds = ("village", "grid") if args.grids else ("village",)
            for kind in kinds:
                start = time.perf_counter()
                path = folder / f"{kind}.shp"
                frame = _frame(areas, kind, ZONE)
                frame.to_file(path, encoding="GBK")
                vertices = int(frame.geometry.count_coordinates().mean())
                print(
                    f"{LAYERS[kind]}: {len(frame):,} polygons, {vertices} vertices "
                    f"each on average, GBK Shapefile in {ZONE} written in "
                    f"{time.perf_counter() - start:.1f} s"
                )
                _compare(urls, LAYERS[kind], path, baseline)
                floor = storage_floor(urls[0], kind)
                print(f"  floor: COPY of the stored {LAYERS[kind]} and their "
                      f"lookup pieces {floor:.2f} s = {len(frame) / floor:,.0f}/s, "
                      "nothing read, transformed, checked or cut", flush=True)
    finally:
        db.dispose_engines()
        for name in names:
            db.drop_database(server, name)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
