"""The database assigns points to village, grid, township and station.

A small hand-built world with known answers (away from the demo district):

    x: 100.00      100.10        100.18  100.20
       +-------------+-------------+-------+   30.1
       |  village A  |  village B  |  gap  |
       |  (grid A1)  |  (grid B1)  |       |
       +-------------+-------------+-------+   30.0
    township T and station S cover the whole district.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gis import db
from tests.worlds import box, build_areas


@pytest.fixture(scope="module")
def engine(make_database):
    engine = db.get_engine(make_database())
    with engine.begin() as conn:
        build_areas(conn)
    return engine


def report(conn, lon, lat, reported="2025-03-01", **extra) -> dict:
    """Insert an incident and return the codes it was assigned to."""
    columns = ", ".join(["code", "category", "reported_at", "geom", *extra])
    values = ", ".join(
        [
            ":code",
            "'dispute_neighbour'",
            ":at",
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)",
            *(f":{k}" for k in extra),
        ]
    )
    code = f"T{abs(hash((lon, lat, reported))) % 10**9}"
    conn.execute(
        sa.text(f"INSERT INTO incident ({columns}) VALUES ({values})"),
        {"code": code, "at": reported, "lon": lon, "lat": lat, **extra},
    )
    return assigned(conn, code)


def assigned(conn, code) -> dict:
    row = conn.execute(
        sa.text(
            """SELECT v.code AS village, g.code AS grid, t.code AS township,
                  s.code AS station
             FROM incident i LEFT JOIN area v ON v.id = i.village_id
             LEFT JOIN area g ON g.id = i.grid_id
             LEFT JOIN area t ON t.id = i.township_id
             LEFT JOIN area s ON s.id = i.station_id WHERE i.code = :c"""
        ),
        {"c": code},
    ).one()
    return dict(row._mapping)


@pytest.mark.parametrize(
    "lon,lat,expected",
    [
        (
            100.05,
            30.05,
            ("100000001001", "100000001001001", "100000001000", "100000510000"),
        ),
        # On the shared border A|B: the smaller code wins (the documented rule).
        (
            100.10,
            30.05,
            ("100000001001", "100000001001001", "100000001000", "100000510000"),
        ),
        # In the gap between villages: township and station, but no village/grid.
        (100.19, 30.05, (None, None, "100000001000", "100000510000")),
        # On the district's outer edge: still inside (boundaries are closed).
        (
            100.00,
            30.05,
            ("100000001001", "100000001001001", "100000001000", "100000510000"),
        ),
        # Outside the district altogether.
        (101.00, 31.00, (None, None, None, None)),
    ],
    ids=["inside", "shared-border", "gap", "outer-edge", "outside"],
)
def test_incident_assignment(conn, lon, lat, expected):
    got = report(conn, lon, lat)
    assert (got["village"], got["grid"], got["township"], got["station"]) == expected


def test_client_supplied_assignment_is_ignored(conn):
    b_id = conn.execute(
        sa.text("SELECT id FROM area WHERE code = '100000001002'")
    ).scalar()
    got = report(conn, 100.05, 30.05, village_id=b_id)
    assert got["village"] == "100000001001"


def test_moving_an_incident_reassigns_it(conn):
    report(conn, 100.05, 30.05)
    code = conn.execute(sa.text("SELECT code FROM incident")).scalar()
    conn.execute(
        sa.text(
            "UPDATE incident SET geom = ST_SetSRID(ST_MakePoint(100.15, 30.05), 4326)"
        )
    )
    assert assigned(conn, code)["village"] == "100000001002"


def test_boundary_generations_follow_the_report_date(conn):
    # Village A shrinks on 2025-06-01: a new generation, the old one is closed.
    conn.execute(
        sa.text("UPDATE area SET valid_to = '2025-06-01' WHERE code = '100000001001'")
    )
    conn.execute(
        sa.text(
            """INSERT INTO area (kind, code, name, parent_id, valid_from, geom)
           SELECT 'village', '100000001001', 'A (new)', parent_id, '2025-06-01',
                  ST_GeomFromEWKT(:g) FROM area WHERE code = '100000001001'"""
        ),
        {"g": box(100.0, 100.05)},
    )
    old = report(conn, 100.08, 30.05, reported="2025-03-01")
    new = report(conn, 100.08, 30.05, reported="2025-07-01")
    assert old["village"] == "100000001001"
    assert new["village"] is None  # the new boundary no longer covers it


def test_cameras_posts_and_sites_are_assigned_too(conn):
    conn.execute(
        sa.text(
            "INSERT INTO camera (code, kind, fov, range_m, geom) VALUES "
            "('C1', 'dome', 360, 100, ST_SetSRID(ST_MakePoint(100.15, 30.05), 4326))"
        )
    )
    conn.execute(
        sa.text(
            "INSERT INTO post (code, name, kind, geom) VALUES "
            "('P1', '警务室', 'police_room', "
            "ST_SetSRID(ST_MakePoint(100.05, 30.05), 4326))"
        )
    )
    rows = (
        conn.execute(
            sa.text(
                """SELECT v.code FROM camera c JOIN area v ON v.id = c.village_id
           UNION ALL SELECT v.code FROM post p JOIN area v ON v.id = p.village_id"""
            )
        )
        .scalars()
        .all()
    )
    assert rows == ["100000001002", "100000001001"]
