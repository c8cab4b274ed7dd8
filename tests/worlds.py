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


def build_duty(conn) -> None:
    """People of ``TWO_STATIONS``: officer O1 (post P1) answers for village A,
    grid member M1 works grid A1; village B has nobody but its station S2."""
    conn.execute(
        sa.text("""
        INSERT INTO post (code, name, kind, geom)
             VALUES ('P1', '一号警务室', 'police_room',
                     ST_SetSRID(ST_MakePoint(100.04, 30.04), 4326));
        INSERT INTO officer (code, name, kind, post_id)
             SELECT 'O1', '张警官', 'police', id FROM post WHERE code = 'P1';
        INSERT INTO officer_area (officer_id, area_id)
             SELECT o.id, a.id FROM officer o, area a
              WHERE o.code = 'O1' AND a.code = :a;
        INSERT INTO grid_member (code, name, grid_id)
             SELECT 'M1', '李网格员', id FROM area WHERE code = :a || '001';
        """),
        {"a": A},
    )


def add_incident(conn, code: str, risk: str, hours_ago: float, lon: float,
                 lat: float, category: str = "dispute_debt",
                 status: str = "dispatched") -> None:  # fmt: skip
    """One open incident reported ``hours_ago`` hours before now, at a point."""
    conn.execute(
        sa.text(
            "INSERT INTO incident (code, category, risk, status, reported_at, geom) "
            "VALUES (:c, :k, :r, :s, now() - make_interval(secs => :h * 3600), "
            "ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
        ),
        {"c": code, "k": category, "r": risk, "s": status, "h": hours_ago,
         "x": lon, "y": lat},
    )  # fmt: skip


# ``GAPS`` — coverage gaps with known answers (tests/test_gaps.py)::
#
#   lat 30.1 +---------+----+----+-----------+
#            | A (A1)  | B1 | B2 | C (C1)    |     township T1: A, B
#            |  P1 *   |  HQ*   |    P2 *   |     township T2: C
#   lat 30.0 +---------+----+----+-----------+
#         100.0     100.1 100.14 100.18     100.3
#   station S1: 100.0-100.15, S2: 100.15-100.3 (so village B and grid B2
#   straddle the border at 100.15)
GAP_T1, GAP_T2 = "100000001000", "100000002000"
GAP_A, GAP_B, GAP_C = "100000001001", "100000001002", "100000002001"
GAPS = [  # kind, code, parent code, geometry, population
    ("district", DISTRICT, None, box(100.0, 100.3), None),
    ("township", GAP_T1, DISTRICT, box(100.0, 100.18), 3000),
    ("township", GAP_T2, DISTRICT, box(100.18, 100.3), 4000),
    ("police_station", S1, DISTRICT, box(100.0, 100.15), None),
    ("police_station", S2, DISTRICT, box(100.15, 100.3), None),
    ("village", GAP_A, GAP_T1, box(100.0, 100.1), 1000),
    ("village", GAP_B, GAP_T1, box(100.1, 100.18), 2000),
    ("village", GAP_C, GAP_T2, box(100.18, 100.3), 4000),
    ("grid", GAP_A + "001", GAP_A, box(100.0, 100.1), 1000),
    ("grid", GAP_B + "001", GAP_B, box(100.1, 100.14), 1000),
    ("grid", GAP_B + "002", GAP_B, box(100.14, 100.18), 1000),
    ("grid", GAP_C + "001", GAP_C, box(100.18, 100.3), 4000),
]


def build_gaps(conn) -> None:
    """The ``GAPS`` world: areas, posts and people of three roles.

    - police: O1 (post P1, S1) answers for A; O2 (at S1's HQ) for C, in S2;
      nobody for B.
    - mediators: M1 for A and B (two villages, capacity one); nobody for C.
    - grid members: G-A1, G-B1, G-C1 (C1 has 4,000 residents, the norm is
      3,000); nobody for B2.
    - patrol teams: T1 20 of 3,000 residents (under 1 %), T2 40 of 4,000.
    """
    for kind, code, parent, geom, population in GAPS:
        conn.execute(
            sa.text(
                "INSERT INTO area (kind, code, name, parent_id, geom, population) "
                "SELECT :k, :c, :c, (SELECT id FROM area WHERE code = :p), "
                "ST_GeomFromEWKT(:g), :n"
            ),
            {"k": kind, "c": code, "p": parent, "g": geom, "n": population},
        )
    conn.execute(sa.text("""
        UPDATE area SET patrol_strength = CASE code WHEN :t1 THEN 20 ELSE 40 END
         WHERE kind = 'township';
        INSERT INTO post (code, name, kind, geom) VALUES
            ('P1', '甲警务室', 'police_room', 'SRID=4326;POINT(100.05 30.06)'),
            ('HQ', '一所驻地', 'station_hq', 'SRID=4326;POINT(100.14 30.05)'),
            ('P2', '丙工作站', 'workstation', 'SRID=4326;POINT(100.25 30.05)');
        INSERT INTO officer (code, name, kind, post_id)
            SELECT 'O1', '警官一', 'police', id FROM post WHERE code = 'P1'
            UNION ALL SELECT 'O2', '警官二', 'police', id FROM post WHERE code = 'HQ';
        INSERT INTO officer_area (officer_id, area_id)
            SELECT o.id, a.id FROM officer o JOIN area a
                ON (o.code, a.code) IN (('O1', :a), ('O2', :c));
        INSERT INTO grid_member (code, name, grid_id)
            SELECT 'G-' || right(code, 7), '网格员' || right(code, 7), id FROM area
             WHERE kind = 'grid' AND code <> :b || '002';
        INSERT INTO person (code, name, role, office)
            VALUES ('M1', '调解员一', 'mediator', '甲村调委会');
        INSERT INTO person_area (person_id, area_id)
            SELECT p.id, a.id FROM person p, area a
             WHERE p.code = 'M1' AND a.code IN (:a, :b);
    """), {"t1": GAP_T1, "a": GAP_A, "b": GAP_B, "c": GAP_C})  # fmt: skip
