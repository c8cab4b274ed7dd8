#!/usr/bin/env python3
"""Serve this checkout's app with sign-in and row-level security taken out:
for ``scripts/bench_access.py`` only, never for people.

``python scripts/serve_without_access.py --host 127.0.0.1 --port P --workers N``

The same app, server and settings as ``python -m gis serve``, with one hook
changed: instead of the guard (find the caller's token, check the session,
set the scope settings, check the permission) each request gets a
connection of the **owner** role, which the row policies do not bind, and an
anonymous user under which the lookup writes no audit row (there is nobody to
name).  Everything else is as served: parameter checks, the lookup statement
and its answer, the security headers, the time limits of a web request.  So
the difference between this server and ``gis serve`` is what sign-in plus
row-level security cost, and nothing that later work added to the lookup for
everyone.

Anyone who can reach this server reads everything: it binds to 127.0.0.1 by
default and refuses any other address.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import current_app, g, request  # noqa: E402

from gis import access  # noqa: E402
from gis import db as gis_db  # noqa: E402
from webmap import create_app, guard, server  # noqa: E402

ANONYMOUS = access.User(id=0, username=None, role="admin")
"""No name: the lookup audits a read of people as ``g.user.username``, and
None means no audit row (there is no one to record)."""


def _owner_engine():
    """The owner's engine with a web request's time limits, made once."""
    made = current_app.extensions.get("bench_owner_engine")
    if made is None:
        url = current_app.config["DATABASE_URL"]
        made = gis_db.get_engine(url, request_timeouts=True)
        current_app.extensions["bench_owner_engine"] = made
    return made


def _open():
    """In place of the guard: an owner's connection, no session, no scope."""
    req = request._get_current_object()
    if req.routing_exception is not None or req.endpoint in guard.PUBLIC:
        return None
    g.user, g.via = ANONYMOUS, "bearer"
    g.db = gis_db.connect(_owner_engine())
    g.db_begun = True
    return None


def create_app_without_access():
    app = create_app()
    chain = app.extensions["pingan_before_request"]
    chain[chain.index(guard._guard)] = _open
    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    if args.host != "127.0.0.1":
        sys.exit("this server shows everything to anyone: 127.0.0.1 only")
    server.create_app = create_app_without_access  # what each worker builds
    server.serve(args.host, args.port, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
