"""Where does this point belong?  Jurisdiction lookup (MapIt for villages and grids).

:func:`lookup_many` answers, for each point, the district, township, village, grid
and police station containing it (boundaries in force on a date), the officers and
grid members responsible, and the nearest post with its distance in metres, in one
set-based query (a server-side prepared statement: see ``_STATEMENTS``).  Edge
cases are flagged:

- ``on_boundary``: the point lies on a border shared by two or more areas of one
  kind.  It is given to the area with the **smallest code** (the same rule the
  database uses when it assigns incidents, see ``area_at`` in the schema).
- ``in_gap``: inside the district but in no village (a gap in the boundaries).
- ``outside_district``: in no district at all.

Examples
--------
>>> with engine.connect() as conn:                       # doctest: +SKIP
...     lookup(conn, 115.03, 35.76, crs="gcj02")["village"]
{'code': '410902001003', 'name': '锦华社区'}
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import date

import numpy as np
import orjson
import psycopg2.extensions
import sqlalchemy as sa

from gis import access, audit, params
from gis.errors import InvalidInput

# Moved to gis.params; still importable from here for callers not yet updated.
from gis.params import parse_crs, parse_date, parse_points, to_storage  # noqa: F401

logger = logging.getLogger(__name__)

MAX_BATCH = 10_000  # points per POST /api/lookup request
AREA_KINDS = ("district", "township", "village", "grid", "police_station")


# One statement answers any number of points.  Areas are named for everyone
# (``area_directory``: codes and names, the one window past the area policy);
# officers, grid members and posts come from their tables, so the row policies
# leave out those the caller may not see.  Polygons come from the subdivided
# ``area_part`` copies so the GiST index does the work; a point touching several
# areas of one kind (a shared edge or vertex) keeps the one with the smallest code.
# Each point's row carries only ids; the names, officers, grid members and posts
# of all the areas and posts hit are built once per statement and travel once, on
# the first row (``refs``), so a batch does not repeat them for every point.
_LOOKUP_SQL = """
WITH pts AS {inline}({points}
), hits AS (
    SELECT p.ord, a.kind, a.code, a.id
      FROM pts p
      JOIN area_part_directory ap ON ST_Intersects(ap.geom, p.geom)
      JOIN area_directory a ON a.id = ap.area_id
     WHERE a.valid_from <= {at} AND (a.valid_to IS NULL OR a.valid_to > {at})
), per_kind AS (  -- shared: two different areas (a seam between two parts of
                  -- one area hits that area twice, which is no shared border)
    SELECT DISTINCT ON (ord, kind) ord, kind, id,
           min(id) OVER by_kind <> max(id) OVER by_kind AS shared
      FROM hits
    WINDOW by_kind AS (PARTITION BY ord, kind ORDER BY code, id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
     ORDER BY ord, kind, code, id
), chosen AS (
    SELECT ord,
           max(id) FILTER (WHERE kind = 'district') AS district,
           max(id) FILTER (WHERE kind = 'township') AS township,
           max(id) FILTER (WHERE kind = 'village') AS village,
           max(id) FILTER (WHERE kind = 'grid') AS grid,
           max(id) FILTER (WHERE kind = 'police_station') AS police_station,
           array_agg(kind) FILTER (WHERE shared) AS shared
      FROM per_kind GROUP BY ord
), answers AS (
    SELECT p.ord, c.district, c.township, c.village, c.grid, c.police_station,
           c.shared, np.id AS post_id,
           round(np.distance_m::numeric, 1)::float8 AS distance_m
      FROM pts p
      LEFT JOIN chosen c ON c.ord = p.ord
      -- The nearest post the caller may see: a function of migration 0012,
      -- which searches the post index first and applies the scope rule
      -- after (the row policy, applied first, cost the search its index).
      LEFT JOIN LATERAL pingan_nearest_post(p.geom) np ON true
), chosen_places AS (
    -- The village and grid of each answer, with every generation of them: an
    -- assignment is kept on the generation current when it was made (imports
    -- move it to a new generation), and its own validity period says whether
    -- it held on the day asked about.
    SELECT ch.id, ch.kind, ch.code, ch.name,
           array(SELECT g.id FROM area_directory g
                  WHERE g.kind = ch.kind AND g.code = ch.code) AS generations
      FROM area_directory ch
     WHERE ch.id IN (SELECT village FROM chosen UNION SELECT grid FROM chosen)
), officers AS (  -- each officer who answered for the area that day
    SELECT ch.id AS area_id, json_agg(json_build_object(
               'for', json_build_object('code', ch.code, 'name', ch.name),
               'code', o.code, 'kind', o.kind, 'name', o.name,
               'post', CASE WHEN po.id IS NOT NULL THEN json_build_object(
                   'code', po.code, 'name', po.name, 'phone', po.phone)
               END) ORDER BY o.code) AS people
      FROM chosen_places ch
      JOIN officer_area oa ON oa.area_id = ANY (ch.generations)
       AND oa.valid_from <= {at}
       AND (oa.valid_to IS NULL OR oa.valid_to > {at})
      JOIN officer o ON o.id = oa.officer_id AND o.active
      LEFT JOIN post po ON po.id = o.post_id
     GROUP BY ch.id
), members AS (
    SELECT ch.id AS area_id, json_agg(json_build_object(
               'code', m.code, 'kind', m.kind, 'name', m.name)
               ORDER BY m.code) AS people
      FROM chosen_places ch
      JOIN grid_member_area ma ON ma.area_id = ANY (ch.generations)
       AND ma.valid_from <= {at}
       AND (ma.valid_to IS NULL OR ma.valid_to > {at})
      JOIN grid_member m ON m.id = ma.member_id
     WHERE ch.kind = 'grid'
     GROUP BY ch.id
), refs AS (  -- keys are written in the order the answers have always had
    SELECT json_build_object(
        'areas', (
            -- Each area by its key: a join would read the whole table for
            -- the handful of areas one point hits.
            SELECT json_object_agg(hit.id, (
                       SELECT json_build_object('code', a.code, 'name', a.name)
                         FROM area_directory a WHERE a.id = hit.id))
              FROM (SELECT DISTINCT unnest(ARRAY[district, township, village,
                                                 grid, police_station]) AS id
                      FROM chosen) hit
             WHERE hit.id IS NOT NULL),
        'officers', (SELECT json_object_agg(area_id, people) FROM officers),
        'members', (SELECT json_object_agg(area_id, people) FROM members),
        'posts', (
            SELECT json_object_agg(po.id, json_build_object(
                       'code', po.code, 'kind', po.kind, 'name', po.name))
              FROM post po
             WHERE po.id IN (SELECT post_id FROM answers))) AS refs
)
SELECT a.district, a.township, a.village, a.grid, a.police_station, a.shared,
       a.post_id, a.distance_m,
       CASE WHEN a.ord = 1 THEN (SELECT refs FROM refs)::text END
  FROM answers a
{alive} ORDER BY a.ord
"""

# Server-side prepared statements, made once per connection.  One point takes
# scalars: its generic plan matches the custom one, so after five runs
# PostgreSQL stops planning it (planning used to cost ten times the execution).
# A small batch takes two arrays, sent as text literals ('{115.03,...}'), which
# the server parses far faster than an ARRAY[...] expression.  A large batch is
# first written to an indexed temporary table (``TABLE_BATCH``): the areas
# then probe the points' index, a few hundred probes in all, instead of every
# point probing theirs.  Measured on the demo, points inside the district:
# 49 -> 34 us a point from 3,000 points on, even at 1,000, dearer below (the
# table's set-up).  The nearest post is one call of ``pingan_nearest_post`` a
# point whatever the size (about 18 us each: 10,000 points in 0.44 s, as the
# owner and as the web role alike).  Batches are planned per call, which is
# noise next to their execution.
_ONE = """
    SELECT 1::bigint AS ord, ST_SetSRID(ST_MakePoint($1, $2), 4326) AS geom"""
_MANY = """
    SELECT u.ord, ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326) AS geom
      FROM unnest($1, $2) WITH ORDINALITY AS u(lon, lat, ord)"""
_TABLE = "pingan_lookup_points"
# A lookup that names officers or grid members is a read of personal data: the
# web request's user is recorded by gis.audit.record_read (who, the request's
# address, how many points and how many named people) once the answers are
# made, from the officers and members the statement returned (under the row
# policies), so a station's lookup in the neighbour's village records nothing.
# The web request's session is checked by the statement itself when the
# connection's settings are already that session's scope (gis.access.embed):
# pingan_alive (migration 0021) in the top-level WHERE, a one-time filter that
# runs before any row is read, and raises when the session ended or the
# settings are not its scope; nothing is answered or recorded then.  NULL:
# checked already (pingan_resume sent ahead in the same round trip).
_FORMS = {  # name: (parameter types, points, date, inlined)
    "pingan_lookup_one": ("float8, float8, date", _ONE, "$3", ""),
    "pingan_lookup_many": ("float8[], float8[], date", _MANY, "$3", ""),
    # NOT MATERIALIZED: each use of pts reads the table, with its index.
    "pingan_lookup_table": (
        "date",
        f"SELECT ord, geom FROM {_TABLE}",
        "$1",
        "NOT MATERIALIZED ",
    ),
}
_STATEMENTS = {
    "pingan_lookup_fill": ("float8[], float8[]", f"INSERT INTO {_TABLE} {_MANY}"),
}
for _name, (_types, _points, _at, _inline) in _FORMS.items():
    _STATEMENTS[_name] = (
        _types,
        _LOOKUP_SQL.format(points=_points, at=_at, inline=_inline, alive=""),
    )
    _hash = _types.count(",") + 2  # the parameter after the others
    _STATEMENTS[f"{_name}_checked"] = (
        f"{_types}, bytea",
        _LOOKUP_SQL.format(
            points=_points,
            at=_at,
            inline=_inline,
            alive=f"WHERE pingan_alive(${_hash})\n",
        ),
    )
TABLE_BATCH = 1000
"""Batches of this many points or more go through the temporary table, unless
there are more area pieces than points: then each point probing the pieces'
index stays cheaper (the synthetic county's 250,000 pieces against 10,000
points: 1.3 s, against 2.7 s the other way round)."""
_PREPARED = "pingan_lookup_prepared"  # key in the pooled connection's info dict
_IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE


@contextmanager
def _cursor(conn: sa.Connection):
    """A raw DBAPI cursor of ``conn``, and the set of statements it has prepared.

    The raw cursor skips SQLAlchemy's per-statement work, which costs as much as
    the statement itself for one point.  Inside the caller's transaction (a
    test, an intake that goes on to write) the statements read within it;
    outside one they run on their own in autocommit, which saves the BEGIN and
    the ROLLBACK round trips and leaves no transaction open, as before.  A web
    request's session check, when it waits for the first statement
    (:func:`gis.access.begin_known`), goes in the same round trip.
    """
    pooled = conn.connection
    dbapi = pooled.dbapi_connection
    prepared = pooled.info.setdefault(_PREPARED, set())  # dropped with the DBAPI
    alone = not (  # connection, like its prepared statements
        conn.in_transaction()
        or dbapi.autocommit
        or dbapi.info.transaction_status != _IDLE
    )
    if alone:
        dbapi.autocommit = True
    try:
        with dbapi.cursor() as cursor:
            yield access.scoped(conn, cursor), prepared
    finally:
        if alone and not dbapi.closed:
            dbapi.autocommit = False


def _execute(cursor, prepared: set, name: str, params: tuple) -> list[tuple]:
    """Run prepared statement ``name``, preparing it on first use."""
    if name not in prepared:
        types, sql = _STATEMENTS[name]
        cursor.execute(f"PREPARE {name} ({types}) AS {sql}")
        prepared.add(name)
    cursor.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(params))})", params)
    return cursor.fetchall() if cursor.description else []


def _query(conn: sa.Connection, x: np.ndarray, y: np.ndarray, when) -> list[tuple]:
    """The statement's rows for WGS84 points ``x``, ``y`` on date ``when``; the
    session is checked by the statement itself when it can be (see
    :func:`gis.access.embed`)."""
    with _cursor(conn) as (cursor, prepared):
        alive = access.embed(cursor)
        checked = ("_checked", (alive,)) if alive is not None else ("", ())
        if len(x) == 1:
            return _execute(
                cursor,
                prepared,
                "pingan_lookup_one" + checked[0],
                (float(x[0]), float(y[0]), when, *checked[1]),
            )
        if len(x) < max(TABLE_BATCH, _table_from(cursor)):
            return _execute(
                cursor,
                prepared,
                "pingan_lookup_many" + checked[0],
                (_array(x), _array(y), when, *checked[1]),
            )
        # The table lives as long as the session (a temporary table per batch
        # would add and remove catalogue rows every time); IF NOT EXISTS also
        # covers a caller's transaction that created it and was rolled back.
        cursor.execute(f"""
            CREATE TEMP TABLE IF NOT EXISTS {_TABLE} (ord bigint, geom geometry);
            CREATE INDEX IF NOT EXISTS {_TABLE}_geom ON {_TABLE} USING gist (geom);
            TRUNCATE {_TABLE}""")
        _execute(cursor, prepared, "pingan_lookup_fill", (_array(x), _array(y)))
        return _execute(
            cursor, prepared, "pingan_lookup_table" + checked[0], (when, *checked[1])
        )


def _table_from(cursor) -> float:
    """From how many points the table is worth it: about as many as there are
    pieces in ``area_part`` (an upper bound before the table's first ANALYZE:
    no piece is smaller than 200 bytes); never where nothing may be written (a
    read-only transaction, a hot standby serving reads)."""
    cursor.execute("""
        SELECT CASE WHEN pg_is_in_recovery()
                      OR current_setting('transaction_read_only') = 'on'
                    THEN 'Infinity'
                    WHEN reltuples >= 0 THEN reltuples
                    ELSE pg_relation_size(oid) / 200 END
          FROM pg_class WHERE oid = 'area_part'::regclass""")
    return cursor.fetchone()[0]


def refresh_post_index(cursor) -> None:
    """Rebuild the nearest-post index after posts were written in bulk.

    ``post_geog_gist`` is built with pages a tenth full (migration 0009) so that
    a nearest-post search visits a few pages and posts, not all of them; rows
    inserted one by one fill its pages again.  Cheap (posts are few); it locks
    the index until the caller's transaction ends.  A role that does not own
    the table may not rebuild it, and leaves it as it is.
    """
    cursor.execute(
        "SELECT pg_has_role(relowner, 'USAGE') FROM pg_class "
        "WHERE oid = 'post_geog_gist'::regclass"
    )
    if cursor.fetchone()[0]:
        cursor.execute("REINDEX INDEX post_geog_gist")


def _array(values: np.ndarray) -> str:
    # repr() is the shortest text that reads back as the same float8.
    return "{" + ",".join(map(repr, values.tolist())) + "}"


def lookup_many(
    conn: sa.Connection,
    lons: Sequence,
    lats: Sequence,
    crs: str = "wgs84",
    at: date | None = None,
    audit_as: str | None = None,
    client_addr: str | None = None,
) -> list[dict]:
    """Look up many points at once; answers come back in input order.

    Parameters
    ----------
    conn : sqlalchemy.Connection
    lons, lats : sequences of numbers
        Coordinates in ``crs`` (validated; the first bad one raises InvalidInput).
    crs : str
        ``wgs84``, ``gcj02``, ``bd09`` or ``EPSG:n`` (see :func:`gis.crs.parse_crs`).
    at : date, optional
        Answer with the boundaries in force on this date (default today).
    audit_as : str, optional
        A web request's user: when an answer names officers or grid members,
        the read is recorded (:func:`gis.audit.record_read`, action
        ``lookup``: how many points, how many named someone).
    client_addr : str, optional
        The request's address, for that record.

    Notes
    -----
    Answers for points in the same area share that area's ``{code, name}``,
    officer, grid member and flag objects; copy an answer before changing it in
    place.
    """
    if len(lons) != len(lats):
        raise InvalidInput(
            "lon 与 lat 数量不同 / lon and lat differ in length", field="points"
        )
    if len(lons) > MAX_BATCH:
        raise InvalidInput(
            f"一次最多 {MAX_BATCH} 个点 / at most {MAX_BATCH} points per request, "
            f"got {len(lons)}",
            field="points",
        )
    if not len(lons):
        return []
    crs = params.parse_crs(crs)
    x, y = params.to_storage(lons, lats, crs, params.point_fields(len(lons)))
    when = at or date.today()
    answers = _answers(_query(conn, x, y, when), lons, lats, crs, x, y, when)
    if audit_as is not None:
        named = sum(1 for a in answers if a["officers"] or a["grid_members"])
        if named:
            detail = {"points": len(answers), "named": named}
            audit.record_read(
                conn.engine, audit_as, "lookup", "point", None, detail, client_addr
            )
    return answers


def lookup(
    conn: sa.Connection,
    lon,
    lat,
    crs: str = "wgs84",
    at: date | None = None,
    audit_as: str | None = None,
    client_addr: str | None = None,
) -> dict:
    """Look up one point (see :func:`lookup_many`)."""
    return lookup_many(conn, [lon], [lat], crs, at, audit_as, client_addr)[0]


def _refs(refs: str | None) -> tuple[dict, dict, dict, dict]:
    """The first row's reference objects, keyed by id (JSON keys are text).
    They come as text, read by orjson: psycopg2's own reading of a json
    column (the standard library's) cost a single lookup 10 us more."""
    refs = orjson.loads(refs) if refs else {}
    return tuple(
        {int(key): value for key, value in (refs.get(name) or {}).items()}
        for name in ("areas", "officers", "members", "posts")
    )


def _answers(rows, lons, lats, crs, x, y, when) -> list[dict]:
    areas, officers, members, posts = _refs(rows[0][-1])
    at = when.isoformat()
    people: dict[tuple, list] = {}  # (village, grid) -> officers of both
    flags: dict[tuple, dict] = {}  # (shared kinds, district, village) -> flags
    answers = []
    for row, lon, lat, wx, wy in zip(
        rows, lons, lats, x.tolist(), y.tolist(), strict=True
    ):
        district, township, village, grid, station, shared, post, distance = row[:8]
        place = (village, grid)
        if (officers_here := people.get(place)) is None:
            officers_here = officers.get(village, []) + officers.get(grid, [])
            people[place] = officers_here
        edge = (tuple(shared or ()), district is None, village is None)
        if (flags_here := flags.get(edge)) is None:
            flags_here = flags[edge] = _flags(*edge)
        answers.append({
            "query": {
                "lon": float(lon),
                "lat": float(lat),
                "crs": crs,
                "wgs84": [round(wx, 8), round(wy, 8)],
                "at": at,
            },
            "district": areas.get(district),
            "township": areas.get(township),
            "village": areas.get(village),
            "grid": areas.get(grid),
            "police_station": areas.get(station),
            "officers": officers_here,
            "grid_members": members.get(grid, []),
            "nearest_post": (
                None if post is None else {**posts[post], "distance_m": distance}
            ),
            "flags": flags_here,
        })  # fmt: skip
    return answers


def _flags(shared: tuple, outside: bool, no_village: bool) -> dict:
    return {
        "on_boundary": bool(shared),
        "boundary_kinds": sorted(shared),
        "in_gap": not outside and no_village,
        "outside_district": outside,
    }


def to_json(answer) -> str:
    """Pretty JSON for the CLI (Chinese kept readable)."""
    return json.dumps(answer, ensure_ascii=False, indent=2)
