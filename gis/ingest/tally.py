"""The leadership counts of an import into an empty incident table, tallied
from the rows as they go by instead of recounted from the table afterwards.

An import into an empty table used to end with ``incident_counts_rebuild()``
(migrations 0017 and 0020): it reads the million rows it has just written
again, transforms every point, and pivots about 700,000 (square, month,
category x status x risk) counts into 234-column square rows through jsonb:
12-25 s, against an import of about 30 s (issue 15 asks for 15 %).

Everything a count needs is already at hand while importing:

- Python holds each staged row's category, status, risk, report and
  resolution times, resolution level and WGS84 point: :meth:`Tally.part`
  works out, per chunk and while the database writes the previous one, the
  row's Beijing month, its days to resolution, its column and its 500 m square
  (pyproj; the first chunk's metres are compared bit for bit with PostGIS's
  ``ST_Transform``, and any difference hands the counting back to the
  database's rebuild);
- the database has just assigned each staged row its village, township and
  station (``point_hits``): :meth:`Tally.hits` copies those ids out, 24 bytes
  a row.

At the end :meth:`Tally.build` groups and pivots with numpy on a thread of its
own while the database rebuilds the table's indexes, and :meth:`Tally.write`
replaces the three count tables by binary COPY: the same rows, to the NULL,
that ``incident_counts_rebuild()`` writes (tests/test_counts.py compares both
with an aggregation of its own).  Only an import whose table held nothing but
the import's own rows is tallied (:class:`gis.ingest.loader.PointLoader`
checks that under its exclusive lock); any other keeps the rebuild.
"""

from __future__ import annotations

import io
import logging
import struct
import threading
import time

import numpy as np
import pandas as pd
import pyproj
import sqlalchemy as sa

from gis import bulk, stats, vocab
from gis.incidents import DONE_STATUSES

logger = logging.getLogger(__name__)

CATEGORIES = list(vocab.INCIDENT_CATEGORIES)
STATUSES = list(vocab.INCIDENT_STATUSES)
RISKS = list(vocab.RISK_TIERS)
LEVELS = list(vocab.RESOLVED_LEVELS)  # coded 1, 2, 3; 0 for none
CELL_COLUMNS = [f"c_{c}_{s}_{r}" for c in CATEGORIES for s in STATUSES for r in RISKS]
"""incident_cell's count columns; a row's column number is
``(category * len(STATUSES) + status) * len(RISKS) + risk``."""
_SHIFTS = {size: (size // stats.SIZES[0]).bit_length() - 1 for size in stats.SIZES}
# incident_village's whole-day columns: (name, first day, last day).
_DAYS = [(f"d{d:02d}", d, d) for d in range(15)] + [
    ("d15", 15, 21), ("d22", 22, 30), ("d31", 31, 60), ("d61", 61, 1 << 30),
]  # fmt: skip
_PG_EPOCH_DAYS = np.datetime64("2000-01-01", "D").astype(np.int64)
_MINUS_INFINITY = np.iinfo(np.int32).min  # a date's binary -infinity
_DAY_US = 86_400_000_000
_NULL = np.iinfo(np.int64).min  # NaT's microseconds: a NULL time
_BATCH = 10_000  # rows per COPY (a square row is ~1 KB)
_HEADER = 19  # a binary COPY's signature, flags and extension length


COLUMNS = ("category", "status", "risk", "reported_at", "resolved_at", "resolved_level")
"""The columns a count reads."""


def for_import(conn: sa.Connection) -> Tally:
    """The tally of an import into the empty incident table."""
    return Tally(conn)


class Tally:
    """Counts of one import's rows (see the module).

    Parameters
    ----------
    conn : sqlalchemy.Connection
        The import's, as the tables' owner.
    """

    def __init__(self, conn: sa.Connection):
        self.conn = conn
        self.parts: list[dict] = []
        self.valid = True
        self.why = ""
        self.srid: int | None = None
        self.transformer = None
        self.verified = False
        self.payloads: list | None = None
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        # The map's squares (point_bin, migration 0013): each level and its
        # side in degrees, as the database computes them.
        self.levels = [tuple(r) for r in conn.execute(sa.text(
            "SELECT l, point_bin_side(l) FROM generate_series("
            "lower(point_bin_levels()), upper(point_bin_levels()) - 1) l ORDER BY l"
        ))]  # fmt: skip
        self.squares = None

    # -- while importing ---------------------------------------------------------

    def part(self, values: dict, lon: np.ndarray, lat: np.ndarray) -> dict | None:
        """What the counts need of one chunk's staged rows: ``values`` holds
        those of :data:`COLUMNS` the import writes (a resolution time or level
        it does not write is NULL in every row), in the staging order.  None
        once the tally has been given up."""
        if not self.valid or not lon.size:
            return None
        if self.srid is None:
            self._choose_srid(float(lon[0]))
        n = lon.size
        if not {"category", "status", "risk", "reported_at"} <= values.keys():
            return self._give_up("the import leaves a counted column to its default")
        category = _codes(values["category"], CATEGORIES)
        status = _codes(values["status"], STATUSES)
        risk = _codes(values["risk"], RISKS)
        level = values.get("resolved_level")  # None: the import writes none
        level = np.zeros(n, np.int64) if level is None else (
            _codes(level, LEVELS, allow_none=True) + 1)  # fmt: skip
        if min(category.min(), status.min(), risk.min(), level.min()) < 0:
            return self._give_up("a value outside the vocabulary")
        reported = _micros(values["reported_at"])
        resolved = values.get("resolved_at")
        resolved = np.full(n, _NULL) if resolved is None else _micros(resolved)
        x, y = self.transformer.transform(lon, lat)
        days = np.clip((resolved - reported) // _DAY_US, 0, 9999)
        done = np.isin(status, [STATUSES.index(s) for s in DONE_STATUSES])
        days = np.where(~done, -1, np.where(resolved == _NULL, -2, days))
        part = {
            "month": _months(reported),
            "column": ((category * len(STATUSES) + status) * len(RISKS) + risk).astype(
                np.int16
            ),
            "level": level.astype(np.int8),
            "days": days.astype(np.int16),
            "cx": np.floor(x / stats.SIZES[0]).astype(np.int32),
            "cy": np.floor(y / stats.SIZES[0]).astype(np.int32),
            # The stored points' own coordinates (their EWKB is made of these
            # floats), for the map's squares.
            "lon": np.asarray(lon, dtype=np.float64),
            "lat": np.asarray(lat, dtype=np.float64),
        }
        if not self.verified:
            part["x"], part["y"] = x, y
        return part

    def hits(self, cursor, part: dict, stage: str, hits: str) -> None:
        """Give ``part`` the areas the database assigned to its rows (on the
        loader's worker thread, after the assignment)."""
        n = part["cx"].size
        got = _copy_out(
            cursor,
            f"SELECT n, coalesce(village_id, 0), coalesce(station_id, 0), "
            f"coalesce(township_id, 0), coalesce(grid_id, 0) FROM {hits}",
            ["n", ">i4", "village", ">i8", "station", ">i8", "township", ">i8",
             "grid", ">i8"],
        )  # fmt: skip
        for name in ("village", "station", "township", "grid"):
            wide = got[name].size and got[name].max() > np.iinfo(np.int32).max
            ids = np.zeros(n, dtype=np.int64 if wide else np.int32)
            ids[got["n"]] = got[name]
            part[name] = ids
        if not self.verified:
            self._verify(cursor, part, stage)
        if self.valid:
            self.parts.append(part)

    def _choose_srid(self, lon: float) -> None:
        # As incident_counts_rebuild() does: chosen again, from the district
        # (else this first point), into incident_count_setting.
        self.conn.execute(sa.text("DELETE FROM incident_count_setting"))
        self.srid = self.conn.execute(
            sa.text("SELECT incident_count_srid(:lon)"), {"lon": lon}
        ).scalar()
        self.transformer = pyproj.Transformer.from_crs(4326, self.srid, always_xy=True)

    def _verify(self, cursor, part: dict, stage: str) -> None:
        """The first chunk's metres as PostGIS has them, bit for bit, or no tally."""
        db = _copy_out(
            cursor,
            f"SELECT n, ST_X(t.g), ST_Y(t.g) FROM {stage}, "
            f"LATERAL (SELECT ST_Transform(geom, {int(self.srid)}) AS g) t",
            ["n", ">i4", "x", ">f8", "y", ">f8"],
        )
        x, y = part.pop("x"), part.pop("y")
        same = np.array_equal(x[db["n"]], db["x"]) and np.array_equal(
            y[db["n"]], db["y"]
        )
        if not same:
            self._give_up(f"pyproj and PostGIS differ on EPSG:{self.srid}")
        self.verified = True

    def _give_up(self, why: str) -> None:
        logger.warning("incident counts: recounted by the database: %s", why)
        self.valid, self.why, self.parts = False, why, []

    # -- at the end --------------------------------------------------------------

    def build(self) -> None:
        """Start grouping and pivoting on a thread of its own (numpy lets the
        database rebuild the indexes meanwhile)."""
        self.thread = threading.Thread(target=self._build, name="import-counts",
                                       daemon=True)  # fmt: skip
        self.thread.start()

    def _build(self) -> None:
        try:
            start = time.perf_counter()
            # Each column's chunks let go of as soon as they are joined.
            rows = {
                k: np.concatenate([p.pop(k) for p in self.parts])
                for k in list(self.parts[0])
            }
            self.parts = []
            # The squares' rows are encoded batch by batch as they are sent
            # (a million incidents' squares take ~1 KB each, mostly NULLs).
            payloads = [("incident_cell", cells) for cells in _cells(rows)]
            villages, keys, measures = _villages(rows)
            payloads.append(("incident_village", villages))
            payloads.append(("incident_village_span", _spans(keys, measures)))
            self.squares = _squares(rows, self.levels)
            self.payloads = payloads
            logger.info(
                "incident counts tallied in %.2f s", time.perf_counter() - start
            )
        except BaseException as exc:  # re-raised by write()
            self.error = exc

    def write(self, conn: sa.Connection) -> int:
        """Replace the count tables by the tally; returns the rows written."""
        if self.thread is None:
            self.build()
        self.thread.join()
        if self.error is not None:
            raise self.error
        start = time.perf_counter()
        cursor = conn.connection.cursor()
        cursor.execute(
            "TRUNCATE incident_cell, incident_village, incident_village_span"
        )
        kept = 0
        for table, made in self.payloads:
            copies = _wide_rows(*made) if table == "incident_cell" else _batches(made)
            for copy in copies:
                rows = bulk.send_copy(cursor, table, copy)
                kept += rows if table != "incident_village_span" else 0
        # The monthly totals (migration 0023) are sums of incident_village.
        cursor.execute("SELECT incident_month_total_rebuild()")
        self.payloads = None
        logger.info("incident counts: %d rows written in %.2f s", kept,
                    time.perf_counter() - start)  # fmt: skip
        return kept

    def write_squares(self, conn: sa.Connection) -> int:
        """Replace the incidents' map squares by the tally's (what
        ``point_bins_rebuild('incident')`` writes; returns the squares)."""
        self.thread.join()
        if self.error is not None:
            raise self.error
        cursor = conn.connection.cursor()
        cursor.execute("DELETE FROM point_bin WHERE layer = 'incident'")
        kept = sum(bulk.send_copy(cursor, "point_bin", copy)
                   for copy in _batches(self.squares))  # fmt: skip
        self.squares = None
        return kept


# -- the chunks' facts ----------------------------------------------------------------


def _codes(values, vocabulary: list, allow_none=False) -> np.ndarray:
    """Each value's position in ``vocabulary``: -1 for anything else (None
    too, unless ``allow_none``, when None is -1 and anything else -2)."""
    values = np.asarray(values, dtype=object)
    codes = pd.Categorical(values, categories=vocabulary).codes.astype(np.int64)
    if allow_none:
        codes = np.where((codes < 0) & np.not_equal(values, None), -2, codes)
    return codes


def _micros(values) -> np.ndarray:
    """Times as the database stores them (whole microseconds, as
    :func:`gis.bulk.binary_copy` sends them); NULL as int64's minimum."""
    micros = np.asarray(values).astype("datetime64[us]")
    return micros.astype(np.int64)  # NaT is int64's minimum


def _months(micros: np.ndarray) -> np.ndarray:
    """``incident_month``: the first day of the Beijing month, as a binary
    date (days since 2000-01-01)."""
    local = (
        pd.to_datetime(micros, unit="us", utc=True)
        .tz_convert("Asia/Shanghai")
        .tz_localize(None)
    )
    first = np.asarray(local, dtype="datetime64[M]").astype("datetime64[D]")
    return (first.astype(np.int64) - _PG_EPOCH_DAYS).astype(np.int32)


def _copy_out(cursor, query: str, fields: list) -> np.ndarray:
    """The rows of ``query`` (no NULLs, fixed widths: ``fields`` alternate
    name and big-endian numpy type) through binary COPY, as a record array."""
    buffer = io.BytesIO()
    cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)", buffer)
    data = buffer.getbuffer()
    start = _HEADER + struct.unpack(">i", data[15:19])[0]
    layout = [("fields", ">i2")]
    for name, kind in zip(fields[::2], fields[1::2], strict=True):
        layout += [(f"{name}_length", ">i4"), (name, kind)]
    return np.frombuffer(data[start : len(data) - 2], dtype=np.dtype(layout))


# -- grouping -------------------------------------------------------------------------


def _group(keys: list[np.ndarray]):
    """Rows with equal ``keys``, by hashing (no sort): ``(group of each
    row, the first row of each group, rows in each group)``."""
    combined, kinds = np.zeros(keys[0].size, dtype=np.int64), 1
    for key in keys:
        codes, uniques = pd.factorize(key)
        if kinds * len(uniques) >= 1 << 62:  # renumber what is combined so far
            combined, seen = pd.factorize(combined)
            kinds = len(seen)
        combined = combined * len(uniques) + codes
        kinds *= len(uniques)
    group, uniques = pd.factorize(combined)
    first = np.empty(len(uniques), dtype=np.int64)
    first[group[::-1]] = np.arange(group.size - 1, -1, -1)  # the last write wins
    return group, first, np.bincount(group, minlength=len(uniques))


def _date_bytes(days: np.ndarray) -> np.ndarray:
    """Binary dates (days since 2000-01-01) for :func:`bulk.binary_copy`'s
    ``bytes`` columns."""
    return np.ascontiguousarray(days.astype(">i4")).view("S4")


# -- point_bin ------------------------------------------------------------------------


def _squares(rows: dict, levels: list) -> list:
    """point_bin's columns (for :func:`_batches`): the incidents per square of
    every level, station and grid, with the sums of their coordinates, as
    ``point_bins_flush`` makes them (migration 0013): the finest level from
    the points (``floor(lon / side)``, the same float8 division), each
    coarser one from the level below (``cx >> 1``).  The counts and keys are
    the database's exactly; the sums of coordinates may differ in the last
    bits, being added in another order."""
    finest, side = levels[-1]
    keys = [
        np.floor(rows["lon"] / side).astype(np.int64),
        np.floor(rows["lat"] / side).astype(np.int64),
        rows["station"].astype(np.int64),
        rows["grid"].astype(np.int64),
    ]
    # Each level's squares: (level, cx, cy, station, grid, n, sx, sy).
    squares = [(finest, *_summed(keys, None, rows["lon"], rows["lat"]))]
    for coarser, _ in reversed(levels[:-1]):
        _, cx, cy, station, grid, n, sx, sy = squares[-1]
        squares.append((coarser, *_summed([cx >> 1, cy >> 1, station, grid],
                                          n, sx, sy)))  # fmt: skip

    def column(k: int) -> np.ndarray:
        return np.concatenate([square[k] for square in squares])

    level = np.concatenate([np.full(len(q[1]), q[0], np.int16) for q in squares])
    return [
        ("layer", "text", np.full(level.size, "incident", dtype=object)),
        # smallint: binary COPY takes two big-endian bytes
        ("level", "bytes", np.ascontiguousarray(level.astype(">i2")).view("S2")),
        ("cx", "int", column(1)),
        ("cy", "int", column(2)),
        ("station_id", "bigint", column(3)),
        ("grid_id", "bigint", column(4)),
        ("n", "bigint", column(5)),
        ("sx", "float8", column(6)),
        ("sy", "float8", column(7)),
    ]


def _summed(keys: list, n, sx, sy) -> tuple:
    """One level's squares: the distinct ``keys`` (each a column), and per
    square the sums of ``n`` (None: one a row), ``sx`` and ``sy``."""
    group, first, _ = _group(keys)
    size = first.size
    return (
        *(k[first] for k in keys),
        np.bincount(group, weights=n, minlength=size).astype(np.int64),
        np.bincount(group, weights=sx, minlength=size),
        np.bincount(group, weights=sy, minlength=size),
    )


# -- incident_cell --------------------------------------------------------------------

# A square row's leading fields in binary COPY form (length, value).
_SQUARE = np.dtype([
    ("fields", ">i2"),
    ("size_length", ">i4"), ("size", ">i2"),
    ("month_length", ">i4"), ("month", ">i4"),
    ("cx_length", ">i4"), ("cx", ">i4"),
    ("cy_length", ">i4"), ("cy", ">i4"),
    ("station_length", ">i4"), ("station", ">i8"),
    ("township_length", ">i4"), ("township", ">i8"),
    ("n_length", ">i4"), ("n", ">i4"),
])  # fmt: skip
_SQUARE_NAMES = ["size", "month", "cx", "cy", "station_id", "township_id", "n"]
_COUNT = np.dtype([("length", ">i4"), ("value", ">i4")])


def _cells(rows: dict):
    """Per size, every square (:data:`_SQUARE` records) and its counts
    (square, column, count), for :func:`_wide_rows`."""
    width = len(CELL_COLUMNS)
    for size in stats.SIZES:
        shift = _SHIFTS[size]
        keys = [rows["month"], rows["cx"] >> shift, rows["cy"] >> shift,
                rows["station"], rows["township"]]  # fmt: skip
        group, first, members = _group(keys)
        # (square, column) pairs in order, and how many incidents each counts.
        pairs, counts = np.unique(group * width + rows["column"], return_counts=True)
        square, column = pairs // width, pairs % width
        squares = np.empty(first.size, dtype=_SQUARE)
        squares["fields"] = len(_SQUARE_NAMES) + width
        for name, length in (("size", 2), ("month", 4), ("cx", 4), ("cy", 4),
                             ("station", 8), ("township", 8), ("n", 4)):  # fmt: skip
            squares[f"{name}_length"] = length
        squares["size"] = size
        squares["month"] = rows["month"][first]
        squares["cx"], squares["cy"] = keys[1][first], keys[2][first]
        squares["station"] = rows["station"][first]
        squares["township"] = rows["township"][first]
        squares["n"] = members
        yield squares, square, column, counts


def _wide_rows(squares, square, column, counts):
    """Binary COPYs of the square rows, :data:`_BATCH` at a time."""
    for a in range(0, squares.size, _BATCH):
        yield _wide_batch(squares[a : a + _BATCH], a, square, column, counts)


def _wide_batch(squares, a: int, square, column, counts):
    """Binary COPY of square rows ``a``.. (``squares``) with their 234 count
    fields, a column NULL where it counts nothing (as the rebuild's jsonb
    pivot leaves it): a present count is 8 bytes (length 4, value), a NULL 4
    (length -1).  The buffer starts as all 0xFF: the present counts are
    written at their places, and what stays between them is exactly the
    NULLs' -1s."""
    width = len(CELL_COLUMNS)
    b = a + squares.size
    lo, hi = np.searchsorted(square, [a, b])
    square, column, counts = square[lo:hi] - a, column[lo:hi], counts[lo:hi]
    present = np.bincount(square, minlength=squares.size)
    sizes = _SQUARE.itemsize + 4 * width + 4 * present
    starts = np.cumsum(sizes) - sizes + len(bulk._COPY_HEADER)
    out = np.full(len(bulk._COPY_HEADER) + int(sizes.sum()) + 2, 255, dtype=np.uint8)
    out[: len(bulk._COPY_HEADER)] = np.frombuffer(bulk._COPY_HEADER, dtype=np.uint8)
    bulk._scatter(out, starts, squares.view(np.uint8).reshape(-1, _SQUARE.itemsize))
    earlier = np.arange(square.size) - (np.cumsum(present) - present)[square]
    places = starts[square] + _SQUARE.itemsize + 4 * column + 4 * earlier
    fields = np.empty(square.size, dtype=_COUNT)
    fields["length"], fields["value"] = 4, counts
    bulk._scatter(out, places, fields.view(np.uint8).reshape(-1, _COUNT.itemsize))
    return _SQUARE_NAMES + CELL_COLUMNS, out.tobytes(), int(squares.size)


# -- incident_village and its spans ---------------------------------------------------


def _villages(rows: dict):
    """incident_village's columns (for :func:`_batches`), and its keys and
    measures for the spans."""
    category = rows["column"] // (len(STATUSES) * len(RISKS))
    dispute = np.isin(category, [k for k, c in enumerate(CATEGORIES)
                                 if c.startswith("dispute")])  # fmt: skip
    keys = [rows["month"], rows["village"], dispute, rows["station"], rows["township"]]
    group, first, _ = _group(keys)
    count = first.size
    risk = rows["column"] % len(RISKS)
    days = rows["days"]  # -1 open, -2 resolved at an unknown time
    # Whole days into the columns' buckets (-1 for no bucket).
    lows = np.array([low for _, low, _ in _DAYS])
    bucket = np.where(days >= 0, np.searchsorted(lows, days, side="right") - 1, -1)
    by_category = _per_group(group, count, category, len(CATEGORIES))
    by_level = _per_group(group, count, rows["level"].astype(np.int64), len(LEVELS) + 1)
    by_days = _per_group(group, count, bucket, len(_DAYS))
    major = (category == CATEGORIES.index("accident")) & (risk == RISKS.index("red"))
    measures = {
        "n": np.bincount(group, minlength=count),
        "done": np.bincount(group[days != -1], minlength=count),
        "unknown_time": np.bincount(group[days == -2], minlength=count),
        **{f"lvl_{name}": by_level[:, k + 1] for k, name in enumerate(LEVELS)},
        "major_accident": np.bincount(group[major], minlength=count),
        **{f"cat_{name}": by_category[:, k] for k, name in enumerate(CATEGORIES)},
        **{name: by_days[:, k] for k, (name, _, _) in enumerate(_DAYS)},
    }
    keys = {
        "month": rows["month"][first],
        "village_id": rows["village"][first],
        "dispute": dispute[first],
        "station_id": rows["station"][first],
        "township_id": rows["township"][first],
    }
    columns = (
        [("month", "bytes", _date_bytes(keys["month"]))]
        + [(k, "bool" if k == "dispute" else "bigint", v) for k, v in keys.items()
           if k != "month"]
        + [(name, "int", values) for name, values in measures.items()]
    )  # fmt: skip
    return columns, keys, measures


def _batches(columns: list):
    """Binary COPYs of whole columns (:func:`bulk.binary_copy`'s), a
    :data:`_BATCH` rows at a time."""
    for a in range(0, len(columns[0][2]), _BATCH):
        yield bulk.binary_copy([(n, t, v[a : a + _BATCH]) for n, t, v in columns])


def _per_group(group, count: int, codes, kinds: int) -> np.ndarray:
    """Rows per group (``count`` of them) and code (0..``kinds``-1; a
    negative code counts nowhere): a count x kinds matrix."""
    keep = codes >= 0
    flat = np.bincount(group[keep] * kinds + codes[keep], minlength=count * kinds)
    return flat.reshape(count, kinds)


def _spans(keys: dict, measures: dict):
    """incident_village_span's columns (for :func:`_batches`): the village
    rows summed per quarter, per year and over all months (start
    -infinity)."""
    month = (keys["month"] + _PG_EPOCH_DAYS).astype("datetime64[D]")
    months = month.astype("datetime64[M]").astype(np.int64)  # since 1970-01
    quarter = ((months // 3) * 3).astype("datetime64[M]").astype("datetime64[D]")
    year = month.astype("datetime64[Y]").astype("datetime64[D]")
    rows = keys["month"].size
    starts = np.concatenate([
        quarter.astype(np.int64) - _PG_EPOCH_DAYS,
        year.astype(np.int64) - _PG_EPOCH_DAYS,
        np.full(rows, _MINUS_INFINITY, dtype=np.int64),
    ])  # fmt: skip
    span = np.repeat(np.arange(3), rows)
    others = [np.tile(keys[k], 3) for k in ("village_id", "dispute", "station_id",
                                             "township_id")]  # fmt: skip
    group, first, _ = _group([span, starts, *others])
    count = first.size
    names = np.array(["quarter", "year", "all"], dtype=object)
    columns = [
        ("span", "text", names[span[first]]),
        ("start", "bytes", _date_bytes(starts[first])),
        ("village_id", "bigint", others[0][first]),
        ("dispute", "bool", others[1][first]),
        ("station_id", "bigint", others[2][first]),
        ("township_id", "bigint", others[3][first]),
    ]
    for name, values in measures.items():
        summed = np.bincount(group, weights=np.tile(values, 3), minlength=count)
        columns.append((name, "int", summed.astype(np.int64)))
    return columns
