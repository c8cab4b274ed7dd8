"""Officers, grid members and their area links are seen by exactly the rule
they were seen by before migration 0030 moved the scope keys onto their rows.

The rules before 0030 (0011, 0015, 0025) probed other tables: an officer is
seen when its post is; an officer's area link when its officer and its area
are; a grid member's link when its grid is; a grid member when one of its
links is.  :data:`OLD_RULES` writes them down as queries the owner runs with a
user's settings, and every test compares them, for every kind of user, with
what the web role reads under the policies, after each kind of change that
moves a person, a post, a link or an area: an officer to another post, a post
to another station (by its own write and by the bulk assignment), a post
deleted, a link moved or dropped, a grid or a station's boundary redrawn, an
import.  Each test also checks that the change did move somebody, so that no
comparison passes for want of anything to compare.

The world is ``tests.worlds.TWO_STATIONS``: station S1 holds village A (grid
A1), S2 village B (grid B1).
"""

from __future__ import annotations

import csv

import pytest
import sqlalchemy as sa

from gis import assign, db
from gis.ingest import import_file
from tests.worlds import A1, B1, S1, S2, TOWNSHIP, TWO_STATIONS, A, B, box, build_areas

# The rules of 0011/0015/0025, as the owner's queries: a row's identity.
_OFFICER = """(pingan_role() IN ('admin', 'planner') OR EXISTS (
    SELECT 1 FROM post p
     WHERE p.id = {o}.post_id AND pingan_sees(p.station_id, p.grid_id)))"""
_MEMBER_LINK = """(pingan_role() IN ('admin', 'planner') OR EXISTS (
    SELECT 1 FROM area g WHERE g.id = {ma}.area_id
       AND pingan_sees_area(g.kind, g.id, g.station_id)
       AND pingan_sees(g.station_id, g.id)))"""
OLD_RULES = {
    "officer": f"SELECT o.code FROM officer o WHERE {_OFFICER.format(o='o')}",
    "officer_area": f"""
        SELECT o.code, a.code, oa.valid_from FROM officer_area oa
          JOIN officer o ON o.id = oa.officer_id JOIN area a ON a.id = oa.area_id
         WHERE pingan_role() IN ('admin', 'planner')
            OR ({_OFFICER.format(o="o")}
                AND pingan_sees_area(a.kind, a.id, a.station_id))""",
    "grid_member_area": f"""
        SELECT m.code, a.code, ma.valid_from FROM grid_member_area ma
          JOIN grid_member m ON m.id = ma.member_id JOIN area a ON a.id = ma.area_id
         WHERE {_MEMBER_LINK.format(ma="ma")}""",
    "grid_member": f"""
        SELECT m.code FROM grid_member m WHERE EXISTS (
            SELECT 1 FROM grid_member_area ma
             WHERE ma.member_id = m.id AND {_MEMBER_LINK.format(ma="ma")})
            OR pingan_role() IN ('admin', 'planner')""",
}
# The same rows as the web role reads them, under the policies (codes from
# the owner's side: the web role may not see the post or area they name).
SEEN = {
    "officer": "SELECT id FROM officer",
    "officer_area": "SELECT officer_id, area_id, valid_from FROM officer_area",
    "grid_member_area": "SELECT member_id, area_id, valid_from FROM grid_member_area",
    "grid_member": "SELECT id FROM grid_member",
}
_NAMES = {
    "officer": "SELECT id, code FROM officer",
    "grid_member": "SELECT id, code FROM grid_member",
    "area": "SELECT id, code FROM area",
}
# Who looks: role, station code, grid codes.
LOOKERS = {
    "admin": ("admin", None, ()),
    "planner": ("planner", None, ()),
    "leader": ("leader", None, ()),
    "station S1": ("station", S1, ()),
    "station S2": ("station", S2, ()),
    "member of A1": ("grid_member", None, (A1,)),
    "member of B1": ("grid_member", None, (B1,)),
    "member of A1 and B1": ("grid_member", None, (A1, B1)),
    "nobody": ("", None, ()),
}


@pytest.fixture
def engine(make_database):
    engine = db.get_engine(make_database())
    with engine.begin() as conn:
        build_areas(conn, TWO_STATIONS)
        conn.execute(
            sa.text("""
            INSERT INTO post (code, name, kind, geom) VALUES
                ('P-S1', '一号', 'police_room',
                 ST_SetSRID(ST_MakePoint(100.05, 30.04), 4326)),
                ('P-S2', '二号', 'police_room',
                 ST_SetSRID(ST_MakePoint(100.15, 30.04), 4326));
            INSERT INTO officer (code, name, kind, post_id)
                 SELECT 'O-' || right(code, 2), '警官', 'police', id FROM post;
            INSERT INTO officer (code, name, kind) VALUES ('O-none', '无岗', 'police');
            INSERT INTO officer_area (officer_id, area_id)
                 SELECT o.id, a.id FROM officer o, area a
                  WHERE (o.code, a.code) IN (('O-S1', :a), ('O-S1', :a1), ('O-S2', :b),
                                             ('O-S2', :t), ('O-none', :a));
            INSERT INTO grid_member (code, name)
                 VALUES ('M-S1', '甲'), ('M-S2', '乙'), ('M-both', '丙');
            INSERT INTO grid_member_area (member_id, area_id)
                 SELECT m.id, a.id FROM grid_member m, area a
                  WHERE (m.code, a.code) IN (('M-S1', :a1), ('M-S2', :b1),
                                             ('M-both', :a1), ('M-both', :b1));
            """),
            {"a": A, "a1": A1, "b": B, "b1": B1, "t": TOWNSHIP},
        )
    return engine


def _settings(conn, ids: dict, role: str, station: str | None, grids: tuple) -> None:
    """Set a looker's scope for this transaction, as pingan_begin would; ``ids``
    the areas' by code (from the owner: the web role may not see them)."""
    conn.execute(
        sa.text("""
        SELECT set_config('pingan.user', 'someone', true),
               set_config('pingan.role', :role, true),
               set_config('pingan.station', :station, true),
               set_config('pingan.grids', :grids, true)"""),
        {
            "role": role,
            "station": str(ids[station]) if station else "",
            "grids": ",".join(str(ids[g]) for g in grids),
        },
    )


def _by_the_old_rules(engine, looker) -> dict[str, set]:
    with engine.begin() as conn:  # the owner: no policy binds
        _settings(
            conn,
            dict(conn.execute(sa.text("SELECT code, id FROM area")).all()),
            *looker,
        )
        return {
            t: {tuple(r) for r in conn.execute(sa.text(q))}
            for t, q in OLD_RULES.items()
        }


def _seen(engine, looker) -> dict[str, set]:
    with engine.connect() as owner:
        names = {t: dict(owner.execute(sa.text(q)).all()) for t, q in _NAMES.items()}
    ids = {code: i for i, code in names["area"].items()}
    with db.get_engine(db.web_url(engine.url.render_as_string(False))).begin() as web:
        assert web.execute(sa.text("SELECT current_user")).scalar() == "pingan_web"
        _settings(web, ids, *looker)
        rows = {t: web.execute(sa.text(q)).all() for t, q in SEEN.items()}
    officer, member, area = names["officer"], names["grid_member"], names["area"]
    return {
        "officer": {(officer[i],) for (i,) in rows["officer"]},
        "officer_area": {(officer[o], area[a], v) for o, a, v in rows["officer_area"]},
        "grid_member_area": {
            (member[m], area[a], v) for m, a, v in rows["grid_member_area"]
        },
        "grid_member": {(member[i],) for (i,) in rows["grid_member"]},
    }


def assert_the_old_rules_hold(engine) -> dict[str, dict[str, set]]:
    """Every looker sees, in every table, exactly the rows of the old rules;
    returns what each saw."""
    seen = {}
    for label, looker in LOOKERS.items():
        seen[label] = _seen(engine, looker)
        assert seen[label] == _by_the_old_rules(engine, looker), label
    return seen


def officers(seen, label) -> set[str]:
    return {code for (code,) in seen[label]["officer"]}


def test_every_user_sees_what_the_old_rules_showed(engine):
    seen = assert_the_old_rules_hold(engine)
    assert officers(seen, "station S1") == {"O-S1"}
    assert officers(seen, "planner") == {"O-S1", "O-S2", "O-none"}
    assert officers(seen, "leader") == officers(seen, "nobody") == set()
    assert {m for (m,) in seen["station S2"]["grid_member"]} == {"M-S2", "M-both"}
    # O-S2 answers for the township too: a station sees the link of its own officer.
    assert ("O-S2", TOWNSHIP) in {r[:2] for r in seen["station S2"]["officer_area"]}


def test_an_officer_who_changes_post_changes_station(engine):
    with engine.begin() as conn:
        conn.execute(sa.text(
            "UPDATE officer SET post_id = (SELECT id FROM post WHERE code = 'P-S2') "
            "WHERE code IN ('O-S1', 'O-none')"))  # fmt: skip
    seen = assert_the_old_rules_hold(engine)
    assert officers(seen, "station S2") == {"O-S1", "O-S2", "O-none"}
    assert officers(seen, "station S1") == set()


def test_a_post_that_moves_takes_its_officers_along(engine):
    with engine.begin() as conn:  # the post's own trigger assigns it anew
        conn.execute(sa.text(
            "UPDATE post SET geom = ST_SetSRID(ST_MakePoint(100.05, 30.03), 4326) "
            "WHERE code = 'P-S2'"))  # fmt: skip
    seen = assert_the_old_rules_hold(engine)
    assert officers(seen, "station S1") == {"O-S1", "O-S2"}


def test_redrawn_stations_and_the_bulk_assignment_move_everybody(engine, monkeypatch):
    with engine.begin() as conn:  # S1 and S2 swap their land
        conn.execute(
            sa.text("UPDATE area SET geom = ST_GeomFromEWKT(:g) WHERE code = :c"),
            [{"c": S1, "g": box(100.1, 100.2)}, {"c": S2, "g": box(100.0, 100.1)}],
        )
    # The grids and villages follow at once (their links with them); the
    # posts wait for the assignment, as a boundary import runs it.
    seen = assert_the_old_rules_hold(engine)
    assert {m for (m,) in seen["station S1"]["grid_member"]} == {"M-S2", "M-both"}
    assert officers(seen, "station S1") == {"O-S1"}
    monkeypatch.setattr(assign, "BULK_MIN_ROWS", 0)  # the bulk path, keys set aside
    assert assign.assign(engine, ("post",)) == {"post": 2}
    seen = assert_the_old_rules_hold(engine)
    assert officers(seen, "station S1") == {"O-S2"}
    assert officers(seen, "station S2") == {"O-S1"}


def test_a_grid_redrawn_into_the_other_station_takes_its_links(engine):
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE area SET geom = ST_GeomFromEWKT(:g) WHERE code = :c"),
            {"c": A1, "g": box(100.12, 100.16)},
        )
    seen = assert_the_old_rules_hold(engine)
    assert {m for (m,) in seen["station S2"]["grid_member"]} == {
        "M-S1",
        "M-S2",
        "M-both",
    }
    assert {m for (m,) in seen["station S1"]["grid_member"]} == set()


def test_a_deleted_post_leaves_its_officers_to_the_planners(engine):
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM post WHERE code = 'P-S1'"))
    seen = assert_the_old_rules_hold(engine)
    assert officers(seen, "station S1") == set()
    assert "O-S1" in officers(seen, "planner")


def test_links_moved_added_and_dropped(engine):
    with engine.begin() as conn:
        conn.execute(sa.text("""
            UPDATE officer_area SET area_id = (SELECT id FROM area WHERE code = :b)
             WHERE officer_id = (SELECT id FROM officer WHERE code = 'O-S1')
               AND area_id = (SELECT id FROM area WHERE code = :a1);
            UPDATE grid_member_area SET area_id = (SELECT id FROM area WHERE code = :b1)
             WHERE member_id = (SELECT id FROM grid_member WHERE code = 'M-S1');
            DELETE FROM grid_member_area
             WHERE member_id = (SELECT id FROM grid_member WHERE code = 'M-both')
               AND area_id = (SELECT id FROM area WHERE code = :b1);
        """), {"a1": A1, "b": B, "b1": B1})  # fmt: skip
    seen = assert_the_old_rules_hold(engine)
    # O-S1 still S1's, its link to B is S1's officer's: a station sees both
    # only where both the officer and the area are its own.
    assert ("O-S1", B) not in {r[:2] for r in seen["station S1"]["officer_area"]}
    assert {m for (m,) in seen["station S2"]["grid_member"]} == {"M-S1", "M-S2"}
    assert {m for (m,) in seen["station S1"]["grid_member"]} == {"M-both"}


def test_imported_officers_are_seen_by_their_posts_station(engine, tmp_path):
    source = tmp_path / "officers.csv"
    with source.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([
            ["警号", "姓名", "类型", "所属警务室", "电话", "负责村社"],
            ["O-new", "新警官", "民警", "P-S2", "", f"{B} {A1}"],
            ["O-S1", "警官", "民警", "P-S2", "", A],  # moves to S2's post
        ])  # fmt: skip
    report = import_file(engine, "officers", source)
    assert report.status == "loaded", report.errors
    seen = assert_the_old_rules_hold(engine)
    assert officers(seen, "station S2") == {"O-S1", "O-S2", "O-new"}
    assert ("O-new", B) in {r[:2] for r in seen["station S2"]["officer_area"]}


def stale_keys(conn) -> list[tuple]:
    """Rows whose scope keys are not those of their sources."""
    return conn.execute(sa.text("""
        SELECT 'officer', o.code FROM officer o LEFT JOIN post p ON p.id = o.post_id
         WHERE (o.post_station_id, o.post_grid_id)
               IS DISTINCT FROM (p.station_id, p.grid_id)
        UNION ALL
        SELECT 'officer_area', o.code FROM officer_area oa
          JOIN officer o ON o.id = oa.officer_id JOIN area a ON a.id = oa.area_id
         WHERE (oa.officer_station_id, oa.officer_grid_id,
                oa.area_kind, oa.area_station_id)
               IS DISTINCT FROM (o.post_station_id, o.post_grid_id,
                                 a.kind, a.station_id)
        UNION ALL
        SELECT 'grid_member_area', ma.member_id::text FROM grid_member_area ma
          JOIN area a ON a.id = ma.area_id
         WHERE ma.area_station_id IS DISTINCT FROM a.station_id""")).all()  # fmt: skip


def test_the_demo_loader_leaves_every_key_current(demo_engine):
    with demo_engine.connect() as conn:
        assert stale_keys(conn) == []
        # Not vacuous: the demo's officers and links have stations.
        assert conn.execute(sa.text(
            "SELECT count(*) FROM officer_area WHERE officer_station_id IS NOT NULL "
            "AND area_station_id IS NOT NULL")).scalar() > 100  # fmt: skip


def test_keys_written_by_hand_are_computed_again(engine):
    with engine.begin() as conn:
        conn.execute(sa.text(
            "UPDATE officer SET post_station_id = NULL, post_grid_id = 42; "
            "UPDATE officer_area SET area_station_id = NULL, "
            "officer_station_id = NULL; "
            "UPDATE grid_member_area SET area_station_id = 42"))  # fmt: skip
        assert stale_keys(conn) == []
    assert_the_old_rules_hold(engine)
