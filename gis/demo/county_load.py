"""Write the synthetic county world to PostGIS in one transaction.

The county's areas (:mod:`gis.demo.county`) and its people, posts, sites,
cameras and incidents (:mod:`gis.demo.county_world`) go through the demo's
write paths (:mod:`gis.demo.load`): staged by COPY, upserted by code, so
loading twice changes nothing, and stale synthetic rows are removed.  Posts,
sites and cameras are written with the assignment triggers standing aside and
then assigned set-based by :func:`gis.assign.assign_in`; the million incidents
go through the point import's loader, which assigns them set-based as it
writes (row triggers would take the better part of an hour).  Users' own
points (``synthetic = false``) are never touched, only re-assigned when the
boundaries changed.

The county never shares a database with the demo district
(:func:`gis.demo.load.refuse_other_world`).
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager

import numpy as np
from sqlalchemy.engine import Engine
from tqdm import tqdm

from gis import assign, bulk, lookup
from gis.demo import county, county_world
from gis.demo import duty as duty_people
from gis.demo.load import (
    AREA_ORDER,
    SPECS,
    counts,
    refuse_other_world,
    write_areas,
    write_duty,
    write_people,
    write_rows,
)
from gis.ingest.loader import PointLoader

logger = logging.getLogger(__name__)

STEPS = [
    "generate",
    "areas",
    "posts",
    "people",
    "sites",
    "cameras",
    "assign",
    "incidents",
]


class Steps:
    """Wall-clock seconds per step, with a progress bar on a terminal."""

    def __init__(self, names: list[str], progress: bool):
        self.seconds: dict[str, float] = {}
        self.start = time.perf_counter()
        self.bar = tqdm(names, disable=not progress, desc="county", unit="step")

    @contextmanager
    def step(self, name: str):
        self.bar.set_postfix_str(name)
        start = time.perf_counter()
        yield
        self.seconds[name] = time.perf_counter() - start
        self.bar.update()

    def close(self) -> dict[str, float]:
        """Seconds per step, and the ``total`` from start to now (commit
        included)."""
        self.bar.close()
        return {**self.seconds, "total": time.perf_counter() - self.start}


def load(
    engine: Engine,
    spec: county.CountySpec | None = None,
    seed: int = 20240101,
    incidents: int = 1_000_000,
    cameras: int = 40_000,
    progress: bool = False,
) -> tuple[dict, dict[str, float]]:
    """Generate the county world and write it, replacing an earlier county load.

    ``spec`` gives the geography (its own seed); ``seed`` the rest.

    Returns
    -------
    tuple
        Row counts per table after loading, and seconds per step.

    Raises
    ------
    gis.errors.Conflict
        The database holds the demo district's synthetic world.
    """
    spec = spec or county.CountySpec()
    steps = Steps(STEPS, progress)
    with steps.step("generate"):
        areas = county.generate(spec)
        people = county_world.generate(areas, seed=seed, cameras=cameras)
        duty = _duty(areas, people, seed)
    with engine.begin() as conn:
        cur = conn.connection.cursor()
        refuse_other_world(cur, county.COUNTY_CODE)
        with steps.step("areas"):
            _clear_points_if_reshaped(cur, {a["code"] for a in areas})
            changed = write_areas(cur, areas, county.SOURCE)
        del areas  # 20 million vertices; the villages stay in ``people``
        # Posts, sites and cameras go in unassigned; "assign" does them at once.
        cur.execute("SET LOCAL pingan.bulk_assign = 'on'")
        with steps.step("posts"):
            if write_rows(cur, "post", people.posts):
                lookup.refresh_post_index(cur)
        with steps.step("people"):
            write_people(
                cur, people.officers, people.officer_areas, people.grid_members
            )
            write_duty(cur, duty.people, duty.person_areas)
        with steps.step("sites"):
            write_rows(cur, "site", people.sites)
        with steps.step("cameras"):
            write_rows(cur, "camera", people.cameras)
        with steps.step("assign"):
            # Users' incidents only if boundaries changed: the synthetic ones
            # are assigned as they are written, next.
            tables = ["post", "camera", "site"] + (["incident"] if changed else [])
            assign.assign_in(conn, tables)
        with steps.step("incidents"):
            _incidents(conn, people.places, incidents, seed, steps.bar)
    return counts(engine), steps.close()


def _duty(areas: list[dict], people, seed: int):
    """Residents of the villages (the generator's own figures, which placed
    the incidents) and townships, written with the areas; advisers,
    mediators and patrol teams (:mod:`gis.demo.duty`)."""
    v = people.places["villages"]
    population = dict(zip(v.codes.tolist(), v.population.tolist(), strict=True))
    totals: dict[str, int] = {}
    for a in areas:
        if a["kind"] == "village":
            a["population"] = int(population[a["code"]])
            totals[a["parent_code"]] = totals.get(a["parent_code"], 0) + a["population"]
    townships = [a for a in areas if a["kind"] == "township"]
    for t in townships:
        t["population"] = totals.get(t["code"], 0)
    villages = [a for a in areas if a["kind"] == "village"]
    return duty_people.generate(np.random.default_rng([seed, 13]), townships, villages)


def _clear_points_if_reshaped(cur, codes: set[str]) -> None:
    """Before synthetic areas go (a county of another size or seed), delete
    the synthetic points and 一村一警 links: they are written again anyway, and
    otherwise every deleted area would scan a million incidents for the rows
    its foreign keys set to NULL (the assignment columns have no index)."""
    cur.execute("SELECT code FROM area WHERE synthetic")
    if {code for (code,) in cur.fetchall()} <= codes:
        return
    logger.info("county: another size or seed; synthetic points are cleared")
    cur.execute(
        """DELETE FROM officer_area oa USING officer o
            WHERE o.id = oa.officer_id AND o.synthetic"""
    )
    for table in ("incident", "camera", "site", "post"):
        cur.execute(f"DELETE FROM {table} WHERE synthetic")


def _incidents(conn, places: dict, n: int, seed: int, bar) -> None:
    """Generate the incidents chunk by chunk and write them through the point
    import's loader (:class:`gis.ingest.loader.PointLoader`: binary COPY,
    set-based assignment, keys and indexes set aside), so that memory holds
    one chunk at a time; then drop synthetic incidents no longer generated."""
    columns = {c: t for c, t in SPECS["incident"][0] if c not in ("lon", "lat")}
    columns["synthetic"] = "bool"
    cur = conn.connection.cursor()
    cur.execute("SELECT EXISTS (SELECT 1 FROM incident WHERE synthetic)")
    earlier = cur.fetchone()[0]  # else nothing can be stale
    codes = []  # 17 ASCII bytes each: 17 MB for a million
    done = 0
    with PointLoader(conn, "incident", columns) as loader:
        for chunk in county_world.incident_chunks(places, n, seed):
            size = len(chunk["code"])
            chunk["synthetic"] = np.ones(size, dtype=bool)
            loader.stage(chunk, chunk["lon"], chunk["lat"], np.ones(size, bool))
            if earlier:
                codes.append(chunk["code"].astype("S"))
            done += size
            bar.set_postfix_str(f"incidents {done:,}/{n:,}")
        loader.finish()
    if earlier:  # the loader's worker has finished with the connection
        _drop_stale_incidents(cur, codes)


def _drop_stale_incidents(cur, codes: list[np.ndarray]) -> None:
    """Delete the synthetic incidents whose code is not in ``codes``."""
    bulk.create_temp(cur, "county_incident_code", [("code", "text")])
    for batch in codes:
        values = batch.astype("U").astype(object)
        bulk.copy_columns(cur, "county_incident_code", [("code", "text", values)])
    cur.execute(
        """DELETE FROM incident t WHERE t.synthetic AND NOT EXISTS
           (SELECT 1 FROM county_incident_code s WHERE s.code = t.code)"""
    )


def describe(rows: dict, seconds: dict[str, float]) -> str:
    """The timing and row counts as lines for the terminal."""
    lines = ["耗时 / time:"]
    lines += [f"  {name:10s} {s:8.1f} s" for name, s in seconds.items()]
    lines.append("行数 / rows:")
    order = [k for k in AREA_ORDER if k in rows] + [
        k for k in rows if k not in AREA_ORDER
    ]
    lines += [f"  {name:15s} {rows[name]:>10,}" for name in order]
    return "\n".join(lines)
