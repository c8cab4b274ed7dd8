"""Intake, dispatch and the workflow of incidents (一门受理、一体派发).

:func:`create` takes a report in (coordinates in any supported CRS), lets the
database assign its village, grid, township and station, and dispatches it to the
people who answer for that place: the grid members of its grid, the officers of its
village or grid (一村一警) and its police station.  :func:`transition` moves it
along the workflow, one allowed step at a time::

    received → dispatched → handling → resolved → followed_up → archived
    受理        派发          处置中       化解        回访            归档

recording who did what and when in ``audit_log`` and, on resolution, the level it
was resolved at (小事不出村、大事不出镇: village, township or district).

Risk tiers and their deadlines (:data:`TIERS`): an incident is *overdue* when its
deadline has passed and it has not yet reached the status its tier asks for.

=======  =========================  ==================================  ==========
tier     meaning                    deadline                            must reach
=======  =========================  ==================================  ==========
red      重大风险，立即处置            1 hour after it was reported        handling
orange   较大风险，当日处置            midnight ending the day reported    handling
                                    (Asia/Shanghai)
yellow   一般风险，网格员就地化解      72 hours after it was reported      resolved
=======  =========================  ==================================  ==========

Every function works inside the caller's transaction and never commits: a request
or command either commits everything it did, or nothing.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from gis import audit, lookup, params, vocab
from gis.access import User
from gis.errors import Conflict, InvalidInput, NotFound, brief

logger = logging.getLogger(__name__)

CHINA = params.BEIJING  # declared once, with why a fixed offset will do
WORKFLOW = ("received", "dispatched", "handling", "resolved", "followed_up", "archived")
# One step forward at a time: nothing skips dispatch, resolution or follow-up.
TRANSITIONS = {step: WORKFLOW[i + 1 : i + 2] for i, step in enumerate(WORKFLOW)}
MAX_LIST = 10_000  # features per GET /api/incidents page
CLOCK_SKEW = timedelta(minutes=5)  # a phone's clock may run a little fast


@dataclass(frozen=True)
class Tier:
    """How fast incidents of one risk tier must be taken up."""

    label: str
    rule: str
    deadline_sql: str  # SQL expression over ``i.reported_at``
    open_statuses: tuple[str, ...]  # still not done while in one of these


TIERS = {
    "red": Tier(
        "红色",
        "立即处置",
        "i.reported_at + interval '1 hour'",
        ("received", "dispatched"),
    ),
    "orange": Tier(
        "橙色",
        "当日处置",
        "((i.reported_at AT TIME ZONE 'Asia/Shanghai')::date + 1)::timestamp "
        "AT TIME ZONE 'Asia/Shanghai'",
        ("received", "dispatched"),
    ),
    "yellow": Tier(
        "黄色",
        "网格员就地化解",
        "i.reported_at + interval '72 hours'",
        ("received", "dispatched", "handling"),
    ),
}
_DEADLINE = (
    "CASE i.risk "
    + " ".join(
        f"WHEN '{risk}' THEN {tier.deadline_sql}" for risk, tier in TIERS.items()
    )
    + " END"
)
_OVERDUE = (
    "("
    + " OR ".join(
        f"(i.risk = '{risk}' AND i.status IN ("
        + ", ".join(f"'{status}'" for status in tier.open_statuses)
        + "))"
        for risk, tier in TIERS.items()
    )
    + f") AND {_DEADLINE} < :now"
)

# The rule, for the scorecards' counts (gis.stats): SQL over i.risk, i.status
# and i.reported_at, given :now.
OVERDUE_SQL = _OVERDUE

INTAKE_FIELDS = {
    "lon", "lat", "crs", "category", "risk", "description", "source", "reported_at",
    "code",
}  # fmt: skip
PATCH_FIELDS = {"status", "resolved_level", "resolved_at", "note"}
_CODE = re.compile(r"[A-Za-z0-9_-]{1,40}")


# -- parsing ----------------------------------------------------------------------


def _known_fields(body, allowed: set[str]) -> dict:
    if not isinstance(body, dict):
        raise InvalidInput(
            "请求体应为 JSON 对象 / the body must be a JSON object", field="body"
        )
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidInput(
            f"未知字段 / unknown field(s): {', '.join(unknown)}; allowed: "
            f"{', '.join(sorted(allowed))}",
            field=unknown[0],
        )
    return body


def _choice(value, field: str, choices: dict, default=None) -> str:
    """A code from ``choices``; its Chinese label is accepted too."""
    if value is None or value == "":
        if default is not None:
            return default
        raise InvalidInput(f"缺少 {field} / {field} is required", field=field)
    # Only text can name a code; a list from a JSON body cannot even be looked up.
    code = vocab.codes_by_name(choices).get(value) if isinstance(value, str) else None
    if code is not None:
        return code
    raise InvalidInput(
        f"{field} 无效 / invalid {field} {brief(value)}; one of {', '.join(choices)}",
        field=field,
    )


def _text(value, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} 应为文本 / {field} must be a string", field=field)
    if len(value) > limit:
        raise InvalidInput(
            f"{field} 超过 {limit} 字 / {field} longer than {limit} characters",
            field=field,
        )
    return value.strip() or None


def parse_time(value, field: str, now: datetime) -> datetime:
    """When something happened in the county (default ``now``): an ISO 8601 time,
    Beijing time without an offset, from 1949-10-01 (:data:`gis.params.FOUNDING`)
    to ``now`` plus :data:`CLOCK_SKEW`."""
    when = params.parse_time(
        value, field, earliest=params.FOUNDING, latest=now + CLOCK_SKEW
    )
    return now if when is None else when


def _parse_intake(body, now: datetime) -> dict:
    body = _known_fields(body, INTAKE_FIELDS)
    code = body.get("code")
    if code is not None and not (isinstance(code, str) and _CODE.fullmatch(code)):
        raise InvalidInput(
            "code 只能含字母、数字、_ -，最长 40 位 / code must be 1-40 of "
            f"A-Z a-z 0-9 _ -, got {brief(code)}",
            field="code",
        )
    crs = params.parse_crs(body.get("crs"))
    x, y = params.to_storage([body.get("lon")], [body.get("lat")], crs)
    params.check_in_china(x, y)  # a county's incident, wherever the CRS put it
    return {
        "code": code,
        "category": _choice(
            body.get("category"), "category", vocab.INCIDENT_CATEGORIES
        ),
        "risk": _choice(body.get("risk"), "risk", vocab.RISK_TIERS, default="yellow"),
        "description": _text(body.get("description"), "description", 2000),
        "source": _text(body.get("source"), "source", 100),
        "reported_at": parse_time(body.get("reported_at"), "reported_at", now),
        "lon": float(x[0]),
        "lat": float(y[0]),
        "crs": crs,
    }


def _now(conn: sa.Connection) -> datetime:
    """The database's clock: one clock for every worker and for the deadlines."""
    return conn.execute(sa.text("SELECT now()")).scalar()


db_now = _now  # public: the scorecards judge overdue by the same clock


# -- intake and dispatch ----------------------------------------------------------

_NEW_CODE = sa.text("""
SELECT 'SJ' || to_char(CAST(:reported_at AS timestamptz) AT TIME ZONE 'Asia/Shanghai',
                       'YYYYMMDD') || '-'
       || lpad(nextval('incident_intake_seq')::text, 6, '0')
""")
# Neither RETURNING nor ON CONFLICT: a report a station files outside its
# jurisdiction is stored and routed, but the row policies hide it from the
# filer, and both would have to show it.  A taken code is the unique key's error.
_INSERT = sa.text("""
INSERT INTO incident (code, category, risk, status, reported_at, source,
                      description, created_by, geom)
VALUES (:code, :category, :risk, :status, :reported_at, :source, :description,
        :user, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
""")
# Roles whose view is one jurisdiction may not choose codes: a code that is
# taken elsewhere would tell them that a record they cannot see exists.
_SYSTEM_CODES = {"station", "grid_member"}


def create(conn: sa.Connection, body, user: User) -> dict:
    """Take an incident in, assign it and dispatch it; return it with its targets.

    Parameters
    ----------
    body : dict
        ``lon``, ``lat`` (required), ``crs`` (wgs84 | gcj02 | bd09 | EPSG:n),
        ``category`` (code or Chinese label, required), ``risk`` (red | orange |
        yellow, default yellow), ``description``, ``source``, ``reported_at``
        (ISO 8601, default now), ``code`` (default ``SJ<yyyymmdd>-<n>``; not
        for station and grid-member users, whose codes the system assigns).
    user : User
        Who takes it in (recorded in ``created_by`` and the audit trail).

    Returns the incident as :func:`get` does, plus ``dispatched_to`` (the grid
    members, officers, station and nearest post), or ``dispatched_to: null`` and
    status ``received`` when the point lies in nobody's jurisdiction.  A report
    the user may not see afterwards (filed outside their jurisdiction) returns
    only its code and ``routed: true``: it went to the station it belongs to,
    and nothing about that station is told.
    """
    fields = _parse_intake(body, _now(conn))
    if user.role in _SYSTEM_CODES and fields["code"] is not None:
        raise InvalidInput(
            "编号由系统分配，不能指定 / code is assigned by the system for "
            f"{user.role} users: leave it out",
            field="code",
        )
    targets = _dispatch_targets(conn, fields)
    code = fields["code"] or conn.execute(_NEW_CODE, fields).scalar()
    status = "dispatched" if targets else "received"
    try:
        with conn.begin_nested():
            conn.execute(
                _INSERT,
                {**fields, "code": code, "status": status, "user": user.username},
            )
    except sa.exc.IntegrityError as exc:
        if getattr(exc.orig, "pgcode", None) != "23505":  # unique_violation
            raise
        raise Conflict(
            f"编号 {code} 已存在 / incident {code} already exists", field="code"
        ) from None
    audit.record(conn, user.username, "incident.create", "incident", code, {
        k: fields[k] for k in ("category", "risk", "source", "crs", "lon", "lat")
    })  # fmt: skip
    if targets:
        audit.record(conn, user.username, "incident.dispatch", "incident", code, {
            "grid_members": [p["code"] for p in targets["grid_members"]],
            "officers": [p["code"] for p in targets["officers"]],
            "station": (targets["station"] or {}).get("code"),
        })  # fmt: skip
    try:
        incident = get(conn, code)
    except NotFound:
        return {"code": code, "routed": True}
    incident["dispatched_to"] = targets
    return incident


def _dispatch_targets(conn: sa.Connection, fields: dict) -> dict | None:
    """Who answers for the incident's place on its report date (None: nobody)."""
    reported = fields["reported_at"].astimezone(CHINA).date()
    place = lookup.lookup(conn, fields["lon"], fields["lat"], at=reported)
    if not (place["officers"] or place["grid_members"] or place["police_station"]):
        return None
    return {
        "grid_members": place["grid_members"],
        "officers": place["officers"],
        "station": place["police_station"],
        "nearest_post": place["nearest_post"],
    }


# -- workflow ---------------------------------------------------------------------


def transition(conn: sa.Connection, code: str, body, user: User) -> dict:
    """Move an incident one step along the workflow (PATCH /api/incidents/<code>).

    ``body``: ``status`` (the next step, required), ``resolved_level`` (village |
    township | district, required when resolving), ``resolved_at`` (ISO 8601,
    default now), ``note``.  A step the workflow does not allow from the current
    status raises :class:`Conflict` listing the allowed ones.
    """
    body = _known_fields(body, PATCH_FIELDS)
    target = _choice(body.get("status"), "status", vocab.INCIDENT_STATUSES)
    note = _text(body.get("note"), "note", 2000)
    current = _lock(conn, code)
    allowed = TRANSITIONS[current["status"]]
    if target not in allowed:
        raise Conflict(
            f"不能从「{vocab.INCIDENT_STATUSES[current['status']]}」转到"
            f"「{vocab.INCIDENT_STATUSES[target]}」/ cannot go from "
            f"{current['status']} to {target}; allowed: "
            f"{', '.join(allowed) or 'none (archived)'}",
            status=current["status"],
            allowed=list(allowed),
        )
    level = resolved_at = None
    if target == "resolved":
        level = _choice(
            body.get("resolved_level"), "resolved_level", vocab.RESOLVED_LEVELS
        )
        resolved_at = parse_time(body.get("resolved_at"), "resolved_at", _now(conn))
        if resolved_at < current["reported_at"]:
            raise InvalidInput(
                "resolved_at 早于上报时间 / resolved_at is before reported_at",
                field="resolved_at",
            )
    elif body.get("resolved_level") is not None or body.get("resolved_at") is not None:
        raise InvalidInput(
            "只有化解时填写 resolved_level / resolved_level and resolved_at go with "
            "status resolved only",
            field="resolved_level",
        )
    _set_status(conn, code, target, level, resolved_at)
    audit.record(conn, user.username, "incident.transition", "incident", code, {
        "from": current["status"], "to": target, "resolved_level": level, "note": note,
    })  # fmt: skip
    return get(conn, code)


def _lock(conn: sa.Connection, code: str) -> dict:
    """Lock the incident row for this transaction (two clerks cannot race)."""
    row = (
        conn.execute(
            sa.text(
                "SELECT status, reported_at FROM incident i WHERE i.code = :code "
                "FOR UPDATE"
            ),
            {"code": code},
        )
        .mappings()
        .first()
    )
    if row is None:
        # Out of the user's jurisdiction reads as absent (the row policies):
        # no existence leak.
        raise NotFound(f"没有事件 {code} / no incident {code}")
    return dict(row)


def _set_status(conn, code: str, status: str, level, resolved_at) -> None:
    conn.execute(
        sa.text(
            "UPDATE incident SET status = :status, resolved_level = "
            "coalesce(:level, resolved_level), resolved_at = coalesce(:at, "
            "resolved_at), updated_at = now() WHERE code = :code"
        ),
        {"status": status, "level": level, "at": resolved_at, "code": code},
    )


# -- reading ----------------------------------------------------------------------


def _beijing(expression: str) -> str:
    """A timestamptz as ISO 8601 in Beijing time, whatever the session's zone."""
    return (
        f"to_char(({expression}) AT TIME ZONE 'Asia/Shanghai', "
        '\'YYYY-MM-DD"T"HH24:MI:SS"+08:00"\')'
    )


def _feature_sql(where: str, order: str) -> str:
    """Incidents as GeoJSON Features built in PostGIS, with their assigned areas."""
    return f"""
SELECT json_build_object(
         'type', 'Feature',
         'geometry', ST_AsGeoJSON(i.geom, 7)::json,
         'properties', json_build_object(
            'code', i.code, 'category', i.category, 'status', i.status,
            'risk', i.risk, 'reported_at', {_beijing("i.reported_at")},
            'resolved_at', {_beijing("i.resolved_at")},
            'resolved_level', i.resolved_level,
            'source', i.source, 'description', i.description,
            'created_by', i.created_by,
            'village', v.code, 'village_name', v.name,
            'grid', g.code, 'grid_name', g.name,
            'township', t.code, 'township_name', t.name,
            'station', s.code, 'station_name', s.name,
            'deadline', {_beijing(_DEADLINE)},
            'overdue', coalesce({_OVERDUE}, false))) AS feature,
       count(*) OVER () AS matched
  FROM incident i
  LEFT JOIN area v ON v.id = i.village_id
  LEFT JOIN area g ON g.id = i.grid_id
  LEFT JOIN area t ON t.id = i.township_id
  LEFT JOIN area s ON s.id = i.station_id
 WHERE {where}
 ORDER BY {order}
 LIMIT :limit OFFSET :offset"""


def get(conn: sa.Connection, code: str) -> dict:
    """One incident as a GeoJSON Feature, with its audit trail as ``history``;
    one the connection may not see is :class:`NotFound`, like a missing one."""
    row = conn.execute(
        sa.text(_feature_sql("i.code = :code", "i.id")),
        {"code": code, "now": _now(conn), "limit": 1, "offset": 0},
    ).first()
    if row is None:
        raise NotFound(f"没有事件 {code} / no incident {code}")
    feature = row.feature
    feature["history"] = audit.history(conn, "incident", code)
    return feature


@dataclass(frozen=True)
class Filters:
    """What GET /api/incidents asks for (see :func:`parse_filters`)."""

    overdue: bool = False
    statuses: tuple[str, ...] = ()
    risks: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    station: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 1000
    offset: int = 0


def _codes(text, field: str, choices: dict) -> tuple[str, ...]:
    if not text:
        return ()
    # Each part checked once, each code listed once (a label and its code agree).
    parts = dict.fromkeys(part.strip() for part in str(text).split(","))
    return tuple(dict.fromkeys(_choice(part, field, choices) for part in parts))


def _int(text, field: str, default: int, low: int, high: int) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(text) if isinstance(text, str) else text
    except ValueError:  # not digits, or more of them than int() reads
        value = None
    if type(value) is not int or not low <= value <= high:  # bool is not int here
        raise InvalidInput(
            f"{field} 应为 {low}-{high} 的整数 / {field} must be an integer in "
            f"[{low}, {high}], got {brief(text)}",
            field=field,
        )
    return value


def parse_filters(args) -> Filters:
    """Filters from query parameters: ``overdue=1``, ``status``, ``risk`` and
    ``category`` (comma lists), ``station`` (code), ``since``/``until`` (ISO),
    ``limit`` (≤ :data:`MAX_LIST`), ``offset``."""
    overdue = str(args.get("overdue", "")).lower()
    if overdue not in ("", "0", "1", "true", "false"):
        raise InvalidInput(
            f"overdue 应为 1 或 0 / overdue must be 1 or 0, got {brief(overdue)}",
            field="overdue",
        )
    return Filters(
        overdue=overdue in ("1", "true"),
        statuses=_codes(args.get("status"), "status", vocab.INCIDENT_STATUSES),
        risks=_codes(args.get("risk"), "risk", vocab.RISK_TIERS),
        categories=_codes(args.get("category"), "category", vocab.INCIDENT_CATEGORIES),
        station=_text(args.get("station"), "station", 100),
        # Any moment a filter may name; a report time is what may not be absurd.
        since=params.parse_time(args.get("since"), "since"),
        until=params.parse_time(args.get("until"), "until"),
        limit=_int(args.get("limit"), "limit", 1000, 1, MAX_LIST),
        offset=_int(args.get("offset"), "offset", 0, 0, 10**9),
    )


def query(
    conn: sa.Connection,
    filters: Filters,
    now: datetime | None = None,
) -> dict:
    """Incidents as a GeoJSON FeatureCollection, newest first.

    With ``overdue`` only overdue ones, most urgent tier first and, within a tier,
    the longest overdue first.  The row policies keep a station user within
    their jurisdiction whatever ``station`` says.  ``now`` (default: the
    database's clock) is the moment deadlines are judged against.
    """
    where = ["true"]
    params = {
        "now": now or _now(conn),
        "limit": filters.limit,
        "offset": filters.offset,
    }
    for column, values in (
        ("status", filters.statuses),
        ("risk", filters.risks),
        ("category", filters.categories),
    ):
        if values:
            where.append(f"i.{column} = ANY(:{column})")
            params[column] = list(values)
    if filters.station:
        where.append("s.code = :station")
        params["station"] = filters.station
    if filters.since:
        where.append("i.reported_at >= :since")
        params["since"] = filters.since
    if filters.until:
        where.append("i.reported_at < :until")
        params["until"] = filters.until
    order = "i.reported_at DESC, i.id DESC"
    if filters.overdue:
        where.append(_OVERDUE)
        tiers = ", ".join(f"'{risk}'" for risk in TIERS)
        order = f"array_position(ARRAY[{tiers}], i.risk), {_DEADLINE}, i.id"
    rows = conn.execute(sa.text(_feature_sql(" AND ".join(where), order)), params).all()
    collection = {"type": "FeatureCollection", "numberReturned": len(rows)}
    if rows or not filters.offset:  # past the last page the total is unknown
        collection["numberMatched"] = rows[0].matched if rows else 0
    collection["features"] = [row.feature for row in rows]
    return collection
