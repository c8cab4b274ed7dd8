"""A whole county out and back in: export every layer of the demo, import the
files into an empty database, and get the same boundaries, posts and officers.

Geometry must come back within 1e-7 degrees (about a centimetre) and every
attribute the files carry unchanged, in each of the formats a planner would
hand over: GeoPackage, a GBK Shapefile, and CSV with WKT.
"""

from __future__ import annotations

import pytest
import shapely
import sqlalchemy as sa

from gis import db
from gis.export import export_layer
from gis.ingest import import_file

# Parents before children, as an import needs them.
BOUNDARIES = ("districts", "townships", "stations", "villages", "grids")
AREAS = """
    SELECT a.kind, a.code, a.name, p.code, a.population, a.households, a.subkind,
           a.valid_from, ST_AsBinary(a.geom)
      FROM area a LEFT JOIN area p ON p.id = a.parent_id
     WHERE a.valid_to IS NULL ORDER BY a.kind, a.code"""
OFFICERS = """
    SELECT o.code, o.name, o.kind, p.code, o.phone,
           array_agg(a.code ORDER BY a.code)
      FROM officer o LEFT JOIN post p ON p.id = o.post_id
      LEFT JOIN officer_area oa ON oa.officer_id = o.id
      LEFT JOIN area a ON a.id = oa.area_id
     WHERE o.active GROUP BY o.id, p.code ORDER BY o.code"""
POSTS = """SELECT code, name, kind, staff, address, phone, ST_X(geom), ST_Y(geom)
             FROM post ORDER BY code"""


def rows(engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def same_areas(expected: list[tuple], got: list[tuple]) -> None:
    assert [r[:-1] for r in got] == [r[:-1] for r in expected]
    for want, have in zip(expected, got, strict=True):
        a, b = shapely.from_wkb(bytes(want[-1])), shapely.from_wkb(bytes(have[-1]))
        assert shapely.equals_exact(a, b, tolerance=1e-7), want[1]


@pytest.mark.parametrize(
    "suffix,encoding",
    [(".gpkg", None), (".shp", "gbk"), (".csv", None)],
    ids=["geopackage", "gbk-shapefile", "csv-wkt"],
)
def test_demo_county_round_trips(
    demo_engine, make_database, tmp_path, suffix, encoding
):
    target = db.get_engine(make_database())
    for layer in BOUNDARIES:
        path = tmp_path / f"{layer}{suffix}"
        assert export_layer(demo_engine, layer, path, encoding=encoding) > 0
        report = import_file(target, layer, path)
        assert report.status == "loaded", (layer, report.errors[:3])
        assert report.read == report.loaded
    same_areas(rows(demo_engine, AREAS), rows(target, AREAS))
    # Posts, then the officers who work from them and the villages they answer for.
    for layer in ("posts", "officers"):
        path = tmp_path / f"{layer}.csv"
        export_layer(demo_engine, layer, path)
        report = import_file(target, layer, path)
        assert report.status == "loaded", (layer, report.errors[:3])
    assert rows(target, OFFICERS) == rows(demo_engine, OFFICERS)
    posts, again = rows(demo_engine, POSTS), rows(target, POSTS)
    assert [p[:6] for p in again] == [p[:6] for p in posts]
    for want, have in zip(posts, again, strict=True):
        assert have[6:] == pytest.approx(want[6:], abs=1e-7)
    # And the same files a second time change nothing at all.
    for layer in BOUNDARIES:
        report = import_file(target, layer, tmp_path / f"{layer}{suffix}")
        assert report.unchanged == report.read, layer
