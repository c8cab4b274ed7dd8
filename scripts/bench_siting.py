#!/usr/bin/env python3
"""Benchmark siting (``gis.siting``) against spopt's MCLP on the same instance.

``.venv/bin/python scripts/bench_siting.py [--url URL] [--radius-m R] [--new K]
[--candidates N] [--before-workstations] [--spopt-solver highs|cbc] [--no-spopt]``

The instance is the synthetic county of :mod:`gis.demo.county` at 71 x 71 =
5,041 villages (``python -m gis demo --county --county-size 71x71``), loaded
into the database ``pingan_bench_siting`` of the embedded cluster (or
DATABASE_URL's server) the first time, without incidents or cameras.  The
county's villages carry no population, so the run gives them one (seeded:
800-3,500 residents, 3,000-12,000 in one village of seven), inside a
transaction that is rolled back at the end, like everything else it changes.

- candidates: a lattice whose spacing gives about ``--candidates`` (2,000)
  points in the county;
- existing posts: the county's 1,736 posts stay, or with
  ``--before-workstations`` only its 派出所驻地 and 警务室, 25 at this size (the
  county before its workstations: a far harder instance);
- ours: ``siting.plan`` end to end (reading through the connection, coverage
  pairs from ``ST_DWithin`` in PostGIS, model to HiGHS, report), MCLP with
  ``--new`` (50) and LSCP, radius ``--radius-m`` (800 m);
- spopt: the identical instance built as its users build it: the points read
  from the database (``siting.read_instance``), a dense cost matrix
  (``scipy.spatial.distance.cdist``) of every village to every existing post
  and candidate, ``MCLP.from_cost_matrix`` with the posts as
  ``predefined_facilities_arr`` and ``p_facilities`` = posts + K, solved with
  ``--spopt-solver`` (default HiGHS through PuLP, the same solver as ours, so
  the difference is the modelling).  Its objective (residents covered in all)
  must equal ours plus the residents the posts already cover.

It also times the coverage-pair join both ways PostGIS offers: metric points
in the Gauss-Kruger plane (what ``gis.siting`` uses) and ``geography``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gis import db, schema, siting  # noqa: E402

DATABASE = "pingan_bench_siting"
SIZE = (71, 71)


def _engine(url: str | None) -> sa.Engine:
    if url:
        return db.get_engine(url)
    server = os.environ.get("DATABASE_URL") or db.database_url(start_embedded=True)
    with db.get_engine(server).connect() as conn:
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": DATABASE}
        ).scalar()
    url = sa.make_url(server).set(database=DATABASE).render_as_string(False)
    if not exists:
        url = db.create_database(server, DATABASE)
    engine = db.get_engine(url)
    schema.migrate(engine)
    with engine.connect() as conn:
        villages = conn.execute(
            sa.text("SELECT count(*) FROM area WHERE kind = 'village'")
        ).scalar()
    if not villages:
        from gis.demo import county, county_load

        print(f"loading the {SIZE[0]}x{SIZE[1]} county into {DATABASE} …")
        county_load.load(
            engine,
            county.CountySpec(columns=SIZE[0], rows=SIZE[1]),
            incidents=0,
            cameras=0,
        )
    return engine


def _prepare(conn: sa.Connection, before_workstations: bool) -> None:
    """Residents for the villages (seeded); fewer posts if asked."""
    rng = np.random.default_rng(20240101)
    ids = (
        conn.execute(
            sa.text("SELECT id FROM area WHERE kind = 'village' ORDER BY code")
        )
        .scalars()
        .all()
    )
    town = rng.random(len(ids)) < 1 / 7
    residents = np.where(
        town, rng.integers(3000, 12000, len(ids)), rng.integers(800, 3500, len(ids))
    )
    conn.execute(
        sa.text(
            "UPDATE area a SET population = r.n FROM unnest(:ids, :n) AS r(id, n) "
            "WHERE a.id = r.id"
        ),
        {"ids": list(ids), "n": residents.tolist()},
    )
    if before_workstations:
        conn.execute(sa.text("DELETE FROM post WHERE kind = 'workstation'"))


def _spacing(conn: sa.Connection, target: int) -> float:
    area = conn.execute(
        sa.text("SELECT sum(ST_Area(geom::geography)) FROM area WHERE kind = 'village'")
    ).scalar()
    return round(math.sqrt(area / target))


_JOIN_SETUP = """
CREATE TEMP TABLE bench_v AS SELECT ST_PointOnSurface(geom) AS p FROM area
 WHERE kind = 'village' AND valid_to IS NULL;
CREATE TEMP TABLE bench_c AS SELECT ST_Transform(ST_SetSRID(ST_MakePoint(x, y),
       :srid), 4326) AS p FROM unnest(:x, :y) AS c(x, y);
ALTER TABLE bench_v ADD g geometry, ADD h geography;
ALTER TABLE bench_c ADD g geometry, ADD h geography;
UPDATE bench_v SET g = ST_Transform(p, :srid), h = p::geography;
UPDATE bench_c SET g = ST_Transform(p, :srid), h = p::geography;
CREATE INDEX ON bench_v USING gist (g); CREATE INDEX ON bench_c USING gist (g);
CREATE INDEX ON bench_v USING gist (h); CREATE INDEX ON bench_c USING gist (h);
ANALYZE bench_v; ANALYZE bench_c;
"""


def _time_joins(conn, instance: siting.Instance, radius: float) -> None:
    """The coverage-pair join on metric points and on geography, best of 3."""
    srid = int(instance.metric_crs.split(":")[1])
    x, y = instance.candidate_xy.T
    with conn.begin_nested() as scratch:
        conn.execute(
            sa.text(_JOIN_SETUP), {"srid": srid, "x": x.tolist(), "y": y.tolist()}
        )
        for label, column in (("metric (Gauss-Kruger)", "g"), ("geography", "h")):
            sql = sa.text(
                f"SELECT count(*) FROM bench_v v JOIN bench_c c "
                f"ON ST_DWithin(c.{column}, v.{column}, :r)"
            )
            times, pairs = [], 0
            for _ in range(3):
                began = time.perf_counter()
                pairs = conn.execute(sql, {"r": radius}).scalar()
                times.append(time.perf_counter() - began)
            print(
                f"  pairs join, {label:22s} {min(times) * 1000:7.1f} ms  "
                f"({pairs:,} pairs)"
            )
        scratch.rollback()


def _ours(conn, request: siting.SitingRequest) -> siting.SitingReport:
    report = siting.plan(conn, request)
    s = report.solution
    print(
        f"  ours {request.model.upper()}: {report.total_seconds:6.2f} s end to end "
        f"(build {report.build_seconds:.2f} s, HiGHS {report.solve_seconds:.2f} s); "
        f"status {s.status!r}, optimal {s.optimal}, objective {s.objective:,.0f}, "
        f"gap {s.gap}; {len(report.sites)} new posts; villages covered "
        f"{report.before.villages:,} → {report.after.villages:,} of "
        f"{report.after.villages_total:,}"
    )
    return report


def _spopt(conn, request, solver_name: str) -> tuple[float, float, int]:
    """spopt's MCLP on the same instance; (seconds, objective, posts chosen)."""
    import pulp
    from scipy.spatial.distance import cdist
    from spopt.locate import MCLP

    began = time.perf_counter()
    instance = siting.read_instance(conn, request)
    facilities = np.vstack([instance.post_xy, instance.candidate_xy])
    cost = cdist(instance.village_xy, facilities)
    fixed = np.zeros(len(facilities), dtype=int)
    fixed[: len(instance.post_xy)] = 1
    built = time.perf_counter()
    model = MCLP.from_cost_matrix(
        cost,
        instance.population.astype(float),
        service_radius=request.radius_m,
        p_facilities=len(instance.post_xy) + request.new,
        predefined_facilities_arr=fixed,
    )
    modelled = time.perf_counter()
    solver = (
        pulp.HiGHS(msg=False, gapRel=0)
        if solver_name == "highs"
        else pulp.PULP_CBC_CMD(msg=False, gapRel=0)
    )
    model.solve(solver)
    done = time.perf_counter()
    objective = pulp.value(model.problem.objective)
    status = pulp.LpStatus[model.problem.status]
    print(
        f"  spopt MCLP: {done - began:6.2f} s end to end (read + cdist "
        f"{built - began:.2f} s, from_cost_matrix {modelled - built:.2f} s, "
        f"solve {done - modelled:.2f} s with {solver_name}); status {status!r}, "
        f"objective {objective:,.0f}; dense matrix {cost.shape[0]:,} x "
        f"{cost.shape[1]:,}"
    )
    return done - began, objective, len(facilities)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help=f"database (default: {DATABASE}, made once)")
    parser.add_argument("--radius-m", type=float, default=800.0)
    parser.add_argument("--new", type=int, default=50)
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--before-workstations", action="store_true")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--spopt-solver", choices=["highs", "cbc"], default="highs")
    parser.add_argument("--no-spopt", action="store_true")
    args = parser.parse_args(argv)

    engine = _engine(args.url)
    with engine.connect() as conn:
        outer = conn.begin()
        _prepare(conn, args.before_workstations)
        spacing = _spacing(conn, args.candidates)
        mclp = siting.SitingRequest(
            radius_m=args.radius_m,
            new=args.new,
            candidates="lattice",
            spacing_m=spacing,
            time_limit=args.time_limit,
        )
        lscp = siting.SitingRequest(
            radius_m=args.radius_m,
            model="lscp",
            candidates="lattice",
            spacing_m=spacing,
            time_limit=args.time_limit,
        )
        instance = siting.read_instance(conn, mclp)
        print(
            f"instance: {len(instance.village_xy):,} villages "
            f"({int(instance.population.sum()):,} residents), "
            f"{len(instance.candidate_xy):,} lattice candidates at {spacing:g} m, "
            f"{len(instance.post_xy):,} existing posts kept, radius "
            f"{args.radius_m:g} m, K = {args.new}, metric CRS {instance.metric_crs}"
        )
        _time_joins(conn, instance, args.radius_m)
        ours = _ours(conn, mclp)
        _ours(conn, lscp)
        if not args.no_spopt:
            seconds, objective, _ = _spopt(conn, mclp, args.spopt_solver)
            total = ours.before.residents + ours.solution.objective
            same = math.isclose(total, objective, rel_tol=1e-9, abs_tol=0.5)
            print(
                f"  MCLP ours {ours.total_seconds:.2f} s vs spopt {seconds:.2f} s: "
                f"{seconds / ours.total_seconds:.1f}x faster end to end (target "
                f">= 5x); objectives (residents covered in all) ours "
                f"{total:,.0f}, spopt {objective:,.0f}: "
                + ("EQUAL" if same else "DIFFERENT")
            )
        outer.rollback()
    return 0


if __name__ == "__main__":
    sys.exit(main())
