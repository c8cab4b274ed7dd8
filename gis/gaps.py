"""Coverage gaps (一村一警 and every other "one village, one X" rule).

:func:`analyse` reads the villages, grids, townships, stations and the people
who answer for them (the ``duty_assignment`` view over every role, migration
0014) through the connection it is given, so a station user's analysis holds
their own villages only: the row policies decide, as everywhere.  It returns
the findings of six kinds and their summary:

``uncovered``
    villages with no one of the role (grids, for roles that answer for grids);
``overloaded``
    people answering for more places than their capacity, or more residents
    than their role's per-person norm;
``foreign_post``
    people based at a post in another station's jurisdiction than the places
    they answer for;
``far_post``
    villages whose nearest 警务室/工作站 is farther than ``max_post_m``
    (straight line on the sphere, from the village's point on surface:
    :data:`DISTANCE_METHOD`);
``split``
    villages and grids whose surface lies in two police jurisdictions, with
    the area outside their own station in m²;
``patrol``
    townships whose patrol team (``area.patrol_strength``) is below
    ``patrol_share`` of their residents (the Handan rule, 1 %).

The distances and splits are searched by two owner functions
(``duty_nearest_posts``, ``duty_splits``) that apply the same rule, because
PostGIS's index operators are not leakproof and the index would go unused
under the policies.  Everything else is small sets, joined here.

Examples
--------
>>> with engine.connect() as conn:                        # doctest: +SKIP
...     report = analyse(conn, role="police", thresholds=Thresholds(3000))
...     report["summary"]["district"]["rules"]["uncovered"]["village_share"]
0.93
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date

import sqlalchemy as sa

from gis.errors import InvalidInput

logger = logging.getLogger(__name__)

KINDS = {
    "uncovered": "无人负责的村社/网格",
    "overloaded": "超负荷人员",
    "foreign_post": "驻地在他所辖区",
    "far_post": "距警务室/工作站过远",
    "split": "跨派出所辖区(网格+警格不一致)",
    "patrol": "巡逻力量不足的乡镇",
}
"""Gap kinds, in report order, with their Chinese titles."""

DISTANCE_METHOD = (
    "直线距离(球面, 米)，自村社面内代表点(ST_PointOnSurface)至最近的警务室/工作站 / "
    "straight-line metres on the sphere from the village's point on surface "
    "(ST_PointOnSurface: always inside the village, unlike a centroid) to the "
    "nearest police room or workstation"
)


@dataclass(frozen=True)
class Thresholds:
    """What the rules demand; every field may be set per run.

    Parameters
    ----------
    max_post_m : float
        A village farther than this (metres) from every 警务室/工作站 is a gap.
    patrol_share : float
        A township's patrol team must be at least this share of its residents.
    capacity : int, optional
        Places per person, for every role (default: each role's, then each
        person's own).
    norm : int, optional
        Residents per person, for every role (default: each role's).
    min_split_m2 : float
        The least area (m²) of a village or grid inside another station's
        jurisdiction that counts as a split: neighbouring outlines drawn from
        different sources overlap along their border by slivers of a few
        square metres (in the demo, 0.0 m² to a tenth of a metre), which are
        no misalignment anyone could act on.
    """

    max_post_m: float = 3000.0
    patrol_share: float = 0.01
    capacity: int | None = None
    norm: int | None = None
    min_split_m2: float = 100.0

    def __post_init__(self):
        _positive("max_post_m", self.max_post_m)
        _positive("patrol_share", self.patrol_share)
        _positive("min_split_m2", self.min_split_m2)
        if self.patrol_share > 1:
            raise InvalidInput(
                "patrol_share 须在 0 与 1 之间 / patrol_share must be at most 1, "
                f"got {self.patrol_share}",
                field="patrol_share",
            )
        for name in ("capacity", "norm"):
            if getattr(self, name) is not None:
                _positive(name, getattr(self, name))


def _positive(name: str, value) -> None:
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise InvalidInput(
            f"{name} 须为正数 / {name} must be a positive number, got {value!r}",
            field=name,
        )


def thresholds_from(values: dict) -> Thresholds:
    """Thresholds from text (a query string, the CLI's options); a value that is
    no number is an :class:`InvalidInput` naming its field."""
    out = {}
    for name, kind in (("max_post_m", float), ("patrol_share", float),
                       ("capacity", int), ("norm", int),
                       ("min_split_m2", float)):  # fmt: skip
        text = values.get(name)
        if text is None or text == "":
            continue
        try:
            out[name] = kind(text)
        except (TypeError, ValueError):
            raise InvalidInput(
                f"{name} 须为数字 / {name} must be a number, got {text!r}",
                field=name,
            ) from None
    return Thresholds(**out)


FORMATS = ("json", "csv", "xlsx")


def roles(conn: sa.Connection) -> dict[str, dict]:
    """Every duty role by code: label, answers_for, capacity, residents_norm."""
    rows = conn.execute(sa.text(
        "SELECT code, label, answers_for, capacity, residents_norm FROM duty_role "
        "ORDER BY sort_order, code"
    )).mappings()  # fmt: skip
    return {r["code"]: dict(r) for r in rows}


def keep(engine: sa.Engine) -> None:
    """Make today's kept distances and splits current (``duty_keep``,
    migration 0014), in a transaction of their own on the owner's ``engine``:
    they depend on boundaries and posts only and cost a second or two for a
    county, so every later analysis reads them, whoever asks.  (Without it an
    analysis still computes them, in its own transaction, each time.)"""
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT duty_keep('nearest'), duty_keep('splits')"))


def analyse(
    conn: sa.Connection,
    role: str | None = None,
    at: date | None = None,
    thresholds: Thresholds = Thresholds(),
) -> dict:
    """Every gap of every kind, for ``role`` (default: every role someone in
    scope holds), on date ``at`` (default today), as a JSON-ready dict.

    Raises
    ------
    InvalidInput
        An unknown role (``field="role"``).
    """
    known = roles(conn)
    if role is not None and role not in known:
        raise InvalidInput(
            f"未知角色 / unknown role {role!r}; one of {', '.join(known)}",
            field="role",
        )
    at = at or date.today()
    data = _read(conn, at)
    held = {a["role"] for a in data["assignments"]}
    chosen = [role] if role else [r for r in known if r in held]
    findings = {kind: [] for kind in KINDS}
    for code in chosen:
        spec = known[code]
        findings["uncovered"] += _uncovered(data, spec)
        people = _people(data, spec)
        findings["overloaded"] += _overloaded(data, spec, people, thresholds)
        findings["foreign_post"] += _foreign_post(data, spec, people)
    findings["far_post"] = _far_post(data, thresholds)
    findings["split"] = _split(data, thresholds)
    findings["patrol"] = _patrol(data, thresholds)
    return {
        "data_date": at.isoformat(),
        "roles": [known[c] for c in chosen],
        "thresholds": asdict(thresholds),
        "distance_method": DISTANCE_METHOD,
        "findings": findings,
        "summary": _summary(data, findings),
        "ranked": _ranked(findings),
    }


def _read(conn: sa.Connection, at: date) -> dict:
    """The small sets the rules join: what the connection may see on ``at``."""
    current = "valid_from <= :at AND (valid_to IS NULL OR valid_to > :at)"
    q = {"at": at}

    def rows(sql):
        result = conn.execute(sa.text(sql), q)
        keys = list(result.keys())
        return [dict(zip(keys, row, strict=True)) for row in result]  # 3x .mappings()

    areas = rows(
        "SELECT id, kind, code, name, parent_id, station_id, "
        "coalesce(population, 0) AS population, patrol_strength FROM area "
        f"WHERE kind IN ('township', 'village', 'grid', 'police_station') AND {current}"
    )
    data = {
        "areas": {a["id"]: a for a in areas},
        "assignments": rows(f"SELECT * FROM duty_assignment WHERE {current}"),
        "posts": {r["id"]: r for r in rows(
            "SELECT id, code, name, station_id FROM post")},
        "nearest": rows("SELECT * FROM duty_nearest_posts(:at)"),
        "splits": rows("SELECT * FROM duty_splits(:at)"),
    }  # fmt: skip
    return data


def _place(data: dict, area_id) -> dict:
    """A village's or grid's code, name, township and station."""
    areas = data["areas"]
    a = areas.get(area_id) or {}
    village = a if a.get("kind") != "grid" else areas.get(a.get("parent_id"), {})
    township = areas.get(village.get("parent_id"), {})
    station = areas.get(a.get("station_id"), {})
    return {
        "area_kind": a.get("kind"),
        "code": a.get("code"),
        "name": a.get("name"),
        "township": _ref(township),
        "station": _ref(station),
        "residents": a.get("population", 0),
    }


def _ref(area: dict) -> dict | None:
    return {"code": area["code"], "name": area["name"]} if area else None


def _finding(kind, role, place, reason, **extra) -> dict:
    return {"kind": kind, "role": role, **place, "reason": reason, **extra}


def _uncovered(data: dict, spec: dict) -> list[dict]:
    kind = spec["answers_for"]
    served = {a["area_id"] for a in data["assignments"] if a["role"] == spec["code"]}
    unit = "本村(社区)" if kind == "village" else "本网格"
    return [
        _finding("uncovered", spec["code"], _place(data, a["id"]),
                 f"无{spec['label']}负责{unit}")
        for a in sorted(data["areas"].values(), key=lambda a: a["code"])
        if a["kind"] == kind and a["id"] not in served
    ]  # fmt: skip


def _people(data: dict, spec: dict) -> dict:
    """Person (kind, id) → their assignments of the role, places in scope."""
    out = defaultdict(list)
    for a in data["assignments"]:
        if a["role"] == spec["code"] and a["area_id"] in data["areas"]:
            out[(a["person_kind"], a["person_id"])].append(a)
    return out


def _person_place(data, rows, sharing=None) -> dict:
    """A person's finding fields: their places, township and station of the
    first, and the residents of all (a place's residents shared among the
    ``sharing[place]`` people of the role answering for it)."""
    ids = sorted({r["area_id"] for r in rows}, key=lambda i: data["areas"][i]["code"])
    first = _place(data, ids[0])
    share = sharing or {}
    return {
        **first,
        "area_kind": "person",
        "code": rows[0]["code"],
        "name": rows[0]["name"],
        "places": [data["areas"][i]["code"] for i in ids],
        "residents": round(sum(
            data["areas"][i]["population"] / share.get(i, 1) for i in ids)),
    }  # fmt: skip


def _overloaded(data, spec, people, t: Thresholds) -> list[dict]:
    out = []
    unit = "个村(社区)" if spec["answers_for"] == "village" else "个网格"
    sharing = defaultdict(int)
    for rows in people.values():
        for area_id in {r["area_id"] for r in rows}:
            sharing[area_id] += 1
    areas = data["areas"]
    for rows in people.values():
        capacity = t.capacity or rows[0]["capacity"]
        norm = t.norm or rows[0]["residents_norm"]
        ids = {r["area_id"] for r in rows}
        n = len(ids)
        residents = round(sum(areas[i]["population"] / sharing[i] for i in ids))
        if n <= capacity and not (norm and residents > norm):
            continue  # most people: no finding to describe
        place = _person_place(data, rows, sharing)
        reasons = []
        if n > capacity:
            reasons.append(f"负责{n}{unit}，超过每人{capacity}{unit}的上限")
        if norm and residents > norm:
            reasons.append(f"人均负责常住人口{residents}人，超过每人{norm}人的标准")
        if reasons:
            out.append(_finding(
                "overloaded", spec["code"], place,
                f"{spec['label']}{place['name']}" + "；".join(reasons),
                capacity=capacity, norm=norm,
            ))  # fmt: skip
    return sorted(out, key=lambda f: f["code"])


def _foreign_post(data, spec, people) -> list[dict]:
    out = []
    for rows in people.values():
        post = data["posts"].get(rows[0]["post_id"])
        if post is None or post["station_id"] is None:
            continue
        stations = {data["areas"][r["area_id"]]["station_id"] for r in rows}
        if post["station_id"] in stations:
            continue
        place = _person_place(data, rows)
        home = data["areas"].get(post["station_id"], {})
        where = home.get("name", "另一派出所")
        out.append(_finding(
            "foreign_post", spec["code"], place,
            f"{spec['label']}{place['name']}驻{post['name']}（{where}辖区），"
            f"所负责的村社属{(place['station'] or {}).get('name', '其他派出所')}",
            post=_ref(post), post_station=_ref(home),
        ))  # fmt: skip
    return sorted(out, key=lambda f: f["code"])


def _far_post(data, t: Thresholds) -> list[dict]:
    out = []
    for r in data["nearest"]:
        d = r["distance_m"]
        if d is not None and d <= t.max_post_m:
            continue
        post = data["posts"].get(r["post_id"])
        where = f"最近的警务室/工作站{post['name']}" if post else "最近的警务室/工作站"
        reason = (f"距{where}{d / 1000:.1f}公里，超过{t.max_post_m / 1000:g}公里"
                  if d is not None else "辖区内没有警务室/工作站")  # fmt: skip
        out.append(_finding(
            "far_post", None, _place(data, r["village_id"]), reason,
            distance_m=None if d is None else round(d, 1), post=_ref(post or {}),
        ))  # fmt: skip
    return sorted(out, key=lambda f: f["code"])


def _split(data, t: Thresholds) -> list[dict]:
    out = []
    for r in data["splits"]:
        if r["split_m2"] < t.min_split_m2:
            continue
        place = _place(data, r["area_id"])
        other = data["areas"].get(r["station_id"], {})
        own = (place["station"] or {}).get("name", "本所")
        unit = "网格" if place["area_kind"] == "grid" else "村(社区)"
        m2 = round(r["split_m2"], 1)
        out.append(_finding(
            "split", None, place,
            f"{unit}跨{own}与{other.get('name', '另一派出所')}两个辖区，"
            f"{m2:,.0f}平方米在后者辖区内",
            split_m2=m2, other_station=_ref(other),
        ))  # fmt: skip
    return sorted(out, key=lambda f: (f["code"], f["split_m2"]))


def _patrol(data, t: Thresholds) -> list[dict]:
    out = []
    for a in sorted(data["areas"].values(), key=lambda a: a["code"]):
        if a["kind"] != "township" or a["patrol_strength"] is None:
            continue
        need = math.ceil(a["population"] * t.patrol_share)
        if a["patrol_strength"] >= need:
            continue
        out.append(_finding(
            "patrol", None,
            {"area_kind": "township", "code": a["code"], "name": a["name"],
             "township": _ref(a), "station": None, "residents": a["population"]},
            f"巡逻队员{a['patrol_strength']}人，不足常住人口{a['population']}人的"
            f"{t.patrol_share:.1%}（应不少于{need}人）",
            patrol_strength=a["patrol_strength"], needed=need,
        ))  # fmt: skip
    return out


def _ranked(findings: dict) -> list[dict]:
    """Every finding, most residents affected first."""
    every = [f for kind in KINDS for f in findings[kind]]
    return sorted(every, key=lambda f: (-(f["residents"] or 0), f["kind"], f["code"]))


def _village_of(data, area_id):
    a = data["areas"].get(area_id)
    if a is None:
        return None
    return a["id"] if a["kind"] == "village" else a.get("parent_id")


def _summary(data: dict, findings: dict) -> dict:
    """Per rule, the share of villages and of residents meeting it: for the
    whole district (in scope), per township and per station.  A village breaks
    a rule when a finding of that kind names it, one of its grids, or (patrol)
    its township, or (overloaded, foreign_post) one of its people."""
    villages = [a for a in data["areas"].values() if a["kind"] == "village"]
    broken = {kind: set() for kind in KINDS}
    by_code = {(a["kind"], a["code"]): a["id"] for a in data["areas"].values()}
    for kind, rows in findings.items():
        for f in rows:
            broken[kind] |= _villages_named(data, by_code, f, villages)
    scopes = {"district": {"all": villages}, "township": defaultdict(list),
              "station": defaultdict(list)}  # fmt: skip
    for v in villages:
        scopes["township"][v["parent_id"]].append(v)
        scopes["station"][v["station_id"]].append(v)
    areas = data["areas"]
    return {
        "district": _shares(villages, broken),
        "townships": [
            {**(_ref(areas.get(k, {})) or {}), **_shares(vs, broken)}
            for k, vs in sorted(scopes["township"].items(), key=_by_code(areas))
        ],
        "stations": [
            {**(_ref(areas.get(k, {})) or {"code": None, "name": "无"}),
             **_shares(vs, broken)}
            for k, vs in sorted(scopes["station"].items(), key=_by_code(areas))
        ],
    }  # fmt: skip


def _by_code(areas):
    return lambda item: (areas.get(item[0]) or {}).get("code") or ""


def _villages_named(data, by_code, finding, villages) -> set:
    kind = finding["area_kind"]
    if kind == "township":
        tid = by_code.get(("township", finding["code"]))
        return {v["id"] for v in villages if v["parent_id"] == tid}
    codes = finding.get("places") or [finding["code"]]
    found = set()
    for code in codes:
        area_id = by_code.get(("village", code)) or by_code.get(("grid", code))
        if (v := _village_of(data, area_id)) is not None:
            found.add(v)
    return found


def _shares(villages: list[dict], broken: dict) -> dict:
    total = len(villages)
    residents = sum(v["population"] for v in villages)
    rules = {}
    for kind, ids in broken.items():
        ok = [v for v in villages if v["id"] not in ids]
        rules[kind] = {
            "villages_meeting": len(ok),
            "village_share": round(len(ok) / total, 4) if total else None,
            "residents_meeting": sum(v["population"] for v in ok),
            "resident_share": (
                round(sum(v["population"] for v in ok) / residents, 4)
                if residents
                else None
            ),
        }
    return {"villages": total, "residents": residents, "rules": rules}


# Files for handing upwards -------------------------------------------------------
COLUMNS = {
    "kind": "类型",
    "role": "角色",
    "code": "编码",
    "name": "名称",
    "township": "乡镇/街道",
    "station": "派出所",
    "residents": "涉及人口",
    "reason": "原因",
    "detail": "说明",
}
"""The finding columns of the CSV and the sheets, with their Chinese headers."""


def rows(report: dict, kind: str | None = None) -> list[list]:
    """Findings as table rows (:data:`COLUMNS`), ranked or of one ``kind``."""
    labels = {r["code"]: r["label"] for r in report["roles"]}
    found = report["ranked"] if kind is None else report["findings"][kind]
    out = []
    for f in found:
        detail = {
            k: f[k]
            for k in ("distance_m", "split_m2", "places", "needed", "patrol_strength")
            if f.get(k) is not None
        }
        out.append([
            KINDS[f["kind"]], labels.get(f["role"], ""), f["code"], f["name"],
            (f["township"] or {}).get("name", ""), (f["station"] or {}).get("name", ""),
            f["residents"], f["reason"],
            "; ".join(f"{k}={';'.join(v) if isinstance(v, list) else v}"
                      for k, v in detail.items()),
        ])  # fmt: skip
    return out


def to_csv(report: dict) -> str:
    """The ranked list as CSV (UTF-8 with BOM so Excel reads the Chinese)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS.values())
    writer.writerows(rows(report))
    return "\ufeff" + buffer.getvalue()


def to_geojson(conn: sa.Connection, report: dict) -> dict:
    """The ranked list as a GeoJSON FeatureCollection (WGS84): each finding on
    the outline of its village, grid or township (simplified to about 5 m), a
    person's on the places they answer for; read through ``conn``, so under
    the same row policies as the report."""
    codes = set()
    for finding in report["ranked"]:
        codes.update(finding.get("places") or [finding["code"]])
    shapes = dict(
        conn.execute(
            sa.text(
                """SELECT code, ST_AsGeoJSON(ST_Simplify(geom, 0.00005), 6)::json
                     FROM area WHERE code = ANY(:codes) AND valid_to IS NULL
                      AND kind IN ('village', 'grid', 'township')"""
            ),
            {"codes": sorted(codes)},
        ).all()
    )
    features = []
    for finding in report["ranked"]:
        places = finding.get("places") or [finding["code"]]
        parts = [shapes[code] for code in places if code in shapes]
        if not parts:
            continue
        polygons = []
        for part in parts:  # one MultiPolygon of every place
            polygons += (
                part["coordinates"] if part["type"] == "MultiPolygon"
                else [part["coordinates"]]
            )  # fmt: skip
        properties = {
            "kind": finding["kind"],
            "kind_label": KINDS[finding["kind"]],
            **{k: v for k, v in finding.items() if k not in ("kind", "places")},
        }
        features.append({
            "type": "Feature",
            "geometry": {"type": "MultiPolygon", "coordinates": polygons},
            "properties": properties,
        })  # fmt: skip
    return {"type": "FeatureCollection", "features": features}


def write_xlsx(report: dict, target) -> None:
    """The report as a workbook: 汇总 (summary: thresholds, data date, shares per
    district, township and station) first, then 排序清单 (ranked) and one
    sheet per gap kind; Chinese headers, frozen header rows, widths, formats.
    ``target``: a path or a binary file object."""
    from openpyxl import Workbook

    book = Workbook()
    _summary_sheet(book.active, report)
    _table(book.create_sheet("排序清单"), rows(report))
    for kind, title in KINDS.items():
        _table(book.create_sheet(_sheet_title(title)), rows(report, kind))
    book.save(target)


_RULE_HEADERS = {kind: f"{title}:达标村社比例" for kind, title in KINDS.items()}


def _summary_sheet(sheet, report: dict) -> None:
    from openpyxl.styles import Font

    sheet.title = "汇总"
    t = report["thresholds"]
    head = [
        ("数据日期", report["data_date"]),
        ("分析角色", "、".join(r["label"] for r in report["roles"]) or "无"),
        ("警务室/工作站距离阈值(米)", t["max_post_m"]),
        ("巡逻力量不低于常住人口比例", t["patrol_share"]),
        ("每人负责上限(覆盖角色默认值)", t["capacity"] or "按角色默认"),
        ("人均常住人口标准(覆盖角色默认值)", t["norm"] or "按角色默认"),
        ("距离计算方法", report["distance_method"]),
    ]
    for row in head:
        sheet.append(row)
    sheet["B4"].number_format = "0.0%"
    sheet.append([])
    header = ["范围", "编码", "名称", "村社数", "常住人口", *_RULE_HEADERS.values()]
    sheet.append(header)
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
    s = report["summary"]
    scopes = [("全区", {"code": "", "name": "", **s["district"]})]
    scopes += [("乡镇/街道", x) for x in s["townships"]]
    scopes += [("派出所", x) for x in s["stations"]]
    for label, x in scopes:
        sheet.append([label, x["code"], x["name"], x["villages"], x["residents"],
                      *(x["rules"][k]["village_share"] for k in KINDS)])  # fmt: skip
        for cell in sheet[sheet.max_row][5:]:
            cell.number_format = "0.0%"
        sheet.cell(sheet.max_row, 5).number_format = "#,##0"
    sheet.freeze_panes = sheet.cell(header_row + 1, 1)
    for column, width in zip("ABCDEFGHIJK", (30, 16, 18, 10, 12) + (16,) * 6,
                             strict=True):  # fmt: skip
        sheet.column_dimensions[column].width = width


def _table(sheet, table: list[list]) -> None:
    from openpyxl.styles import Font

    sheet.append(list(COLUMNS.values()))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table:
        sheet.append(row)
        sheet.cell(sheet.max_row, 7).number_format = "#,##0"
    sheet.freeze_panes = "A2"
    for column, width in zip("ABCDEFGHI", (22, 14, 18, 16, 14, 14, 10, 60, 30),
                             strict=True):  # fmt: skip
        sheet.column_dimensions[column].width = width


def sheet_title(kind: str) -> str:
    """The sheet of gap kind ``kind`` (Excel forbids ``/`` and 31+ characters)."""
    return _sheet_title(KINDS[kind])


def _sheet_title(title: str) -> str:
    return title.replace("/", "、")[:31]
