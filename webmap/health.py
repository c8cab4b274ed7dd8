"""Health check for load balancers and monitoring."""

from flask import Blueprint

from gis import db as gis_db
from gis import deadlines, schema
from gis.errors import DatabaseUnavailable
from webmap import requestdb

bp = Blueprint("health", __name__)

# Shorter than a request's limits: a monitor or balancer should hear "503,
# database down" before its own check times out and it has to guess why.
HEALTH_SECONDS = 1.5


@bp.get("/healthz")
def healthz():
    """200 with the database reachable and its schema current; 503 (JSON
    error) when it is down or frozen (within ``HEALTH_SECONDS``), lacks
    PostGIS or needs ``python -m gis init``."""
    engine = requestdb.engine()
    gis_db.probe(engine, HEALTH_SECONDS)  # a new connection: the pool may hang
    with deadlines.within(HEALTH_SECONDS):
        try:
            return _status(engine)
        except DatabaseUnavailable:
            # The server just answered a new connection: this was a pooled
            # one that died with the server it was opened on (a restart),
            # and losing it discarded the pool.  Ask once more, afresh,
            # rather than report a running database as down.
            return _status(engine)


def _status(engine) -> dict:
    return {
        "status": "ok",
        **gis_db.ping(engine),
        "schema": schema.require_current(engine),
    }
