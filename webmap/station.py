"""The police post's workbench: the incident queue, the incident page with its
workflow buttons, and the intake form (派出所工作台).

Views parse, call :mod:`gis.incidents` / :mod:`gis.dispatch` inside the
request's transaction, commit when everything succeeded, and render.  The row
policies decide what each user sees: a station user their station, a grid
member their grids, planners everything.
"""

from __future__ import annotations

import io
import logging

from flask import (
    Blueprint,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from gis import access, clock, dispatch, incidents, maps, station, vocab
from gis.errors import PinganError
from webmap import forms, layers, requestdb
from webmap.guard import audit_read, requires
from webmap.pages import render_map

logger = logging.getLogger(__name__)

bp = Blueprint("station", __name__)

QUEUE_PAGE = 50  # incidents per page of the queue
OPEN = ",".join(dispatch.OPEN)
LABELS = {
    "status": vocab.INCIDENT_STATUSES,
    "risk": vocab.RISK_TIERS,
    "category": vocab.INCIDENT_CATEGORIES,
    "level": vocab.RESOLVED_LEVELS,
    "satisfaction": vocab.SATISFACTION,
    "unit": vocab.HANDLING_UNITS,
    "sort": {code: label for code, (label, _) in incidents.SORTS.items()},
    "action": incidents.ACTIONS,
    "camera": vocab.CAMERA_STATUSES,
    "officer": vocab.OFFICER_KINDS,
}


@bp.app_template_filter("bjt")
def beijing_minutes(text: str | None) -> str:
    """An ISO time as ``YYYY-MM-DD HH:MM`` in Beijing time (pages say the zone)."""
    moment = clock.parse_time(text, "time") if text else None
    return clock.display(moment)[:16]


def _queue_args() -> dict:
    """The queue's filters: the form's repeated checkboxes as comma lists, the
    open states by default, the urgent order by default."""
    args = {key: request.args.get(key) for key in request.args}
    for key in ("status", "risk", "category"):
        chosen = request.args.getlist(key)
        args[key] = ",".join(v for v in chosen if v)
    if "status" not in request.args:
        args["status"] = OPEN
    if g.user.role == "station" and not args.get("station"):
        # Their own station, said outright: the station's index finds its
        # incidents, where the row policy alone would read the county's.
        args["station"] = g.user.station_code
    args.setdefault("sort", "urgent")
    page = incidents._int(request.args.get("page"), "page", 1, 1, 10**6)
    args.pop("page", None)
    args["offset"] = (page - 1) * QUEUE_PAGE
    args["limit"] = QUEUE_PAGE
    return args


@bp.get("/station/incidents")
@requires("incident.read")
def queue():
    """The incident queue: filtered, overdue first and red first, paged."""
    args = _queue_args()
    conn = requestdb.connection()
    found = incidents.query(conn, incidents.parse_filters(args))
    audit_read("incident.list", "incident", None, {
        "args": request.args.to_dict(), "returned": found["numberReturned"],
    })  # fmt: skip
    page = args["offset"] // QUEUE_PAGE + 1
    return render_template(
        "station_queue.html", found=found, args=args, page=page, size=QUEUE_PAGE,
        labels=LABELS, stations=maps.stations(conn), zone=clock.LABEL,
        page_url=_page_url,
    )  # fmt: skip


def _page_url(page: int) -> str:
    """This queue's URL (every filter kept) at another page."""
    return url_for(".queue", **{**request.args.to_dict(flat=False), "page": page})


@bp.get("/station/incidents/<code>")
@requires("incident.read")
def incident(code: str):
    """One incident: where, who holds it, its history, the allowed next steps."""
    return _incident_page(code)


def _incident_page(code: str, error: PinganError | None = None, status: int = 200):
    conn = requestdb.connection()
    feature = incidents.get(conn, code)
    audit_read("incident.read", "incident", code)
    props = feature["properties"]
    html = render_template(
        "station_incident.html", feature=feature, p=props,
        steps=incidents.TRANSITIONS[props["status"]], labels=LABELS,
        people=dispatch.candidates(conn, props),
        stations=maps.stations(conn) if g.user.can("incident.route") else [],
        levels=dispatch.LEVELS[dispatch.LEVELS.index(props["handling_level"]):],
        error=error, zone=clock.LABEL, layers_url=url_for("layers.index"),
    )  # fmt: skip
    return html, status


_STEPS = {
    "status": ("incident.update", incidents.transition),
    "assign": ("incident.update", dispatch.assign),
    "escalate": ("incident.update", dispatch.escalate),
    "route": ("incident.route", dispatch.route),
    "supervise": ("incident.supervise", dispatch.supervise),
}
_FORM_FIELDS = {
    "status": ("status", "resolved_level", "note", "satisfaction"),
    "assign": ("officer", "grid_member", "reason"),
    "escalate": ("note",),
    "route": ("station", "reason"),
    "supervise": ("note",),
}


@bp.post("/station/incidents/<code>/<step>")
@requires("incident.update")
def act(code: str, step: str):
    """One workflow step from the incident page's forms; back to the page."""
    if step not in _STEPS:
        return _incident_page(code, PinganError(f"未知操作 {step}"), 404)
    permission, do = _STEPS[step]
    access.require(g.user, permission)
    body = {k: request.form[k] for k in _FORM_FIELDS[step] if request.form.get(k)}
    if step == "assign" and "person" in request.form:  # "officer:O1"
        field, _, person = request.form["person"].partition(":")
        body[field if field in ("officer", "grid_member") else "officer"] = person
    extra = (incidents.is_overdue,) if step == "supervise" else ()
    conn = requestdb.connection()
    try:
        do(conn, code, body, g.user, *extra)
    except PinganError as exc:
        conn.rollback()
        if exc.status == 404:
            raise
        return _incident_page(code, exc, exc.status)
    conn.commit()
    try:
        incidents.get(conn, code)
    except PinganError:  # routed out of the user's scope
        return redirect(url_for(".queue"))
    return redirect(url_for(".incident", code=code))


@bp.get("/station/incidents/new")
@requires("incident.create")
def intake():
    """The intake form: a click on the map or typed coordinates, the lookup's
    preview of where it lands and whom it goes to, then save."""
    conn = requestdb.connection()
    station = g.user.station_code if g.user.role == "station" else None
    focus = maps.EVERYTHING
    if station:
        focus = maps.station_focus(conn, station, g.user)
    elif g.user.role == "grid_member":  # framed on their own grids
        focus = maps.Scope(station_id=None, grid_ids=g.user.grid_ids)
    panel = maps.IntakePanel({
        "preview": url_for(".preview"),
        "create": url_for("incidents.create"),
        "incident": url_for(".incident", code="CODE"),
        "queue": url_for(".queue"),
        "csrf": forms.csrf_token(),
        "categories": vocab.INCIDENT_CATEGORIES,
        "risks": vocab.RISK_TIERS,
        "crs": incidents.crs_choices(maps.center(conn, focus)[0]),
        "units": vocab.HANDLING_UNITS,
    })  # fmt: skip
    return render_map(maps.PAGES["intake"], focus, station=station, extra=(panel,))


@bp.get("/api/station/intake-preview")
@requires("incident.create")
def preview():
    """Where a report would land and whom it would go to (nothing is saved)."""
    answer = incidents.preview(requestdb.connection(), request.args)
    if answer["officers"] or answer["grid_members"]:
        audit_read("lookup", "point", None, {"wgs84": answer["wgs84"]})
    return answer


@bp.get("/station")
@requires("page.station")
def home():
    """A station user's own workbench; others choose a station first."""
    if g.user.role != "station":
        return redirect(url_for("pages.index"))
    return station_home(g.user.station_code)


@bp.get("/station/<code>")
@requires("page.station")
def station_home(code: str):
    """One station at a glance: counts, map, officers and villages, cameras,
    supervision and gaps; printable as the jurisdiction sheet."""
    conn = requestdb.connection()
    focus = maps.station_focus(conn, code, g.user)
    figures = station.summary(conn, code)
    html = render_template(
        "station_home.html", s=figures, labels=LABELS, code=code,
        can_gaps=g.user.can("gaps.read"),
    )  # fmt: skip
    panel = maps.StationPanel(html, {
        "station": code,
        "gaps": url_for("gaps.report", role="police") if g.user.can("gaps.read")
        else None,
    })  # fmt: skip
    page = render_map(maps.PAGES["station_home"], focus, station=code, extra=(panel,))
    body, headers = layers.encode(page.get_data())  # a long table: gzipped
    page.set_data(body)
    page.headers.update(headers)
    return page


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/station/<code>/sheet.xlsx")
@requires("page.station")
def sheet_xlsx(code: str):
    """The jurisdiction sheet and the overdue list as an Excel workbook."""
    conn = requestdb.connection()
    buffer = io.BytesIO()
    station.write_xlsx(station.summary(conn, code), station.overdue(conn, code), buffer)
    audit_read("station.export", "station", code)
    buffer.seek(0)
    return send_file(buffer, mimetype=XLSX, as_attachment=True,
                     download_name=f"station-{code}.xlsx")  # fmt: skip
