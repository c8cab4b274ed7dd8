"""Siting new posts: exact answers checked by brute force, honest solver status,
refusals that name the parameter, and a station's run kept to its own villages.

The brute-force worlds are cells of a chessboard, each cell a village, with key
sites scattered over it::

    lat 30.054 +------+------+------+------+------+
               | v10  | v11  |  x   | v13  | v14  |    x  key site (candidate)
    lat 30.036 +------+------+------+------+------+    P  existing post
               | v05  |  P   | v07  |   x  | v09  |
    lat 30.018 +------+------+------+------+------+
               | v00  | v01  | v02  | v03  |  x   |
    lat 30.000 +------+------+------+------+------+
            100.0   100.02                      100.1

The oracle measures geodesic distances (pyproj) from each cell's centre, so it
shares nothing with the PostGIS query under test; a radius with a distance
within 0.5 % of it is drawn again, since there the two ways of measuring (a
Gauss-Kruger plane and the ellipsoid) may honestly disagree.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import sqlalchemy as sa
from pyproj import Geod

from gis import db, siting, users
from gis.errors import InvalidInput
from tests.worlds import A1, B1, S1, S2, TWO_STATIONS, A, B, box, build_areas
from webmap import create_app

GEOD = Geod(ellps="WGS84")
DISTRICT, TOWNSHIP, STATION = "100000000000", "100000001000", "100000510000"
DX, DY = 0.02, 0.018


@pytest.fixture(scope="module")
def engine(make_database):
    """An empty database; each test builds its world in ``conn``, rolled back."""
    return db.get_engine(make_database())


def _insert(conn, sql: str, **params) -> None:
    conn.execute(sa.text(sql), params)


def _cells(conn, columns: int, rows: int, population, dx=DX, dy=DY) -> list:
    """Villages as ``columns`` x ``rows`` cells from (100.0, 30.0); their centres."""
    width, height = columns * dx, rows * dy
    outline = box(100.0, 100.0 + width, 30.0, 30.0 + height)
    build_areas(
        conn,
        [
            ("district", DISTRICT, None, outline),
            ("township", TOWNSHIP, DISTRICT, outline),
            ("police_station", STATION, DISTRICT, outline),
        ],
    )
    centres = []
    for k in range(columns * rows):
        x0, y0 = 100.0 + (k % columns) * dx, 30.0 + (k // columns) * dy
        code = _village(k)
        build_areas(conn, [("village", code, TOWNSHIP, box(x0, x0 + dx, y0, y0 + dy))])
        _insert(
            conn,
            "UPDATE area SET population = :p, name = :n WHERE code = :c",
            p=int(population[k]),
            n=f"村{k:02d}",
            c=code,
        )
        centres.append((x0 + dx / 2, y0 + dy / 2))
    return centres


def _village(k: int) -> str:
    """The code of cell ``k``, counted from 0 in the south-west."""
    return f"100000001{k + 1:03d}"


def _points(conn, table: str, points, kind: str) -> list[str]:
    codes = []
    for n, (lon, lat) in enumerate(points):
        code = f"{table[0].upper()}{n:02d}"
        _insert(
            conn,
            f"INSERT INTO {table} (code, name, kind, geom) VALUES (:c, :c, :k, "
            "ST_SetSRID(ST_MakePoint(:x, :y), 4326))",
            c=code,
            k=kind,
            x=float(lon),
            y=float(lat),
        )
        codes.append(code)
    return codes


def _reach(a, b, radius: float) -> np.ndarray:
    """within[i, j]: point a[i] within ``radius`` m of b[j] (geodesic); None if
    some distance is too close to the radius to call."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    lon1, lat1 = np.repeat(a, len(b), axis=0).T
    lon2, lat2 = np.tile(b, (len(a), 1)).T
    metres = GEOD.inv(lon1, lat1, lon2, lat2)[2].reshape(len(a), len(b))
    if np.any(np.abs(metres / radius - 1) < 0.005):
        return None
    return metres <= radius


class Instance:
    """A random chessboard world in ``conn`` and what the oracle knows of it."""

    def __init__(self, conn, seed: int, columns=5, rows=3, n_sites=9, disputes=False):
        rng = np.random.default_rng(seed)
        self.population = rng.integers(0, 5000, columns * rows)
        self.centres = _cells(conn, columns, rows, self.population)
        span = [(100.0, 100.0 + columns * DX), (30.0, 30.0 + rows * DY)]
        sites = np.column_stack(
            [rng.uniform(*span[0], n_sites), rng.uniform(*span[1], n_sites)]
        )
        posts = np.column_stack([rng.uniform(*span[0], 1), rng.uniform(*span[1], 1)])
        self.site_codes = _points(conn, "site", sites, "school")
        _points(conn, "post", posts, "police_room")
        self.cover = near_post = None
        while self.cover is None or near_post is None:  # no distance too near R
            self.radius = float(rng.uniform(2200, 4200))
            self.cover = _reach(self.centres, sites, self.radius)
            near_post = _reach(self.centres, posts, self.radius)
        self.uncovered = ~near_post.any(axis=1)
        self.disputes = np.zeros(len(self.centres))
        if disputes:
            self.disputes = rng.integers(0, 6, len(self.centres)).astype(float)
            self._incidents(conn, rng)

    def _incidents(self, conn, rng) -> None:
        for k, (lon, lat) in enumerate(self.centres):
            for n in range(int(self.disputes[k])):
                _incident(conn, f"D{k}-{n}", "dispute_neighbour", lon, lat)
            # Not a dispute: never weighs.
            _incident(conn, f"C{k}", "case", lon + DX / 4, lat)

    def weights(self, by_disputes: bool) -> np.ndarray:
        mean = self.disputes.mean()
        if not by_disputes or mean == 0:
            return self.population.astype(float)
        return self.population * (1 + self.disputes / mean)

    def newly(self, chosen) -> np.ndarray:
        """Villages the sites ``chosen`` (indices) newly cover."""
        reached = self.cover[:, list(chosen)].any(axis=1)
        return reached & self.uncovered

    def chosen(self, report) -> list[int]:
        return [self.site_codes.index(site.code) for site in report.sites]


def _incident(conn, code: str, category: str, lon: float, lat: float) -> None:
    _insert(
        conn,
        "INSERT INTO incident (code, category, reported_at, geom) VALUES (:c, :k, "
        "now(), ST_SetSRID(ST_MakePoint(:x, :y), 4326))",
        c=code,
        k=category,
        x=lon,
        y=lat,
    )


# -- exact answers, checked by brute force -----------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_mclp_equals_the_best_of_every_subset_of_k_sites(conn, seed, weighted):
    world = Instance(conn, seed, disputes=weighted)
    k = 1 + seed % 3
    w = world.weights(weighted)
    best = max(
        w[world.newly(combo)].sum()
        for combo in itertools.combinations(range(len(world.site_codes)), k)
    )
    request = siting.SitingRequest(
        radius_m=world.radius, new=k, weight_disputes=weighted
    )
    report = siting.plan(conn, request)

    assert report.optimal and report.solution.status == "Optimal"
    assert report.solution.gap == pytest.approx(0, abs=1e-9)
    assert report.solution.objective == pytest.approx(best, rel=1e-9, abs=1e-6)
    chosen = world.chosen(report)
    assert len(chosen) <= k
    assert w[world.newly(chosen)].sum() == pytest.approx(best, rel=1e-9, abs=1e-6)
    pop = world.population
    assert report.before.residents == pop[~world.uncovered].sum()
    assert report.after.residents == pop[~world.uncovered | world.newly(chosen)].sum()
    assert report.after.villages_total == len(pop)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6, 7, 8])
def test_lscp_equals_the_smallest_covering_subset_or_names_the_stranded(conn, seed):
    world = Instance(conn, seed)
    need = world.uncovered
    stranded = need & ~world.cover.any(axis=1)
    request = siting.SitingRequest(radius_m=world.radius, model="lscp")
    if stranded.any():
        with pytest.raises(InvalidInput) as refused:
            siting.plan(conn, request)
        named = {v["code"] for v in refused.value.details["villages"]}
        assert named == {_village(k) for k in np.flatnonzero(stranded)}
        assert refused.value.details["field"] == "radius_m"
        assert f"村{np.flatnonzero(stranded)[0]:02d}" in refused.value.message
        return
    fewest = next(
        size
        for size in range(len(world.site_codes) + 1)
        for combo in itertools.combinations(range(len(world.site_codes)), size)
        if (world.newly(combo) == need).all()
    )
    report = siting.plan(conn, request)
    assert report.optimal and report.solution.objective == fewest
    assert len(report.sites) == fewest
    assert (world.newly(world.chosen(report)) == need).all()
    assert report.after.villages == report.after.villages_total


def test_each_new_site_lists_the_villages_it_newly_covers(conn):
    world = Instance(conn, 7)
    report = siting.plan(conn, siting.SitingRequest(radius_m=world.radius, new=2))
    for site, j in zip(report.sites, world.chosen(report), strict=True):
        newly = world.cover[:, j] & world.uncovered
        expected = {_village(k) for k in np.flatnonzero(newly)}
        assert {v["code"] for v in site.newly_covered} == expected
        distances = [v["distance_m"] for v in site.newly_covered]
        assert distances == sorted(distances) and max(distances) <= world.radius
    as_json = json.loads(json.dumps(report.to_dict()))
    assert as_json["demand_method"] == "point_on_surface"
    assert as_json["build_seconds"] > 0 and as_json["solve_seconds"] > 0


def test_grid_and_lattice_candidates_lie_inside_the_villages(conn):
    _cells(conn, 3, 2, [1000] * 6)
    for k in range(6):  # one grid per village, the village's own outline
        _insert(
            conn,
            "INSERT INTO area (kind, code, name, parent_id, geom) SELECT 'grid', "
            "code || '001', name || '网格', id, geom FROM area WHERE code = :c",
            c=_village(k),
        )
    grids = siting.plan(
        conn, siting.SitingRequest(radius_m=1000, new=6, candidates="grids")
    )
    assert grids.candidate_count == 6 and len(grids.sites) == 6
    assert all(s.code.endswith("001") and s.kind == "grid" for s in grids.sites)
    lattice = siting.SitingRequest(
        radius_m=3000, model="lscp", candidates="lattice", spacing_m=1000
    )
    report = siting.plan(conn, lattice)
    assert report.optimal and report.after.village_share == 1.0
    # 3 x 2 cells of about 1.93 x 2.0 km hold about 6 x 4 points 1 km apart.
    assert 20 <= report.candidate_count <= 30
    for site in report.sites:
        assert 100.0 < site.lon < 100.06 and 30.0 < site.lat < 30.036
        assert site.code.startswith("L")


def test_a_time_limit_stop_is_reported_as_such_not_as_optimal(conn):
    rng = np.random.default_rng(0)
    _cells(conn, 20, 20, rng.integers(100, 5000, 400), dx=0.005, dy=0.0045)
    request = siting.SitingRequest(
        radius_m=1200, new=20, candidates="lattice", spacing_m=150, time_limit=0.001
    )
    report = siting.plan(conn, request)
    assert report.candidate_count > 3000 and report.pairs > 50_000
    assert not report.optimal
    assert report.solution.status == "Time limit reached"
    body = report.to_dict()
    assert body["solver"]["optimal"] is False
    assert body["solver"]["status"] == "Time limit reached"
    assert "mip_gap" in body["solver"] and body["solver"]["time_limit"] == 0.001
    assert any("not prove optimality" in note for note in body["notes"])
    if report.solution.feasible:  # a gap is known only with a solution in hand
        assert report.solution.gap is not None and report.solution.gap >= 0


@pytest.mark.parametrize(
    "values, field",
    [
        ({"new": -1, "radius_m": 1000}, "new"),
        ({"new": 0, "radius_m": 1000}, "new"),
        ({"new": 2.5, "radius_m": 1000}, "new"),
        ({"radius_m": 1000}, "new"),  # the maximal covering model needs it
        ({"new": 1, "radius_m": 0}, "radius_m"),
        ({"new": 1, "radius_m": -5}, "radius_m"),
        ({"new": 1, "radius_m": "far"}, "radius_m"),
        ({"new": 1}, "radius_m"),
        ({"new": 1, "radius_m": 1000, "model": "p-median"}, "model"),
        ({"new": 1, "radius_m": 1000, "candidates": "shops"}, "candidates"),
        ({"new": 1, "radius_m": 1000, "time_limit": 0}, "time_limit"),
        ({"new": 1, "radius_m": 1000, "spacing_m": 1}, "spacing_m"),
        ({"new": 1, "radius_m": 1000, "weight_disputes": "maybe"}, "weight_disputes"),
        ({"new": 1, "radius": 1000}, "radius"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(values, field):
    with pytest.raises(InvalidInput) as refused:
        siting.parse_request(values)
    assert refused.value.details["field"] == field


def test_oversized_requests_are_refused_before_any_solving(conn, monkeypatch):
    _cells(conn, 4, 3, [1000] * 12)
    dense = siting.SitingRequest(
        radius_m=1000, new=1, candidates="lattice", spacing_m=50
    )
    monkeypatch.setattr(siting, "MAX_CANDIDATES", 10_000)
    with pytest.raises(InvalidInput, match="spacing_m") as refused:
        siting.plan(conn, dense)
    assert refused.value.details["field"] == "spacing_m"
    monkeypatch.setattr(siting, "MAX_PAIRS", 100)
    wide = siting.SitingRequest(
        radius_m=20_000, model="lscp", candidates="lattice", spacing_m=500
    )
    with pytest.raises(InvalidInput, match="pairs") as refused:
        siting.plan(conn, wide)
    assert refused.value.details["field"] == "radius_m"


# -- over HTTP, under the row policies ---------------------------------------------

PASSWORD = "correct-horse-1"
FOREIGN = (B, B1, S2, "乙村", "X-S2", "P-S2")
USERS = [
    ("admin1", "admin", None, None),
    ("plan1", "planner", None, None),
    ("lead1", "leader", None, None),
    ("pcs1", "station", S1, None),
    ("gm1", "grid_member", None, A1),
]


@pytest.fixture(scope="module")
def web(make_database):
    """TWO_STATIONS: station S1 holds village 甲村 (A), S2 乙村 (B), each with a
    key site; B has a post far in its east."""
    url = make_database()
    with db.get_engine(url).begin() as conn:
        build_areas(conn, TWO_STATIONS)
        for code, name, population in ((A, "甲村", 3000), (B, "乙村", 2000)):
            _insert(
                conn,
                "UPDATE area SET name = :n, population = :p WHERE code = :c",
                n=name,
                p=population,
                c=code,
            )
        for code, lon in (("X-S1", 100.05), ("X-S2", 100.15)):
            _insert(
                conn,
                "INSERT INTO site (code, name, kind, geom) VALUES (:c, :c, 'school', "
                "ST_SetSRID(ST_MakePoint(:x, 30.07), 4326))",
                c=code,
                x=lon,
            )
        _insert(
            conn,
            "INSERT INTO post (code, name, kind, geom) VALUES ('P-S2', 'P-S2', "
            "'workstation', ST_SetSRID(ST_MakePoint(100.179, 30.09), 4326))",
        )
        for name, role, station, grid in USERS:
            users.add(conn, name, role, PASSWORD, station=station, grid=grid)
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    client = app.test_client()
    tokens = {}
    for name, *_ in USERS:
        answer = client.post(
            "/api/token", json={"username": name, "password": PASSWORD}
        )
        tokens[name] = {"Authorization": f"Bearer {answer.json['token']}"}
    return client, tokens


def _site(web, user: str, body):
    client, tokens = web
    return client.post("/api/site", json=body, headers=tokens[user])


def test_a_planner_plans_for_the_whole_district(web):
    answer = _site(web, "plan1", {"new": 1, "radius_m": 20_000})
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["after"]["villages_total"] == 2 and body["candidate_count"] == 2
    assert body["solver"]["status"] == "Optimal" and body["solver"]["optimal"] is True
    assert body["after"]["residents"] == 5000


@pytest.mark.parametrize(
    "body",
    [
        {"new": 1, "radius_m": 20_000},
        {"new": 1, "radius_m": 20_000, "candidates": "grids"},
        {"new": 2, "radius_m": 20_000, "candidates": "lattice", "spacing_m": 2000},
        {"radius_m": 20_000, "model": "lscp", "candidates": "lattice"},
        {"new": 1, "radius_m": 20_000, "weight_disputes": True},
    ],
)
def test_a_station_plans_for_its_own_villages_only(web, body):
    answer = _site(web, "pcs1", body)
    assert answer.status_code == 200, answer.json
    text = answer.get_data(as_text=True)
    assert not [marker for marker in FOREIGN if marker in text]
    plan = answer.json
    assert plan["after"]["villages_total"] == 1
    assert plan["after"]["residents_total"] == 3000
    for site in plan["sites"]:
        assert site["lon"] < 100.1
        assert [v["code"] for v in site["newly_covered"]] == [A]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"new": -1, "radius_m": 1000}, "new"),
        ({"new": 1, "radius_m": 0}, "radius_m"),
        ({"new": 1, "radius_m": 1000, "model": "pmedian"}, "model"),
        ({"new": 1, "radius_m": 1000, "candidates": "shops"}, "candidates"),
        ({"new": 3, "radius_m": 1000}, "new"),  # two key sites in the district
        (["new", 1], "body"),
    ],
)
def test_bad_requests_are_400s_naming_the_parameter(web, body, field):
    answer = _site(web, "plan1", body)
    assert answer.status_code == 400, answer.json
    assert answer.json["error"] == "invalid_input"
    assert answer.json["details"]["field"] == field
    assert field in answer.json["message"] or field == "body"


def test_set_covering_out_of_reach_names_the_village(web):
    answer = _site(web, "plan1", {"radius_m": 1000, "model": "lscp"})
    assert answer.status_code == 400
    assert "甲村" in answer.json["message"] and A in answer.json["message"]
    assert answer.json["details"]["villages"][0] == {"code": A, "name": "甲村"}


def test_only_planners_admins_and_stations_may_plan(web):
    for user, status in (("admin1", 200), ("lead1", 403), ("gm1", 403)):
        assert _site(web, user, {"new": 1, "radius_m": 20_000}).status_code == status
    client, _ = web
    assert client.post("/api/site", json={"new": 1, "radius_m": 1}).status_code == 401
