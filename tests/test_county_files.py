"""A county's own folder of files goes in on the first try (issue 16).

The folder has every friction a real one has: the district's 6-digit GB/T 2260
code; villages only (no township outlines), as a GBK Shapefile in a
Gauss-Kruger zone with prefixed Chinese headers (村代码, 村名称, 所属乡镇);
a post list in GCJ-02 with names and no codes; a dispute ledger (台账) in
GCJ-02 whose resolved rows have no resolution time.

The world (WGS84): district 100.0-100.2 E, 30.0-30.1 N; township 城关镇
(100000001) holds villages 001 (100.00-100.05) and 002 (100.05-100.10),
township 东风乡 (100000002) villages 001 (100.10-100.15) and 002
(100.15-100.20).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
import sqlalchemy as sa

from gis import crs, db, incidents
from gis.cli import main
from gis.errors import InvalidInput
from gis.ingest import fields, folder, import_file
from tests.worlds import GK, POSTS, VILLAGES, county_folder, gcj, write_csv


def box(x0, x1, y0=30.0, y1=30.1) -> shapely.Polygon:
    return shapely.box(x0, y0, x1, y1)


def table(engine, sql: str, **params) -> list:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]


@pytest.fixture
def engine(make_database):
    return db.get_engine(make_database())


@pytest.fixture
def county(engine, tmp_path):
    """The database with the county's folder loaded."""
    assert folder.import_dir(engine, county_folder(tmp_path / "county")).ok
    return engine


def everything(engine) -> dict:
    """The database's content that an import could change."""
    return {
        "areas": table(engine, """
            SELECT a.kind, a.code, a.code_given, a.name, p.code, a.population,
                   a.derived, a.valid_to, ST_AsText(a.geom)
              FROM area a LEFT JOIN area p ON p.id = a.parent_id
             ORDER BY a.kind, a.code, a.valid_from"""),
        "posts": table(engine, """
            SELECT p.code, p.name, p.kind, v.code, ST_X(p.geom), ST_Y(p.geom)
              FROM post p LEFT JOIN area v ON v.id = p.village_id ORDER BY p.name"""),
        "incidents": table(engine, """
            SELECT i.code, i.category, i.status, i.resolved_at, v.code
              FROM incident i LEFT JOIN area v ON v.id = i.village_id
             ORDER BY i.code"""),
    }  # fmt: skip


def test_the_county_folder_loads_on_the_first_try(
    engine, tmp_path, capsys, monkeypatch
):
    directory = county_folder(tmp_path / "county")
    assert [(p.path.name, p.layer) for p in folder.plan(directory)] == [
        ("区界.geojson", "districts"), ("村社区.shp", "villages"),
        ("警务室_高德.csv", "posts"), ("矛盾纠纷台账_gcj02.csv", "incidents"),
    ]  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    assert main(["import-dir", str(directory),
                 "--report", str(tmp_path / "county.json")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "4 files, 4 loaded, 0 refused" in out
    # Each file's report beside it (and skipped by the next import-dir).
    assert (directory / "村社区.shp.report.json").is_file()
    content = everything(engine)
    areas = [row[:8] for row in content["areas"]]
    assert areas == [
        # The 6-digit code is stored in 12 digits, the original kept.
        ("district", "100000000000", "100000", "测试区", None, None, False, None),
        # Townships dissolved from their villages, named by 所属乡镇.
        ("township", "100000001000", None, "城关镇", "100000000000", 4600, True, None),
        ("township", "100000002000", None, "东风乡", "100000000000", 1700, True, None),
        *(("village", c, None, n, c[:9] + "000", p, False, None)
          for c, n, _, p, _ in VILLAGES),
    ]  # fmt: skip
    township = shapely.from_wkt(content["areas"][1][8])
    # (the Gauss-Kruger round trip moves corners by under 1e-7 degrees)
    assert township.symmetric_difference(box(100.0, 100.1)).area < 1e-9
    # Posts without codes: stable codes, the right village, within a metre.
    posts = content["posts"]
    assert [(p[1], p[2], p[3]) for p in posts] == [
        ("东关警务室", "police_room", "100000001001"),
        ("红星警务工作站", "workstation", "100000002002"),
    ]  # fmt: skip
    assert all(p[0].startswith("P") and len(p[0]) == 17 for p in posts)
    for (_, _, _, _, x, y), (_, _, lon, lat) in zip(posts, POSTS, strict=True):
        assert abs(x - lon) < 1e-5 and abs(y - lat) < 1e-5  # about a metre
    # The ledger: resolved rows without a time are in, at an unknown time.
    assert [(c, s, r is None, v) for c, _, s, r, v in content["incidents"]] == [
        ("J1", "resolved", True, "100000001001"),
        ("J2", "resolved", False, "100000001002"),
        ("J3", "resolved", True, "100000002001"),
        ("J4", "handling", True, "100000002002"),
    ]  # fmt: skip
    summary = json.loads((tmp_path / "county.json").read_text(encoding="utf-8"))
    reports = {f["layer"]: f["report"] for f in summary["files"]}
    warnings = [f for f in reports["incidents"]["findings"]
                if f["severity"] == "warning"]  # fmt: skip
    assert len(warnings) == 1 and "2 rows are resolved without" in warnings[0]["reason"]
    assert "(rows 2, 4)" in warnings[0]["reason"]
    assert any("normalised 1 short codes" in n for n in reports["districts"]["notes"])
    assert any("built 2 missing parent" in n for n in reports["villages"]["notes"])
    assert any("no code column" in n for n in reports["posts"]["notes"])
    # Time-to-resolve statistics leave the untimed rows out and say so.
    with engine.connect() as conn:
        times = incidents.resolution_times(conn, incidents.parse_filters({}))
    assert times == {"resolved": 3, "timed": 1, "unknown_time": 2,
                     "median_hours": 3 * 24 + 0.0, "mean_hours": 72.0}  # fmt: skip

    # A re-import of the whole folder changes nothing and duplicates nothing.
    again = folder.import_dir(engine, directory)
    assert again.ok
    assert [f["report"]["unchanged"] for f in again.files] == [1, 4, 2, 4]
    assert everything(engine) == content


def test_a_dry_run_of_the_folder_checks_everything_and_writes_nothing(
    engine, tmp_path
):
    directory = county_folder(tmp_path / "county")
    result = folder.import_dir(engine, directory, dry_run=True)
    # Later files were checked against the parents the earlier ones bring.
    assert [(f["layer"], f["status"]) for f in result.files] == [
        ("districts", "checked"), ("villages", "checked"), ("posts", "checked"),
        ("incidents", "checked"),
    ]  # fmt: skip
    assert [f["report"]["loaded"] for f in result.files] == [1, 4, 2, 4]
    assert "dry run: nothing written" in result.lines()[-1]
    for name in ("area", "post", "incident", "import_batch", "audit_log"):
        assert table(engine, f"SELECT count(*) FROM {name}") == [(0,)], name


def test_a_broken_file_is_refused_and_the_rest_goes_on(engine, tmp_path):
    directory = county_folder(tmp_path / "county")
    (directory / "监控.csv").write_text("编号,方位角\nC1,90\n", encoding="utf-8")
    (directory / "说明.csv").write_text("甲,乙\n1,2\n", encoding="utf-8")
    result = folder.import_dir(engine, directory)
    by_file = {f["file"]: f for f in result.files}
    assert not result.ok
    assert by_file["监控.csv"]["status"] == "refused"
    assert "missing required column(s) kind" in by_file["监控.csv"]["summary"]
    assert by_file["说明.csv"]["layer"] is None
    assert "cannot tell the layer of 说明.csv" in by_file["说明.csv"]["summary"]
    assert by_file["矛盾纠纷台账_gcj02.csv"]["status"] == "loaded"


def test_real_township_outlines_replace_the_derived_ones(county, tmp_path):
    engine = county
    townships = write_csv(
        tmp_path / "乡镇.csv", ["乡镇代码", "乡镇名称", "WKT"],
        [("100000001", "城关镇", box(100.0, 100.1).wkt),
         ("100000002", "东风乡", box(100.1, 100.2, 30.0, 30.1).buffer(0.001).wkt)],
    )  # fmt: skip
    report = import_file(engine, "townships", townships)
    assert report.status == "loaded", report.findings
    rows = table(engine, """
        SELECT code, code_given, derived, valid_to IS NULL FROM area
         WHERE kind = 'township' ORDER BY code, valid_from""")  # fmt: skip
    # Each real outline is a new, surveyed generation; the derived one is closed.
    assert rows == [
        ("100000001000", None, True, False),
        ("100000001000", "100000001", False, True),
        ("100000002000", None, True, False),
        ("100000002000", "100000002", False, True),
    ]
    # The villages follow their township to the new generation.
    assert table(engine, """
        SELECT v.code FROM area v JOIN area t ON t.id = v.parent_id
         WHERE v.kind = 'village' AND t.code = '100000002000' AND NOT t.derived
         ORDER BY v.code""") == [("100000002001",), ("100000002002",)]  # fmt: skip


def test_codes_that_do_not_nest_are_warnings(county, tmp_path):
    engine = county
    path = write_csv(tmp_path / "v.csv", ["村代码", "村名称", "上级编码", "WKT"], [
        ("100000003001", "飞地村", "100000001000", box(100.0, 100.05).wkt),
    ])  # fmt: skip
    report = import_file(engine, "villages", path)
    assert report.status == "loaded"
    assert [(f.row, f.field, f.severity) for f in report.findings
            if f.field == "code"] == [(2, "code", "warning")]  # fmt: skip


def test_a_file_refused_whole_leaves_its_batch_row_and_report(engine, tmp_path):
    x, y = crs.from_wgs84(100.05, 30.05, GK)
    path = write_csv(tmp_path / "m.csv", ["编号", "名称", "类型", "x", "y"],
                     [("P1", "一室", "警务室", float(x), float(y))])  # fmt: skip
    with pytest.raises(InvalidInput, match="坐标系"):
        import_file(engine, "posts", path, tmp_path / "m.report.json")
    assert table(engine, "SELECT layer, status, filename FROM import_batch") == [
        ("posts", "rejected", "m.csv")
    ]
    saved = json.loads((tmp_path / "m.report.json").read_text(encoding="utf-8"))
    assert saved["status"] == "rejected" and saved["findings"][0]["field"] == "crs"


def test_strict_summary_counts_the_good_rows_it_held_back(county, tmp_path):
    engine = county
    rows = [(f"S{i}", "学校", "school", 100.01 * 1 + i / 1000, 30.05)
            for i in range(4)] + [("S9", "坏", "nowhere", 100.05, 30.05)]  # fmt: skip
    path = write_csv(tmp_path / "s.csv", ["编号", "名称", "类型", "经度", "纬度"], rows)
    report = import_file(engine, "sites", path)
    assert report.summary() == (
        "已拒绝 rejected: sites read 5 = loaded 0 + rejected 1 + held back 4 "
        "(strict: the file was refused)"
    )


def test_the_valid_from_given_wins_over_the_files_column(county, tmp_path):
    engine = county
    path = write_csv(tmp_path / "v.csv", ["村代码", "村名称", "生效日期", "WKT"], [
        ("100000001001", "东关村", "2020-01-01", box(100.0, 100.04).wkt),
    ])  # fmt: skip
    from datetime import date

    report = import_file(engine, "villages", path, valid_from=date(2026, 1, 1))
    assert report.status == "loaded", report.errors
    assert any("valid_from 2026-01-01 as given" in n for n in report.notes)
    assert table(engine, """
        SELECT valid_from::text, valid_to::text FROM area WHERE code = '100000001001'
         ORDER BY valid_from""") == [
        ("1949-10-01", "2026-01-01"), ("2026-01-01", None)
    ]  # fmt: skip


@pytest.mark.parametrize(("columns", "layer", "expected"), [
    (["村代码", "村名称", "所属乡镇"], "villages",
     {"code": "村代码", "name": "村名称", "parent": "所属乡镇"}),
    (["社区编码", "社区名称", "街道代码"], "villages",
     {"code": "社区编码", "name": "社区名称", "parent": "街道代码"}),
    (["案件编号", "案件类型", "发生时间", "办结时间", "处置状态", "x", "y"],
     "incidents",
     {"code": "案件编号", "category": "案件类型", "reported_at": "发生时间",
      "resolved_at": "办结时间", "status": "处置状态", "lon": "x", "lat": "y"}),
    (["警务室编号", "警务室名称", "类别", "详细地址", "经度", "纬度"], "posts",
     {"code": "警务室编号", "name": "警务室名称", "kind": "类别", "address": "详细地址",
      "lon": "经度", "lat": "纬度"}),
    (["网格编码", "网格名称", "所属村"], "grids",
     {"code": "网格编码", "name": "网格名称", "parent": "所属村"}),
])  # fmt: skip
def test_columns_as_clerks_name_them(columns, layer, expected):
    wkt = [] if layer != "villages" and layer != "grids" else ["WKT"]
    found = fields.match_columns(columns + wkt, layer)
    found.pop("wkt", None)
    assert found == expected


def test_two_columns_for_one_field_name_the_candidates_and_the_map():
    with pytest.raises(InvalidInput) as error:
        fields.match_columns(["事件编号", "案件编号", "事件类型", "发生时间", "x", "y"],
                             "incidents")  # fmt: skip
    assert error.value.details == {
        "field": "code", "candidates": ["事件编号", "案件编号"]
    }
    assert "--map code=事件编号" in error.value.message
    assert "列对应" in error.value.message


def test_headers_with_a_subject_are_found_below_a_title(engine, tmp_path):
    path = tmp_path / "posts.csv"
    path.write_text(
        "城关派出所警务室一览表\n警务室编号,警务室名称,类别,经度,纬度\n"
        "P1,东关警务室,警务室,100.02,30.03\n", encoding="utf-8",
    )  # fmt: skip
    report = import_file(engine, "posts", path)
    assert report.status == "loaded" and report.loaded == 1


def test_the_readme_table_of_column_names_is_the_codes():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(
        encoding="utf-8"
    )
    begin, end = fields.TABLE_MARKERS
    assert begin in readme and end in readme
    written = readme.split(begin, 1)[1].split(end, 1)[0].strip()
    assert written == fields.names_table().strip()
    # Names the code recognises are in the table.
    assert "办结时间" in written and "所属乡镇" in written


def test_stable_codes_do_not_depend_on_the_row_order(county, tmp_path):
    engine = county
    before = table(engine, "SELECT code, name FROM post ORDER BY code")
    reordered = write_csv(
        tmp_path / "posts.csv", ["警务室名称", "类别", "经度", "纬度"],
        [(n, k, *gcj(x, y)) for n, k, x, y in reversed(POSTS)],
    )  # fmt: skip
    report = import_file(engine, "posts", reordered, crs="gcj02")
    assert (report.loaded, report.unchanged) == (2, 2)
    assert table(engine, "SELECT code, name FROM post ORDER BY code") == before
    np.testing.assert_equal(len(before), 2)


def zipped(directory, path, prefix="county/", names=None):
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(directory.iterdir()):
            archive.write(file, (names or {}).get(file.name, prefix + file.name))
    return path


def test_a_zipped_folder_unpacks_flat(tmp_path):
    directory = county_folder(tmp_path / "county")
    archive = zipped(directory, tmp_path / "county.zip")
    unpacked = folder.unpack(archive, tmp_path / "out")
    assert sorted(p.name for p in unpacked.iterdir()) == sorted(
        p.name for p in directory.iterdir()
    )
    assert [p.layer for p in folder.plan(unpacked)] == [
        "districts", "villages", "posts", "incidents"
    ]  # fmt: skip


@pytest.mark.parametrize("bad", ["../evil.csv", "/etc/evil.csv", "a/../../evil.csv"])
def test_a_zip_entry_with_a_path_out_is_refused(tmp_path, bad):
    import zipfile

    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as archive:
        archive.writestr("county/区界.csv", "编码,名称\n")
        archive.writestr(bad, "x")
    with pytest.raises(InvalidInput, match="climb out of their folder"):
        folder.unpack(tmp_path / "bad.zip", tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.csv").exists()


def test_random_bytes_named_zip_are_refused_with_a_message(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"\x00\x01not a zip" * 100)
    with pytest.raises(InvalidInput, match="not a valid zip archive"):
        folder.unpack(tmp_path / "x.zip", tmp_path / "out")


def test_people_into_an_empty_database_say_what_to_import_first(engine, tmp_path):
    path = write_csv(tmp_path / "民警.csv", ["警号", "姓名", "类型", "负责村社"],
                     [("J001", "张三", "民警", "100000001001")])  # fmt: skip
    report = import_file(engine, "officers", path)
    assert report.status == "rejected"
    assert [f.field for f in report.errors] == ["areas"]
    assert "import the villages (and grids) first" in report.errors[0].reason


def test_points_into_an_empty_database_say_what_to_import_first(engine, tmp_path):
    path = write_csv(tmp_path / "posts.csv", ["名称", "类型", "经度", "纬度"],
                     [("一室", "警务室", 100.05, 30.05)])  # fmt: skip
    report = import_file(engine, "posts", path)
    assert report.status == "loaded"
    assert any("import the villages first" in note for note in report.notes)


def test_the_preview_of_a_file_without_codes_says_they_will_be_made(tmp_path):
    from gis.ingest import preview

    path = write_csv(tmp_path / "posts.csv", ["警务室名称", "类别", "经度", "纬度"],
                     [("一室", "警务室", 100.05, 30.05)])  # fmt: skip
    info = preview(path, "posts")
    assert info["problem"] is None
    code = next(f for f in info["fields"] if f["name"] == "code")
    assert code["column"] is None and code["made"] is True


def test_townships_alone_build_their_district(engine, tmp_path):
    path = write_csv(tmp_path / "乡镇.csv", ["乡镇代码", "乡镇名称", "人口", "WKT"], [
        ("100000001", "城关镇", 4600, box(100.0, 100.1).wkt),
        ("100000002", "东风乡", 1700, box(100.1, 100.2).wkt),
    ])  # fmt: skip
    report = import_file(engine, "townships", path)
    assert report.status == "loaded", report.findings
    assert table(engine, """
        SELECT a.kind, a.code, a.code_given, p.code, a.population, a.derived
          FROM area a LEFT JOIN area p ON p.id = a.parent_id
         ORDER BY a.kind, a.code""") == [
        ("district", "100000000000", None, None, 6300, True),
        ("township", "100000001000", "100000001", "100000000000", 4600, False),
        ("township", "100000002000", "100000002", "100000000000", 1700, False),
    ]  # fmt: skip


def test_villages_in_several_files_grow_their_derived_parents(engine, tmp_path):
    """A county that sends its villages a township at a time, with no district
    or township outlines: each file loads, and the dissolved township and
    district grow to hold every village loaded so far."""
    header = ["村代码", "村名称", "所属乡镇", "人口", "WKT"]

    def villages(name, rows):
        return write_csv(tmp_path / name, header, [
            (c, n, t, p, box(x, x + 0.05).wkt) for c, n, t, p, x in rows
        ])  # fmt: skip

    first = villages("城关镇.csv", VILLAGES[:1])
    second = villages("东风乡.csv", VILLAGES[2:])
    third = villages("城关镇补.csv", VILLAGES[1:2])
    for path in (first, second, third):
        report = import_file(engine, "villages", path)
        assert report.status == "loaded", (path.name, report.findings)
    parents = table(engine, """
        SELECT kind, code, population, derived, round(ST_Area(geom)::numeric, 6)::float,
               Box2D(geom)::text
          FROM area WHERE kind IN ('district', 'township') AND valid_to IS NULL
         ORDER BY kind, code""")  # fmt: skip
    assert parents == [
        # One district over all four villages, with their people; 城关镇 grew
        # with the third file's village.
        ("district", "100000000000", 6300, True, 0.02, "BOX(100 30,100.2 30.1)"),
        ("township", "100000001000", 4600, True, 0.01, "BOX(100 30,100.1 30.1)"),
        ("township", "100000002000", 1700, True, 0.01, "BOX(100.1 30,100.2 30.1)"),
    ]
    # Every village hangs below a current township of its own prefix.
    assert table(engine, """
        SELECT v.code, t.code FROM area v JOIN area t ON t.id = v.parent_id
         WHERE v.kind = 'village' AND t.valid_to IS NULL ORDER BY v.code""") == [
        (c, c[:9] + "000") for c, *_ in VILLAGES
    ]  # fmt: skip
    # The lookup finds the district and township anywhere in the grown outlines.
    with engine.connect() as conn:
        from gis import lookup

        answer = lookup.lookup(conn, 100.17, 30.05)
    assert answer["district"]["code"] == "100000000000"
    assert answer["township"]["code"] == "100000002000"
    assert not answer["flags"]["outside_district"]
    # Loading a file again changes nothing.
    before = everything(engine)
    assert import_file(engine, "villages", second).status == "loaded"
    assert everything(engine) == before
    # A village's new population reaches its township and district.
    rows = [(c, n, t, p + 100 if c.endswith("2001") else p, x)
            for c, n, t, p, x in VILLAGES[2:]]  # fmt: skip
    report = import_file(engine, "villages", villages("东风乡2.csv", rows))
    assert report.status == "loaded", report.findings
    assert table(engine, """
        SELECT kind, code, population FROM area
         WHERE kind IN ('district', 'township') AND valid_to IS NULL
         ORDER BY kind, code""") == [
        ("district", "100000000000", 6400),
        ("township", "100000001000", 4600),
        ("township", "100000002000", 1800),
    ]  # fmt: skip
