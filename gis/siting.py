"""Where new 警务工作站 (police workstations) should go.

:func:`plan` proposes sites for new posts with one of two covering models
(:mod:`gis.covering`, solved exactly by HiGHS):

``mclp``
    maximal covering: ``new`` posts within ``radius_m`` of as many residents as
    possible;
``lscp``
    set covering: the fewest new posts that put every village within
    ``radius_m`` of a post.

**Demand** is every current village (``area`` of kind ``village``) with its
residents (``area.population``; none recorded counts as 0), placed at a point on
its surface (``ST_PointOnSurface``).  A population-weighted centre would be
better, but nothing finer than a village's total is recorded, and the centroid
of a crescent-shaped village can lie outside it.  With ``weight_disputes`` a
village's weight in the maximal covering model is
``population * (1 + disputes / mean disputes per village)``, counting every
incident on record whose category is a dispute (``dispute_*``): a village with
an average number of disputes counts double, one with none counts its
residents.  Coverage (before/after) is always reported in plain residents.

**Candidates** are the key sites (``site``), a point on the surface of every
grid, or a square lattice of ``spacing_m`` metres over the villages (points in
no village are dropped).  **Existing posts** (``post``, every kind) stay:
villages within ``radius_m`` of one are covered before any new post is placed.
Distances are straight lines in metres in the CGCS2000 Gauss-Kruger zone of
the villages (:func:`gis.crs.gauss_kruger_epsg`).

**Scope.**  Everything is read through the connection given, so in the web
app the row policies decide which villages, posts, sites and grids a run sees:
a station plans for its own villages with its own posts and candidates.  The
coverage pairs are found in PostGIS, but not by a spatial join over the big
tables (PostGIS's operators are not leakproof, so under the policies they
cannot use the index): the few thousand rows in scope are first copied, read
through the policies, into temporary tables with GiST indexes on metric
points, and ``ST_DWithin`` probes those.  The temporary tables live in a
savepoint that is rolled back at the end, so nothing is left behind.

Examples
--------
>>> request = parse_request({"new": 10, "radius_m": 3000})   # doctest: +SKIP
>>> with engine.connect() as conn:                            # doctest: +SKIP
...     report = plan(conn, request)
>>> report.after.resident_share                               # doctest: +SKIP
0.93
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa

from gis import covering, crs
from gis.errors import InvalidInput, NotFound, brief

logger = logging.getLogger(__name__)

MODELS = {"mclp": "最大覆盖 maximal covering", "lscp": "集合覆盖 set covering"}
CANDIDATES = {
    "sites": "重点场所 key sites",
    "grids": "网格中心 grid centres",
    "lattice": "规则格点 lattice",
}
DEMAND_METHOD = "point_on_surface"
WEIGHT_FORMULA = "population * (1 + disputes / mean_disputes_per_village)"

DEFAULT_TIME_LIMIT = 10.0
"""Seconds HiGHS may search (the 5,000-village county needs well under one)."""
MAX_TIME_LIMIT = 120.0
DEFAULT_SPACING_M = 500.0
"""Lattice spacing: a fifth of a 2.5 km radius, so the lattice loses little
against a free choice of site; a county of 1,250 km² has about 5,000 points."""
MIN_SPACING_M = 50.0
MAX_RADIUS_M = 50_000.0
MAX_CANDIDATES = 100_000
MAX_PAIRS = 3_000_000
"""Village-candidate pairs within the radius that one run may hold: about
50 MB of model for HiGHS.  Larger requests are refused, not queued."""
_NAMED = 10  # villages named in a refusal


@dataclass(frozen=True)
class SitingRequest:
    """What to plan; checked when made (:class:`InvalidInput` names the field)."""

    radius_m: float
    new: int | None = None
    model: str = "mclp"
    candidates: str = "sites"
    weight_disputes: bool = False
    time_limit: float = DEFAULT_TIME_LIMIT
    spacing_m: float = DEFAULT_SPACING_M

    def __post_init__(self):
        _choice(self.model, MODELS, "model")
        _choice(self.candidates, CANDIDATES, "candidates")
        _within(self.radius_m, "radius_m", 0.0, MAX_RADIUS_M)
        _within(self.time_limit, "time_limit", 0.0, MAX_TIME_LIMIT)
        _within(self.spacing_m, "spacing_m", MIN_SPACING_M, math.inf, closed=True)
        if self.new is None and self.model == "mclp":
            raise InvalidInput(
                "最大覆盖模型需要 new（新建数量）/ the maximal covering model needs "
                "new, the number of new posts",
                field="new",
            )
        if self.new is not None and self.new < 1:
            raise InvalidInput(
                f"new 必须是正整数 / new must be a positive integer, got {self.new}",
                field="new",
            )


_FIELDS = {
    "new": "int",
    "radius_m": "number",
    "model": "text",
    "candidates": "text",
    "weight_disputes": "bool",
    "time_limit": "number",
    "spacing_m": "number",
}


def parse_request(values: Mapping) -> SitingRequest:
    """A :class:`SitingRequest` from a JSON object or command-line options.

    Unknown keys are refused (a misspelt ``radius`` should not silently plan
    with another radius); ``None`` means "the default".
    """
    if not isinstance(values, Mapping):
        raise InvalidInput(
            "请求体应为 JSON 对象 / the body must be a JSON object", field="body"
        )
    unknown = sorted(str(k) for k in values if k not in _FIELDS)
    if unknown:
        raise InvalidInput(
            f"未知参数 {brief(unknown[0])} / unknown parameter {brief(unknown[0])}; "
            f"known: {', '.join(_FIELDS)}",
            field=unknown[0],
        )
    if values.get("radius_m") is None:
        raise InvalidInput("缺少 radius_m / radius_m is required", field="radius_m")
    parsers = {"int": _integer, "number": _number, "text": _text, "bool": _flag}
    given = {
        name: parsers[kind](values[name], name)
        for name, kind in _FIELDS.items()
        if values.get(name) is not None
    }
    return SitingRequest(**given)


def _integer(value, name: str) -> int:
    number = _number(value, name)
    if number != int(number):
        raise InvalidInput(
            f"{name} 必须是整数 / {name} must be an integer, got {brief(value)}",
            field=name,
        )
    return int(number)


def _number(value, name: str) -> float:
    from gis.params import number

    return number(value, name)


def _text(value, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(
            f"{name} 必须是文本 / {name} must be text, got {brief(value)}", field=name
        )
    return value.strip().lower()


def _flag(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1) or str(value).lower() in ("0", "1", "true", "false"):
        return str(value).lower() in ("1", "true")
    raise InvalidInput(
        f"{name} 必须是 true 或 false / {name} must be true or false, got "
        f"{brief(value)}",
        field=name,
    )


def _choice(value: str, allowed: Mapping, name: str) -> None:
    if value not in allowed:
        raise InvalidInput(
            f"未知的 {name} {brief(value)} / unknown {name} {brief(value)}; "
            f"allowed: {', '.join(allowed)}",
            field=name,
            allowed=list(allowed),
        )


def _within(value: float, name: str, low: float, high: float, closed=False) -> None:
    if not (low <= value if closed else low < value) or value > high:
        sign = ">=" if closed else ">"
        raise InvalidInput(
            f"{name} 超出范围 / {name} must be {sign} {low:g} and <= {high:g}, "
            f"got {value:g}",
            field=name,
        )


# -- the report -----------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """Villages and residents within reach of a post."""

    villages: int
    residents: int
    villages_total: int
    residents_total: int

    @property
    def village_share(self) -> float:
        return self.villages / self.villages_total if self.villages_total else 1.0

    @property
    def resident_share(self) -> float:
        return self.residents / self.residents_total if self.residents_total else 1.0

    def to_dict(self) -> dict:
        return {
            "villages": self.villages,
            "residents": self.residents,
            "villages_total": self.villages_total,
            "residents_total": self.residents_total,
            "village_share": round(self.village_share, 4),
            "resident_share": round(self.resident_share, 4),
        }


@dataclass(frozen=True)
class ProposedSite:
    """A new post's site and the villages it brings within reach."""

    code: str
    name: str
    kind: str
    lon: float
    lat: float
    newly_covered: tuple[dict, ...]  # code, name, population, distance_m

    @property
    def residents_newly_covered(self) -> int:
        return sum(v["population"] for v in self.newly_covered)

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "lon": round(self.lon, 6),
            "lat": round(self.lat, 6),
            "residents_newly_covered": self.residents_newly_covered,
            "newly_covered": list(self.newly_covered),
        }


@dataclass(frozen=True)
class SitingReport:
    """The answer of :func:`plan`: what was asked, what HiGHS said, what it gains.

    ``optimal`` is HiGHS's proof, checked: a run stopped by the time limit
    reports ``optimal = False``, its status (``"Time limit reached"``) and the
    gap, with the best sites found so far.
    """

    request: SitingRequest
    metric_crs: str
    candidate_count: int
    pairs: int
    before: Coverage
    after: Coverage
    uncoverable: Coverage  # beyond the radius of every candidate and post
    sites: tuple[ProposedSite, ...]
    solution: covering.Solution
    build_seconds: float
    solve_seconds: float
    total_seconds: float
    mean_disputes: float | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def optimal(self) -> bool:
        return self.solution.optimal

    def to_dict(self) -> dict:
        r, s = self.request, self.solution
        return {
            "model": r.model,
            "model_label": MODELS[r.model],
            "new": r.new,
            "radius_m": r.radius_m,
            "candidates": r.candidates,
            "candidates_label": CANDIDATES[r.candidates],
            "spacing_m": r.spacing_m if r.candidates == "lattice" else None,
            "candidate_count": self.candidate_count,
            "demand_method": DEMAND_METHOD,
            "weight_disputes": r.weight_disputes,
            "weight_formula": WEIGHT_FORMULA if r.weight_disputes else "population",
            "mean_disputes": self.mean_disputes,
            "metric_crs": self.metric_crs,
            "pairs": self.pairs,
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "uncoverable": self.uncoverable.to_dict(),
            "sites": [site.to_dict() for site in self.sites],
            "solver": {
                "name": "HiGHS",
                "status": s.status,
                "optimal": s.optimal,
                "objective": s.objective,
                "bound": s.bound,
                "mip_gap": s.gap,
                "time_limit": r.time_limit,
            },
            "build_seconds": round(self.build_seconds, 4),
            "solve_seconds": round(self.solve_seconds, 4),
            "total_seconds": round(self.total_seconds, 4),
            "notes": list(self.notes),
        }


# -- planning --------------------------------------------------------------------


@dataclass
class _World:
    """The run's villages (demand) as arrays, indexed like ``siting_village.i``."""

    population: np.ndarray
    disputes: np.ndarray
    covered: np.ndarray
    srid: int
    candidate_count: int = 0


def plan(conn: sa.Connection, request: SitingRequest) -> SitingReport:
    """Propose sites for new posts; see the module's docstring for the rules.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Read through as it is: the web request's connection (bound by the row
        policies) or the owner's.  A savepoint holds the temporary tables and is
        rolled back before returning.
    request : SitingRequest
        What to plan (:func:`parse_request`).

    Raises
    ------
    InvalidInput
        ``new`` larger than the candidates, a request beyond the size limits,
        or (set covering) villages no candidate or post can reach, named.
    NotFound
        No village in the caller's scope.
    """
    began = time.perf_counter()
    with conn.begin_nested() as scratch:
        world = _read_world(conn, request)
        village, candidate = _pairs(conn, request, world)
        problem = covering.CoverageProblem(
            weights=_weights(world, request.weight_disputes),
            demand=village,
            candidate=candidate,
            n_candidates=world.candidate_count,
            time_limit=request.time_limit,
        )
        if request.model == "lscp":
            _refuse_unreachable(conn, world, village, request)
        built = time.perf_counter()
        solution = _solve(problem, request)
        solved = time.perf_counter()
        sites = _proposed(conn, request, solution.chosen)
        scratch.rollback()
    done = time.perf_counter()
    # Build: everything but HiGHS's search (reading, pairs, passing the model).
    build = (built - began) + (solved - built - solution.seconds)
    return _report(
        request, world, village, candidate, solution, sites, build, done - began
    )


def _solve(problem: covering.CoverageProblem, request: SitingRequest):
    if request.model == "mclp":
        return problem.mclp(request.new)
    solution = problem.lscp(request.new)
    if solution.status == "Infeasible":  # only the budget can make it so
        raise InvalidInput(
            f"{request.new} 个新站点不足以覆盖全部村/社区；不给 new 可求最少需要几个 / "
            f"{request.new} new posts cannot bring every village within "
            f"{request.radius_m:g} m; leave new out to find the fewest needed",
            field="new",
        )
    return solution


def _weights(world: _World, by_disputes: bool) -> np.ndarray:
    """Residents, or residents * (1 + disputes / mean disputes per village)."""
    population = world.population.astype(np.float64)
    mean = world.disputes.mean() if len(world.disputes) else 0.0
    if not by_disputes or mean == 0:
        return population
    return population * (1.0 + world.disputes / mean)


_VILLAGES = """
CREATE TEMP TABLE siting_village AS
SELECT (row_number() OVER (ORDER BY a.code) - 1)::integer AS i, a.id, a.code, a.name,
       coalesce(a.population, 0)::bigint AS population, {disputes} AS disputes,
       false AS covered, ST_PointOnSurface(a.geom) AS p, NULL::geometry AS g
  FROM area a {join}
 WHERE a.kind = 'village' AND a.valid_to IS NULL
"""
# Incidents are read through the policies like everything else.
_DISPUTES = """LEFT JOIN (
    SELECT village_id, count(*) AS n FROM incident
     WHERE category LIKE 'dispute%' GROUP BY village_id) d ON d.village_id = a.id"""
_POSTS = """
UPDATE siting_village SET g = ST_Transform(p, :srid);
CREATE INDEX ON siting_village USING gist (g);
CREATE UNIQUE INDEX ON siting_village (id);
CREATE TEMP TABLE siting_post AS SELECT ST_Transform(geom, :srid) AS g FROM post;
CREATE INDEX ON siting_post USING gist (g);
ANALYZE siting_post;
UPDATE siting_village v SET covered = true
 WHERE EXISTS (SELECT 1 FROM siting_post p WHERE ST_DWithin(p.g, v.g, :r));
ANALYZE siting_village;
"""


def _read_world(conn: sa.Connection, request: SitingRequest) -> _World:
    """Villages, posts and candidates in scope into indexed temporary tables."""
    weighted = request.weight_disputes
    conn.execute(
        sa.text(
            _VILLAGES.format(
                disputes="coalesce(d.n, 0)" if weighted else "0::bigint",
                join=_DISPUTES if weighted else "",
            )
        )
    )
    lon = conn.execute(sa.text("SELECT avg(ST_X(p)) FROM siting_village")).scalar()
    if lon is None:
        raise NotFound(
            "范围内没有村/社区，无从选址 / there is no village in your scope to "
            "plan for"
        )
    srid = crs.gauss_kruger_epsg(float(lon))
    conn.execute(sa.text(_POSTS), {"srid": srid, "r": request.radius_m})
    rows = conn.execute(
        sa.text("SELECT population, disputes, covered FROM siting_village ORDER BY i")
    ).all()
    population, disputes, covered = (np.array(c) for c in zip(*rows, strict=True))
    world = _World(population, disputes, covered.astype(bool), srid)
    world.candidate_count = _candidates(conn, request, srid)
    return world


_CANDIDATE_SOURCES = {
    "sites": "SELECT code, name, kind, geom AS p FROM site",
    "grids": "SELECT code, name, 'grid' AS kind, ST_PointOnSurface(geom) AS p "
    "FROM area WHERE kind = 'grid' AND valid_to IS NULL",
}
_CANDIDATES = """
CREATE TEMP TABLE siting_candidate AS
SELECT (row_number() OVER (ORDER BY code) - 1)::integer AS j, code, name, kind, p,
       ST_Transform(p, :srid) AS g
  FROM ({source}) c
"""
# The lattice is laid in metres, aligned to multiples of the spacing (so two
# runs share their points), over the villages' extent plus one step; points
# outside every village in scope are dropped, found through the subdivided
# village pieces and their index (area_part_directory, no person in it).
_LATTICE_BOX = """
SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (
    SELECT ST_Transform(ST_SetSRID(ST_Extent(a.geom)::geometry, 4326), :srid) AS b
      FROM area a JOIN siting_village v ON v.id = a.id) box
"""
_LATTICE = """
CREATE TEMP TABLE siting_candidate AS
WITH lattice AS (
    SELECT x, y, ST_SetSRID(ST_MakePoint(x, y), :srid) AS g
      FROM generate_series(:x0, :x1, :s) AS x, generate_series(:y0, :y1, :s) AS y
), placed AS (SELECT x, y, g, ST_Transform(g, 4326) AS p FROM lattice)
SELECT (row_number() OVER (ORDER BY y, x) - 1)::integer AS j,
       'L' || x::bigint || '-' || y::bigint AS code, '规则格点' AS name,
       'lattice' AS kind, p, g
  FROM placed l
 WHERE EXISTS (SELECT 1 FROM area_part_directory ap
                 JOIN siting_village v ON v.id = ap.area_id
                WHERE ST_Intersects(ap.geom, l.p))
"""


def _candidates(conn: sa.Connection, request: SitingRequest, srid: int) -> int:
    """Fill ``siting_candidate`` (``j``, code, name, kind, ``p`` lon/lat and
    ``g`` metric points, indexed); return how many there are."""
    if request.candidates == "lattice":
        _lattice(conn, request.spacing_m, srid)
    else:
        source = _CANDIDATE_SOURCES[request.candidates]
        conn.execute(sa.text(_CANDIDATES.format(source=source)), {"srid": srid})
    count = conn.execute(sa.text("SELECT count(*) FROM siting_candidate")).scalar()
    if count > MAX_CANDIDATES:
        raise InvalidInput(
            f"候选点过多（{count} 个，上限 {MAX_CANDIDATES}）/ too many candidates: "
            f"{count}, at most {MAX_CANDIDATES}",
            field="candidates",
        )
    conn.execute(
        sa.text(
            "CREATE INDEX ON siting_candidate USING gist (g); ANALYZE siting_candidate"
        )
    )
    return count


def _lattice(conn: sa.Connection, spacing: float, srid: int) -> None:
    box = conn.execute(sa.text(_LATTICE_BOX), {"srid": srid}).one()
    x0, y0 = (math.floor(v / spacing) * spacing - spacing for v in box[:2])
    x1, y1 = (v + spacing for v in box[2:])
    points = ((x1 - x0) // spacing + 1) * ((y1 - y0) // spacing + 1)
    if points > MAX_CANDIDATES:
        raise InvalidInput(
            f"格点过密（约 {points:.0f} 个，上限 {MAX_CANDIDATES}），请加大 "
            f"spacing_m / the lattice would hold about {points:.0f} points, at most "
            f"{MAX_CANDIDATES}: use a larger spacing_m",
            field="spacing_m",
        )
    conn.execute(
        sa.text(_LATTICE),
        {"srid": srid, "x0": x0, "y0": y0, "x1": x1, "y1": y1, "s": spacing},
    )


_PAIRS = """
SELECT v.i, c.j FROM siting_village v
  JOIN siting_candidate c ON ST_DWithin(c.g, v.g, :r)
 WHERE NOT v.covered
 LIMIT :limit
"""


def _pairs(conn: sa.Connection, request: SitingRequest, world: _World):
    """The sparse coverage relation: (village, candidate) within the radius,
    for the villages no existing post covers.  Refuses ``new`` beyond the
    candidates, and relations beyond :data:`MAX_PAIRS`."""
    if request.new is not None and request.new > world.candidate_count:
        raise InvalidInput(
            f"new（{request.new}）多于候选点（{world.candidate_count} 个）/ new "
            f"({request.new}) is more than the {world.candidate_count} candidates "
            f"({request.candidates})",
            field="new",
            candidates=world.candidate_count,
        )
    rows = conn.execute(
        sa.text(_PAIRS), {"r": request.radius_m, "limit": MAX_PAIRS + 1}
    ).all()
    if len(rows) > MAX_PAIRS:
        raise InvalidInput(
            f"规模过大：半径内的村-候选点对超过 {MAX_PAIRS} 个，请缩小半径或减少"
            f"候选点 / too large: more than {MAX_PAIRS} village-candidate pairs within "
            f"{request.radius_m:g} m; use a smaller radius or fewer candidates",
            field="radius_m",
        )
    pairs = np.array(rows, dtype=np.int64).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


def _refuse_unreachable(conn, world: _World, village: np.ndarray, request) -> None:
    """Set covering cannot cover a village beyond reach of every candidate and
    post: name them rather than hand HiGHS an infeasible model."""
    reachable = np.zeros(len(world.covered), dtype=bool)
    reachable[village] = True
    stranded = np.flatnonzero(~world.covered & ~reachable)
    if not len(stranded):
        return
    named = conn.execute(
        sa.text(
            "SELECT code, name FROM siting_village WHERE i = ANY(:i) ORDER BY code "
            "LIMIT :n"
        ),
        {"i": stranded.tolist(), "n": _NAMED},
    ).all()
    n, r = len(stranded), request.radius_m
    listed = "、".join(f"{name}（{code}）" for code, name in named)
    more = f"等 {n} 个" if n > len(named) else ""
    raise InvalidInput(
        f"无法全部覆盖：{listed}{more}距所有候选点和现有警务站点都超过 {r:g} 米 / "
        f"set covering is infeasible: {n} villages are beyond {r:g} m of every "
        f"candidate and existing post: "
        + ", ".join(f"{name} ({code})" for code, name in named)
        + (", ..." if more else ""),
        field="radius_m",
        villages=[{"code": code, "name": name} for code, name in named],
        unreachable=len(stranded),
    )


_CHOSEN = """
SELECT j, code, name, kind, ST_X(p), ST_Y(p) FROM siting_candidate
 WHERE j = ANY(:chosen) ORDER BY j
"""
_NEWLY_COVERED = """
SELECT c.j, v.code, v.name, v.population,
       round(ST_Distance(c.g, v.g))::integer AS distance_m
  FROM siting_candidate c JOIN siting_village v ON ST_DWithin(c.g, v.g, :r)
 WHERE c.j = ANY(:chosen) AND NOT v.covered
 ORDER BY c.j, distance_m, v.code
"""


def _proposed(conn, request: SitingRequest, chosen) -> tuple[ProposedSite, ...]:
    """The chosen candidates with the villages each brings newly within reach
    (a village two new posts reach is listed under both)."""
    chosen = [int(j) for j in chosen]
    if not chosen:
        return ()
    newly: dict[int, list[dict]] = {j: [] for j in chosen}
    for j, code, name, population, distance in conn.execute(
        sa.text(_NEWLY_COVERED), {"chosen": chosen, "r": request.radius_m}
    ):
        newly[j].append(
            dict(code=code, name=name, population=population, distance_m=distance)
        )
    return tuple(
        ProposedSite(code, name, kind, lon, lat, tuple(newly[j]))
        for j, code, name, kind, lon, lat in conn.execute(
            sa.text(_CHOSEN), {"chosen": chosen}
        )
    )


def _coverage(world: _World, mask: np.ndarray) -> Coverage:
    return Coverage(
        villages=int(mask.sum()),
        residents=int(world.population[mask].sum()),
        villages_total=len(mask),
        residents_total=int(world.population.sum()),
    )


def _report(
    request: SitingRequest,
    world: _World,
    village: np.ndarray,
    candidate: np.ndarray,
    solution: covering.Solution,
    sites: tuple[ProposedSite, ...],
    build_seconds: float,
    total_seconds: float,
) -> SitingReport:
    after = world.covered.copy()
    after[village[np.isin(candidate, solution.chosen)]] = True
    reachable = world.covered.copy()
    reachable[village] = True
    notes = []
    if not solution.optimal:
        notes.append(
            f"求解未证明最优（{solution.status}）：以下为目前找到的最好方案 / "
            f"HiGHS did not prove optimality ({solution.status}); these are the "
            "best sites found so far"
        )
    return SitingReport(
        request=request,
        metric_crs=f"EPSG:{world.srid}",
        candidate_count=world.candidate_count,
        pairs=len(village),
        before=_coverage(world, world.covered),
        after=_coverage(world, after),
        uncoverable=_coverage(world, ~reachable),
        sites=sites,
        solution=solution,
        build_seconds=build_seconds,
        solve_seconds=solution.seconds,
        total_seconds=total_seconds,
        mean_disputes=(
            float(world.disputes.mean()) if request.weight_disputes else None
        ),
        notes=tuple(notes),
    )


def describe(report: SitingReport) -> str:
    """The report as text for a terminal (the CLI's ``--format text``)."""
    r, s = report.request, report.solution
    lines = [
        f"模型 model: {MODELS[r.model]}, 半径 radius {r.radius_m:g} m"
        + (f", 新建 new {r.new}" if r.new is not None else ""),
        f"候选 candidates: {CANDIDATES[r.candidates]} ({report.candidate_count}), "
        f"需求点 demand: {DEMAND_METHOD}"
        + (f", 按纠纷加权 weighted {WEIGHT_FORMULA}" if r.weight_disputes else ""),
        f"求解 HiGHS: {s.status}, optimal={s.optimal}, objective={s.objective}, "
        f"bound={s.bound}, gap={s.gap}",
        f"用时 time: build {report.build_seconds:.3f} s, solve "
        f"{report.solve_seconds:.3f} s, total {report.total_seconds:.3f} s "
        f"({report.pairs} pairs)",
    ]
    for label, c in (("之前 before", report.before), ("之后 after", report.after)):
        lines.append(
            f"{label}: {c.villages}/{c.villages_total} villages "
            f"({c.village_share:.1%}), {c.residents}/{c.residents_total} residents "
            f"({c.resident_share:.1%})"
        )
    lines.append(f"新站点 new sites: {len(report.sites)}")
    for site in report.sites:
        villages = ", ".join(v["name"] for v in site.newly_covered[:8])
        more = len(site.newly_covered) - 8
        lines.append(
            f"  {site.code} {site.name} ({site.lon:.5f}, {site.lat:.5f}): +"
            f"{len(site.newly_covered)} villages, +{site.residents_newly_covered} "
            f"residents: {villages}" + (f" … +{more}" if more > 0 else "")
        )
    lines += [f"注意 note: {note}" for note in report.notes]
    return "\n".join(lines)


@dataclass(frozen=True)
class Instance:
    """A run's data as plain arrays, in metres in ``metric_crs`` (villages by
    code, candidates by ``j``): to hand the same instance to another solver
    (``scripts/bench_siting.py`` gives it to spopt) or to check a run by hand."""

    metric_crs: str
    village_xy: np.ndarray
    population: np.ndarray
    post_xy: np.ndarray
    candidate_xy: np.ndarray
    candidate_codes: tuple[str, ...]


def read_instance(conn: sa.Connection, request: SitingRequest) -> Instance:
    """The villages, posts and candidates :func:`plan` would use for
    ``request``, read the same way (through ``conn``, in a savepoint rolled
    back before returning)."""

    def xy(table: str, order: str) -> np.ndarray:
        rows = conn.execute(
            sa.text(f"SELECT ST_X(g), ST_Y(g) FROM {table} ORDER BY {order}")
        ).all()
        return np.array(rows, dtype=np.float64).reshape(-1, 2)

    with conn.begin_nested() as scratch:
        world = _read_world(conn, request)
        codes = conn.execute(
            sa.text("SELECT code FROM siting_candidate ORDER BY j")
        ).scalars()
        instance = Instance(
            metric_crs=f"EPSG:{world.srid}",
            village_xy=xy("siting_village", "i"),
            population=world.population,
            post_xy=xy("siting_post", "ST_X(g), ST_Y(g)"),
            candidate_xy=xy("siting_candidate", "j"),
            candidate_codes=tuple(codes),
        )
        scratch.rollback()
    return instance
