"""Incident intake, dispatch and workflow API (一门受理、一体派发).

Views parse the request, call :mod:`gis.incidents` inside the request's
transaction, and commit only when everything succeeded.
"""

from __future__ import annotations

import logging

from flask import Blueprint, g, request, url_for

from gis import audit, incidents
from gis.errors import InvalidInput
from webmap import requestdb
from webmap.auth import login_required

logger = logging.getLogger(__name__)

bp = Blueprint("incidents", __name__, url_prefix="/api/incidents")


def _json_object():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(
            "请求体应为 JSON 对象 / the body must be a JSON object", field="body"
        )
    return body


@bp.get("")
@login_required("incident.read")
def list_incidents():
    """Incidents as GeoJSON (``overdue=1``: the overdue ones by risk tier)."""
    filters = incidents.parse_filters(request.args)
    conn = requestdb.connection()
    collection = incidents.query(conn, filters, g.user.scope)
    audit.record(conn, g.user.username, "incident.list", "incident", None, {
        "args": request.args.to_dict(), "returned": collection["numberReturned"],
    })  # fmt: skip
    conn.commit()
    return collection


@bp.post("")
@login_required("incident.create")
def create():
    """Take an incident in, assign and dispatch it (201 with who got it)."""
    conn = requestdb.connection()
    incident = incidents.create(conn, _json_object(), g.user)
    conn.commit()
    code = incident["properties"]["code"]
    return incident, 201, {"Location": url_for(".show", code=code)}


@bp.get("/<code>")
@login_required("incident.read")
def show(code: str):
    """One incident with its history."""
    return incidents.get(requestdb.connection(), code, g.user.scope)


@bp.patch("/<code>")
@login_required("incident.update")
def update(code: str):
    """Move an incident one step along the workflow (409 lists allowed steps)."""
    conn = requestdb.connection()
    incident = incidents.transition(conn, code, _json_object(), g.user)
    conn.commit()
    return incident
