"""Recognising planners' column names and parsing their values."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from gis.errors import InvalidInput
from gis.ingest import fields

BEIJING_0830 = datetime(2025, 3, 1, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "columns, layer, expected",
    [
        (["编码", "名称", "类型", "经度", "纬度"], "posts",
         {"code": "编码", "name": "名称", "kind": "类型", "lon": "经度",
          "lat": "纬度"}),
        (["Code", "Name", "Kind", "LNG", "Lat"], "sites",
         {"code": "Code", "name": "Name", "kind": "Kind", "lon": "LNG", "lat": "Lat"}),
        (["编号", "事件类型", "上报时间", "经度(°)", "纬度（°）", "状态"], "incidents",
         {"code": "编号", "category": "事件类型", "reported_at": "上报时间",
          "lon": "经度(°)", "lat": "纬度（°）", "status": "状态"}),
        (["区划代码", "村名", "人口", "户数", "边界"], "villages",
         {"code": "区划代码", "name": "村名", "population": "人口",
          "households": "户数", "wkt": "边界"}),
    ],
)  # fmt: skip
def test_common_column_names_are_recognised(columns, layer, expected):
    assert fields.match_columns(columns, layer) == expected


def test_explicit_map_comes_first():
    mapping = fields.parse_mapping(["name=警务室名", "code=编号"])
    found = fields.match_columns(
        ["编号", "警务室名", "名称", "类型", "X", "Y"], "posts", mapping
    )
    assert found["name"] == "警务室名" and found["code"] == "编号"
    assert (found["lon"], found["lat"]) == ("X", "Y")


@pytest.mark.parametrize(
    "columns, mapping, field, words",
    [
        (["编码", "名称", "经度", "纬度"], None, "kind", "--map kind="),
        (["编码", "名称"], ["colour=名称"], "map", "unknown --map target"),
        (["编码", "名称"], ["name=村名"], "map", "no column '村名'"),
        (["编码"], ["name"], "map", "target=source"),
    ],
)
def test_column_errors_say_what_to_do(columns, mapping, field, words):
    with pytest.raises(InvalidInput, match=words) as error:
        fields.match_columns(columns, "posts", fields.parse_mapping(mapping))
    assert error.value.details["field"] == field


def test_unknown_layer():
    with pytest.raises(InvalidInput, match="roads") as error:
        fields.match_columns(["a"], "roads")
    assert error.value.details["field"] == "layer"


def test_values_are_typed_and_problems_named():
    columns = {
        "编号": ["A1", "A2", "A3", ""],
        "事件类型": ["邻里纠纷", "dispute_debt", "外星人", "CASE"],
        "上报时间": ["2025-03-01 08:30", "2025/3/1 8:30", "昨天", "2025-03-01T00:30Z"],
        "经度": ["115.03", "abc", "", "1e400"],
        "纬度": ["35.7", "35.7", "35.7", "35.7"],
    }
    matched = fields.match_columns(list(columns), "incidents")
    values, problems = fields.parse_chunk(columns, matched, "incidents")
    assert list(values["category"]) == [
        "dispute_neighbour",
        "dispute_debt",
        None,
        "case",
    ]
    assert list(values["reported_at"]) == [
        BEIJING_0830,
        BEIJING_0830,
        None,
        BEIJING_0830,
    ]
    assert values["lon"][0] == 115.03
    assert [(i, field) for i, field, _reason in problems] == [
        (1, "lon"), (2, "category"), (2, "lon"), (2, "reported_at"), (3, "code"),
        (3, "lon"),
    ]  # fmt: skip
    reasons = {(i, f): r for i, f, r in problems}
    assert "is empty" in reasons[(2, "lon")] and "is empty" in reasons[(3, "code")]
    assert (
        "外星人" in reasons[(2, "category")] and "邻里纠纷" in reasons[(2, "category")]
    )


@pytest.mark.parametrize(
    "field, value, ok",
    [("population", "1,200", True), ("population", "12.5", False),
     ("population", "-3", False), ("households", "", True)],
)  # fmt: skip
def test_integer_limits(field, value, ok):
    columns = {"编码": ["1"], "名称": ["村"], field: [value]}
    # The attributes of a Shapefile: its polygons are the geometry, not a column.
    matched = fields.match_columns(list(columns), "villages", has_geometry=True)
    _values, problems = fields.parse_chunk(columns, matched, "villages")
    assert (problems == []) is ok


@pytest.mark.parametrize(
    "text",
    ["2025-03-01 08:30", "2025/3/1 8:30", "2025.3.1 8:30", "2025.03.01 08:30:00",
     "2025年3月1日 8:30", "2025年3月1日8时30分", "2025年03月01日 08时30分00秒",
     "２０２５－０３－０１ ０８：３０", "２０２５年３月１日 ８时３０分"],
)  # fmt: skip
def test_times_typed_by_hand(text):
    columns = {"编号": ["A1"], "事件类型": ["邻里纠纷"], "上报时间": [text],
               "经度": ["115"], "纬度": ["35"]}  # fmt: skip
    matched = fields.match_columns(list(columns), "incidents")
    values, problems = fields.parse_chunk(columns, matched, "incidents")
    assert problems == [] and list(values["reported_at"]) == [BEIJING_0830]


@pytest.mark.parametrize(
    "text", ["2025.13.1", "2025年3月32日", "3月1日", "2025年3月1日 25时"]
)
def test_times_that_are_not_read(text):
    columns = {"编号": ["A1"], "事件类型": ["邻里纠纷"], "上报时间": [text],
               "经度": ["115"], "纬度": ["35"]}  # fmt: skip
    matched = fields.match_columns(list(columns), "incidents")
    _, problems = fields.parse_chunk(columns, matched, "incidents")
    assert [
        (field, "2025年3月1日 8时30分" in reason) for _, field, reason in problems
    ] == [("reported_at", True)]


DMS = 114 + 18 / 60 + 30.5 / 3600


@pytest.mark.parametrize(
    "text, axis, expected",
    [("114.3085", "lon", 114.3085), ("114.3085°", "lon", 114.3085),
     ("１１４．３０８５", "lon", 114.3085), ("-114.5", "lon", -114.5),
     ("114°18′30.5″", "lon", DMS), ("114°18'30.5\"", "lon", DMS),
     ("114°18′30.5″E", "lon", DMS), ("E 114°18′30.5″", "lon", DMS),
     ("东经114度18分30.5秒", "lon", DMS), ("114 18 30.5", "lon", DMS),
     ("１１４°１８′３０．５″", "lon", DMS), ("114°18′30.5″W", "lon", -DMS),
     ("114°18.5'", "lon", 114 + 18.5 / 60), ("北纬30度30分", "lat", 30.5),
     ("30 30.6 S", "lat", -30.51), ("s30°30'", "lat", -30.5)],
)  # fmt: skip
def test_angles_typed_by_hand(text, axis, expected):
    assert fields.parse_angle(text, axis) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    "text, axis",
    [("114°61'", "lon"),  # minutes from 0 to 59
     ("114°18′60″", "lon"), ("114.5°18'", "lon"),  # decimals only at the end
     ("114°18.5′30″", "lon"), ("30°30'N", "lon"),  # a latitude's hemisphere
     ("114°E", "lat"), ("-E114", "lon"),  # a sign and a hemisphere
     ("114d18m30.5s", "lon"),  # s would read as south
     ("114°18′30.5″东", "lon"), ("abc", "lon"), ("E", "lon"), ("", "lon")],
)  # fmt: skip
def test_angles_that_are_not_read(text, axis):
    assert math.isnan(fields.parse_angle(text, axis))


def test_coordinates_in_dms_and_full_width_numbers_parse_in_a_chunk():
    columns = {
        "编码": ["P1", "P2", "P3", "P4"],
        "名称": ["一", "二", "三", "四"],
        "类型": ["警务室"] * 4,
        "人数": ["３", "1,200", "１，２００", "3"],
        "经度": ["东经114°18′30.5″", "114.3085", "114°61′", "30°30′N"],
        "纬度": ["北纬30度30分", "30.5", "30.5", "114°E"],
    }
    matched = fields.match_columns(list(columns), "posts")
    values, problems = fields.parse_chunk(columns, matched, "posts")
    assert values["lon"][:2].tolist() == [pytest.approx(DMS), 114.3085]
    assert values["lat"][:2].tolist() == [30.5, 30.5]
    assert values["staff"].tolist() == [3, 1200, 1200, 3]
    assert [(i, field) for i, field, _ in problems] == [
        (2, "lon"),
        (3, "lat"),
        (3, "lon"),
    ]
    reason = dict(((i, f), r) for i, f, r in problems)[(2, "lon")]
    assert "114°61′" in reason and "below 60" in reason and "E/W" in reason


def test_report_is_json_and_an_excel_friendly_csv(tmp_path):
    from gis.ingest.report import Report

    report = Report(layer="posts", path="posts.csv", mode="lenient", read=3)
    report.add(3, "lon", "点不在辖区内 / point outside the district(s) loaded")
    report.add(None, None, "村界重叠 / villages overlap", severity="warning",
               location=(115.0, 35.7), area_m2=12.5)  # fmt: skip
    report.loaded, report.rejected, report.status = 2, 1, "loaded"
    assert report.summary() == "已导入 loaded: posts read 3 = loaded 2 + rejected 1"
    assert report.rejected_rows() == {3}
    json_path, csv_path = report.write(tmp_path / "r.json")
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[1].startswith("3,lon,error,点不在辖区内")
    assert lines[2].endswith("115.0,35.7,12.5")
    assert '"rejected": 1' in json_path.read_text(encoding="utf-8")
