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

from gis import audit, clock, dispatch, lookup, params, vocab
from gis import crs as crs_mod
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

# The rule, for the scorecards' counts (gis.stats) and the station's board:
# SQL over i.risk, i.status and i.reported_at, given :now.
OVERDUE_SQL = _OVERDUE
OPEN = dispatch.OPEN  # not yet resolved

INTAKE_FIELDS = {
    "lon", "lat", "crs", "category", "risk", "description", "source", "reported_at",
    "code",
}  # fmt: skip
PATCH_FIELDS = {"status", "resolved_level", "resolved_at", "note", "satisfaction"}
_CODE = re.compile(r"[A-Za-z0-9_-]{1,40}")


# -- parsing ----------------------------------------------------------------------


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
    body = dispatch.known_fields(body, INTAKE_FIELDS)
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
                      description, created_by, geom, unit_kind, unit_area_id,
                      unit_post_id, assignee_officer_id, assignee_member_id)
SELECT :code, :category, :risk, :status, :reported_at, :source, :description,
       :user, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :unit_kind,
       """ + dispatch.UNIT_IDS + """
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
    chosen = dispatch.pick(targets, fields["risk"])
    try:
        with conn.begin_nested():
            conn.execute(
                _INSERT,
                {**fields, **chosen, "code": code, "status": status,
                 "user": user.username},
            )  # fmt: skip
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
            "assignee": chosen["officer"] or chosen["member"],
            "unit_kind": chosen["unit_kind"], "unit": chosen["unit_code"],
        })  # fmt: skip
    try:
        incident = get(conn, code)
    except NotFound:
        return {"code": code, "routed": True}
    incident["dispatched_to"] = targets
    return incident


def _dispatch_targets(
    conn: sa.Connection, fields: dict, place: dict | None = None
) -> dict | None:
    """Who answers for the incident's place on its report date (None: nobody);
    ``place`` is the lookup's answer when the caller has it already."""
    if place is None:
        reported = fields["reported_at"].astimezone(CHINA).date()
        place = lookup.lookup(conn, fields["lon"], fields["lat"], at=reported)
    if not (place["officers"] or place["grid_members"] or place["police_station"]):
        return None
    return {
        "grid_members": place["grid_members"],
        "officers": place["officers"],
        "station": place["police_station"],
        "grid": place["grid"],
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
    body = dispatch.known_fields(body, PATCH_FIELDS)
    target = _choice(body.get("status"), "status", vocab.INCIDENT_STATUSES)
    note = _text(body.get("note"), "note", 2000)
    current = dispatch.lock(conn, code)
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
        dispatch.check_level(level, current["handling_level"])
    elif body.get("resolved_level") is not None or body.get("resolved_at") is not None:
        raise InvalidInput(
            "只有化解时填写 resolved_level / resolved_level and resolved_at go with "
            "status resolved only",
            field="resolved_level",
        )
    satisfaction = _satisfaction(body, target)
    _set_status(conn, code, target, level, resolved_at, satisfaction)
    audit.record(conn, user.username, "incident.transition", "incident", code, {
        "from": current["status"], "to": target, "resolved_level": level, "note": note,
        **({"satisfaction": satisfaction} if satisfaction else {}),
    })  # fmt: skip
    return get(conn, code)


def _satisfaction(body: dict, target: str) -> str | None:
    """The reporter's satisfaction, recorded with the follow-up (回访) only."""
    if body.get("satisfaction") in (None, ""):
        return None
    if target != "followed_up":
        raise InvalidInput(
            "只有回访时填写 satisfaction / satisfaction goes with status "
            "followed_up only",
            field="satisfaction",
        )
    return _choice(body["satisfaction"], "satisfaction", vocab.SATISFACTION)


def _set_status(conn, code: str, status: str, level, resolved_at, satisfaction):
    conn.execute(
        sa.text(
            "UPDATE incident SET status = :status, resolved_level = "
            "coalesce(:level, resolved_level), resolved_at = coalesce(:at, "
            "resolved_at), satisfaction = coalesce(:satisfaction, satisfaction), "
            "updated_at = now() WHERE code = :code"
        ),
        {"status": status, "level": level, "at": resolved_at, "code": code,
         "satisfaction": satisfaction},
    )  # fmt: skip


# -- reading ----------------------------------------------------------------------


def _feature_sql(where: str, order: str) -> str:
    """Incidents as GeoJSON Features built in PostGIS, with their assigned areas.

    The page is chosen first, over the incident rows alone (``where`` and
    ``order`` name only ``i``); the features are built for its rows only: a
    station's queue sorts thousands of rows and dresses fifty."""
    return f"""
WITH page AS (
    SELECT i.id
      FROM incident i
     WHERE {where}
     ORDER BY {order}
     LIMIT :limit OFFSET :offset)
SELECT json_build_object(
         'type', 'Feature',
         'geometry', ST_AsGeoJSON(i.geom, 7)::json,
         'properties', json_build_object(
            'code', i.code, 'category', i.category, 'status', i.status,
            'risk', i.risk, 'reported_at', {clock.sql_iso("i.reported_at")},
            'resolved_at', {clock.sql_iso("i.resolved_at")},
            'resolved_level', i.resolved_level,
            'source', i.source, 'description', i.description,
            'created_by', i.created_by,
            'village', v.code, 'village_name', v.name,
            'grid', g.code, 'grid_name', g.name,
            'township', t.code, 'township_name', t.name,
            'station', s.code, 'station_name', s.name,
            'deadline', {clock.sql_iso(_DEADLINE)},
            'overdue', coalesce({_OVERDUE}, false),
            'assignee', CASE
                WHEN ao.id IS NOT NULL THEN json_build_object(
                    'kind', 'officer', 'code', ao.code, 'name', ao.name)
                WHEN am.id IS NOT NULL THEN json_build_object(
                    'kind', 'grid_member', 'code', am.code, 'name', am.name)
                END,
            'unit', CASE
                WHEN i.unit_kind = 'post' THEN json_build_object(
                    'kind', 'post', 'code', up.code, 'name', up.name)
                WHEN i.unit_kind IS NOT NULL THEN json_build_object(
                    'kind', i.unit_kind, 'code', ua.code, 'name', ua.name)
                END,
            'handling_level', i.handling_level,
            'routed', i.routed_station_id IS NOT NULL,
            'supervised', CASE WHEN i.supervised_at IS NOT NULL THEN
                json_build_object('at', {clock.sql_iso("i.supervised_at")},
                                  'by', i.supervised_by,
                                  'note', i.supervision_note) END,
            'satisfaction', i.satisfaction)) AS feature
  FROM page
  JOIN incident i ON i.id = page.id
  LEFT JOIN area v ON v.id = i.village_id
  LEFT JOIN area g ON g.id = i.grid_id
  LEFT JOIN area t ON t.id = i.township_id
  LEFT JOIN area s ON s.id = i.station_id
  LEFT JOIN officer ao ON ao.id = i.assignee_officer_id
  LEFT JOIN grid_member am ON am.id = i.assignee_member_id
  LEFT JOIN area ua ON ua.id = i.unit_area_id
  LEFT JOIN post up ON up.id = i.unit_post_id
 ORDER BY {order}"""


def _matched(conn: sa.Connection, where: str, params: dict) -> int | None:
    """How many incidents match ``where``, when at most :data:`MAX_LIST`; None
    past that (``numberMatched`` is then left out, as OGC API Features allows
    for a costly count: counting a million rows under the row policies takes
    most of a second, and no page holds more than :data:`MAX_LIST`)."""
    matched = conn.execute(
        sa.text(f"""
        SELECT count(*) FROM (
            SELECT FROM incident i LEFT JOIN area s ON s.id = i.station_id
             WHERE {where} LIMIT {MAX_LIST + 1}) c"""),
        params,
    ).scalar()
    return matched if matched <= MAX_LIST else None


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


def is_overdue(conn: sa.Connection, incident_id: int) -> bool:
    """Whether the incident (by id) is overdue now (:data:`TIERS`)."""
    return bool(
        conn.execute(
            sa.text(f"SELECT {_OVERDUE} FROM incident i WHERE i.id = :id"),
            {"id": incident_id, "now": _now(conn)},
        ).scalar()
    )


@dataclass(frozen=True)
class Filters:
    """What GET /api/incidents asks for (see :func:`parse_filters`)."""

    overdue: bool = False
    statuses: tuple[str, ...] = ()
    risks: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    station: str | None = None
    village: str | None = None
    grid: str | None = None
    supervised: bool = False
    sort: str = "newest"
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


SORTS = {
    "newest": ("最新上报", "i.reported_at DESC, i.id DESC"),
    "oldest": ("最早上报", "i.reported_at, i.id"),
    # The queue's order: overdue first, red first, then the nearest deadline.
    "urgent": (
        "超期优先、红色优先",
        f"coalesce({_OVERDUE}, false) DESC, "
        f"array_position(ARRAY['red', 'orange', 'yellow'], i.risk), "
        f"{_DEADLINE}, i.id",
    ),
    "deadline": ("处置时限", f"{_DEADLINE}, i.id"),
}


def _flag(args, field: str) -> bool:
    value = str(args.get(field, "")).lower()
    if value not in ("", "0", "1", "true", "false"):
        raise InvalidInput(
            f"{field} 应为 1 或 0 / {field} must be 1 or 0, got {brief(value)}",
            field=field,
        )
    return value in ("1", "true")


def parse_filters(args, limit: int = 1000) -> Filters:
    """Filters from query parameters: ``overdue=1``, ``supervised=1``,
    ``status``, ``risk`` and ``category`` (comma lists), ``station``,
    ``village``, ``grid`` (codes), ``since``/``until`` (ISO), ``sort`` (one of
    :data:`SORTS`; ``overdue=1`` sorts by tier and age), ``limit`` (≤
    :data:`MAX_LIST`, default ``limit``), ``offset``."""
    sort = args.get("sort") or "newest"
    if sort not in SORTS:
        raise InvalidInput(
            f"sort 无效 / sort must be one of {', '.join(SORTS)}, got {brief(sort)}",
            field="sort",
        )
    return Filters(
        overdue=_flag(args, "overdue"),
        supervised=_flag(args, "supervised"),
        sort=sort,
        village=_text(args.get("village"), "village", 100),
        grid=_text(args.get("grid"), "grid", 100),
        statuses=_codes(args.get("status"), "status", vocab.INCIDENT_STATUSES),
        risks=_codes(args.get("risk"), "risk", vocab.RISK_TIERS),
        categories=_codes(args.get("category"), "category", vocab.INCIDENT_CATEGORIES),
        station=_text(args.get("station"), "station", 100),
        # Any moment a filter may name; a report time is what may not be absurd.
        since=params.parse_time(args.get("since"), "since"),
        until=params.parse_time(args.get("until"), "until"),
        limit=_int(args.get("limit"), "limit", limit, 1, MAX_LIST),
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
    ``numberMatched`` is given when at most :data:`MAX_LIST` incidents match
    (:func:`_matched`).
    """
    params = {
        "now": now or _now(conn),
        "limit": filters.limit,
        "offset": filters.offset,
    }
    where = _where(filters, params)
    order = SORTS[filters.sort][1]
    if filters.overdue:
        where.append(_OVERDUE)
        tiers = ", ".join(f"'{risk}'" for risk in TIERS)
        order = f"array_position(ARRAY[{tiers}], i.risk), {_DEADLINE}, i.id"
    where = " AND ".join(where)
    rows = conn.execute(sa.text(_feature_sql(where, order)), params).all()
    collection = {"type": "FeatureCollection", "numberReturned": len(rows)}
    if rows or not filters.offset:  # past the last page the total is unknown
        matched = _matched(conn, where, params)
        if matched is not None:
            collection["numberMatched"] = matched
    collection["features"] = [row.feature for row in rows]
    return collection


def _where(filters: Filters, params: dict) -> list[str]:
    """SQL conditions (over ``incident i`` and its station ``s``) of the
    filters other than ``overdue``; their values go into ``params``."""
    where = ["true"]
    for column, values in (
        ("status", filters.statuses),
        ("risk", filters.risks),
        ("category", filters.categories),
    ):
        if values:
            where.append(f"i.{column} = ANY(:{column})")
            params[column] = list(values)
    for column, kind in (("station", "police_station"), ("village", "village"),
                         ("grid", "grid")):  # fmt: skip
        if getattr(filters, column):  # any generation of the area by that code
            where.append(
                f"i.{column}_id IN (SELECT a.id FROM area a WHERE a.kind = "
                f"'{kind}' AND a.code = :{column})"
            )
            params[column] = getattr(filters, column)
    if filters.supervised:
        where.append("i.supervised_at IS NOT NULL")
    if filters.since:
        where.append("i.reported_at >= :since")
        params["since"] = filters.since
    if filters.until:
        where.append("i.reported_at < :until")
        params["until"] = filters.until
    return where


DONE_STATUSES = ("resolved", "followed_up", "archived")


def resolution_times(conn: sa.Connection, filters: Filters) -> dict:
    """Time to resolve the incidents ``filters`` select (``overdue`` aside).

    A historic ledger's resolved rows may have no resolution time (accepted
    by the import as resolved at an unknown time): they are left out of the
    times, and ``unknown_time`` says how many were.

    Returns
    -------
    dict
        ``resolved`` (done incidents), ``timed`` (of which with a time),
        ``unknown_time`` (left out), ``median_hours``, ``mean_hours`` (None
        when nothing is timed).
    """
    params = {"done": list(DONE_STATUSES)}
    where = " AND ".join(_where(filters, params))
    row = conn.execute(sa.text(f"""
        SELECT count(*) AS resolved,
               count(i.resolved_at) AS timed,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY h.hours) AS median,
               avg(h.hours) AS mean
          FROM incident i
          LEFT JOIN area s ON s.id = i.station_id,
               LATERAL (SELECT extract(epoch FROM i.resolved_at - i.reported_at)
                               / 3600.0 AS hours) h
         WHERE i.status = ANY(:done) AND {where}"""), params).one()  # fmt: skip
    return {
        "resolved": row.resolved,
        "timed": row.timed,
        "unknown_time": row.resolved - row.timed,
        "median_hours": None if row.median is None else round(float(row.median), 2),
        "mean_hours": None if row.mean is None else round(float(row.mean), 2),
    }


# -- the intake form's preview ------------------------------------------------------

PREVIEW_FIELDS = {"lon", "lat", "crs", "risk", "reported_at"}
ACTIONS = {
    "incident.create": "受理",
    "incident.dispatch": "派发",
    "incident.assign": "改派",
    "incident.route": "转派派出所",
    "incident.escalate": "上报",
    "incident.supervise": "督办",
    "incident.transition": "状态变更",
    "incident.read": "查阅",
}
"""The Chinese name of each step of an incident's trail (its history)."""


def crs_choices(lon: float) -> dict[str, str]:
    """The coordinate systems the intake form offers, for a county around
    ``lon``: longitude and latitude (WGS84/CGCS2000, GCJ-02, BD-09) and the
    county's CGCS2000 3-degree Gauss-Kruger zone, both numberings."""
    plain = crs_mod.gauss_kruger_epsg(lon)
    prefixed = crs_mod.gauss_kruger_epsg(lon, zone_prefix=True)
    return {
        "wgs84": "经纬度 WGS84 / CGCS2000",
        "gcj02": "经纬度 GCJ-02（高德、腾讯地图）",
        "bd09": "经纬度 BD-09（百度地图）",
        f"EPSG:{plain}": f"CGCS2000 高斯-克吕格 3° 带，米（EPSG:{plain}）",
        f"EPSG:{prefixed}": f"CGCS2000 高斯-克吕格 3° 带，带号在前（EPSG:{prefixed}）",
    }


def preview(conn: sa.Connection, args) -> dict:
    """Where a report at ``lon``/``lat`` (in ``crs``) would land and whom it
    would go to, before it is saved: the areas (codes and names), the people
    who answer for the place, and the assignee and unit :func:`create` would
    choose for ``risk``.  Nothing is written but the audit row of a lookup
    that names people."""
    # An empty value, or a stray "&" or "=" with no name, says nothing.
    args = {k: v for k, v in dict(args).items() if k and v not in (None, "")}
    dispatch.known_fields(args, PREVIEW_FIELDS)
    crs = params.parse_crs(args.get("crs"))
    x, y = params.to_storage([args.get("lon")], [args.get("lat")], crs)
    params.check_in_china(x, y)
    risk = _choice(args.get("risk"), "risk", vocab.RISK_TIERS, default="yellow")
    when = parse_time(args.get("reported_at"), "reported_at", _now(conn))
    fields = {"lon": float(x[0]), "lat": float(y[0]), "reported_at": when}
    day = when.astimezone(CHINA).date()
    place = lookup.lookup(conn, fields["lon"], fields["lat"], at=day)
    targets = _dispatch_targets(conn, fields, place)
    return {
        "wgs84": [round(float(x[0]), 7), round(float(y[0]), 7)],
        **{k: place[k] for k in ("township", "village", "grid", "police_station")},
        "officers": place["officers"],
        "grid_members": place["grid_members"],
        "goes_to": dispatch.pick(targets, risk),
        "status": "dispatched" if targets else "received",
    }
