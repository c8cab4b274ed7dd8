"""One police station at a glance: the station home's and the jurisdiction
sheet's figures (派出所工作台、辖区工作表).

:func:`summary` reads, for one station, in a few statements under the
caller's row policies:

- the station's name and code, and today's date (Beijing time);
- incidents by workflow state, overdue ones by risk tier, this month against
  last month, the share resolved at village level (小事不出村) over the last
  365 days, and the open incidents flagged for supervision (督办);
- its villages with population, households, officers and grid members;
- its officers with the villages each answers for (一村一警);
- its cameras by status.

:func:`overdue` is the overdue list a 综治中心 circulates
(``python -m gis overdue``), and :func:`write_xlsx` writes the sheet's tables
to a workbook.  Nothing here writes to the database.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa

from gis import clock, incidents, vocab
from gis.errors import NotFound

logger = logging.getLogger(__name__)

_STATION = sa.text("""
SELECT id, code, name FROM area
 WHERE kind = 'police_station' AND code = :code AND valid_to IS NULL
""")

# The station's incidents by state with the month and resolution figures, in
# one pass of its rows (migration 0016's owner function, which applies the
# row rule once for the station), and the overdue ones by tier over its open
# rows (the open partial index).
_COUNTS = sa.text("""
SELECT * FROM station_incident_counts(:station, :this_month, :last_month, :now,
                                      :since)
""")
_OVERDUE = sa.text(f"""
SELECT i.risk, count(*) AS n FROM incident i
 WHERE i.station_id = :station AND i.status IN ('received', 'dispatched', 'handling')
   AND {incidents.OVERDUE_SQL}
 GROUP BY i.risk
""")
YEAR = timedelta(days=365)  # the span 小事不出村 is measured over


def _months(now: datetime) -> tuple[datetime, datetime]:
    """The first moments of this and last calendar month, in Beijing time."""
    this = now.astimezone(clock.BEIJING).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    last = (this - timedelta(days=1)).replace(day=1)
    return this, last


def _counts(conn: sa.Connection, station_id: int, now: datetime) -> dict:
    this_month, last_month = _months(now)
    args = {"station": station_id, "now": now, "this_month": this_month,
            "last_month": last_month, "since": now - YEAR}  # fmt: skip
    counts = {
        "by_status": dict.fromkeys(vocab.INCIDENT_STATUSES, 0),
        "overdue": dict.fromkeys(vocab.RISK_TIERS, 0),
        **dict.fromkeys(("this_month", "last_month", "resolved_365",
                         "village_level", "township_level"), 0),
    }  # fmt: skip
    for row in conn.execute(_COUNTS, args).mappings():
        counts["by_status"][row["status"]] = row["n"]
        counts["resolved_365"] += row["resolved"]
        for key in ("this_month", "last_month", "village_level", "township_level"):
            counts[key] += row[key]
    for risk, n in conn.execute(_OVERDUE, args).all():
        counts["overdue"][risk] = n
    return counts


# Set-based (one aggregate per kind of people, not a subquery per village):
# a county station has 600 villages.
_VILLAGES = sa.text("""
WITH v AS (
    SELECT id, code, name, population, households FROM area
     WHERE kind = 'village' AND station_id = :station AND valid_to IS NULL
), officers AS (
    SELECT oa.area_id, json_agg(json_build_object('code', o.code, 'name', o.name,
                                                  'kind', o.kind) ORDER BY o.code)
               AS officers
      FROM officer_area oa JOIN officer o ON o.id = oa.officer_id
     WHERE oa.valid_to IS NULL AND o.active AND oa.area_id IN (SELECT id FROM v)
     GROUP BY oa.area_id
), grids AS (
    SELECT g.parent_id, count(DISTINCT g.id) AS grids,
           count(DISTINCT m.member_id) AS members
      FROM area g
      LEFT JOIN grid_member_area m ON m.area_id = g.id AND m.valid_to IS NULL
     WHERE g.kind = 'grid' AND g.valid_to IS NULL
       AND g.parent_id IN (SELECT id FROM v)
     GROUP BY g.parent_id
)
SELECT v.code, v.name, v.population, v.households,
       coalesce(officers.officers, '[]') AS officers,
       coalesce(grids.members, 0) AS grid_members,
       coalesce(grids.grids, 0) AS grids
  FROM v
  LEFT JOIN officers ON officers.area_id = v.id
  LEFT JOIN grids ON grids.parent_id = v.id
 ORDER BY v.code
""")

_OFFICERS = sa.text("""
SELECT o.code, o.name, o.kind, p.name AS post,
       coalesce(json_agg(a.name ORDER BY a.code) FILTER (WHERE a.id IS NOT NULL),
                '[]') AS villages
  FROM officer o
  JOIN post p ON p.id = o.post_id
  LEFT JOIN officer_area oa ON oa.officer_id = o.id AND oa.valid_to IS NULL
  LEFT JOIN area a ON a.id = oa.area_id
 WHERE p.station_id = :station AND o.active
 GROUP BY o.id, p.name
 ORDER BY o.code
""")

_CAMERAS = sa.text("""
SELECT json_object_agg(status, n) FROM (
    SELECT c.status, count(*) AS n FROM camera c
     WHERE c.station_id = :station GROUP BY c.status) s
""")


def station(conn: sa.Connection, code: str) -> dict:
    """The current station ``code`` the caller may see (``id``, ``code``,
    ``name``); :class:`NotFound` otherwise (another station's is the same 404)."""
    row = conn.execute(_STATION, {"code": code}).mappings().first()
    if row is None:
        raise NotFound(f"没有编码为 {code} 的派出所 / no police station {code!r}")
    return dict(row)


def summary(conn: sa.Connection, code: str, now: datetime | None = None) -> dict:
    """Everything the station home and the jurisdiction sheet show of station
    ``code`` (see the module's description), as a JSON-ready dict."""
    where = station(conn, code)
    now = now or conn.execute(sa.text("SELECT now()")).scalar()
    args = {"station": where["id"], "now": now}
    counts = _counts(conn, where["id"], now)
    villages = [dict(r) for r in conn.execute(_VILLAGES, args).mappings()]
    cameras = conn.execute(_CAMERAS, args).scalar() or {}
    return {
        "station": {"code": where["code"], "name": where["name"]},
        "date": now.astimezone(clock.BEIJING).date().isoformat(),
        "counts": counts,
        "villages": villages,
        "population": sum(v["population"] or 0 for v in villages),
        "unassigned_villages": [v["name"] for v in villages if not v["officers"]],
        "officers": [dict(r) for r in conn.execute(_OFFICERS, args).mappings()],
        "cameras": {s: cameras.get(s, 0) for s in vocab.CAMERA_STATUSES},
        "supervised": supervised(conn, where["code"]),
    }


def supervised(conn: sa.Connection, code: str, limit: int = 50) -> list[dict]:
    """The station's open incidents under supervision (督办), longest first."""
    found = incidents.query(
        conn,
        incidents.Filters(
            station=code, supervised=True, statuses=incidents.OPEN,
            sort="oldest", limit=limit,
        ),
    )  # fmt: skip
    return [f["properties"] for f in found["features"]]


def overdue(conn: sa.Connection, code: str, now: datetime | None = None) -> list:
    """The station's overdue incidents, most urgent tier first and, within a
    tier, the longest overdue first (the list a 综治中心 circulates)."""
    station(conn, code)
    found = incidents.query(
        conn,
        incidents.Filters(overdue=True, station=code, limit=incidents.MAX_LIST),
        now=now,
    )
    return [f["properties"] for f in found["features"]]


# -- the sheet and the overdue list as workbooks ------------------------------------

OVERDUE_COLUMNS = (
    ("code", "编号"), ("risk", "风险等级"), ("status", "状态"), ("category", "类别"),
    ("reported_at", "上报时间(北京时间)"), ("deadline", "处置时限(北京时间)"),
    ("village_name", "村(社区)"), ("grid_name", "网格"), ("assignee", "处置人"),
    ("unit", "处置单位"), ("handling_level", "处置层级"), ("supervised", "督办意见"),
)  # fmt: skip
_LABELS = {
    "risk": vocab.RISK_TIERS, "status": vocab.INCIDENT_STATUSES,
    "category": vocab.INCIDENT_CATEGORIES, "handling_level": vocab.RESOLVED_LEVELS,
}  # fmt: skip


def overdue_rows(found: list[dict]) -> list[list]:
    """The overdue list as table rows of :data:`OVERDUE_COLUMNS` (Chinese labels,
    Beijing times with their offset)."""
    rows = []
    for p in found:
        cells = {
            **{k: _LABELS[k].get(p[k], p[k]) for k in _LABELS},
            "assignee": (p["assignee"] or {}).get("name"),
            "unit": (p["unit"] or {}).get("name"),
            "supervised": (p["supervised"] or {}).get("note"),
        }
        rows.append([cells.get(k, p.get(k)) for k, _ in OVERDUE_COLUMNS])
    return rows


def write_xlsx(figures: dict | None, overdue_list: list[dict], target) -> None:
    """The jurisdiction sheet (``figures`` from :func:`summary`: 概况, 村(社区),
    民警) and the overdue list (超期事件) as one workbook; ``figures`` None
    writes the overdue list alone.  Text is always text, never a formula.
    ``target``: a path or a binary file object."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    if figures is not None:
        _sheet(book, "概况", ["项目", "数值"], _overview(figures))
        _sheet(book, "村(社区)", ["编码", "村(社区)", "人口", "户数", "民警",
                                 "网格数", "网格员数"], [
            [v["code"], v["name"], v["population"], v["households"],
             "、".join(o["name"] for o in v["officers"]), v["grids"],
             v["grid_members"]] for v in figures["villages"]])  # fmt: skip
        officers = [
            [o["code"], o["name"], vocab.OFFICER_KINDS.get(o["kind"], o["kind"]),
             o["post"], "、".join(o["villages"])] for o in figures["officers"]
        ]  # fmt: skip
        _sheet(book, "民警", ["警号", "姓名", "类别", "警务室", "负责村(社区)"],
               officers)  # fmt: skip
    _sheet(book, "超期事件", [label for _, label in OVERDUE_COLUMNS],
           overdue_rows(overdue_list))  # fmt: skip
    book.save(target)


def _overview(figures: dict) -> list[list]:
    c = figures["counts"]
    rows = [
        ["派出所", figures["station"]["name"]],
        ["派出所编码", figures["station"]["code"]],
        ["日期(北京时间)", figures["date"]],
        ["村(社区)数", len(figures["villages"])],
        ["人口", figures["population"]],
        ["民警/辅警", len(figures["officers"])],
    ]
    rows += [[f"事件·{label}", c["by_status"][code]]
             for code, label in vocab.INCIDENT_STATUSES.items()]  # fmt: skip
    rows += [[f"超期·{label}", c["overdue"][code]]
             for code, label in vocab.RISK_TIERS.items()]  # fmt: skip
    rows += [
        ["本月上报", c["this_month"]],
        ["上月上报", c["last_month"]],
        ["近一年化解", c["resolved_365"]],
        ["其中村级化解(小事不出村)", c["village_level"]],
    ]
    rows += [[f"视频·{label}", figures["cameras"][code]]
             for code, label in vocab.CAMERA_STATUSES.items()]  # fmt: skip
    return rows


def _sheet(book, title: str, header: list[str], rows: list[list]) -> None:
    from gis.export import xlsx_text

    sheet = book.create_sheet(title)
    sheet.append(header)
    for row in rows:
        sheet.append([xlsx_text(sheet, v) if isinstance(v, str) else v for v in row])
