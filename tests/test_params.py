"""gis.params: what users send, parsed or refused with the field named.

No database and no Flask: these are the functions every view and command relies
on to turn hostile input into a 400 instead of a 500 further down.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from gis import params
from gis.errors import InvalidInput


def field_of(call, *args, **kwargs) -> str:
    with pytest.raises(InvalidInput) as error:
        call(*args, **kwargs)
    return error.value.details["field"]


# -- text and JSON ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ('{"description": "a\\u0000b"}', "description"),
        ('{"description": "\\ud800"}', "description"),
        ('{"description": "\\udfff tail"}', "description"),
        ('{"points": [[1, 2], [3, 4], [5, 6], {"lon": "\\u0000"}]}', "points[3].lon"),
        ('[[1, 2], ["\\ud83d", 2]]', "body[1][0]"),
        ('"\\u0000"', "body"),
        ('{"a": {"b\\u0000c": 1}}', "a.b\\u0000c"),
        ('{"\\ud800": 1}', "\\ud800"),
    ],
)
def test_nul_and_lone_surrogates_are_refused_by_path(document, field):
    assert field_of(params.load_json, document) == field


def test_a_raw_surrogate_in_the_bytes_is_caught_too():
    # json.loads decodes bytes with surrogatepass: ED A0 80 becomes U+D800.
    assert field_of(params.load_json, b'{"note": "\xed\xa0\x80"}') == "note"
    assert field_of(params.load_json, '{"note": "\ud800"}') == "note"  # str


def test_a_backslash_before_u0000_is_only_text():
    assert params.load_json(r'["\\u0000", "\\ud800"]') == ["\\u0000", "\\ud800"]


@pytest.mark.parametrize(
    "document",
    ['{"description": "\\ud83d\\ude00 邻里纠纷"}', '["tab\\there", "é"]', "[]", "1"],
)
def test_good_text_and_pairs_pass(document):
    assert params.load_json(document) == json.loads(document)


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_deep_json_is_a_400_naming_the_body(depth):
    assert field_of(params.load_json, "[" * depth + "]" * depth) == "body"


def test_sixty_four_levels_are_enough():
    depth = params.MAX_DEPTH
    assert params.load_json("[" * depth + "]" * depth) is not None


def test_invalid_json_is_still_a_value_error():
    for text in ("{not json", b"\xff\xfe\xfd", "\ufeff{}", "1" * 5000):
        with pytest.raises(ValueError):
            params.load_json(text)


def test_query_pairs_name_the_parameter_even_a_bad_one():
    assert field_of(params.check_pairs, [("limit", "1"), ("since", "2025\x00")]) == (
        "since"
    )
    assert field_of(params.check_pairs, [("a\x00", "1")]) == "a\\u0000"
    params.check_pairs([("q", "平安"), ("file", None)])


# -- CRS, dates, times ----------------------------------------------------------------


@pytest.mark.parametrize("value", [["EPSG:4547"], {"a": 1}, True, 1.5, "mars"])
def test_crs_that_is_not_a_name(value):
    assert field_of(params.parse_crs, value) == "crs"


@pytest.mark.parametrize("value", [["2025-01-01"], 20250101, {"at": 1}, "yesterday"])
def test_date_that_is_not_a_date(value):
    assert field_of(params.parse_date, value, "at") == "at"


EXTREME_TIMES = [
    "2025-01-01T00:00:00+23:59",  # Python takes it, PostgreSQL does not
    "2025-01-01T00:00:00+15:00",  # PostgreSQL takes it, no place uses it
    "2025-01-01T00:00:00-12:01",
    "0001-01-01T00:00:00+14:00",  # year 0 in UTC
    "9999-12-31T23:59:59-12:00",  # year 10000 in UTC
    "0001-01-01T00:00:00",  # Beijing time: also before year 1 in UTC
]


@pytest.mark.parametrize("text", EXTREME_TIMES)
def test_extreme_offsets_and_ends_of_time_are_refused(text):
    assert field_of(params.parse_time, text, "since") == "since"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-01T08:00:00", datetime(2025, 1, 1, tzinfo=UTC)),  # Beijing
        ("2025-01-01T00:00:00Z", datetime(2025, 1, 1, tzinfo=UTC)),
        ("2025-01-01T14:00:00+14:00", datetime(2025, 1, 1, tzinfo=UTC)),
        ("2024-12-31T12:00:00-12:00", datetime(2025, 1, 1, tzinfo=UTC)),
        ("9999-12-31T23:59:59Z", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_times_come_back_in_utc(text, expected):
    assert params.parse_time(text, "since") == expected


@pytest.mark.parametrize("value", [["2025-01-01"], 1735689600, True, "x" * 10_000])
def test_time_that_is_not_text(value):
    assert field_of(params.parse_time, value, "reported_at") == "reported_at"


def test_time_bounds_are_inclusive():
    now = datetime(2026, 6, 1, tzinfo=UTC)
    bounds = {"earliest": params.FOUNDING, "latest": now}
    founding = "1949-10-01T00:00:00+08:00"
    assert params.parse_time(founding, "t", **bounds) == params.FOUNDING
    assert params.parse_time("2026-06-01T08:00:00", "t", **bounds) == now
    for late in ("1949-09-30T23:59:59+08:00", "2026-06-01T08:00:01"):
        assert field_of(params.parse_time, late, "t", **bounds) == "t"


# -- coordinates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("crs", "x", "y"),
    [
        ("EPSG:4547", 1e308, 1e308),  # non-finite after the projection
        ("EPSG:4547", 1e7, 1e7),  # lands in the Pacific, far from CM 114E
        ("EPSG:3857", 5e5, 1e12),  # clamped to the pole: does not map back
        ("EPSG:3857", 1e300, 1e300),
        ("EPSG:4526", 5e5, 3.9e6),  # zone-prefixed series without the prefix
        ("EPSG:4214", 1e308, 1e308),  # a geographic EPSG takes degrees only
        ("EPSG:4214", 100.0, 95.0),
        ("gcj02", 100.0, 70.0),
    ],
)
def test_absurd_coordinates_are_refused(crs, x, y):
    assert field_of(params.to_storage, [x], [y], crs) in ("lon", "lat")


def test_a_projected_point_near_its_zone_converts():
    lon, lat = params.to_storage([500_000.0], [3_958_000.0], "EPSG:4547")
    assert lon[0] == pytest.approx(114.0) and 35.0 < lat[0] < 36.0
    # A neighbouring zone's county, a degree past the edge, is still served.
    lon, _ = params.to_storage([800_000.0], [3_958_000.0], "EPSG:4547")
    assert 117.0 < lon[0] < 118.0


def test_batch_fields_name_the_bad_point():
    lons, lats = [500_000.0] * 3 + [1e7], [3_958_000.0] * 4
    fields = params.point_fields(4)
    assert field_of(params.to_storage, lons, lats, "EPSG:4547", fields) == (
        "points[3].lon"
    )


@pytest.mark.parametrize(
    ("lon", "lat", "field"),
    [(100.0, 70.0, "lat"), (-70.0, 40.0, "lon"), (140.0, 35.0, "lon")],
)
def test_outside_china_is_refused_where_it_must_be(lon, lat, field):
    assert field_of(params.check_in_china, np.array([lon]), np.array([lat])) == field
    params.check_in_china(np.array([115.03]), np.array([35.76]))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"points": "115,35"}, "points"),
        ({"type": "FeatureCollection", "features": {"a": 1}}, "features"),
        ({"type": "FeatureCollection", "features": [1]}, "features[0].geometry"),
        (
            {"type": "FeatureCollection", "features": [{"geometry": [115, 35]}]},
            "features[0].geometry",
        ),
        ([[115, 35], "115,35"], "points[1]"),
        ("115,35", "body"),
    ],
)
def test_points_in_the_wrong_shape(body, field):
    assert field_of(params.parse_points, body) == field


def test_utc_offsets_span_the_earth():
    assert params.OFFSETS == (timedelta(hours=-12), timedelta(hours=14))
