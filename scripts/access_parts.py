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
- **session check**: the statement the web app runs, with ``pingan_alive``
  checking the session in the statement itself;
- **the read's record**: what the read log's batch costs its backend per
  record (``gis.audit``: a batch of :data:`RECORD_BATCH`, rolled back, as
  these records are no real reads), times the share of the user's lookups
  that name somebody and so are recorded.

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
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_http_lookup import BBOX, revoke_token, service_token  # noqa: E402

from gis import access, audit, lookup  # noqa: E402
from gis import db as gis_db  # noqa: E402

VARIANTS = ("bare", "policies", "check")
_TITLES = {
    "bare": "bare: the owner, no session check, no audit record",
    "policies": "+ row policies (the web role, the user's scope)",
    "check": "+ the session check in the statement (pingan_alive)",
}
RECORD_BATCH = 50
"""Records a batch of the read log holds in the measure: a quarter of a full
one (``gis.audit.READ_BATCH``); under load each worker writes its
``READ_DELAY``'s worth, more than this."""
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
        result[label]["record"] = _record_cost(owner_url, username)
        result[label]["python"], result[label]["share"] = _python_side(
            owner_url, token, username, chunks
        )
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
            name = "pingan_lookup_one" + ("_checked" if variant == "check" else "")
            types, sql = lookup._STATEMENTS[name]
            cursor.execute(f"PREPARE parts_lookup ({types}) AS {sql}")
            after = (digest,) if variant == "check" else ()
            runs[variant] = _runner(cursor, (today,), after)
        yield runs
    finally:
        for pooled in opened:
            pooled.invalidate()


def _backend_cpu(cursor):
    """A function of no arguments: the CPU seconds ``cursor``'s backend spent."""
    cursor.execute("SELECT pg_backend_pid()")
    stat = f"/proc/{cursor.fetchone()[0]}/stat"
    if not os.path.exists(stat):
        sys.exit("the database runs on another machine: its CPU cannot be read here")

    def cpu() -> float:
        with open(stat) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK

    return cpu


def _runner(cursor, before: tuple, after: tuple):
    cpu = _backend_cpu(cursor)
    holders = ", ".join(["%s"] * (2 + len(before) + len(after)))

    def run(points) -> float:
        start = cpu()
        for x, y in points:
            cursor.execute(f"EXECUTE parts_lookup ({holders})", (x, y, *before, *after))
            cursor.fetchall()
        return cpu() - start

    return run


def _record_cost(owner_url: str, username: str, records: int = 4000) -> float:
    """Backend CPU (µs) per read record the read log writes, in batches of
    :data:`RECORD_BATCH` on the web role's connection, each rolled back."""
    pooled = gis_db.get_engine(gis_db.web_url(owner_url)).raw_connection()
    try:
        conn = pooled.dbapi_connection
        cursor = conn.cursor()
        cpu = _backend_cpu(cursor)
        conn.rollback()
        row = (datetime.now(UTC), username, "lookup", "point", None,
               '{"points": 1, "named": 1}', "127.0.0.1")  # fmt: skip
        columns = tuple([value] * RECORD_BATCH for value in row)
        cursor.execute(audit._READS, columns)  # planned, warmed
        conn.rollback()
        start = cpu()
        for _ in range(records // RECORD_BATCH):
            cursor.execute(audit._READS, columns)
            conn.rollback()
        return (cpu() - start) / records * 1e6
    finally:
        pooled.invalidate()


def _python_side(owner_url: str, token: str, username: str, chunks: list):
    """CPU per request (µs) of this process, through the WSGI app: ``bare``
    (the guard replaced, as ``serve_without_access``) and ``signed`` (the app
    as served, the user's bearer token), taking turns; without the garbage
    collector's pauses, which fall on one side or the other.  The process's
    CPU, not the thread's: the read log writes from a thread of its own.
    Also the share of the signed lookups that were recorded (named someone)."""
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
                start = time.process_time()
                _requests(client, points, headers)
                audit.flush_reads()  # what a batch of these costs, counted here
                return time.process_time() - start
            finally:
                gc.enable()

        return run

    chunks = chunks[: max(2, len(chunks) // 2)]  # Python is steadier
    recorded = _records(owner_url, username)
    spent = _take_turns({k: runner(c) for k, c in clients.items()}, chunks)
    n = sum(len(chunk) for chunk in chunks)
    share = (_records(owner_url, username) - recorded) / (n + len(chunks[0]))
    return {k: seconds / n * 1e6 for k, seconds in spent.items()}, share


def _records(owner_url: str, username: str) -> int:
    with gis_db.get_engine(owner_url).connect() as conn:
        return conn.execute(
            sa.text("SELECT count(*) FROM audit_log WHERE username = :u "
                    "AND action = 'lookup'"),  # fmt: skip
            {"u": username},
        ).scalar()


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
        ("Python, + sign-in (the guard, the token, the hooks, the read log)",
         lambda p: f"{_python_extra(p):+10.0f}"),
    )  # fmt: skip
    print(f"  {'PostgreSQL, + the read record (its batch, × share recorded)':<{width}}"
          + "".join(f"{_record_extra(parts[label]):+10.0f}" for label in labels))
    for title, cell in python:
        print(f"  {title:<{width}}" + "".join(cell(parts[label]) for label in labels))
    print("  " + ", ".join(
        f"{label}: {parts[label]['share']:.0%} of the lookups recorded, "
        f"{parts[label]['record']:.1f} µs a record" for label in labels))  # fmt: skip
    for label in labels:
        p = parts[label]
        extra = p["check"] - p["bare"] + _record_extra(p) + _python_extra(p)
        alone = p["bare"] + p["python"]["bare"]
        line = (f"  {label}: +{extra:.0f} µs in all, {extra / alone:.1%} of the bare "
                f"lookup one at a time ({alone:.0f} µs)")  # fmt: skip
        if bare_cpu_ms:
            line += (f", {extra / (bare_cpu_ms * 1000):.1%} of its CPU under wrk "
                     f"({bare_cpu_ms:.2f} ms)")  # fmt: skip
        budget = 1 / 0.90 - 1
        print(line + f"; the target leaves {budget:.1%}")


def _record_extra(p: dict) -> float:
    return p["record"] * p["share"]


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
