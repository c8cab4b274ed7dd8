"""One database connection per request, closed at teardown (flaskr's pattern)."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, current_app, g

from gis import db as gis_db

logger = logging.getLogger(__name__)


def engine() -> sa.Engine:
    """The process-wide engine for this app's database."""
    return gis_db.get_engine(current_app.config["DATABASE_URL"], request_timeouts=True)


def connection() -> sa.Connection:
    """This request's connection, opened on first use."""
    if "db" not in g:
        g.db = gis_db.connect(engine())
    return g.db


def current() -> sa.Connection | None:
    """This request's connection if it opened one, else None."""
    return g.get("db")


def _close(_exc: BaseException | None) -> None:
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_close)
