"""Coordinate reference systems: the single place that declares them.

Pingan Grid stores every geometry in WGS84 longitude/latitude
(:data:`STORAGE_SRID`, EPSG:4326) and measures distances and areas in metres in a
CGCS2000 3-degree Gauss-Kruger zone (:func:`gauss_kruger_epsg`).

Systems met at the edges and converted here:

``wgs84``
    GPS fixes, OpenStreetMap, the database.
``EPSG:4490`` (CGCS2000 geographic)
    China's official datum, used by Tianditu and survey offices.  It is accepted
    and passed through as WGS84 unchanged: both are realisations of the ITRS and
    differ by a few centimetres to decimetres (plate motion since epoch 2000.0),
    well under a metre at county scale and far below the accuracy of the village
    boundaries and phone GPS fixes this service handles.  Treating it as a datum
    shift would add a grid dependency for no visible gain.
``gcj02``
    The obfuscated "Mars" system of AMap (Gaode), Tencent and most Chinese base
    maps.  The forward transform is the widely published Krasovsky-ellipsoid
    formula.  It is applied only inside a rough bounding box of China
    (:data:`GCJ02_BOUNDS`, the one every public implementation uses); points
    outside it are returned unchanged, as the map providers do.  There is no
    closed-form inverse, so :func:`gcj02_to_wgs84` inverts the forward function by
    fixed-point iteration to better than a millimetre.
``bd09``
    Baidu's extra rotation-and-offset on top of GCJ-02 (``x_pi = pi * 3000 /
    180``).  Like the published formula, it is applied everywhere, without a
    China test.  Its inverse is refined iteratively as well.
``EPSG:n``
    Anything else pyproj knows, e.g. Gauss-Kruger plane coordinates from a survey
    office; transformed with ``always_xy=True`` (x = easting/longitude first).

All point conversions take and return ``(lon, lat)`` (x before y), accept Python
or numpy scalars (returning Python floats) and numpy arrays (returning arrays of
the broadcast shape), and work on whole arrays at once.

Examples
--------
>>> lon, lat = wgs84_to_gcj02(115.03, 35.76)
>>> back = gcj02_to_wgs84(lon, lat)
>>> [round(v, 9) for v in back]
[115.03, 35.76]
>>> parse_crs("GCJ-02")
'gcj02'
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Callable

import numpy as np
import shapely
from numpy.typing import ArrayLike
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from gis.errors import brief

logger = logging.getLogger(__name__)

STORAGE_SRID = 4326
"""SRID of every geometry column: WGS84 longitude/latitude."""

CGCS2000_SRID = 4490
"""CGCS2000 geographic; accepted and treated as WGS84 (see module docstring)."""

GCJ02_BOUNDS = (72.004, 0.8293, 137.8347, 55.8271)
"""(min lon, min lat, max lon, max lat) inside which GCJ-02 shifts points.

A deliberately rough box, identical in all public implementations: it also covers
parts of neighbouring countries, which is what the providers' maps do too.  It is
also this service's one definition of "in China" (:func:`in_china`): where a
county's incident may lie, and where GCJ-02 and BD-09 coordinates mean anything.
"""

GAUSS_KRUGER_LON_RANGE = (73.5, 135.0)
"""Longitudes covered by the CGCS2000 3-degree zones 25-45 (CM 75E-135E)."""

# Krasovsky 1940 ellipsoid, which the GCJ-02 formula uses for its metre-to-degree
# conversion even though its input is WGS84.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
_BD_X_PI = math.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006

# 1e-10 degree is about 0.01 mm.  The iterations contract by a factor of about
# 1e-3 per step, so four or five steps suffice; the bound only stops oscillation
# at the discontinuous edge of GCJ02_BOUNDS.
_INVERSE_TOLERANCE_DEG = 1e-10
_INVERSE_MAX_ITERATIONS = 20

# Gauss-Kruger EPSG codes: zone 25 (CM 75E) is the first of each series.
_GK_FIRST_ZONE = 25
_GK_FIRST_EPSG_PREFIXED = 4513
_GK_FIRST_EPSG_PLAIN = 4534

_PASS_THROUGH = frozenset({"wgs84", f"EPSG:{STORAGE_SRID}", f"EPSG:{CGCS2000_SRID}"})
_ALIASES = {
    "wgs84": "wgs84",
    "gcj02": "gcj02",
    "gcj": "gcj02",
    "bd09": "bd09",
    "bd09ll": "bd09",
    "cgcs2000": f"EPSG:{CGCS2000_SRID}",
}
_EPSG_PATTERN = re.compile(r"(?:epsg:)?(\d{4,6})")
_MAX_CRS_TEXT = 40  # the longest name accepted, " EPSG : 123456 ", is far shorter

_Array = np.ndarray
_Pair = tuple[_Array, _Array]


def gauss_kruger_epsg(lon: float, zone_prefix: bool = False) -> int:
    """Return the EPSG code of the CGCS2000 3-degree Gauss-Kruger zone for `lon`.

    The zone is the one whose central meridian (a multiple of 3 degrees) is
    nearest to `lon`; a longitude exactly half-way goes east, as in the Chinese
    zone numbering ``n = floor((lon + 1.5) / 3)``.

    Parameters
    ----------
    lon : float
        Longitude in degrees east, between 73.5 and 135.
    zone_prefix : bool, default False
        False gives the "CM nnnE" series (EPSG:4534-4554, easting without zone
        number, what GIS software expects); True gives the "zone nn" series
        (EPSG:4513-4533, zone number prefixed to the easting, as printed on
        Chinese survey sheets).

    Returns
    -------
    int
        EPSG code of a projected CRS in metres.

    Raises
    ------
    ValueError
        If `lon` is not a finite number in the range covered by the zones.

    Examples
    --------
    >>> gauss_kruger_epsg(115.03)  # Puyang, CM 114E
    4547
    >>> gauss_kruger_epsg(115.03, zone_prefix=True)  # zone 38
    4526
    """
    low, high = GAUSS_KRUGER_LON_RANGE
    if not (isinstance(lon, (int, float, np.number)) and low <= lon <= high):
        raise ValueError(
            f"longitude {lon!r} is outside {low}-{high} degrees east, the range of "
            "the CGCS2000 3-degree Gauss-Kruger zones"
        )
    zone = math.floor(float(lon) / 3.0 + 0.5)
    first = _GK_FIRST_EPSG_PREFIXED if zone_prefix else _GK_FIRST_EPSG_PLAIN
    return first + zone - _GK_FIRST_ZONE


def _accepts_scalars(func: Callable[[_Array, _Array], _Pair]):
    """Let an array-only ``(lon, lat)`` function take scalars and array-likes too.

    Scalars in give Python floats out, so callers formatting a single point do
    not meet 0-d arrays.
    """

    @functools.wraps(func)
    def wrapper(lon: ArrayLike, lat: ArrayLike):
        scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
        x, y = np.broadcast_arrays(
            np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
        )
        out_x, out_y = func(x, y)
        if scalar:
            return float(out_x), float(out_y)
        return out_x, out_y

    return wrapper


def in_china(lon: ArrayLike, lat: ArrayLike) -> _Array:
    """Whether WGS84 (or GCJ-02) points lie in China's box, :data:`GCJ02_BOUNDS`.

    Parameters
    ----------
    lon, lat : float or array_like
        Longitude and latitude in degrees; NaN is outside.

    Returns
    -------
    numpy.ndarray
        Booleans of the broadcast shape (0-d for scalars).

    Examples
    --------
    >>> bool(in_china(115.03, 35.76)), bool(in_china(100.0, 70.0))
    (True, False)
    """
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    min_lon, min_lat, max_lon, max_lat = GCJ02_BOUNDS
    return (lon >= min_lon) & (lon <= max_lon) & (lat >= min_lat) & (lat <= max_lat)


def _gcj02_offset_metres(lon: _Array, lat: _Array) -> _Pair:
    """Return the published GCJ-02 distortion (east, north) in metres."""
    x = lon - 105.0
    y = lat - 35.0
    # Both share the short-wavelength term in x, which is what makes GCJ-02 wobble.
    wobble = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2 / 3
    north = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y
    north += 0.2 * np.sqrt(np.abs(x)) + wobble
    north += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2 / 3
    north += (
        (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y / 30.0 * np.pi)) * 2 / 3
    )
    east = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y
    east += 0.1 * np.sqrt(np.abs(x)) + wobble
    east += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2 / 3
    east += (
        (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2 / 3
    )
    return east, north


def _wgs84_to_gcj02(lon: _Array, lat: _Array) -> _Pair:
    east, north = _gcj02_offset_metres(lon, lat)
    rad_lat = np.radians(lat)
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    # Metres per degree along the meridian and the parallel on Krasovsky.
    metres_per_deg_lat = (_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi / 180
    metres_per_deg_lon = _GCJ_A / sqrt_magic * np.cos(rad_lat) * np.pi / 180
    inside = in_china(lon, lat)
    d_lon = np.where(inside, east / metres_per_deg_lon, 0.0)
    d_lat = np.where(inside, north / metres_per_deg_lat, 0.0)
    return lon + d_lon, lat + d_lat


def _gcj02_to_bd09(lon: _Array, lat: _Array) -> _Pair:
    radius = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_X_PI)
    return radius * np.cos(theta) + _BD_DLON, radius * np.sin(theta) + _BD_DLAT


def _bd09_to_gcj02_approx(lon: _Array, lat: _Array) -> _Pair:
    """Return the usual one-step BD-09 inverse (up to about 0.2 m off)."""
    x = lon - _BD_DLON
    y = lat - _BD_DLAT
    radius = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    return radius * np.cos(theta), radius * np.sin(theta)


def _invert(
    forward: Callable[[_Array, _Array], _Pair],
    target: _Pair,
    guess: _Pair,
) -> _Pair:
    """Solve ``forward(p) == target`` by fixed-point iteration from `guess`.

    Both obfuscations are the identity plus a small, slowly varying shift, so
    subtracting the residual converges geometrically (about 1e-3 per step).
    """
    x, y = guess
    for _ in range(_INVERSE_MAX_ITERATIONS):
        fx, fy = forward(x, y)
        err_x, err_y = fx - target[0], fy - target[1]
        x, y = x - err_x, y - err_y
        # NaN input counts as converged: it stays NaN whatever we do.
        worst = np.fmax(np.abs(err_x), np.abs(err_y))
        if not np.any(worst >= _INVERSE_TOLERANCE_DEG):
            return x, y
    logger.warning(
        "%s inverse did not converge for %d point(s) after %d iterations "
        "(points on the edge of the GCJ-02 box?)",
        forward.__name__.strip("_"),
        int(np.count_nonzero(worst >= _INVERSE_TOLERANCE_DEG)),
        _INVERSE_MAX_ITERATIONS,
    )
    return x, y


@_accepts_scalars
def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike):
    """Convert WGS84 to GCJ-02 (AMap, Tencent); points outside China unchanged.

    Parameters
    ----------
    lon, lat : float or array_like
        WGS84 longitude and latitude in degrees.

    Returns
    -------
    tuple
        ``(lon, lat)`` in GCJ-02: floats for scalar input, else arrays.
    """
    return _wgs84_to_gcj02(lon, lat)


@_accepts_scalars
def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike):
    """Convert GCJ-02 to WGS84 by iterating the forward transform.

    The result round-trips through :func:`wgs84_to_gcj02` to within 1e-10
    degree (about 0.01 mm), unlike the common one-step inverse (metres off).

    Parameters
    ----------
    lon, lat : float or array_like
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    tuple
        ``(lon, lat)`` in WGS84: floats for scalar input, else arrays.
    """
    forward_lon, forward_lat = _wgs84_to_gcj02(lon, lat)
    # p - (f(p) - p) is the classic one-step inverse: a good starting point.
    guess = (2.0 * lon - forward_lon, 2.0 * lat - forward_lat)
    return _invert(_wgs84_to_gcj02, (lon, lat), guess)


@_accepts_scalars
def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike):
    """Convert GCJ-02 to BD-09 (Baidu longitude/latitude).

    Parameters
    ----------
    lon, lat : float or array_like
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    tuple
        ``(lon, lat)`` in BD-09: floats for scalar input, else arrays.
    """
    return _gcj02_to_bd09(lon, lat)


@_accepts_scalars
def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike):
    """Convert BD-09 to GCJ-02, refined iteratively to within 1e-10 degree.

    Parameters
    ----------
    lon, lat : float or array_like
        BD-09 longitude and latitude in degrees.

    Returns
    -------
    tuple
        ``(lon, lat)`` in GCJ-02: floats for scalar input, else arrays.
    """
    guess = _bd09_to_gcj02_approx(lon, lat)
    return _invert(_gcj02_to_bd09, (lon, lat), guess)


@_accepts_scalars
def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike):
    """Convert WGS84 to BD-09 (via GCJ-02).

    Parameters
    ----------
    lon, lat : float or array_like
        WGS84 longitude and latitude in degrees.

    Returns
    -------
    tuple
        ``(lon, lat)`` in BD-09: floats for scalar input, else arrays.
    """
    return _gcj02_to_bd09(*_wgs84_to_gcj02(lon, lat))


@_accepts_scalars
def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike):
    """Convert BD-09 to WGS84 (via GCJ-02), both steps inverted iteratively.

    Parameters
    ----------
    lon, lat : float or array_like
        BD-09 longitude and latitude in degrees.

    Returns
    -------
    tuple
        ``(lon, lat)`` in WGS84: floats for scalar input, else arrays.
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def parse_crs(text: str | int) -> str:
    """Normalise a user's name for a coordinate system.

    Case, spaces, hyphens and underscores are ignored.  WGS84 and EPSG:4326 give
    ``'wgs84'``; CGCS2000 gives ``'EPSG:4490'`` (kept distinct so the source is
    not forgotten, though it converts as WGS84); other EPSG codes must be known
    to pyproj and be geographic or projected.

    Parameters
    ----------
    text : str or int
        E.g. ``'WGS84'``, ``'epsg:4326'``, ``'4326'``, ``'GCJ-02'``, ``'BD-09'``,
        ``'CGCS2000'``, ``'EPSG:4547'``.

    Returns
    -------
    str
        One of ``'wgs84'``, ``'gcj02'``, ``'bd09'`` or ``'EPSG:<code>'``.

    Raises
    ------
    ValueError
        If `text` names no system this module can convert.

    Examples
    --------
    >>> parse_crs("epsg:4326"), parse_crs("BD-09"), parse_crs("CGCS2000")
    ('wgs84', 'bd09', 'EPSG:4490')
    """
    # A JSON body may hold anything: a list is not even hashable for the cache,
    # and a megabyte of text is not worth caching.
    if isinstance(text, int) and not isinstance(text, bool) and 0 < text < 10**6:
        text = str(text)
    if not isinstance(text, str) or len(text) > _MAX_CRS_TEXT:
        raise ValueError(_unknown_crs_message(text))
    return _parse_crs(text)


@functools.lru_cache(maxsize=64)
def _parse_crs(text: str) -> str:
    key = re.sub(r"[\s\-_]", "", text).lower()
    if key in _ALIASES:
        return _ALIASES[key]
    match = _EPSG_PATTERN.fullmatch(key)
    if match is None:
        raise ValueError(_unknown_crs_message(text))
    code = int(match.group(1))
    if code == STORAGE_SRID:
        return "wgs84"
    _check_epsg(code, text)
    return f"EPSG:{code}"


def _unknown_crs_message(text: object, reason: str = "") -> str:
    return (
        f"unknown coordinate system {brief(text)}{reason}; expected wgs84 (WGS84, "
        "EPSG:4326), gcj02 (GCJ-02: AMap, Tencent), bd09 (BD-09: Baidu), "
        "CGCS2000 (EPSG:4490) or EPSG:<code> of a geographic or projected CRS"
    )


def _check_epsg(code: int, text: object) -> None:
    try:
        crs = CRS.from_epsg(code)
    except CRSError:
        raise ValueError(_unknown_crs_message(text, ": no such EPSG code")) from None
    if not (crs.is_geographic or crs.is_projected):
        reason = f": EPSG:{code} is a {crs.type_name}"
        raise ValueError(_unknown_crs_message(text, reason))


@functools.lru_cache(maxsize=64)
def is_geographic(crs: str) -> bool:
    """Whether `crs` takes longitude/latitude in degrees (not metres).

    Parameters
    ----------
    crs : str
        Any spelling :func:`parse_crs` accepts.

    Examples
    --------
    >>> is_geographic("gcj02"), is_geographic("EPSG:4214"), is_geographic("4547")
    (True, True, False)
    """
    canonical = parse_crs(crs)
    if not canonical.startswith("EPSG:"):
        return True  # wgs84, gcj02, bd09
    return CRS.from_user_input(canonical).is_geographic


@functools.lru_cache(maxsize=64)
def area_of_use(crs: str) -> tuple[float, float, float, float] | None:
    """Where a projected `crs` is meant to be used, as (west, south, east, north).

    Outside it a projection's formulas still give numbers, but not ones anyone
    measured: 10,000 km east of a Gauss-Kruger zone's meridian lands in the
    Pacific.  None for geographic systems and those EPSG gives no area for.

    Parameters
    ----------
    crs : str
        Any spelling :func:`parse_crs` accepts.

    Examples
    --------
    >>> area_of_use("EPSG:4547")  # CM 114E
    (112.5, 21.52, 115.5, 45.45)
    >>> area_of_use("gcj02") is None
    True
    """
    if is_geographic(crs):
        return None
    area = CRS.from_user_input(parse_crs(crs)).area_of_use
    return None if area is None else tuple(area.bounds)


@functools.lru_cache(maxsize=32)
def _transformer(source: str, target: str) -> Transformer:
    """Return a cached pyproj Transformer (building one costs milliseconds)."""
    return Transformer.from_crs(source, target, always_xy=True)


_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_FROM_WGS84 = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str):
    """Convert coordinates in `crs` to WGS84 longitude/latitude.

    Parameters
    ----------
    lon, lat : float or array_like
        x and y in `crs` (longitude/latitude, or easting/northing in metres).
    crs : str
        Any spelling :func:`parse_crs` accepts.  WGS84 and CGCS2000 (EPSG:4490)
        pass through unchanged.

    Returns
    -------
    tuple
        ``(lon, lat)`` in WGS84: floats for scalar input, else arrays.

    Raises
    ------
    ValueError
        If `crs` is not a known system.
    """
    return _convert(lon, lat, parse_crs(crs), _TO_WGS84, inverse=True)


def from_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str):
    """Convert WGS84 longitude/latitude to `crs`, e.g. to overlay a GCJ-02 map.

    Parameters
    ----------
    lon, lat : float or array_like
        WGS84 longitude and latitude in degrees.
    crs : str
        Any spelling :func:`parse_crs` accepts.

    Returns
    -------
    tuple
        ``(x, y)`` in `crs`: floats for scalar input, else arrays.

    Raises
    ------
    ValueError
        If `crs` is not a known system.
    """
    return _convert(lon, lat, parse_crs(crs), _FROM_WGS84, inverse=False)


def _convert(lon, lat, crs: str, obfuscations: dict, inverse: bool):
    """Convert between WGS84 and canonical `crs`; `inverse` means towards WGS84."""
    if crs in obfuscations:
        return obfuscations[crs](lon, lat)
    if crs in _PASS_THROUGH:
        # Copies, so a caller editing the result never edits its input.
        return _accepts_scalars(lambda x, y: (x.copy(), y.copy()))(lon, lat)
    wgs84 = f"EPSG:{STORAGE_SRID}"
    source, target = (crs, wgs84) if inverse else (wgs84, crs)
    return _accepts_scalars(_transformer(source, target).transform)(lon, lat)


def transform_geometry(geom: shapely.Geometry, crs: str) -> shapely.Geometry:
    """Return `geom` with its coordinates converted from `crs` to WGS84.

    All coordinates go through the vectorised converters in one call; the
    geometry type and structure are kept.  Z values are dropped (the service is
    two-dimensional).

    Parameters
    ----------
    geom : shapely.Geometry
        Geometry in `crs`.
    crs : str
        Any spelling :func:`parse_crs` accepts.

    Returns
    -------
    shapely.Geometry
        The same kind of geometry in WGS84 longitude/latitude.

    Raises
    ------
    ValueError
        If `crs` is not a known system.

    Examples
    --------
    >>> from shapely import Point
    >>> transform_geometry(Point(115.0, 35.0), "wgs84")
    <POINT (115 35)>
    """
    canonical = parse_crs(crs)
    return shapely.transform(
        geom,
        lambda x, y: to_wgs84(x, y, canonical),
        include_z=False,
        interleaved=False,
    )
