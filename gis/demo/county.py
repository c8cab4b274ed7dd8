"""A synthetic county at benchmark scale: 10,000 villages tiled by 50,000 grids.

Villages are the cells of a jittered lattice.  Every lattice edge is a noisy
polyline generated once and used, vertex for vertex, by both villages it
separates, so the villages tile the county exactly: no gaps, no overlaps.  Each
village is cut into five grids by noisy spokes from its centre to its four
corners and to the middle vertex of its southern edge; the grids reuse the
village's own edges, so they tile it exactly too.  Villages and grids have 300+
vertices each.  Townships are square blocks of villages; police stations are
larger blocks that cut across the townships (a separate tree, as in life).

Noise keeps each edge inside a thin rhombus around its chord (the offset is
bounded by ``amplitude * sin(pi * t)`` of the chord length), so edges meeting at a
node cannot cross and every polygon is valid.

``generate`` is pure (no database); ``load`` writes the areas into a database
that has none yet.  Everything is deterministic for a given :class:`CountySpec`.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import numpy as np
import shapely
import sqlalchemy as sa

from gis.bulk import NULL

logger = logging.getLogger(__name__)

COUNTY_CODE = "410999"  # not a real county: Puyang's prefix, county 99
SOURCE = "pingan-grid synthetic county (benchmark)"
PARENT_KIND = {
    "district": None,
    "township": "district",
    "police_station": "district",
    "village": "township",
    "grid": "village",
}


@dataclass(frozen=True)
class CountySpec:
    """Size and shape of the synthetic county (defaults: 100 x 100 villages)."""

    columns: int = 100
    rows: int = 100
    township_block: int = 20  # villages per side of a township (20 x 20 = 400)
    station_block: int = 25  # villages per side of a police station's block
    edge_segments: int = 96  # segments per village edge (4 edges: 384 vertices)
    spoke_segments: int = 128  # segments per spoke (each grid has two)
    west: float = 114.60  # degrees; the county lies south of Puyang
    south: float = 35.20
    cell_x: float = 0.0055  # about 500 m at this latitude
    cell_y: float = 0.0045
    seed: int = 20240101

    def __post_init__(self):
        blocks = -(-self.columns // self.township_block) * -(
            -self.rows // self.township_block
        )
        if self.township_block > 31 or blocks > 999:
            raise ValueError(
                "3-digit codes: at most 999 townships of at most 31 x 31 villages"
            )
        if self.edge_segments % 2:
            raise ValueError("edge_segments must be even (grids split an edge)")


def _noisy_edges(a, b, segments: int, amplitude: float, rng) -> np.ndarray:
    """Polylines from ``a`` to ``b`` (arrays of shape (..., 2)), ends exact.

    Returns shape (..., segments + 1, 2).  The offset from the chord is at most
    ``amplitude * sin(pi t)`` chord lengths: smooth waves plus digitising jitter.
    """
    t = np.linspace(0.0, 1.0, segments + 1)
    shape = a.shape[:-1]
    phase = rng.uniform(0, 2 * np.pi, (*shape, 1, 3))
    waves = np.sin(2 * np.pi * np.arange(1, 4) * t[:, None] + phase)
    smooth = waves @ np.array([0.5, 0.3, 0.2])
    jitter = rng.uniform(-1.0, 1.0, (*shape, segments + 1))
    offset = amplitude * np.sin(np.pi * t) * (0.7 * smooth + 0.3 * jitter)
    d = (b - a)[..., None, :]
    normal = np.stack([-d[..., 1], d[..., 0]], axis=-1)
    pts = a[..., None, :] + t[:, None] * d + offset[..., None] * normal
    pts[..., 0, :] = a
    pts[..., -1, :] = b
    return pts


def _lattice(spec: CountySpec, rng) -> tuple[np.ndarray, np.ndarray]:
    """Noisy lattice edges: horizontal ``h[j, i]`` from node (j, i) to (j, i+1)
    and vertical ``v[j, i]`` from node (j, i) to (j+1, i), in degrees."""
    jj, ii = np.mgrid[0 : spec.rows + 1, 0 : spec.columns + 1]
    nodes = np.stack([ii, jj], axis=-1) + rng.uniform(-0.15, 0.15, (*ii.shape, 2))
    nodes = nodes * (spec.cell_x, spec.cell_y) + (spec.west, spec.south)
    # Horizontal edges are two noisy halves: the grids' spokes end at the middle
    # vertex, where the edge must run straight for the spoke to meet it cleanly.
    west, east = nodes[:, :-1], nodes[:, 1:]
    middle = (west + east) / 2
    half = spec.edge_segments // 2
    h = np.concatenate(
        [
            _noisy_edges(west, middle, half, 0.08, rng),
            _noisy_edges(middle, east, half, 0.08, rng)[..., 1:, :],
        ],
        axis=-2,
    )
    v = _noisy_edges(nodes[:-1], nodes[1:], spec.edge_segments, 0.06, rng)
    return h, v


def _rings(h: np.ndarray, v: np.ndarray, spec: CountySpec, rng):
    """Closed rings of every village (rows, cols, n, 2) and of its five grids."""
    half = spec.edge_segments // 2
    south, north = h[:-1], h[1:]
    west, east = v[:, :-1], v[:, 1:]
    corners = [south[..., 0, :], south[..., -1, :], north[..., -1, :], north[..., 0, :]]
    centre = sum(corners) / 4
    middle = south[..., half, :]
    targets = np.stack([corners[0], middle, corners[1], corners[2], corners[3]], -2)
    spokes = _noisy_edges(
        np.repeat(centre[..., None, :], 5, axis=-2),
        targets,
        spec.spoke_segments,
        0.04,
        rng,
    )
    back = spokes[..., ::-1, :][..., 1:, :]  # target -> centre, target dropped
    out = spokes[..., 1:, :]  # centre -> target, centre dropped
    rim = [  # the village boundary between consecutive spoke targets
        south[..., : half + 1, :],
        south[..., half:, :],
        east,
        north[..., ::-1, :],
        west[..., ::-1, :],
    ]
    grids = [
        np.concatenate([rim[k], back[..., (k + 1) % 5, :, :], out[..., k, :, :]], -2)
        for k in range(5)
    ]
    village = np.concatenate([rim[0], *(r[..., 1:, :] for r in rim[1:])], -2)
    return village, grids


def _block_ring(h: np.ndarray, v: np.ndarray, i0: int, i1: int, j0: int, j1: int):
    """Closed outer ring of the block of villages [i0, i1) x [j0, j1)."""
    pieces = [h[j0, i] for i in range(i0, i1)]
    pieces += [v[j, i1] for j in range(j0, j1)]
    pieces += [h[j1, i][::-1] for i in reversed(range(i0, i1))]
    pieces += [v[j, i0][::-1] for j in reversed(range(j0, j1))]
    return np.concatenate([pieces[0], *(p[1:] for p in pieces[1:])])


def _blocks(spec: CountySpec, size: int):
    """Blocks of ``size`` x ``size`` villages, row by row: (i0, i1, j0, j1)."""
    for j0 in range(0, spec.rows, size):
        for i0 in range(0, spec.columns, size):
            yield i0, min(i0 + size, spec.columns), j0, min(j0 + size, spec.rows)


def _polygons(rings: np.ndarray):
    """Shapely polygons from an array of closed rings of equal length."""
    flat = rings.reshape(-1, rings.shape[-2], 2)
    return shapely.polygons(flat)


def _area(kind, code, name, parent, geom) -> dict:
    return {
        "kind": kind,
        "code": code,
        "name": name,
        "parent_code": parent,
        "geom": geom,
    }


def generate(spec: CountySpec = CountySpec()) -> list[dict]:
    """Area rows (kind, code, name, parent_code, shapely geom), parents first."""
    rng = np.random.default_rng(spec.seed)
    h, v = _lattice(spec, rng)
    village_rings, grid_rings = _rings(h, v, spec, rng)
    district = f"{COUNTY_CODE}000000"
    whole = _block_ring(h, v, 0, spec.columns, 0, spec.rows)
    areas = [_area("district", district, "合成县", None, shapely.Polygon(whole))]
    village_code = np.empty((spec.rows, spec.columns), dtype=object)
    for n, (i0, i1, j0, j1) in enumerate(_blocks(spec, spec.township_block), 1):
        code = f"{COUNTY_CODE}{n:03d}000"
        ring = shapely.Polygon(_block_ring(h, v, i0, i1, j0, j1))
        areas.append(_area("township", code, f"合成{n:02d}乡", district, ring))
        for k, (j, i) in enumerate(np.ndindex(j1 - j0, i1 - i0), 1):
            village_code[j0 + j, i0 + i] = f"{code[:9]}{k:03d}"
    for n, (i0, i1, j0, j1) in enumerate(_blocks(spec, spec.station_block)):
        ring = shapely.Polygon(_block_ring(h, v, i0, i1, j0, j1))
        code, name = f"{COUNTY_CODE}{510 + n:03d}000", f"合成{n + 1:02d}派出所"
        areas.append(_area("police_station", code, name, district, ring))
    codes = village_code.ravel()
    for code, geom in zip(codes, _polygons(village_rings), strict=True):
        township = f"{code[:9]}000"
        areas.append(
            _area("village", code, f"合成{code[6:9]}-{code[9:]}村", township, geom)
        )
    for k, rings in enumerate(grid_rings, 1):
        for code, geom in zip(codes, _polygons(rings), strict=True):
            name = f"合成{code[6:9]}-{code[9:]}村第{k}网格"
            areas.append(_area("grid", f"{code}{k:03d}", name, code, geom))
    return areas


def load(engine: sa.Engine, spec: CountySpec = CountySpec()) -> dict[str, int]:
    """Generate the county and write it, in one transaction, into a database
    that has no areas yet (about 1.5 minutes for the default size: the schema's
    subdivision trigger costs about a millisecond per detailed polygon).

    Returns
    -------
    dict
        Number of areas written per kind.
    """
    areas = generate(spec)
    with engine.begin() as conn:
        if conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM area)")).scalar():
            raise ValueError("the synthetic county loads only into an empty area table")
        _insert(conn, areas)
    counts: dict[str, int] = {}
    for a in areas:
        counts[a["kind"]] = counts.get(a["kind"], 0) + 1
    return counts


def _insert(conn: sa.Connection, areas: list[dict]) -> None:
    """Stage ``areas`` and insert them parents first, parents looked up by code."""
    cur = conn.connection.cursor()
    _stage(cur, areas)
    for kind, parent in PARENT_KIND.items():
        cur.execute(
            """INSERT INTO area (kind, code, name, parent_id, geom, synthetic, source)
               SELECT s.kind, s.code, s.name, p.id, ST_Multi(s.geom), true, %s
                 FROM stage_county s
                 LEFT JOIN area p ON p.code = s.parent_code AND p.kind = %s
                WHERE s.kind = %s ORDER BY s.code""",
            (SOURCE, parent, kind),
        )
        logger.info("county: %d %s areas", cur.rowcount, kind)


def _stage(cur, areas: list[dict], batch: int = 5000) -> None:
    """COPY the areas into temp table ``stage_county`` (text format, hex EWKB).

    Faster than :func:`gis.bulk.copy_to_temp` for 20 million vertices: the WKB is
    made in one vectorised call and no CSV quoting is needed (our own values).
    """
    cur.execute(
        "CREATE TEMP TABLE stage_county (kind text, code text, name text,"
        " parent_code text, geom geometry) ON COMMIT DROP"
    )
    geoms = shapely.set_srid(np.array([a["geom"] for a in areas]), 4326)
    wkb = shapely.to_wkb(geoms, include_srid=True)
    for start in range(0, len(areas), batch):
        rows = zip(
            areas[start : start + batch], wkb[start : start + batch], strict=True
        )
        text = "".join(
            f"{a['kind']}\t{a['code']}\t{a['name']}\t{a['parent_code'] or NULL}"
            f"\t{w.hex()}\n"
            for a, w in rows
        )
        cur.copy_expert("COPY stage_county FROM STDIN", io.StringIO(text))
