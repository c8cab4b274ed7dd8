"""Coverage gaps on a hand-built district with known answers (``tests.worlds.GAPS``):
every gap kind, three roles, the CLI and the web twins, the workbook opened
with openpyxl, a station user who never sees a foreign village, bad
parameters, and a historic lookup that finds who answered then.
"""

from __future__ import annotations

import io
import json
from datetime import date

import openpyxl
import pytest
import sqlalchemy as sa

from gis import db, gaps, lookup, users
from gis.cli import main
from gis.errors import InvalidInput
from tests.conftest import login
from tests.worlds import GAP_A, GAP_B, GAP_C, GAP_T1, S1, S2, build_gaps
from webmap import create_app

PASSWORD = "correct-horse-1"


@pytest.fixture(scope="module")
def url(make_database):
    url = make_database()
    with db.get_engine(url).begin() as conn:
        build_gaps(conn)
        for name, role, station in [
            ("plan", "planner", None),
            ("lead", "leader", None),
            ("pcs1", "station", S1),
            ("pcs2", "station", S2),
        ]:
            users.add(conn, name, role, PASSWORD, station=station)  # fmt: skip
    return url


@pytest.fixture(scope="module")
def report(url):
    with db.get_engine(url).connect() as conn:
        return gaps.analyse(conn)


@pytest.fixture(scope="module")
def app(url):
    return create_app({"DATABASE_URL": url, "TESTING": True})


def web(app, name):
    client = app.test_client()
    login(client, name, PASSWORD)
    return client


def found(report, kind, role=None):
    return sorted(
        f["code"] for f in report["findings"][kind] if role is None or f["role"] == role
    )


def test_roles_analysed_are_those_someone_holds(report):
    assert [r["code"] for r in report["roles"]] == ["police", "grid_member", "mediator"]


@pytest.mark.parametrize(
    "role, codes",
    [("police", [GAP_B]), ("mediator", [GAP_C]), ("grid_member", [GAP_B + "002"])],
)
def test_uncovered_villages_and_grids_per_role(report, role, codes):
    assert found(report, "uncovered", role) == codes


def test_overloaded_by_places_and_by_residents(report):
    by_code = {f["code"]: f for f in report["findings"]["overloaded"]}
    assert sorted(by_code) == ["G-2001001", "M1"]
    assert by_code["M1"]["places"] == [GAP_A, GAP_B]
    assert by_code["M1"]["residents"] == 3000
    assert "2个村(社区)，超过每人1个" in by_code["M1"]["reason"]
    assert "4000人，超过每人3000人" in by_code["G-2001001"]["reason"]


def test_a_capacity_given_per_run_replaces_the_roles(url):
    with db.get_engine(url).connect() as conn:
        report = gaps.analyse(conn, "mediator", thresholds=gaps.Thresholds(capacity=2))
    assert found(report, "overloaded") == []


def test_people_based_in_another_stations_jurisdiction(report):
    (finding,) = report["findings"]["foreign_post"]
    assert finding["code"] == "O2" and finding["places"] == [GAP_C]
    assert finding["post_station"]["code"] == S1
    assert finding["station"]["code"] == S2


def test_far_villages_by_the_nearest_room_or_workstation_not_the_hq(report):
    (finding,) = report["findings"]["far_post"]
    assert finding["code"] == GAP_B and finding["post"]["code"] == "P1"
    # B's point on surface (100.14, 30.05) to P1 (100.05, 30.06), on the sphere.
    assert finding["distance_m"] == pytest.approx(8710, rel=0.01)
    assert "ST_PointOnSurface" in report["distance_method"]


def test_a_threshold_beyond_the_distance_finds_none(url):
    with db.get_engine(url).connect() as conn:
        report = gaps.analyse(conn, thresholds=gaps.Thresholds(max_post_m=9000))
    assert report["findings"]["far_post"] == []


def test_villages_and_grids_split_between_stations_with_the_area(url, report):
    splits = {f["code"]: f for f in report["findings"]["split"]}
    assert sorted(splits) == [GAP_B, GAP_B + "002"]
    with db.get_engine(url).connect() as conn:
        b_in_s2, b2_in_s1 = conn.execute(sa.text(
            "SELECT ST_Area(ST_MakeEnvelope(100.15, 30.0, 100.18, 30.1, 4326)"
            "::geography), ST_Area(ST_MakeEnvelope(100.14, 30.0, 100.15, 30.1, "
            "4326)::geography)"
        )).one()  # fmt: skip
    assert splits[GAP_B]["split_m2"] == pytest.approx(b_in_s2, rel=1e-6)
    assert splits[GAP_B]["other_station"]["code"] == S2
    assert splits[GAP_B + "002"]["split_m2"] == pytest.approx(b2_in_s1, rel=1e-6)


def test_townships_under_one_percent_patrol(report):
    (finding,) = report["findings"]["patrol"]
    assert finding["code"] == GAP_T1 and finding["needed"] == 30


def test_summary_shares_and_ranking(report):
    district = report["summary"]["district"]
    assert district["villages"] == 3 and district["residents"] == 7000
    uncovered = district["rules"]["uncovered"]  # B (police), C (mediator), B2
    assert uncovered["villages_meeting"] == 1
    assert uncovered["resident_share"] == pytest.approx(1000 / 7000, abs=1e-4)
    assert district["rules"]["patrol"]["villages_meeting"] == 1  # C only
    townships = report["summary"]["townships"]
    assert [t["code"] for t in townships] == [GAP_T1, "100000002000"]
    assert [s["code"] for s in report["summary"]["stations"]] == [S1, S2]
    residents = [f["residents"] for f in report["ranked"]]
    assert residents == sorted(residents, reverse=True)


def test_every_finding_names_place_township_station_residents_and_reason(report):
    for f in report["ranked"]:
        assert f["code"] and f["name"] and f["township"] and f["reason"], f
        assert isinstance(f["residents"], int)
        if f["kind"] != "patrol":
            assert f["station"], f


def test_an_unknown_role_of_its_own_is_analysed_when_asked(url):
    with db.get_engine(url).connect() as conn:
        report = gaps.analyse(conn, "legal_adviser")
    assert found(report, "uncovered") == [GAP_A, GAP_B, GAP_C]


def test_station_users_never_see_a_foreign_village(app):
    for name, own, foreign in [("pcs1", {GAP_A, GAP_B}, GAP_C),
                               ("pcs2", {GAP_C}, GAP_A)]:  # fmt: skip
        answer = web(app, name).get("/api/gaps")
        assert answer.status_code == 200
        text = answer.get_data(as_text=True)
        assert foreign not in text
        body = answer.get_json()
        assert body["summary"]["district"]["villages"] == len(own)
    # S1 sees B (its village) split, but not grid B2, which lies in S2.
    body = web(app, "pcs1").get("/api/gaps").get_json()
    assert found(body, "split") == [GAP_B]


def test_leaders_get_no_gaps(app):
    assert web(app, "lead").get("/api/gaps").status_code == 403


@pytest.mark.parametrize(
    "query, field",
    [("role=chief", "role"), ("max_post_m=-1", "max_post_m"),
     ("patrol_share=abc", "patrol_share"), ("capacity=0", "capacity"),
     ("at=yesterday", "at")],
)  # fmt: skip
def test_bad_parameters_are_400s_naming_them(app, query, field):
    answer = web(app, "plan").get(f"/api/gaps?{query}")
    assert answer.status_code == 400
    assert answer.get_json()["details"]["field"] == field


def test_csv_is_the_ranked_list(app):
    answer = web(app, "plan").get("/api/gaps.csv?role=police")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and text.startswith("\ufeff类型,角色,编码")
    assert GAP_B in text and "无民警负责本村(社区)" in text


def test_the_workbook_has_summary_first_and_a_sheet_per_kind(app):
    answer = web(app, "plan").get("/api/gaps.xlsx?max_post_m=2500")
    assert answer.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(answer.data))
    assert book.sheetnames == ["汇总", "排序清单", *map(gaps.sheet_title, gaps.KINDS)]
    summary = book["汇总"]
    assert summary["A1"].value == "数据日期"
    assert summary["B1"].value == date.today().isoformat()
    assert summary["B3"].value == 2500
    assert summary.freeze_panes is not None
    far = book[gaps.sheet_title("far_post")]
    assert [c.value for c in far[1]] == list(gaps.COLUMNS.values())
    assert far.freeze_panes == "A2"
    assert far["C2"].value == GAP_B and far["G2"].value == 2000
    assert far["G2"].number_format == "#,##0"
    assert far.column_dimensions["H"].width == 60


def test_cli_writes_json_and_xlsx(url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["gaps", "--role", "police", "--format", "json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert found(body, "uncovered") == [GAP_B]
    out = tmp_path / "gaps.xlsx"
    assert main(["gaps", "--out", str(out)]) == 0
    assert openpyxl.load_workbook(out).sheetnames[0] == "汇总"
    assert main(["gaps", "--role", "chief"]) != 0


def test_thresholds_refuse_negative_and_non_numbers():
    with pytest.raises(InvalidInput) as caught:
        gaps.thresholds_from({"max_post_m": "-5"})
    assert caught.value.details["field"] == "max_post_m"
    with pytest.raises(InvalidInput):
        gaps.thresholds_from({"norm": "many"})


def test_a_historic_lookup_finds_who_answered_then(url):
    """An assignment ended and the village's boundary replaced since: on a
    day in the past the lookup names the officer of that day."""
    with db.get_engine(url).begin() as conn:
        conn.execute(sa.text("""
            UPDATE officer_area SET valid_from = '2020-01-01', valid_to = '2024-01-01'
             WHERE officer_id = (SELECT id FROM officer WHERE code = 'O1');
            INSERT INTO officer (code, name, kind) VALUES ('O3', '警官三', 'police');
            INSERT INTO officer_area (officer_id, area_id, valid_from)
                SELECT o.id, a.id, '2024-01-01' FROM officer o, area a
                 WHERE o.code = 'O3' AND a.code = :a;
            -- A new generation of A, as an import makes it: the old row closed,
            -- what pointed at it moved to the new one.
            UPDATE area SET valid_to = '2023-01-01' WHERE code = :a;
            INSERT INTO area (kind, code, name, parent_id, geom, valid_from, population)
                SELECT kind, code, name, parent_id, geom, '2023-01-01', population
                  FROM area WHERE code = :a;
            UPDATE officer_area SET area_id = (SELECT id FROM area WHERE code = :a
                                                  AND valid_to IS NULL)
             WHERE area_id = (SELECT id FROM area WHERE code = :a
                                 AND valid_to IS NOT NULL);
        """), {"a": GAP_A})  # fmt: skip
        try:

            def officers(day):
                answer = lookup.lookup(conn, 100.05, 30.05, at=day)
                return [o["code"] for o in answer["officers"]]

            assert officers(date(2022, 6, 1)) == ["O1"]
            assert officers(date(2023, 6, 1)) == ["O1"]
            assert officers(date(2025, 6, 1)) == ["O3"]
            assert officers(date(2019, 6, 1)) == []
        finally:
            conn.rollback()
