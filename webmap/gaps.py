"""Coverage gaps: ``GET /api/gaps`` (JSON) and its ``.csv``/``.xlsx`` siblings,
the web twin of ``python -m gis gaps``.  One function computes all three
(:func:`gis.gaps.analyse`), through the request's connection, so a station
sees the gaps of its own jurisdiction only."""

from __future__ import annotations

import io
import logging
import time

import orjson
from flask import Blueprint, Response, jsonify, request, send_file

from gis import gaps, params
from webmap import layers, requestdb
from webmap.guard import requires

logger = logging.getLogger(__name__)

bp = Blueprint("gaps", __name__, url_prefix="/api")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _report() -> dict:
    args = request.args
    gaps.keep(requestdb.owner_engine())  # today's distances and splits, kept
    return gaps.analyse(
        requestdb.connection(),
        role=args.get("role") or None,
        at=params.parse_date(args.get("at")),
        thresholds=gaps.thresholds_from(args),
    )


@bp.get("/gaps")
@requires("gaps.read")
def report():
    """Every gap, the summary and the ranked list, as JSON (gzipped: a
    county's report is megabytes of repetitive text)."""
    started = time.perf_counter()
    return layers.send(orjson.dumps(_report()), started)


@bp.get("/gaps.csv")
@requires("gaps.read")
def report_csv():
    """The ranked list as CSV."""
    return Response(
        gaps.to_csv(_report()),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=gaps.csv"},
    )


@bp.get("/gaps.geojson")
@requires("gaps.read")
def report_geojson():
    """The ranked list on the map's outlines, for a GIS."""
    body = gaps.to_geojson(requestdb.connection(), _report())
    response = jsonify(body)
    response.mimetype = "application/geo+json"
    response.headers["Content-Disposition"] = "attachment; filename=gaps.geojson"
    return response


@bp.get("/gaps.xlsx")
@requires("gaps.read")
def report_xlsx():
    """The workbook for handing upwards: summary first, a sheet per gap kind."""
    buffer = io.BytesIO()
    gaps.write_xlsx(_report(), buffer)
    buffer.seek(0)
    return send_file(
        buffer, mimetype=XLSX, as_attachment=True, download_name="gaps.xlsx"
    )
