#!/usr/bin/env python3
"""Readers while a 300,000-row incident import runs into a live county.

``.venv/bin/python scripts/bench_import_live.py [--template pingan_county |
--database NAME] [--rows 300000] [--seed 1] [--idle 10] [--workers N]
[--keep-db]``

1. Makes a copy of the county world (``--template``, default ``pingan_county``:
   about 5,000 villages and 1,000,000 incidents; ``CREATE DATABASE ...
   TEMPLATE``, which needs nobody connected to it), or uses the copy
   ``--database`` names (it is changed: step 5 empties its incident table).
2. Writes a CSV of N GCJ-02 incidents inside its district (once; reused).
3. Serves it (``python -m gis serve``, gunicorn) and signs in with an admin
   service token.  Two reader threads, one asking ``GET /api/lookup`` at
   random points of the district and one ``GET /api/incidents?limit=100``,
   run for ``--idle`` seconds with nothing else going on, then while ``python
   -m gis import incidents FILE --crs gcj02`` runs in its own process into the
   table that holds a million rows.
4. Prints p50/p99/max of each reader, idle and during the import (target: p99
   <= 200 ms during it), and the import's wall time.
5. The reference: the incident table emptied (in the copy) and the same
   import again, into the empty table (keys and indexes set aside), timed; the
   ratio of the two.

The copy is dropped at the end unless ``--keep-db``.  Everything runs on one
machine: the import, the server and the readers share its cores, and the load
average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import shapely
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_http_lookup import _Server, revoke_token, service_token  # noqa: E402
from bench_import import generate  # noqa: E402

from gis import db  # noqa: E402
from webmap.server import default_workers  # noqa: E402

PREFIX = "LV"  # codes of the imported rows: LV00000001 on
TARGET_P99_MS = 200.0


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


class Readers:
    """Threads asking one URL each, over and over, recording (start, seconds)."""

    def __init__(self, base: str, headers: dict, bbox, seed: int = 5):
        self.base, self.headers, self.bbox = base, headers, bbox
        self.rng = np.random.default_rng(seed)
        self.samples: dict[str, list[tuple[float, float]]] = {
            "lookup": [], "incidents": []
        }  # fmt: skip
        self.failures: list[str] = []
        self.stop = threading.Event()

    def _url(self, name: str) -> str:
        if name == "incidents":
            return f"{self.base}/api/incidents?limit=100"
        west, south, east, north = self.bbox
        lon, lat = self.rng.uniform(west, east), self.rng.uniform(south, north)
        return f"{self.base}/api/lookup?lon={lon:.6f}&lat={lat:.6f}"

    def _ask(self, name: str) -> None:
        while not self.stop.is_set():
            request = urllib.request.Request(self._url(name), headers=self.headers)
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    response.read()
            except Exception as exc:  # a reader's failure is a figure too
                self.failures.append(f"{name}: {exc}")
            self.samples[name].append((start, time.perf_counter() - start))

    def __enter__(self) -> Readers:
        self.threads = [
            threading.Thread(target=self._ask, args=(name,), daemon=True)
            for name in self.samples
        ]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def figures(self, name: str, start: float, end: float) -> dict:
        seconds = np.array([s for t, s in self.samples[name] if start <= t < end])
        if not seconds.size:
            return {"n": 0}
        p50, p99 = np.percentile(seconds, [50, 99]) * 1000
        return {"n": int(seconds.size), "p50_ms": round(float(p50), 1),
                "p99_ms": round(float(p99), 1),
                "max_ms": round(float(seconds.max() * 1000), 1)}  # fmt: skip


def timed_import(path: Path, env: dict) -> float:
    """Wall seconds of ``python -m gis import incidents`` in its own process."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "gis", "import", "incidents", str(path),
         "--crs", "gcj02", "--report", str(path.with_suffix(".live.json"))],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"the import failed:\n{done.stdout}\n{done.stderr}")
    print(f"  {done.stdout.strip().splitlines()[0]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="pingan_county")
    parser.add_argument("--database", help="an existing copy of the county world")
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    server_url = db.database_url(start_embedded=True)
    name, made = args.database, False
    if not name:
        name, made = f"pingan_live_{uuid.uuid4().hex[:8]}", True
        start = time.perf_counter()
        admin = sa.create_engine(db.admin_url(server_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(
                sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{args.template}"')
            )
        admin.dispose()
        print(f"database {name}: a copy of {args.template} in "
              f"{time.perf_counter() - start:.1f} s")  # fmt: skip
    url = sa.engine.make_url(server_url).set(database=name)
    url = url.render_as_string(hide_password=False)
    engine = db.get_engine(url)
    env = {**os.environ, "DATABASE_URL": url}
    os.environ["DATABASE_URL"] = url  # the token CLI and the server use it
    try:
        with engine.connect() as conn:
            held = conn.execute(sa.text("SELECT count(*) FROM incident")).scalar()
            wkb = conn.execute(sa.text(
                "SELECT ST_AsBinary(ST_Union(geom)) FROM area "
                "WHERE kind = 'district' AND valid_to IS NULL"
            )).scalar()  # fmt: skip
        outline = shapely.from_wkb(bytes(wkb))
        path = generate(args.rows, args.seed, outline, PREFIX)
        print(f"{path.name}: {args.rows:,} rows; the table holds {held:,} "
              f"incidents; load average {_load()}")  # fmt: skip
        figures = run(args, url, env, path, outline.bounds, engine)
        print(json.dumps(figures, ensure_ascii=False))
    finally:
        db.dispose_engines()
        if made and not args.keep_db:
            db.drop_database(server_url, name)
    return 0


def run(args, url: str, env: dict, path: Path, bbox, engine) -> dict:
    token, token_id = service_token("bench_live", "admin")
    headers = {"Authorization": f"Bearer {token}"}
    figures: dict = {}
    try:
        with (
            _Server(args.workers, env=env) as server,
            Readers(server.url, headers, bbox) as readers,
        ):
            print(f"server: {args.workers} workers on {server.url}; readers: "
                  "GET /api/lookup, GET /api/incidents?limit=100")  # fmt: skip
            idle_start = time.perf_counter()
            time.sleep(args.idle)
            live_start = time.perf_counter()
            live = timed_import(path, env)
            live_end = time.perf_counter()
            figures["live_import_s"] = round(live, 1)
            for name in readers.samples:
                figures[f"{name}_idle"] = readers.figures(name, idle_start, live_start)
                figures[f"{name}_during"] = readers.figures(name, live_start, live_end)
            failures = list(readers.failures)
    finally:
        revoke_token(token_id)
    print(f"import of {args.rows:,} rows into the live table: {live:.1f} s = "
          f"{args.rows / live:,.0f} rows/s; load average {_load()}")  # fmt: skip
    for name, label in (("lookup", "GET /api/lookup"),
                        ("incidents", "GET /api/incidents")):  # fmt: skip
        idle, during = figures[f"{name}_idle"], figures[f"{name}_during"]
        verdict = "ok" if during.get("p99_ms", 1e9) <= TARGET_P99_MS else "OVER"
        print(f"  {label:20s} idle: n={idle['n']} p50 {idle.get('p50_ms')} ms "
              f"p99 {idle.get('p99_ms')} ms | during the import: n={during['n']} "
              f"p50 {during.get('p50_ms')} ms p99 {during.get('p99_ms')} ms "
              f"max {during.get('max_ms')} ms (target p99 <= {TARGET_P99_MS:.0f} "
              f"ms: {verdict})")  # fmt: skip
    if failures:
        print(f"  {len(failures)} failed requests, e.g. {failures[0]}")
    figures["failures"] = len(failures)

    # The reference: the same rows into the empty table (this copy's only).
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE incident CASCADE"))
    empty = timed_import(path, env)
    figures["empty_import_s"] = round(empty, 1)
    print(f"the same import into the emptied table (keys and indexes set aside): "
          f"{empty:.1f} s = {args.rows / empty:,.0f} rows/s; live / empty = "
          f"{live / empty:.2f}; load average {_load()}")  # fmt: skip
    return figures


if __name__ == "__main__":
    sys.exit(main())
