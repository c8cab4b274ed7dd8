"""Tests for gis.crs: GCJ-02/BD-09 conversions, dispatch, parsing, zones.

No database needed.  ``prcoords`` (CC0, an independent implementation) is used
as an oracle only; it works on one ``(lat, lon)`` point at a time.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import prcoords
import pytest
import shapely
from pyproj import CRS, Geod
from shapely import MultiPolygon, Point, Polygon

from gis import crs

GEOD = Geod(ellps="WGS84")

# Inside China's GCJ-02 box but away from its edges, where the shift is defined.
LON_RANGE = (73.6, 134.7)
LAT_RANGE = (18.2, 53.5)

PUYANG = (115.03, 35.76)
OUTSIDE_CHINA = [
    (2.3522, 48.8566),  # Paris
    (-74.006, 40.7128),  # New York
    (139.6917, 35.6895),  # Tokyo: east of the box
    (151.2093, -33.8688),  # Sydney: southern hemisphere
    (100.0, 0.5),  # south of the box
    (71.9, 40.0),  # just west of the box
]


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Return geodesic distances in metres between two sets of points."""
    shape = np.shape(lon1)
    _, _, dist = GEOD.inv(
        np.ravel(lon1), np.ravel(lat1), np.ravel(lon2), np.ravel(lat2)
    )
    return np.reshape(dist, shape)


@pytest.fixture(scope="module")
def china_grid() -> tuple[np.ndarray, np.ndarray]:
    """Return a 100 x 100 grid of WGS84 points across China (10,000 points)."""
    lon, lat = np.meshgrid(np.linspace(*LON_RANGE, 100), np.linspace(*LAT_RANGE, 100))
    return lon, lat


@pytest.fixture(scope="module")
def sample_points() -> list[tuple[float, float]]:
    """Return 400 pseudo-random points across China for the scalar oracle."""
    rng = np.random.default_rng(20240601)
    lon = rng.uniform(*LON_RANGE, 400)
    lat = rng.uniform(*LAT_RANGE, 400)
    return list(zip(lon.tolist(), lat.tolist(), strict=True))


# --- round trips -------------------------------------------------------------


def test_gcj02_inverse_round_trip_under_1cm(china_grid):
    lon, lat = china_grid
    gcj_lon, gcj_lat = crs.wgs84_to_gcj02(lon, lat)
    # Inverse first, then forward: the property the iteration guarantees.
    back_lon, back_lat = crs.wgs84_to_gcj02(*crs.gcj02_to_wgs84(gcj_lon, gcj_lat))
    assert metres(gcj_lon, gcj_lat, back_lon, back_lat).max() < 0.01
    # And the other way round: recovers the original WGS84 points.
    wgs_lon, wgs_lat = crs.gcj02_to_wgs84(gcj_lon, gcj_lat)
    assert metres(lon, lat, wgs_lon, wgs_lat).max() < 0.01


def test_gcj02_shift_is_hundreds_of_metres(china_grid):
    """Guards against a silently disabled transform (e.g. a broken China test)."""
    lon, lat = china_grid
    shift = metres(lon, lat, *crs.wgs84_to_gcj02(lon, lat))
    assert 1.0 < shift.min() and shift.max() < 1500.0


def test_bd09_inverse_round_trip_under_1cm(china_grid):
    lon, lat = china_grid
    bd_lon, bd_lat = crs.gcj02_to_bd09(lon, lat)
    gcj_lon, gcj_lat = crs.bd09_to_gcj02(bd_lon, bd_lat)
    assert metres(lon, lat, gcj_lon, gcj_lat).max() < 0.01
    back_lon, back_lat = crs.gcj02_to_bd09(gcj_lon, gcj_lat)
    assert metres(bd_lon, bd_lat, back_lon, back_lat).max() < 0.01


def test_bd09_wgs84_round_trip_under_1cm(china_grid):
    lon, lat = china_grid
    wgs_lon, wgs_lat = crs.bd09_to_wgs84(*crs.wgs84_to_bd09(lon, lat))
    assert metres(lon, lat, wgs_lon, wgs_lat).max() < 0.01


# --- agreement with the independent prcoords implementation -----------------

# (ours, prcoords function): prcoords takes and returns (lat, lon).
ORACLE_PAIRS = [
    (crs.wgs84_to_gcj02, prcoords.wgs_gcj),
    (crs.gcj02_to_wgs84, prcoords.gcj_wgs_bored),
    (crs.gcj02_to_bd09, prcoords.gcj_bd),
    (crs.bd09_to_gcj02, prcoords.bd_gcj_bored),
    (crs.wgs84_to_bd09, prcoords.wgs_bd),
    (crs.bd09_to_wgs84, prcoords.bd_wgs_bored),
]


@pytest.mark.parametrize(
    ("ours", "oracle"), ORACLE_PAIRS, ids=[p[0].__name__ for p in ORACLE_PAIRS]
)
def test_agrees_with_prcoords(ours, oracle, sample_points):
    lon = np.array([p[0] for p in sample_points])
    lat = np.array([p[1] for p in sample_points])
    got_lon, got_lat = ours(lon, lat)
    expected = np.array([oracle((y, x)) for x, y in sample_points])
    assert metres(got_lon, got_lat, expected[:, 1], expected[:, 0]).max() < 0.5


def test_puyang_shift_matches_prcoords_exactly():
    lat, lon = prcoords.wgs_gcj((PUYANG[1], PUYANG[0]))
    assert crs.wgs84_to_gcj02(*PUYANG) == pytest.approx((lon, lat), abs=1e-12)


# --- outside China ------------------------------------------------------------


@pytest.mark.parametrize("point", OUTSIDE_CHINA)
@pytest.mark.parametrize("func", [crs.wgs84_to_gcj02, crs.gcj02_to_wgs84])
def test_outside_china_unchanged(func, point):
    assert func(*point) == point


def test_mixed_array_shifts_only_points_in_china():
    lon = np.array([PUYANG[0], 2.3522, 116.4])
    lat = np.array([PUYANG[1], 48.8566, 39.9])
    gcj_lon, gcj_lat = crs.wgs84_to_gcj02(lon, lat)
    assert gcj_lon[1] == lon[1] and gcj_lat[1] == lat[1]
    assert np.all(
        metres(lon[[0, 2]], lat[[0, 2]], gcj_lon[[0, 2]], gcj_lat[[0, 2]]) > 100
    )
    back_lon, back_lat = crs.gcj02_to_wgs84(gcj_lon, gcj_lat)
    assert metres(lon, lat, back_lon, back_lat).max() < 0.01


# --- input kinds ----------------------------------------------------------------

ALL_POINT_FUNCS = [
    crs.wgs84_to_gcj02,
    crs.gcj02_to_wgs84,
    crs.gcj02_to_bd09,
    crs.bd09_to_gcj02,
    crs.wgs84_to_bd09,
    crs.bd09_to_wgs84,
]


@pytest.mark.parametrize("func", ALL_POINT_FUNCS, ids=lambda f: f.__name__)
def test_scalar_in_float_out(func):
    for lon, lat in [PUYANG, (115, 35), (np.float64(115.03), np.float32(35.76))]:
        out = func(lon, lat)
        assert isinstance(out, tuple) and len(out) == 2
        assert all(type(v) is float for v in out)


@pytest.mark.parametrize("func", ALL_POINT_FUNCS, ids=lambda f: f.__name__)
def test_array_matches_scalar(func):
    lon = np.array([[115.03, 116.4], [121.47, 104.07]])
    lat = np.array([[35.76, 39.9], [31.23, 30.67]])
    out_lon, out_lat = func(lon, lat)
    assert out_lon.shape == out_lat.shape == (2, 2)
    for i in np.ndindex(lon.shape):
        assert (out_lon[i], out_lat[i]) == pytest.approx(
            func(lon[i], lat[i]), abs=1e-12
        )


def test_lists_and_broadcasting():
    out_lon, out_lat = crs.wgs84_to_gcj02([115.0, 115.1, 115.2], 35.7)
    assert isinstance(out_lon, np.ndarray) and out_lon.shape == (3,)
    assert out_lat.shape == (3,)


def test_nan_stays_nan_and_does_not_block_others():
    lon = np.array([np.nan, PUYANG[0]])
    lat = np.array([np.nan, PUYANG[1]])
    out_lon, out_lat = crs.gcj02_to_wgs84(lon, lat)
    assert np.isnan(out_lon[0]) and np.isnan(out_lat[0])
    assert crs.wgs84_to_gcj02(out_lon[1], out_lat[1]) == pytest.approx(PUYANG, abs=1e-9)


def test_empty_array():
    out_lon, out_lat = crs.bd09_to_wgs84(np.array([]), np.array([]))
    assert out_lon.shape == out_lat.shape == (0,)


# --- parse_crs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("WGS84", "wgs84"),
        ("wgs-84", "wgs84"),
        ("WGS 84", "wgs84"),
        ("epsg:4326", "wgs84"),
        ("EPSG:4326", "wgs84"),
        ("4326", "wgs84"),
        (4326, "wgs84"),
        ("GCJ02", "gcj02"),
        ("gcj-02", "gcj02"),
        ("GCJ_02", "gcj02"),
        (" gcj02 ", "gcj02"),
        ("bd09", "bd09"),
        ("BD-09", "bd09"),
        ("bd09ll", "bd09"),
        ("CGCS2000", "EPSG:4490"),
        ("epsg:4490", "EPSG:4490"),
        ("EPSG:4547", "EPSG:4547"),
        ("4547", "EPSG:4547"),
        ("EPSG:3857", "EPSG:3857"),
    ],
)
def test_parse_crs_accepts(text, expected):
    assert crs.parse_crs(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "mars",
        "gcj03",
        "bd09mc",  # Baidu Mercator metres: not supported
        "EPSG:",
        "EPSG:abc",
        "EPSG:99999",  # no such code
        "EPSG:5773",  # a vertical CRS
        "4326.0",
        None,
        True,
    ],
)
def test_parse_crs_rejects(text):
    with pytest.raises(ValueError, match="unknown coordinate system") as info:
        crs.parse_crs(text)
    assert repr(text) in str(info.value)
    assert "gcj02" in str(info.value) and "EPSG:<code>" in str(info.value)


NOT_A_NAME = {
    "list": ["EPSG:4547"],
    "dict": {"crs": "wgs84"},
    "tuple": ("wgs84",),
    "float": 4547.0,
    "bytes": b"wgs84",
    "long-text": "EPSG:4547" * 1000,
    "huge-int": 10**400,
    "negative": -4547,
}


@pytest.mark.parametrize("value", NOT_A_NAME.values(), ids=NOT_A_NAME.keys())
def test_parse_crs_rejects_what_is_not_a_name(value):
    """A JSON body may put anything where a CRS belongs: a ValueError, never a
    TypeError from the cache (a list is unhashable), never a megabyte echoed."""
    with pytest.raises(ValueError, match="unknown coordinate system") as info:
        crs.parse_crs(value)
    assert len(str(info.value)) < 400


@pytest.mark.parametrize(
    ("point", "inside"),
    [
        (PUYANG, True),
        ((100.0, 70.0), False),  # Siberia
        ((-156.0, 25.3), False),  # where 1e7 m east of CM 114E lands
        ((float("nan"), 35.0), False),
        (OUTSIDE_CHINA[4], False),
    ],
)
def test_in_china(point, inside):
    assert bool(crs.in_china(*point)) is inside
    lon, lat = np.array([point[0], PUYANG[0]]), np.array([point[1], PUYANG[1]])
    assert crs.in_china(lon, lat).tolist() == [inside, True]


@pytest.mark.parametrize(
    ("name", "geographic", "area"),
    [
        ("wgs84", True, None),
        ("bd09", True, None),
        ("EPSG:4214", True, None),  # Beijing 1954
        ("CGCS2000", True, None),
        ("EPSG:4547", False, (112.5, 21.52, 115.5, 45.45)),
        ("EPSG:3857", False, (-180.0, -85.06, 180.0, 85.06)),
    ],
)
def test_geographic_or_projected_and_where_used(name, geographic, area):
    assert crs.is_geographic(name) is geographic
    assert crs.area_of_use(name) == area


# --- to_wgs84 / from_wgs84 --------------------------------------------------------


@pytest.mark.parametrize("name", ["wgs84", "EPSG:4326", "CGCS2000", "EPSG:4490"])
def test_wgs84_and_cgcs2000_pass_through(name):
    assert crs.to_wgs84(*PUYANG, name) == PUYANG
    assert crs.from_wgs84(*PUYANG, name) == PUYANG
    lon = np.array([115.0, 116.0])
    out_lon, _ = crs.to_wgs84(lon, np.array([35.0, 36.0]), name)
    assert out_lon is not lon and np.array_equal(out_lon, lon)


@pytest.mark.parametrize(
    ("name", "to_func"),
    [("gcj02", crs.gcj02_to_wgs84), ("BD-09", crs.bd09_to_wgs84)],
)
def test_to_wgs84_dispatches_to_obfuscation_inverse(name, to_func):
    assert crs.to_wgs84(*PUYANG, name) == to_func(*PUYANG)


@pytest.mark.parametrize("name", ["gcj02", "bd09", "EPSG:4547", "EPSG:4526"])
def test_from_then_to_wgs84_round_trip(name):
    x, y = crs.from_wgs84(*PUYANG, name)
    assert crs.to_wgs84(x, y, name) == pytest.approx(PUYANG, abs=1e-9)


def test_gauss_kruger_plane_coordinates():
    # On the central meridian the false easting is exactly 500 km.
    easting, northing = crs.from_wgs84(114.0, 35.76, "EPSG:4547")
    assert easting == pytest.approx(500_000.0, abs=1e-6)
    assert 3_950_000 < northing < 3_970_000
    prefixed, _ = crs.from_wgs84(114.0, 35.76, "EPSG:4526")
    assert prefixed == pytest.approx(38_500_000.0, abs=1e-6)


def test_to_wgs84_rejects_unknown_crs():
    with pytest.raises(ValueError, match=r"'baidu-mercator'.*expected wgs84"):
        crs.to_wgs84(*PUYANG, "baidu-mercator")


# --- gauss_kruger_epsg -----------------------------------------------------------


def test_gauss_kruger_puyang():
    code = crs.gauss_kruger_epsg(115.03)
    assert code == 4547
    assert CRS.from_epsg(code).name == "CGCS2000 / 3-degree Gauss-Kruger CM 114E"
    prefixed = crs.gauss_kruger_epsg(115.03, zone_prefix=True)
    assert prefixed == 4526
    assert CRS.from_epsg(prefixed).name == "CGCS2000 / 3-degree Gauss-Kruger zone 38"


@pytest.mark.parametrize("central_meridian", range(75, 136, 3))
def test_gauss_kruger_every_zone(central_meridian):
    for lon in (central_meridian - 1.49, central_meridian, central_meridian + 1.49):
        if not 73.5 <= lon <= 135:
            continue
        plain = CRS.from_epsg(crs.gauss_kruger_epsg(lon)).name
        assert plain.endswith(f"CM {central_meridian}E")
        prefixed = CRS.from_epsg(crs.gauss_kruger_epsg(lon, zone_prefix=True)).name
        assert prefixed.endswith(f"zone {central_meridian // 3}")


def test_gauss_kruger_range_ends():
    assert crs.gauss_kruger_epsg(73.5) == 4534  # CM 75E
    assert crs.gauss_kruger_epsg(135.0) == 4554  # CM 135E
    assert crs.gauss_kruger_epsg(115.5) == 4548  # half-way goes east: CM 117E


@pytest.mark.parametrize("lon", [73.4, 135.01, -115.03, float("nan"), 0.0])
def test_gauss_kruger_rejects_bad_longitude(lon):
    with pytest.raises(ValueError, match=re.escape(f"longitude {lon!r}")):
        crs.gauss_kruger_epsg(lon)


# --- transform_geometry ----------------------------------------------------------


def test_transform_geometry_polygon_gcj02():
    shell = [(115.0, 35.7), (115.1, 35.7), (115.1, 35.8), (115.0, 35.8), (115.0, 35.7)]
    hole = [(115.04, 35.74), (115.06, 35.74), (115.06, 35.76), (115.04, 35.74)]
    polygon = Polygon(shell, [hole])
    result = crs.transform_geometry(polygon, "gcj02")
    assert result.geom_type == "Polygon" and len(result.interiors) == 1
    coords = shapely.get_coordinates(polygon)
    expected = np.column_stack(crs.gcj02_to_wgs84(coords[:, 0], coords[:, 1]))
    np.testing.assert_allclose(shapely.get_coordinates(result), expected, atol=1e-12)
    assert result.is_valid
    # Not a pure shift: the sin(6*pi*x) wobble stretches lengths by up to ~0.3 %.
    assert result.area == pytest.approx(polygon.area, rel=1e-2)
    assert result.area != pytest.approx(polygon.area, rel=1e-4)


def test_transform_geometry_keeps_type_and_structure():
    multi = MultiPolygon(
        [
            Polygon([(115, 35), (115.1, 35), (115.1, 35.1)]),
            Polygon([(116, 36), (116.1, 36), (116, 36.1)]),
        ]
    )
    result = crs.transform_geometry(multi, "bd09")
    assert result.geom_type == "MultiPolygon" and len(result.geoms) == 2
    point = crs.transform_geometry(Point(*PUYANG), "EPSG:4326")
    assert point.equals(Point(*PUYANG))


def test_transform_geometry_from_gauss_kruger():
    x, y = crs.from_wgs84(*PUYANG, "EPSG:4547")
    point = crs.transform_geometry(Point(x, y), "EPSG:4547")
    assert (point.x, point.y) == pytest.approx(PUYANG, abs=1e-9)


def test_transform_geometry_rejects_unknown_crs():
    with pytest.raises(ValueError, match="'nad27'"):
        crs.transform_geometry(Point(*PUYANG), "nad27")


def test_no_prcoords_warning_needed_for_grid():
    """The oracle warns for points outside China: make sure the samples are in."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prcoords.wgs_gcj((LAT_RANGE[0], LON_RANGE[0]))
        prcoords.wgs_gcj((LAT_RANGE[1], LON_RANGE[1]))


def test_epsg_transform_takes_arrays_and_broadcasts():
    easting, northing = crs.from_wgs84(np.array([114.0, 115.0]), 35.76, "EPSG:4547")
    assert easting.shape == northing.shape == (2,)
    lon, lat = crs.to_wgs84(easting, northing, "EPSG:4547")
    np.testing.assert_allclose(lon, [114.0, 115.0], atol=1e-9)
    np.testing.assert_allclose(lat, [35.76, 35.76], atol=1e-9)
