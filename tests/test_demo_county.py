"""The county demo world, loaded through ``python -m gis demo --county``.

A small county (30 x 20 villages: 2 townships, 2 police stations, 3,000 grids)
keeps the module near 30 s; the full size differs only in the numbers.
"""

from __future__ import annotations

import contextlib
import io

import pytest
import sqlalchemy as sa

from gis import db
from gis.cli import main
from gis.demo import county, county_load, county_world

SIZE = ["--county-size", "30x20", "--incidents", "3000", "--cameras", "800"]
VILLAGES, GRIDS = 600, 3000
GAP = round(county_world.GAP_SHARE * VILLAGES)
POINT_TABLES = ("post", "site", "camera", "incident")
# Tables whose rows a reload must leave as they are, row versions included.
KEPT = ("area", "post", "officer", "grid_member", "camera", "site", "incident")


def run(url: str, *args: str) -> tuple[int, str, str]:
    """``python -m gis demo --county`` against ``url``: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", url)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(["demo", "--county", *args])
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def loaded(make_database):
    url = make_database()
    status, out, err = run(url, *SIZE)
    assert status == 0, err
    return url, out


@pytest.fixture
def conn(loaded):
    with db.get_engine(loaded[0]).connect() as c:
        yield c


def scalar(conn, sql: str, **params):
    return conn.execute(sa.text(sql), params).scalar()


def by_kind(conn, table: str) -> dict:
    return dict(
        conn.execute(sa.text(f"SELECT kind, count(*) FROM {table} GROUP BY 1")).all()
    )


def test_counts_are_right(conn):
    areas = by_kind(conn, "area")
    assert areas == {
        "district": 1,
        "township": 2,
        "police_station": 2,
        "village": VILLAGES,
        "grid": GRIDS,
    }
    posts = by_kind(conn, "post")
    workstations = int(county_world.WORKSTATION_SHARE * (VILLAGES - GAP))
    assert posts == {"station_hq": 2, "police_room": 2, "workstation": workstations}
    assert scalar(conn, "SELECT count(*) FROM incident") == 3000
    assert scalar(conn, "SELECT count(*) FROM camera") == 800
    assert scalar(conn, "SELECT count(*) FROM site") == 150
    for table in KEPT:
        assert scalar(conn, f"SELECT bool_and(synthetic) FROM {table}"), table


def test_the_command_prints_time_per_step_and_row_counts(loaded):
    out = loaded[1]
    assert "耗时 / time:" in out and "行数 / rows:" in out
    for step in (*county_load.STEPS, "total"):
        assert f"  {step} " in out, step
    assert "incident" in out and "3,000" in out
    assert "demo_pcs2" in out and "demo_grid" in out  # the demo accounts


@pytest.mark.parametrize("table", POINT_TABLES)
def test_every_point_inside_is_assigned(conn, table):
    unassigned = scalar(
        conn,
        f"""SELECT count(*) FROM {table} p, area d
             WHERE d.kind = 'district' AND ST_Within(p.geom, d.geom)
               AND (p.village_id IS NULL OR p.grid_id IS NULL
                    OR p.township_id IS NULL OR p.station_id IS NULL)""",
    )
    assert unassigned == 0
    assert scalar(conn, f"SELECT count(village_id) FROM {table}") > 0


def test_incidents_are_all_inside_the_county(conn):
    assert scalar(conn, "SELECT count(*) FROM incident WHERE village_id IS NULL") == 0


def test_officers_answer_for_villages_except_the_planted_gap(conn):
    linked = scalar(conn, "SELECT count(DISTINCT area_id) FROM officer_area")
    assert linked == VILLAGES - GAP  # 一村一警, one officer for each village
    assert scalar(
        conn,
        """SELECT bool_and(o.kind = 'police') FROM officer_area oa
             JOIN officer o ON o.id = oa.officer_id""",
    )
    kinds = by_kind(conn, "officer")
    assert kinds["police"] > 0 and kinds["auxiliary"] > 0
    # The gap: villages with no officer have no post and no grid member either,
    # and they lie together in one corner of the county.
    gap = """SELECT v.id FROM area v WHERE v.kind = 'village' AND NOT EXISTS
               (SELECT 1 FROM officer_area oa WHERE oa.area_id = v.id)"""
    assert scalar(conn, f"SELECT count(*) FROM post WHERE village_id IN ({gap})") == 0
    members = f"""SELECT count(*) FROM grid_member_area m
                     JOIN area g ON g.id = m.area_id
                   WHERE g.parent_id IN ({gap})"""
    assert scalar(conn, members) == 0
    spread = scalar(  # degrees; the county is 0.165 x 0.09
        conn,
        f"""SELECT ST_MaxDistance(ST_Collect(ST_Centroid(geom)),
                                  ST_Collect(ST_Centroid(geom)))
              FROM area WHERE id IN ({gap})""",
    )
    assert spread < 0.06


def test_grid_members_for_every_grid_outside_the_gap(conn):
    covered = scalar(conn, "SELECT count(DISTINCT area_id) FROM grid_member_area")
    assert covered == GRIDS - 5 * GAP


def test_cameras_are_mostly_online_with_view_sectors(conn):
    online = scalar(conn, "SELECT avg((status = 'online')::int) FROM camera")
    assert 0.92 <= online <= 0.98
    kinds = by_kind(conn, "camera")
    assert set(kinds) == {"fixed", "ptz", "dome"} and kinds["fixed"] > 500
    assert scalar(
        conn,
        """SELECT bool_and(CASE WHEN kind = 'fixed' THEN azimuth IS NOT NULL
                                ELSE fov = 360 END AND range_m > 0) FROM camera""",
    )


def test_incidents_follow_the_mix_and_have_hotspots(conn):
    top = conn.execute(
        sa.text(
            "SELECT category FROM incident GROUP BY 1 ORDER BY count(*) DESC LIMIT 2"
        )
    ).scalars()
    assert set(top) == {"dispute_family", "dispute_neighbour"}
    busiest, median = conn.execute(
        sa.text(
            """SELECT max(n), percentile_cont(0.5) WITHIN GROUP (ORDER BY n)
                 FROM (SELECT count(*) AS n FROM incident GROUP BY grid_id) s"""
        )
    ).one()
    assert busiest >= 10 * median
    assert scalar(
        conn, "SELECT bool_and(description LIKE '（模拟数据）%') FROM incident"
    )


def test_generation_is_deterministic_for_a_seed():
    spec = county.CountySpec(columns=8, rows=6)
    areas = county.generate(spec)

    def fingerprint(seed):
        w = county_world.generate(areas, seed=seed, cameras=50)
        chunk = next(county_world.incident_chunks(w.places, 200, seed))
        return (
            [(p["code"], p["lon"], p["lat"]) for p in w.posts],
            w.officer_areas,
            [(c["code"], c["lon"], c["lat"], c["status"]) for c in w.cameras],
            list(chunk["code"]),
            chunk["lon"].tolist(),
        )

    assert fingerprint(7) == fingerprint(7)
    assert fingerprint(7) != fingerprint(8)


def test_incident_chunks_do_not_depend_on_the_chunk_before():
    areas = county.generate(county.CountySpec(columns=8, rows=6))
    places = county_world.generate(areas, cameras=10).places
    whole = list(county_world.incident_chunks(places, 250, chunk=100))
    assert [len(c["code"]) for c in whole] == [100, 100, 50]
    assert whole[0]["code"][0].endswith("0000001")
    assert whole[2]["code"][-1].endswith("0000250")


def snapshot(url: str) -> dict:
    with db.get_engine(url).connect() as c:
        rows = {
            t: c.execute(
                sa.text(f"SELECT id, code, xmin::text FROM {t} ORDER BY id")
            ).all()
            for t in KEPT
        }
        rows["links"] = c.execute(
            sa.text("SELECT officer_id, area_id FROM officer_area ORDER BY 1, 2")
        ).all()
    return rows


def test_loading_twice_changes_nothing_and_keeps_user_data(loaded):
    url = loaded[0]
    engine = db.get_engine(url)
    with engine.begin() as c:  # a user's own incident
        c.execute(
            sa.text(
                """INSERT INTO incident (code, category, reported_at, geom)
                   SELECT 'USER-1', 'case', now(), ST_PointOnSurface(geom)
                     FROM area WHERE kind = 'village' ORDER BY code LIMIT 1"""
            )
        )
    before = snapshot(url)
    status, out, err = run(url, *SIZE)
    assert status == 0, err
    after = snapshot(url)
    user = [r for r in after["incident"] if r.code == "USER-1"]
    assert len(user) == 1
    for table in after:
        if table == "incident":
            assert [r for r in after[table] if r.code != "USER-1"] == [
                r for r in before[table] if r.code != "USER-1"
            ]
        else:
            assert after[table] == before[table], table
    with engine.connect() as c:
        assert scalar(
            c, "SELECT village_id IS NOT NULL FROM incident WHERE code = 'USER-1'"
        )
        assert not scalar(c, "SELECT synthetic FROM incident WHERE code = 'USER-1'")


def test_the_county_and_the_demo_district_never_mix(make_database, loaded):
    url = make_database()
    with db.get_engine(url).begin() as c:  # as if the demo district were loaded
        c.execute(
            sa.text(
                """INSERT INTO area (kind, code, name, geom, synthetic)
                   VALUES ('district', '410902000000', '华龙区',
                           ST_Multi(ST_MakeEnvelope(115, 35.7, 115.1, 35.8, 4326)),
                           true)"""
            )
        )
    status, _, err = run(url, *SIZE)
    assert status == 1 and "410902" in err
    with db.get_engine(url).connect() as c:
        assert scalar(c, "SELECT count(*) FROM area") == 1
    with pytest.MonkeyPatch.context() as mp:  # and the demo refuses the county
        mp.setenv("DATABASE_URL", loaded[0])
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            assert main(["demo", "--incidents", "0", "--cameras", "0"]) == 1
    assert "410999" in err.getvalue()


def test_a_county_of_another_size_replaces_the_earlier_one(make_database):
    url = make_database()
    small = ["--incidents", "300", "--cameras", "100"]
    assert run(url, "--county-size", "10x10", *small)[0] == 0
    status, out, err = run(url, "--county-size", "8x5", "--incidents", "200")
    assert status == 0, err
    with db.get_engine(url).connect() as c:
        assert by_kind(c, "area")["village"] == 40
        assert scalar(c, "SELECT count(*) FROM incident") == 200
        assert scalar(c, "SELECT count(*) FROM incident WHERE grid_id IS NULL") == 0
        assert scalar(c, "SELECT count(*) FROM camera") == 160  # 4 a village
        assert scalar(c, "SELECT count(*) FROM officer_area") < 40
    assert run(url, "--county-size", "8x5", "--incidents", "150")[0] == 0
    with db.get_engine(url).connect() as c:  # the same county, fewer incidents
        assert scalar(c, "SELECT count(*) FROM incident") == 150
        assert scalar(c, "SELECT max(right(code, 7)) FROM incident") == "0000150"


@pytest.mark.parametrize("size", ["10", "0x5", "axb", "1000x1000"])
def test_a_bad_county_size_is_refused(size, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--county", "--county-size", size])
    assert exit_.value.code == 2 and "--county-size" in capsys.readouterr().err
