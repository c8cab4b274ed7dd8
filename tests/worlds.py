"""Hand-built worlds the tests share (test modules never import each other).

Drawn in WGS84 degrees; ``box`` makes a rectangle 30.0-30.1 N by default.

``AREAS`` — one station over everything::

    lat 30.1 +-----------+--------+----+
             | village A | vill. B|gap |
             | grid A1   | grid B1|    |
    lat 30.0 +-----------+--------+----+
          100.0        100.1   100.18 100.2

``TWO_STATIONS`` — the same villages, the district split at 100.1 between
station S1 (village A, grid A1) and station S2 (village B, grid B1).
"""

from __future__ import annotations

import sqlalchemy as sa


def box(x0, x1, y0=30.0, y1=30.1) -> str:
    return (
        f"SRID=4326;MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"
    )


DISTRICT, TOWNSHIP = "100000000000", "100000001000"
S1, S2 = "100000510000", "100000520000"
A, B = "100000001001", "100000001002"
A1, B1 = A + "001", B + "001"

AREAS = [  # kind, code, parent code, geometry
    ("district", DISTRICT, None, box(100.0, 100.2)),
    ("township", TOWNSHIP, DISTRICT, box(100.0, 100.2)),
    ("police_station", S1, DISTRICT, box(100.0, 100.2)),
    ("village", A, TOWNSHIP, box(100.0, 100.1)),
    ("village", B, TOWNSHIP, box(100.1, 100.18)),
    ("grid", A1, A, box(100.0, 100.1)),
    ("grid", B1, B, box(100.1, 100.18)),
]

TWO_STATIONS = [
    ("district", DISTRICT, None, box(100.0, 100.2)),
    ("township", TOWNSHIP, DISTRICT, box(100.0, 100.2)),
    ("police_station", S1, DISTRICT, box(100.0, 100.1)),
    ("police_station", S2, DISTRICT, box(100.1, 100.2)),
    ("village", A, TOWNSHIP, box(100.0, 100.1)),
    ("village", B, TOWNSHIP, box(100.1, 100.18)),
    ("grid", A1, A, box(100.0, 100.1)),
    ("grid", B1, B, box(100.1, 100.18)),
]


def build_areas(conn, areas=AREAS) -> None:
    """Insert ``areas`` (kind, code, parent code, EWKT; parents before children)."""
    for kind, code, parent, geom in areas:
        conn.execute(
            sa.text(
                "INSERT INTO area (kind, code, name, parent_id, geom) "
                "SELECT :k, :c, :c, (SELECT id FROM area WHERE code = :p), "
                "ST_GeomFromEWKT(:g)"
            ),
            {"k": kind, "c": code, "p": parent, "g": geom},
        )
