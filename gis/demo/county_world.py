"""People, posts, cameras, key sites and incidents for the synthetic county.

Pure (no database) and deterministic for a seed, like :mod:`gis.demo.world`,
whose category mix, hotspot mixes, camera mix and incident life cycle it
shares; the geography comes from :mod:`gis.demo.county` (a lattice of
villages, no real outline).  Everything is vectorised with numpy: the county
has 10,000 villages, 50,000 grids and tens of thousands of cameras, and its
incidents (a million by default) are generated chunk by chunk
(:func:`incident_chunks`) so that they never sit in memory at once.

Scale (per 10,000 villages): a 派出所驻地 per police station, a 警务室 per
township, 警务工作站 in about a third of the villages, a 一村一警 officer for
every village but the planted gap (the villages nearest the county's
north-east corner: no post, no officer, few cameras), a full-time grid member
for every grid outside the gap and a part-time one in communities.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import shapely

from gis import vocab
from gis.clock import BEIJING
from gis.demo import names, world
from gis.demo.county import COUNTY_CODE

logger = logging.getLogger(__name__)

GAP_SHARE = 0.03  # villages in the planted corner gap
WORKSTATION_SHARE = 0.35  # villages (outside the gap) with a 警务工作站
COMMUNITY_KM = 1.2  # villages this near a township's centre are communities
OFFICERS = {"station_hq": 6, "police_room": 2, "workstation": 1}
CHUNK = 100_000  # incidents generated and staged at a time
KX, KY = 111_320.0 * np.cos(np.radians(35.4)), 110_574.0  # metres per degree


@dataclass
class CountyWorld:
    """The county's point and people rows (lon/lat in WGS84)."""

    posts: list[dict] = field(default_factory=list)
    officers: list[dict] = field(default_factory=list)
    officer_areas: list[tuple[str, str]] = field(default_factory=list)
    grid_members: list[dict] = field(default_factory=list)
    sites: list[dict] = field(default_factory=list)
    cameras: list[dict] = field(default_factory=list)
    places: dict = field(default_factory=dict)  # what incident_chunks needs


class _Villages:
    """The villages as arrays: code, polygon, centre, population, gap flag."""

    def __init__(self, areas: list[dict], rng):
        rows = [a for a in areas if a["kind"] == "village"]
        self.codes = np.array([a["code"] for a in rows])
        self.geoms = np.array([a["geom"] for a in rows])
        shapely.prepare(self.geoms)
        centre = shapely.get_coordinates(shapely.centroid(self.geoms))
        self.xy = centre
        townships = [a for a in areas if a["kind"] == "township"]
        hubs = shapely.get_coordinates(
            shapely.centroid(np.array([t["geom"] for t in townships]))
        )
        km = _km(centre[:, None, :] - hubs[None]).min(axis=1)
        self.community = km < COMMUNITY_KM
        self.population = np.where(
            self.community,
            rng.integers(3000, 12000, len(rows)),
            rng.integers(800, 3500, len(rows)),
        )
        self.township = np.array([c[:9] + "000" for c in self.codes])
        ne = centre.max(axis=0)
        n_gap = max(1, round(GAP_SHARE * len(rows)))
        self.gap = np.zeros(len(rows), bool)
        self.gap[np.argsort(_km(centre - ne))[:n_gap]] = True
        self.bounds = shapely.bounds(self.geoms)

    def sample(self, rng, index: np.ndarray) -> np.ndarray:
        """One uniform point inside village ``index[k]`` for each k."""
        out = np.empty((len(index), 2))
        todo = np.arange(len(index))
        while len(todo):
            b = self.bounds[index[todo]]
            x = rng.uniform(b[:, 0], b[:, 2])
            y = rng.uniform(b[:, 1], b[:, 3])
            ok = shapely.contains_xy(self.geoms[index[todo]], x, y)
            out[todo[ok], 0], out[todo[ok], 1] = x[ok], y[ok]
            todo = todo[~ok]
        return out


def _km(dxy: np.ndarray) -> np.ndarray:
    """Length in km of degree offsets (last axis lon, lat)."""
    return np.hypot(dxy[..., 0] * KX, dxy[..., 1] * KY) / 1000


def generate(
    areas: list[dict], seed: int = 20240101, cameras: int = 40_000
) -> CountyWorld:
    """Posts, people, sites and cameras for the county ``areas``
    (:func:`gis.demo.county.generate`), and what :func:`incident_chunks` needs.
    """
    rng = np.random.default_rng([seed, 12])
    v = _Villages(areas, rng)
    out = CountyWorld()
    out.posts = _posts(rng, v, areas)
    out.officers, out.officer_areas = _officers(rng, v, out.posts)
    grids = [a["code"] for a in areas if a["kind"] == "grid"]
    out.grid_members = _grid_members(rng, v, grids)
    out.sites = _sites(rng, v)
    out.cameras = _cameras(rng, v, cameras, out.sites + out.posts)
    district = next(a["geom"] for a in areas if a["kind"] == "district")
    shapely.prepare(district)
    out.places = {"villages": v, "sites": out.sites, "district": district}
    return out


def _posts(rng, v: _Villages, areas) -> list[dict]:
    """派出所驻地 in each station's biggest village, 警务室 in each township's,
    警务工作站 in a population-weighted share of the rest; none in the gap."""
    taken = v.gap.copy()
    posts = []

    def biggest(members: np.ndarray) -> int:
        free = np.flatnonzero(members & ~taken)
        i = free[np.argmax(v.population[free])]
        taken[i] = True
        return int(i)

    for s in (a for a in areas if a["kind"] == "police_station"):
        i = biggest(shapely.contains_xy(s["geom"], v.xy[:, 0], v.xy[:, 1]))
        posts.append(_post(rng, v, "station_hq", s["code"], f"{s['name']}驻地", i))
    for t in sorted(set(v.township)):
        i = biggest(v.township == t)
        name = f"合成{t[6:9]}乡{v.codes[i][9:]}村警务室"
        posts.append(_post(rng, v, "police_room", v.codes[i], name, i))
    free = np.flatnonzero(~taken)
    k = int(WORKSTATION_SHARE * (~v.gap).sum())
    weights = v.population[free] / v.population[free].sum()
    for i in np.sort(
        rng.choice(free, size=min(k, len(free)), replace=False, p=weights)
    ):
        name = f"合成{v.codes[i][6:9]}-{v.codes[i][9:]}村警务工作站"
        posts.append(_post(rng, v, "workstation", v.codes[i], name, int(i)))
    return posts


def _post(rng, v: _Villages, kind: str, area_code: str, name: str, i: int) -> dict:
    prefix = {"station_hq": "PS", "police_room": "JWS", "workstation": "GZZ"}[kind]
    staff = {"station_hq": (20, 45), "police_room": (2, 5), "workstation": (1, 3)}[kind]
    lon, lat = v.sample(rng, np.array([i]))[0]
    return {
        "code": f"{prefix}{area_code}",
        "name": name,
        "kind": kind,
        "staff": int(rng.integers(*staff)),
        "phone": f"0393-{int(rng.integers(4000000, 4999999))}",
        "lon": float(lon),
        "lat": float(lat),
    }


def _officers(rng, v: _Villages, posts) -> tuple[list[dict], list[tuple[str, str]]]:
    """Officers at every post; each village outside the gap answers to a 民警
    of its nearest post (一村一警), in turn among that post's 民警."""
    officers, sworn = [], []
    for post in posts:
        pool = []
        for k in range(OFFICERS[post["kind"]] + int(rng.integers(0, 2))):
            code = f"{300001 + len(officers):06d}"  # 警号; the demo's start at 1
            officers.append(world.officer(rng, code, k, post["code"]))
            if officers[-1]["kind"] == "police":
                pool.append(code)
        sworn.append(pool)
    post_xy = np.array([(p["lon"], p["lat"]) for p in posts])
    links, turn = [], [0] * len(posts)
    for start in range(0, len(v.codes), 1000):  # 1000 x posts distances at once
        near = np.argmin(_km(v.xy[start : start + 1000, None] - post_xy), axis=1)
        for i, p in enumerate(near, start):
            if not v.gap[i]:
                links.append((sworn[p][turn[p] % len(sworn[p])], str(v.codes[i])))
                turn[p] += 1
    return officers, links


def _grid_members(rng, v: _Villages, grids: list[str]) -> list[dict]:
    village = {c: i for i, c in enumerate(v.codes)}
    rows = []
    for g in grids:
        i = village[g[:12]]
        if v.gap[i]:
            continue
        for n in range(2 if v.community[i] else 1):
            rows.append(
                {
                    "code": f"WGY{g}{n}",
                    "name": names.person(rng),
                    "grid_code": g,
                    "kind": "full_time" if n == 0 else "part_time",
                    "phone": f"1{int(rng.integers(3e9, 9e9))}",
                }
            )
    return rows


def _sites(rng, v: _Villages) -> list[dict]:
    """The demo's key-site mix per 12 townships: urban kinds in communities,
    hazardous plants in the villages farthest from any community."""
    scale = max(1.0, len(set(v.township)) / 12)
    urban = np.flatnonzero(v.community) if v.community.any() else np.arange(len(v.xy))
    rural = np.argsort(-v.population * ~v.community)[::-1]
    rows = []
    for kind, n in world.SITE_COUNTS.items():
        n = int(round(n * scale))
        if kind in ("intersection", "hospital", "transport", "government", "market"):
            where = rng.choice(urban, size=n)
        elif kind == "hazchem":
            where = rural[rng.integers(0, max(1, len(rural) // 4), n)]
        else:
            where = rng.integers(0, len(v.xy), n)
        xy = v.sample(rng, where)
        label = vocab.SITE_KINDS[kind]
        rows += [
            {
                "code": f"SITE-{kind[:4].upper()}-{i:04d}",
                "name": f"{label}{i:03d}（模拟）",
                "kind": kind,
                "lon": float(x),
                "lat": float(y),
            }
            for i, (x, y) in enumerate(xy, start=1)
        ]
    return rows


def _cameras(rng, v: _Villages, n: int, anchors: list[dict]) -> list[dict]:
    """A quarter near key sites and posts, the rest in villages by population
    (communities densest); the gap gets a twentieth of its share."""
    n_near = n // 4
    anchor = np.array([(a["lon"], a["lat"]) for a in anchors])
    near = anchor[rng.integers(0, len(anchor), n_near)]
    near = near + rng.normal(0, 120, (n_near, 2)) / (KX, KY)
    weights = v.population * np.where(v.community, 3.0, 1.0) * np.where(v.gap, 0.05, 1)
    where = rng.choice(len(v.xy), size=n - n_near, p=weights / weights.sum())
    xy = np.vstack([near, v.sample(rng, where)])
    kinds = rng.choice(list(world.CAMERA_KINDS), n, p=list(world.CAMERA_KINDS.values()))
    status = rng.choice(
        list(world.CAMERA_STATUS), n, p=list(world.CAMERA_STATUS.values())
    )
    fixed = kinds == "fixed"
    seen = np.where(status == "online", rng.uniform(0, 0.02, n), rng.uniform(1, 40, n))
    azimuth = np.round(rng.uniform(0, 360, n), 1)
    fov = np.where(fixed, np.round(rng.uniform(50, 110, n), 1), 360.0)
    range_m = np.round(
        np.where(fixed, rng.uniform(40, 150, n), rng.uniform(120, 300, n))
    )
    owner = rng.choice(list(world.OWNERS), n, p=list(world.OWNERS.values()))
    return [
        {
            "code": f"{COUNTY_CODE}{i + 1:06d}SX",
            "name": f"雪亮点位{i + 1:05d}",
            "kind": str(kinds[i]),
            "azimuth": float(azimuth[i]) if fixed[i] else None,
            "fov": float(fov[i]),
            "range_m": float(range_m[i]),
            "status": str(status[i]),
            "last_seen_at": world.END - timedelta(days=float(seen[i])),
            "owner": str(owner[i]),
            "lon": float(xy[i, 0]),
            "lat": float(xy[i, 1]),
        }
        for i in range(n)
    ]


# --- incidents ------------------------------------------------------------------

_END = np.datetime64(world.END.astimezone(BEIJING).replace(tzinfo=None), "us")
_DAY_US = 86_400_000_000
_UTC_SHIFT = np.timedelta64(8, "h")  # Beijing time has no daylight saving


def _hotspots(places: dict) -> list[tuple]:
    """(centre lon/lat, share, spread m, category mix, active days) per
    hotspot: the demo's four kinds, each at up to three anchors in the county."""
    v = places["villages"]
    out = []
    for kind, share, spread, mix, active in world.HOTSPOTS:
        if kind == "village":
            ranked = np.argsort(v.population)[::-1]  # not the very biggest
            big = ranked[40:43] if len(ranked) >= 43 else ranked[:3]
            anchors = v.xy[big]
        else:
            anchors = [
                (s["lon"], s["lat"]) for s in places["sites"] if s["kind"] == kind
            ]
            anchors = np.array(anchors[:3])
        for a in anchors:
            out.append((a, share / len(anchors), spread, mix, active))
    return out


def incident_chunks(places: dict, n: int, seed: int = 20240101, chunk: int = CHUNK):
    """Yield the incidents ``chunk`` at a time, as columns (numpy arrays) named
    as the ``incident`` table's staging columns, ``lon``/``lat`` included.

    Each chunk draws from its own generator (seed, chunk number): the same
    seed and ``n`` give the same incidents whatever else was generated.
    """
    hot = _hotspots(places)
    shares = np.array([h[1] for h in hot] + [1 - sum(h[1] for h in hot)])
    for number, start in enumerate(range(0, n, chunk)):
        rng = np.random.default_rng([seed, 13, number])
        size = min(chunk, n - start)
        which = rng.choice(len(shares), size=size, p=shares)
        xy, category, first = _places(rng, places, hot, which)
        yield _describe(
            rng, np.arange(start + 1, start + size + 1), xy, category, first
        )


def _places(rng, places, hot, which):
    """Point, category and first possible day of each incident."""
    v, district = places["villages"], places["district"]
    size = len(which)
    xy = np.empty((size, 2))
    category = np.empty(size, dtype=object)
    first = np.zeros(size)
    base = which == len(hot)
    mix = world.CATEGORY_MIX
    p = np.array(list(mix.values()))
    category[base] = rng.choice(list(mix), base.sum(), p=p / p.sum())
    where = rng.choice(len(v.xy), size=base.sum(), p=v.population / v.population.sum())
    xy[base] = v.sample(rng, where)
    for h, (centre, _, spread, hmix, active) in enumerate(hot):
        rows = np.flatnonzero(which == h)
        category[rows] = rng.choice(list(hmix), len(rows), p=list(hmix.values()))
        first[rows] = world.SPAN_DAYS - active
        todo = rows
        while len(todo):  # Gaussian about the anchor, kept inside the county
            pts = centre + rng.normal(0, spread, (len(todo), 2)) / (KX, KY)
            ok = shapely.contains_xy(district, pts[:, 0], pts[:, 1])
            xy[todo[ok]] = pts[ok]
            todo = todo[~ok]
    return xy, category, first


def _describe(rng, number, xy, category, first) -> dict:
    """Time, life cycle, risk, source, code and text of each incident."""
    size = len(number)
    day = rng.uniform(first, world.SPAN_DAYS)
    winter = np.isin(category, ["dispute_debt", "dispute_labour"]) & (
        rng.random(size) < world.WINTER_SHARE
    )
    days = world.WINTER_DAYS
    low = np.searchsorted(days, first[winter])
    pick = low + (rng.random(winter.sum()) * (len(days) - low)).astype(int)
    day[winter] = days[np.minimum(pick, len(days) - 1)] + rng.uniform(
        0, 1, winter.sum()
    )
    back = (world.SPAN_DAYS - day) * 24 + rng.uniform(0, 10, size)  # hours
    local = _END - (back * 3_600_000_000).astype("timedelta64[us]")
    age = (_END - local).astype("timedelta64[D]").astype(int)
    status = np.empty(size, dtype=object)
    old = age > world.OLD_DAYS
    for mask, mix in ((old, world.STATUS_OLD), (~old, world.STATUS_RECENT)):
        status[mask] = rng.choice(list(mix), mask.sum(), p=list(mix.values()))
    closed = ~np.isin(status, world.OPEN_STATUSES)
    to_fix = rng.exponential(world.RESOLVE_DAYS, size) + 0.05
    resolved = np.minimum(local + (to_fix * _DAY_US).astype("timedelta64[us]"), _END)
    resolved = np.where(closed, resolved, np.datetime64("NaT"))
    level = np.where(
        closed,
        rng.choice(list(world.LEVELS), size, p=list(world.LEVELS.values())),
        None,
    )
    risk = rng.choice(list(world.RISK), size, p=list(world.RISK.values()))
    source = rng.choice(world.SOURCES, size)
    dates = np.datetime_as_string(local, unit="D")
    labels = [vocab.INCIDENT_CATEGORIES[c] for c in category]
    return {
        "code": np.array(
            [
                f"SJ{d.replace('-', '')}{k:07d}"
                for d, k in zip(dates, number, strict=True)
            ],
            dtype=object,
        ),
        "category": category,
        "risk": risk.astype(object),
        "status": status,
        "resolved_level": level.astype(object),
        "reported_at": local - _UTC_SHIFT,
        "resolved_at": resolved - _UTC_SHIFT,
        "source": source.astype(object),
        "description": np.array(
            [f"（模拟数据）{c}，第{k}号" for c, k in zip(labels, number, strict=True)],
            dtype=object,
        ),
        "lon": xy[:, 0],
        "lat": xy[:, 1],
    }
