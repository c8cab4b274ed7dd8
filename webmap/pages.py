"""Browser pages: the start page and the Folium map views."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, g, render_template, url_for

from gis import gaps, maps, stats
from webmap import assets, forms, guard, requestdb, security
from webmap.guard import requires

logger = logging.getLogger(__name__)

bp = Blueprint("pages", __name__)


def _static(path: str) -> str:
    return url_for("static", filename=path)


def render_map(
    page: maps.Page, focus=maps.EVERYTHING, station: str | None = None, extra=()
) -> Response:
    """A map page shell for the user (its layers come by view; see gis.maps)."""
    conn = requestdb.connection()
    fmap = maps.build(
        conn,
        page,
        focus,
        basemap=current_app.config.get("BASEMAP"),
        user=g.user,
        api=url_for("layers.index"),
        station_code=station,
        extra=extra,
    )
    assets.localize(fmap, _static)
    fmap.get_root().header.add_child(assets.icon(_static("favicon.svg")))
    html = security.nonce_scripts(fmap.get_root().render())
    if maps.personal(page, g.user):
        guard.audit_read("page.read", "page", page.name, {"focus": focus.station_id})
    return Response(html, mimetype="text/html")


@bp.get("/")
@requires("session")
def index():
    """Start page linking the views the user's role may open."""
    stations = maps.stations(requestdb.connection())  # those the user may see
    return render_template("index.html", stations=stations)


@bp.get("/map/coverage")
@requires("page.coverage")
def coverage():
    """Planners' grid and officer coverage map."""
    links = []
    if g.user.can("page.gaps"):
        links.append(("一村一警覆盖缺口与选址 →", url_for("pages.gaps_map")))
    return render_map(maps.PAGES["coverage"], extra=(maps.Links(links),))


@bp.get("/map/station/<code>")
@requires("page.station")
def station(code: str):
    """One police station's jurisdiction (another station's is a 404)."""
    focus = maps.station_focus(requestdb.connection(), code, g.user)
    links = []
    if g.user.role != "grid_member":  # the workbench says which station it is
        links.append(("← 派出所工作台", url_for("station.station_home", code=code)))
    if g.user.role == "station" and g.user.can("page.gaps"):
        links.append(("本辖区一村一警缺口 →", url_for("pages.gaps_map")))
    return render_map(
        maps.PAGES["station"], focus, station=code, extra=(maps.Links(links),)
    )


@bp.get("/map/gaps")
@requires("page.gaps")
def gaps_map():
    """一村一警 coverage gaps: the planner's map, or a station's own."""
    panel = maps.GapsPanel(
        {
            "title": maps.PAGES["gaps"].title,
            "urls": {
                "gaps": url_for("gaps.report"),
                "csv": url_for("gaps.report_csv"),
                "xlsx": url_for("gaps.report_xlsx"),
                "geojson": url_for("gaps.report_geojson"),
                "site": url_for("siting.site"),
                "layers": url_for("layers.index"),
            },
            "csrf": forms.csrf_token(),
            "roles": [
                {"code": code, "label": role["label"]}
                for code, role in gaps.roles(requestdb.connection()).items()
            ],
            "thresholds": gaps.Thresholds().__dict__,
            "can_site": g.user.can("site.plan"),
        }
    )
    if g.user.role == "station":  # framed on, and focused on, their own
        focus = maps.station_focus(requestdb.connection(), g.user.station_code)
        back = maps.Links([("← 本辖区图", url_for("pages.station",
                                                 code=g.user.station_code))])
        return render_map(
            maps.PAGES["gaps"], focus, station=g.user.station_code,
            extra=(panel, back),
        )  # fmt: skip
    back = maps.Links([("← 网格与警力覆盖图", url_for("pages.coverage"))])
    return render_map(maps.PAGES["gaps"], extra=(panel, back))


@bp.get("/map/heat")
@requires("page.heat")
def heat():
    """Leadership's dispute heat map: counts per square, filters, a month
    slider, rates per 1,000 residents, hot spots."""
    config = stats.choices(requestdb.connection())
    links = [("← 首页", url_for("pages.index"))]
    if g.user.can("stats.read"):
        config["dashboard"] = url_for("analysis.dashboard")
        links.append(("记分卡 →", config["dashboard"]))
    return render_map(maps.PAGES["heat"],
                       extra=(maps.HeatPanel(config), maps.Links(links)))  # fmt: skip
