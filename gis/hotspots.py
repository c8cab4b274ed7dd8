"""Hot spots of incidents, statistically: Gi* on the kept square counts, and
emerging hot spots over the months (``GET /api/hotspots``,
``python -m gis hotspots``, the map's hot spot layer).

SQL feeds the counts (:func:`gis.stats.cell_counts`: every square of the
study area, zeros included, under the connection's row scope); the statistics
are :mod:`gis.analysis.hotspots`; the answer is GeoJSON squares with their
class, built in PostGIS.  No single incident is read.
"""

from __future__ import annotations

import json
import logging
from datetime import date

import numpy as np
import sqlalchemy as sa

from gis import stats
from gis.analysis import hotspots as analysis
from gis.errors import InvalidInput, brief

logger = logging.getLogger(__name__)

DEFAULT_SIZE = 1000
DEFAULT_PERMUTATIONS = 999
MAX_PERMUTATIONS = 9999
DEFAULT_SEED = 12345

LEVEL_LABELS = {
    3: "热点（99% 置信）", 2: "热点（95% 置信）", 1: "热点（90% 置信）",
    -1: "冷点（90% 置信）", -2: "冷点（95% 置信）", -3: "冷点（99% 置信）",
}  # fmt: skip
LEVEL_COLORS = {3: "#b2182b", 2: "#ef8a62", 1: "#fddbc7",
                -1: "#d1e5f0", -2: "#67a9cf", -3: "#2166ac"}  # fmt: skip
LEGEND_NOTE = (
    "热点：事件数明显高于周边、且不太可能是偶然聚集的方格（Getis-Ord Gi* 统计，"
    "999 次随机置换检验，并按错误发现率校正）；冷点：明显偏少。"
    "置信度越高，偶然出现的可能越小。"
)
EMERGING_LABELS = {
    **{code: label for code, (label, _) in analysis.CATEGORIES.items()},
    **{f"{code}_cold": label.replace("热点", "冷点")
       for code, (label, _) in analysis.CATEGORIES.items()},
}  # fmt: skip


def _int(value, field: str, low: int, high: int, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(str(value))
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise InvalidInput(
            f"{field} 必须是 {low} 到 {high} 之间的整数 / {field} must be a whole "
            f"number in [{low}, {high}], got {brief(value)}",
            field=field,
        )
    return number


def options(args) -> dict:
    """``size``, ``permutations``, ``seed`` and ``emerging`` from query
    parameters (bad ones named)."""
    emerging = str(args.get("emerging") or "0").lower()
    if emerging not in ("0", "1", "true", "false"):
        raise InvalidInput(
            f"emerging 应为 1 或 0 / emerging must be 1 or 0, got {brief(emerging)}",
            field="emerging",
        )
    return {
        "size": stats.parse_size(args.get("size")) or DEFAULT_SIZE,
        "permutations": _int(args.get("permutations"), "permutations", 0,
                             MAX_PERMUTATIONS, DEFAULT_PERMUTATIONS),
        "seed": _int(args.get("seed"), "seed", 0, 2**31 - 1, DEFAULT_SEED),
        "emerging": emerging in ("1", "true"),
    }  # fmt: skip


def hotspots(
    conn: sa.Connection,
    filters: stats.Filters = stats.Filters(),  # noqa: B008 (frozen, no state)
    size: int = DEFAULT_SIZE,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = DEFAULT_SEED,
) -> dict:
    """Gi* hot and cold spots of the period's counts per square: GeoJSON of
    the significant squares (``level``, ``label``, ``z``, ``p``, ``q``) with a
    ``summary`` of squares per level."""
    cells = stats.cell_counts(conn, filters, size)
    if len(cells["n"]) < 3 or cells["n"].sum() == 0:
        return _collection(conn, size, [], {}, filters, "gi_star")
    result = analysis.gi_star(cells["n"], cells["cx"], cells["cy"],
                              permutations, seed)  # fmt: skip
    keep = np.flatnonzero(result.level != 0)
    props = [
        {"level": int(result.level[i]), "label": LEVEL_LABELS[int(result.level[i])],
         "z": round(float(result.z_sim[i]), 2), "p": float(f"{result.p[i]:.3g}"),
         "q": float(f"{result.q[i]:.3g}")}
        for i in keep
    ]  # fmt: skip
    summary = {str(k): int((result.level == k).sum()) for k in LEVEL_LABELS}
    squares = list(zip(cells["cx"][keep], cells["cy"][keep], strict=True))
    out = _collection(conn, size, squares, props, filters, "gi_star")
    out.update(bins=len(cells["n"]), permutations=permutations, seed=seed,
               summary=summary, legend=LEGEND_NOTE)  # fmt: skip
    return out


def emerging(
    conn: sa.Connection,
    filters: stats.Filters = stats.Filters(),  # noqa: B008 (frozen, no state)
    size: int = DEFAULT_SIZE,
) -> dict:
    """Emerging hot spot categories over the period's months (at least 4;
    default the last 24 months counted)."""
    filters = _months(conn, filters)
    cells = stats.cell_counts(conn, filters, size, by_month=True)
    months = _month_list(filters.start, filters.end)
    squares = sorted(set(zip(cells["cx"].tolist(), cells["cy"].tolist(),
                             strict=True)))  # fmt: skip
    index = {sq: i for i, sq in enumerate(squares)}
    cube = np.zeros((len(months), len(squares)))
    at = {m: i for i, m in enumerate(months)}
    for x, y, m, n in zip(cells["cx"], cells["cy"], cells["month"], cells["n"],
                          strict=True):  # fmt: skip
        if m is not None:
            cube[at[m], index[(int(x), int(y))]] += n
    cx, cy = [s[0] for s in squares], [s[1] for s in squares]
    result = analysis.emerging(cube, cx, cy)
    keep = [i for i, c in enumerate(result.category) if c]
    props = [{"category": (c := result.category[i]), "label": EMERGING_LABELS[c],
              "trend_z": round(float(result.trend_z[i]), 2)} for i in keep]  # fmt: skip
    out = _collection(conn, size, [squares[i] for i in keep], props, filters,
                      "emerging")  # fmt: skip
    summary: dict[str, int] = {}
    for p in props:
        summary[p["category"]] = summary.get(p["category"], 0) + 1
    out.update(bins=len(squares), months=[m.strftime("%Y-%m") for m in months],
               summary=summary,
               categories={code: {"label": label, "arcgis": name} for code,
                           (label, name) in analysis.CATEGORIES.items()})  # fmt: skip
    return out


def _months(conn: sa.Connection, filters: stats.Filters) -> stats.Filters:
    """The period made explicit: by default the last 24 months counted."""
    start, end = filters.start, filters.end
    if end is None:
        end = conn.execute(sa.text("SELECT max(month) FROM incident_cell")).scalar()
    if end is None:
        raise InvalidInput("还没有事件可分析 / no incidents counted yet", field="to")
    if start is None:
        start = _shift(end, -23)
    if len(_month_list(start, end)) < 4:
        raise InvalidInput(
            "新兴热点分析至少需要 4 个月 / emerging hot spots need at least 4 months",
            field="from",
        )
    return stats.Filters(start, end, filters.categories, filters.statuses,
                         filters.risks, filters.township, filters.station)  # fmt: skip


def _shift(month: date, by: int) -> date:
    k = month.year * 12 + month.month - 1 + by
    return date(k // 12, k % 12 + 1, 1)


def _month_list(start: date, end: date) -> list[date]:
    out, m = [], start
    while m <= end:
        out.append(m)
        m = _shift(m, 1)
    return out


def _collection(conn, size: int, squares: list, props: list, filters, method) -> dict:
    """GeoJSON squares (WGS84, built in PostGIS) with ``props``."""
    srid = stats.srid(conn)
    features = []
    if squares:
        geoms = conn.execute(
            sa.text(
                f"""SELECT ST_AsGeoJSON({stats.square_sql()}, 5)
                      FROM unnest(CAST(:cx AS int[]), CAST(:cy AS int[]))
                           WITH ORDINALITY s (cx, cy, k) ORDER BY k"""
            ),
            {"cx": [int(x) for x, _ in squares], "cy": [int(y) for _, y in squares],
             "size": size, "srid": srid},  # fmt: skip
        ).scalars()
        features = [{"type": "Feature", "geometry": json.loads(g), "properties": p}
                    for g, p in zip(geoms, props, strict=True)]  # fmt: skip
    return {"type": "FeatureCollection", "method": method, "size": size,
            "filters": filters.describe(), "features": features}  # fmt: skip
