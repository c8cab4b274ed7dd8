"""Reading planners' files: encodings, formats, row numbers, coordinate systems.

Every file here is written by the test with the libraries planners' tools use
(GDAL through geopandas, openpyxl), in the encodings they really come in.
"""

from __future__ import annotations

import codecs
import zipfile

import geopandas as gpd
import numpy as np
import pytest
import shapely
from openpyxl import Workbook

from gis import crs
from gis.errors import InvalidInput
from gis.ingest import coords, sources
from gis.ingest.sources import open_source, sniff_encoding

HEADER = "编码,名称,经度,纬度\n"


def rows(source, column="名称"):
    return [
        (n, value)
        for chunk in source.chunks(size=2)
        for n, value in zip(chunk.numbers, chunk.columns[column], strict=True)
    ]


@pytest.mark.parametrize(
    "encoding, expected",
    [("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8"), ("gbk", "gb18030")],
)
def test_csv_encodings_are_detected(tmp_path, encoding, expected):
    path = tmp_path / "posts.csv"
    path.write_bytes((HEADER + "P1,城关镇一号警务室,115.03,35.76\n").encode(encoding))
    source = open_source(path)
    assert source.encoding == expected
    assert source.columns == ["编码", "名称", "经度", "纬度"]
    assert rows(source) == [(2, "城关镇一号警务室")]


def test_csv_rows_keep_their_line_numbers(tmp_path):
    path = tmp_path / "posts.csv"
    path.write_text(
        HEADER + 'P1,一号,115.03,35.76\nP2,"二号\n警务室",115.04,35.77\n\n'
        "P3,三号,115.05,35.78\nP4,四号,115.06\n",
        encoding="utf-8",
    )
    source = open_source(path)
    assert rows(source) == [(2, "一号"), (3, "二号\n警务室"), (6, "三号"), (7, "四号")]
    broken = {
        chunk.numbers[i]: reason
        for chunk in source.chunks()
        for i, reason in chunk.broken.items()
    }
    assert list(broken) == [7] and "3 fields" in broken[7]


@pytest.mark.parametrize("blockwise", [True, False], ids=["blocks", "lines"])
def test_csv_with_a_title_above_its_header(tmp_path, monkeypatch, blockwise):
    if not blockwise:  # the line-by-line reader, as for a header with a quote
        monkeypatch.setattr(sources, "BLOCK_ENCODINGS", frozenset())
    path = tmp_path / "posts.csv"
    title = "华龙区警务室一览表,,,\n填报单位：华龙分局,,,\n"
    body = 'P1,一号,115.03,35.76\nP2,"二号\n警务室",115.04,35.77\nP3,三号,115.05\n'
    path.write_bytes(codecs.BOM_UTF8 + (title + HEADER + body).encode("utf-8"))
    source = open_source(path)
    assert source.columns == ["编码", "名称", "经度", "纬度"]
    assert rows(source) == [(4, "一号"), (5, "二号\n警务室"), (7, "三号")]
    broken = [c.numbers[i] for c in source.chunks() for i in c.broken]
    assert broken == [7]
    assert len(source.notes) == 1 and "line 3" in source.notes[0]


@pytest.mark.parametrize(
    "top, header",
    [([["标题"], [], ["编码", "名称"]], 3), ([["编码", "名称"], ["x", "y"]], 1),
     ([["甲", "乙"], ["编码", "名称"]], 1),  # a header of unknown names
     ([["标题"], ["说明"]], 1), ([], 1)],
)  # fmt: skip
def test_the_header_row_is_found_below_a_title(top, header):
    assert sources._header_row(top) == header


def test_a_layer_for_a_csv_is_refused(tmp_path):
    path = tmp_path / "posts.csv"
    path.write_text(HEADER, encoding="utf-8")
    with pytest.raises(InvalidInput, match="--layer") as error:
        open_source(path, layer="Sheet1")
    assert error.value.details["field"] == "layer"


def test_a_bad_byte_breaks_its_row_not_the_file(tmp_path):
    path = tmp_path / "posts.csv"
    path.write_bytes(
        (HEADER + "P1,一号,115.03,35.76\n").encode()
        + b"P2,\xff\xfe,115.04,35.77\n"
        + "P3,三号,115.05,35.78\n".encode()
    )
    source = open_source(path)
    assert source.encoding == "utf-8"
    chunk = next(source.chunks())
    assert chunk.columns["名称"][0] == "一号" and chunk.columns["名称"][2] == "三号"
    assert list(chunk.broken) == [1]
    assert "utf-8" in chunk.broken[1]
    assert chunk.raw[1][0] == "P2"  # kept for the quarantine file


def test_sniffing_tells_gbk_from_utf8():
    text = "村名,户数\n张庄村,120\n"
    assert sniff_encoding(text.encode("gbk")) == "gb18030"
    assert sniff_encoding(text.encode("utf-8")) == "utf-8"
    assert sniff_encoding(b"a,b\n1,2\n") == "utf-8"


def test_xlsx_is_read_with_row_numbers_and_plain_numbers(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["编码", "名称", "经度", "纬度", "户数"])
    sheet.append(["C1", "路口一", 115.031, 35.761, 12.0])
    sheet.append([None, None, None, None, None])
    sheet.append(["C2", "路口二", 115.032, 35.762, 7])
    path = tmp_path / "cameras.xlsx"
    book.save(path)
    source = open_source(path)
    assert source.columns == ["编码", "名称", "经度", "纬度", "户数"]
    assert rows(source) == [(2, "路口一"), (4, "路口二")]
    assert rows(source, "户数") == [(2, "12"), (4, "7")]


@pytest.fixture
def villages_gk():
    """Two villages in the CGCS2000 3-degree zone of Puyang (CM 114E)."""
    return gpd.GeoDataFrame(
        {"村代码": ["410902001001", "410902001002"], "村名": ["张庄村", "李庄村"]},
        geometry=[
            shapely.box(593000, 3959000, 594000, 3960000),
            shapely.box(594000, 3959000, 595000, 3960000),
        ],
        crs="EPSG:4547",
    )


@pytest.mark.parametrize("cpg", [True, False])
def test_gbk_shapefile_with_or_without_cpg(tmp_path, villages_gk, cpg):
    path = tmp_path / "villages.shp"
    villages_gk.to_file(path, encoding="GBK")
    if not cpg:
        (tmp_path / "villages.cpg").unlink()
    source = open_source(path)
    assert source.encoding == "gb18030"
    assert source.crs == "EPSG:4547"
    assert rows(source, "村名") == [(1, "张庄村"), (2, "李庄村")]
    chunk = next(source.chunks())
    assert chunk.geometry[0].equals(villages_gk.geometry[0])


def test_zipped_shapefile(tmp_path, villages_gk):
    villages_gk.to_file(tmp_path / "v.shp", encoding="UTF-8")
    archive = tmp_path / "villages.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for part in tmp_path.glob("v.*"):
            out.write(part, f"data/{part.name}")
    source = open_source(archive)
    assert source.encoding == "utf-8"
    assert rows(source, "村名") == [(1, "张庄村"), (2, "李庄村")]


def test_geopackage_layer_must_be_chosen(tmp_path, villages_gk):
    path = tmp_path / "county.gpkg"
    villages_gk.to_file(path, layer="villages")
    villages_gk.iloc[:1].to_file(path, layer="grids")
    with pytest.raises(InvalidInput, match="villages, grids") as error:
        open_source(path)
    assert error.value.details["field"] == "layer"
    assert rows(open_source(path, layer="grids"), "村名") == [(1, "张庄村")]
    with pytest.raises(InvalidInput, match="no layer 'roads'"):
        open_source(path, layer="roads")


@pytest.mark.parametrize(
    "name, field",
    [("missing.csv", "path"), ("notes.docx", "path")],
)
def test_unreadable_paths(tmp_path, name, field):
    if name.endswith(".docx"):
        (tmp_path / name).write_text("x")
    with pytest.raises(InvalidInput) as error:
        open_source(tmp_path / name)
    assert error.value.details["field"] == field


def test_unknown_encoding_is_named(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(HEADER)
    with pytest.raises(InvalidInput, match="klingon") as error:
        open_source(path, encoding="klingon")
    assert error.value.details["field"] == "encoding"


# -- coordinate systems -------------------------------------------------------------

PUYANG = (115.03, 35.76)


@pytest.mark.parametrize(
    "system, prefix",
    [
        ("EPSG:4547", 0),  # 3-degree CM 114E, plain easting
        ("EPSG:4547", 38),  # ... given with the zone number in front
        ("EPSG:4526", 38),  # 3-degree zone 38, prefixed easting
        ("EPSG:4526", 0),  # ... given without it
        ("EPSG:4509", 0),  # 6-degree CM 117E
        ("EPSG:4498", 20),  # 6-degree zone 20
        ("EPSG:4498", 0),
    ],
)
def test_gauss_kruger_with_or_without_zone_prefix(system, prefix):
    plain = {"EPSG:4526": "EPSG:4547", "EPSG:4498": "EPSG:4509"}.get(system, system)
    x, y = crs.from_wgs84(*PUYANG, plain)
    lon, lat = coords.to_wgs84(np.array([x + prefix * 1e6]), np.array([y]), system)
    assert (lon[0], lat[0]) == pytest.approx(PUYANG, abs=1e-8)


def test_a_zone_prefix_that_contradicts_the_crs_is_refused():
    x, y = crs.from_wgs84(*PUYANG, "EPSG:4547")
    with pytest.raises(InvalidInput, match="39") as error:
        coords.to_wgs84(np.array([x + 39e6]), np.array([y]), "EPSG:4547")
    assert error.value.details["field"] == "crs"


def test_metres_without_a_crs_are_refused_with_a_hint():
    x, y = crs.from_wgs84(*PUYANG, "EPSG:4547")
    with pytest.raises(InvalidInput, match="EPSG:4526") as error:
        coords.choose_crs(None, None, [x + 38e6], [y])
    assert error.value.details["field"] == "crs"
    with pytest.raises(InvalidInput, match="EPSG:4547"):
        coords.choose_crs(None, None, [x], [y])


def test_crs_choice():
    system, note = coords.choose_crs(None, None, [115.0], [35.0])
    assert system == "wgs84" and "--crs gcj02" in note
    assert coords.choose_crs("EPSG:4547", None, [1e5], [4e6]) == ("EPSG:4547", None)
    system, note = coords.choose_crs("EPSG:4326", "GCJ-02", [115.0], [35.0])
    assert system == "gcj02" and "EPSG:4326" in note
    with pytest.raises(InvalidInput) as error:
        coords.choose_crs(None, "mars", [115.0], [35.0])
    assert error.value.details["field"] == "crs"


def test_point_checks():
    district = shapely.box(114.9, 35.6, 115.2, 35.9)
    lon = np.array([115.0, 35.7, np.nan, 116.1, 115.1])
    lat = np.array([35.7, 115.0, 35.7, 35.7, 35.8])
    problems = coords.check_points(lon, lat, district)
    assert [(i, reason.split(" / ")[1]) for i, _field, reason in problems] == [
        (1, "longitude and latitude look swapped"),
        (2, "coordinates are not valid numbers"),
        (3, "point outside the district(s) loaded"),
    ]
    assert coords.check_points(lon[[0, 3]], lat[[0, 3]], None) == []
