"""The catalog of data layers against the live schema.

A fresh migrated database is read through ``information_schema``,
``geometry_columns`` and ``pg_constraint``: every stored property of every
layer is a column of a compatible type, every column is a property or listed
as internal, and every enumeration is exactly its CHECK constraint's list.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from gis import catalog, db, layers
from gis.catalog import Property
from gis.errors import InvalidInput
from gis.ingest import fields
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
    """Column → the values its ``col IN (...)`` CHECK constraint allows."""
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
                lists[column] = set(re.findall(r"'((?:[^']|'')*)'", values))
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
        assert layer.title == entry.title
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
