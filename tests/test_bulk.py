"""``gis.bulk.SetAside``: what it takes away for a large write, it puts back,
and what it may not take away, it leaves."""

from __future__ import annotations

import psycopg2
import pytest
import sqlalchemy as sa

from gis import bulk, db
from tests.test_bulk_assign import catalog

INSERT = (
    "INSERT INTO incident (code, category, reported_at, geom) "
    "VALUES (:c, 'dispute_land', '2025-03-01', ST_SetSRID(ST_MakePoint(100, 30), 4326))"
)


def names(conn, table: str) -> dict:
    return {
        "constraints": set(
            conn.execute(
                sa.text(
                    "SELECT conname FROM pg_constraint "
                    "WHERE conrelid = CAST(:t AS regclass)"
                ),
                {"t": table},
            ).scalars()
        ),
        "disabled": set(
            conn.execute(
                sa.text(
                    "SELECT tgname FROM pg_trigger "
                    "WHERE tgrelid = CAST(:t AS regclass) AND tgenabled = 'D'"
                ),
                {"t": table},
            ).scalars()
        ),
    }


def test_unique_keys_and_triggers_go_aside_and_come_back(make_database):
    engine = db.get_engine(make_database())
    before = catalog(engine)
    with engine.begin() as conn:
        incident = bulk.SetAside(
            conn, "incident", unique=True, triggers=["incident_touch"]
        )
        post = bulk.SetAside(conn, "post", unique=True)
        aside = names(conn, "incident")
        assert not {"incident_pkey", "incident_code_key"} & aside["constraints"]
        assert not any(name.endswith("_fkey") for name in aside["constraints"])
        assert aside["disabled"] == {"incident_touch"}
        # officer.post_id references post's primary key: it stays.
        assert "post_pkey" in names(conn, "post")["constraints"]
        conn.execute(sa.text(INSERT), {"c": "I1"})
        incident.restore()
        post.restore()
        assert names(conn, "incident")["disabled"] == set()
    assert catalog(engine) == before


def test_a_duplicate_written_meanwhile_fails_the_restore_and_writes_nothing(
    make_database,
):
    engine = db.get_engine(make_database())
    before = catalog(engine)
    with pytest.raises(sa.exc.IntegrityError) as caught:
        with engine.begin() as conn:
            aside = bulk.SetAside(conn, "incident", unique=True)
            conn.execute(sa.text(INSERT), {"c": "I1"})
            conn.execute(sa.text(INSERT), {"c": "I1"})
            aside.restore()
    assert isinstance(caught.value.orig, psycopg2.errors.UniqueViolation)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM incident")).scalar() == 0
    assert catalog(engine) == before


def test_partial_indexes_of_columns_left_null_stay(make_database):
    """With the columns a write fills, the indexes of non-NULL values of the
    columns it leaves NULL stay in place (nothing it writes enters them); a
    partial index of another kind, or of a written column, goes aside."""
    engine = db.get_engine(make_database())
    before = catalog(engine)

    def indexes(conn) -> set:
        query = "SELECT indexname FROM pg_indexes WHERE tablename = 'incident'"
        return set(conn.execute(sa.text(query)).scalars())

    with engine.begin() as conn:
        written = ["code", "category", "reported_at", "geom", "assignee_officer_id"]
        aside = bulk.SetAside(conn, "incident", unique=True, written=written)
        kept = indexes(conn)
        assert {"incident_supervised", "incident_assignee_member"} <= kept
        assert "incident_assignee_officer" not in kept  # written: aside
        assert "incident_open_counts" not in kept  # WHERE status ...: aside
        assert "incident_geom_gist" not in kept
        conn.execute(sa.text(INSERT), {"c": "I1"})
        aside.restore()
    assert catalog(engine) == before
