#!/usr/bin/env python3
"""Benchmark: fresh clone → served coverage map, then the page's size and speed.

Run from a checkout: ``.venv/bin/python scripts/bench_demo.py [--skip-clone URL]``.
It clones HEAD into a temporary directory, runs ``./scripts/demo`` there on a
free port, waits for ``/map/coverage`` to answer, and prints:

- seconds from the clone to the first served coverage page (pip's download cache
  is kept, so packages are installed but not downloaded again);
- the coverage page's HTML size, server time (median of 5) and browser load time
  in headless Chromium with every non-loopback request blocked.

Afterwards it stops the clone's server and embedded cluster and deletes it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def fetch(url: str) -> tuple[bytes, float]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        body = response.read()
    return body, time.perf_counter() - start


def browser_load(url: str) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        external = []
        page.route(
            "**/*",
            lambda r: (
                r.continue_()
                if r.request.url.startswith("http://127.0.0.1")
                else (external.append(r.request.url), r.abort())
            ),
        )
        start = time.perf_counter()
        page.goto(url, wait_until="load")
        loaded = time.perf_counter() - start
        page.wait_for_function("() => window.paMap && paMap.drawn >= 1")
        drawn = time.perf_counter() - start
        browser.close()
    return {"load_s": loaded, "drawn_s": drawn, "external_requests": len(external)}


def run(clone_from: Path) -> dict:
    work = Path(tempfile.mkdtemp(prefix="pingan-bench-"))
    port = free_port()
    env = dict(os.environ, PORT=str(port))
    env.pop("DATABASE_URL", None)
    start = time.monotonic()
    subprocess.run(
        ["git", "clone", "-q", str(clone_from), str(work / "repo")], check=True
    )
    repo = work / "repo"
    log = open(work / "demo.log", "w")
    server = subprocess.Popen(
        ["./scripts/demo"],
        cwd=repo,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/map/coverage"
    try:
        wait_for(url, timeout=1500)
        first_page = time.monotonic() - start
        times = []
        for _ in range(5):
            body, seconds = fetch(url)
            times.append(seconds)
        figures = {
            "clone_to_page_s": first_page,
            "page_bytes": len(body),
            "server_median_s": statistics.median(times),
            **browser_load(url),
        }
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        subprocess.run(
            [".venv/bin/python", "-m", "gis", "db", "stop"],
            cwd=repo,
            env=env,
            capture_output=True,
        )
        location = repo / "var" / "pg.location"
        if location.exists():
            shutil.rmtree(location.read_text().strip(), ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="what to clone")
    args = parser.parse_args()
    figures = run(args.repo)
    print(json.dumps(figures, indent=2))
    print(f"fresh clone → served coverage page: {figures['clone_to_page_s']:.0f} s")
    print(
        f"coverage page: {figures['page_bytes'] / 1e6:.2f} MB HTML, server "
        f"{figures['server_median_s']:.2f} s, browser load "
        f"{figures['load_s']:.2f} s, layers drawn {figures['drawn_s']:.2f} s, "
        f"external requests {figures['external_requests']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
