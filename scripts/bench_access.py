#!/usr/bin/env python3
"""What sign-in plus row-level security cost a single lookup under load.

Target: in one run, under the same load, with and without sign-in plus RLS,
single lookups under wrk keep at least 90 % of the unscoped throughput, and p95
stays within 1 ms of the unscoped path.

Run after ``./scripts/demo`` (or ``python -m gis demo``), with wrk installed::

    .venv/bin/python scripts/bench_access.py [--duration 20] [--rounds 3]
                                             [--no-parts] [--no-flood]

Every path is served by gunicorn with the default number of sync workers from
the same ``.venv``, one server at a time:

- **bare** (the target's comparison: the same lookups with and without
  sign-in plus RLS): this checkout served by ``scripts/serve_without_access.py``,
  which is ``python -m gis serve`` with the guard replaced by a connection of
  the owner role (the row policies do not bind it) for an anonymous user
  (no session check, no scope, no audit row), against the same demo database;
- **unscoped**: the code of commit a8d380c, the last before sign-in, exported
  with ``git archive`` to a temporary directory; it connects as the owner (the
  superuser of the embedded cluster, which row policies do not bind) and
  answers GET /api/lookup anonymously.  It reads a database of its own,
  ``pingan_ref_a8d380c`` on the same server, loaded once by that code's own
  ``demo`` (the same district, seed and counts): today's schema is no longer
  one it can read (migration 0015 moved a grid member's grid to
  ``grid_member_area``).  Drop that database to load it again;
- **scoped**: this checkout, connecting as ``pingan_web`` under the row
  policies; every request checks its session (``pingan_begin``; for a token
  the worker knows, ``pingan_resume`` in the lookup's own round trip, or the
  lookup statement's own ``pingan_alive`` when the connection's settings are
  already that session's scope, migration 0021) and a
  lookup that names officers or grid members writes an audit row.  Measured
  with a planner's service token (``python -m gis token issue``) and, as a
  second figure, with the station user ``demo_pcs1`` signed in through
  ``POST /api/token`` with its password from ``var/demo-users.txt``.

Each round runs wrk exactly as ``scripts/bench_http_lookup.py`` does (its own
code: 1 thread, one connection per worker, random points in the district's
bounding box, 3 s of warm-up, then ``--duration`` seconds).  The order of
the paths turns round by round (unscoped bare scoped, bare scoped unscoped,
...) so that a machine getting slower or faster during the run weighs on
all.  Printed per round and as medians: requests/s, p50/p95/p99, non-2xx
answers, audit rows written per lookup and the CPU a lookup cost; then the
scoped paths' throughput and p95 against each reference: the target is judged
against **bare**; the old release is printed too, as the figure earlier runs
reported.

Then (``--parts``, on by default) the difference is taken apart with the
same tokens (``scripts/access_parts.py``): one connection or request at a
time, the variants taking turns, what the row policies, the audit row, the
session check and the guard's Python each add to a lookup, against what the
target leaves (11.1 % more CPU per lookup at most).

The flood phase (``--flood``, on by default) runs last: lookups/s of the
scoped server without, then with, 6 client threads posting wrong passwords as
fast as they can from 127.0.0.1, half to ``POST /api/token``, half to the
login form.  After 20 failures within 15 minutes the address is locked out,
so most guesses are refused before any password is hashed.  The lock-out
lasts 15 minutes: until then nobody signs in from 127.0.0.1 on this database
(the script's own later runs fall back to a service token bound to
demo_pcs1's station).  The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import access_parts
import sqlalchemy as sa

# The server, wrk script and settings of bench_http_lookup, so that both
# scripts measure a lookup the same way (importing it puts ROOT on sys.path).
from bench_http_lookup import (
    ROOT,
    _load,
    _run_wrk,
    _Server,
    revoke_token,
    service_token,
)
from sqlalchemy.engine import make_url

from gis import access, users
from gis import db as gis_db
from gis.demo import accounts as demo_accounts
from webmap.server import default_workers

UNSCOPED_COMMIT = "a8d380c"  # the last commit before sign-in and RLS
PLANNER_ACCOUNT = "bench_access"  # a planner service account, made on first use
STATION_USER = "demo_pcs1"
TARGETS = {"ratio": 0.90, "p95_ms": 1.0}
FLOOD_THREADS = 6
CENTRE = (115.03, 35.76)  # 濮阳 city centre, inside the district


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="wrk seconds")
    parser.add_argument("--rounds", type=int, default=3, help="of each path")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument(
        "--parts", action=argparse.BooleanOptionalAction, default=True,
        help="then measure part by part where the difference goes",
    )  # fmt: skip
    parser.add_argument(
        "--flood", action=argparse.BooleanOptionalAction, default=True,
        help="measure lookups during a password-guessing flood (last)",
    )  # fmt: skip
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is not installed: apt-get install wrk (./scripts/setup --dev)")
    print(f"machine: {os.cpu_count()} CPUs, load average before {_load()}")
    owner_url = gis_db.database_url(start_embedded=True)
    bench = _Bench(wrk, args.duration, args.workers, owner_url)
    with tempfile.TemporaryDirectory(prefix=f"pingan-{UNSCOPED_COMMIT}-") as old:
        _export(UNSCOPED_COMMIT, Path(old))
        bench.unscoped_root = Path(old)
        bench.unscoped_url = _reference_database(Path(old), owner_url)
        try:
            bench.sign_in()
            rows = [bench.round(k) for k in range(args.rounds)]
            _report(rows)
            if args.parts:
                bench.parts(rows)
            if args.flood:
                bench.flood_phase()
        finally:
            bench.sign_out()
    print(f"load average after: {_load()}")
    return 0


def _export(commit: str, target: Path) -> None:
    """The tree of ``commit`` in ``target`` (nothing is committed or checked out)."""
    archive = subprocess.Popen(
        ["git", "-C", str(ROOT), "archive", commit], stdout=subprocess.PIPE
    )
    subprocess.run(["tar", "-x", "-C", str(target)], stdin=archive.stdout, check=True)
    archive.stdout.close()
    if archive.wait() != 0:
        sys.exit(f"git archive {commit} failed")


REFERENCE_DB = f"pingan_ref_{UNSCOPED_COMMIT}"


def _reference_database(root: Path, owner_url: str) -> str:
    """The URL of the unscoped release's own demo database, loaded by the code
    in ``root`` the first time (about a minute)."""
    url = make_url(owner_url).set(database=REFERENCE_DB)
    with gis_db.get_engine(owner_url).connect() as conn:
        there = conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :d"),
            {"d": REFERENCE_DB},
        ).first()
    url = url.render_as_string(hide_password=False)
    if there is None:
        print(f"loading {REFERENCE_DB} with {UNSCOPED_COMMIT}'s own demo (once)")
        gis_db.create_database(owner_url, REFERENCE_DB)
        env = dict(os.environ, DATABASE_URL=url, PYTHONPATH=str(root))
        done = subprocess.run([sys.executable, "-m", "gis", "demo"], cwd=root,
                              env=env, capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            gis_db.drop_database(owner_url, REFERENCE_DB)
            sys.exit(f"{UNSCOPED_COMMIT}'s demo failed:\n{done.stderr[-2000:]}")
    return url


class _Bench:
    """The servers, the credentials and the wrk runs of one benchmark run."""

    def __init__(self, wrk: str, duration: int, workers: int, owner_url: str):
        self.wrk, self.duration, self.workers = wrk, duration, workers
        self.owner_url = owner_url
        self.owner = gis_db.get_engine(owner_url)
        self.unscoped_root: Path | None = None
        self.unscoped_url = owner_url  # the reference's own database (main)
        self.planner: dict = {}
        self.station: dict = {}
        self.station_user = STATION_USER  # or the fallback's service account
        self._station_via = ""
        self._token_ids: list[int] = []
        self._station_token: str | None = None

    # -- credentials --------------------------------------------------------------

    def sign_in(self) -> None:
        """A planner's service token, and demo_pcs1's token through its password."""
        token, token_id = service_token(PLANNER_ACCOUNT, "planner")
        self._token_ids.append(token_id)
        self.planner = {"Authorization": f"Bearer {token}"}
        with self._scoped() as server:
            self.station = {"Authorization": f"Bearer {self._station_token_of(server)}"}
            print(
                f"signed in: {PLANNER_ACCOUNT} (planner, service token {token_id}); "
                f"{self._station_via}"
            )
            _check_answers(server.url, self.planner, expect=200)
            _check_answers(server.url, {}, expect=401)

    def _station_token_of(self, server: _Server) -> str:
        username, password, station = _demo_account(STATION_USER)
        status, body = _post_json(
            server.url, "/api/token", {"username": username, "password": password}
        )
        if status == 200:
            self._station_token = body["token"]
            self._station_via = f"{username} (station {station}) by POST /api/token"
            return body["token"]
        if status != 429:
            sys.exit(f"POST /api/token as {username} answered {status}: {body}")
        # An earlier run's flood locked this address out of signing in.
        account = self.station_user = f"bench_{username}"
        token, token_id = service_token(account, "station", station=station)
        self._token_ids.append(token_id)
        self._station_via = (
            f"{account} (station {station}, service token {token_id}): 127.0.0.1 "
            f"is locked out of signing in until {_locked_until(body)}"
        )
        return token

    def sign_out(self) -> None:
        """Revoke what :meth:`sign_in` issued: no live token is left behind."""
        for token_id in self._token_ids:
            revoke_token(token_id)
        if self._station_token:
            with self.owner.begin() as conn:
                users.sign_out(conn, self._station_token)

    # -- servers and runs -----------------------------------------------------------

    def _env(self, root: Path, url: str) -> dict:
        """Each server its own tree's code, as the owner of its database."""
        return dict(os.environ, DATABASE_URL=url, PYTHONPATH=str(root))

    def _scoped(self) -> _Server:
        return _Server(self.workers, ROOT, self._env(ROOT, self.owner_url))

    def _unscoped(self) -> _Server:
        env = self._env(self.unscoped_root, self.unscoped_url)
        return _Server(self.workers, self.unscoped_root, env)

    def _bare(self) -> _Server:
        """This checkout with sign-in and row security taken out."""
        command = [sys.executable, str(ROOT / "scripts" / "serve_without_access.py")]
        env = self._env(ROOT, self.owner_url)
        return _Server(self.workers, ROOT, env, command=command)

    def round(self, k: int) -> dict:
        """One measurement of each path, the order turning round by round (a
        machine getting slower or faster weighs on every path)."""
        paths = ("unscoped", "bare", "scoped")
        order = paths[k % 3:] + paths[:k % 3]
        print(f"round {k + 1} ({', then '.join(order)}):")
        row = {}
        for path in order:
            if path == "unscoped":
                with self._unscoped() as server:
                    _check_answers(server.url, {}, expect=200)
                    row["unscoped"] = self._measure(server, "unscoped")
            elif path == "bare":
                with self._bare() as server:
                    _check_answers(server.url, {}, expect=200)
                    row["bare"] = self._measure(server, "bare")
            else:
                with self._scoped() as server:
                    row["planner"] = self._measure(server, "planner")
                    row["station"] = self._measure(server, "station")
        return row

    def _measure(self, server: _Server, label: str) -> dict:
        """wrk for 3 s (warm-up: pools, prepared statements), then the run."""
        headers, user = {
            "unscoped": ({}, None),
            "bare": ({}, None),
            "station": (self.station, self.station_user),
        }.get(label, (self.planner, PLANNER_ACCOUNT))
        _run_wrk(self.wrk, server.url, 3, self.workers, headers, warmup=0)
        before = self._audit_rows(user)
        # The cluster's backends serving this server: its role and database,
        # as PostgreSQL names them in the process title ("postgres: ROLE DB").
        if label == "unscoped":
            backends = (make_url(self.owner_url).username, REFERENCE_DB)
        elif label == "bare":
            owner = make_url(self.owner_url)
            backends = (owner.username, owner.database)
        else:
            backends = (access.WEB_ROLE, make_url(self.owner_url).database)
        cpu = _Cpu(server.process.pid, backends)
        result = _figures(
            _run_wrk(self.wrk, server.url, self.duration, self.workers, headers,
                     warmup=0)
        )  # fmt: skip
        result |= cpu.per_request(result["requests"])
        audited = self._audit_rows(user) - before
        result["audit"] = audited / max(1, result["requests"])
        print(f"  {_LABELS[label]:<34}{_line(result)}")
        return result

    def _audit_rows(self, username: str | None) -> int:
        """Audit rows of ``username`` so far (the unscoped code writes none)."""
        if username is None:
            return 0
        with self.owner.connect() as conn:
            return conn.execute(
                sa.text("SELECT count(*) FROM audit_log WHERE username = :u"),
                {"u": username},
            ).scalar()

    def parts(self, rows: list[dict]) -> None:
        """The difference taken apart (``scripts/access_parts.py``), with the
        tokens of the wrk rounds."""
        tokens = {
            "planner": (_token(self.planner), PLANNER_ACCOUNT),
            "station": (_token(self.station), self.station_user),
        }
        measured = access_parts.measure(self.owner_url, tokens, 4000)
        access_parts.report(measured, statistics.median(_cpu(r["bare"]) for r in rows))

    # -- the flood ---------------------------------------------------------------------

    def flood_phase(self) -> None:
        """Lookups/s of the scoped server without, then during, a guessing flood."""
        print(
            f"flood phase: scoped server, planner token; {FLOOD_THREADS} threads "
            "post wrong passwords from 127.0.0.1 (half POST /api/token, half the "
            "login form)"
        )
        with self._scoped() as server:
            calm = self._measure(server, "calm")
            flood = _Flood(server.url, FLOOD_THREADS)
            with flood:
                time.sleep(2)  # the first 20 guesses hash; then the lock-out holds
                stormy = self._measure(server, "flood")
        ratio = stormy["rps"] / calm["rps"]
        print(
            f"  lookups/s during the flood vs without: {stormy['rps']:,.0f} vs "
            f"{calm['rps']:,.0f} = {ratio:.2f}; p95 {stormy['p95']:.2f} vs "
            f"{calm['p95']:.2f} ms"
        )
        flood.report()


_LABELS = {
    "unscoped": f"unscoped ({UNSCOPED_COMMIT}, anonymous)",
    "bare": "this code, no sign-in/RLS (owner)",
    "planner": "scoped, planner token",
    "station": f"scoped, station token ({STATION_USER})",
    "calm": "scoped, planner, no flood",
    "flood": "scoped, planner, during the flood",
}


def _token(headers: dict) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def _demo_account(username: str) -> tuple[str, str, str]:
    """Name, password and police-station code of a demo account."""
    listed = demo_accounts.path()
    if not listed.exists():
        sys.exit(f"{listed} is missing: run `python -m gis demo` first")
    for line in listed.read_text(encoding="utf-8").splitlines():
        name, _role, password, note = (line.split("\t") + ["", "", ""])[:4]
        if name == username:
            station = re.search(r"\((\d+)\)", note)
            return name, password, station.group(1) if station else ""
    sys.exit(f"{username} is not in {listed}: run `python -m gis demo` again")


def _locked_until(body: dict) -> str | None:
    """When a 429 answer says the lock-out ends."""
    return (body.get("details") or {}).get("locked_until")


def _guessed_name() -> str:
    """A fresh account name per guess, as credential stuffing does: no account
    locks (5 failures), so it is the address that does (20)."""
    return f"guess_{secrets.token_hex(4)}"


def _post_json(url: str, path: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _check_answers(url: str, headers: dict, expect: int) -> None:
    """Refuse to measure an empty database or a server that answers otherwise
    than its path should (anonymous: 200 unscoped, 401 scoped)."""
    lon, lat = CENTRE
    request = urllib.request.Request(
        f"{url}/api/lookup?lon={lon}&lat={lat}", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, answer = response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        status, answer = exc.code, {}
    if status != expect:
        sys.exit(f"{url}/api/lookup answered {status}, expected {expect}")
    if status == 200 and answer.get("district") is None:
        sys.exit("no district loaded: run `python -m gis demo` first")




class _Cpu:
    """The CPU seconds a wrk run costs: the server's processes (its session),
    the cluster backends serving it, and wrk itself (this process's children).

    Contention from other work on the machine stretches wall time and so the
    requests per second, much less the CPU each request takes; at saturation
    the throughput of two paths is in the inverse ratio of these sums.  The
    cluster's shared processes (WAL writer, checkpointer) are left out: other
    work drives them too.
    """

    def __init__(self, server_pid: int, backend: tuple[str, str]):
        self.server_pid, self.backend = server_pid, backend
        self.start = self._now()

    def _now(self) -> tuple[float, float, float]:
        tick = os.sysconf("SC_CLK_TCK")
        server = database = 0
        role, dbname = self.backend
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
                with open(f"/proc/{pid}/cmdline", "rb") as cmd:
                    title = cmd.read().split(b"\0")[0].decode(errors="replace")
            except OSError:
                continue  # gone meanwhile
            ticks = int(fields[11]) + int(fields[12])  # utime + stime
            if int(fields[3]) == self.server_pid:  # the server's session
                server += ticks
            words = title.split()
            if words[:3] == ["postgres:", role, dbname]:
                database += ticks
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return server / tick, database / tick, children.ru_utime + children.ru_stime

    def per_request(self, requests: int) -> dict:
        end = self._now()
        server, database, client = (
            (b - a) * 1000 / max(1, requests)
            for a, b in zip(self.start, end, strict=True)
        )
        return {"cpu_server": server, "cpu_db": database, "cpu_wrk": client}


def _figures(result: dict) -> dict:
    return {
        "requests": result["requests"],
        "rps": result["requests"] / (result["duration_us"] / 1e6),
        "p50": result["p50_us"] / 1000,
        "p95": result["p95_us"] / 1000,
        "p99": result["p99_us"] / 1000,
        "non2xx": result["non2xx"] + result["socket_errors"],
    }


def _line(r: dict) -> str:
    return (
        f"{r['rps']:7,.0f} req/s  p50 {r['p50']:5.2f}  p95 {r['p95']:5.2f}  "
        f"p99 {r['p99']:6.2f} ms  non-2xx {r['non2xx']}  "
        f"audit rows/lookup {r['audit']:.2f}  CPU/lookup {_cpu(r):.3f} ms "
        f"(server {r['cpu_server']:.3f} + PostgreSQL {r['cpu_db']:.3f} + wrk "
        f"{r['cpu_wrk']:.3f})"
    )


def _cpu(r: dict) -> float:
    return r["cpu_server"] + r["cpu_db"] + r["cpu_wrk"]


def _report(rows: list[dict]) -> None:
    paths = ("unscoped", "bare", "planner", "station")
    medians = {
        path: {
            key: statistics.median(row[path][key] for row in rows)
            for key in ("rps", "p50", "p95", "p99", "audit", "cpu_server",
                        "cpu_db", "cpu_wrk")
        }
        | {"non2xx": sum(row[path]["non2xx"] for row in rows)}
        for path in paths
    }
    print(f"medians of {len(rows)} rounds (non-2xx: the sum):")
    for path, figures in medians.items():
        print(f"  {_LABELS[path]:<34}{_line(figures)}")
    for reference, what in (
        ("bare", "the same code without sign-in and row security (the target's "
                 "comparison: with and without them)"),
        ("unscoped", f"the release before sign-in ({UNSCOPED_COMMIT}), which "
                     "also lacks everything later work added to the lookup"),
    ):  # fmt: skip
        print(f"  against {what}:")
        base = medians[reference]
        for path in ("planner", "station"):
            ratio = medians[path]["rps"] / base["rps"]
            paired = " ".join(
                f"{r[path]['rps'] / r[reference]['rps']:.2f}" for r in rows
            )
            extra = medians[path]["p95"] - base["p95"]
            met = ratio >= TARGETS["ratio"] and extra <= TARGETS["p95_ms"]
            cpu = [_cpu(r[reference]) / _cpu(r[path]) for r in rows]
            print(
                f"    {_LABELS[path]}: throughput {ratio:.2f} (target >= "
                f"{TARGETS['ratio']:.2f}; per round {paired}), p95 {extra:+.2f} "
                f"ms (target <= +{TARGETS['p95_ms']:.1f} ms): "
                f"{'met' if met else 'NOT met'}; CPU per lookup, reference / "
                f"this: {statistics.median(cpu):.2f} (per round "
                f"{' '.join(f'{c:.2f}' for c in cpu)})"
            )
    print(
        "  (CPU per lookup, reference / this, is the throughput ratio of a "
        "saturated machine with nothing else running)"
    )


class _Flood:
    """Client threads posting wrong passwords until the ``with`` block ends."""

    def __init__(self, url: str, threads: int):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.threads = threads
        self.statuses: Counter = Counter()
        self.locked_until: str | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def __enter__(self) -> _Flood:
        self.started = time.monotonic()
        self._workers = [
            threading.Thread(target=self._guess, args=(k % 2 == 0,), daemon=True)
            for k in range(self.threads)
        ]
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join()
        self.seconds = time.monotonic() - self.started

    def _guess(self, api: bool) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        send = self._api_guess if api else self._form_guess(conn)
        while not self._stop.is_set():
            try:
                status, body = send(conn)
            except (OSError, http.client.HTTPException):
                conn.close()
                status, body = "error", b""
            with self._lock:
                self.statuses[("api" if api else "form", status)] += 1
                if status == 429 and api and self.locked_until is None:
                    self.locked_until = _locked_until(json.loads(body))

    @staticmethod
    def _api_guess(conn: http.client.HTTPConnection) -> tuple[int, bytes]:
        guess = {"username": _guessed_name(), "password": secrets.token_hex(8)}
        conn.request("POST", "/api/token", json.dumps(guess),
                     {"Content-Type": "application/json"})  # fmt: skip
        response = conn.getresponse()
        return response.status, response.read()

    @staticmethod
    def _form_guess(conn: http.client.HTTPConnection):
        """The login form's session cookie and CSRF token, then a guesser."""
        conn.request("GET", "/login")
        response = conn.getresponse()
        page = response.read().decode()
        cookie = (response.getheader("Set-Cookie") or "").split(";")[0]
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

        def guess(conn: http.client.HTTPConnection) -> tuple[int, bytes]:
            form = urllib.parse.urlencode({
                "username": _guessed_name(), "password": secrets.token_hex(8),
                "csrf_token": csrf,
            })  # fmt: skip
            conn.request("POST", "/login", form, {
                "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
            })  # fmt: skip
            response = conn.getresponse()
            return response.status, response.read()

        return guess

    def report(self) -> None:
        total = sum(self.statuses.values())
        counts = ", ".join(
            f"{door} {status}: {n:,}" for (door, status), n in sorted(
                self.statuses.items(), key=lambda item: str(item[0]))
        )  # fmt: skip
        print(
            f"  guesses: {total:,} in {self.seconds:.0f} s = "
            f"{total / self.seconds:,.0f}/s ({counts}; 401 wrong password, 429 "
            "locked out)"
        )
        print(
            f"  note: 127.0.0.1 is now locked out of signing in on this database "
            f"until {self.locked_until} (15 min after its 20th failure)"
        )


if __name__ == "__main__":
    sys.exit(main())
