#!/usr/bin/env python3
"""Benchmark importing a detailed village Shapefile (``python -m gis import villages``).

``.venv/bin/python scripts/bench_import_boundaries.py [--columns C --rows R]
[--grids]`` builds the synthetic county of :mod:`gis.demo.county` (default
100 x 100 = 10,000 villages of 300+ vertices sharing their edges), writes its
villages the way a surveying bureau sends them — a GBK Shapefile in the
CGCS2000 Gauss-Kruger zone of the county (EPSG:4547), Chinese field names — and
imports it into a throwaway database that holds the county's district,
townships and police stations (imported first, from GeoJSON).

Printed: the time to write the file, the import time (target: under 10 s for
10,000 villages) with its features/s, the same file imported again (every
feature unchanged), and with ``--grids`` the 50,000 grids as a second file.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import geopandas as gpd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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


def _import(engine, layer: str, path: Path, label: str) -> float:
    start = time.perf_counter()
    report = import_file(engine, layer, path)
    seconds = time.perf_counter() - start
    if report.status != "loaded":
        raise SystemExit(f"{label}: {report.summary()} {report.errors[:3]}")
    warnings = sum(f.severity != "error" for f in report.findings)
    print(
        f"  {label}: {seconds:6.2f} s, {report.read:,} features "
        f"({report.read / seconds:,.0f}/s), {report.unchanged:,} unchanged, "
        f"{warnings} warnings",
        flush=True,
    )
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=100)
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--grids", action="store_true", help="also import the grids")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    spec = county.CountySpec(columns=args.columns, rows=args.rows)
    start = time.perf_counter()
    areas = county.generate(spec)
    print(f"generated {len(areas):,} areas in {time.perf_counter() - start:.1f} s")
    server = db.database_url(start_embedded=True)
    name = f"pingan_bench_{uuid.uuid4().hex[:8]}"
    url = db.create_database(server, name)
    try:
        engine = db.get_engine(url)
        schema.migrate(engine)
        with tempfile.TemporaryDirectory(prefix="pingan-bench-") as tmp:
            folder = Path(tmp)
            for kind in ("district", "township", "police_station"):
                path = folder / f"{kind}.geojson"
                _frame(areas, kind, "EPSG:4326").to_file(path, driver="GeoJSON")
                import_file(engine, LAYERS[kind], path)
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
                _import(engine, LAYERS[kind], path, "first import ")
                _import(engine, LAYERS[kind], path, "same file again")
    finally:
        db.dispose_engines()
        db.drop_database(server, name)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
