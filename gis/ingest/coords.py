"""Coordinates of imported rows: which system they are in, and are they plausible.

Which system: ``--crs`` wins over what the file declares (a GeoJSON exported
from AMap says WGS84 but holds GCJ-02); a file that declares nothing is WGS84
if its numbers look like degrees, and is **refused** if they look like metres,
with a message that names the Gauss-Kruger zone the numbers suggest.

Gauss-Kruger eastings come with or without the zone number in front
(``38 512 345.6`` or ``512 345.6``).  Either form is accepted for either EPSG
series: the zone prefix is added or removed to match the declared CRS, and a
prefix that contradicts it is an error.

Plausibility, row by row (:func:`check_points`): finite numbers, latitude and
longitude swapped (a Chinese latitude in the longitude column), and inside the
districts already loaded.
"""

from __future__ import annotations

import functools
import logging

import numpy as np
import shapely
from pyproj import CRS

from gis import crs as crs_mod
from gis.errors import InvalidInput
from gis.ingest.report import ask

logger = logging.getLogger(__name__)

CHINA_LON = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)


def choose_crs(declared: str | None, given: str | None, x, y) -> tuple[str, str | None]:
    """The system to read coordinates in, and a note for the report (or None).

    Parameters
    ----------
    declared : str or None
        What the file says (``EPSG:n`` or WKT), if anything.
    given : str or None
        The user's ``--crs``.
    x, y : array_like
        A sample of the coordinates, to tell degrees from metres.
    """
    if given:
        try:
            chosen = crs_mod.parse_crs(given)
        except ValueError as exc:
            raise InvalidInput(
                f"坐标系（--crs）无效 / invalid coordinate system (--crs): {exc}",
                field="crs",
            ) from None
        note = None
        if declared and _normal(declared) != chosen:
            note = (
                f"文件声明 {declared}，按所填坐标系 {chosen} 读取 / the file says "
                f"{declared}; read as {chosen} as the coordinate system given asks"
            )
        return chosen, note
    if declared:
        return _normal(declared), None
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    finite = np.isfinite(x) & np.isfinite(y)
    if finite.any() and (np.abs(x[finite]) > 180).mean() > 0.5:
        raise InvalidInput(_metres_message(x[finite], y[finite]), field="crs")
    return "wgs84", (
        f"文件未声明坐标系，按 WGS84 读取；高德/腾讯坐标请{ask('crs', 'gcj02')}，"
        f"百度坐标{ask('crs', 'bd09')} / no coordinate system declared: read as "
        "WGS84; set the coordinate system (坐标系, --crs) to gcj02 for "
        "AMap/Tencent or bd09 for Baidu coordinates"
    )


def _normal(declared: str) -> str:
    try:
        return crs_mod.parse_crs(declared)
    except ValueError:
        # WKT without an EPSG match: pyproj still converts it.
        return declared


def _metres_message(x: np.ndarray, y: np.ndarray) -> str:
    easting = float(np.median(x))
    hint = ""
    zone = int(easting // 1_000_000)
    if 13 <= zone <= 23:
        code = f"EPSG:{4491 + zone - 13}"
        hint = f"；东坐标带号 {zone}：6 度带，如{ask('crs', code)}"
    elif 25 <= zone <= 45:
        code = f"EPSG:{4513 + zone - 25}"
        hint = f"；东坐标带号 {zone}：3 度带，如{ask('crs', code)}"
    elif 0 < easting < 1_000_000:
        code = "EPSG:4547"
        hint = f"；无带号的高斯-克吕格坐标，如濮阳所在的 3 度带{ask('crs', code)}"
    return (
        f"坐标像是米而不是经纬度，文件又没有声明坐标系{hint} / the coordinates look "
        "like metres but the file declares no coordinate system: set the "
        "coordinate system (坐标系, --crs) to EPSG:<code>, e.g. a CGCS2000 "
        "Gauss-Kruger zone (3-degree: EPSG:4513-4533 "
        "with the zone number in the easting, 4534-4554 without; 6-degree: "
        "4491-4501 / 4502-4512)"
    )


@functools.lru_cache(maxsize=64)
def _gauss_kruger(system: str) -> tuple[int, float] | None:
    """(zone number, false easting) of a Transverse Mercator CRS, else None."""
    if not system.startswith("EPSG:"):
        return None
    crs = CRS.from_user_input(system)
    operation = crs.coordinate_operation
    if (
        not crs.is_projected
        or operation is None
        or "Transverse" not in operation.method_name
    ):
        return None
    params = {p.name: p.value for p in operation.params}
    central = params.get("Longitude of natural origin")
    false_easting = params.get("False easting", 0.0)
    if central is None:
        return None
    if false_easting > 1_000_000:  # "zone nn" series: the zone is in the easting
        return int(false_easting // 1_000_000), false_easting
    # "CM nnnE" series; EPSG names the 3-degree ones "3-degree Gauss-Kruger".
    zone = round(central / 3) if "3-degree" in crs.name else round((central + 3) / 6)
    return zone, false_easting


def normalise_easting(x: np.ndarray, system: str) -> np.ndarray:
    """Add or strip the Gauss-Kruger zone prefix so ``x`` matches ``system``."""
    gk = _gauss_kruger(system)
    if gk is None:
        return x
    zone, false_easting = gk
    prefixed_crs = false_easting > 1_000_000
    finite = np.isfinite(x)
    has_prefix = finite & (x >= 1_000_000)
    if not has_prefix.any():
        return x + zone * 1_000_000 if prefixed_crs else x
    prefixes = np.unique((x[has_prefix] // 1_000_000).astype(int))
    if len(prefixes) > 1 or prefixes[0] != zone:
        raise InvalidInput(
            f"东坐标带号 {', '.join(map(str, prefixes))} 与坐标系 {system} 的带号 "
            f"{zone} 不符 / easting zone prefix {', '.join(map(str, prefixes))} does "
            f"not match {system} (zone {zone})",
            field="crs",
        )
    if prefixed_crs:
        return np.where(finite & ~has_prefix, x + zone * 1_000_000, x)
    return np.where(has_prefix, x - zone * 1_000_000, x)


def to_wgs84(x, y, system: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert ``x``, ``y`` (arrays) in ``system`` to WGS84 longitude/latitude."""
    x = normalise_easting(np.asarray(x, dtype=float), system)
    lon, lat = crs_mod.to_wgs84(x, np.asarray(y, dtype=float), system)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def check_points(
    lon: np.ndarray, lat: np.ndarray, districts: shapely.Geometry | None
) -> list[tuple[int, str, str]]:
    """Problems of WGS84 points: ``(position, field, reason)`` per bad point.

    ``districts`` (the union of the loaded districts, or None) catches points
    that land outside; a point whose swapped coordinates fall in China is
    reported as swapped rather than just outside.
    """
    problems = []
    finite = np.isfinite(lon) & np.isfinite(lat)
    china = finite & in_china(lon, lat)
    swapped = finite & ~china & in_china(lat, lon)
    inside = np.ones(len(lon), dtype=bool)
    if districts is not None:
        inside = np.zeros(len(lon), dtype=bool)
        inside[finite] = shapely.contains_xy(districts, lon[finite], lat[finite])
    for i in np.flatnonzero(~finite | swapped | ~inside):
        if not finite[i]:
            problems.append(
                (int(i), "lon", "坐标无效 / coordinates are not valid numbers")
            )
        elif swapped[i]:
            problems.append((int(i), "lon", (
                f"经纬度似乎填反了（经度 {lon[i]:.6f}，纬度 {lat[i]:.6f}） / longitude "
                "and latitude look swapped"
            )))  # fmt: skip
        else:
            problems.append((int(i), "lon", (
                f"点不在辖区内（{lon[i]:.6f}, {lat[i]:.6f}） / point outside the "
                "district(s) loaded"
            )))  # fmt: skip
    return problems


def in_china(lon, lat) -> np.ndarray:
    """True where (lon, lat) falls in China's bounding box."""
    return (
        (lon >= CHINA_LON[0]) & (lon <= CHINA_LON[1])
        & (lat >= CHINA_LAT[0]) & (lat <= CHINA_LAT[1])
    )  # fmt: skip
