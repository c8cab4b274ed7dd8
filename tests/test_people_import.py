"""People of every duty role imported like officers (issue 13, "importable like
officers"), into the hand-built ``tests.worlds.GAPS`` district:

- a CSV and an XLSX of legal advisers and mediators load, roles by code or
  Chinese label, a home post or an office, a capacity of their own;
- re-importing the same file changes nothing;
- a changed area list closes the ended assignment (``valid_to``, history
  kept) and opens the new one;
- bad rows are rejected and named: an unknown role, a grid given to a
  village role, an unknown post, an unknown area;
- a role a county adds to ``duty_role`` is accepted without a code change;
- export → import into an empty copy of the district gives the same people;
- the CLI and the upload page take the layer;
- the gap analysis sees them: a village with no mediator is covered after.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import openpyxl
import pytest
import sqlalchemy as sa

from gis import db, gaps, lookup, users
from gis.cli import main
from gis.export import export_layer
from gis.ingest import import_file
from tests.conftest import login
from tests.worlds import GAP_A, GAP_B, GAP_C, GAP_T2, box, build_gaps
from webmap import create_app

HEADER = ["编号", "姓名", "角色", "所属警务室", "办公地点", "电话", "负责上限",
          "负责村社"]  # fmt: skip
ADVISERS = [
    ["L1", "顾问一", "村(居)法律顾问", "P1", "", "13800000001", "", f"{GAP_A};{GAP_B}"],
    ["M2", "调解员二", "mediator", "", "丙村调委会", "", "", GAP_C],
]
MEDIATORS = [  # the XLSX: one more of each role, a capacity of their own
    ["L2", "顾问二", "legal_adviser", "P2", "", "", 4, GAP_C],
    ["M3", "调解员三", "人民调解员", "", "乙村调委会", "", "", GAP_B],
]


@pytest.fixture
def engine(make_database):
    engine = db.get_engine(make_database())
    with engine.begin() as conn:
        build_gaps(conn)  # posts P1, HQ, P2; mediator M1 for A and B
    return engine


def write_csv(path, rows, header=HEADER):
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def write_xlsx(path, rows, header=HEADER):
    book = openpyxl.Workbook()
    for row in [header, *rows]:
        book.active.append(row)
    book.save(path)
    return path


def people(engine) -> dict[str, tuple]:
    """code → (role, post, office, phone, capacity, current areas)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("""
            SELECT s.code, s.role, p.code, s.office, s.phone, s.capacity,
                   (SELECT string_agg(a.code, ';' ORDER BY a.code)
                      FROM person_area pa JOIN area a ON a.id = pa.area_id
                     WHERE pa.person_id = s.id AND pa.valid_to IS NULL)
              FROM person s LEFT JOIN post p ON p.id = s.post_id
             ORDER BY s.code""")
        )
        return {code: tuple(rest) for code, *rest in rows}


def assignments(engine, code) -> list[tuple]:
    """(area code, valid_from, valid_to) of every assignment of ``code``."""
    with engine.connect() as conn:
        return conn.execute(
            sa.text("""
            SELECT a.code, pa.valid_from, pa.valid_to FROM person_area pa
              JOIN person s ON s.id = pa.person_id JOIN area a ON a.id = pa.area_id
             WHERE s.code = :c ORDER BY a.code, pa.valid_from"""),
            {"c": code},
        ).all()


def test_a_csv_and_an_xlsx_of_advisers_and_mediators_load(engine, tmp_path):
    first = import_file(engine, "people", write_csv(tmp_path / "p.csv", ADVISERS))
    assert (first.status, first.loaded, first.errors) == ("loaded", 2, [])
    second = import_file(engine, "people", write_xlsx(tmp_path / "p.xlsx", MEDIATORS))
    assert (second.status, second.loaded, second.errors) == ("loaded", 2, [])
    got = people(engine)
    assert got["L1"] == (
        "legal_adviser", "P1", None, "13800000001", None, f"{GAP_A};{GAP_B}"
    )  # fmt: skip
    assert got["M2"] == ("mediator", None, "丙村调委会", None, None, GAP_C)
    assert got["L2"] == ("legal_adviser", "P2", None, None, 4, GAP_C)
    assert got["M3"] == ("mediator", None, "乙村调委会", None, None, GAP_B)
    assert got["M1"][0] == "mediator"  # the world's own, left alone


def test_reimporting_the_same_file_changes_nothing(engine, tmp_path):
    source = write_csv(tmp_path / "p.csv", ADVISERS)
    import_file(engine, "people", source)
    before = (people(engine), assignments(engine, "L1"))
    again = import_file(engine, "people", source)
    assert (again.status, again.loaded, again.unchanged) == ("loaded", 2, 2)
    assert (people(engine), assignments(engine, "L1")) == before


def test_a_changed_area_list_closes_the_old_assignment_and_opens_the_new(
    engine, tmp_path
):
    import_file(engine, "people", write_csv(tmp_path / "p.csv", ADVISERS))
    # As if imported last year: an assignment opened and ended on one day
    # never held a day, and is dropped rather than closed.
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE person_area SET valid_from = '2024-01-01'"))
    moved = [["L1", "顾问一", "legal_adviser", "P1", "", "13800000001", "",
              f"{GAP_B}、{GAP_C}"]]  # fmt: skip
    report = import_file(engine, "people", write_csv(tmp_path / "m.csv", moved))
    assert (report.loaded, report.unchanged) == (1, 0)
    today, then = date.today(), date(2024, 1, 1)
    assert assignments(engine, "L1") == [
        (GAP_A, then, today),  # ended: closed, kept for lookups --at
        (GAP_B, then, None),  # still held: untouched
        (GAP_C, today, None),  # new
    ]
    assert people(engine)["L1"][-1] == f"{GAP_B};{GAP_C}"


@pytest.mark.parametrize(
    "row, field, words",
    [
        (["X1", "某", "警犬", "", "", "", "", GAP_A], "role", "no duty role '警犬'"),
        (["X2", "某", "mediator", "", "", "", "", GAP_A + "001"], "areas",
         "role mediator answers for villages"),
        (["X3", "某", "mediator", "P9", "", "", "", GAP_A], "post",
         "no post with code P9"),
        (["X4", "某", "mediator", "", "", "", "", "100000009999"], "areas",
         "no current village or grid with code 100000009999"),
        (["X5", "某", "mediator", "", "", "", "0", GAP_A], "capacity", "capacity"),
    ],
)  # fmt: skip
def test_bad_rows_are_rejected_and_named(engine, tmp_path, row, field, words):
    source = write_csv(tmp_path / "bad.csv", [*ADVISERS, row])
    strict = import_file(engine, "people", source)
    assert strict.status == "rejected" and "L1" not in people(engine)
    (finding,) = strict.errors
    assert (finding.row, finding.field) == (4, field)  # line 4: after the header
    assert words in finding.reason and " / " in finding.reason  # 中文 / English
    lenient = import_file(
        engine, "people", source, tmp_path / "bad.report.json", lenient=True
    )
    assert (lenient.status, lenient.loaded, lenient.rejected) == ("loaded", 2, 1)
    assert set(people(engine)) == {"L1", "M1", "M2"}
    quarantine = [p for p in lenient.outputs if "quarantine" in p.name]
    assert quarantine and row[0] in quarantine[0].read_text(encoding="utf-8-sig")


def test_the_role_list_is_named_when_a_role_is_unknown(engine, tmp_path):
    source = write_csv(tmp_path / "bad.csv", [["X1", "某", "chief", "", "", "", "",
                                               GAP_A]])  # fmt: skip
    (finding,) = import_file(engine, "people", source).errors
    assert "mediator(人民调解员)" in finding.reason
    assert "legal_adviser(村(居)法律顾问)" in finding.reason


def test_a_role_a_county_adds_is_imported_with_its_kind_of_area(engine, tmp_path):
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO duty_role (code, label, answers_for, capacity) "
            "VALUES ('guard', '治安志愿者', 'grid', 2)"
        ))  # fmt: skip
    rows = [["V1", "志愿者一", "治安志愿者", "", "", "", "", GAP_A + "001"],
            ["V2", "志愿者二", "guard", "", "", "", "", GAP_A]]  # fmt: skip
    report = import_file(
        engine, "people", write_csv(tmp_path / "v.csv", rows), lenient=True
    )
    assert people(engine)["V1"][0] == "guard" and "V2" not in people(engine)
    (finding,) = report.errors
    assert finding.field == "areas" and "role guard answers for grids" in finding.reason


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_then_import_into_an_empty_copy_gives_the_same_people(
    engine, make_database, tmp_path, suffix
):
    import_file(engine, "people", write_csv(tmp_path / "p.csv", ADVISERS))
    import_file(engine, "people", write_xlsx(tmp_path / "p.xlsx", MEDIATORS))
    out = tmp_path / f"out{suffix}"
    assert export_layer(engine, "people", out) == 5  # M1 and the four
    copy = db.get_engine(make_database())
    with copy.begin() as conn:
        build_gaps(conn)
        conn.execute(sa.text("DELETE FROM person"))  # the world's M1 comes back
    report = import_file(copy, "people", out)
    assert (report.status, report.loaded) == ("loaded", 5), report.errors
    assert people(copy) == people(engine)
    again = import_file(engine, "people", out)  # and into the source: nothing
    assert again.unchanged == 5


def test_the_gap_analysis_sees_imported_people(engine, tmp_path):
    def uncovered(role):
        with engine.connect() as conn:
            report = gaps.analyse(conn, role=role)
        return sorted(f["code"] for f in report["findings"]["uncovered"])

    assert uncovered("mediator") == [GAP_C]
    assert uncovered("legal_adviser") == [GAP_A, GAP_B, GAP_C]
    import_file(engine, "people", write_csv(tmp_path / "p.csv", ADVISERS))
    assert uncovered("mediator") == []
    assert uncovered("legal_adviser") == [GAP_C]


def test_cli_imports_and_exports_people(engine, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    source = write_csv(tmp_path / "p.csv", ADVISERS)
    assert main(["import", "people", str(source)]) == 0
    out = tmp_path / "out.csv"
    assert main(["export", "people", str(out)]) == 0
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = {row["code"]: row for row in csv.DictReader(handle)}
    assert rows["L1"]["role"] == "legal_adviser"
    assert rows["L1"]["areas"] == f"{GAP_A};{GAP_B}"
    assert rows["M2"]["office"] == "丙村调委会" and rows["M2"]["post"] == ""


def test_officers_still_import_through_the_shared_loader(engine, tmp_path):
    header = ["警号", "姓名", "类型", "所属警务室", "电话", "负责村社"]
    rows = [["O3", "警官三", "辅警", "P2", "", f"{GAP_B} {GAP_C}001"]]
    source = write_csv(tmp_path / "o.csv", rows, header)
    report = import_file(engine, "officers", source)
    assert (report.status, report.loaded) == ("loaded", 1), report.errors
    with engine.connect() as conn:
        kind, areas = conn.execute(sa.text("""
            SELECT o.kind, array_agg(a.code ORDER BY a.code) FROM officer o
              JOIN officer_area oa ON oa.officer_id = o.id
              JOIN area a ON a.id = oa.area_id
             WHERE o.code = 'O3' GROUP BY o.kind""")).one()  # fmt: skip
    # Officers answer for villages or grids, as before.
    assert (kind, areas) == ("auxiliary", [GAP_B, GAP_C + "001"])
    assert import_file(engine, "officers", source).unchanged == 1


def test_the_upload_page_offers_people_and_loads_them(engine, tmp_path):
    with engine.begin() as conn:
        users.add(conn, "clerk", "planner", "correct-horse-1")
    app = create_app({
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "TESTING": True, "UPLOAD_DIR": str(tmp_path / "uploads"),
    })  # fmt: skip
    client = app.test_client()
    login(client, "clerk", "correct-horse-1")
    page = client.get("/import").get_data(as_text=True)
    assert re.search(r'value="people"[^>]*>[^<]*法律顾问/调解员等责任人', page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    content = write_csv(tmp_path / "p.csv", ADVISERS).read_bytes()
    preview = client.post(
        "/import",
        data={"layer": "people", "csrf_token": token,
              "file": [(io.BytesIO(content), "顾问.csv")]},
        content_type="multipart/form-data",
    ).get_data(as_text=True)  # fmt: skip
    assert "<td>role</td>" in preview and "L1" not in people(engine)
    action = re.search(r'action="(/import/[0-9a-f]+/commit)"', preview).group(1)
    client.post(action, data={"csrf_token": token})
    assert people(engine)["L1"][0] == "legal_adviser"


def test_people_follow_their_village_to_a_new_generation(engine, tmp_path):
    import_file(engine, "people", write_csv(tmp_path / "p.csv", ADVISERS))
    wkt = box(100.18, 100.29).split(";")[1]  # village C, its east edge moved
    villages = tmp_path / "v.csv"
    villages.write_text(
        f'编码,名称,上级编码,人口,wkt\n{GAP_C},{GAP_C},{GAP_T2},4000,"{wkt}"\n',
        encoding="utf-8",
    )
    report = import_file(engine, "villages", villages)
    assert report.status == "loaded", report.errors
    with engine.connect() as conn:
        current = conn.execute(sa.text("""
            SELECT a.valid_to IS NULL FROM person_area pa
              JOIN person s ON s.id = pa.person_id JOIN area a ON a.id = pa.area_id
             WHERE s.code = 'M2'""")).scalars().all()  # fmt: skip
    assert current == [True]  # on the new generation, not the closed one


# Grid members (网格员): a layer of their own, one loader with the others -------
MEMBER_HEADER = ["编号", "姓名", "专兼职", "电话", "负责网格"]
MEMBERS = [
    ["W1", "网格员甲", "专职", "13900000001", GAP_B + "002"],
    ["W2", "网格员乙", "", "", GAP_B + "001"],  # 专兼职 empty: 专职
]


def members(engine) -> dict[str, tuple]:
    """code → (kind, phone, every assignment as (grid, valid_from, valid_to))."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text("""
            SELECT m.code, m.kind, m.phone,
                   array_agg(ARRAY[a.code, ma.valid_from::text,
                                   coalesce(ma.valid_to::text, '')]
                             ORDER BY a.code, ma.valid_from)
              FROM grid_member m
              JOIN grid_member_area ma ON ma.member_id = m.id
              JOIN area a ON a.id = ma.area_id
             GROUP BY m.code, m.kind, m.phone""")).all()  # fmt: skip
    return {code: (kind, phone, [tuple(x) for x in links])
            for code, kind, phone, links in rows}  # fmt: skip


def test_grid_members_import_and_close_the_grid_gap(engine, tmp_path):
    def uncovered():
        with engine.connect() as conn:
            report = gaps.analyse(conn, role="grid_member")
        return sorted(f["code"] for f in report["findings"]["uncovered"])

    assert uncovered() == [GAP_B + "002"]
    source = write_csv(tmp_path / "w.csv", MEMBERS, MEMBER_HEADER)
    report = import_file(engine, "grid_members", source)
    assert (report.status, report.loaded, report.errors) == ("loaded", 2, [])
    today = date.today().isoformat()
    got = members(engine)
    assert got["W1"] == ("full_time", "13900000001", [(GAP_B + "002", today, "")])
    assert got["W2"] == ("full_time", None, [(GAP_B + "001", today, "")])
    assert uncovered() == []
    assert import_file(engine, "grid_members", source).unchanged == 2


def test_a_grid_member_who_moves_keeps_the_old_grid_for_lookups_at(engine, tmp_path):
    import_file(engine, "grid_members",
                write_csv(tmp_path / "w.csv", MEMBERS[:1], MEMBER_HEADER))  # fmt: skip
    with engine.begin() as conn:  # as if imported in 2024
        conn.execute(sa.text("UPDATE grid_member_area SET valid_from = '2024-01-01' "
                             "FROM grid_member m WHERE m.id = member_id "
                             "AND m.code = 'W1'"))  # fmt: skip
    moved = [["W1", "网格员甲", "兼职", "13900000001", GAP_A + "001"]]
    source = write_csv(tmp_path / "m.csv", moved, MEMBER_HEADER)
    report = import_file(engine, "grid_members", source)
    assert (report.status, report.loaded, report.unchanged) == ("loaded", 1, 0)
    today = date.today().isoformat()
    assert members(engine)["W1"] == ("part_time", "13900000001", [
        (GAP_A + "001", today, ""),  # the new grid, from today
        (GAP_B + "002", "2024-01-01", today),  # the old one, closed, kept
    ])  # fmt: skip
    # Who answered for grid B002 on a day of 2025, and who does today.
    with engine.connect() as conn:
        then = lookup.lookup(conn, 100.16, 30.05, at=lookup.parse_date("2025-06-01"))
        now = lookup.lookup(conn, 100.16, 30.05)
        in_a = lookup.lookup(conn, 100.05, 30.05)
    assert [m["code"] for m in then["grid_members"]] == ["W1"]
    assert now["grid_members"] == []
    assert "W1" in [m["code"] for m in in_a["grid_members"]]


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        (["W3", "网格员丙", "专职", "", GAP_A], "areas", "只负责网格"),  # a village
        (["W3", "网格员丙", "临时工", "", GAP_A + "001"], "kind", "临时工"),
        (["W3", "网格员丙", "专职", "", ""], "areas", "areas is empty"),
        (["W3", "网格员丙", "专职", "", "999999999999001"], "areas", "999999999999001"),
    ],
)
def test_bad_grid_member_rows_are_rejected_and_named(engine, tmp_path, row, field,
                                                     words):  # fmt: skip
    source = write_csv(tmp_path / "w.csv", [row], MEMBER_HEADER)
    report = import_file(engine, "grid_members", source)
    assert report.status == "rejected"
    (finding,) = report.errors
    assert (finding.row, finding.field) == (2, field)
    assert words in finding.reason and " / " in finding.reason  # 中文 / English
    assert "W3" not in members(engine)


def test_grid_members_export_and_import_into_an_empty_copy(engine, make_database,
                                                           tmp_path):  # fmt: skip
    import_file(engine, "grid_members",
                write_csv(tmp_path / "w.csv", MEMBERS, MEMBER_HEADER))  # fmt: skip
    out = tmp_path / "out.xlsx"
    assert export_layer(engine, "grid_members", out) == 5  # the world's three too
    copy = db.get_engine(make_database())
    with copy.begin() as conn:
        build_gaps(conn)
        conn.execute(sa.text("DELETE FROM grid_member"))
    report = import_file(copy, "grid_members", out)
    assert (report.status, report.loaded) == ("loaded", 5), report.errors
    current = {code: (kind, phone, [link[0] for link in links if not link[2]])
               for code, (kind, phone, links) in members(engine).items()}  # fmt: skip
    assert {code: (kind, phone, [link[0] for link in links])
            for code, (kind, phone, links) in members(copy).items()} == current
