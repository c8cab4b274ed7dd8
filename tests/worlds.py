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
        INSERT INTO grid_member (code, name) VALUES ('M1', '李网格员');
        INSERT INTO grid_member_area (member_id, area_id)
             SELECT m.id, a.id FROM grid_member m, area a
              WHERE m.code = 'M1' AND a.code = :a || '001';
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
        INSERT INTO grid_member (code, name)
            SELECT 'G-' || right(code, 7), '网格员' || right(code, 7) FROM area
             WHERE kind = 'grid' AND code <> :b || '002';
        INSERT INTO grid_member_area (member_id, area_id)
            SELECT m.id, a.id FROM grid_member m
              JOIN area a ON a.kind = 'grid' AND m.code = 'G-' || right(a.code, 7);
        INSERT INTO person (code, name, role, office)
            VALUES ('M1', '调解员一', 'mediator', '甲村调委会');
        INSERT INTO person_area (person_id, area_id)
            SELECT p.id, a.id FROM person p, area a
             WHERE p.code = 'M1' AND a.code IN (:a, :b);
    """), {"t1": GAP_T1, "a": GAP_A, "b": GAP_B, "c": GAP_C})  # fmt: skip


# A county's own folder of files, with every friction a real one has
# (tests/test_county_files.py): the district's 6-digit code; villages only,
# as a GBK Shapefile in Gauss-Kruger with prefixed headers (村代码, 所属乡镇);
# posts in GCJ-02 with no codes; a ledger whose resolved rows have no time.
# District 100.0-100.2 E, 30.0-30.1 N; township 城关镇 (100000001) holds
# villages 001 (100.00-100.05) and 002 (100.05-100.10), 东风乡 (100000002)
# villages 001 (100.10-100.15) and 002 (100.15-100.20).
GK = "EPSG:4543"  # CGCS2000 3-degree Gauss-Kruger, CM 102E, no zone prefix
VILLAGES = [  # code, name, township name, population, west edge
    ("100000001001", "东关村", "城关镇", 1200, 100.00),
    ("100000001002", "西关社区", "城关镇", 3400, 100.05),
    ("100000002001", "前进村", "东风乡", 800, 100.10),
    ("100000002002", "红星村", "东风乡", 900, 100.15),
]
POSTS = [("东关警务室", "警务室", 100.021, 30.031), ("红星警务工作站", "警务工作站",
                                                   100.171, 30.061)]  # fmt: skip
LEDGER = [  # code, category, reported, status, resolved, lon, lat (WGS84)
    ("J1", "邻里纠纷", "2024-03-01 08:30", "已化解", "", 100.02, 30.02),
    ("J2", "婚恋家庭纠纷", "2024-03-02", "已化解", "2024-03-05", 100.06, 30.05),
    ("J3", "土地承包纠纷", "2024-04-01", "已化解", "", 100.12, 30.07),
    ("J4", "债务纠纷", "2024-05-01", "处置中", "", 100.17, 30.03),
]


def gcj(lon, lat) -> tuple[float, float]:
    """A WGS84 point as AMap gives it (GCJ-02)."""
    from gis import crs

    x, y = crs.from_wgs84(lon, lat, "gcj02")
    return round(float(x), 8), round(float(y), 8)


def write_csv(path, header, rows, encoding="utf-8-sig"):
    import csv

    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def county_folder(directory):
    """The county's files, as they arrive (see above), in ``directory``."""
    import geopandas as gpd
    import shapely

    directory.mkdir(exist_ok=True)
    gpd.GeoDataFrame(
        [{"行政区划代码": "100000", "名称": "测试区"}],
        geometry=[shapely.box(100.0, 30.0, 100.2, 30.1)], crs="EPSG:4326",
    ).to_file(directory / "区界.geojson", driver="GeoJSON")  # fmt: skip
    villages = gpd.GeoDataFrame(
        [{"村代码": c, "村名称": n, "所属乡镇": t, "人口": p}
         for c, n, t, p, _ in VILLAGES],
        geometry=[shapely.box(x, 30.0, x + 0.05, 30.1) for *_, x in VILLAGES],
        crs="EPSG:4326",
    ).to_crs(GK)  # fmt: skip
    villages.to_file(directory / "村社区.shp", encoding="GBK")
    write_csv(directory / "警务室_高德.csv", ["警务室名称", "类别", "经度", "纬度"],
              [(n, k, *gcj(x, y)) for n, k, x, y in POSTS], encoding="gbk")  # fmt: skip
    write_csv(
        directory / "矛盾纠纷台账_gcj02.csv",
        ["事件编号", "事件类型", "发生时间", "处置状态", "办结时间", "经度", "纬度"],
        [(c, k, r, s, d, *gcj(x, y)) for c, k, r, s, d, x, y in LEDGER],
    )
    return directory
