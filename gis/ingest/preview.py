"""A first look at a file before it is imported: what it is and how it will be read.

:func:`preview` opens a file the way :func:`~gis.ingest.import_file` will (same
reader, same encoding detection, same column matching) and returns what a person
should check before loading it: the encoding and coordinate system found, which
column feeds which field, and the first rows as text.  It reads only those rows
and never touches the database; the full check of every row is a dry run of
:func:`~gis.ingest.import_file`.

Examples
--------
>>> info = preview("posts.csv", "posts")                      # doctest: +SKIP
>>> info["encoding"], info["matched"]["lon"]
('gb18030', '经度')
"""

from __future__ import annotations

import logging
from pathlib import Path

import pyogrio
import shapely

from gis.errors import InvalidInput
from gis.ingest import fields, stable
from gis.ingest.sources import open_source

logger = logging.getLogger(__name__)

GEOMETRY_COLUMN = "几何 geometry"
_WKT_CHARS = 80  # a polygon's WKT is long; the start is enough to recognise it


def preview(
    path: str | Path,
    layer: str,
    *,
    encoding: str | None = None,
    layer_name: str | None = None,
    mapping: dict[str, str] | None = None,
    limit: int = 20,
) -> dict:
    """Describe ``path`` as an import into ``layer`` would read it.

    Parameters
    ----------
    path : str or Path
        The file (for a Shapefile, its ``.shp`` or ``.zip``).
    layer : str
        Target layer, one of :data:`gis.ingest.fields.LAYERS`.
    encoding, layer_name, mapping
        As for :func:`~gis.ingest.import_file`.
    limit : int
        How many rows to return.

    Returns
    -------
    dict
        ``format``, ``encoding`` (None where the format fixes it), ``crs`` (as the
        file declares it, or None), ``geometry_type`` (vector files), ``layers``
        (a GeoPackage's layer names), ``columns`` (the file's column names),
        ``fields`` (every field of ``layer``: ``name``, ``label``, ``required``,
        ``column`` matched or None), ``matched`` (field → column), ``problem``
        (why the columns do not suffice, or None), ``header`` and ``rows`` (the
        first ``limit`` rows: ``number``, ``cells`` as text, ``problem``) and
        ``count_hint`` (rows in the file, when cheap to know).

    Raises
    ------
    InvalidInput
        Unknown layer, bad ``limit``, or a file that cannot be read at all.
    """
    layer_fields = fields.layer_fields(layer)
    if not isinstance(limit, int) or limit < 1:
        raise InvalidInput(
            f"limit 应为正整数 / limit must be a positive integer, got {limit!r}",
            field="limit",
        )
    path = Path(path)
    source = open_source(path, encoding, layer_name)
    has_geometry = source.geometry_type is not None
    matched, problem = _match(source.columns, layer, mapping, has_geometry)
    header, rows = _first_rows(source, limit)
    return {
        "format": source.format,
        "encoding": source.encoding,
        "crs": source.crs,
        "geometry_type": source.geometry_type,
        "layers": _layers(source, path),
        "notes": source.notes,
        "columns": list(source.columns),
        "fields": [
            {
                "name": f.name,
                "label": (*f.synonyms, f.name)[0],
                "required": f.required,
                "column": matched.get(f.name),
                # A code the import makes (gis.ingest.stable) when there is none.
                "made": f.name in stable.optional(layer) and f.name not in matched,
            }
            for f in layer_fields
            if not (has_geometry and f.name in ("lon", "lat"))
        ],
        "matched": matched,
        "problem": problem,
        "header": header,
        "rows": rows,
        "count_hint": source.count_hint(),
    }


def _match(columns, layer, mapping, has_geometry) -> tuple[dict, str | None]:
    """The column matching the import will use; a missing column is reported
    rather than raised, so the person still sees the file's columns and rows."""
    try:
        found = fields.match_columns(
            columns, layer, mapping, has_geometry, optional=stable.optional(layer)
        )
        return found, None
    except InvalidInput as exc:
        return {}, exc.message


def _first_rows(source, limit: int) -> tuple[list[str], list[dict]]:
    """The header and the first ``limit`` rows of ``source``, every cell as text."""
    chunks = source.chunks(size=limit)
    try:
        chunk = next(chunks, None)
    finally:
        chunks.close()  # stop reading: the rest of the file is the dry run's job
    header = list(source.columns)
    if chunk is not None and chunk.geometry is not None:
        header.append(GEOMETRY_COLUMN)
    if chunk is None:
        return header, []
    rows = []
    for i, number in enumerate(chunk.numbers):
        cells = ["" if chunk.columns[c][i] is None else str(chunk.columns[c][i])
                 for c in source.columns]  # fmt: skip
        if chunk.geometry is not None:
            cells.append(_wkt(chunk.geometry[i]))
        rows.append({"number": number, "cells": cells, "problem": chunk.broken.get(i)})
    return header, rows


def _wkt(geometry) -> str:
    if geometry is None:
        return ""
    text = shapely.to_wkt(geometry, rounding_precision=7)
    return text if len(text) <= _WKT_CHARS else text[: _WKT_CHARS - 1] + "…"


def _layers(source, path: Path) -> list[str]:
    """What ``layer_name`` can choose: a GeoPackage's layers, a workbook's sheets."""
    if source.format == "gpkg":
        return _gpkg_layers(path)
    return source.sheets if source.format == "xlsx" else []


def _gpkg_layers(path: Path) -> list[str]:
    return [str(row[0]) for row in pyogrio.list_layers(path)]
