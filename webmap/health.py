"""Health check for load balancers and monitoring."""

from flask import Blueprint

from gis import db as gis_db
from gis import schema
from webmap import requestdb

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 with the database reachable and its schema current; 503 (JSON
    error) when it is down, lacks PostGIS or needs ``python -m gis init``."""
    engine = requestdb.engine()
    return {
        "status": "ok",
        **gis_db.ping(engine),
        "schema": schema.require_current(engine),
    }
