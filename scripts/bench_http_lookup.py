#!/usr/bin/env python3
"""Load-test /api/lookup over HTTP against the production server.

Run after ``./scripts/demo`` (or ``python -m gis demo``), with wrk installed
(``apt-get install wrk`` or ``./scripts/setup --dev``)::

    .venv/bin/python scripts/bench_http_lookup.py [--duration 20] [--workers N]

Starts ``python -m gis serve`` (gunicorn) on a free loopback port against the
demo database (or ``DATABASE_URL``), waits for /healthz, signs in (every route
needs it: a planner's service token from ``python -m gis token issue``, valid for
a day and revoked at the end; a CLI token, not ``POST /api/token``, so a sign-in
lock-out of 127.0.0.1 cannot stop the benchmark), then

1. single lookups: wrk, from its own process, sends GET /api/lookup with
   ``Authorization: Bearer`` for random points in the district's bounding box
   (some fall outside the district, as real intake does) and reports
   requests/s, p50/p95/p99 and non-2xx responses;
2. batches: POST /api/lookup with 10,000 random points, with the same token,
   repeatedly, from one client and then from one client per worker, and
   reports points/s;

and stops the server.  Figures depend on what else the machine is doing: the
load average is printed before and after.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gis import lookup  # noqa: E402
from webmap.server import default_workers  # noqa: E402

BBOX = (114.874, 35.584, 115.249, 35.863)  # west, south, east, north (华龙区)
TARGETS = {"rps": 1000, "p95_ms": 5.0, "p99_ms": 20.0, "points_s": 50_000}
SERVICE_ACCOUNT = "bench_http"  # a planner service account, made on first use

# wrk runs this in each of its threads: random points, then one summary line.
WRK_SCRIPT = """
local west, south, east, north = BBOX
local count = 0
function setup(thread)
  count = count + 1
  thread:set("id", count)
end
function init(args)
  math.randomseed(os.time() * 100 + id)
end
function request()
  local lon = west + math.random() * (east - west)
  local lat = south + math.random() * (north - south)
  return wrk.format("GET", string.format("/api/lookup?lon=%.6f&lat=%.6f", lon, lat))
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d non2xx=%d socket_errors=%d "
    .. "p50_us=%d p95_us=%d p99_us=%d max_us=%d\\n",
    summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max))
end
""".replace("BBOX", ", ".join(map(str, BBOX)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="wrk seconds")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument(
        "--connections", type=int, default=None, help="wrk connections (=workers)"
    )
    parser.add_argument("--batches", type=int, default=8, help="per batch run")
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        print(
            "wrk is not installed: apt-get install wrk (or ./scripts/setup --dev)",
            file=sys.stderr,
        )
        return 2
    connections = args.connections or args.workers
    print(f"machine: {os.cpu_count()} CPUs, load average {_load()}")
    token, token_id = service_token(SERVICE_ACCOUNT, "planner")
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with _Server(args.workers) as server:
            print(
                f"server: python -m gis serve (gunicorn, {args.workers} sync "
                f"workers) on {server.url}; signed in as {SERVICE_ACCOUNT} "
                f"(planner, service token {token_id})"
            )
            _check_demo(server.url, headers)
            single = _run_wrk(wrk, server.url, args.duration, connections, headers)
            _report_single(single, args.duration, connections)
            _report_batches(server.url, args.batches, args.workers, headers)
    finally:
        revoke_token(token_id)
    print(f"load average after: {_load()}")
    return 0


def _report_batches(url: str, batches: int, workers: int, headers: dict) -> None:
    for clients in sorted({1, workers}):
        rate, median = _run_batches(url, batches, clients, headers)
        ok = "met" if rate >= TARGETS["points_s"] else "NOT met"
        print(
            f"batch POST /api/lookup ({lookup.MAX_BATCH:,} points, {clients} "
            f"client(s) x {batches}): {rate:,.0f} points/s, median "
            f"{median:.2f} s per batch (target {TARGETS['points_s']:,}: {ok})"
        )


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _gis_cli(*args: str) -> str:
    """Run ``python -m gis ARGS`` from this checkout; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "gis", *args], cwd=ROOT, capture_output=True,
        text=True,
    )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"python -m gis {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def service_token(
    account: str, role: str, station: str | None = None
) -> tuple[str, int]:
    """A one-day API token of service ``account`` (made with ``role``, bound to
    police station ``station`` if given, on first use) from ``python -m gis
    token issue``, and the token's id."""
    bound = ["--station", station] if station else []
    out = _gis_cli("token", "issue", account, "--role", role, *bound, "--days", "1")
    lines = out.strip().splitlines()
    found = re.search(r"token (\d+)", lines[0])
    if found is None or len(lines) < 2:
        sys.exit(f"unexpected output of python -m gis token issue:\n{out}")
    return lines[-1].strip(), int(found.group(1))


def revoke_token(token_id: int) -> None:
    """Revoke a token :func:`service_token` issued (tokens are not left lying)."""
    _gis_cli("token", "revoke", str(token_id))


class _Server:
    """``python -m gis serve`` on a free loopback port, in its own session."""

    def __init__(
        self,
        workers: int,
        root: Path = ROOT,
        env: dict | None = None,
        command: list[str] | None = None,
    ):
        """``command``: what to run instead of ``python -m gis serve`` (it
        takes the same ``--host``, ``--port`` and ``--workers``)."""
        self.workers = workers
        self.root, self.env = root, env
        self.command = command or [sys.executable, "-m", "gis", "serve"]
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> _Server:
        self.log = tempfile.TemporaryFile()
        command = [*self.command, "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--workers", str(self.workers)]
        self.process = subprocess.Popen(
            command, cwd=self.root, env=self.env, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                sys.exit(f"the server exited:\n{self.log.read().decode()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        sys.exit("the server did not answer /healthz within 60 s")

    def __exit__(self, *_exc) -> None:
        self.process.send_signal(signal.SIGTERM)  # gunicorn: graceful shutdown
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()


def _check_demo(url: str, headers: dict | None = None) -> None:
    """Refuse to measure an empty database: every answer would be 'outside'."""
    lon, lat = 115.03, 35.76  # 濮阳 city centre, inside the district
    request = urllib.request.Request(
        f"{url}/api/lookup?lon={lon}&lat={lat}", headers=headers or {}
    )
    with urllib.request.urlopen(request) as r:
        answer = json.load(r)
    if answer["district"] is None:
        sys.exit("no district loaded: run `python -m gis demo` first")


def _run_wrk(
    wrk: str,
    url: str,
    duration: int,
    connections: int,
    headers: dict | None = None,
    warmup: int = 3,
) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT)
        script.flush()

        def run(seconds: int) -> str:
            command = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s"]
            for name, value in (headers or {}).items():
                command += ["-H", f"{name}: {value}"]
            command += ["-s", script.name, url + "/"]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            return done.stdout

        if warmup:  # every worker opens its pool, prepares its statements
            run(warmup)
        out = run(duration)
    line = next(x for x in out.splitlines() if x.startswith("WRK "))
    return {k: int(v) for k, v in (item.split("=") for item in line.split()[1:])}


def _report_single(result: dict, duration: int, connections: int) -> None:
    rps = result["requests"] / (result["duration_us"] / 1e6)
    p50, p95, p99, top = (
        result[k] / 1000 for k in ("p50_us", "p95_us", "p99_us", "max_us")
    )
    met = (
        rps >= TARGETS["rps"] and p95 <= TARGETS["p95_ms"] and p99 <= TARGETS["p99_ms"]
    )
    print(
        f"single GET /api/lookup (wrk, 1 thread, {connections} connections, "
        f"{duration} s): {rps:,.0f} requests/s, p50 {p50:.2f} ms, p95 {p95:.2f} ms, "
        f"p99 {p99:.2f} ms, max {top:.1f} ms; non-2xx {result['non2xx']}, "
        f"socket errors {result['socket_errors']}"
    )
    print(
        f"  target >= {TARGETS['rps']:,} requests/s, p95 <= {TARGETS['p95_ms']} ms, "
        f"p99 <= {TARGETS['p99_ms']} ms: {'met' if met else 'NOT met'}"
    )


def _batch_body(seed: int) -> bytes:
    rng = random.Random(seed)
    west, south, east, north = BBOX
    points = [
        [round(rng.uniform(west, east), 6), round(rng.uniform(south, north), 6)]
        for _ in range(lookup.MAX_BATCH)
    ]
    return json.dumps(points).encode()


def _post(url: str, body: bytes, headers: dict) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    try:
        headers = {"Content-Type": "application/json", **headers}
        conn.request("POST", "/api/lookup", body, headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(f"batch answered {response.status}: {data[:300]!r}")
    return data


def _run_batches(
    url: str, batches: int, clients: int, headers: dict
) -> tuple[float, float]:
    """Points/s and the median seconds per batch, ``clients`` posting at once."""
    bodies = [_batch_body(seed) for seed in range(3)]
    first = json.loads(_post(url, bodies[0], headers))  # warm up, check the answer
    if first["count"] != lookup.MAX_BATCH or len(first["results"]) != first["count"]:
        raise RuntimeError(f"batch answered {first['count']} results")
    seconds: list[float] = []
    errors: list[Exception] = []

    def client(k: int) -> None:
        try:
            for i in range(batches):
                start = time.perf_counter()
                _post(url, bodies[(k + i) % len(bodies)], headers)
                seconds.append(time.perf_counter() - start)
        except Exception as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    rate = clients * batches * lookup.MAX_BATCH / elapsed
    return rate, statistics.median(seconds)


if __name__ == "__main__":
    sys.exit(main())
