"""Map :class:`gis.errors.PinganError` to responses in one place.

API clients (``/api/...``, ``/healthz``, ``/ogc/...``, JSON Accept) get JSON; browsers
get a readable Chinese page.  Messages never include connection details.
"""

from __future__ import annotations

import logging

import psycopg2
import sqlalchemy as sa
from flask import Flask, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from gis import db, schema
from gis.errors import DatabaseUnavailable, PinganError
from webmap import requestdb

logger = logging.getLogger(__name__)

_JSON_PREFIXES = ("/api/", "/healthz", "/ogc/", "/tiles/")


def wants_json() -> bool:
    """Whether the client should get a JSON error rather than a page."""
    if request.path.startswith(_JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _render(status: int, body: dict, offline: bool = False):
    if wants_json():
        return jsonify(body), status
    if offline:
        # Without the context processors: the header's "who is signed in"
        # asks the database, which would wait for it again or fail on the
        # connection just lost.  Flask's own globals (url_for, request,
        # session) are in the environment; nobody shows as signed in.
        page = current_app.jinja_env.get_template("error.html")
        return page.render(status=status, message=body["message"]), status
    return render_template("error.html", status=status, message=body["message"]), status


def _pingan(exc: PinganError):
    if exc.status >= 500:
        logger.error("%s: %s", exc.code, exc.message)
    offline = isinstance(exc, DatabaseUnavailable)
    response = _render(exc.status, exc.to_dict(), offline)
    if exc.status == 401:  # RFC 6750: say which scheme to use
        return (*response, {"WWW-Authenticate": 'Bearer realm="pingan-grid"'})
    return response


def _http(exc: HTTPException):
    return _render(
        exc.code or 500,
        {
            "error": exc.name.lower().replace(" ", "_"),
            "message": exc.description or exc.name,
        },
    )


# undefined_table, undefined_function, undefined_column: what a query meets in
# a database that was never initialised, or not upgraded to this release.
_MISSING_OBJECT = {"42P01", "42883", "42703"}


def _programming(exc: Exception):
    """A query that failed on a missing table or function: when the schema is
    missing or old, say so (503, what to run) instead of a bare 500."""
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "pgcode", None) in _MISSING_OBJECT:
        try:
            schema.require_current(requestdb.engine())
        except PinganError as not_ready:
            return _pingan(not_ready)
    logger.error("unhandled database error", exc_info=exc)
    return _http(InternalServerError())


def _operational(exc: Exception):
    """A statement that failed because the database went away (restarted,
    stopped, frozen past the deadline) is a 503, as a failed connect is; the
    broken connections go.  One the server cancelled for time is a 503 too.
    (The web's engine turns its own into DatabaseUnavailable: these come from
    a raw cursor, as in gis.lookup.)"""
    if db.cancelled_for_time(exc):
        return _pingan(db.too_slow())
    conn = requestdb.current()
    if getattr(exc, "connection_invalidated", False) or (
        conn is not None and db.discard_broken(conn)
    ):
        logger.warning("database connection lost: %s", getattr(exc, "orig", exc))
        return _pingan(db.unreachable())
    logger.error("unhandled database error", exc_info=exc)
    return _http(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(PinganError, _pingan)
    app.register_error_handler(HTTPException, _http)
    # Raised through SQLAlchemy, or by a raw psycopg2 cursor (gis.lookup).
    app.register_error_handler(sa.exc.ProgrammingError, _programming)
    app.register_error_handler(psycopg2.ProgrammingError, _programming)
    app.register_error_handler(sa.exc.OperationalError, _operational)
    app.register_error_handler(psycopg2.OperationalError, _operational)
