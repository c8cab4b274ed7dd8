"""One database connection per request, closed at teardown (flaskr's pattern).

The request's connection is the web role's (:func:`gis.db.web_url`), which owns
no table, so PostgreSQL's row policies decide what it sees.  Its first statement
is always :func:`gis.access.begin`, which sets the scope of the signed-in user
(or no scope at all), or the check :func:`gis.access.begin_known` sends ahead
of the request's first statement, so a pooled connection never carries the
last request's.
Imports write as the owner (:func:`owner_engine`): they set keys and triggers
aside, which only the owner may, and only admins and planners may import.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, request

from gis import access, audit
from gis import db as gis_db
from webmap import hooks

logger = logging.getLogger(__name__)


def engine() -> sa.Engine:
    """The process-wide engine of the web role for this app's database, with
    the time limits of a web request (:mod:`gis.deadlines`).  Found once per
    app and URL: looking it up, and its listener, on every request cost a
    lookup 8 us."""
    url = current_app.config["WEB_DATABASE_URL"]
    made = current_app.extensions.get("pingan_web_engine")
    if made is None or made[0] != url:
        engine = gis_db.get_engine(url, request_timeouts=True)
        made = current_app.extensions["pingan_web_engine"] = (
            url,
            gis_db.bind_to_policies(engine),
        )
    return made[1]


def owner_engine() -> sa.Engine:
    """The owner's engine, for imports only: bulk work, without a web
    request's time limits (a large import's statements may run for minutes)."""
    return gis_db.get_engine(current_app.config["DATABASE_URL"])


def begin(token: str | None) -> access.User | None:
    """Open this request's connection as the user of ``token`` (a session's or
    an API token), setting their scope; None when the token is not live.

    A token this worker has seen lately costs no round trip here: its check
    and scope go with the request's first statement (:func:`connection`,
    :func:`gis.access.begin_known`)."""
    conn = g.get("db")
    if conn is None:
        conn = g.db = gis_db.connect(engine())
    access.forget_pending(conn)
    addr = request.remote_addr
    user = access.begin_known(conn, token, addr) if token else None
    if user is None:
        dbapi = conn.connection.dbapi_connection
        user = access.begin(dbapi, token, addr)
        access.remember_scope(conn, token if user else None, addr)
    g.db_begun = True
    return user


def connection(lazy_scope: bool = False) -> sa.Connection:
    """This request's connection, opened on first use (with no scope if the
    request has no signed-in user: the sign-in page, the token endpoint).

    Its scope is set before it is handed over, unless ``lazy_scope``: then the
    caller's first statement must go through :func:`gis.access.scoped` (the
    lookup's does), which checks the session in the same round trip."""
    if not g.get("db_begun"):
        begin(None)
    conn = g.db
    if not lazy_scope:
        access.resume(conn)
    return conn


def confirm() -> None:
    """Check this request's session now if its first statement has not
    (:func:`connection` with ``lazy_scope``); a no-op when it has."""
    conn = g.get("db")
    if conn is not None and access.pending(conn):
        access.resume(conn)


def current() -> sa.Connection | None:
    """This request's connection if it opened one, else None."""
    return g.get("db")


def _close(_exc: BaseException | None) -> None:
    g.pop("db_begun", None)
    conn = g.pop("db", None)
    if conn is not None:
        if not (conn.closed or conn.invalidated):
            access.forget_pending(conn)  # a check for this request only
        conn.close()


def _write_reads_once_sent(response: Response) -> Response:
    """Have the read records this worker holds written, when due, after the
    answer went out and its connection back to the pool: on that connection,
    so a worker under load keeps to one backend (a second one, for a thread
    of the read log's own, cost each lookup 0.1 ms of the database's CPU)."""
    response.call_on_close(audit.flush_due_reads)
    return response


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_close)
    hooks.after_request(app, _write_reads_once_sent)
