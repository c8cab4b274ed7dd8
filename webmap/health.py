"""Health check for load balancers and monitoring."""

from flask import Blueprint

from gis import db as gis_db
from webmap import requestdb

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 with the database reachable, 503 (JSON error) when it is not."""
    return {"status": "ok", **gis_db.ping(requestdb.engine())}
