"""Jurisdiction lookup on hand-built squares with known answers.

    lat 30.10 +---------+---------+-------------+---+---+
              |   A2    |         |      C      |gap|   |
    lat 30.05 +---------+    B    |   [hole]    |   |gap|
              |   A     |         |             |   +---+ 30.02
    lat 30.00 +---------+---------+-------------+---|island of C|
           100.0     100.1     100.2         100.28 100.29 100.3

Township T covers the district; stations S1 (west of 100.15) and S2 (east).
Every village has one grid with the same outline.  Codes: A 001, B 002, A2 003,
C 004, so A wins every border it touches.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import psycopg2.extensions
import pytest
import sqlalchemy as sa

from gis import crs, db, lookup
from gis.cli import main
from gis.errors import InvalidInput
from tests.conftest import service_token, with_token


def box(x0, x1, y0, y1) -> str:
    return f"(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))"


def multi(*polygons: str) -> str:
    return f"SRID=4326;MULTIPOLYGON({','.join(polygons)})"


HOLED_C = (
    f"(({100.2} 30,{100.28} 30,{100.28} 30.1,{100.2} 30.1,{100.2} 30),"
    "(100.23 30.03,100.23 30.05,100.25 30.05,100.25 30.03,100.23 30.03))"
)
AREAS = [
    ("district", "100000000000", None, multi(box(100.0, 100.3, 30.0, 30.1))),
    ("township", "100000001000", "100000000000", multi(box(100.0, 100.3, 30.0, 30.1))),
    (
        "police_station",
        "100000510000",
        "100000000000",
        multi(box(100.0, 100.15, 30.0, 30.1)),
    ),
    (
        "police_station",
        "100000520000",
        "100000000000",
        multi(box(100.15, 100.3, 30.0, 30.1)),
    ),
    ("village", "100000001001", "100000001000", multi(box(100.0, 100.1, 30.0, 30.05))),
    ("village", "100000001002", "100000001000", multi(box(100.1, 100.2, 30.0, 30.1))),
    ("village", "100000001003", "100000001000", multi(box(100.0, 100.1, 30.05, 30.1))),
    (
        "village",
        "100000001004",
        "100000001000",
        multi(HOLED_C, box(100.29, 100.3, 30.0, 30.02)),
    ),
]
A, B, A2, C = "100000001001", "100000001002", "100000001003", "100000001004"


@pytest.fixture(scope="module")
def database(make_database):
    return make_database()


@pytest.fixture(scope="module")
def engine(database):
    engine = db.get_engine(database)
    with engine.begin() as conn:
        for kind, code, parent, geom in AREAS:
            _insert_area(conn, kind, code, parent, geom)
        for kind, code, _parent, geom in AREAS:
            if kind == "village":  # each village has one grid of the same shape
                _insert_area(conn, "grid", code + "001", code, geom)
        conn.execute(
            sa.text("""
            INSERT INTO post (code, name, kind, geom) VALUES
              ('P1', '甲警务室', 'police_room',
               ST_SetSRID(ST_MakePoint(100.05, 30.025), 4326)),
              ('P2', '乙工作站', 'workstation',
               ST_SetSRID(ST_MakePoint(100.15, 30.05), 4326));
            INSERT INTO officer (code, name, kind, post_id)
              SELECT '000001', '张警官', 'police', id FROM post WHERE code = 'P1';
            INSERT INTO officer_area (officer_id, area_id)
              SELECT o.id, a.id FROM officer o, area a
               WHERE o.code = '000001' AND a.code = :a;
            INSERT INTO grid_member (code, name) VALUES ('M1', '李网格');
            INSERT INTO grid_member_area (member_id, area_id)
              SELECT m.id, a.id FROM grid_member m, area a
               WHERE m.code = 'M1' AND a.code = :grid;
        """),
            {"a": A, "grid": A + "001"},
        )
    return engine


def _insert_area(conn, kind, code, parent, geom):
    conn.execute(
        sa.text(
            "INSERT INTO area (kind, code, name, parent_id, geom) SELECT :k, :c, "
            "'区' || :c, (SELECT id FROM area WHERE code = :p), ST_GeomFromEWKT(:g)"
        ),
        {"k": kind, "c": code, "p": parent, "g": geom},
    )


def code(area):
    return area["code"] if area else None


@pytest.mark.parametrize(
    "lon,lat,village,station,flags",
    [
        (100.05, 30.02, A, "100000510000", (False, False, False)),
        (100.10, 30.02, A, "100000510000", (True, False, False)),  # shared edge A|B
        (100.10, 30.05, A, "100000510000", (True, False, False)),  # vertex A, A2, B
        (100.15, 30.07, B, "100000510000", (True, False, False)),  # on S1|S2 only
        (100.285, 30.05, None, "100000520000", (False, True, False)),  # gap strip
        (100.24, 30.04, None, "100000520000", (False, True, False)),  # hole in C
        (100.295, 30.01, C, "100000520000", (False, False, False)),  # island of C
        (101.00, 31.00, None, None, (False, False, True)),  # outside
    ],
    ids=[
        "interior",
        "shared-edge",
        "shared-vertex",
        "station-border",
        "gap",
        "hole",
        "island",
        "outside",
    ],
)
def test_edge_cases(conn, lon, lat, village, station, flags):
    answer = lookup.lookup(conn, lon, lat)
    assert code(answer["village"]) == village
    assert code(answer["grid"]) == (village + "001" if village else None)
    assert code(answer["police_station"]) == station
    got = answer["flags"]
    assert (got["on_boundary"], got["in_gap"], got["outside_district"]) == flags
    if not flags[2]:
        assert code(answer["district"]) == "100000000000"
        assert code(answer["township"]) == "100000001000"


def test_boundary_kinds_are_reported(conn):
    edge = lookup.lookup(conn, 100.10, 30.02)["flags"]["boundary_kinds"]
    assert edge == ["grid", "village"]
    station = lookup.lookup(conn, 100.15, 30.07)["flags"]["boundary_kinds"]
    assert station == ["police_station"]


def test_people_and_nearest_post(conn):
    answer = lookup.lookup(conn, 100.05, 30.02)
    assert [o["code"] for o in answer["officers"]] == ["000001"]
    assert answer["officers"][0]["post"]["code"] == "P1"
    assert answer["officers"][0]["for"]["code"] == A
    assert [m["name"] for m in answer["grid_members"]] == ["李网格"]
    post = answer["nearest_post"]
    assert post["code"] == "P1"
    assert 550 <= post["distance_m"] <= 557  # 0.005° of latitude at 30°N
    far = lookup.lookup(conn, 100.14, 30.05)["nearest_post"]
    assert far["code"] == "P2" and 950 <= far["distance_m"] <= 975


def test_the_nearest_post_may_lie_outside_the_quick_search_box(conn):
    # From (100.2, 30.08): X is inside the +-0.02 degree box but 2.65 km away at
    # its corner; Y is 2.28 km due north, just outside the box.
    conn.execute(
        sa.text("""
        INSERT INTO post (code, name, kind, geom) VALUES
          ('X', 'X', 'workstation', ST_SetSRID(ST_MakePoint(100.218, 30.098), 4326)),
          ('Y', 'Y', 'workstation', ST_SetSRID(ST_MakePoint(100.2, 30.1005), 4326))
    """)
    )
    far = lookup.lookup(conn, 100.2, 30.08)["nearest_post"]
    assert far["code"] == "Y" and 2275 <= far["distance_m"] <= 2285
    near = lookup.lookup(conn, 100.218, 30.095)["nearest_post"]
    assert near["code"] == "X" and 330 <= near["distance_m"] <= 337


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_the_same_place_in_every_crs(conn, system):
    lon, lat = 100.0999, 30.0201  # just inside A, 10 m from B
    shifted = crs.from_wgs84(lon, lat, system)
    answer = lookup.lookup(conn, *shifted, crs=system)
    assert code(answer["village"]) == A
    assert answer["query"]["wgs84"] == pytest.approx([lon, lat], abs=1e-7)


def test_historic_lookup_uses_the_boundaries_of_that_day(conn):
    conn.execute(
        sa.text("UPDATE area SET valid_to = '2025-06-01' WHERE code = :a"), {"a": A}
    )
    _insert_area(
        conn, "village", A, "100000001000", multi(box(100.0, 100.05, 30.0, 30.05))
    )
    conn.execute(
        sa.text(
            "UPDATE area SET valid_from = '2025-06-01' "
            "WHERE code = :a AND valid_to IS NULL"
        ),
        {"a": A},
    )
    before = lookup.lookup(conn, 100.08, 30.02, at=lookup.parse_date("2025-01-01"))
    after = lookup.lookup(conn, 100.08, 30.02, at=lookup.parse_date("2025-07-01"))
    assert code(before["village"]) == A
    assert code(after["village"]) is None and after["flags"]["in_gap"]


def test_batch_answers_in_order(conn):
    points = [(101.0, 31.0), (100.05, 30.02), (100.15, 30.05), (100.05, 30.02)]
    answers = lookup.lookup_many(conn, *zip(*points, strict=True))
    assert [code(a["village"]) for a in answers] == [None, A, B, A]


# Outside first: the names and people every answer needs come with the first row.
EVERY_CASE = [
    (101.0, 31.0),
    (100.05, 30.02),
    (100.10, 30.02),
    (100.10, 30.05),
    (100.15, 30.07),
    (100.285, 30.05),
    (100.24, 30.04),
    (100.295, 30.01),
    (100.05, 30.02),
    (100.14, 30.05),
]


def test_batch_gives_each_point_its_single_answer(conn):
    batch = lookup.lookup_many(conn, *zip(*EVERY_CASE, strict=True))
    assert batch == [lookup.lookup(conn, lon, lat) for lon, lat in EVERY_CASE]
    assert [code(a["grid"]) for a in batch[:2]] == [None, A + "001"]


def _large_batch(seed: int) -> list[tuple[float, float]]:
    """Every edge case and random points in and around the squares (some far
    from any post), repeated up to the size that goes through the points table."""
    rng = np.random.default_rng(seed)
    extra = list(
        zip(
            rng.uniform(99.9, 100.4, 300).tolist(),
            rng.uniform(29.9, 30.2, 300).tolist(),
            strict=True,
        )
    )
    points = EVERY_CASE + extra
    return points * -(-lookup.TABLE_BATCH // len(points))


def test_large_batch_through_the_points_table_gives_the_single_answers(conn):
    # From TABLE_BATCH points on, the areas and posts probe an indexed table of
    # the points instead of each point probing theirs: the answers stay the same.
    conn.execute(  # posts close enough together to compete inside one box
        sa.text("""
        INSERT INTO post (code, name, kind, geom)
        SELECT 'R' || i, 'R' || i, 'workstation',
               ST_SetSRID(ST_MakePoint(100.05 + (i % 6) * 0.013,
                                       30.01 + (i / 6) * 0.011), 4326)
          FROM generate_series(0, 29) i""")
    )
    points = _large_batch(7)
    assert len(points) >= lookup.TABLE_BATCH
    batch = lookup.lookup_many(conn, *zip(*points, strict=True))
    single = {point: lookup.lookup(conn, *point) for point in set(points)}
    assert batch == [single[point] for point in points]
    nearest = {  # every post measured on the sphere, the nearest kept
        point: conn.execute(
            sa.text("""
            SELECT code, round(ST_Distance(geom::geography, ST_SetSRID(
                       ST_MakePoint(:x, :y), 4326)::geography, false)::numeric, 1)
              FROM post ORDER BY 2, id LIMIT 1"""),
            {"x": point[0], "y": point[1]},
        ).one()
        for point in set(points)
    }
    assert [
        (a["nearest_post"]["code"], a["nearest_post"]["distance_m"]) for a in batch
    ] == [(nearest[p][0], float(nearest[p][1])) for p in points]
    assert sum(a["nearest_post"]["distance_m"] > 3000 for a in batch) > 50


def test_large_batches_outside_a_transaction_leave_none_open(engine):
    with engine.connect() as connection:
        for seed in (1, 2):  # the second batch reuses the session's table
            points = _large_batch(seed)
            batch = lookup.lookup_many(connection, *zip(*points, strict=True))
            assert [code(a["village"]) for a in batch[:3]] == [None, A, A]
            assert len(batch) == len(points)
            assert not connection.in_transaction()
            status = connection.connection.dbapi_connection.info.transaction_status
            assert status == psycopg2.extensions.TRANSACTION_STATUS_IDLE


def test_large_batch_in_a_read_only_transaction(engine):
    # As on a hot standby: no points table can be written, the batch still runs.
    points = _large_batch(3)
    with engine.connect() as connection:
        connection.execute(sa.text("SET TRANSACTION READ ONLY"))
        batch = lookup.lookup_many(connection, *zip(*points, strict=True))
        assert [code(a["village"]) for a in batch[:3]] == [None, A, A]
        connection.rollback()


def test_lookup_outside_a_transaction_leaves_none_open(engine):
    with engine.connect() as connection:
        for _ in range(3):  # the second and later calls reuse the prepared plan
            answer = lookup.lookup(connection, 100.05, 30.02)
            assert code(answer["village"]) == A
            assert not connection.in_transaction()
            status = connection.connection.dbapi_connection.info.transaction_status
            assert status == psycopg2.extensions.TRANSACTION_STATUS_IDLE


@pytest.mark.parametrize(
    "lon,lat,crs_name,field",
    [
        (None, 30, "wgs84", "lon"),
        ("abc", 30, "wgs84", "lon"),
        (100, 95, "wgs84", "lat"),
        (100, "nan", "wgs84", "lat"),
        (10, 50, "gcj02", "lon"),
        (100, 30, "mars", "crs"),
        (True, 30, "wgs84", "lon"),
        (100, 10**400, "wgs84", "lat"),
    ],
    ids=[
        "missing",
        "not-a-number",
        "lat-range",
        "nan",
        "gcj02-outside-china",
        "unknown-crs",
        "bool",
        "beyond-float",
    ],
)
def test_bad_input_names_the_field(conn, lon, lat, crs_name, field):
    with pytest.raises(InvalidInput) as error:
        lookup.lookup(conn, lon, lat, crs=crs_name)
    assert error.value.details["field"] == field


# --- HTTP ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(engine, database):
    from webmap import create_app

    client = create_app({"DATABASE_URL": database, "TESTING": True}).test_client()
    return with_token(client, service_token(database))


def test_get_lookup(api):
    answer = api.get("/api/lookup?lon=100.05&lat=30.02").json
    assert answer["village"] == {"code": A, "name": "区" + A}
    assert answer["officers"][0]["name"] == "张警官"


def test_post_lookup_accepts_lists_objects_and_geojson(api):
    lists = api.post("/api/lookup", json=[[100.05, 30.02], [101, 31]]).json
    assert [code(r["village"]) for r in lists["results"]] == [A, None]
    objects = api.post(
        "/api/lookup?crs=wgs84", json={"points": [{"lon": 100.15, "lat": 30.05}]}
    ).json
    assert code(objects["results"][0]["village"]) == B
    features = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [100.295, 30.01]},
            }
        ],
    }
    geojson = api.post("/api/lookup", json=features).json
    assert geojson["count"] == 1 and code(geojson["results"][0]["village"]) == C


@pytest.mark.parametrize(
    "request_args,field",
    [
        ({"path": "/api/lookup?lat=30"}, "lon"),
        ({"path": "/api/lookup?lon=x&lat=30"}, "lon"),
        ({"path": "/api/lookup?lon=100&lat=-91"}, "lat"),
        ({"path": "/api/lookup?lon=100&lat=30&crs=EPSG:99999"}, "crs"),
        ({"path": "/api/lookup?lon=100&lat=30&at=yesterday"}, "at"),
        (
            {
                "path": "/api/lookup",
                "method": "POST",
                "data": "{not json",
                "content_type": "application/json",
            },
            "body",
        ),
        ({"path": "/api/lookup", "method": "POST", "json": {"a": 1}}, "body"),
        (
            {"path": "/api/lookup", "method": "POST", "json": [[100, 30], [100]]},
            "points[1]",
        ),
        (
            {
                "path": "/api/lookup",
                "method": "POST",
                "json": [[100, 30]] * (lookup.MAX_BATCH + 1),
            },
            "points",
        ),
        (
            {
                "path": "/api/lookup",
                "method": "POST",
                "json": {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "geometry": {
                                "type": "LineString",
                                "coordinates": [[100, 30], [100.1, 30]],
                            }
                        }
                    ],
                },
            },
            "features[0].geometry",
        ),
        (
            {"path": "/api/lookup", "method": "POST", "json": [[100, 30], ["x", 30]]},
            "points[1].lon",
        ),
        (
            {
                "path": "/api/lookup",
                "method": "POST",
                "json": [[100, 30], [100, 1e999]],
            },
            "points[1].lat",
        ),
        (
            {"path": "/api/lookup", "method": "POST", "json": [[100, 30], [True, 30]]},
            "points[1].lon",
        ),
    ],
    ids=[
        "missing-lon",
        "text-lon",
        "lat-range",
        "unknown-epsg",
        "bad-date",
        "malformed-json",
        "not-a-list",
        "short-pair",
        "oversized",
        "not-a-point",
        "bad-item",
        "infinite",
        "bool",
    ],
)
def test_api_bad_input_is_a_400_naming_the_field(api, request_args, field):
    args = dict(request_args)
    response = api.open(args.pop("path"), method=args.pop("method", "GET"), **args)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_input"
    assert response.json["details"]["field"] == field


FC = "FeatureCollection"
WRONG_SHAPES = {  # values of the wrong type or no meaning, each a 400 not a 500
    "crs-list": ({"points": [[100, 30]], "crs": ["wgs84"]}, "crs"),
    "crs-object": ({"points": [[100, 30]], "crs": {"epsg": 4547}}, "crs"),
    "at-list": ({"points": [[100, 30]], "at": ["2025-01-01"]}, "at"),
    "at-number": ({"points": [[100, 30]], "at": 20250101}, "at"),
    "points-text": ({"points": "100,30"}, "points"),
    "features-object": ({"type": FC, "features": {}}, "features"),
    "feature-number": ({"type": FC, "features": [7]}, "features[0].geometry"),
    "geometry-list": (
        {"type": FC, "features": [{"geometry": [1]}]},
        "features[0].geometry",
    ),
    "nul-in-a-point": (
        {"points": [[100, 30], [100, 30], [100, 30], {"lon": "\0"}]},
        "points[3].lon",
    ),
}


@pytest.mark.parametrize(
    ("body", "field"), WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys()
)
def test_batch_of_the_wrong_shape_is_a_400(api, body, field):
    response = api.post("/api/lookup", json=body)
    assert response.status_code == 400, response.json
    assert response.json["details"]["field"] == field


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("lon=1e308&lat=1e308&crs=EPSG:4547", "lon"),  # infinite once projected
        ("lon=1e7&lat=1e7&crs=EPSG:4547", "lon"),  # 10,000 km off its meridian
        ("lon=500000&lat=1e12&crs=EPSG:3857", "lon"),  # clamped to the pole
        ("lon=1e308&lat=1e308&crs=EPSG:4214", "lat"),  # degrees, not metres
        ("lon=100&lat=30&crs=EPSG:4547%00", "crs"),
        ("lon=100&lat=30%00", "lat"),
    ],
)
def test_absurd_projected_coordinates_are_a_400(api, query, field):
    response = api.get(f"/api/lookup?{query}")
    assert response.status_code == 400, response.json
    assert response.json["details"]["field"] == field


@pytest.mark.parametrize(
    "query",
    ["lon=100&lat=70", "lon=-70&lat=40", "lon=500000&lat=3958000&crs=EPSG:4547"],
    ids=["siberia", "new-york", "gauss-kruger-puyang"],
)
def test_a_real_point_outside_china_is_outside_the_district(api, query):
    response = api.get(f"/api/lookup?{query}")
    assert response.status_code == 200, response.json
    assert response.json["flags"]["outside_district"] is True


@pytest.mark.parametrize(
    "request_args",
    [
        {"path": "/api/lookup?lon=100.05&lat=30.02"},
        {"path": "/api/lookup", "method": "POST", "json": EVERY_CASE},
    ],
    ids=["single", "batch"],
)
def test_api_writes_the_json_flask_would(api, request_args):
    args = dict(request_args)
    response = api.open(args.pop("path"), method=args.pop("method", "GET"), **args)
    assert response.status_code == 200 and response.mimetype == "application/json"
    with api.application.app_context():
        expected = api.application.json.response(response.json).get_data()
    assert response.get_data() == expected


def test_serve_runs_gunicorn_workers(engine, database):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gis", "serve", "--workers", "2"],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "DATABASE_URL": database, "PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        answer = _get_when_up(
            f"http://127.0.0.1:{port}/api/lookup?lon=100.05&lat=30.02",
            service_token(database, name="svc_gunicorn"),
        )
        assert code(answer["village"]) == A
    finally:
        server.terminate()
        log = server.communicate(timeout=30)[0].decode()
    assert "gunicorn" in log and log.count("Booting worker") == 2


def _get_when_up(url: str, token: str, seconds: float = 30) -> dict:
    deadline = time.monotonic() + seconds
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.load(response)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_cli_lookup(monkeypatch, engine, database, capsys):
    monkeypatch.setenv("DATABASE_URL", database)
    assert main(["lookup", "100.05", "30.02"]) == 0
    assert f'"code": "{A}"' in capsys.readouterr().out
    assert main(["lookup", "100.05", "130", "--crs", "gcj02"]) == 1
    assert "lat" in capsys.readouterr().err
