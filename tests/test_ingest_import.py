"""Importing point layers: strict and lenient, reports, quarantine, re-imports.

Boundaries are the hand-made squares of ``test_assignment`` (district
100.0-100.2 E, 30.0-30.1 N; villages 001 west of 100.1, 002 east of it).  Files
are written by the tests in the encodings and coordinate systems they come in.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa
from openpyxl import Workbook

from gis import crs, db
from gis.cli import main
from gis.errors import InvalidInput
from gis.ingest import import_file
from tests.worlds import build_areas

IN_A, IN_B = (100.05, 30.05), (100.15, 30.05)
FAR = (101.1, 30.05)  # about 100 km east of the district


@pytest.fixture
def engine(make_database):
    engine = db.get_engine(make_database())
    with engine.begin() as conn:
        build_areas(conn)
    return engine


def table(engine, sql: str) -> list:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(sql))]


def gcj(point) -> tuple[float, float]:
    lon, lat = crs.from_wgs84(*point, "gcj02")
    return round(float(lon), 7), round(float(lat), 7)


def incidents_csv(path, rows, encoding="utf-8-sig"):
    lines = ["编号,事件类型,上报时间,经度,纬度"] + [",".join(map(str, r)) for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


GOOD = [("S1", "邻里纠纷", "2025-03-01 08:30", *gcj(IN_A)),
        ("S2", "债务纠纷", "2025/3/2 9:00", *gcj(IN_B))]  # fmt: skip
BAD = [
    ("S3", "邻里纠纷", "2025-03-01", *gcj(FAR)),  # line 4: 100 km away
    ("S4", "邻里纠纷", "2025-13-45", *gcj(IN_A)),  # line 5: malformed date
    ("S1", "邻里纠纷", "2025-03-01", *gcj(IN_B)),  # line 6: duplicate code
    ("S5", "邻里纠纷", "2025-03-01", "", gcj(IN_A)[1]),  # line 7: empty lon
    ("S6", "邻里纠纷", "2025-03-01", gcj(IN_A)[1], gcj(IN_A)[0]),  # line 8: swapped
]


def test_strict_refuses_the_whole_file_and_writes_nothing(engine, tmp_path):
    path = incidents_csv(tmp_path / "in.csv", GOOD + BAD)
    report = import_file(engine, "incidents", path, tmp_path / "r.json", crs="gcj02")
    assert report.status == "rejected"
    assert (report.read, report.loaded, report.rejected) == (7, 0, 5)
    assert sorted({(f.row, f.field) for f in report.errors}) == [
        (4, "lon"), (5, "reported_at"), (6, "code"), (7, "lon"), (8, "lon"),
    ]  # fmt: skip
    reasons = " ".join(f.reason for f in report.errors)
    for words in ("outside", "not a date", "duplicate code S1", "empty", "swapped"):
        assert words in reasons
    assert table(engine, "SELECT count(*) FROM incident") == [(0,)]
    batches = "SELECT status, read_count, rejected_count FROM import_batch"
    assert table(engine, batches) == [("rejected", 7, 5)]
    saved = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert saved["status"] == "rejected" and len(saved["findings"]) == 5
    assert (tmp_path / "r.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert not (tmp_path / "r.quarantine.csv").exists()


def test_lenient_loads_the_good_and_quarantines_the_bad(engine, tmp_path):
    path = incidents_csv(tmp_path / "in.csv", GOOD + BAD)
    report = import_file(
        engine, "incidents", path, tmp_path / "r.json", crs="gcj02", lenient=True
    )
    assert report.status == "loaded"
    assert report.read == report.loaded + report.rejected == 7
    rows = table(engine, """
        SELECT i.code, v.code, ST_X(i.geom), ST_Y(i.geom) FROM incident i
          JOIN area v ON v.id = i.village_id ORDER BY i.code""")  # fmt: skip
    assert [r[:2] for r in rows] == [("S1", "100000001001"), ("S2", "100000001002")]
    for (_, _, lon, lat), expected in zip(rows, (IN_A, IN_B), strict=True):
        assert (lon, lat) == pytest.approx(expected, abs=1e-7)  # ~1 cm
    quarantine = (tmp_path / "r.quarantine.csv").read_bytes().decode("utf-8-sig")
    original = path.read_bytes().decode("utf-8-sig").splitlines()
    assert quarantine.splitlines() == [original[0], *original[3:]]


def test_coordinates_typed_by_hand_in_dms_or_full_width(engine, tmp_path):
    # A GBK sheet as a clerk types it: 度分秒, primes, full-width digits.
    rows = [
        ("S1", "邻里纠纷", "2025-03-01", "东经100°03′00″", "北纬30°03′00″"),
        ("S2", "债务纠纷", "2025-03-01", "１００．１５", "３０．０５"),
        ("S3", "邻里纠纷", "2025-03-01", "100度9分", "30度3分N"),
        ("S4", "邻里纠纷", "2025-03-01", "100°63′", "30°03′"),  # line 5: 63′
    ]
    path = incidents_csv(tmp_path / "in.csv", rows, encoding="gbk")
    strict = import_file(engine, "incidents", path)
    assert (
        strict.status == "rejected" and table(engine, "SELECT id FROM incident") == []
    )
    assert [(f.row, f.field) for f in strict.errors] == [(5, "lon")]
    report = import_file(engine, "incidents", path, lenient=True)
    assert (report.loaded, report.rejected) == (3, 1)
    got = table(
        engine, "SELECT code, ST_X(geom), ST_Y(geom) FROM incident ORDER BY code"
    )
    expected = [("S1", 100.05, 30.05), ("S2", 100.15, 30.05), ("S3", 100.15, 30.05)]
    for (code, lon, lat), (want, x, y) in zip(got, expected, strict=True):
        assert code == want and (lon, lat) == pytest.approx((x, y), abs=1e-9)


def test_reimport_changes_nothing_and_a_changed_row_is_updated(engine, tmp_path):
    path = incidents_csv(tmp_path / "in.csv", GOOD)
    first = import_file(engine, "incidents", path, crs="gcj02")
    assert (first.loaded, first.unchanged) == (2, 0)
    again = import_file(engine, "incidents", path, crs="gcj02")
    assert (again.read, again.loaded, again.unchanged) == (2, 2, 2)
    moved = [GOOD[0], ("S2", "债务纠纷", "2025/3/2 9:00", *gcj(IN_A))]
    changed = import_file(engine, "incidents", incidents_csv(path, moved), crs="gcj02")
    assert (changed.loaded, changed.unchanged) == (2, 1)
    assert table(engine, """SELECT v.code FROM incident i JOIN area v
                             ON v.id = i.village_id WHERE i.code = 'S2'""") == [
        ("100000001001",)
    ]  # fmt: skip
    assert len(table(engine, "SELECT id FROM import_batch")) == 3


def test_bd09_xlsx_posts(engine, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["编码", "名称", "类型", "经度", "纬度", "人数"])
    for code, point in (("P1", IN_A), ("P2", IN_B)):
        lon, lat = crs.from_wgs84(*point, "bd09")
        sheet.append([code, f"{code}号警务室", "警务室", float(lon), float(lat), 3])
    book.save(tmp_path / "posts.xlsx")
    index = "SELECT relfilenode FROM pg_class WHERE relname = 'post_geog_gist'"
    before = table(engine, index)
    report = import_file(engine, "posts", tmp_path / "posts.xlsx", crs="bd09")
    assert report.status == "loaded" and report.loaded == 2
    assert table(engine, index) != before  # rebuilt sparse after the posts went in
    rows = table(engine, "SELECT name, kind, staff, ST_X(geom), ST_Y(geom) FROM post "
                         "ORDER BY code")  # fmt: skip
    assert [r[:3] for r in rows] == [("P1号警务室", "police_room", 3),
                                     ("P2号警务室", "police_room", 3)]  # fmt: skip
    assert rows[0][3:] == pytest.approx(IN_A, abs=1e-7)


def test_gbk_csv_with_a_title_line_above_its_header(engine, tmp_path):
    path = incidents_csv(tmp_path / "in.csv", [*GOOD, BAD[1]], encoding="gbk")
    path.write_bytes("华龙区矛盾纠纷台账,,,,\n".encode("gbk") + path.read_bytes())
    strict = import_file(engine, "incidents", path, crs="gcj02")
    assert [(f.row, f.field) for f in strict.errors] == [(5, "reported_at")]
    assert table(engine, "SELECT id FROM incident") == []
    report = import_file(
        engine, "incidents", path, tmp_path / "r.json", crs="gcj02", lenient=True
    )
    assert (report.read, report.loaded, report.rejected) == (3, 2, 1)
    assert any("line 2" in note for note in report.notes)
    quarantine = (tmp_path / "r.quarantine.csv").read_bytes().decode("gbk")
    lines = path.read_bytes().decode("gbk").splitlines()
    assert quarantine.splitlines() == [lines[1], lines[4]]  # header, line 5


def test_xlsx_sheet_with_a_title_above_its_table(engine, tmp_path):
    book = Workbook()
    book.active.title = "填表说明"
    book.active.append(["请按第二个工作表填写，经纬度为 WGS84。"])
    sheet = book.create_sheet("警务室")
    sheet.append(["华龙区警务室一览表"])  # a title, merged across in the original
    sheet.append([None, None, "填报日期：2025年3月"])
    sheet.append(["编码", "名称", "类型", "经度", "纬度"])
    sheet.append(["P1", "一号警务室", "警务室", *IN_A])
    sheet.append(["P2", "二号警务室", "外星站", *IN_B])  # sheet row 5: bad kind
    sheet.append(["P3", "三号警务室", "警务室", *IN_B])
    book.save(tmp_path / "posts.xlsx")
    path = tmp_path / "posts.xlsx"
    report = import_file(engine, "posts", path, layer_name="警务室", lenient=True)
    assert (report.read, report.loaded) == (3, 2)
    assert [(f.row, f.field) for f in report.errors] == [(5, "kind")]
    assert any("row 3" in note for note in report.notes)
    assert table(engine, "SELECT code FROM post ORDER BY code") == [("P1",), ("P3",)]
    with pytest.raises(InvalidInput) as missing:  # the first sheet has no table
        import_file(engine, "posts", path)
    # (a post's code may be made, gis.ingest.stable: the name is what lacks)
    assert missing.value.details["field"] == "name"
    with pytest.raises(InvalidInput, match="填表说明, 警务室") as unknown:
        import_file(engine, "posts", path, layer_name="Sheet9")
    assert unknown.value.details["field"] == "layer"


def test_gbk_gauss_kruger_shapefile_of_sites(engine, tmp_path):
    system = "EPSG:4543"  # CGCS2000 3-degree CM 102E, the zone of 100-101 E
    xy = [crs.from_wgs84(*p, system) for p in (IN_A, IN_B)]
    frame = gpd.GeoDataFrame(
        {
            "编码": ["K1", "K2"],
            "名称": ["城关镇中心小学", "人民医院"],
            "类型": ["学校", "医院"],
        },
        geometry=[shapely.Point(float(x) + 34e6, float(y)) for x, y in xy],
        crs=system,
    )  # fmt: skip  (eastings carry the zone prefix 34 though the CRS has none)
    frame.to_file(tmp_path / "sites.shp", encoding="GBK")
    report = import_file(engine, "sites", tmp_path / "sites.shp")
    assert report.status == "loaded", report.errors
    assert report.encoding == "gb18030" and report.crs == system
    rows = table(engine, "SELECT name, kind, ST_X(geom), ST_Y(geom) FROM site "
                         "ORDER BY code")  # fmt: skip
    assert [r[:2] for r in rows] == [
        ("城关镇中心小学", "school"),
        ("人民医院", "hospital"),
    ]
    for row, point in zip(rows, (IN_A, IN_B), strict=True):
        assert row[2:] == pytest.approx(point, abs=1e-7)


def test_geojson_cameras_need_an_azimuth_when_fixed(engine, tmp_path):
    frame = gpd.GeoDataFrame(
        {"code": ["C1", "C2", "C3"], "kind": ["dome", "fixed", "fixed"],
         "azimuth": [None, 90.0, None], "fov": [360, 60, 60]},
        geometry=[shapely.Point(IN_A), shapely.Point(IN_B), shapely.Point(IN_A)],
        crs="EPSG:4326",
    )  # fmt: skip
    frame.to_file(tmp_path / "cams.geojson", driver="GeoJSON")
    report = import_file(
        engine, "cameras", tmp_path / "cams.geojson", tmp_path / "r.json", lenient=True
    )
    assert [(f.row, f.field) for f in report.errors] == [(3, "azimuth")]
    assert table(engine, "SELECT code, status, range_m FROM camera ORDER BY code") == [
        ("C1", "online", 100.0), ("C2", "online", 100.0)
    ]  # fmt: skip
    quarantined = gpd.read_file(tmp_path / "r.quarantine.geojson")
    assert list(quarantined["code"]) == ["C3"]


def test_a_non_utf8_byte_rejects_its_row(engine, tmp_path):
    path = tmp_path / "in.csv"
    good = ",".join(map(str, GOOD[0])).encode()
    path.write_bytes(
        "编号,事件类型,上报时间,经度,纬度\n".encode() + good + b"\n"
        + b"S9,\xff\xfe,2025-03-01," + str(gcj(IN_A)[0]).encode() + b","
        + str(gcj(IN_A)[1]).encode() + b"\n"
    )  # fmt: skip
    report = import_file(engine, "incidents", path, crs="gcj02", lenient=True)
    assert [(f.row, "utf-8" in f.reason) for f in report.errors] == [(3, True)]
    assert report.loaded == 1


def test_metres_without_a_crs_refuse_the_file(engine, tmp_path):
    x, y = crs.from_wgs84(*IN_A, "EPSG:4543")
    path = incidents_csv(tmp_path / "m.csv", [("M1", "邻里纠纷", "2025-03-01", x, y)])
    with pytest.raises(InvalidInput, match="--crs") as error:
        import_file(engine, "incidents", path)
    assert error.value.details["field"] == "crs"
    assert table(engine, "SELECT count(*) FROM incident") == [(0,)]


def test_cli_import_exit_status_and_summary(engine, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    path = incidents_csv(tmp_path / "in.csv", GOOD + BAD[:1])
    assert main(["import", "incidents", str(path), "--crs", "gcj02"]) == 1
    out = capsys.readouterr()
    assert "read 3 = loaded 0 + rejected 1" in out.out
    assert "第 4 行" in out.err and (tmp_path / "in.report.json").exists()
    assert main(["import", "incidents", str(path), "--crs", "gcj02", "--lenient",
                 "--map", "category=事件类型"]) == 0  # fmt: skip
    assert "read 3 = loaded 2 + rejected 1" in capsys.readouterr().out
    assert main(["import", "villages", str(path)]) == 1
    # A boundary layer needs names and polygons, which an incident sheet lacks.
    assert "missing required column(s) name, wkt" in capsys.readouterr().err
    np.testing.assert_equal(table(engine, "SELECT count(*) FROM incident"), [(2,)])


def test_resolution_rules_with_a_bad_report_time(engine, tmp_path):
    path = tmp_path / "in.csv"
    lon, lat = gcj(IN_A)
    path.write_text(
        "编号,事件类型,上报时间,经度,纬度,状态,化解时间,化解层级\n"
        f"R1,邻里纠纷,not-a-date,{lon},{lat},resolved,2025-03-04,village\n"
        f"R2,邻里纠纷,2025-03-05,{lon},{lat},resolved,2025-03-04,village\n"
        f"R3,邻里纠纷,2025-03-05,{lon},{lat},received,2025-03-06,\n"
        f"R4,邻里纠纷,2025-03-05,{lon},{lat},archived,,village\n"
        f"R5,邻里纠纷,2025-03-05,{lon},{lat},resolved,2025-03-06,village\n",
        encoding="utf-8",
    )
    report = import_file(engine, "incidents", path, crs="gcj02", lenient=True)
    assert [(f.row, f.field) for f in report.errors] == [
        (2, "reported_at"), (3, "resolved_at"), (4, "resolved_at"),
    ]  # fmt: skip
    # A ledger's archived row without a time loads, resolved at an unknown time.
    warnings = [f for f in report.findings if f.severity == "warning"]
    assert [(w.row, w.field) for w in warnings] == [(None, "resolved_at")]
    assert "1 rows are resolved without resolved_at" in warnings[0].reason
    assert "(rows 5)" in warnings[0].reason
    assert table(
        engine, "SELECT code, status, resolved_at IS NULL FROM incident ORDER BY code"
    ) == [("R4", "archived", True), ("R5", "resolved", False)]


def test_dry_run_checks_everything_and_writes_nothing(engine, tmp_path):
    path = incidents_csv(tmp_path / "in.csv", GOOD)
    report = import_file(engine, "incidents", path, crs="gcj02", dry_run=True)
    assert (report.status, report.read, report.loaded) == ("checked", 2, 2)
    bad = import_file(
        engine, "incidents", incidents_csv(tmp_path / "bad.csv", GOOD + BAD),
        crs="gcj02", dry_run=True,
    )  # fmt: skip
    assert (bad.status, bad.rejected) == ("rejected", 5)
    assert table(engine, "SELECT count(*) FROM incident") == [(0,)]
    assert table(engine, "SELECT count(*) FROM import_batch") == [(0,)]


def test_geopackage_with_an_empty_time_column(engine, tmp_path):
    """GDAL hands an empty datetime as NaT: it is an empty cell, not a bad time."""
    frame = gpd.GeoDataFrame(
        {"code": ["T1", "T2"], "category": ["邻里纠纷", "债务纠纷"],
         "reported_at": pd.to_datetime(["2025-03-01 08:30", "2025-03-02 09:00"]),
         "status": ["resolved", "received"],
         "resolved_at": pd.to_datetime(["2025-03-03 10:00", None])},
        geometry=[shapely.Point(IN_A), shapely.Point(IN_B)], crs="EPSG:4326",
    )  # fmt: skip
    frame.to_file(tmp_path / "inc.gpkg", driver="GPKG")
    report = import_file(engine, "incidents", tmp_path / "inc.gpkg")
    assert report.status == "loaded", report.errors
    assert table(engine, "SELECT code, resolved_at IS NULL FROM incident "
                         "ORDER BY code") == [("T1", False), ("T2", True)]  # fmt: skip
