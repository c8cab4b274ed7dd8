"""Importing boundary layers and officers: generations, repairs, topology.

The world is that of ``test_assignment`` (district 100.0-100.2 E, 30.0-30.1 N;
villages 001 west of 100.1 and 002 from 100.1 to 100.18; the strip east of
100.18 is a gap), but here it arrives as files: the district as GeoJSON, the
township and station as XLSX/CSV with WKT, the villages as a GBK Shapefile in a
Gauss-Kruger zone with Chinese field names, the grids as a GeoPackage.
"""

from __future__ import annotations

import json
from datetime import date

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
import sqlalchemy as sa
from openpyxl import Workbook

from gis import crs, db, lookup, subdivide
from gis.cli import main
from gis.errors import InvalidInput
from gis.ingest import import_file
from tests.worlds import write_csv as wkt_csv

DISTRICT, TOWNSHIP, STATION = "100000000000", "100000001000", "100000510000"
V1, V2 = "100000001001", "100000001002"
G1, G2 = "100000001001001", "100000001002001"
GK = "EPSG:4543"  # CGCS2000 3-degree Gauss-Kruger, CM 102E (no zone prefix)


def box(x0, x1, y0=30.0, y1=30.1) -> shapely.Polygon:
    return shapely.box(x0, y0, x1, y1)


def table(engine, sql: str, **params) -> list:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]


def geojson(path, rows, geometries):
    gpd.GeoDataFrame(rows, geometry=geometries, crs="EPSG:4326").to_file(
        path, driver="GeoJSON"
    )
    return path


def villages_shapefile(path, rows, geometries, encoding="GBK"):
    """Villages the way a surveying bureau sends them: GBK, Gauss-Kruger."""
    frame = gpd.GeoDataFrame(rows, geometry=list(geometries), crs="EPSG:4326").to_crs(
        GK
    )
    frame.to_file(path, encoding=encoding)
    return path


def load_base(engine, tmp_path) -> None:
    """District, township and station: the parents every other layer needs."""
    district = geojson(
        tmp_path / "d.geojson", [{"code": DISTRICT, "name": "测试区"}],
        [box(100.0, 100.2)],
    )  # fmt: skip
    assert import_file(engine, "districts", district).status == "loaded"
    book = Workbook()
    sheet = book.active
    sheet.append(["代码", "名称", "上级代码", "类型", "WKT"])
    sheet.append([TOWNSHIP, "城关镇", DISTRICT, "镇", box(100.0, 100.2).wkt])
    book.save(tmp_path / "t.xlsx")
    report = import_file(engine, "townships", tmp_path / "t.xlsx")
    assert report.status == "loaded", report.findings
    stations = wkt_csv(tmp_path / "s.csv", ["code", "name", "wkt"],
                       [(STATION, "城关派出所", box(100.0, 100.2).wkt)])  # fmt: skip
    assert import_file(engine, "stations", stations).status == "loaded"


VILLAGES = [{"编码": V1, "名称": "东关村", "人口": 1200, "户数": 400, "类型": "村"},
            {"编码": V2, "名称": "西关社区", "人口": 3400, "户数": 1100,
             "类型": "社区"}]  # fmt: skip


@pytest.fixture
def engine(make_database):
    return db.get_engine(make_database())


@pytest.fixture
def world(engine, tmp_path):
    load_base(engine, tmp_path)
    path = villages_shapefile(
        tmp_path / "v.shp", VILLAGES, [box(100.0, 100.1), box(100.1, 100.18)]
    )
    report = import_file(engine, "villages", path)
    assert report.status == "loaded", report.errors
    return engine


def test_every_layer_arrives_with_names_parents_and_places(world, tmp_path):
    report_path = tmp_path / "v.report.json"
    rows = table(
        world,
        """
        SELECT a.kind, a.code, a.name, p.code, a.population, a.households,
               a.subkind, a.valid_from, a.valid_to
          FROM area a LEFT JOIN area p ON p.id = a.parent_id ORDER BY a.code""",
    )
    since = date(1949, 10, 1)
    assert rows == [
        ("district", DISTRICT, "测试区", None, None, None, None, since, None),
        ("township", TOWNSHIP, "城关镇", DISTRICT, None, None, "town", since, None),
        ("village", V1, "东关村", TOWNSHIP, 1200, 400, "village", since, None),
        ("village", V2, "西关社区", TOWNSHIP, 3400, 1100, "community", since, None),
        ("police_station", STATION, "城关派出所", DISTRICT, None, None, None,
         since, None),
    ]  # fmt: skip
    # The Gauss-Kruger round trip puts every corner back within 1e-7 degrees.
    (wkt,) = table(world, "SELECT ST_AsText(geom) FROM area WHERE code = :c", c=V1)[0]
    assert (
        shapely.equals_exact(
            shapely.from_wkt(wkt), shapely.MultiPolygon([box(100.0, 100.1)]), 1e-7
        )
        or shapely.hausdorff_distance(shapely.from_wkt(wkt), box(100.0, 100.1)) < 1e-7
    )
    assert not report_path.exists()  # no report asked for, none written
    # The lookup pieces (cut in Python, migration 0006) cover each area exactly.
    pieces = table(
        world,
        """
        SELECT a.code, count(*), max(ST_NPoints(p.geom)),
               abs(ST_Area(ST_Union(p.geom)) - ST_Area(a.geom)) / ST_Area(a.geom)
          FROM area a JOIN area_part p ON p.area_id = a.id
         GROUP BY a.id ORDER BY a.code""",
    )
    assert [p[0] for p in pieces] == [r[1] for r in rows]
    assert all(n >= 1 and vertices <= subdivide.MAX_VERTICES and share < 1e-9
               for _, n, vertices, share in pieces)  # fmt: skip


def test_gbk_gauss_kruger_villages_report_crs_encoding_and_the_gap(engine, tmp_path):
    load_base(engine, tmp_path)
    path = villages_shapefile(
        tmp_path / "v.shp", VILLAGES, [box(100.0, 100.1), box(100.1, 100.18)]
    )
    report = import_file(engine, "villages", path, tmp_path / "r.json")
    assert (report.status, report.read, report.loaded) == ("loaded", 2, 2)
    assert report.crs == GK and report.encoding == "gb18030"
    (gap,) = [f for f in report.findings if f.severity == "warning"]
    assert TOWNSHIP in gap.reason and "gap" in gap.reason
    lon, lat = gap.location
    assert 100.18 < lon < 100.2 and 30.0 < lat < 30.1
    expected = _geodesic_area(box(100.18, 100.2))
    assert gap.area_m2 == pytest.approx(expected, rel=1e-3)
    saved = (tmp_path / "r.csv").read_text(encoding="utf-8-sig")
    assert "空隙" in saved and str(round(lon, 3))[:6] in saved


def _geodesic_area(polygon) -> float:
    return abs(pyproj.Geod(ellps="WGS84").geometry_area_perimeter(polygon)[0])


def test_reimport_changes_nothing(world, tmp_path):
    path = villages_shapefile(
        tmp_path / "again.shp", VILLAGES, [box(100.0, 100.1), box(100.1, 100.18)]
    )
    before = table(world, "SELECT id, updated_at FROM area ORDER BY id")
    report = import_file(world, "villages", path)
    assert (report.read, report.loaded, report.unchanged) == (2, 2, 2)
    assert table(world, "SELECT id, updated_at FROM area ORDER BY id") == before
    assert table(world, "SELECT count(*) FROM import_batch") == [(5,)]


def test_changed_attributes_update_in_place(world, tmp_path):
    renamed = [dict(VILLAGES[0], 名称="东关新村", 人口=1300), VILLAGES[1]]
    path = villages_shapefile(
        tmp_path / "n.shp", renamed, [box(100.0, 100.1), box(100.1, 100.18)]
    )
    report = import_file(world, "villages", path)
    assert (report.loaded, report.unchanged) == (2, 1)
    assert table(
        world, "SELECT name, population, valid_to FROM area WHERE code = :c", c=V1
    ) == [("东关新村", 1300, None)]


def test_changed_boundary_opens_a_generation_and_history_keeps_its_village(
    world, tmp_path
):
    with world.begin() as conn:
        conn.execute(
            sa.text("""
            INSERT INTO incident (code, category, reported_at, geom) VALUES
            ('OLD', 'dispute_neighbour', '2025-03-01',
             ST_SetSRID(ST_MakePoint(100.12, 30.05), 4326)),
            ('NEW', 'dispute_neighbour', '2025-08-01',
             ST_SetSRID(ST_MakePoint(100.12, 30.05), 4326))""")
        )
        conn.execute(
            sa.text("""
            INSERT INTO officer (code, name, kind) VALUES ('J1', '张警官', 'police');
            INSERT INTO officer_area SELECT o.id, a.id FROM officer o, area a
             WHERE o.code = 'J1' AND a.code = :v"""),
            {"v": V2},
        )
    # Village 001 takes over the west part of 002 from 2025-06-01.
    path = villages_shapefile(
        tmp_path / "moved.shp", VILLAGES, [box(100.0, 100.15), box(100.15, 100.18)]
    )
    report = import_file(world, "villages", path, valid_from=date(2025, 6, 1))
    assert report.status == "loaded" and report.unchanged == 0
    generations = table(
        world,
        """
        SELECT code, valid_from, valid_to FROM area WHERE kind = 'village'
         ORDER BY code, valid_from""",
    )
    june = date(2025, 6, 1)
    since = date(1949, 10, 1)
    assert generations == [(V1, since, june), (V1, june, None),
                           (V2, since, june), (V2, june, None)]  # fmt: skip
    filed = table(
        world,
        """SELECT i.code, v.code, v.valid_from FROM incident i
                             JOIN area v ON v.id = i.village_id ORDER BY i.code""",
    )
    assert filed == [("NEW", V1, june), ("OLD", V2, since)]
    # The officer answers for the village, whichever generation is current.
    assert table(
        world,
        """SELECT a.valid_to FROM officer_area oa
                            JOIN area a ON a.id = oa.area_id""",
    ) == [(None,)]
    with world.connect() as conn:
        then = lookup.lookup(conn, 100.12, 30.05, at=date(2025, 3, 1))
        now = lookup.lookup(conn, 100.12, 30.05)
    assert (then["village"]["code"], now["village"]["code"]) == (V2, V1)


def test_a_generation_must_start_after_the_current_one(world, tmp_path):
    path = villages_shapefile(
        tmp_path / "early.shp", VILLAGES, [box(100.0, 100.15), box(100.15, 100.18)]
    )
    report = import_file(world, "villages", path, valid_from=date(1949, 10, 1))
    assert report.status == "rejected"
    assert {(f.row, f.field) for f in report.errors} == {(1, "valid_from"),
                                                         (2, "valid_from")}  # fmt: skip
    assert table(world, "SELECT count(*) FROM area WHERE kind = 'village'") == [(2,)]


BOW_TIE = shapely.Polygon([(100.1, 30.0), (100.18, 30.1), (100.18, 30.0),
                           (100.1, 30.1), (100.1, 30.0)])  # fmt: skip
# Two squares touching at one corner, drawn as one ring: invalid, but
# make_valid keeps every square metre.
PINCHED = shapely.Polygon([(100.1, 30.0), (100.14, 30.0), (100.14, 30.05),
                           (100.18, 30.05), (100.18, 30.1), (100.14, 30.1),
                           (100.14, 30.05), (100.1, 30.05), (100.1, 30.0)])  # fmt: skip


def test_bow_tie_strict_rejects_the_file_and_writes_nothing(engine, tmp_path):
    load_base(engine, tmp_path)
    path = villages_shapefile(tmp_path / "bow.shp", VILLAGES,
                              [box(100.0, 100.1), BOW_TIE])  # fmt: skip
    before = table(engine, "SELECT count(*) FROM area")
    report = import_file(engine, "villages", path, tmp_path / "r.json")
    assert (report.status, report.read, report.loaded, report.rejected) == (
        "rejected", 2, 0, 1)  # fmt: skip
    (error,) = report.errors
    assert (error.row, error.field) == (2, "geometry")
    assert "Self-intersection" in error.reason and "area" in error.reason
    assert table(engine, "SELECT count(*) FROM area") == before
    batches = "SELECT status, read_count, rejected_count FROM import_batch"
    assert table(engine, batches + " WHERE layer = 'villages'") == [("rejected", 2, 1)]


def test_bow_tie_lenient_loads_the_rest_and_quarantines_it(engine, tmp_path):
    load_base(engine, tmp_path)
    path = villages_shapefile(tmp_path / "bow.shp", VILLAGES,
                              [box(100.0, 100.1), BOW_TIE])  # fmt: skip
    report = import_file(engine, "villages", path, tmp_path / "r.json", lenient=True)
    assert report.status == "loaded"
    assert report.read == report.loaded + report.rejected == 2
    assert table(engine, "SELECT code FROM area WHERE kind = 'village'") == [(V1,)]
    quarantine = json.loads((tmp_path / "r.quarantine.geojson").read_text("utf-8"))
    (feature,) = quarantine["features"]
    assert feature["properties"]["名称"] == "西关社区"


def test_repairable_polygon_is_repaired_and_reported(engine, tmp_path):
    load_base(engine, tmp_path)
    path = villages_shapefile(tmp_path / "pinch.shp", VILLAGES,
                              [box(100.0, 100.1), PINCHED])  # fmt: skip
    report = import_file(engine, "villages", path)
    assert report.status == "loaded"
    (repair,) = [f for f in report.findings if f.severity == "repaired"]
    assert (repair.row, repair.field) == (2, "geometry")
    assert abs(repair.area_m2) < 1.0
    ((valid, parts, area),) = table(engine, """
        SELECT ST_IsValid(geom), ST_NumGeometries(geom), ST_Area(geom::geography)
          FROM area WHERE code = :c""", c=V2)  # fmt: skip
    assert valid and parts == 2
    assert area == pytest.approx(_geodesic_area(PINCHED.buffer(0)), rel=1e-4)


def test_row_problems_are_named_by_row_and_field(engine, tmp_path):
    load_base(engine, tmp_path)
    rows = [
        (V1, "东关村", "", box(100.0, 100.1).wkt),  # parent from the code: fine
        ("12345", "短码村", "", box(100.0, 100.1).wkt),  # line 3: bad code
        (V2, "西关社区", "999999999000", box(100.1, 100.18).wkt),  # 4: no parent
        ("100000001003", "远方村", "", box(101.0, 101.1).wkt),  # 5: 100 km east
        ("100000001004", "乱码村", "", "POLYGON((1 2, 3"),  # 6: broken WKT
        ("100000001005", "线村", "", "LINESTRING(100 30, 100.1 30.1)"),  # 7
        (V1, "重复村", "", box(100.0, 100.1).wkt),  # 8: duplicate
    ]
    path = wkt_csv(tmp_path / "v.csv", ["编码", "名称", "上级编码", "WKT"], rows,
                   encoding="gbk")  # fmt: skip
    report = import_file(engine, "villages", path)
    assert report.status == "rejected"
    assert sorted((f.row, f.field) for f in report.errors) == [
        (3, "code"), (4, "parent"), (5, "geometry"), (6, "wkt"), (7, "geometry"),
        (8, "code"),
    ]  # fmt: skip
    assert table(engine, "SELECT count(*) FROM area WHERE kind = 'village'") == [(0,)]


def test_topology_findings_overlaps_grids_outside_stations(world, tmp_path):
    grids = gpd.GeoDataFrame(
        {"code": [G1, G2], "name": ["一网格", "二网格"]},
        geometry=[box(100.0, 100.1), box(100.1, 100.19)],  # G2 sticks out east
        crs="EPSG:4326",
    )
    grids.to_file(tmp_path / "g.gpkg", layer="grids", driver="GPKG")
    grids.iloc[:0].to_file(tmp_path / "g.gpkg", layer="empty", driver="GPKG")
    report = import_file(world, "grids", tmp_path / "g.gpkg", layer_name="grids")
    assert report.status == "loaded"
    (outside,) = report.findings
    assert (outside.row, outside.severity) == (2, "warning")
    assert G2 in outside.reason and V2 in outside.reason
    assert outside.area_m2 == pytest.approx(
        _geodesic_area(box(100.18, 100.19)), rel=1e-3
    )
    assert 100.18 < outside.location[0] < 100.19

    overlapping = [VILLAGES[0], VILLAGES[1]]
    path = villages_shapefile(tmp_path / "o.shp", overlapping,
                              [box(100.0, 100.12), box(100.1, 100.18)])  # fmt: skip
    report = import_file(world, "villages", path, valid_from=date(2025, 1, 1))
    overlaps = [f for f in report.findings if "overlap" in f.reason]
    assert len(overlaps) == 1 and V1 in overlaps[0].reason
    assert overlaps[0].area_m2 == pytest.approx(
        _geodesic_area(box(100.1, 100.12)), rel=1e-3
    )

    second = wkt_csv(tmp_path / "s2.csv", ["code", "name", "parent", "wkt"],
                     [("100000520000", "新区派出所", DISTRICT,
                       box(100.15, 100.2).wkt)])  # fmt: skip
    report = import_file(world, "stations", second)
    (overlap,) = report.findings
    assert STATION in overlap.reason and "100000520000" in overlap.reason
    assert overlap.area_m2 == pytest.approx(
        _geodesic_area(box(100.15, 100.2)), rel=1e-3
    )


def test_grids_into_an_empty_database_say_what_to_import_first(engine, tmp_path):
    path = wkt_csv(tmp_path / "g.csv", ["编码", "名称", "WKT"],
                   [(G1, "一网格", box(100.0, 100.05).wkt)])  # fmt: skip
    with pytest.raises(InvalidInput, match="import the villages first") as error:
        import_file(engine, "grids", path)
    assert "请先导入村社" in error.value.message
    # The refusal is recorded like any other.
    assert table(engine, "SELECT layer, status FROM import_batch") == [
        ("grids", "rejected")
    ]


def test_officers_with_their_areas(world, tmp_path):
    with world.begin() as conn:
        conn.execute(
            sa.text("""
            INSERT INTO post (code, name, kind, geom) VALUES
            ('P1', '东关警务室', 'police_room',
             ST_SetSRID(ST_MakePoint(100.05, 30.05), 4326))""")
        )
    rows = [
        ("J001", "张三", "民警", "P1", f"{V1}；{V2}"),
        ("J002", "李四", "辅警", "", V2),
        ("J003", "王五", "民警", "P9", V1),  # line 4: no such post
        ("J004", "赵六", "民警", "P1", "100000009999"),
    ]  # line 5: no such village
    header = ["警号", "姓名", "类型", "所属警务室", "负责村社"]
    path = wkt_csv(tmp_path / "o.csv", header, rows)
    report = import_file(world, "officers", path, tmp_path / "r.json", lenient=True)
    assert (report.read, report.loaded, report.rejected) == (4, 2, 2)
    assert sorted((f.row, f.field) for f in report.errors) == [
        (4, "post"), (5, "areas"),
    ]  # fmt: skip
    assert table(world, """
        SELECT o.code, o.kind, p.code, array_agg(a.code ORDER BY a.code)
          FROM officer o LEFT JOIN post p ON p.id = o.post_id
          JOIN officer_area oa ON oa.officer_id = o.id JOIN area a ON a.id = oa.area_id
         GROUP BY 1, 2, 3 ORDER BY 1""") == [
        ("J001", "police", "P1", [V1, V2]), ("J002", "auxiliary", None, [V2]),
    ]  # fmt: skip
    quarantine = (tmp_path / "r.quarantine.csv").read_text("utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in quarantine] == ["警号", "J003", "J004"]
    again = import_file(world, "officers", path, lenient=True)
    assert (again.loaded, again.unchanged) == (2, 2)
    moved = wkt_csv(tmp_path / "o2.csv", ["code", "name", "kind", "areas"],
                    [("J002", "李四", "辅警", V1)])  # fmt: skip
    assert import_file(world, "officers", moved).unchanged == 0
    assert table(world, """SELECT a.code FROM officer o
                            JOIN officer_area oa ON oa.officer_id = o.id
                            JOIN area a ON a.id = oa.area_id
                           WHERE o.code = 'J002'""") == [(V1,)]  # fmt: skip


def test_cli_imports_boundaries_with_valid_from(world, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", world.url.render_as_string(hide_password=False))
    path = villages_shapefile(
        tmp_path / "cli.shp", VILLAGES, [box(100.0, 100.15), box(100.15, 100.18)]
    )
    assert main(["import", "villages", str(path), "--valid-from", "2025-06-01"]) == 0
    out = capsys.readouterr()
    assert "read 2 = loaded 2 + rejected 0" in out.out
    assert table(world, "SELECT count(*) FROM area WHERE kind = 'village' "
                        "AND valid_from = '2025-06-01'") == [(2,)]  # fmt: skip
    with pytest.raises(SystemExit) as exited:
        main(["import", "villages", str(path), "--valid-from", "June"])
    assert exited.value.code == 2
    assert "not a date (YYYY-MM-DD): 'June'" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:.crs. was not provided")
def test_gauss_kruger_with_zone_prefix_and_no_prj_needs_crs(engine, tmp_path):
    load_base(engine, tmp_path)
    frame = gpd.GeoDataFrame(VILLAGES[:1], geometry=[box(100.0, 100.1)],
                             crs="EPSG:4326").to_crs(GK)  # fmt: skip
    prefixed = shapely.transform(frame.geometry.values, lambda xy: xy + [34e6, 0])
    frame = gpd.GeoDataFrame(VILLAGES[:1], geometry=prefixed)  # no CRS at all
    frame.to_file(tmp_path / "noprj.shp", encoding="GBK")
    with pytest.raises(Exception, match="EPSG:4522"):  # zone 34 (3-degree, prefixed)
        import_file(engine, "villages", tmp_path / "noprj.shp")
    report = import_file(engine, "villages", tmp_path / "noprj.shp", crs=GK)
    assert report.status == "loaded", report.errors
    (wkt,) = table(engine, "SELECT ST_AsText(geom) FROM area WHERE code = :c", c=V1)[0]
    assert shapely.hausdorff_distance(shapely.from_wkt(wkt), box(100.0, 100.1)) < 1e-7
    assert np.isfinite(crs.from_wgs84(100.0, 30.0, GK)[0])


def test_new_township_generation_keeps_its_villages_and_reports_gaps(world, tmp_path):
    row = (TOWNSHIP, "城关镇", DISTRICT, box(100.0, 100.19).wkt)
    path = wkt_csv(tmp_path / "t2.csv", ["code", "name", "parent", "wkt"], [row])
    report = import_file(world, "townships", path, valid_from=date(2025, 6, 1))
    assert report.status == "loaded" and report.unchanged == 0
    (gap,) = report.findings
    assert (gap.row, gap.severity) == (2, "warning") and TOWNSHIP in gap.reason
    assert gap.area_m2 == pytest.approx(_geodesic_area(box(100.18, 100.19)), rel=1e-3)
    assert table(world, """
        SELECT v.code, t.valid_from FROM area v JOIN area t ON t.id = v.parent_id
         WHERE v.kind = 'village' ORDER BY v.code""") == [
        (V1, date(2025, 6, 1)), (V2, date(2025, 6, 1)),
    ]  # fmt: skip


def test_a_boundary_import_moves_points_without_locking_their_table(
    world, tmp_path, monkeypatch
):
    """The bulk path's table locks (keys set aside) are for `assign` and for
    loads into empty tables: a boundary import that re-assigns many points
    updates them in place, so the maps and incident list keep answering."""
    from gis import assign, bulk

    with world.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO incident (code, category, reported_at, geom) "
            "SELECT 'I' || k, 'dispute_neighbour', now(), "
            "ST_SetSRID(ST_MakePoint(100.0502 + k * 0.0004, 30.05), 4326) "
            "FROM generate_series(0, 99) k"
        ))  # fmt: skip
    monkeypatch.setattr(assign, "BULK_MIN_ROWS", 0)  # any change counts as many
    monkeypatch.setattr(assign, "BULK_MIN_SHARE", 0)
    aside = []
    real = bulk.SetAside.__init__

    def spy(self, conn, table, *args, **kwargs):
        aside.append(table)
        real(self, conn, table, *args, **kwargs)

    monkeypatch.setattr(bulk.SetAside, "__init__", spy)
    moved = villages_shapefile(  # the border moves west: V2 takes 100.07-100.1
        tmp_path / "v2.shp", VILLAGES, [box(100.0, 100.07), box(100.07, 100.18)]
    )
    report = import_file(world, "villages", moved)
    assert report.status == "loaded", report.errors
    assert "incident" not in aside
    counts = table(world, """
        SELECT v.code, count(*) FROM incident i JOIN area v ON v.id = i.village_id
         GROUP BY v.code ORDER BY v.code""")  # fmt: skip
    assert counts == [(V1, 50), (V2, 50)]  # 100.0502-100.0698 stay, the rest move
