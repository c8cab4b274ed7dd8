#!/usr/bin/env python3
"""Peak memory of uploading a 1 MB zip that holds a 1 GiB ``.dbf``.

``.venv/bin/python scripts/bench_import_bomb.py [--dir DIR] [--json]
[--no-reference]``

1. Writes a zipped Shapefile of two dome cameras whose ``.dbf`` is padded with
   spaces to 1 GiB past its two records (it packs to about 1 MB; GDAL reads the
   two records the header declares and nothing past them).
2. In a fresh Python process, against a throwaway database (on DATABASE_URL's
   server, or the embedded cluster) holding the test squares and one planner:
   signs in and sends the zip through the import page (``POST /import``: the
   upload is stored, previewed and dry-run checked), then reports the answer's
   status and the process's peak resident memory (``resource.getrusage``).
3. The reference, in another fresh process: what reading the ``.dbf`` whole,
   as the encoding sniffer did before, costs on its own.

The target is a peak of at most 300 MB for the whole upload.  ``--json``
prints the figures as one JSON line (the memory test reads it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DBF_BYTES = 1 << 30
PASSWORD = "bomb-test-pass-1"


def make_zip(folder: Path) -> Path:
    """The zip: ``cams.shp/.shx/.prj/.cpg`` and a 1 GiB ``cams.dbf``."""
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame(
        {"code": ["B1", "B2"], "kind": ["dome", "dome"], "fov": [360.0, 360.0]},
        geometry=[shapely.Point(100.05, 30.05), shapely.Point(100.15, 30.05)],
        crs="EPSG:4326",
    )
    parts = folder / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    frame.to_file(parts / "cams.shp", encoding="UTF-8")
    archive = folder / "cams.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for part in sorted(parts.iterdir()):
            if part.suffix != ".dbf":
                out.write(part, part.name)
        dbf = (parts / "cams.dbf").read_bytes()
        with out.open("cams.dbf", "w", force_zip64=True) as member:
            member.write(dbf)
            block = b" " * (1 << 20)
            left = DBF_BYTES - len(dbf)
            while left > 0:
                member.write(block[: min(left, len(block))])
                left -= len(block)
    return archive


def upload(url: str, archive: Path, upload_dir: Path) -> dict:
    """Sign in and POST the zip to the import page; in this process."""
    import io
    import re

    from webmap import create_app

    app = create_app({"DATABASE_URL": url, "TESTING": True,
                      "UPLOAD_DIR": str(upload_dir)})  # fmt: skip
    client = app.test_client()
    token = re.compile(r'name="csrf_token" value="([^"]+)"')
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": "bomber", "password": PASSWORD,
                                "csrf_token": token.search(page).group(1)})  # fmt: skip
    page = client.get("/import").get_data(as_text=True)
    start = time.perf_counter()
    response = client.post(
        "/import",
        data={"layer": "cameras", "csrf_token": token.search(page).group(1),
              "file": [(io.BytesIO(archive.read_bytes()), archive.name)]},
        content_type="multipart/form-data",
    )  # fmt: skip
    seconds = time.perf_counter() - start
    html = response.get_data(as_text=True)
    answered = "读取" in html or "检查" in html or "错误" in html
    return {
        "status": response.status_code,
        "answered": answered and "Traceback" not in html,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        ),
    }


def whole_read(archive: Path) -> dict:
    """The reference: the ``.dbf`` read whole, as the old sniffer did."""
    with zipfile.ZipFile(archive) as source:
        data = source.read("cams.dbf")
    return {
        "bytes": len(data),
        "peak_rss_mb": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        ),
    }


def throwaway_database() -> tuple[str, object]:
    """A new, migrated database with the test squares and one planner, and
    the function that drops it."""
    from gis import db, schema, users
    from tests.worlds import build_areas

    server = db.database_url(start_embedded=True)
    name = f"pingan_bomb_{uuid.uuid4().hex[:8]}"
    url = db.create_database(server, name)
    schema.migrate(db.get_engine(url))
    with db.get_engine(url).begin() as conn:
        build_areas(conn)
        users.add(conn, "bomber", "planner", PASSWORD, actor="bench")

    def drop():
        db.dispose_engines()
        db.drop_database(server, name)

    return url, drop


def child(kind: str, *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, *args],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="where to write the zip (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="one JSON line out")
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "upload":
            out = upload(rest[0], Path(rest[1]), Path(rest[2]))
        else:
            out = whole_read(Path(rest[0]))
        print(json.dumps(out))
        return 0

    folder = Path(args.dir or tempfile.mkdtemp(prefix="pingan-bomb-"))
    archive = make_zip(folder)
    with zipfile.ZipFile(archive) as zipped:
        dbf = zipped.getinfo("cams.dbf").file_size
    url, drop = throwaway_database()
    try:
        figures = child("upload", url, str(archive), str(folder / "uploads"))
    finally:
        drop()
    figures |= {"zip_mb": round(archive.stat().st_size / 1e6, 2),
                "dbf_mib": dbf >> 20}  # fmt: skip
    if not args.no_reference and not args.json:
        figures["reference_peak_rss_mb"] = child("read", str(archive))["peak_rss_mb"]
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"zip {figures['zip_mb']} MB holding a {figures['dbf_mib']} MiB .dbf; "
          f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")  # fmt: skip
    print(f"upload (store, preview, dry run): HTTP {figures['status']} in "
          f"{figures['seconds']} s, peak RSS {figures['peak_rss_mb']} MB "
          f"(target <= 300 MB)")  # fmt: skip
    if "reference_peak_rss_mb" in figures:
        ratio = figures["reference_peak_rss_mb"] / figures["peak_rss_mb"]
        print(f"reference: reading the .dbf whole (the old sniffer) alone: peak RSS "
              f"{figures['reference_peak_rss_mb']} MB ({ratio:.1f}x)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
