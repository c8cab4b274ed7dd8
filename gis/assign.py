"""Set-based (re)assignment of points to village, grid, township and station.

The row triggers keep single inserts and moves right.  After boundaries change
(a re-import, a new generation) :func:`assign` recomputes every point table in
one transaction and writes only the rows whose answer changed.

Each point table is one polygon-driven join: every subdivided ``area_part`` of
the four kinds probes the points' GiST index, and a hash aggregate keeps, per
point and kind, the area with the smallest code (then the newest generation),
the same rule as ``area_at`` in the schema and :mod:`gis.lookup`.  Incidents use
the boundaries in force on the day they were reported; other points use today's.

Village and township are not derived from the grid's ``parent_id``.  Grids
need not cover their village, may stick out of it, and a village may get a new
generation while its grids keep the old parent; deriving is only right where
the hierarchy provably nests, and proving it (every grid covered by its village,
every village by the union of its grids) costs 2-5 ms per 300-vertex area:
minutes for a 50,000-grid county, far more than joining the villages directly.

When many rows change, the write sets the assignment columns' foreign keys and
indexes aside, updates, then rebuilds and re-validates them in the same
transaction (see :func:`_bulk_write`).
"""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa

from gis import bulk, stats

logger = logging.getLogger(__name__)

POINT_TABLES = ("incident", "camera", "post", "site")
KINDS = {
    "village": "village_id",
    "grid": "grid_id",
    "township": "township_id",
    "police_station": "station_id",
}
# An area's sort key packs its rank (code, then newest generation) above its id.
ID_BITS = 40
ID_MASK = (1 << ID_BITS) - 1
# Enough for the per-point hash aggregate of a million points not to spill.
WORK_MEM = "256MB"
# Below this many changed rows a plain UPDATE is cheaper than rebuilding the
# assignment columns' keys and indexes (which costs a scan of the whole table).
BULK_MIN_ROWS = 20_000
BULK_MIN_SHARE = 0.05
# The join is nearly all CPU in PostGIS: let parallel workers share it even
# though ``area_part`` is far below the size from which the planner would
# consider a parallel scan (each of its rows drives thousands of point tests).
# Measured on the demo with a million incidents: 10.2 s -> 5.8 s on two cores.
PARALLEL = {
    "min_parallel_table_scan_size": 0,
    "parallel_setup_cost": 0,
    "parallel_tuple_cost": 0,
}


def assign(engine: sa.Engine, tables=POINT_TABLES) -> dict[str, int]:
    """Recompute the assignment of every point; return changed rows per table.

    One transaction: either every table is brought up to date or none is.
    Boundaries are locked against edits meanwhile; when many rows of a table
    change, that table is locked for the few seconds of its write (see
    :func:`_bulk_write`).

    Parameters
    ----------
    engine : sqlalchemy.Engine
    tables : iterable of str
        Point tables to recompute, from :data:`POINT_TABLES`.

    Returns
    -------
    dict
        Table name → number of rows whose village, grid, township or station
        changed.

    Examples
    --------
    >>> assign(engine, ["incident"])  # doctest: +SKIP
    {'incident': 0}
    """
    tables = list(tables)
    for table in tables:
        if table not in POINT_TABLES:
            raise ValueError(
                f"unknown point table {table!r}; known: {', '.join(POINT_TABLES)}"
            )
    with engine.begin() as conn:
        return assign_in(conn, tables)


def assign_in(
    conn: sa.Connection, tables=POINT_TABLES, *, set_aside: bool = True
) -> dict[str, int]:
    """:func:`assign` inside the caller's transaction (a boundary import runs
    it before committing, so boundaries and assignments change together).

    ``set_aside=False`` never takes the bulk path's table locks
    (:func:`_bulk_write`): many changed rows are written by a plain UPDATE,
    slower, but readers of the table keep answering until the caller commits
    (a boundary import while the service runs)."""
    changed = {}
    prepare(conn)
    for table in tables:
        start = time.perf_counter()
        changed[table] = _compute(conn, table)
        if changed[table]:
            _write(conn, table, changed[table], set_aside)
        logger.info(
            "%s: %d rows re-assigned in %.2f s",
            table,
            changed[table],
            time.perf_counter() - start,
        )
    for table in tables:
        rebuild_bins(conn, table)
    # Later statements of the caller's transaction must run the row triggers.
    conn.execute(sa.text("SET LOCAL pingan.bulk_assign = 'off'"))
    return changed


def rebuild_bins(
    conn: sa.Connection, table: str, counts=None, squares=None
) -> None:
    """Count ``table``'s points per square again (``point_bin``, migration
    0013: the map's clusters).  Its statement triggers keep the counts as rows
    change, but stand aside while ``pingan.bulk_assign`` is on, so every bulk
    writer calls this before it turns the setting off.  For incidents also the
    leadership counts: ``counts(conn)`` when the writer tallied them itself
    (:mod:`gis.ingest.tally`), else :func:`gis.stats.rebuild`; likewise the
    squares, ``squares(conn)`` (returns how many), else
    ``point_bins_rebuild``."""
    start = time.perf_counter()
    if squares is not None:
        squares = squares(conn)
    else:
        squares = conn.execute(
            sa.text("SELECT point_bins_rebuild(:t)"), {"t": table}
        ).scalar()
    logger.info(
        "%s: %d squares counted in %.2f s", table, squares, time.perf_counter() - start
    )
    if table == "incident":  # and the leadership views' counts (migration 0017)
        (counts or stats.rebuild)(conn)


def prepare(conn: sa.Connection, lock: str = "SHARE ROW EXCLUSIVE") -> None:
    """Session settings, locks, and ``assign_area``: every area's sort key.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Inside the caller's transaction; the settings last until its end.
    lock : str
        Mode in which ``area`` is locked until commit.  ``SHARE ROW EXCLUSIVE``
        (assign) conflicts with itself; ``SHARE`` (a dry-run import) only keeps
        boundaries from changing under the caller.
    """
    # Transaction-local: the row triggers stand aside for our own UPDATE.
    conn.execute(sa.text("SET LOCAL pingan.bulk_assign = 'on'"))
    conn.execute(sa.text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    # With many area parts the planner may run the join in parallel workers; a
    # Gather Merge would then make the leader merge millions of rows in an
    # order nobody needs (the aggregate hashes).  Measured: 17 s -> 11 s.
    conn.execute(sa.text("SET LOCAL enable_gathermerge = off"))
    # One consistent set of boundaries for every table, no area deleted under
    # the ids we are about to write, and one assign at a time (this mode
    # conflicts with itself, and the bulk write needs it to drop keys).
    # Readers and row-level key checks (FOR KEY SHARE) go on as usual.
    conn.execute(sa.text(f"LOCK TABLE area IN {lock} MODE"))
    slot = " ".join(f"WHEN '{kind}' THEN {n}" for n, kind in enumerate(KINDS))
    conn.execute(sa.text("DROP TABLE IF EXISTS assign_area"))
    conn.execute(
        sa.text(f"""
        CREATE TEMP TABLE assign_area ON COMMIT DROP AS
        SELECT id, CASE kind {slot} END AS slot, valid_from, valid_to,
               (row_number() OVER (PARTITION BY kind
                                   ORDER BY code, valid_from DESC, id)
                << {ID_BITS}) | id AS key
          FROM area
         WHERE kind IN ({_kinds()})""")
    )
    conn.execute(sa.text("ANALYZE assign_area"))
    max_id = conn.execute(sa.text("SELECT max(id) FROM assign_area")).scalar()
    if (max_id or 0) > ID_MASK:
        raise RuntimeError(f"area ids above {ID_MASK} do not fit the sort key")


def _kinds() -> str:
    return ", ".join(f"'{kind}'" for kind in KINDS)


def hits(points: str, key: str = "id", dated: bool = False) -> str:
    """SQL: per point of ``points`` that lies in any area, the smallest sort key
    of each kind (``key`` names the point; the area id is ``key & ID_MASK``).

    ``dated``: use the boundaries in force on each point's report day (its
    ``reported_at``; the query then takes ``:earliest``, a day on or before
    every report, so that areas valid throughout skip the per-point test),
    else today's.  Needs :func:`prepare` first and a GiST index on
    ``points.geom``.

    Only the points' index can serve ``p.geom && ST_Envelope(ap.geom)`` and
    ``_ST_Intersects`` (the same test as ``ST_Intersects``) adds no index
    condition of its own: so each area part probes the points' index, as it
    should.  Left free, the planner sometimes turns the join around and probes
    the parts' index once per point: 52 s instead of 11 s on the county.
    """
    if dated:
        day = "(p.reported_at AT TIME ZONE 'Asia/Shanghai')::date"
        # Areas valid on every report date need no per-point date test.
        always = "r.valid_to IS NULL AND r.valid_from <= :earliest"
    else:
        day, always = "current_date", "false"
    keys = ", ".join(
        f"min(r.key) FILTER (WHERE r.slot = {n}) AS {column}"
        for n, column in enumerate(KINDS.values())
    )
    return f"""
        SELECT p.{key}, {keys}
          FROM area_part ap
          JOIN assign_area r ON r.id = ap.area_id
          JOIN {points} p ON p.geom && ST_Envelope(ap.geom)
                         AND _ST_Intersects(ap.geom, p.geom)
         WHERE ap.kind IN ({_kinds()})
           AND ({always} OR (r.valid_from <= {day}
                             AND (r.valid_to IS NULL OR r.valid_to > {day})))
         GROUP BY p.{key}"""


def _compute(conn: sa.Connection, table: str) -> int:
    """Fill temp table ``assign_changed`` with the rows whose answer changed.

    It keeps each row's geometry (and report time) as read, so that the write
    leaves alone a row that someone moved in the meantime (its trigger has
    assigned it already).
    """
    columns = list(KINDS.values())
    current = ", ".join(f"p.{c}" for c in columns)
    fresh = [f"h.{c} & {ID_MASK}" for c in columns]  # the area id from the key
    if table == "incident":  # a station routed by hand stands (migration 0016)
        fresh[columns.index("station_id")] = (
            f"coalesce(p.routed_station_id, h.station_id & {ID_MASK})"
        )
    inputs = "p.geom, p.reported_at" if table == "incident" else "p.geom"
    params = {}
    if table == "incident":
        params["earliest"] = conn.execute(
            sa.text(
                "SELECT (min(reported_at) AT TIME ZONE 'Asia/Shanghai')::date "
                "FROM incident"
            )
        ).scalar()
    named = ", ".join(f"{f} AS {c}" for f, c in zip(fresh, columns, strict=True))
    conn.execute(sa.text("DROP TABLE IF EXISTS assign_changed"))
    with conn.connection.cursor() as cursor, bulk.planner(cursor, **PARALLEL):
        result = conn.execute(
            sa.text(f"""
            CREATE TEMP TABLE assign_changed ON COMMIT DROP AS
            SELECT p.id, {inputs},
                   {named}
              FROM {table} p
              LEFT JOIN ({hits(table, "id", table == "incident")}) h ON h.id = p.id
             WHERE ({current}) IS DISTINCT FROM ({", ".join(fresh)})"""),
            params,
        )
    return result.rowcount


def _write(conn: sa.Connection, table: str, changed: int, set_aside: bool) -> None:
    """Apply ``assign_changed`` to ``table``, in bulk when many rows changed
    and ``set_aside`` allows it."""
    total, owner = conn.execute(
        sa.text(
            "SELECT greatest(reltuples, 0), pg_has_role(relowner, 'USAGE') "
            "FROM pg_class WHERE oid = CAST(:t AS regclass)"
        ),
        {"t": table},
    ).one()
    if set_aside and owner and changed >= max(BULK_MIN_ROWS, BULK_MIN_SHARE * total):
        _bulk_write(conn, table)
    else:
        _update(conn, table)


def _bulk_write(conn: sa.Connection, table: str) -> None:
    """Update with the assignment columns' keys and indexes, and the row
    triggers that stand aside anyway (:func:`bulk_triggers`), set aside.

    Checking four foreign keys row by row costs ~20 µs a row; one anti-join per
    key afterwards costs a scan.  Without indexes on the changed columns the
    update can stay on the page (HOT) and touches no index at all.  The DDL
    locks ``table`` until commit; the definitions come back from the catalog
    unchanged, names included, and a failed re-validation rolls everything back.
    """
    aside = bulk.SetAside(
        conn, table, list(KINDS.values()), triggers=bulk_triggers(table)
    )
    _update(conn, table)
    aside.restore()


def bulk_triggers(table: str) -> list[str]:
    """The row triggers of ``table`` that never fire for :func:`_update`
    (``bulk_assign`` is on, and it sets ``updated_at`` itself), but that would
    still make it fetch and lock every row: the bulk write disables them."""
    return [f"{table}_assign"] + (["incident_touch"] if table == "incident" else [])


def _update(conn: sa.Connection, table: str) -> None:
    """Write ``assign_changed``, except rows moved since they were read."""
    columns = list(KINDS.values())
    sets = [f"{c} = c.{c}" for c in columns]
    same = "p.geom = c.geom"
    if table == "incident":
        sets.append("updated_at = now()")  # what incident_touch would set
        same += " AND p.reported_at = c.reported_at"
    conn.execute(
        sa.text(
            f"UPDATE {table} p SET {', '.join(sets)} FROM assign_changed c "
            f"WHERE p.id = c.id AND {same}"
        )
    )
