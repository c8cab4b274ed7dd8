#!/usr/bin/env python3
"""What a map costs by view: each layer request, and the coverage page in Chromium.

Targets (issue 12), over the demo district and the county world:

- every layer request at zooms 9, 12, 15 and 18: demo ≤ 100 ms server time and
  ≤ 300 KB; county (10,000 villages, 50,000 grids, 1,000,000 incidents)
  ≤ 300 ms and ≤ 500 KB;
- the coverage page in headless Chromium: first layers drawn ≤ 2 s and a pan
  redrawn ≤ 1 s, on both worlds, read from the page's own timing marks
  (``pa-first-draw``, ``pa-fetch-<n>``/``pa-drawn-<n>``; webmap/static/pingan-map.js);
- the 一村一警 gaps map (/map/gaps): its first layers and its whole report
  drawn (``pa-gaps-drawn``);
- beside them, today's figures: the page of commit d4df023 (the last that
  embedded every layer in the page), its bytes and its time to draw, same
  worlds, same run.

Run after ``python -m gis demo`` (the district, in the embedded cluster's
database or ``DATABASE_URL``) and ``python -m gis demo --county`` into a second
database, given as ``--county-url``::

    createdb pingan_county   # or any empty database on the same server
    DATABASE_URL=postgresql://.../pingan_county python -m gis demo --county
    .venv/bin/python scripts/bench_layers.py --county-url postgresql://.../pingan_county

Layer requests go through the real app (``webmap.create_app``, in this
process, as the ``pingan_web`` role under the row policies) with a planner's
bearer token and ``Accept-Encoding: gzip``, as a browser sends them.  A view
is what the page asks for: a 1400 x 900 px window padded by a quarter on each
side (pingan-map.js's ``PAD``), centred on five points of the world (its middle
and the middles of its quarters); each (layer, zoom) is requested once per
centre after one warm-up request, and the slowest and largest are reported.
"Server time" is the request's whole time in the app: sign-in check, scope,
query, JSON, gzip.  "KB" is what goes on the wire (gzipped), the JSON it
holds in brackets.

The browser figures come from ``python -m gis serve`` (gunicorn, 2 workers)
per world, and, for today's page, the same command run from ``git archive
d4df023``; both signed in through the login form as the same planner.  Today's
page is timed to its ``load`` event (its layers are drawn by then) and given
``--today-timeout`` seconds; the server's statement timeout is raised to match.
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from bench_access import _export
from bench_http_lookup import _load, _Server

from gis import db as gis_db
from gis import layers, users
from gis.layers.base import TILE

TODAY_COMMIT = "d4df023"  # the last commit whose map pages embedded their data
ZOOMS = (9, 12, 15, 18)
TARGETS = {"demo": (100.0, 300.0), "county": (300.0, 500.0)}  # ms, KB
PAGE_TARGETS = (2000.0, 1000.0)  # first draw, pan redraw (ms)
WIDTH, HEIGHT, PAD = 1400, 900, 0.25
USER = "bench_layers"
CHROMIUM = "/usr/bin/chromium"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--demo-url", help="default: the embedded cluster's database")
    parser.add_argument("--county-url", help="a database holding demo --county")
    parser.add_argument("--pans", type=int, default=6, help="pans timed per page")
    parser.add_argument("--no-browser", dest="browser", action="store_false")
    parser.add_argument("--no-today", dest="today", action="store_false",
                        help="skip today's page (commit d4df023)")  # fmt: skip
    parser.add_argument("--today-timeout", type=int, default=300)
    args = parser.parse_args()
    worlds = {"demo": args.demo_url or gis_db.database_url(start_embedded=True)}
    if args.county_url:
        worlds["county"] = args.county_url
    else:
        print("no --county-url: the county world is not measured\n")
    print(f"machine: {os.cpu_count()} CPUs, load average before {_load()}")
    password = "Bench-" + secrets.token_urlsafe(12)
    for url in worlds.values():
        _bench_user(url, password)
    failures = 0
    for world, url in worlds.items():
        failures += _layer_requests(world, url)
    if args.browser:
        with tempfile.TemporaryDirectory(prefix=f"pingan-{TODAY_COMMIT}-") as old:
            if args.today:
                _export(TODAY_COMMIT, Path(old))
            for world, url in worlds.items():
                failures += _pages(world, url, password, args, Path(old))
    print(f"\nload average after: {_load()}")
    print("all targets met" if not failures else f"{failures} target(s) missed")
    return 0


def _bench_user(url: str, password: str) -> None:
    """The planner the benchmark signs in as, with a fresh password."""
    engine = gis_db.get_engine(url)
    with engine.begin() as conn:
        exists = conn.execute(
            sa.text("SELECT 1 FROM app_user WHERE username = :u"), {"u": USER}
        ).scalar()
        if exists:
            users.set_password(conn, USER, password, actor="bench")
        else:
            users.add(conn, USER, "planner", password, actor="bench")
        conn.execute(  # a machine that ran the flood benchmark may be locked out
            sa.text("DELETE FROM login_failure WHERE username = :u OR client_addr = "
                    "'127.0.0.1'"),
            {"u": USER},
        )  # fmt: skip


def _extent(url: str) -> tuple[float, float, float, float]:
    with gis_db.get_engine(url).connect() as conn:
        return tuple(
            conn.execute(
                sa.text(
                    "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                    "(SELECT ST_Extent(geom) e FROM area WHERE kind = 'district' "
                    "AND valid_to IS NULL) x"
                )
            ).one()
        )


def _views(extent, zoom: int) -> list[str]:
    """The bbox a 1400 x 900 page asks for at ``zoom`` (padded), at five
    centres of the world."""
    w, s, e, n = extent
    centres = [((w + e) / 2, (s + n) / 2)] + [
        (w + (e - w) * fx, s + (n - s) * fy)
        for fx in (0.25, 0.75)
        for fy in (0.25, 0.75)
    ]
    dx = WIDTH * (1 + 2 * PAD) / 2 * 360 / (TILE * 2**zoom)
    out = []
    for x, y in centres:
        # Web Mercator: a degree of latitude takes more pixels than one of
        # longitude by 1 / cos(latitude).
        dy = HEIGHT * (1 + 2 * PAD) / 2 * 360 / (TILE * 2**zoom) * math.cos(
            math.radians(y)
        )
        out.append(f"{x - dx:.6f},{y - dy:.6f},{x + dx:.6f},{y + dy:.6f}")
    return out


def _layer_requests(world: str, url: str) -> int:
    from webmap import create_app

    app = create_app({"DATABASE_URL": url})
    with gis_db.get_engine(url).begin() as conn:
        token, token_id = users.issue_service_token(conn, f"svc_{USER}", "planner")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}
    extent = _extent(url)
    limit_ms, limit_kb = TARGETS[world]
    print(f"\n== {world}: layer requests (target ≤ {limit_ms:.0f} ms, "
          f"≤ {limit_kb:.0f} KB on the wire) ==")  # fmt: skip
    print(f"{'layer':10s}" + "".join(f" | z{z:<2d} ms   KB (JSON)  mode    "
                                     for z in ZOOMS))  # fmt: skip
    worst_ms = worst_kb = 0.0
    missed = 0
    for name in layers.LAYERS:
        cells = []
        for zoom in ZOOMS:
            times, wire, raw, modes = [], [], [], set()
            views = _views(extent, zoom)
            client.get(f"/api/layers/{name}?bbox={views[0]}&zoom={zoom}",
                       headers=headers)  # fmt: skip  (warm-up)
            for bbox in views:
                start = time.perf_counter()
                response = client.get(
                    f"/api/layers/{name}?bbox={bbox}&zoom={zoom}", headers=headers
                )
                times.append((time.perf_counter() - start) * 1000)
                body = response.get_data()
                assert response.status_code == 200, body[:300]
                wire.append(len(body) / 1024)
                if response.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                raw.append(len(body) / 1024)
                modes.add(_mode(body))
            ms, kb = max(times), max(wire)
            worst_ms, worst_kb = max(worst_ms, ms), max(worst_kb, kb)
            flag = "!" if ms > limit_ms or kb > limit_kb else " "
            missed += flag == "!"
            cells.append(f"{ms:6.1f}{flag}{kb:6.1f} ({max(raw):6.0f}) "
                         f"{'/'.join(sorted(modes)):8s}")  # fmt: skip
        print(f"{name:10s}" + "".join(f" | {c}" for c in cells))
    print(f"{world}: slowest request {worst_ms:.1f} ms (target ≤ {limit_ms:.0f}), "
          f"largest {worst_kb:.1f} KB (target ≤ {limit_kb:.0f}): "
          f"{'met' if not missed else f'{missed} cell(s) over'}")  # fmt: skip
    with gis_db.get_engine(url).begin() as conn:
        users.revoke_token(conn, token_id, actor="bench")
    return missed


def _mode(body: bytes) -> str:
    head = body[:200].decode("utf-8", "replace")
    return head.split('"mode":"')[1].split('"')[0] if '"mode":"' in head else "?"


_PAN_JS = """async ([dx, dy]) => {
  const before = paMap.drawn, t0 = performance.now();
  paMap.map.panBy([dx, dy], {animate: false});
  while (paMap.drawn <= before) { await new Promise(r => setTimeout(r, 5)); }
  return performance.getEntriesByName('pa-drawn-' + paMap.drawn)[0].startTime - t0;
}"""


def _pages(world: str, url: str, password: str, args, old_root: Path) -> int:
    from playwright.sync_api import sync_playwright

    env = {**os.environ, "DATABASE_URL": url}
    missed = 0
    print(f"\n== {world}: coverage page in headless Chromium ==")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        with _Server(2, env=env) as server:
            page = _signed_in(browser, server.url, password)
            start = time.perf_counter()
            response = page.goto(f"{server.url}/map/coverage", wait_until="load")
            html = len(response.body())
            page.wait_for_function("() => window.paMap && paMap.drawn >= 1",
                                   timeout=60_000)  # fmt: skip
            first = page.evaluate(
                "() => performance.getEntriesByName('pa-first-draw')[0].startTime"
            )
            wall = (time.perf_counter() - start) * 1000
            page.evaluate("() => { paMap.map.setZoom(13, {animate: false}); }")
            page.wait_for_function("() => paMap.drawn >= 2", timeout=60_000)
            moves = [(700, 0), (0, 450), (-700, 0), (0, -450), (350, 225), (-350, -225)]
            pans = [page.evaluate(_PAN_JS, moves[i % len(moves)])
                    for i in range(args.pans)]  # fmt: skip
            # The gaps map: its layers by view, and the whole report (one request).
            response = page.goto(f"{server.url}/map/gaps", wait_until="load")
            gaps_html = len(response.body())
            page.wait_for_function(
                "() => performance.getEntriesByName('pa-gaps-drawn').length",
                timeout=120_000,
            )
            gaps_first, gaps_report = page.evaluate(
                "() => ['pa-first-draw', 'pa-gaps-drawn'].map("
                "n => performance.getEntriesByName(n)[0].startTime)"
            )
            page.close()
        first_ok = first <= PAGE_TARGETS[0]
        pan_ok = max(pans) <= PAGE_TARGETS[1]
        missed += (not first_ok) + (not pan_ok)
        print(f"page HTML {html / 1024:.1f} KB; first layers drawn {first:.0f} ms "
              f"after navigation (target ≤ {PAGE_TARGETS[0]:.0f}: "
              f"{'met' if first_ok else 'MISSED'}; {wall:.0f} ms by this script's "
              "clock)")  # fmt: skip
        print(f"pan at zoom 13, redrawn: median {statistics.median(pans):.0f} ms, "
              f"slowest {max(pans):.0f} ms of {len(pans)} (target ≤ "
              f"{PAGE_TARGETS[1]:.0f}: {'met' if pan_ok else 'MISSED'})")  # fmt: skip
        print(f"gaps map: HTML {gaps_html / 1024:.1f} KB, first layers drawn "
              f"{gaps_first:.0f} ms, the whole report (summary, ranked list, "
              f"villages coloured) {gaps_report:.0f} ms after navigation")  # fmt: skip
        if args.today:
            _today(browser, world, env, password, args, old_root, html, first)
        browser.close()
    return missed


def _today(browser, world, env, password, args, old_root, html, first) -> None:
    """Today's page (commit d4df023), the same world, same run."""
    seconds = args.today_timeout
    env = {**env, "PINGAN_DB_STATEMENT_TIMEOUT": str(seconds)}
    with _Server(2, root=old_root, env=env) as server:
        page = _signed_in(browser, server.url, password)
        start = time.perf_counter()
        try:
            response = page.goto(f"{server.url}/map/coverage", wait_until="load",
                                 timeout=seconds * 1000)  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - a timeout is today's figure
            print(f"today ({TODAY_COMMIT}): no page within {seconds} s "
                  f"({type(exc).__name__})")  # fmt: skip
            page.close()
            return
        wall = (time.perf_counter() - start) * 1000
        status, size = response.status, len(response.body())
        loaded = page.evaluate(
            "() => performance.getEntriesByType('navigation')[0].loadEventEnd"
        )
        page.close()
    if status != 200:
        why = " (gunicorn ends a worker after 120 s)" if wall > 119_000 else ""
        print(f"today ({TODAY_COMMIT}): no page, HTTP {status} after "
              f"{wall / 1000:.1f} s{why}")  # fmt: skip
        return
    print(f"today ({TODAY_COMMIT}): page HTML {size / 1024:,.0f} KB, drawn at its "
          f"load event {loaded:,.0f} ms after navigation; now: {html / size:.4f} "
          f"of its bytes, {first / loaded:.2f} of its time")  # fmt: skip


def _signed_in(browser, base: str, password: str):
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    page.goto(f"{base}/login")
    page.fill("input[name=username]", USER)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    if "/login" in page.url:
        sys.exit(f"could not sign in as {USER} at {base}")
    return page


if __name__ == "__main__":
    sys.exit(main())
