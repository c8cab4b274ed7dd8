#!/usr/bin/env python3
"""Where the cost of sign-in plus row-level security goes, part by part: for
``scripts/bench_access.py``, which prints it after its wrk rounds, or alone::

    .venv/bin/python scripts/access_parts.py [--points 4000]

Run after ``./scripts/demo`` on the machine of the database (the backends'
CPU is read from ``/proc``).  Alone, it issues a planner's and a station's
service token for the run and revokes them at the end.

One connection at a time, the prepared statement of a single-point lookup
(``gis.lookup``) runs for ``--points`` random points of the demo district,
and the CPU its backend spent is read from ``/proc``; the variants take turns
every 100 points, so that a machine getting slower or faster (this one does,
by a quarter) weighs on all of them alike:

- **bare**: the owner's connection, the statement without session check or
  audit row (what ``scripts/serve_without_access.py`` runs);
- **row policies**: the same statement on the web role's connection with the
  user's scope set (``pingan_begin``), so the policies bind;
- **audit row**: the web statement with its audit CTE (the row is written when
  the point names someone the user may see), its session check given NULL;
- **session check**: the statement the web app runs, with ``pingan_alive``
  checking the session in the statement itself.

Then the Python side, one request at a time through the WSGI app in this
process (thread CPU per request, the statement's client side included), for
half as many points: this checkout with the guard replaced
(``serve_without_access``) against the app as served, with the user's token,
taking turns in the same way.  Each difference is printed against the
bare lookup's own cost, one connection or request at a time; under wrk on a
saturated machine every side costs more (``bench_access`` prints both).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_http_lookup import BBOX, revoke_token, service_token  # noqa: E402

from gis import access, lookup  # noqa: E402
from gis import db as gis_db  # noqa: E402

VARIANTS = ("bare", "policies", "audit", "check")
_TITLES = {
    "bare": "bare: the owner, no session check, no audit row",
    "policies": "+ row policies (the web role, the user's scope)",
    "audit": "+ the audit row (CTE; written when people are named)",
    "check": "+ the session check in the statement (pingan_alive)",
}
_TICK = os.sysconf("SC_CLK_TCK")
CHUNK = 100
"""Points a variant runs before the next takes its turn."""


def measure(owner_url: str, tokens: dict[str, tuple[str, str]], points: int) -> dict:
    """CPU per lookup (µs) of each variant's backend, and of the Python side,
    for each user of ``tokens`` (label: (token, username)).

    The variants take turns every :data:`CHUNK` points, so that a machine
    getting slower or faster weighs on all of them alike."""
    rng = random.Random(7)
    west, south, east, north = BBOX
    xy = [
        (west + rng.random() * (east - west), south + rng.random() * (north - south))
        for _ in range(points)
    ]
    chunks = [xy[k : k + CHUNK] for k in range(0, points, CHUNK)]
    result = {}
    for label, (token, username) in tokens.items():
        with _connections(owner_url, token, username) as runs:
            spent = _take_turns(runs, chunks)
        result[label] = {v: spent[v] / points * 1e6 for v in VARIANTS}
        result[label]["python"] = _python_side(token, chunks)
    return result


def _take_turns(runs: dict, chunks: list) -> dict:
    """Seconds each of ``runs`` spent on all of ``chunks``, taking turns,
    after a round on the first chunk that is not counted (plans made, caches
    filled)."""
    for run in runs.values():
        run(chunks[0])
    spent = dict.fromkeys(runs, 0.0)
    for k, chunk in enumerate(chunks):
        names = list(runs)
        for name in names[k % len(names) :] + names[: k % len(names)]:
            spent[name] += runs[name](chunk)
    return spent


@contextmanager
def _connections(owner_url: str, token: str, username: str):
    """One connection per variant, each a function of points → backend CPU s."""
    digest = access.token_hash(token)
    today = date.today()
    opened, runs = [], {}
    try:
        for variant in VARIANTS:
            url = owner_url if variant == "bare" else gis_db.web_url(owner_url)
            pooled = gis_db.get_engine(url).raw_connection()
            opened.append(pooled)  # closed, not pooled: it keeps a scope
            conn = pooled.dbapi_connection
            conn.autocommit = True
            cursor = conn.cursor()
            if variant != "bare":
                cursor.execute("SELECT FROM pingan_begin(%s, '127.0.0.1')", (digest,))
            name = "pingan_lookup_one" + ("" if variant in ("bare", "policies")
                                          else "_audited")  # fmt: skip
            types, sql = lookup._STATEMENTS[name]
            cursor.execute(f"PREPARE parts_lookup ({types}) AS {sql}")
            extra = {"audit": (username, None), "check": (username, digest)}
            runs[variant] = _runner(cursor, (today,), extra.get(variant, ()))
        yield runs
    finally:
        for pooled in opened:
            pooled.invalidate()


def _runner(cursor, before: tuple, after: tuple):
    cursor.execute("SELECT pg_backend_pid()")
    stat = f"/proc/{cursor.fetchone()[0]}/stat"
    if not os.path.exists(stat):
        sys.exit("the database runs on another machine: its CPU cannot be read here")
    holders = ", ".join(["%s"] * (2 + len(before) + len(after)))

    def cpu() -> float:
        with open(stat) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK

    def run(points) -> float:
        start = cpu()
        for x, y in points:
            cursor.execute(f"EXECUTE parts_lookup ({holders})", (x, y, *before, *after))
            cursor.fetchall()
        return cpu() - start

    return run


def _python_side(token: str, chunks: list) -> dict:
    """Thread CPU per request (µs) through the WSGI app, in this process:
    ``bare`` (the guard replaced, as ``serve_without_access``) and ``signed``
    (the app as served, the user's bearer token), taking turns; without the
    garbage collector's pauses, which fall on one side or the other."""
    from serve_without_access import create_app_without_access

    from webmap import create_app

    headers = {"Authorization": f"Bearer {token}"}
    clients = {
        "bare": create_app_without_access().test_client(),
        "signed": create_app().test_client(),
    }

    def runner(client):
        def run(points) -> float:
            gc.collect()  # a pause of tens of ms would land on one side only
            gc.disable()
            try:
                start = time.thread_time()
                _requests(client, points, headers)
                return time.thread_time() - start
            finally:
                gc.enable()

        return run

    chunks = chunks[: max(2, len(chunks) // 2)]  # Python is steadier
    spent = _take_turns({k: runner(c) for k, c in clients.items()}, chunks)
    n = sum(len(chunk) for chunk in chunks)
    return {k: seconds / n * 1e6 for k, seconds in spent.items()}


def _requests(client, points, headers) -> None:
    for x, y in points:
        answer = client.get(f"/api/lookup?lon={x:.6f}&lat={y:.6f}", headers=headers)
        if answer.status_code != 200:
            sys.exit(f"/api/lookup answered {answer.status_code}: {answer.get_data()}")


def report(parts: dict, bare_cpu_ms: float | None = None) -> None:
    """Print :func:`measure`'s figures; ``bare_cpu_ms``: the bare path's CPU per
    lookup under wrk, to set the differences against (else one at a time)."""
    labels = list(parts)
    print("where the difference goes, one connection or request at a time, the "
          "variants taking turns (µs of CPU per lookup):")  # fmt: skip
    width = 68
    print(f"  {'':{width}}" + "".join(f"{label:>10}" for label in labels))
    for variant in VARIANTS:
        cells = []
        for label in labels:
            p = parts[label]
            if variant == "bare":
                cells.append(f"{p['bare']:10.0f}")
            else:
                before = VARIANTS[VARIANTS.index(variant) - 1]
                cells.append(f"{p[variant] - p[before]:+10.0f}")
        print(f"  {'PostgreSQL, ' + _TITLES[variant]:<{width}}" + "".join(cells))
    python = (
        ("Python, bare (the guard replaced)", lambda p: f"{p['python']['bare']:10.0f}"),
        ("Python, + sign-in (the guard, the token, the hooks)",
         lambda p: f"{_python_extra(p):+10.0f}"),
    )  # fmt: skip
    for title, cell in python:
        print(f"  {title:<{width}}" + "".join(cell(parts[label]) for label in labels))
    for label in labels:
        p = parts[label]
        extra = p["check"] - p["bare"] + _python_extra(p)
        alone = p["bare"] + p["python"]["bare"]
        line = (f"  {label}: +{extra:.0f} µs in all, {extra / alone:.1%} of the bare "
                f"lookup one at a time ({alone:.0f} µs)")  # fmt: skip
        if bare_cpu_ms:
            line += (f", {extra / (bare_cpu_ms * 1000):.1%} of its CPU under wrk "
                     f"({bare_cpu_ms:.2f} ms)")  # fmt: skip
        budget = 1 / 0.90 - 1
        print(line + f"; the target leaves {budget:.1%}")


def _python_extra(p: dict) -> float:
    return p["python"]["signed"] - p["python"]["bare"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=4000, help="per variant")
    args = parser.parse_args()
    owner_url = gis_db.database_url(start_embedded=True)
    issued, tokens = [], {}
    try:
        for label, account, role, station in (
            ("planner", "bench_parts_planner", "planner", None),
            ("station", "bench_parts_station", "station", "410902510000"),
        ):
            token, token_id = service_token(account, role, station=station)
            issued.append(token_id)
            tokens[label] = (token, account)
        report(measure(owner_url, tokens, args.points))
    finally:
        for token_id in issued:
            revoke_token(token_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
