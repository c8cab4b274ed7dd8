"""The catalog of data layers against the live schema, and a column added once.

A fresh migrated database is read through ``information_schema``,
``geometry_columns`` and ``pg_constraint``: every stored property of every
layer is a column of a compatible type, every column is a property or listed
as internal, and every enumeration is exactly its CHECK constraint's list.
Then a throwaway column (``camera.height_m``) is added to the table and, at
test time, to the catalog: the import takes a 高度 column into it, the export
writes it, and the camera layer's popup shows it, with no other code change.
"""

from __future__ import annotations

import csv
import dataclasses
import re

import pytest
import sqlalchemy as sa

from gis import catalog, db, layers
from gis.catalog import Property
from gis.errors import InvalidInput
from gis.export import export_layer
from gis.ingest import fields, import_file
from gis.ingest.points import POINT_LAYERS

# The types a stored property may have in PostgreSQL, by its catalog type.
COMPATIBLE = {
    "text": {"text"},
    "choice": {"text"},
    "int": {"integer", "bigint", "smallint"},
    "float": {"double precision"},
    "time": {"timestamp with time zone"},
    "date": {"date"},
}
TABLES = sorted({layer.table for layer in catalog.LAYERS.values()})


@pytest.fixture(scope="module")
def schema_engine(make_database):
    return db.get_engine(make_database())


def columns_of(engine, table: str) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = :t"
            ),
            {"t": table},
        )
        return dict(rows.all())


def check_lists(engine, table: str) -> dict[str, set[str]]:
    """Column → the values its ``col IN (...)`` CHECK constraints name.

    A compound constraint may name a column's values again, a subset of them
    (``incident_resolution``: the open statuses): the union is the column's
    list, whatever order the catalogue returns the constraints in."""
    with engine.connect() as conn:
        definitions = conn.execute(
            sa.text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'c' AND conrelid = CAST(:t AS regclass)"
            ),
            {"t": table},
        ).scalars()
        lists = {}
        for definition in definitions:
            for column, values in re.findall(
                r"\(?(\w+)\s*=\s*ANY\s*\(\(?ARRAY\[([^\]]*)\]", definition
            ):
                lists.setdefault(column, set()).update(
                    re.findall(r"'((?:[^']|'')*)'", values)
                )
        return lists


def test_every_layer_names_its_table_geometry_and_scope():
    for layer in catalog.LAYERS.values():
        assert layer.title and layer.scope, layer.name
        assert (layer.table == "area") == (layer.area_kind is not None)
        if layer.time_field is not None:
            assert layer.prop(layer.time_field).kind == "time", layer.name
        assert [p.name for p in layer.properties][:1] == ["code"], layer.name
        assert all(p.label for p in layer.properties), layer.name


@pytest.mark.parametrize("name", list(catalog.LAYERS))
def test_stored_properties_are_columns_of_a_compatible_type(schema_engine, name):
    layer = catalog.LAYERS[name]
    columns = columns_of(schema_engine, layer.table)
    for prop in layer.stored:
        assert prop.name in columns, (name, prop.name)
        assert columns[prop.name] in COMPATIBLE[prop.kind], (name, prop.name)
    assert not set(layer.internal) & {p.name for p in layer.stored}, name


@pytest.mark.parametrize("table", TABLES)
def test_every_column_is_a_property_or_listed_as_internal(schema_engine, table):
    entries = [e for e in catalog.LAYERS.values() if e.table == table]
    described = {p.name for e in entries for p in e.stored}
    described |= {c for e in entries for c in e.internal}
    assert set(columns_of(schema_engine, table)) - described == set()
    # And nothing listed as internal is missing from the table.
    internal = {c for e in entries for c in e.internal}
    assert internal - set(columns_of(schema_engine, table)) == set()


@pytest.mark.parametrize("name", list(catalog.LAYERS))
def test_geometry_type_is_the_tables(schema_engine, name):
    layer = catalog.LAYERS[name]
    with schema_engine.connect() as conn:
        found = conn.execute(
            sa.text(
                "SELECT type FROM geometry_columns WHERE f_table_schema = 'public' "
                "AND f_table_name = :t AND f_geometry_column = 'geom'"
            ),
            {"t": layer.table},
        ).scalar()
    assert found == (layer.geometry.upper() if layer.geometry else None)


@pytest.mark.parametrize("name", list(catalog.LAYERS))
def test_every_enumeration_is_the_check_constraints_list(schema_engine, name):
    layer = catalog.LAYERS[name]
    checks = check_lists(schema_engine, layer.table)
    for prop in layer.stored:
        if prop.choices is not None:
            assert set(prop.choices) == checks.get(prop.name), (name, prop.name)
        else:  # no CHECK list left undescribed
            assert prop.name not in checks, (name, prop.name)


def test_boundary_kinds_are_the_area_kind_check(schema_engine):
    kinds = set(catalog.boundary_kinds().values())
    assert kinds == check_lists(schema_engine, "area")["kind"]


def test_import_fields_and_point_tables_come_from_the_catalog():
    for name, layer in catalog.LAYERS.items():
        assert [f.name for f in fields.LAYERS[name]] == [p.name for p in layer.imported]
    table, columns = POINT_LAYERS["cameras"]
    assert table == "camera" and "range_m" in columns
    assert set(POINT_LAYERS) == {"posts", "cameras", "sites", "incidents"}


def test_map_layers_read_titles_popups_and_enumerations_from_the_catalog():
    for layer in layers.LAYERS.values():
        if not layer.data:
            continue
        entry = catalog.get(layer.data)
        # A layer drawing part of a data layer (the recent incidents) says which.
        assert layer.title == entry.title or layer.title.startswith(entry.title + "·")
        assert layer.fields == entry.popup()
        assert layer.personal == entry.personal
    assert layers.get("posts").personal and layers.get("incidents").personal
    assert not layers.get("cameras").personal


def test_an_unknown_layer_is_refused_with_the_known_ones():
    with pytest.raises(InvalidInput, match="one of districts, townships"):
        catalog.get("roads")


def test_a_property_of_an_unknown_kind_is_a_precise_error():
    with pytest.raises(ValueError, match="kind must be one of"):
        Property("height_m", "double")
    with pytest.raises(ValueError, match="choices go with kind 'choice'"):
        Property("kind", "text", choices={"a": "甲"})


# -- a column added to the catalog and a migration only ----------------------------

HEIGHT = Property(
    "height_m", "float", "高度(米)", synonyms=("高度", "安装高度"), popup=True,
    low=0, high=100,
)  # fmt: skip


@pytest.fixture
def with_height(make_database, monkeypatch):
    """A database whose camera table has ``height_m`` (the migration), and the
    catalog with the property (the catalog edit)."""
    engine = db.get_engine(make_database())
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE camera ADD COLUMN height_m double precision"))
    cameras = catalog.LAYERS["cameras"].with_property(HEIGHT, after="owner")
    monkeypatch.setitem(catalog.LAYERS, "cameras", cameras)
    return engine


def test_a_new_property_shows_up_in_import_export_and_popups(with_height, tmp_path):
    source = tmp_path / "cameras.csv"
    source.write_text(
        "编号,类型,视场角,安装高度,经度,纬度\n"
        "C1,球机,360,6.5,100.05,30.05\n"
        "C2,云台(PTZ),360,,100.06,30.05\n",
        encoding="utf-8",
    )
    report = import_file(with_height, "cameras", source)
    assert (report.status, report.loaded) == ("loaded", 2), report.errors
    with with_height.connect() as conn:
        heights = dict(conn.execute(sa.text("SELECT code, height_m FROM camera")).all())
    assert heights == {"C1": 6.5, "C2": None}

    bad = tmp_path / "bad.csv"
    bad.write_text("编号,类型,视场角,高度,经度,纬度\nC3,球机,360,500,100,30\n")
    refused = import_file(with_height, "cameras", bad, dry_run=True)
    assert [f.field for f in refused.errors] == ["height_m"]  # above its high

    out = tmp_path / "out.csv"
    export_layer(with_height, "cameras", out)
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = {row["code"]: row for row in csv.DictReader(handle)}
    assert (rows["C1"]["height_m"], rows["C2"]["height_m"]) == ("6.5", "")

    layer = layers.get("cameras")
    assert layer.fields["height_m"] == "高度(米)"
    with with_height.connect() as conn:
        popup = layer.detail(conn, "C1")  # what a click on the camera fetches
        bare = layer.detail(conn, "C2")
    assert ["高度(米)", "6.5"] in popup["rows"]
    assert "高度(米)" not in dict(bare["rows"])  # an empty value is no row


def test_without_the_catalog_edit_the_column_is_not_touched():
    assert "height_m" not in [p.name for p in catalog.LAYERS["cameras"].properties]
    assert "height_m" not in layers.get("cameras").fields


AREA_KM2 = Property("area_km2", "float", "面积(平方公里)", synonyms=("面积",), low=0)
SQUARE = "MULTIPOLYGON(((100 30,100.1 30,100.1 30.1,100 30.1,100 30)))"


@pytest.fixture
def with_area(make_database, monkeypatch):
    """``area.area_km2`` in the table (the migration) and, for districts, in the
    catalog, shown in popups (the catalog edit)."""
    engine = db.get_engine(make_database())
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE area ADD COLUMN area_km2 double precision"))
    prop = dataclasses.replace(AREA_KM2, popup=True)
    districts = catalog.LAYERS["districts"].with_property(prop, after="households")
    monkeypatch.setitem(catalog.LAYERS, "districts", districts)
    yield engine
    engine.dispose()


def test_a_new_boundary_property_is_imported_updated_exported_and_shown(
    with_area, tmp_path
):
    source = tmp_path / "district.csv"
    for km2 in ("12.5", "13"):  # inserted, then updated in place
        source.write_text(
            f'编码,名称,面积,wkt\n100000000000,测试区,{km2},"{SQUARE}"\n',
            encoding="utf-8",
        )
        report = import_file(with_area, "districts", source)
        assert (report.status, report.loaded) == ("loaded", 1), report.errors
    with with_area.connect() as conn:
        rows = conn.execute(sa.text("SELECT area_km2, valid_to FROM area")).all()
    assert rows == [(13.0, None)]

    out = tmp_path / "out.csv"
    export_layer(with_area, "districts", out)
    with out.open(encoding="utf-8-sig", newline="") as handle:
        (row,) = csv.DictReader(handle)
    assert row["area_km2"] == "13.0"

    layer = layers.get("district")
    with with_area.connect() as conn:
        popup = layer.detail(conn, "100000000000")
    assert ["面积(平方公里)", "13"] in popup["rows"]
