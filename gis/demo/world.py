"""Deterministic generation of the synthetic demo world (pure; no database).

All geometry is built in metres in a local plane (see :class:`_Space`) and
returned in WGS84.  Scale follows the field reports for 华龙区: about 168
villages/communities in 12 townships/street offices, several hundred grids, 8
police stations, 23 警务室 and 118 警务工作站, ~4,000 cameras and ~5,000 incidents
over two years with a few genuine hotspots and planted coverage gaps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon

from gis import boundaries, vocab
from gis.clock import BEIJING
from gis.demo import duty, names

logger = logging.getLogger(__name__)

DISTRICT_CODE = "410902"
N_VILLAGES = 168
N_TOWNSHIPS = 12
N_STREETS = 5  # townships nearest the core are 街道 (street offices)
N_STATIONS = 8
N_POLICE_ROOMS = 23
N_WORKSTATIONS = 118
N_NO_OFFICER = 12  # planted 一村一警 gaps: villages nobody answers for
N_NO_GRID_MEMBER = 6  # planted gaps: grids without a grid member
CORE_RADIUS_M = 4500  # villages within this distance of the core are communities
END = datetime(2026, 10, 31, 18, 0, tzinfo=BEIJING)
SPAN_DAYS = 730
CHINA_TZ = BEIJING


@dataclass
class World:
    """The generated world: area rows and point rows, geometries in WGS84."""

    outline: MultiPolygon
    areas: list[dict] = field(default_factory=list)
    posts: list[dict] = field(default_factory=list)
    officers: list[dict] = field(default_factory=list)
    officer_areas: list[tuple[str, str]] = field(default_factory=list)
    grid_members: list[dict] = field(default_factory=list)
    # Legal advisers, mediators (gis.demo.duty) and their villages.
    people: list[dict] = field(default_factory=list)
    person_areas: list[tuple[str, str]] = field(default_factory=list)
    cameras: list[dict] = field(default_factory=list)
    sites: list[dict] = field(default_factory=list)
    incidents: list[dict] = field(default_factory=list)


class _Space:
    """The district in a local metric plane, with the transform back to WGS84.

    The plane is equirectangular about the district's centre: an *affine* map of
    longitude/latitude.  Affine maps keep straight lines straight, so a vertex
    that splits a shared edge (village/grid/station borders) stays exactly on that
    edge after the conversion back; a Gauss-Kruger projection would bend the edge
    and open centimetre-wide slivers kilometres long.  Scale error over a county
    is under 0.1 %, irrelevant for synthetic geography.
    """

    def __init__(self, outline_wgs84: MultiPolygon):
        centre = outline_wgs84.centroid
        self.lon0, self.lat0 = centre.x, centre.y
        self.kx = 111_320.0 * np.cos(np.radians(self.lat0))  # metres per degree
        self.ky = 110_574.0
        self.region = shapely.transform(outline_wgs84, self._fwd_xy)
        shapely.prepare(self.region)
        # The urban core: the densest part of Puyang lies in the district's north.
        minx, miny, maxx, maxy = self.region.bounds
        guess = Point(minx + 0.55 * (maxx - minx), miny + 0.7 * (maxy - miny))
        self.core = (
            shapely.ops.nearest_points(self.region, guess)[0]
            if not self.region.contains(guess)
            else guess
        )
        # The outline vertex farthest from the core: where gaps are planted.
        ring = np.vstack([np.asarray(p.exterior.coords) for p in self.region.geoms])
        far = np.hypot(ring[:, 0] - self.core.x, ring[:, 1] - self.core.y)
        self.far_corner = Point(ring[np.argmax(far)])

    def _fwd_xy(self, xy):
        return np.column_stack(
            ((xy[:, 0] - self.lon0) * self.kx, (xy[:, 1] - self.lat0) * self.ky)
        )

    def inv_xy(self, x, y):
        """Plane metres → (lon, lat) arrays."""
        return np.asarray(x) / self.kx + self.lon0, np.asarray(y) / self.ky + self.lat0

    def to_wgs84(self, geom):
        return shapely.transform(
            geom, lambda xy: np.column_stack(self.inv_xy(xy[:, 0], xy[:, 1]))
        )

    def inside(self, xy: np.ndarray) -> np.ndarray:
        return shapely.contains_xy(self.region, xy[:, 0], xy[:, 1])

    def dist_to_core(self, xy: np.ndarray) -> np.ndarray:
        return np.hypot(xy[:, 0] - self.core.x, xy[:, 1] - self.core.y)


def _multipolygon(geom, min_area: float = 1.0) -> MultiPolygon:
    """Keep the polygonal parts of a clip/union result as a valid MultiPolygon,
    dropping slivers under ``min_area`` (square units of the geometry's CRS)."""
    geom = shapely.make_valid(geom)
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon)]
    if not parts:
        parts = [
            g
            for sub in shapely.get_parts(geom)
            for g in shapely.get_parts(sub)
            if isinstance(g, Polygon)
        ]
    return MultiPolygon([p for p in parts if p.area > min_area])


def _sample_in(
    space: _Space, rng, n: int, region=None, centre=None, sigma: float | None = None
) -> np.ndarray:
    """``n`` points inside ``region`` (default the district), uniform or Gaussian."""
    region = space.region if region is None else region
    minx, miny, maxx, maxy = region.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        k = max(64, 2 * (n - len(out)))
        if centre is None:
            xy = rng.uniform((minx, miny), (maxx, maxy), size=(k, 2))
        else:
            xy = rng.normal((centre.x, centre.y), sigma, size=(k, 2))
        xy = xy[shapely.contains_xy(region, xy[:, 0], xy[:, 1])]
        out = np.vstack([out, xy])
    return out[:n]


def _village_seeds(space: _Space, rng) -> np.ndarray:
    """Seed points, denser in the urban core, kept apart so cells are not slivers."""
    seeds: list[np.ndarray] = []
    while len(seeds) < N_VILLAGES:
        if rng.random() < 0.4:
            cand = _sample_in(space, rng, 1, centre=space.core, sigma=2500)[0]
        else:
            cand = _sample_in(space, rng, 1)[0]
        near_core = np.hypot(*(cand - (space.core.x, space.core.y))) < CORE_RADIUS_M
        min_gap = 450 if near_core else 950
        if all(np.hypot(*(cand - s)) >= min_gap for s in seeds):
            seeds.append(cand)
    return np.array(seeds)


def _voronoi(points: np.ndarray, region) -> list[MultiPolygon]:
    """Voronoi cells of ``points`` (in input order) clipped to ``region``."""
    minx, miny, maxx, maxy = region.bounds
    frame = shapely.box(minx - 5000, miny - 5000, maxx + 5000, maxy + 5000)
    cells = shapely.voronoi_polygons(
        shapely.multipoints(points), extend_to=frame, ordered=True
    )
    return [_multipolygon(c.intersection(region)) for c in shapely.get_parts(cells)]


def _kmeans(xy: np.ndarray, k: int, rng, weights=None, iters: int = 30) -> np.ndarray:
    """Plain Lloyd k-means (deterministic given ``rng``); returns labels."""
    centres = xy[rng.choice(len(xy), size=k, replace=False)]
    for _ in range(iters):
        labels = np.argmin(((xy[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        for j in range(k):
            members = labels == j
            if members.any():
                w = None if weights is None else weights[members]
                centres[j] = np.average(xy[members], axis=0, weights=w)
    return labels


def _union(cells: list) -> MultiPolygon:
    """Union of cells that share edges exactly (a polygonal coverage)."""
    merged = shapely.coverage_union_all(cells)
    if not merged.is_valid:
        merged = shapely.union_all(cells)
    return _multipolygon(merged)


def _area(kind, code, name, parent, geom, subkind=None, population=None) -> dict:
    households = None if population is None else int(round(population / 2.8))
    return {
        "kind": kind,
        "code": code,
        "name": name,
        "parent_code": parent,
        "subkind": subkind,
        "population": population,
        "households": households,
        "geom": geom,
    }


def _townships(space, rng, seeds, cells) -> tuple[list[dict], np.ndarray, list[str]]:
    """Group villages into townships; the ones nearest the core are 街道."""
    labels = _kmeans(seeds, N_TOWNSHIPS, rng)
    centres = np.array([seeds[labels == j].mean(axis=0) for j in range(N_TOWNSHIPS)])
    order = np.argsort(space.dist_to_core(centres))  # core first
    rows, codes = [], [""] * N_TOWNSHIPS
    counters = {"street": 1, "town": 100, "township": 200}
    words = list(rng.permutation(names.TOWNSHIP_WORDS))
    for rank, j in enumerate(order):
        subkind = (
            "street" if rank < N_STREETS else ("town" if rank < 10 else "township")
        )
        number = counters[subkind]
        counters[subkind] += 1
        code = f"{DISTRICT_CODE}{number:03d}000"
        suffix = {"street": "街道", "town": "镇", "township": "乡"}[subkind]
        geom = _union([cells[i] for i in np.flatnonzero(labels == j)])
        rows.append(
            _area(
                "township",
                code,
                f"{words[rank]}{suffix}",
                f"{DISTRICT_CODE}000000",
                geom,
                subkind,
            )
        )
        codes[j] = code
    return rows, labels, codes


def _villages(space, rng, seeds, cells, labels, township_codes) -> list[dict]:
    """Village/community rows with codes nested in their township's code."""
    near = space.dist_to_core(seeds) < CORE_RADIUS_M
    used: set[str] = set()
    rows: list[dict] = [{}] * len(seeds)
    next_no: dict = {}
    for i in np.argsort(space.dist_to_core(seeds)):
        tcode = township_codes[labels[i]]
        community = bool(near[i])
        # Statistical codes: 居委会 (communities) 001-199, 村委会 (villages) 200+.
        base = 1 if community else 200
        number = next_no.setdefault((tcode, community), base)
        next_no[(tcode, community)] = number + 1
        pop = int(rng.integers(3000, 12000) if community else rng.integers(800, 3500))
        rows[i] = _area(
            "village",
            f"{tcode[:9]}{number:03d}",
            names.village(rng, used, community),
            tcode,
            cells[i],
            "community" if community else "village",
            pop,
        )
    return rows


def _grids(space, rng, villages) -> list[dict]:
    """Split each village into grids (网格) whose codes extend the village code."""
    rows = []
    for v in villages:
        k = int(np.clip(round(v["population"] / 1800 + rng.uniform(-0.5, 0.5)), 1, 7))
        if k == 1:
            parts = [v["geom"]]
        else:
            seeds = _sample_in(space, rng, k, region=v["geom"])
            parts = [p for p in _voronoi(seeds, v["geom"]) if not p.is_empty]
        areas = np.array([p.area for p in parts])
        for n, part in enumerate(parts, start=1):
            pop = int(round(v["population"] * areas[n - 1] / areas.sum()))
            rows.append(
                _area(
                    "grid",
                    f"{v['code']}{n:03d}",
                    f"{v['name']}第{n}网格",
                    v["code"],
                    part,
                    None,
                    pop,
                )
            )
    return rows


def _station_names(space: _Space, centres: np.ndarray) -> list[str]:
    """Names that say where each station is: 城关 holds the old town (the
    urban core), the nearest others are 城东/城西/城南/城北 by their direction
    from it, farther ones 东郊/西郊/南郊/北郊; what is left takes the other
    words of :data:`names.STATION_WORDS` (开发区, 新区, ...)."""
    taken: set[str] = set()
    out = [""] * len(centres)
    spare = iter(w for w in names.STATION_WORDS if not w.startswith(("城", ))
                 and not w.endswith("郊"))  # fmt: skip
    for rank, i in enumerate(np.argsort(space.dist_to_core(centres))):
        dx, dy = centres[i, 0] - space.core.x, centres[i, 1] - space.core.y
        side = ("东" if dx > 0 else "西") if abs(dx) > abs(dy) else (
            "北" if dy > 0 else "南")  # fmt: skip
        wanted = ["城关"] if rank == 0 else [f"城{side}", f"{side}郊"]
        word = next((w for w in wanted if w not in taken), None) or next(spare)
        taken.add(word)
        out[i] = word
    return out


def _stations(space, rng, seeds, cells, villages_by_seed) -> list[dict]:
    """Police-station jurisdictions: groups of whole villages that tile the
    district, named by where they are (:func:`_station_names`)."""
    pops = np.array([v["population"] for v in villages_by_seed], dtype=float)
    labels = _kmeans(seeds, N_STATIONS, rng, weights=pops)
    centres = np.array([seeds[labels == j].mean(axis=0) for j in range(N_STATIONS)])
    words = _station_names(space, centres)
    order = np.argsort([seeds[labels == j, 1].mean() for j in range(N_STATIONS)])[::-1]
    rows = []
    for rank, j in enumerate(order):
        members = np.flatnonzero(labels == j)
        rows.append(
            _area(
                "police_station",
                f"{DISTRICT_CODE}{510 + rank:03d}000",
                f"{words[j]}派出所",
                f"{DISTRICT_CODE}000000",
                _union([cells[i] for i in members]),
                None,
                int(pops[members].sum()),
            )
        )
        rows[-1]["village_codes"] = [villages_by_seed[i]["code"] for i in members]
    return rows


def _rep_point(rng, geom, jitter: float = 0.0) -> np.ndarray:
    """A point well inside ``geom`` (optionally jittered, staying inside)."""
    base = np.array(geom.representative_point().coords[0])
    for _ in range(20):
        xy = base + rng.normal(0, jitter, 2) if jitter else base
        if geom.contains(Point(xy)):
            return xy
    return base


def _posts(space, rng, villages, stations) -> list[dict]:
    """派出所驻地 per station, 警务室 in the biggest communities, 警务工作站 in
    villages, leaving a planted corner of the district without any post."""
    by_code = {v["code"]: v for v in villages}
    posts = []
    for s in stations:
        biggest = max(
            (by_code[c] for c in s["village_codes"]), key=lambda v: v["population"]
        )
        posts.append(
            _post(
                "station_hq",
                f"{s['code']}",
                f"{s['name']}驻地",
                _rep_point(rng, biggest["geom"], 150),
                rng,
            )
        )
    communities = sorted(
        (v for v in villages if v["subkind"] == "community"),
        key=lambda v: -v["population"],
    )[:N_POLICE_ROOMS]
    for v in communities:
        posts.append(
            _post(
                "police_room",
                f"{v['code']}",
                f"{v['name']}警务室",
                _rep_point(rng, v["geom"], 120),
                rng,
            )
        )
    rest = [v for v in villages if v not in communities]
    # The planted gap: the villages nearest the district's far corner get no post.
    corner = space.far_corner
    rest.sort(key=lambda v: -v["geom"].centroid.distance(corner))
    for v in rest[:N_WORKSTATIONS]:
        posts.append(
            _post(
                "workstation",
                f"{v['code']}",
                f"{v['name']}警务工作站",
                _rep_point(rng, v["geom"], 150),
                rng,
            )
        )
    return posts


def _post(kind, area_code, name, xy, rng) -> dict:
    prefix = {"station_hq": "PS", "police_room": "JWS", "workstation": "GZZ"}[kind]
    staff = {"station_hq": (20, 45), "police_room": (2, 5), "workstation": (1, 3)}[kind]
    return {
        "code": f"{prefix}{area_code}",
        "name": name,
        "kind": kind,
        "staff": int(rng.integers(*staff)),
        "xy": xy,
        "phone": f"0393-{int(rng.integers(4000000, 4999999))}",
    }


def officer(rng, code: str, k: int, post_code: str) -> dict:
    """The ``k``-th officer of a post: the first is a 民警, the others 民警 or
    辅警 by chance (the demo district's and the county's rule)."""
    kind = "police" if k == 0 or rng.random() < 0.5 else "auxiliary"
    return {
        "code": code,
        "name": names.person(rng),
        "kind": kind,
        "post_code": post_code,
        "phone": f"1{int(rng.integers(3e9, 9e9))}",
    }


def _officers(space, rng, posts, villages) -> tuple[list[dict], list[tuple[str, str]]]:
    """Officers at each post, and the 一村一警 assignment with planted gaps."""
    officers, sworn_at = [], {}
    for post in posts:
        n = {"station_hq": 6, "police_room": 2, "workstation": 1}[post["kind"]]
        for k in range(n + int(rng.integers(0, 2))):
            code = f"{100001 + len(officers):06d}"  # 警号: six digits
            officers.append(officer(rng, code, k, post["code"]))
            if officers[-1]["kind"] == "police":
                sworn_at.setdefault(post["code"], []).append(code)
    corner = space.far_corner
    ranked = sorted(villages, key=lambda v: v["geom"].centroid.distance(corner))
    unassigned = {v["code"] for v in ranked[:N_NO_OFFICER]}
    post_xy = np.array([p["xy"] for p in posts])
    links = []
    for v in villages:
        if v["code"] in unassigned:
            continue
        c = v["geom"].representative_point()
        nearest = posts[int(np.argmin(np.hypot(*(post_xy - (c.x, c.y)).T)))]
        pool = sworn_at[nearest["code"]]
        links.append((pool[len(links) % len(pool)], v["code"]))
    return officers, links


def _grid_members(rng, grids) -> list[dict]:
    """A full-time member for every grid (a part-time one too in large grids),
    but the planted gaps: :data:`N_NO_GRID_MEMBER` grids spread through the
    district, whose members are drawn and left out, so that every other draw
    of the world stays as it was."""
    stride = max(1, len(grids) // N_NO_GRID_MEMBER)
    ordered = sorted(grids, key=lambda g: g["code"])
    empty = {g["code"] for g in ordered[stride // 2 :: stride]}
    rows = []
    for g in grids:
        for n in range(1 if g["population"] < 3000 else 2):
            row = {
                "code": f"WGY{g['code']}{n}",
                "name": names.person(rng),
                "grid_code": g["code"],
                "kind": "full_time" if n == 0 else "part_time",
                "phone": f"1{int(rng.integers(3e9, 9e9))}",
            }
            if g["code"] not in empty:
                rows.append(row)
    return rows


SITE_COUNTS = {
    "intersection": 60,
    "school": 40,
    "hospital": 8,
    "market": 20,
    "hazchem": 6,
    "transport": 4,
    "government": 12,
}


def _sites(space, rng, villages) -> list[dict]:
    """Key places: intersections and hospitals in the core, plants on the outskirts."""
    rows = []
    for kind, n in SITE_COUNTS.items():
        if kind in ("intersection", "hospital", "transport", "government"):
            xy = _sample_in(space, rng, n, centre=space.core, sigma=2200)
        elif kind == "hazchem":
            pool = _sample_in(space, rng, 400)
            xy = pool[np.argsort(-space.dist_to_core(pool))[: n * 6 : 6]]
        else:
            chosen = rng.choice(len(villages), size=n, replace=False)
            xy = np.array([_rep_point(rng, villages[i]["geom"], 200) for i in chosen])
        label = vocab.SITE_KINDS[kind]
        for i, p in enumerate(xy, start=1):
            rows.append(
                {
                    "code": f"SITE-{kind[:4].upper()}-{i:03d}",
                    "name": f"{label}{i:02d}（模拟）",
                    "kind": kind,
                    "xy": p,
                }
            )
    return rows


# Shared with the county (gis/demo/county_world.py): 雪亮工程 camera mix.
CAMERA_KINDS = {"fixed": 0.75, "ptz": 0.15, "dome": 0.10}
CAMERA_STATUS = {"online": 0.95, "offline": 0.035, "fault": 0.015}
OWNERS = {"公安": 0.5, "综治": 0.3, "社会面": 0.2}


def _cameras(space, rng, n: int, sites, posts) -> list[dict]:
    """雪亮工程 cameras: dense in the core and at key places, sparse in the gap."""
    n_core, n_site = int(n * 0.5), int(n * 0.25)
    anchors = np.array([s["xy"] for s in sites] + [p["xy"] for p in posts])
    near = anchors[rng.integers(0, len(anchors), n_site)] + rng.normal(
        0, 120, (n_site, 2)
    )
    near = near[space.inside(near)]
    spread = _sample_in(space, rng, 3 * (n - n_core - len(near)))
    # Planted camera gap: hardly any cameras within 3 km of the far corner.
    corner = space.far_corner
    keep = np.hypot(spread[:, 0] - corner.x, spread[:, 1] - corner.y) > 3000
    spread = spread[keep | (rng.random(len(spread)) < 0.05)]
    xy = np.vstack(
        [_sample_in(space, rng, n_core, centre=space.core, sigma=2600), near, spread]
    )[:n]
    kinds = rng.choice(list(CAMERA_KINDS), size=n, p=list(CAMERA_KINDS.values()))
    status = rng.choice(list(CAMERA_STATUS), size=n, p=list(CAMERA_STATUS.values()))
    seen_days = np.where(
        status == "online", rng.uniform(0, 0.02, n), rng.uniform(1, 40, n)
    )
    rows = []
    for i in range(len(xy)):
        fixed = kinds[i] == "fixed"
        rows.append(
            {
                "code": f"410902{i + 1:06d}SX",
                "name": f"雪亮点位{i + 1:04d}",
                "kind": str(kinds[i]),
                "xy": xy[i],
                "azimuth": round(float(rng.uniform(0, 360)), 1) if fixed else None,
                "fov": round(float(rng.uniform(50, 110)), 1) if fixed else 360.0,
                "range_m": round(
                    float(rng.uniform(40, 150) if fixed else rng.uniform(120, 300)), 0
                ),
                "status": str(status[i]),
                "last_seen_at": END - timedelta(days=float(seen_days[i])),
                "owner": str(rng.choice(list(OWNERS), p=list(OWNERS.values()))),
            }
        )
    return rows


# The real mix reported by county 综治中心s: family, neighbour and debt disputes
# dominate; demolition and medical disputes are rare but serious.
CATEGORY_MIX = {
    "dispute_family": 0.20,
    "dispute_neighbour": 0.19,
    "dispute_debt": 0.11,
    "dispute_land": 0.09,
    "dispute_labour": 0.07,
    "dispute_demolition": 0.04,
    "dispute_property": 0.07,
    "dispute_medical": 0.02,
    "dispute_other": 0.04,
    "case": 0.08,
    "petition": 0.04,
    "accident": 0.03,
    "hazard": 0.02,
}
# Genuine hotspots: (anchor site kind, share of incidents, spread m, category mix,
# active in the last N days).
HOTSPOTS = [
    (
        "market",
        0.10,
        300,
        {
            "dispute_neighbour": 0.5,
            "dispute_property": 0.2,
            "case": 0.2,
            "dispute_other": 0.1,
        },
        SPAN_DAYS,
    ),
    ("hospital", 0.05, 200, {"dispute_medical": 0.7, "case": 0.3}, SPAN_DAYS),
    (
        "hazchem",
        0.08,
        500,
        {"dispute_labour": 0.6, "dispute_debt": 0.25, "accident": 0.15},
        SPAN_DAYS,
    ),
    (
        "village",
        0.08,
        450,
        {"dispute_demolition": 0.65, "dispute_land": 0.25, "petition": 0.10},
        240,
    ),
]
# Day offsets (from the window's start) that fall in December-February.
WINTER_DAYS = np.array(
    [
        d
        for d in range(SPAN_DAYS)
        if (END - timedelta(days=SPAN_DAYS - d)).month in (12, 1, 2)
    ]
)
SOURCES = ["12345热线", "网格员上报", "110接警", "群众来访", "视频巡查"]


def _incident_places(space, rng, n, villages, sites) -> list[tuple]:
    """(xy, category, earliest day offset) for each incident."""
    cats, probs = list(CATEGORY_MIX), np.array(list(CATEGORY_MIX.values()))
    probs = probs / probs.sum()
    out: list[tuple] = []
    for kind, share, spread, mix, active_days in HOTSPOTS:
        if kind == "village":
            anchor = villages[int(np.argsort([v["population"] for v in villages])[-40])]
            centre = anchor["geom"].representative_point()
        else:
            centre = Point([s for s in sites if s["kind"] == kind][0]["xy"])
        k = int(n * share)
        xy = _sample_in(space, rng, k, centre=centre, sigma=spread)
        hot_cats = rng.choice(list(mix), size=k, p=list(mix.values()))
        out += [(xy[i], str(hot_cats[i]), SPAN_DAYS - active_days) for i in range(k)]
    weights = np.array([v["population"] for v in villages], dtype=float)
    chosen = rng.choice(len(villages), size=n - len(out), p=weights / weights.sum())
    base_cats = rng.choice(cats, size=len(chosen), p=probs)
    for i, vi in enumerate(chosen):
        xy = _sample_in(space, rng, 1, region=villages[vi]["geom"])[0]
        out.append((xy, str(base_cats[i]), 0))
    return out


def _incidents(space, rng, n: int, villages, sites) -> list[dict]:
    """Incidents over two years with realistic statuses and resolution times."""
    rows = []
    for i, (xy, cat, first_day) in enumerate(
        _incident_places(space, rng, n, villages, sites)
    ):
        day = rng.uniform(first_day, SPAN_DAYS)
        # Debt and wage disputes peak before the Spring Festival: a share of
        # them is redrawn from the winter days (Dec-Feb) inside the window.
        if cat in ("dispute_debt", "dispute_labour") and rng.random() < WINTER_SHARE:
            winter = WINTER_DAYS[WINTER_DAYS >= first_day]
            if len(winter):
                day = float(rng.choice(winter)) + rng.uniform(0, 1)
        reported = END - timedelta(
            days=SPAN_DAYS - day, hours=float(rng.uniform(0, 10))
        )
        age = (END - reported).days
        status, resolved_at, level = _lifecycle(rng, reported, age)
        label = vocab.INCIDENT_CATEGORIES[cat]
        rows.append(
            {
                "code": f"SJ{reported:%Y%m%d}{i + 1:06d}",
                "category": cat,
                "status": status,
                "resolved_level": level,
                "reported_at": reported,
                "resolved_at": resolved_at,
                "source": str(rng.choice(SOURCES)),
                "description": f"（模拟数据）{label}，第{i + 1}号",
                "xy": xy,
            }
        )
    return rows


def _risk_tiers(rng, incidents: list[dict]) -> None:
    """Most reports are yellow (the grid member settles them); a few are red.

    Drawn from their own generator so the rest of the world stays as it was.
    """
    tiers = rng.choice(list(RISK), size=len(incidents), p=list(RISK.values()))
    for incident, tier in zip(incidents, tiers, strict=True):
        incident["risk"] = str(tier)


# Shared with the county: an incident's life, by its age in days.
RISK = {"red": 0.03, "orange": 0.12, "yellow": 0.85}
OLD_DAYS = 60
STATUS_OLD = {"resolved": 0.15, "followed_up": 0.25, "archived": 0.58, "handling": 0.02}
STATUS_RECENT = {
    "received": 0.1,
    "dispatched": 0.1,
    "handling": 0.25,
    "resolved": 0.4,
    "followed_up": 0.15,
}
OPEN_STATUSES = ("received", "dispatched", "handling")
RESOLVE_DAYS = 4.0  # mean days to resolution (exponential)
LEVELS = {"village": 0.68, "township": 0.24, "district": 0.08}
WINTER_SHARE = 0.3  # debt and wage disputes redrawn from the winter days


def _lifecycle(rng, reported: datetime, age: int):
    mix = STATUS_OLD if age > OLD_DAYS else STATUS_RECENT
    status = str(rng.choice(list(mix), p=list(mix.values())))
    if status in OPEN_STATUSES:
        return status, None, None
    resolved = min(
        reported + timedelta(days=float(rng.exponential(RESOLVE_DAYS)) + 0.05), END
    )
    level = str(rng.choice(list(LEVELS), p=list(LEVELS.values())))
    return status, resolved, level


def generate(seed: int = 20240101, incidents: int = 5000, cameras: int = 4000) -> World:
    """Build the demo world deterministically from ``seed``.

    Parameters
    ----------
    seed : int
        Random seed; the same seed and sizes give exactly the same world.
    incidents, cameras : int
        How many of each to generate (benchmarks ask for more).

    Returns
    -------
    World
        Area and point rows with WGS84 geometries.
    """
    rng = np.random.default_rng(seed)
    outline = boundaries.load_outline(DISTRICT_CODE)
    space = _Space(outline)
    seeds = _village_seeds(space, rng)
    cells = _voronoi(seeds, space.region)
    townships, labels, tcodes = _townships(space, rng, seeds, cells)
    villages = _villages(space, rng, seeds, cells, labels, tcodes)
    stations = _stations(space, rng, seeds, cells, villages)
    grids = _grids(space, rng, villages)
    posts = _posts(space, rng, villages, stations)
    officers, links = _officers(space, rng, posts, villages)
    sites = _sites(space, rng, villages)
    world = World(outline=outline)
    world.posts, world.officers, world.officer_areas = posts, officers, links
    world.grid_members = _grid_members(rng, grids)
    world.sites = sites
    world.cameras = _cameras(space, rng, cameras, sites, posts)
    world.incidents = _incidents(space, rng, incidents, villages, sites)
    _risk_tiers(np.random.default_rng([seed, 4]), world.incidents)
    for village in villages:  # township population is the sum of its villages'
        township = next(t for t in townships if t["code"] == village["parent_code"])
        township["population"] = (township["population"] or 0) + village["population"]
    for t in townships:
        t["households"] = int(round(t["population"] / 2.8))
    extra = duty.generate(np.random.default_rng([seed, 5]), townships, villages)
    world.people, world.person_areas = extra.people, extra.person_areas
    world.areas = townships + villages + grids + stations
    _to_wgs84(space, world)
    return world


def _to_wgs84(space: _Space, world: World) -> None:
    """Convert every metric geometry and point of ``world`` to WGS84, in place."""
    for area in world.areas:
        area["geom"] = _multipolygon(space.to_wgs84(area["geom"]), min_area=0.0)
    for rows in (world.posts, world.sites, world.cameras, world.incidents):
        if not rows:
            continue
        xy = np.array([r["xy"] for r in rows])
        lon, lat = space.inv_xy(xy[:, 0], xy[:, 1])
        for r, x, y in zip(rows, lon, lat, strict=True):
            r["lon"], r["lat"] = float(x), float(y)
            del r["xy"]
