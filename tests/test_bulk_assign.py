"""``python -m gis assign``: set-based re-assignment after boundaries change."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
import sqlalchemy as sa

from gis import assign, db
from gis.cli import main
from gis.demo import county
from tests.worlds import box, build_areas


@pytest.fixture
def database(make_database):
    url = make_database()
    with db.get_engine(url).begin() as conn:
        build_areas(conn)
        for code, reported, lon in [
            ("I1", "2025-03-01", 100.08),
            ("I2", "2026-01-01", 100.08),
            ("I3", "2026-01-01", 100.15),
        ]:
            conn.execute(
                sa.text(
                    "INSERT INTO incident (code, category, reported_at, geom) "
                    "VALUES (:c, 'dispute_land', :r, "
                    "ST_SetSRID(ST_MakePoint(:x, 30.05), 4326))"
                ),
                {"c": code, "r": reported, "x": lon},
            )
    return url


def villages(engine) -> dict:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                sa.text(
                    "SELECT i.code, v.code FROM incident i "
                    "LEFT JOIN area v ON v.id = i.village_id ORDER BY i.code"
                )
            ).all()
        )


def test_new_generation_reassigns_exactly_the_affected_incidents(database):
    engine = db.get_engine(database)
    a = "100000001001"
    assert villages(engine) == {"I1": a, "I2": a, "I3": "100000001002"}
    assert assign.assign(engine) == {"incident": 0, "camera": 0, "post": 0, "site": 0}
    with engine.begin() as conn:  # village A shrinks from 2025-06-01
        conn.execute(
            sa.text("UPDATE area SET valid_to = '2025-06-01' WHERE code = :a"), {"a": a}
        )
        conn.execute(
            sa.text(
                "INSERT INTO area (kind, code, name, parent_id, valid_from, geom) "
                "SELECT 'village', :a, 'A', parent_id, '2025-06-01', "
                "ST_GeomFromEWKT(:g) "
                "FROM area WHERE code = :a"
            ),
            {"a": a, "g": box(100.0, 100.05)},
        )
    changed = assign.assign(engine)
    assert changed["incident"] == 1
    # I1 was filed under the old boundary and keeps it; I2 now lies in no village.
    assert villages(engine) == {"I1": a, "I2": None, "I3": "100000001002"}
    assert assign.assign(engine)["incident"] == 0  # idempotent


def test_bulk_and_trigger_agree(database):
    """The set-based answer equals what the row trigger gives each point."""
    engine = db.get_engine(database)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO incident (code, category, reported_at, geom) "
                "SELECT 'R' || g, 'case', '2026-01-01', ST_SetSRID(ST_MakePoint("
                "99.99 + random() * 0.22, 29.99 + random() * 0.12), 4326) "
                "FROM generate_series(1, 2000) g"
            )
        )
        conn.execute(sa.text("UPDATE area SET name = name"))  # no geometry change
    assert assign.assign(engine)["incident"] == 0


def test_cli_assign(monkeypatch, database, capsys):
    monkeypatch.setenv("DATABASE_URL", database)
    assert main(["assign"]) == 0
    assert "incident  0" in capsys.readouterr().out


# An awkward world for the bulk-versus-row comparison (x ranges, y 30.0-30.1
# unless noted; all areas valid since 1949 unless noted):
#   townships T1 100.0-100.2, T2 100.2-100.35 (100.35-100.4: no township)
#   stations  S1 100.0-100.25, S2 100.25-100.4 (cut across the townships)
#   villages  A 100.0-100.1 until 2025-09-01, and 100.0-100.12 from 2025-06-01
#             (overlapping generations, a data error: the newer one wins);
#             B 100.1-100.2; C 100.2-100.3 until 2025-06-01,
#             then 100.2-100.25 (a new generation; its grid keeps the old
#             parent); E 100.15-100.22 x 30.0-30.05 overlaps B and C, its
#             code between theirs
#   grids     A1 = A; B1 covers half of B; B2 100.15-100.21 sticks out of B;
#             C1 = old C; E1 = E
WEIRD = """
kind           code            parent        x0     x1     y1    from        to
district       200000000000    -             100.0  100.4  30.1  -           -
township       200000001000    200000000000  100.0  100.2  30.1  -           -
township       200000002000    200000000000  100.2  100.35 30.1  -           -
police_station 200000510000    200000000000  100.0  100.25 30.1  -           -
police_station 200000511000    200000000000  100.25 100.4  30.1  -           -
village        200000001001    200000001000  100.0  100.1  30.1  -           2025-09-01
village        200000001001    200000001000  100.0  100.12 30.1  2025-06-01  -
village        200000001002    200000001000  100.1  100.2  30.1  -           -
village        200000002003    200000002000  100.15 100.22 30.05 -           -
village        200000002005    200000002000  100.2  100.3  30.1  -           2025-06-01
village        200000002005    200000002000  100.2  100.25 30.1  2025-06-01  -
grid           200000001001001 200000001001  100.0  100.1  30.1  -           -
grid           200000001002001 200000001002  100.1  100.15 30.1  -           -
grid           200000001002002 200000001002  100.15 100.21 30.1  -           -
grid           200000002003001 200000002003  100.15 100.22 30.05 -           -
grid           200000002005001 200000002005  100.2  100.3  30.1  -           -
"""
EDGES_X = [100.0, 100.1, 100.15, 100.2, 100.21, 100.22, 100.25, 100.3, 100.35, 100.4]
EDGES_Y = [29.99, 30.0, 30.025, 30.05, 30.1, 30.11]
DATES = [
    "2024-01-01T00:00:00+08",
    "2025-05-31T23:59:59+08",
    "2025-06-01T00:00:00+08",
    "2025-05-31T16:30:00+00",
    "2026-03-01T12:00:00+08",
]


def build_weird(conn) -> None:
    header, *rows = [line.split() for line in WEIRD.strip().splitlines()]
    for row in rows:
        a = {k: (None if v == "-" else v) for k, v in zip(header, row, strict=True)}
        conn.execute(
            sa.text(
                "INSERT INTO area (kind, code, name, parent_id, geom, valid_from, "
                "valid_to) SELECT :kind, :code, :code, (SELECT max(id) FROM area "
                "WHERE code = :parent), ST_GeomFromEWKT(:g), "
                "coalesce(CAST(:from AS date), DATE '1949-10-01'), :to"
            ),
            {**a, "g": box(a["x0"], a["x1"], 30.0, a["y1"])},
        )


def insert_points(conn, rng, n: int) -> None:
    """Random incidents and cameras plus every border crossing, unassigned."""
    xs, ys = rng.uniform(99.98, 100.42, n).tolist(), rng.uniform(29.98, 30.12, n)
    points = list(zip(xs, ys.tolist(), strict=True))
    points += [(x, y) for x in EDGES_X for y in EDGES_Y]
    conn.execute(sa.text("SET LOCAL pingan.bulk_assign = 'on'"))
    for k, (x, y) in enumerate(points):
        for table, columns, values in [
            ("incident", "category, reported_at", "'case', :at"),
            ("camera", "kind, fov, range_m", "'dome', 360, 100"),
        ]:
            conn.execute(
                sa.text(
                    f"INSERT INTO {table} (code, {columns}, geom) VALUES "
                    f"(:c, {values}, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
                ),
                {"c": f"W{k}", "at": DATES[k % len(DATES)], "x": x, "y": y},
            )
    conn.execute(sa.text("SET LOCAL pingan.bulk_assign = 'off'"))


def disagreements(engine) -> list:
    """Rows whose stored areas differ from the row trigger's answer."""
    columns = "village_id, grid_id, township_id, station_id"
    with engine.connect() as conn:
        return conn.execute(
            sa.text(f"""
            SELECT 'incident', i.code FROM incident i, LATERAL assign_areas_at(
                   i.geom, (i.reported_at AT TIME ZONE 'Asia/Shanghai')::date) a
             WHERE (i.{columns.replace(", ", ", i.")})
                   IS DISTINCT FROM (a.{columns.replace(", ", ", a.")})
            UNION ALL
            SELECT 'camera', c.code FROM camera c,
                   LATERAL assign_areas_at(c.geom, current_date) a
             WHERE (c.{columns.replace(", ", ", c.")})
                   IS DISTINCT FROM (a.{columns.replace(", ", ", a.")})""")
        ).all()


def catalog(engine) -> dict:
    """Definitions of the point tables' constraints, indexes and triggers."""
    with engine.connect() as conn:
        return {
            "constraints": conn.execute(
                sa.text(
                    "SELECT conrelid::regclass::text, conname, "
                    "pg_get_constraintdef(oid), convalidated FROM pg_constraint "
                    "WHERE conrelid = ANY('{incident,camera,post,site}'::regclass[]) "
                    "ORDER BY 1, 2"
                )
            ).all(),
            "indexes": conn.execute(
                sa.text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
                    "('incident', 'camera', 'post', 'site') ORDER BY 1"
                )
            ).all(),
            "triggers": conn.execute(
                sa.text(
                    "SELECT tgname, pg_get_triggerdef(oid), tgenabled FROM pg_trigger "
                    "WHERE tgrelid = ANY('{incident,camera,post,site}'::regclass[]) "
                    "AND NOT tgisinternal "
                    "ORDER BY 1"
                )
            ).all(),
        }


@pytest.mark.parametrize("bulk", [False, True], ids=["plain-update", "bulk-rebuild"])
def test_bulk_equals_row_trigger_on_random_and_border_points(
    make_database, monkeypatch, bulk
):
    engine = db.get_engine(make_database())
    with engine.begin() as conn:
        build_weird(conn)
        insert_points(conn, np.random.default_rng(7), 1500)
    before = catalog(engine)
    monkeypatch.setattr(assign, "BULK_MIN_ROWS", 0 if bulk else 10**9)
    monkeypatch.setattr(assign, "BULK_MIN_SHARE", 0)
    changed = assign.assign(engine)
    assert changed["incident"] > 1000 and changed["camera"] > 1000
    assert disagreements(engine) == []
    assert catalog(engine) == before  # keys, indexes and triggers as they were
    assert assign.assign(engine) == {"incident": 0, "camera": 0, "post": 0, "site": 0}
    with engine.begin() as conn:  # the row triggers still work afterwards
        conn.execute(
            sa.text(
                "UPDATE incident SET geom = "
                "ST_SetSRID(ST_MakePoint(100.05, 30.05), 4326) WHERE code = 'W0'"
            )
        )
    assert disagreements(engine) == []


def test_synthetic_county_is_valid_detailed_and_nested():
    spec = county.CountySpec(columns=10, rows=8, township_block=4, station_block=5)
    areas = county.generate(spec)
    kinds = [a["kind"] for a in areas]
    assert {k: kinds.count(k) for k in set(kinds)} == {
        "district": 1,
        "township": 6,
        "police_station": 4,
        "village": 80,
        "grid": 400,
    }
    geoms = np.array([a["geom"] for a in areas])
    assert shapely.is_valid(geoms).all()
    vertices = shapely.get_num_coordinates(geoms)
    assert vertices[np.array(kinds) != "district"].min() >= 300
    by_code = {a["code"]: a for a in areas}
    for a in areas:
        if a["kind"] == "grid":
            assert a["code"].startswith(a["parent_code"])
            assert len(by_code[a["parent_code"]]["code"]) == 12


def test_bulk_equals_row_trigger_on_the_synthetic_county(make_database):
    spec = county.CountySpec(
        columns=6,
        rows=4,
        township_block=3,
        station_block=4,
        edge_segments=24,
        spoke_segments=16,
    )
    engine = db.get_engine(make_database())
    assert county.load(engine, spec)["grid"] == 120
    with engine.begin() as conn:
        untiled = conn.execute(
            sa.text("""
            SELECT count(*) FROM area v WHERE v.kind = 'village' AND NOT ST_Equals(
                   v.geom, (SELECT ST_Union(g.geom) FROM area g
                             WHERE g.parent_id = v.id))""")
        ).scalar()
        assert untiled == 0  # the grids tile each village exactly
        conn.execute(sa.text("SET LOCAL pingan.bulk_assign = 'on'"))
        # Random points, and shared vertices of the noisy borders.
        conn.execute(
            sa.text("""
            INSERT INTO incident (code, category, reported_at, geom)
            SELECT 'K' || row_number() OVER (), 'case', now(), pt FROM (
                SELECT (ST_Dump(ST_GeneratePoints(ST_Expand(geom, 0.001), 800))).geom
                  FROM area WHERE kind = 'district'
                UNION ALL
                SELECT (v).geom FROM (SELECT ST_DumpPoints(geom) AS v FROM area
                                       WHERE kind = 'grid') d
                 WHERE (v).path[3] % 5 = 0) s(pt)""")
        )
    assert assign.assign(engine, ["incident"])["incident"] > 1000
    assert disagreements(engine) == []
