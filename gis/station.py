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
from datetime import datetime

import sqlalchemy as sa

from gis import clock, incidents, vocab
from gis.errors import NotFound

logger = logging.getLogger(__name__)

_STATION = sa.text("""
SELECT id, code, name FROM area
 WHERE kind = 'police_station' AND code = :code AND valid_to IS NULL
""")

# Counts over the station's incidents in one pass of its rows.  Months are
# Beijing-time calendar months.
_COUNTS = sa.text(f"""
WITH bounds AS (
    SELECT date_trunc('month', :now AT TIME ZONE '{clock.ZONE}')
               AT TIME ZONE '{clock.ZONE}' AS this_month,
           (date_trunc('month', :now AT TIME ZONE '{clock.ZONE}')
               - interval '1 month') AT TIME ZONE '{clock.ZONE}' AS last_month
)
SELECT
    (SELECT json_object_agg(status, n) FROM (
        SELECT i.status, count(*) AS n FROM incident i
         WHERE i.station_id = :station GROUP BY i.status) s) AS by_status,
    (SELECT json_object_agg(risk, n) FROM (
        SELECT i.risk, count(*) AS n FROM incident i
         WHERE i.station_id = :station
           AND i.status IN ('received', 'dispatched', 'handling')
           AND {incidents.OVERDUE_SQL}
         GROUP BY i.risk) o) AS overdue,
    (SELECT count(*) FROM incident i, bounds b WHERE i.station_id = :station
        AND i.reported_at >= b.this_month AND i.reported_at < :now) AS this_month,
    (SELECT count(*) FROM incident i, bounds b WHERE i.station_id = :station
        AND i.reported_at >= b.last_month AND i.reported_at < b.this_month)
        AS last_month,
    (SELECT json_build_object(
            'resolved', count(*),
            'village', count(*) FILTER (WHERE i.resolved_level = 'village'),
            'township', count(*) FILTER (WHERE i.resolved_level = 'township'))
       FROM incident i WHERE i.station_id = :station
        AND i.resolved_at >= :now - interval '365 days') AS levels
""")

_VILLAGES = sa.text("""
SELECT v.code, v.name, v.population, v.households,
       coalesce((SELECT json_agg(json_build_object('code', o.code, 'name', o.name,
                                                   'kind', o.kind) ORDER BY o.code)
                   FROM officer_area oa JOIN officer o ON o.id = oa.officer_id
                  WHERE oa.area_id = v.id AND oa.valid_to IS NULL AND o.active),
                '[]') AS officers,
       (SELECT count(*) FROM grid_member m JOIN area g ON g.id = m.grid_id
         WHERE g.parent_id = v.id AND g.valid_to IS NULL AND m.valid_to IS NULL)
           AS grid_members,
       (SELECT count(*) FROM area g WHERE g.parent_id = v.id
           AND g.kind = 'grid' AND g.valid_to IS NULL) AS grids
  FROM area v
 WHERE v.kind = 'village' AND v.station_id = :station AND v.valid_to IS NULL
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
    counts = dict(conn.execute(_COUNTS, args).mappings().one())
    villages = [dict(r) for r in conn.execute(_VILLAGES, args).mappings()]
    levels = counts.pop("levels")
    cameras = conn.execute(_CAMERAS, args).scalar() or {}
    return {
        "station": {"code": where["code"], "name": where["name"]},
        "date": now.astimezone(clock.BEIJING).date().isoformat(),
        "counts": {
            "by_status": {s: (counts["by_status"] or {}).get(s, 0)
                          for s in vocab.INCIDENT_STATUSES},
            "overdue": {r: (counts["overdue"] or {}).get(r, 0)
                        for r in vocab.RISK_TIERS},
            "this_month": counts["this_month"],
            "last_month": counts["last_month"],
            "resolved_365": levels["resolved"],
            "village_level": levels["village"],
            "township_level": levels["township"],
        },  # fmt: skip
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
