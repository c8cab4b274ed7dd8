"""Who holds an incident: its assignee, handling unit, routing, escalation and
supervision (一体派发、分类处置、督办问效; migration 0016).

An incident's row says who holds it now; ``audit_log`` says how it came to be
(one row per step, in the same transaction).

- :func:`pick` chooses, at intake, the person and unit the report goes to: a
  yellow (一般) report to its grid's member first (网格员就地化解), a red or
  orange one to the officer who answers for the place (一村一警), else the
  other, else the station.
- :func:`assign` changes the assignee and unit by hand, with a reason; the
  first assignment of a received incident is its dispatch.
- :func:`route` (planners, the 综治中心) sends an incident that fell outside
  every jurisdiction, or went to the wrong one, to a station: the station
  then holds it (the assignment trigger keeps ``station_id`` on the routed
  station, so the row policies follow).
- :func:`escalate` (上报) moves where it is handled up one level: village →
  township → district.  It may then not be resolved below that level.
- :func:`supervise` (督办) flags an overdue incident with a note.

Every function works inside the caller's transaction and never commits.  The
row policies decide what a user may touch: an officer, grid member, post or
area they may not see is unknown to them, and so is another station's
incident.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from gis import audit, lookup, vocab
from gis.access import User
from gis.errors import Conflict, InvalidInput, NotFound

logger = logging.getLogger(__name__)

LEVELS = tuple(vocab.RESOLVED_LEVELS)  # village < township < district
OPEN = ("received", "dispatched", "handling")  # not yet resolved
ASSIGN_FIELDS = {"officer", "grid_member", "unit_kind", "unit", "reason"}
NOTE_LIMIT = 2000


def pick(targets: dict | None, risk: str) -> dict:
    """The assignee and unit an incident is dispatched to at intake.

    Parameters
    ----------
    targets : dict or None
        What :func:`gis.incidents._dispatch_targets` found (grid members,
        officers, station of the place), or None: nobody answers for it.
    risk : str
        The incident's tier: yellow goes to the grid member first, red and
        orange to the officer first.

    Returns
    -------
    dict
        ``officer``, ``member`` (codes or None), ``unit_kind`` and
        ``unit_code`` (a grid's, post's or station's code, or None).

    >>> pick({"grid_members": [{"code": "M1"}], "officers": [], "station":
    ...       {"code": "S1"}}, "yellow")["member"]
    'M1'
    """
    chosen = {"officer": None, "member": None, "unit_kind": None, "unit_code": None}
    if not targets:
        return chosen
    officers = [o for o in targets["officers"] if o.get("post")]
    members = targets["grid_members"]
    order = ("member", "officer") if risk == "yellow" else ("officer", "member")
    for who in order:
        if who == "member" and members:
            grid = targets.get("grid") or {}
            return {**chosen, "member": members[0]["code"], "unit_kind": "grid",
                    "unit_code": grid.get("code")}  # fmt: skip
        if who == "officer" and officers:
            return {**chosen, "officer": officers[0]["code"], "unit_kind": "post",
                    "unit_code": officers[0]["post"]["code"]}  # fmt: skip
    if targets.get("station"):
        return {
            **chosen,
            "unit_kind": "station",
            "unit_code": targets["station"]["code"],
        }
    return chosen


# The unit by code.  At intake the incident may lie outside what the filer
# sees, so areas are named from area_directory (codes only, no people); posts,
# officers and members come from their tables, under the policies.
UNIT_IDS = """
    CASE WHEN :unit_kind IN ('grid', 'station') THEN (
        SELECT d.id FROM area_directory d
         WHERE d.kind = CASE :unit_kind WHEN 'grid' THEN 'grid'
                                        ELSE 'police_station' END
           AND d.code = :unit_code AND d.valid_to IS NULL)
    END,
    CASE WHEN :unit_kind = 'post' THEN (
        SELECT p.id FROM post p WHERE p.code = :unit_code) END,
    (SELECT o.id FROM officer o WHERE o.code = :officer),
    (SELECT m.id FROM grid_member m WHERE m.code = :member)"""


def lock(conn: sa.Connection, code: str) -> dict:
    """Lock the incident row for this transaction (two clerks cannot race) and
    return what the workflow's steps decide by."""
    row = (
        conn.execute(
            sa.text(
                "SELECT i.id, i.status, i.reported_at, i.handling_level, "
                "i.station_id, i.assignee_officer_id, i.assignee_member_id, "
                "i.supervised_at FROM incident i WHERE i.code = :code FOR UPDATE"
            ),
            {"code": code},
        )
        .mappings()
        .first()
    )
    if row is None:  # another station's reads as absent: no existence leak
        raise NotFound(f"没有事件 {code} / no incident {code}")
    return dict(row)


def _note(body: dict, field: str, required: bool) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{field} 应为文本 / {field} must be a string", field=field)
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(f"请填写{_LABELS[field]} / {field} is required", field=field)
    if len(value) > NOTE_LIMIT:
        raise InvalidInput(
            f"{field} 超过 {NOTE_LIMIT} 字 / {field} longer than {NOTE_LIMIT} "
            "characters",
            field=field,
        )
    return value or None


_LABELS = {"reason": "原因", "note": "说明"}


def known_fields(body, allowed: set[str]) -> dict:
    if not isinstance(body, dict):
        raise InvalidInput(
            "请求体应为 JSON 对象 / the body must be a JSON object", field="body"
        )
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidInput(
            f"未知字段 / unknown field(s): {', '.join(unknown)}; allowed: "
            f"{', '.join(sorted(allowed))}",
            field=unknown[0] or "body",  # a nameless field: the body's fault
        )
    return body


def _open(current: dict, code: str, step: str) -> None:
    if current["status"] not in OPEN:
        raise Conflict(
            f"事件已{vocab.INCIDENT_STATUSES[current['status']]}，不能{step} / "
            f"incident {code} is {current['status']}: only open incidents "
            f"({', '.join(OPEN)}) can be changed this way",
            status=current["status"],
        )


# -- assignment -----------------------------------------------------------------


def _person(conn, body: dict) -> dict:
    """The assignee named in ``body`` (one of ``officer``, ``grid_member``):
    its id and its unit (an officer's post, a member's grid)."""
    named = [f for f in ("officer", "grid_member") if body.get(f) not in (None, "")]
    if len(named) != 1:
        raise InvalidInput(
            "请指定一名处置人：officer 或 grid_member / name exactly one assignee: "
            "officer or grid_member",
            field="officer",
        )
    field = named[0]
    sql = (
        "SELECT o.id, 'post' AS unit_kind, p.code AS unit_code FROM officer o "
        "LEFT JOIN post p ON p.id = o.post_id WHERE o.code = :code AND o.active"
        if field == "officer"
        else "SELECT m.id, 'grid' AS unit_kind, g.code AS unit_code "
        "FROM grid_member m JOIN grid_member_area ma ON ma.member_id = m.id "
        "AND ma.valid_to IS NULL JOIN area g ON g.id = ma.area_id "
        "WHERE m.code = :code ORDER BY g.code LIMIT 1"
    )
    row = conn.execute(sa.text(sql), {"code": str(body[field])}).mappings().first()
    if row is None:  # not theirs reads as unknown
        raise InvalidInput(
            f"没有{'民警' if field == 'officer' else '网格员'} {body[field]} / no "
            f"{field} {body[field]!r} you may assign",
            field=field,
        )
    return {"field": field, **row}


def _unit(conn, kind: str, code: str) -> tuple[int | None, int | None]:
    """(area id, post id) of a unit the user may see, by kind and code."""
    if kind == "post":
        sql = "SELECT NULL::bigint, p.id FROM post p WHERE p.code = :code"
    else:
        sql = (
            "SELECT a.id, NULL::bigint FROM area a WHERE a.kind = :area_kind "
            "AND a.code = :code AND a.valid_to IS NULL"
        )
    area_kind = "grid" if kind == "grid" else "police_station"
    row = conn.execute(sa.text(sql), {"code": code, "area_kind": area_kind}).first()
    if row is None:
        raise InvalidInput(
            f"没有{vocab.HANDLING_UNITS[kind]} {code} / no {kind} {code!r} you may "
            "assign to",
            field="unit",
        )
    return row[0], row[1]


def assign(conn: sa.Connection, code: str, body, user: User) -> dict:
    """Give an incident to a person and unit by hand (a received one is thereby
    dispatched).  ``body``: ``officer`` or ``grid_member`` (a code), optional
    ``unit_kind`` (grid | post | station) and ``unit`` (its code; default the
    officer's post or the member's grid), ``reason`` (required when someone
    already held it).  Returns what it recorded."""
    body = known_fields(body, ASSIGN_FIELDS)
    current = lock(conn, code)
    _open(current, code, "改派")
    person = _person(conn, body)
    held = current["assignee_officer_id"] or current["assignee_member_id"]
    reason = _note(body, "reason", required=bool(held))
    kind = body.get("unit_kind") or person["unit_kind"]
    if kind not in vocab.HANDLING_UNITS:
        raise InvalidInput(
            f"unit_kind 无效 / unit_kind must be one of "
            f"{', '.join(vocab.HANDLING_UNITS)}",
            field="unit_kind",
        )
    unit_code = body.get("unit") or (
        person["unit_code"] if kind == person["unit_kind"] else None
    )
    if not isinstance(unit_code, str) or not unit_code:
        raise InvalidInput("请指定处置单位 / unit is required", field="unit")
    area_id, post_id = _unit(conn, kind, unit_code)
    officer = person["id"] if person["field"] == "officer" else None
    member = person["id"] if person["field"] == "grid_member" else None
    status = "dispatched" if current["status"] == "received" else current["status"]
    conn.execute(
        sa.text(
            "UPDATE incident SET assignee_officer_id = :officer, "
            "assignee_member_id = :member, unit_kind = :kind, unit_area_id = :area, "
            "unit_post_id = :post, status = :status WHERE id = :id"
        ),
        {"officer": officer, "member": member, "kind": kind, "area": area_id,
         "post": post_id, "status": status, "id": current["id"]},
    )  # fmt: skip
    detail = {
        person["field"]: str(body[person["field"]]), "unit_kind": kind,
        "unit": unit_code, "reason": reason, "from": current["status"],
        "to": status,
    }  # fmt: skip
    action = (
        "incident.dispatch" if current["status"] == "received" else "incident.assign"
    )
    audit.record(conn, user.username, action, "incident", code, detail)
    return detail


def route(conn: sa.Connection, code: str, body, user: User) -> dict:
    """Route an incident to a station by hand (planners and the 综治中心).

    ``body``: ``station`` (its code) and ``reason``.  The station becomes the
    handling unit and the incident's station; whoever held it before lets it
    go, since the station will give it to one of its own.  A received
    incident is thereby dispatched.
    """
    body = known_fields(body, {"station", "reason"})
    reason = _note(body, "reason", required=True)
    station = body.get("station")
    if not isinstance(station, str) or not station:
        raise InvalidInput("请指定派出所 / station is required", field="station")
    current = lock(conn, code)
    _open(current, code, "转派")
    area_id, _ = _unit(conn, "station", station)
    if area_id == current["station_id"]:
        raise Conflict(
            f"事件已属 {station} / incident {code} is already the station's",
            field="station",
        )
    status = "dispatched" if current["status"] == "received" else current["status"]
    conn.execute(
        sa.text(
            "UPDATE incident SET routed_station_id = :station, unit_kind = 'station', "
            "unit_area_id = :station, unit_post_id = NULL, assignee_officer_id = NULL,"
            " assignee_member_id = NULL, status = :status WHERE id = :id"
        ),
        {"station": area_id, "status": status, "id": current["id"]},
    )
    detail = {"station": station, "reason": reason, "from": current["status"],
              "to": status}  # fmt: skip
    audit.record(conn, user.username, "incident.route", "incident", code, detail)
    return detail


def escalate(conn: sa.Connection, code: str, body, user: User) -> dict:
    """上报: handle an open incident one level up (village → township →
    district).  ``body``: ``note`` (required: why it cannot be settled here)."""
    body = known_fields(body, {"note"})
    note = _note(body, "note", required=True)
    current = lock(conn, code)
    _open(current, code, "上报")
    level = current["handling_level"]
    if level == LEVELS[-1]:
        raise Conflict(
            "已在区县级处置，不能再上报 / already handled at district level",
            level=level,
        )
    higher = LEVELS[LEVELS.index(level) + 1]
    conn.execute(
        sa.text("UPDATE incident SET handling_level = :level WHERE id = :id"),
        {"level": higher, "id": current["id"]},
    )
    detail = {"from_level": level, "to_level": higher, "note": note}
    audit.record(conn, user.username, "incident.escalate", "incident", code, detail)
    return detail


def supervise(conn: sa.Connection, code: str, body, user: User, overdue) -> dict:
    """督办: flag an overdue open incident for supervision, with a note.

    ``overdue`` is a callable telling whether the incident is overdue now
    (:func:`gis.incidents.is_overdue`): a flag is for what is late.
    """
    body = known_fields(body, {"note"})
    note = _note(body, "note", required=True)
    current = lock(conn, code)
    _open(current, code, "督办")
    if current["supervised_at"] is not None:
        raise Conflict(f"事件 {code} 已在督办中 / already under supervision")
    if not overdue(conn, current["id"]):
        raise Conflict(
            f"事件 {code} 未超期，不需督办 / incident {code} is not overdue",
            field="code",
        )
    conn.execute(
        sa.text(
            "UPDATE incident SET supervised_at = now(), supervised_by = :user, "
            "supervision_note = :note WHERE id = :id"
        ),
        {"user": user.username, "note": note, "id": current["id"]},
    )
    detail = {"note": note}
    audit.record(conn, user.username, "incident.supervise", "incident", code, detail)
    return detail


def check_level(level: str, handling_level: str) -> None:
    """A resolution may not claim a level below where the incident was handled
    (an escalated dispute was not settled in the village)."""
    if LEVELS.index(level) < LEVELS.index(handling_level):
        raise InvalidInput(
            f"事件已上报至{vocab.RESOLVED_LEVELS[handling_level]}，"
            "化解层级不能低于它 / "
            f"escalated to {handling_level}: resolved_level cannot be {level}",
            field="resolved_level",
        )


_CANDIDATES = sa.text("""
SELECT 'officer' AS field, o.code, o.name, p.name AS unit,
       EXISTS (SELECT 1 FROM officer_area oa JOIN area a ON a.id = oa.area_id
                WHERE oa.officer_id = o.id AND oa.valid_to IS NULL
                  AND a.code IN (:village, :grid)) AS here
  FROM officer o
  JOIN post p ON p.id = o.post_id
  JOIN area s ON s.id = p.station_id
 WHERE s.code = :station AND o.active
UNION ALL
SELECT 'grid_member', m.code, m.name, g.name, g.code = :grid
  FROM grid_member m
  JOIN grid_member_area ma ON ma.member_id = m.id AND ma.valid_to IS NULL
  JOIN area g ON g.id = ma.area_id
  JOIN area s ON s.id = g.station_id
 WHERE s.code = :station
   AND (g.code = :grid OR g.parent_id = (SELECT id FROM area WHERE code = :village
                                          AND valid_to IS NULL))
 ORDER BY here DESC, field DESC, code
 LIMIT 200
""")


def candidates(conn: sa.Connection, properties: dict) -> list[dict]:
    """Whom the incident (its ``properties``) may be given to by hand: the
    active officers of its station's posts and the grid members of its
    village, those who answer for its village or grid first (at most 200;
    the row policies keep them to what the user may see)."""
    if not properties.get("station"):
        return []
    rows = conn.execute(
        _CANDIDATES,
        {k: properties.get(k) for k in ("station", "village", "grid")},
    ).mappings()
    return [dict(row) for row in rows]


_SET_HOLDERS = sa.text(f"""
UPDATE incident i
   SET unit_kind = x.unit_kind,
       unit_area_id = u.area_id, unit_post_id = u.post_id,
       assignee_officer_id = u.officer_id, assignee_member_id = u.member_id
  FROM unnest(CAST(:codes AS text[]), CAST(:unit_kinds AS text[]),
              CAST(:unit_codes AS text[]), CAST(:officers AS text[]),
              CAST(:members AS text[]))
       AS x (code, unit_kind, unit_code, officer, member)
 CROSS JOIN LATERAL (
       SELECT {
    UNIT_IDS.replace(":unit_kind", "x.unit_kind")
    .replace(":unit_code", "x.unit_code")
    .replace(":officer", "x.officer")
    .replace(":member", "x.member")
}) AS u (area_id, post_id,
                                                            officer_id, member_id)
 WHERE i.code = x.code
""")


def dispatch_loaded(conn: sa.Connection, at=None) -> int:
    """Give every dispatched-or-later incident that holds nobody the person
    and unit intake would have chosen (:func:`pick`), from one batch lookup of
    their points on ``at`` (default today): for incidents written in bulk
    (the demo), which never went through intake.  Returns how many."""
    rows = conn.execute(
        sa.text(
            "SELECT code, risk, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM incident "
            "WHERE status <> 'received' AND unit_kind IS NULL ORDER BY id"
        )
    ).all()
    if not rows:
        return 0
    places = lookup.lookup_many(
        conn, [r.lon for r in rows], [r.lat for r in rows], at=at
    )
    chosen = []
    for row, place in zip(rows, places, strict=True):
        targets = {
            "officers": place["officers"], "grid_members": place["grid_members"],
            "station": place["police_station"], "grid": place["grid"],
        }  # fmt: skip
        chosen.append((row.code, pick(targets, row.risk)))
    conn.execute(_SET_HOLDERS, {
        "codes": [c for c, _ in chosen],
        "unit_kinds": [p["unit_kind"] for _, p in chosen],
        "unit_codes": [p["unit_code"] for _, p in chosen],
        "officers": [p["officer"] for _, p in chosen],
        "members": [p["member"] for _, p in chosen],
    })  # fmt: skip
    return len(chosen)
