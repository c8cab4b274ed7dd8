"""``python -m gis assign``: set-based re-assignment after boundaries change."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gis import assign, db
from gis.cli import main
from tests.test_assignment import box, build_areas


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
