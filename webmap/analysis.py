"""Leadership analyses: ``GET /api/hotspots``, ``GET /api/stats`` (and its
``.xlsx``), and the ``/dashboard`` page.  Thin: parse, call :mod:`gis`,
render.  Every answer is read through the request's connection, so under the
count tables' row policies (leaders: the district; a station: its own)."""

from __future__ import annotations

import io
import logging
import time

import orjson
from flask import Blueprint, render_template, request, send_file, url_for

from gis import hotspots, stats, vocab
from webmap import charts, layers, requestdb
from webmap.guard import requires

logger = logging.getLogger(__name__)

bp = Blueprint("analysis", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/api/hotspots")
@requires("stats.read")
def hotspot_report():
    """Gi* hot and cold spots (``emerging=1``: emerging hot spot categories)
    of the filtered counts, as GeoJSON squares."""
    started = time.perf_counter()
    filters = stats.Filters.parse(request.args)
    opts = hotspots.options(request.args)
    conn = requestdb.connection()
    if opts["emerging"]:
        body = hotspots.emerging(conn, filters, opts["size"])
    else:
        body = hotspots.hotspots(conn, filters, opts["size"], opts["permutations"],
                                 opts["seed"])  # fmt: skip
    return layers.send(orjson.dumps(body), started)


def _level() -> str:
    return request.args.get("level") or "village"


@bp.get("/api/stats")
@requires("stats.read")
def stats_report():
    """Scorecards per village, township or station (``level``)."""
    started = time.perf_counter()
    body = stats.scorecards_json(
        requestdb.connection(), stats.Filters.parse(request.args), _level()
    )
    return layers.send(body, started)


@bp.get("/api/stats.xlsx")
@requires("stats.read")
def stats_xlsx():
    """The scorecards of townships, stations and villages as a workbook."""
    conn, filters = requestdb.connection(), stats.Filters.parse(request.args)
    buffer = io.BytesIO()
    stats.write_xlsx(stats.all_scorecards(conn, filters), buffer)
    buffer.seek(0)
    return send_file(buffer, mimetype=XLSX, as_attachment=True,
                     download_name="scorecards.xlsx")  # fmt: skip


@bp.get("/dashboard")
@requires("stats.read")
def dashboard():
    """记分卡: resolution, 小事不出村, overdue and "三零", ranked, with charts."""
    conn, filters = requestdb.connection(), stats.Filters.parse(request.args)
    reports = stats.all_scorecards(conn, filters)
    villages = reports["village"]
    return render_template(
        "dashboard.html",
        reports=reports,
        filters=filters.describe(),
        args=request.args,
        trend_svg=charts.trend(villages["trend"]),
        township_svg=charts.ranking(reports["township"]["rows"]),
        risks=vocab.RISK_TIERS,
        townships=stats.choices(conn)["townships"],
        categories=vocab.INCIDENT_CATEGORIES,
        worst=[r for r in villages["rows"] if r["rate"] is not None][-30:][::-1],
        xlsx=url_for("analysis.stats_xlsx", **request.args),
    )
