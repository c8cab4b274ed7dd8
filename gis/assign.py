"""Set-based (re)assignment of points to village, grid, township and station.

The row triggers keep single inserts and moves right.  After boundaries change
(a re-import, a new generation) :func:`assign` recomputes every point table in a
few set-based statements and writes only the rows whose answer changed.

Each kind is one polygon-driven join against the subdivided ``area_part``
copies; a point on a shared border keeps the area with the smallest code, the
same rule as ``area_at`` in the schema and :mod:`gis.lookup`.  Incidents use the
boundaries in force on the day they were reported; other points use today's.
"""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa

logger = logging.getLogger(__name__)

POINT_TABLES = ("incident", "camera", "post", "site")
KINDS = {
    "village": "village_id",
    "grid": "grid_id",
    "township": "township_id",
    "police_station": "station_id",
}


def _date_expr(table: str) -> str:
    if table == "incident":
        return "(p.reported_at AT TIME ZONE 'Asia/Shanghai')::date"
    return "current_date"


def _hits(table: str, kind: str) -> str:
    """The area of ``kind`` each point of ``table`` lies in (smallest code wins).

    Polygons drive the join: each subdivided part probes the points' GiST index.
    """
    at = _date_expr(table)
    return f"""(SELECT DISTINCT ON (p.id) p.id, a.id AS area_id
                  FROM area_part ap
                  JOIN area a ON a.id = ap.area_id
                  JOIN {table} p ON ST_Intersects(ap.geom, p.geom)
                 WHERE ap.kind = '{kind}'
                   AND a.valid_from <= {at}
                   AND (a.valid_to IS NULL OR a.valid_to > {at})
                 ORDER BY p.id, a.code, a.valid_from DESC)"""


def _compute(conn: sa.Connection, table: str) -> None:
    """Fill temp table ``fresh`` with the new assignment of every row."""
    joins = "\n".join(
        f"LEFT JOIN {_hits(table, kind)} h{n} ON h{n}.id = t.id"
        for n, kind in enumerate(KINDS)
    )
    columns = ", ".join(
        f"h{n}.area_id AS {column}" for n, column in enumerate(KINDS.values())
    )
    conn.execute(sa.text("DROP TABLE IF EXISTS fresh"))
    conn.execute(
        sa.text(
            f"CREATE TEMP TABLE fresh ON COMMIT DROP AS "
            f"SELECT t.id, {columns} FROM {table} t {joins}"
        )
    )


def _write_changes(conn: sa.Connection, table: str) -> int:
    columns = list(KINDS.values())
    current = ", ".join(f"p.{c}" for c in columns)
    fresh = ", ".join(f"f.{c}" for c in columns)
    result = conn.execute(
        sa.text(f"""
        UPDATE {table} p SET {", ".join(f"{c} = f.{c}" for c in columns)}
          FROM fresh f
         WHERE p.id = f.id AND ({current}) IS DISTINCT FROM ({fresh})""")
    )
    return result.rowcount


def assign(engine: sa.Engine, tables=POINT_TABLES) -> dict[str, int]:
    """Recompute the assignment of every point; return changed rows per table.

    One transaction: either every table is brought up to date or none is.
    """
    changed = {}
    with engine.begin() as conn:
        # Transaction-local: the row triggers stand aside for our own UPDATE.
        conn.execute(sa.text("SET LOCAL pingan.bulk_assign = 'on'"))
        for table in tables:
            if table not in POINT_TABLES:
                raise ValueError(
                    f"unknown point table {table!r}; known: {', '.join(POINT_TABLES)}"
                )
            start = time.perf_counter()
            _compute(conn, table)
            changed[table] = _write_changes(conn, table)
            logger.info(
                "%s: %d rows re-assigned in %.2f s",
                table,
                changed[table],
                time.perf_counter() - start,
            )
    return changed
