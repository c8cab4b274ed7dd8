"""Where does this point belong?  Jurisdiction lookup (MapIt for villages and grids).

:func:`lookup_many` answers, for each point, the district, township, village, grid
and police station containing it (boundaries in force on a date), the officers and
grid members responsible, and the nearest post with its distance in metres, in one
set-based query.  Edge cases are flagged:

- ``on_boundary``: the point lies on a border shared by two or more areas of one
  kind.  It is given to the area with the **smallest code** (the same rule the
  database uses when it assigns incidents, see ``area_at`` in the schema).
- ``in_gap``: inside the district but in no village (a gap in the boundaries).
- ``outside_district``: in no district at all.

Examples
--------
>>> with engine.connect() as conn:                       # doctest: +SKIP
...     lookup(conn, 115.03, 35.76, crs="gcj02")["village"]
{'code': '410902001003', 'name': '锦华社区'}
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from datetime import date

import numpy as np
import sqlalchemy as sa

from gis import crs as crs_mod
from gis.errors import InvalidInput

logger = logging.getLogger(__name__)

MAX_BATCH = 10_000  # points per POST /api/lookup request
AREA_KINDS = ("district", "township", "village", "grid", "police_station")


def parse_crs(text: str | None) -> str:
    """Normalise a ``crs`` parameter, as an :class:`InvalidInput` naming it."""
    try:
        return crs_mod.parse_crs(text or "wgs84")
    except ValueError as exc:
        raise InvalidInput(f"crs 无效 / invalid crs: {exc}", field="crs") from None


def parse_date(text: str | None) -> date | None:
    """Parse the ``at`` parameter (ISO date); None means today."""
    if text in (None, ""):
        return None
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        raise InvalidInput(
            f"at 必须是 ISO 日期 / at must be an ISO date (YYYY-MM-DD), got {text!r}",
            field="at",
        ) from None


def _number(value, field: str) -> float:
    if isinstance(value, bool) or value is None or value == "":
        raise InvalidInput(f"缺少 {field} / {field} is required", field=field)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{field} 必须是数字 / {field} must be a number, got {value!r}", field=field
        ) from None
    if not math.isfinite(number):
        raise InvalidInput(
            f"{field} 必须是有限数 / {field} must be finite", field=field
        )
    return number


def to_storage(
    lons: Sequence, lats: Sequence, crs: str, fields: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Validate coordinates given in ``crs`` and convert them to WGS84.

    ``fields`` names each point for error messages (e.g. ``points[3]``).
    """
    fields = fields or [""] * len(lons)
    lon = np.array([_number(v, f"{p}lon") for v, p in zip(lons, fields, strict=True)])
    lat = np.array([_number(v, f"{p}lat") for v, p in zip(lats, fields, strict=True)])
    if crs in ("wgs84", "gcj02", "bd09", "EPSG:4490"):
        _check_geographic(lon, lat, crs, fields)
    x, y = crs_mod.to_wgs84(lon, lat, crs)
    x, y = np.atleast_1d(x).astype(float), np.atleast_1d(y).astype(float)
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        i = int(np.argmax(bad))
        raise InvalidInput(
            f"{fields[i]}坐标无法转换 / coordinates cannot be transformed from {crs}",
            field=f"{fields[i]}lon",
        )
    return x, y


def _check_geographic(lon, lat, crs: str, fields) -> None:
    for values, field, limit in ((lat, "lat", 90), (lon, "lon", 180)):
        bad = np.abs(values) > limit
        if bad.any():
            i = int(np.argmax(bad))
            raise InvalidInput(
                f"{fields[i]}{field} 超出范围 / {field} out of range ±{limit}: "
                f"{values[i]}",
                field=f"{fields[i]}{field}",
            )
    if crs in ("gcj02", "bd09"):
        # GCJ-02 (and BD-09 on top of it) is only defined inside China.
        west, south, east, north = crs_mod.GCJ02_BOUNDS
        outside = (lon < west) | (lon > east) | (lat < south) | (lat > north)
        if outside.any():
            i = int(np.argmax(outside))
            raise InvalidInput(
                f"{fields[i]}点不在中国境内，{crs} 坐标无意义 / point outside China: "
                f"{crs} is only defined in China",
                field=f"{fields[i]}lon",
            )


# One query for any number of points.  Polygons come from the subdivided
# ``area_part`` copies so the GiST index does the work; a point touching several
# areas of one kind (a shared edge or vertex) keeps the one with the smallest code.
_LOOKUP_SQL = sa.text("""
WITH pts AS (
    SELECT u.ord, ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326) AS geom
      FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[]))
           WITH ORDINALITY AS u(lon, lat, ord)
), hits AS (
    SELECT DISTINCT p.ord, a.id, a.kind, a.code, a.name
      FROM pts p
      JOIN area_part ap ON ST_Intersects(ap.geom, p.geom)
      JOIN area a ON a.id = ap.area_id
     WHERE a.valid_from <= :at AND (a.valid_to IS NULL OR a.valid_to > :at)
), ranked AS (
    SELECT h.*, row_number() OVER (PARTITION BY ord, kind ORDER BY code) AS rank,
           count(*) OVER (PARTITION BY ord, kind) AS n
      FROM hits h
), chosen AS (
    SELECT ord,
           jsonb_object_agg(kind, jsonb_build_object('code', code, 'name', name))
               FILTER (WHERE rank = 1) AS areas,
           max(id) FILTER (WHERE rank = 1 AND kind = 'village') AS village_id,
           max(id) FILTER (WHERE rank = 1 AND kind = 'grid') AS grid_id,
           jsonb_agg(DISTINCT kind) FILTER (WHERE n > 1) AS shared
      FROM ranked GROUP BY ord
), officers AS (  -- each responsible officer once per area, built once per query
    SELECT oa.area_id, jsonb_agg(jsonb_build_object(
               'code', o.code, 'name', o.name, 'kind', o.kind,
               'for', jsonb_build_object('code', fa.code, 'name', fa.name),
               'post', CASE WHEN po.id IS NOT NULL THEN jsonb_build_object(
                   'code', po.code, 'name', po.name, 'phone', po.phone) END)
               ORDER BY o.code) AS people
      FROM officer_area oa
      JOIN officer o ON o.id = oa.officer_id AND o.active
      JOIN area fa ON fa.id = oa.area_id
      LEFT JOIN post po ON po.id = o.post_id
     WHERE oa.area_id IN (SELECT village_id FROM chosen
                          UNION SELECT grid_id FROM chosen)
     GROUP BY oa.area_id
), members AS (
    SELECT m.grid_id, jsonb_agg(jsonb_build_object(
               'code', m.code, 'name', m.name, 'kind', m.kind)
               ORDER BY m.code) AS people
      FROM grid_member m
     WHERE m.grid_id IN (SELECT grid_id FROM chosen)
     GROUP BY m.grid_id
)
SELECT p.ord, c.areas, c.shared,
       coalesce(ov.people, '[]'::jsonb) || coalesce(og.people, '[]'::jsonb)
           AS officers,
       coalesce(gm.people, '[]'::jsonb) AS grid_members,
       near.post AS nearest_post
  FROM pts p
  LEFT JOIN chosen c ON c.ord = p.ord
  LEFT JOIN officers ov ON ov.area_id = c.village_id
  LEFT JOIN officers og ON og.area_id = c.grid_id
  LEFT JOIN members gm ON gm.grid_id = c.grid_id
  -- Nearest post on the sphere, served by the geography GiST index.
  LEFT JOIN LATERAL (
      SELECT jsonb_build_object('code', po.code, 'name', po.name, 'kind', po.kind,
                                'distance_m', round(
                                    (po.geom::geography <-> p.geom::geography)
                                    ::numeric, 1)) AS post
        FROM post po
       ORDER BY po.geom::geography <-> p.geom::geography
       LIMIT 1) near ON true
 ORDER BY p.ord
""")


def lookup_many(
    conn: sa.Connection,
    lons: Sequence,
    lats: Sequence,
    crs: str = "wgs84",
    at: date | None = None,
) -> list[dict]:
    """Look up many points at once; answers come back in input order.

    Parameters
    ----------
    conn : sqlalchemy.Connection
    lons, lats : sequences of numbers
        Coordinates in ``crs`` (validated; the first bad one raises InvalidInput).
    crs : str
        ``wgs84``, ``gcj02``, ``bd09`` or ``EPSG:n`` (see :func:`gis.crs.parse_crs`).
    at : date, optional
        Answer with the boundaries in force on this date (default today).
    """
    if len(lons) != len(lats):
        raise InvalidInput("lon 与 lat 数量不同 / lon and lat differ in length")
    if len(lons) > MAX_BATCH:
        raise InvalidInput(
            f"一次最多 {MAX_BATCH} 个点 / at most {MAX_BATCH} points per request, "
            f"got {len(lons)}",
            field="points",
        )
    if not len(lons):
        return []
    crs = parse_crs(crs)
    fields = [f"points[{i}]." for i in range(len(lons))] if len(lons) > 1 else None
    x, y = to_storage(lons, lats, crs, fields)
    when = at or date.today()
    rows = conn.execute(
        _LOOKUP_SQL, {"lons": x.tolist(), "lats": y.tolist(), "at": when}
    ).all()
    return [
        _answer(row, lon, lat, crs, wx, wy, when)
        for row, lon, lat, wx, wy in zip(rows, lons, lats, x, y, strict=True)
    ]


def lookup(
    conn: sa.Connection, lon, lat, crs: str = "wgs84", at: date | None = None
) -> dict:
    """Look up one point (see :func:`lookup_many`)."""
    return lookup_many(conn, [lon], [lat], crs, at)[0]


def _answer(row, lon, lat, crs, wx, wy, when) -> dict:
    areas = row.areas or {}
    shared = sorted(row.shared or [])
    answer = {
        "query": {
            "lon": float(lon),
            "lat": float(lat),
            "crs": crs,
            "wgs84": [round(float(wx), 8), round(float(wy), 8)],
            "at": when.isoformat(),
        },
        **{kind: areas.get(kind) for kind in AREA_KINDS},
        "officers": row.officers,
        "grid_members": row.grid_members,
        "nearest_post": row.nearest_post,
        "flags": {
            "on_boundary": bool(shared),
            "boundary_kinds": shared,
            "in_gap": "district" in areas and "village" not in areas,
            "outside_district": "district" not in areas,
        },
    }
    if answer["nearest_post"]:
        answer["nearest_post"]["distance_m"] = float(
            answer["nearest_post"]["distance_m"]
        )
    return answer


def parse_points(body) -> tuple[list, list]:
    """Points from a batch body: a JSON list of ``[lon, lat]`` pairs or
    ``{"lon": .., "lat": ..}`` objects, ``{"points": [...]}``, or a GeoJSON
    FeatureCollection of Points."""
    if isinstance(body, dict) and isinstance(body.get("points"), list):
        body = body["points"]
    if isinstance(body, dict) and body.get("type") == "FeatureCollection":
        items = []
        for i, feature in enumerate(body.get("features") or []):
            geometry = (feature or {}).get("geometry") or {}
            if geometry.get("type") != "Point":
                raise InvalidInput(
                    f"features[{i}] 不是点 / features[{i}] is not a Point",
                    field=f"features[{i}].geometry",
                )
            items.append(geometry.get("coordinates") or [None, None])
    elif isinstance(body, list):
        items = body
    else:
        raise InvalidInput(
            "请求体应为坐标数组或 GeoJSON FeatureCollection / body must be a JSON "
            "list of points or a GeoJSON FeatureCollection",
            field="body",
        )
    lons, lats = [], []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            lons.append(item.get("lon"))
            lats.append(item.get("lat"))
        elif isinstance(item, (list, tuple)) and len(item) >= 2:
            lons.append(item[0])
            lats.append(item[1])
        else:
            raise InvalidInput(
                f"points[{i}] 应为 [lon, lat] 或 {{lon, lat}} / points[{i}] must be "
                "[lon, lat] or {lon, lat}",
                field=f"points[{i}]",
            )
    return lons, lats


def to_json(answer) -> str:
    """Pretty JSON for the CLI (Chinese kept readable)."""
    return json.dumps(answer, ensure_ascii=False, indent=2)
