"""Writing checked point rows: COPY on the database's core, areas set-based.

:class:`PointLoader` takes the good rows of each chunk from the import
(:mod:`gis.ingest.points`) and, on a worker thread, so that PostgreSQL works on
one chunk while Python parses the next (psycopg2 lets go of the GIL while it
waits for the server):

1. COPYs them in binary form into a staging table (``point_stage``);
2. drops from the stage the rows the table already holds unchanged: a
   re-import writes nothing and assigns nothing;
3. assigns the rest to village, grid, township and station with the
   polygon-driven join of :mod:`gis.assign` (the rule of the row triggers:
   smallest code, then newest generation; incidents by their report day);
4. upserts them by code with the areas filled in, the row triggers standing
   aside (``pingan.bulk_assign``).

Into a table that was empty at the start, once the rows written reach
:data:`gis.assign.BULK_MIN_ROWS`, the table's foreign keys and indexes,
primary key and the code's unique index included (no row can conflict), are
set aside for the rest of the import and rebuilt at the end
(:class:`gis.bulk.SetAside`): inserting a million rows into seven indexes and
checking four keys row by row costs several times more.  That DDL locks the
table until the import commits, so it is done only when there is nothing to
read in it yet.  Into a table that holds rows the import keeps every index
and key as it goes: it takes no lock stronger than ROW EXCLUSIVE, and the
lookup, the maps and the incident API keep answering from the rows committed
before (see :meth:`PointLoader._maybe_set_aside`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from contextlib import contextmanager
from datetime import date

import numpy as np
import shapely
import sqlalchemy as sa

from gis import assign, bulk, lookup
from gis.ingest import tally

logger = logging.getLogger(__name__)

STAGE = "point_stage"
HITS = "point_hits"
_EWKB_POINT = np.dtype(
    [("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")]
)


class Stopwatch:
    """Seconds spent per stage, added up (thread-safe); ``None`` keeps none."""

    def __init__(self, seconds: dict | None):
        self.seconds = seconds
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self, stage: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - start)

    def add(self, stage: str, seconds: float) -> None:
        if self.seconds is not None:
            with self._lock:
                self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds


class PointLoader:
    """Stage, assign and upsert the good rows of an import (see the module).

    Use as a context manager around the reading: leaving it stops the worker
    thread, whatever happened.  :meth:`finish` waits for the last chunk and
    puts set-aside indexes back.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Inside the import's transaction.
    table : str
        The point table (``incident``, ``camera``, ``post``, ``site``).
    columns : dict
        Column → SQL type (``text``, ``int``, ``float8``, ``timestamptz``) of
        the values :meth:`stage` receives; ``code`` is the match key.
    dry_run : bool
        The transaction will be rolled back: lock boundaries in SHARE mode
        only and never set indexes aside.
    stopwatch : Stopwatch
    """

    def __init__(self, conn, table: str, columns: dict, dry_run=False, stopwatch=None):
        self.conn, self.table, self.columns = conn, table, columns
        self.dry_run = dry_run
        self.clock = stopwatch or Stopwatch(None)
        self.cursor = conn.connection.cursor()
        self.staged = self.written = 0
        self.aside: bulk.SetAside | None = None
        self.plain = False  # no row can conflict: INSERT without ON CONFLICT
        self.error: BaseException | None = None
        self.cancelled = False
        assign.prepare(conn, lock="SHARE" if dry_run else "SHARE ROW EXCLUSIVE")
        self._create_stage()
        self.rows, self.owner, self.empty = conn.execute(
            sa.text(
                "SELECT greatest(reltuples, 0), pg_has_role(relowner, 'USAGE'), "
                f"NOT EXISTS (SELECT FROM {table}) "
                "FROM pg_class WHERE oid = CAST(:t AS regclass)"
            ),
            {"t": table},
        ).one()
        # The leadership counts of an import into the empty incident table are
        # tallied from the rows as they go by (gis.ingest.tally); kept only
        # if the table then holds nothing but them (self.plain).
        self.tally = None
        if table == "incident" and self.empty and self.owner and not dry_run:
            self.tally = tally.for_import(conn)
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.thread = threading.Thread(target=self._work, name="import-db", daemon=True)

    def __enter__(self) -> PointLoader:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.thread.is_alive():
            self.cancelled = exc[0] is not None
            self.queue.put(None)
            self.thread.join()

    def districts(self):
        """The current districts, to catch points far outside (None if none)."""
        wkb = self.conn.execute(
            sa.text(
                "SELECT ST_AsBinary(ST_Union(geom)) FROM area "
                "WHERE kind = 'district' AND valid_to IS NULL"
            )
        ).scalar()
        if wkb is None:
            return None
        districts = shapely.from_wkb(bytes(wkb))
        shapely.prepare(districts)  # many points against one polygon
        return districts

    def stage(self, values: dict, lon, lat, keep) -> None:
        """Queue the rows ``keep`` selects (values as :func:`fields.parse_chunk`
        gives them, WGS84 ``lon``/``lat``) for the database."""
        with self.clock("stage"):
            rows = _spatial_order(np.flatnonzero(keep), lon, lat)
            if not rows.size:
                return
            columns = [("n", "int", np.arange(rows.size))]
            for name, sqltype in self.columns.items():
                columns.append((name, sqltype, values[name][rows]))
            columns.append(("geom", "bytes", _ewkb_points(lon[rows], lat[rows])))
            payload = bulk.binary_copy(columns)
        part = None
        if self.tally is not None:
            with self.clock("counts"):
                wanted = [c for c in tally.COLUMNS if c in self.columns]
                part = self.tally.part(
                    {c: values[c][rows] for c in wanted}, lon[rows], lat[rows]
                )
        with self.clock("stage"):
            earliest = None
            if "reported_at" in values:
                first = values["reported_at"][rows].min()
                # A day before the earliest report, in any time zone.
                earliest = (first.astype("datetime64[D]") - 1).item()
        if self.error is not None:
            raise self.error
        with self.clock("wait"):
            self.queue.put((payload, earliest, part))
        self.staged += rows.size

    def finish(self) -> tuple[int, int]:
        """Wait for the staged rows to be written; put set-aside keys and indexes
        back.  Returns (rows accepted, of which unchanged)."""
        with self.clock("wait"):
            self.queue.put(None)
            self.thread.join()
        if self.error is not None:
            raise self.error
        counts = squares = None
        if self.tally is not None and self.tally.valid and self.plain and self.written:
            counts, squares = self._write_counts, self.tally.write_squares
            self.tally.build()  # numpy, while the database rebuilds the indexes
        if self.aside is not None:
            with self.clock("indexes"):
                self.aside.restore()
        if self.table == "post" and self.written and not self.dry_run:
            lookup.refresh_post_index(self.cursor)
        if self.written and not self.dry_run:
            with self.clock("bins"):
                assign.rebuild_bins(
                    self.conn, self.table, counts=counts, squares=squares
                )
        # Later statements of the transaction must run the row triggers.
        self.conn.execute(sa.text("SET LOCAL pingan.bulk_assign = 'off'"))
        return self.staged, self.staged - self.written

    def _write_counts(self, conn) -> int:
        with self.clock("counts wait"):
            self.tally.thread.join()
        with self.clock("counts write"):
            return self.tally.write(conn)

    # -- on the worker thread ----------------------------------------------------

    def _work(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is None and not self.cancelled:
                try:
                    self._apply(*item)
                except BaseException as exc:  # re-raised on the import's thread
                    self.error = exc

    def _apply(self, payload: tuple, earliest, part) -> None:
        with self.clock("copy"):
            self.cursor.execute(f"DROP INDEX IF EXISTS {STAGE}_geom; TRUNCATE {STAGE}")
            staged = bulk.send_copy(self.cursor, STAGE, payload)
        todo = staged
        if not self.empty:  # a table empty at the start holds none of our codes
            with self.clock("compare"):
                todo -= self._drop_unchanged()
        if not todo:
            return
        self._maybe_set_aside(todo)
        with self.clock("assign"):
            self._assign(earliest)
        if part is not None:
            with self.clock("tally"):
                self.tally.hits(self.cursor, part, STAGE, HITS)
        with self.clock("upsert"):
            self.written += self._upsert()

    def _create_stage(self) -> None:
        columns = ", ".join(f"{c} {t}" for c, t in self.columns.items())
        keys = ", ".join(f"{c} bigint" for c in assign.KINDS.values())
        self.cursor.execute(f"""
            DROP TABLE IF EXISTS {STAGE}, {HITS};
            CREATE TEMP TABLE {STAGE} (n int, {columns}, geom geometry)
                ON COMMIT DROP;
            CREATE TEMP TABLE {HITS} (n int, {keys}) ON COMMIT DROP""")

    def _drop_unchanged(self) -> int:
        """Delete from the stage the rows the table holds as they are."""
        # Probe the code index for each staged row: hashing the whole table
        # once per chunk, as the planner likes to, costs a scan of a million
        # rows for fifty thousand.
        with bulk.planner(self.cursor, enable_hashjoin="off", enable_mergejoin="off"):
            self.cursor.execute(
                f"DELETE FROM {STAGE} s USING {self.table} t "
                f"WHERE t.code = s.code AND NOT ({self._changed('t', 's')})"
            )
            return self.cursor.rowcount

    def _maybe_set_aside(self, todo: int) -> None:
        """Set the table's keys and indexes aside, for a big write into a table
        that was empty (only then: the DDL locks out its readers until commit;
        a live table with a million rows keeps answering while 300,000 go in
        row by row)."""
        if self.aside is not None or self.dry_run or not self.owner or not self.empty:
            return
        if self.written + todo >= assign.BULK_MIN_ROWS:
            with self.clock("indexes"):
                # The lock the set-aside's DDL takes anyway.  When the table
                # then holds only what this import wrote, no later row can
                # meet an existing code (the file's codes are unique, checked
                # as read): neither ON CONFLICT's probe a row nor the primary
                # key and code indexes are needed until the end.
                self.cursor.execute(
                    f"LOCK TABLE {self.table} IN ACCESS EXCLUSIVE MODE; "
                    f"SELECT count(*) FROM {self.table}"
                )
                self.plain = self.cursor.fetchone()[0] == self.written
                written = [*self.columns, "geom", *assign.KINDS.values()]
                self.aside = bulk.SetAside(
                    self.conn, self.table, unique=self.plain, written=written
                )

    def _assign(self, earliest) -> None:
        """Fill ``point_hits`` with the areas of every staged point."""
        dated = "reported_at" in self.columns and self.table == "incident"
        columns = list(assign.KINDS.values())
        areas = ", ".join(f"{c} & {assign.ID_MASK}" for c in columns)
        self.cursor.execute(
            f"CREATE INDEX {STAGE}_geom ON {STAGE} USING gist (geom); TRUNCATE {HITS}"
        )
        # The stage has no statistics (ANALYZE would cost more than it saves):
        # the planner expects few points and sorts them to group; hashing is
        # ~10 % faster for the whole statement.
        with bulk.planner(self.cursor, enable_sort="off"):
            self.conn.execute(
                sa.text(f"""
                INSERT INTO {HITS} (n, {", ".join(columns)})
                SELECT n, {areas} FROM ({assign.hits(STAGE, "n", dated)}) h"""),
                {"earliest": earliest or _FAR_PAST},
            )

    def _upsert(self) -> int:
        names = list(self.columns)
        areas = list(assign.KINDS.values())
        writes = [*names, "geom", *areas]
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in writes if c != "code")
        upsert = (
            ""
            if self.plain
            else f"ON CONFLICT (code) DO UPDATE SET {updates} "
            f"WHERE {self._changed(self.table, 'EXCLUDED')}"
        )
        self.cursor.execute(f"""
            INSERT INTO {self.table} ({", ".join(writes)})
            SELECT {", ".join(f"s.{c}" for c in names)}, s.geom,
                   {", ".join(f"h.{c}" for c in areas)}
              FROM {STAGE} s LEFT JOIN {HITS} h ON h.n = s.n {upsert}""")
        return self.cursor.rowcount

    def _changed(self, old: str, new: str) -> str:
        """SQL: row ``new`` differs from ``old`` in a written column or point."""
        return " OR ".join(
            [f"{old}.{c} IS DISTINCT FROM {new}.{c}" for c in self.columns]
            + [f"NOT ST_Equals({old}.geom, {new}.geom)"]
        )


_FAR_PAST = date(1900, 1, 1)


def _spatial_order(rows: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """``rows`` sorted along a Z-order curve: the database then reads the
    stage and writes the table in spatial order (the per-area index probes
    meet neighbouring rows, and the table's pages hold neighbours)."""
    if rows.size < 2:
        return rows
    x, y = lon[rows], lat[rows]
    key = _interleave(_quantise(x)) | (_interleave(_quantise(y)) << 1)
    return rows[np.argsort(key, kind="stable")]


def _quantise(v: np.ndarray) -> np.ndarray:
    low, high = v.min(), v.max()
    scale = 65535 / (high - low) if high > low else 0.0
    return ((v - low) * scale).astype(np.uint64)


def _interleave(v: np.ndarray) -> np.ndarray:
    """Spread the 16 low bits of ``v`` to the even bit positions."""
    v = (v | (v << 8)) & 0x00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F
    v = (v | (v << 2)) & 0x33333333
    return (v | (v << 1)) & 0x55555555


def _ewkb_points(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """EWKB (SRID 4326, little-endian) of each point, as fixed-width bytes."""
    points = np.empty(len(lon), dtype=_EWKB_POINT)
    points["order"], points["type"], points["srid"] = 1, 0x20000001, 4326
    points["x"], points["y"] = lon, lat
    return points.view(f"S{_EWKB_POINT.itemsize}")
