"""Schema: migrations are idempotent; constraints reject bad rows."""

from __future__ import annotations

import pytest
import shapely
import sqlalchemy as sa

from gis import db, schema
from gis.cli import main

SQUARE = "SRID=4326;MULTIPOLYGON(((100 30,100.1 30,100.1 30.1,100 30.1,100 30)))"
BOWTIE = "SRID=4326;MULTIPOLYGON(((100 30,100.1 30.1,100.1 30,100 30.1,100 30)))"


@pytest.fixture(scope="module")
def engine(make_database):
    return db.get_engine(make_database())


def test_migrate_creates_every_table_and_is_idempotent(engine):
    tables = {
        "area",
        "area_part",
        "post",
        "officer",
        "officer_area",
        "grid_member",
        "camera",
        "site",
        "incident",
        "import_batch",
        "audit_log",
        "app_user",
        "schema_migration",
    }
    with engine.connect() as conn:
        found = set(
            conn.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
        )
        gist = set(
            conn.execute(
                sa.text(
                    "SELECT tablename FROM pg_indexes "
                    "WHERE indexdef LIKE '%USING gist%'"
                )
            ).scalars()
        )
    assert tables <= found
    assert {"area", "area_part", "post", "camera", "site", "incident"} <= gist
    assert schema.migrate(engine) == []  # second run applies nothing
    assert schema.current_version(engine) == max(m.version for m in schema.available())


def test_cli_init_twice(monkeypatch, make_database, capsys):
    url = make_database()
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["init"]) == 0
    assert main(["init"]) == 0
    assert "up to date" in capsys.readouterr().out


def _district(conn, code="100000000000", geom=SQUARE) -> int:
    return conn.execute(
        sa.text(
            "INSERT INTO area (kind, code, name, geom) VALUES "
            "('district', :c, '测试区', ST_GeomFromEWKT(:g)) RETURNING id"
        ),
        {"c": code, "g": geom},
    ).scalar()


def _camera(conn, **overrides):
    values = {
        "code": "C1",
        "kind": "fixed",
        "azimuth": 90.0,
        "fov": 60.0,
        "range_m": 100.0,
        "status": "online",
    } | overrides
    conn.execute(
        sa.text(
            "INSERT INTO camera (code, kind, azimuth, fov, range_m, status, geom) "
            "VALUES "
            "(:code, :kind, :azimuth, :fov, :range_m, :status, "
            " ST_SetSRID(ST_MakePoint(100.05, 30.05), 4326))"
        ),
        values,
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"azimuth": 361.0},
        {"azimuth": -1.0},
        {"fov": 0.5},
        {"fov": 400.0},
        {"range_m": 0.0},
        {"status": "broken"},
        {"kind": "fixed", "azimuth": None},
        {"kind": "ptz", "fov": 90.0},
    ],
    ids=[
        "azimuth>360",
        "azimuth<0",
        "fov<1",
        "fov>360",
        "range0",
        "status",
        "fixed-without-azimuth",
        "ptz-not-360",
    ],
)
def test_camera_checks_reject(conn, overrides):
    with pytest.raises(sa.exc.IntegrityError):
        _camera(conn, **overrides)


def test_camera_valid_row_accepted(conn):
    _camera(conn)
    _camera(conn, code="C2", kind="dome", azimuth=None, fov=360.0)
    assert conn.execute(sa.text("SELECT count(*) FROM camera")).scalar() == 2


def test_big_polygons_are_cut_into_pieces_that_cover_them(conn):
    # 2,049 vertices: the trigger cuts it into pieces of at most 512 (0010).
    circle = shapely.Point(100, 30).buffer(0.1, quad_segs=512)
    circle = "SRID=4326;" + shapely.MultiPolygon([circle]).wkt
    area = _district(conn, geom=circle)
    pieces, vertices, gap = conn.execute(
        sa.text("""
        SELECT count(*), max(ST_NPoints(p.geom)),
               abs(ST_Area(ST_Union(p.geom)) - ST_Area(a.geom)) / ST_Area(a.geom)
          FROM area a JOIN area_part p ON p.area_id = a.id
         WHERE a.id = :a GROUP BY a.id"""),
        {"a": area},
    ).one()
    assert pieces >= 4 and vertices <= 512 and gap < 1e-9


def test_invalid_polygon_rejected(conn):
    with pytest.raises(sa.exc.IntegrityError, match="area_geom_valid"):
        _district(conn, geom=BOWTIE)


@pytest.mark.parametrize("code", ["12345", "1000000000001", "abc"])
def test_admin_codes_are_12_digits(conn, code):
    with pytest.raises(sa.exc.IntegrityError, match="area_code_format"):
        _district(conn, code=code)


def test_grid_code_must_extend_village_code(conn):
    district = _district(conn)
    ids = {}
    for kind, code, parent in [
        ("township", "100000001000", district),
        ("village", "100000001001", None),
    ]:
        ids[kind] = conn.execute(
            sa.text(
                "INSERT INTO area (kind, code, name, parent_id, geom) VALUES "
                "(:k, :c, 'x', :p, ST_GeomFromEWKT(:g)) RETURNING id"
            ),
            {"k": kind, "c": code, "p": parent or ids["township"], "g": SQUARE},
        ).scalar()
    with pytest.raises(sa.exc.IntegrityError, match="must extend"):
        conn.execute(
            sa.text(
                "INSERT INTO area (kind, code, name, parent_id, geom) VALUES "
                "('grid', '100000002001001', 'g', :p, ST_GeomFromEWKT(:g))"
            ),
            {"p": ids["village"], "g": SQUARE},
        )


def test_parent_kind_enforced(conn):
    district = _district(conn)
    with pytest.raises(sa.exc.IntegrityError, match="cannot have a district"):
        conn.execute(
            sa.text(
                "INSERT INTO area (kind, code, name, parent_id, geom) VALUES "
                "('village', '100000001001', 'v', :p, ST_GeomFromEWKT(:g))"
            ),
            {"p": district, "g": SQUARE},
        )


@pytest.mark.parametrize(
    "status,resolved,ok",
    [
        ("received", None, True),
        ("resolved", "2025-01-02", True),
        # A historic ledger's row: resolved at an unknown time (0018).
        ("resolved", None, True),
        ("resolved", "2024-12-31", False),  # before the report
        ("handling", "2025-01-02", False),
    ],
)
def test_incident_resolution_consistency(conn, status, resolved, ok):
    statement = sa.text(
        "INSERT INTO incident (code, category, status, reported_at, resolved_at, geom) "
        "VALUES ('I1', 'dispute_debt', :s, '2025-01-01', CAST(:r AS timestamptz), "
        " ST_SetSRID(ST_MakePoint(100.05, 30.05), 4326))"
    )
    if ok:
        conn.execute(statement, {"s": status, "r": resolved})
    else:
        with pytest.raises(sa.exc.IntegrityError, match="incident_resolution"):
            conn.execute(statement, {"s": status, "r": resolved})


def test_unknown_incident_category_rejected(conn):
    with pytest.raises(sa.exc.IntegrityError):
        conn.execute(
            sa.text(
                "INSERT INTO incident (code, category, reported_at, geom) VALUES "
                "('I1', 'gossip', now(), ST_SetSRID(ST_MakePoint(100, 30), 4326))"
            )
        )


def test_station_user_needs_a_station(conn):
    with pytest.raises(sa.exc.IntegrityError, match="app_user_station"):
        conn.execute(
            sa.text(
                "INSERT INTO app_user (username, password_hash, role) "
                "VALUES ('pcs1', 'x', 'station')"
            )
        )
