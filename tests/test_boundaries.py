"""Tests for gis.boundaries: the shipped real outlines of 华龙区 and 濮阳市.

No database needed.  Points are WGS84 (lon, lat).
"""

from __future__ import annotations

import json

import pytest
import shapely
from pyproj import Geod
from shapely import GeometryCollection, LineString, MultiPolygon, Point, Polygon
from shapely.geometry import shape

from gis import boundaries, crs
from gis.boundaries import load_outline

GEOD = Geod(ellps="WGS84")

HUALONG = "410902"
PUYANG = "410900"


def area_km2(geom) -> float:
    """Return the geodesic area of a lon/lat geometry in square kilometres."""
    area, _ = GEOD.geometry_area_perimeter(geom)
    return abs(area) / 1e6


@pytest.mark.parametrize("code", [HUALONG, PUYANG])
def test_outline_is_valid_multipolygon(code):
    outline = load_outline(code)
    assert isinstance(outline, MultiPolygon)
    assert outline.is_valid and not outline.is_empty


@pytest.mark.parametrize(
    ("point", "in_hualong", "in_puyang"),
    [
        ((115.07, 35.77), True, True),  # Hualong urban area, ~4 km inside
        ((115.03, 35.62), False, True),  # Puyang County, south of Hualong
        ((115.10, 35.90), False, True),  # Qingfeng County, north of Hualong
        ((115.87, 35.97), False, True),  # Taiqian County, far east
        ((114.39, 36.10), False, False),  # Anyang, the neighbouring city
    ],
)
def test_known_points(point, in_hualong, in_puyang):
    assert load_outline(HUALONG).contains(Point(point)) is in_hualong
    assert load_outline(PUYANG).contains(Point(point)) is in_puyang


def test_hualong_area_is_plausible():
    # The outline gives ~384 km², matching the ~380 km² usually quoted for the
    # city's urban district (市区); some sources quote less because parts are
    # administered by development zones.
    assert 300 < area_km2(load_outline(HUALONG)) < 420


def test_puyang_area_is_plausible():
    # Official figures: 4188 km² (city government) to 4271 km² (yearbook).
    assert 4100 < area_km2(load_outline(PUYANG)) < 4350


def test_hualong_lies_inside_puyang():
    hualong, puyang = load_outline(HUALONG), load_outline(PUYANG)
    assert hualong.difference(puyang).area / hualong.area < 1e-6


def test_outline_is_converted_from_gcj02():
    """The shipped file is GCJ-02; the loaded outline must be shifted to WGS84."""
    path = boundaries.BOUNDARY_DIR / boundaries.OUTLINE_FILES[HUALONG]
    raw = shape(json.loads(path.read_text(encoding="utf-8")))
    raw_xy = shapely.get_coordinates(raw)
    loaded_xy = shapely.get_coordinates(load_outline(HUALONG))
    assert raw_xy.shape == loaded_xy.shape
    expected = crs.gcj02_to_wgs84(raw_xy[:, 0], raw_xy[:, 1])
    assert loaded_xy[:, 0] == pytest.approx(expected[0], abs=1e-12)
    assert loaded_xy[:, 1] == pytest.approx(expected[1], abs=1e-12)
    # GCJ-02 moves Puyang by roughly 500 m, mostly westwards on the way back.
    shift_m = GEOD.inv(*raw_xy[0], *loaded_xy[0])[2]
    assert 300 < shift_m < 700


@pytest.mark.parametrize("code", ["410901", "110000", "", "hualong", 410902, None])
def test_unknown_code_rejected(code):
    with pytest.raises(ValueError, match=r"'410902', '410900'") as info:
        load_outline(code)
    assert repr(code) in str(info.value)


@pytest.mark.parametrize(
    ("geom", "n_polygons"),
    [
        (Polygon([(0, 0), (1, 0), (1, 1), (0, 1)]), 1),  # valid, becomes multi
        (Polygon([(0, 0), (2, 2), (2, 0), (0, 2)]), 2),  # bow-tie: split in two
        (
            GeometryCollection(
                [Polygon([(0, 0), (1, 0), (1, 1)]), LineString([(5, 5), (6, 6)])]
            ),
            1,  # stray line dropped
        ),
    ],
    ids=["valid", "bow-tie", "collection-with-line"],
)
def test_repair_keeps_only_valid_polygons(geom, n_polygons):
    repaired = boundaries._as_valid_multipolygon(geom)
    assert isinstance(repaired, MultiPolygon) and repaired.is_valid
    assert len(repaired.geoms) == n_polygons
