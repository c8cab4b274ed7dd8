"""JSON API.  Each view parses the request, calls :mod:`gis`, returns JSON."""

from __future__ import annotations

import logging

from flask import Blueprint, request

from gis import lookup
from gis.errors import InvalidInput
from webmap import requestdb

logger = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api")


def _json_body():
    body = request.get_json(silent=True)
    if body is None:
        raise InvalidInput(
            "请求体不是有效的 JSON / the request body is not valid JSON", field="body"
        )
    return body


def _param(name: str, body=None):
    """A parameter from the query string, else from a JSON object body."""
    value = request.args.get(name)
    if value is None and isinstance(body, dict):
        value = body.get(name)
    return value


@bp.get("/lookup")
def lookup_one():
    """Which village, grid, township, station and officers a point belongs to."""
    return lookup.lookup(
        requestdb.connection(),
        request.args.get("lon"),
        request.args.get("lat"),
        crs=lookup.parse_crs(request.args.get("crs")),
        at=lookup.parse_date(request.args.get("at")),
    )


@bp.post("/lookup")
def lookup_batch():
    """Batch lookup: answers in input order (at most ``lookup.MAX_BATCH`` points)."""
    body = _json_body()
    lons, lats = lookup.parse_points(body)
    answers = lookup.lookup_many(
        requestdb.connection(),
        lons,
        lats,
        crs=lookup.parse_crs(_param("crs", body)),
        at=lookup.parse_date(_param("at", body)),
    )
    return {"count": len(answers), "results": answers}
