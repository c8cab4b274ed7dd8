"""Browser pages: the start page and the Folium map views."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, render_template, url_for

from gis import maps
from gis.errors import DatabaseUnavailable
from webmap import assets, requestdb, security

logger = logging.getLogger(__name__)

bp = Blueprint("pages", __name__)


def _static(path: str) -> str:
    return url_for("static", filename=path)


def _render_map(page: maps.Page, scope=maps.EVERYTHING) -> Response:
    fmap = maps.build(
        requestdb.connection(), page, scope, basemap=current_app.config.get("BASEMAP")
    )
    assets.localize(fmap, _static)
    html = security.nonce_scripts(fmap.get_root().render())
    return Response(html, mimetype="text/html")


@bp.get("/")
def index():
    """Start page linking the three views."""
    try:
        stations, db_error = maps.stations(requestdb.connection()), None
    except DatabaseUnavailable as exc:  # the start page still explains itself
        stations, db_error = [], exc.message
    return render_template("index.html", stations=stations, db_error=db_error)


@bp.get("/map/coverage")
def coverage():
    """Planners' grid and officer coverage map."""
    return _render_map(maps.PAGES["coverage"])


@bp.get("/map/station/<code>")
def station(code: str):
    """One police station's jurisdiction."""
    scope = maps.station_scope(requestdb.connection(), code)
    return _render_map(maps.PAGES["station"], scope)


@bp.get("/map/heat")
def heat():
    """Leadership's dispute heat map."""
    return _render_map(maps.PAGES["heat"])
