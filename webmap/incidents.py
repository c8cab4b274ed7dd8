"""Incident intake, dispatch and workflow API (一门受理、一体派发).

Views parse the request, call :mod:`gis.incidents` inside the request's
transaction, and commit only when everything succeeded.
"""

from __future__ import annotations

import logging

from flask import Blueprint, g, request, url_for

from gis import dispatch, incidents
from gis.errors import NotFound
from webmap import inputs, requestdb
from webmap.guard import audit_read, requires

logger = logging.getLogger(__name__)

bp = Blueprint("incidents", __name__, url_prefix="/api/incidents")


@bp.get("")
@requires("incident.read")
def list_incidents():
    """Incidents as GeoJSON (``overdue=1``: the overdue ones by risk tier)."""
    filters = incidents.parse_filters(request.args)
    collection = incidents.query(requestdb.connection(), filters)
    audit_read("incident.list", "incident", None, {
        "args": request.args.to_dict(), "returned": collection["numberReturned"],
    })  # fmt: skip
    return collection


@bp.post("")
@requires("incident.create")
def create():
    """Take an incident in, assign and dispatch it (201 with who got it)."""
    conn = requestdb.connection()
    incident = incidents.create(conn, inputs.json_object(), g.user)
    conn.commit()
    if incident.get("routed"):  # filed outside the user's jurisdiction
        return incident, 202
    code = incident["properties"]["code"]
    return incident, 201, {"Location": url_for(".show", code=code)}


@bp.get("/<code>")
@requires("incident.read")
def show(code: str):
    """One incident with its history."""
    incident = incidents.get(requestdb.connection(), code)
    audit_read("incident.read", "incident", code)
    return incident


@bp.patch("/<code>")
@requires("incident.update")
def update(code: str):
    """Move an incident one step along the workflow (409 lists allowed steps)."""
    conn = requestdb.connection()
    incident = incidents.transition(conn, code, inputs.json_object(), g.user)
    conn.commit()
    return incident


def _step(code: str, do, *extra):
    """Run one workflow step on ``code``; answer with the step and the incident
    after it (None when it was routed out of the caller's scope)."""
    conn = requestdb.connection()
    step = do(conn, code, inputs.json_object(), g.user, *extra)
    try:
        incident = incidents.get(conn, code)
    except NotFound:
        incident = None
    conn.commit()
    return {"step": step, "incident": incident}


@bp.post("/<code>/assign")
@requires("incident.update")
def assign(code: str):
    """Give an incident to an officer or grid member and a unit, with a reason."""
    return _step(code, dispatch.assign)


@bp.post("/<code>/route")
@requires("incident.route")
def route(code: str):
    """Route an incident to a station by hand (planners, the 综治中心)."""
    return _step(code, dispatch.route)


@bp.post("/<code>/escalate")
@requires("incident.update")
def escalate(code: str):
    """上报: handle an incident one level up (village → township → district)."""
    return _step(code, dispatch.escalate)


@bp.post("/<code>/supervise")
@requires("incident.supervise")
def supervise(code: str):
    """督办: flag an overdue incident for supervision, with a note."""
    return _step(code, dispatch.supervise, incidents.is_overdue)
