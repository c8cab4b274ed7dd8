"""Bulk loading helpers: COPY rows into a temporary staging table.

COPY is the fastest way into PostgreSQL; set-based ``INSERT ... SELECT`` from the
staging table then does conversions, upserts and assignment in the database.
:func:`binary_copy` turns whole columns (numpy arrays) into COPY's binary
format without a Python step per row; :class:`SetAside` drops a table's keys
and indexes for a large write and puts them back.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import struct
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from datetime import date, datetime

import numpy as np
import shapely
import sqlalchemy as sa

logger = logging.getLogger(__name__)

NULL = r"\N"


def _cell(value) -> str:
    if value is None:
        return NULL
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return NULL  # an empty number cell; COPY would store 'nan' as NaN
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, shapely.Geometry):
        return shapely.to_wkb(
            shapely.set_srid(value, 4326), hex=True, include_srid=True
        )
    return str(value)


def copy_to_temp(
    cursor, table: str, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence]
) -> int:
    """Create temp table ``table`` (dropped at commit) and COPY ``rows`` into it.

    Parameters
    ----------
    cursor : psycopg2 cursor
        Inside the caller's transaction.
    table : str
        Name of the staging table (a trusted identifier, not user input).
    columns : sequence of (name, SQL type)
        Column definitions, in the order of each row's values.
    rows : iterable of sequences
        Values; ``None`` is NULL, shapely geometries become EWKB (SRID 4326).

    Returns
    -------
    int
        Number of rows copied.
    """
    create_temp(cursor, table, columns)
    return copy_rows(cursor, table, [name for name, _ in columns], rows)


def create_temp(cursor, table: str, columns: Sequence[tuple[str, str]]) -> None:
    """Create temp table ``table`` (dropped at commit) for :func:`copy_rows`."""
    cols = ", ".join(f"{name} {sqltype}" for name, sqltype in columns)
    cursor.execute(f"CREATE TEMP TABLE {table} ({cols}) ON COMMIT DROP")


def copy_rows(
    cursor, table: str, names: Sequence[str], rows: Iterable[Sequence]
) -> int:
    """COPY ``rows`` (values in the order of ``names``) into ``table``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    count = 0
    for row in rows:
        writer.writerow([_cell(v) for v in row])
        count += 1
    buffer.seek(0)
    cursor.copy_expert(
        f"COPY {table} ({', '.join(names)}) FROM STDIN WITH (FORMAT csv, "
        f"NULL '{NULL}')",
        buffer,
    )
    return count


_PG_EPOCH = date(2000, 1, 1).toordinal()
_BINARY = {  # SQL type → value → bytes, for COPY's binary format
    "int": lambda v: struct.pack(">i", int(v)),
    "bigint": lambda v: struct.pack(">q", int(v)),
    "float8": lambda v: struct.pack(">d", float(v)),
    "text": lambda v: str(v).encode("utf-8"),
    "date": lambda v: struct.pack(">i", v.toordinal() - _PG_EPOCH),
    "geometry": bytes,  # EWKB, as shapely.to_wkb(..., include_srid=True) gives
}


def copy_binary(
    cursor, table: str, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence]
) -> int:
    """COPY ``rows`` into ``table`` in PostgreSQL's binary format.

    For rows carrying big geometries (a detailed village is 6 KB of WKB): no
    hex encoding, no CSV quoting, no text parsing on the server; the geometry
    column receives EWKB as is.  ``columns`` are (name, type) with type one of
    int, bigint, float8, text, date, geometry; None (and NaN) is NULL.
    """
    packers = [_BINARY[sqltype] for _, sqltype in columns]
    width = struct.pack(">h", len(columns))
    null = struct.pack(">i", -1)
    out = [b"PGCOPY\n\xff\r\n\x00", struct.pack(">ii", 0, 0)]
    count = 0
    for row in rows:
        out.append(width)
        for pack, value in zip(packers, row, strict=True):
            if value is None or (isinstance(value, float) and not math.isfinite(value)):
                out.append(null)
                continue
            data = pack(value)
            out.append(struct.pack(">i", len(data)))
            out.append(data)
        count += 1
    out.append(struct.pack(">h", -1))
    names = ", ".join(name for name, _ in columns)
    cursor.copy_expert(
        f"COPY {table} ({names}) FROM STDIN WITH (FORMAT binary)",
        io.BytesIO(b"".join(out)),
    )
    return count


# -- columns at once ----------------------------------------------------------------

# SQL type → big-endian numpy type of its binary COPY form.
_FIXED = {
    "float8": ">f8",
    "int": ">i4",
    "bigint": ">i8",
    "timestamptz": ">i8",
    "bool": "u1",
}
_PG_EPOCH_US = np.datetime64("2000-01-01T00:00:00", "us").astype(np.int64)
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)


def copy_columns(cursor, table: str, columns: Sequence[tuple[str, str, object]]) -> int:
    """COPY whole columns into ``table`` in binary format, without a Python loop
    over rows (:func:`binary_copy` and :func:`send_copy` in one).

    Returns
    -------
    int
        Rows copied.
    """
    return send_copy(cursor, table, binary_copy(columns))


def send_copy(cursor, table: str, copy: tuple[list[str], bytes, int]) -> int:
    """Send what :func:`binary_copy` made to ``table``; return its row count.
    Only this waits for the server (and lets go of the GIL meanwhile)."""
    names, data, count = copy
    cursor.copy_expert(
        f"COPY {table} ({', '.join(names)}) FROM STDIN WITH (FORMAT binary)",
        io.BytesIO(data),
    )
    return count


def binary_copy(columns: Sequence[tuple[str, str, object]]) -> tuple[list, bytes, int]:
    """Whole columns in COPY's binary format: ``(names, data, rows)``.

    Parameters
    ----------
    columns : sequence of (name, SQL type, values)
        ``values`` of equal length: ``text`` an object array of str or None;
        ``float8`` floats (NaN and infinities are NULL); ``bool`` booleans;
        ``int`` and ``bigint``
        floats or integers (NaN is NULL); ``timestamptz`` ``datetime64`` in UTC
        (NaT is NULL); ``bytes`` a fixed-width bytes array (e.g. EWKB points)
        for a column of any type whose binary input takes those bytes.

    Returns
    -------
    tuple
        Column names, the COPY data, the number of rows.
    """
    n = len(columns[0][2])
    fields = [_binary_field(sqltype, values) for _, sqltype, values in columns]
    sizes = np.full(n, 2, dtype=np.int64)
    for lengths, _ in fields:
        sizes += 4 + np.maximum(lengths, 0)
    starts = np.cumsum(sizes) - sizes + len(_COPY_HEADER)
    out = np.empty(len(_COPY_HEADER) + int(sizes.sum()) + 2, dtype=np.uint8)
    out[: len(_COPY_HEADER)] = np.frombuffer(_COPY_HEADER, dtype=np.uint8)
    out[-2:] = 255  # trailer: a field count of -1
    out[starts] = len(columns) >> 8
    out[starts + 1] = len(columns) & 255
    position = starts + 2
    for lengths, payload in fields:
        _scatter(out, position, lengths.astype(">i4").view(np.uint8).reshape(n, 4))
        position += 4
        present = lengths > 0
        if payload.ndim == 2:  # fixed width
            _scatter(out, position[present], payload[present])
        elif payload.size:  # one blob of the present values, back to back
            first = np.cumsum(lengths[present]) - lengths[present]
            shift = np.repeat(position[present] - first, lengths[present])
            out[shift + np.arange(payload.size)] = payload
        position += np.maximum(lengths, 0)
    return [name for name, _, _ in columns], out.tobytes(), n


def _scatter(out: np.ndarray, position: np.ndarray, rows: np.ndarray) -> None:
    """Write each row of ``rows`` (n × width bytes) at its ``position``."""
    out[position[:, None] + np.arange(rows.shape[1])] = rows


def _binary_field(sqltype: str, values) -> tuple[np.ndarray, np.ndarray]:
    """(length per row, -1 for NULL; payload) of one column in COPY binary form.

    The payload is n × width bytes for fixed-width types, else the present
    values' bytes back to back.
    """
    if sqltype == "text":
        return _text_field(values)
    if sqltype == "bytes":
        values = np.asarray(values)
        width = values.dtype.itemsize
        rows = values.view(np.uint8).reshape(len(values), width)
        return np.full(len(values), width, dtype=np.int64), rows
    if sqltype == "timestamptz":
        micros = np.asarray(values).astype("datetime64[us]")
        null = np.isnat(micros)
        numbers = np.where(null, 0, micros.astype(np.int64) - _PG_EPOCH_US)
    else:
        numbers = np.asarray(values, dtype=np.float64)
        null = ~np.isfinite(numbers)
        numbers = np.where(null, 0, numbers)
    target = np.dtype(_FIXED[sqltype])
    if target.kind == "i":
        limits = np.iinfo(target)
        if (numbers < limits.min).any() or (numbers > limits.max).any():
            raise ValueError(f"a value does not fit the column's type {sqltype}")
    rows = numbers.astype(target).view(np.uint8).reshape(len(numbers), target.itemsize)
    return np.where(null, -1, target.itemsize).astype(np.int64), rows


def _text_field(values) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=object)
    present = np.not_equal(values, None)
    strings = values[present].tolist()
    joined = "".join(strings)
    lengths = np.full(len(values), -1, dtype=np.int64)
    if joined.isascii():  # one byte a character: no per-value encoding
        blob = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
        lengths[present] = np.fromiter(map(len, strings), np.int64, len(strings))
    elif "\x00" not in joined:  # text cannot hold NUL: a safe separator
        blob = np.frombuffer("\x00".join(strings).encode("utf-8"), dtype=np.uint8)
        cuts = np.flatnonzero(blob == 0)
        lengths[present] = np.diff(np.concatenate(([-1], cuts, [blob.size]))) - 1
        blob = np.delete(blob, cuts)
    else:  # the server will refuse the NUL; let it say so
        encoded = [s.encode("utf-8") for s in strings]
        blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        lengths[present] = np.fromiter(map(len, encoded), np.int64, len(encoded))
    return lengths, blob


# -- keys and indexes set aside -----------------------------------------------------


class SetAside:
    """A table's foreign keys and plain indexes, dropped now, put back by
    :meth:`restore` — for writing many rows at once.

    Checking four foreign keys row by row costs ~20 µs a row and inserting into
    a GiST index ~10 µs; one anti-join per key and one sorted index build
    afterwards cost a scan each.  Without indexes on the changed columns an
    update can also stay on its page (HOT).  The DDL locks ``table`` until
    commit (and the referenced tables in SHARE ROW EXCLUSIVE mode); the
    definitions come back from the catalog unchanged, names included, and a
    failed re-validation rolls the whole transaction back.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Inside the caller's transaction.
    table : str
        A trusted identifier.
    columns : list of str, optional
        Only keys and indexes on these columns; default: every foreign key and
        every index that no constraint (primary key, unique) owns.
    unique : bool
        Also the primary key and unique constraints that no other table's
        foreign key needs: only for a write that neither looks rows up by them
        (ON CONFLICT) nor can break them, such as filling an empty table from
        rows checked beforehand.  Inserting a row into two b-trees in key
        order costs ~4 µs; rebuilding both for a million rows, 0.7 s.
    triggers : list of str
        Row triggers to disable meanwhile: only ones that would not fire for
        the write anyway (their WHEN is false for it).  A row-level BEFORE
        trigger, even one whose WHEN is false, still makes every updated row
        be fetched and locked for it: ~0.9 µs a row.
    written : list of str, optional
        The columns the write fills.  A partial index whose predicate is
        ``column IS NOT NULL`` on a column the write leaves NULL stays in
        place: no written row enters it, and building it again would cost a
        scan of the whole table (0.2 s a million incidents).
    """

    def __init__(
        self,
        conn: sa.Connection,
        table: str,
        columns=None,
        *,
        unique=False,
        triggers=(),
        written=None,
    ):
        self.conn, self.table = conn, table
        self.keys, self.indexes = _keys_and_indexes(conn, table, columns, written)
        self.unique = _unique_keys(conn, table) if unique else []
        self.triggers = list(triggers)
        logger.info(
            "%s: %d keys, %d unique keys, %d indexes, %d triggers set aside",
            table,
            len(self.keys),
            len(self.unique),
            len(self.indexes),
            len(self.triggers),
        )
        changes = [f"DROP CONSTRAINT {name}" for name, _ in self.keys + self.unique]
        changes += [f"DISABLE TRIGGER {name}" for name in self.triggers]
        if changes:
            conn.execute(sa.text(f"ALTER TABLE {table} {', '.join(changes)}"))
        if self.indexes:
            names = ", ".join(name for name, _ in self.indexes)
            conn.execute(sa.text(f"DROP INDEX {names}"))

    def restore(self) -> None:
        """Rebuild the indexes, refresh statistics, re-add and check the keys."""
        self._add(self.unique)
        for _, definition in self.indexes:
            self.conn.execute(sa.text(definition))
        # Fresh statistics: the validation below (and later queries) plan with them.
        self.conn.execute(sa.text(f"ANALYZE {self.table}"))
        self._add(self.keys)
        if self.triggers:
            enable = ", ".join(f"ENABLE TRIGGER {name}" for name in self.triggers)
            self.conn.execute(sa.text(f"ALTER TABLE {self.table} {enable}"))

    def _add(self, constraints) -> None:
        for name, definition in constraints:
            self.conn.execute(
                sa.text(f"ALTER TABLE {self.table} ADD CONSTRAINT {name} {definition}")
            )


def _unique_keys(conn: sa.Connection, table: str):
    """``[(name, constraint definition)]`` of the primary key and unique
    constraints of ``table`` that no foreign key references."""
    keys = conn.execute(
        sa.text("""
        SELECT quote_ident(k.conname), pg_get_constraintdef(k.oid)
          FROM pg_constraint k
         WHERE k.conrelid = CAST(:t AS regclass) AND k.contype IN ('p', 'u')
           AND NOT EXISTS (SELECT 1 FROM pg_constraint f
                            WHERE f.contype = 'f' AND f.conindid = k.conindid)
         ORDER BY k.contype, k.conname"""),
        {"t": table},
    ).all()
    return [tuple(k) for k in keys]


def _keys_and_indexes(conn: sa.Connection, table: str, columns, written=None):
    """``([(name, constraint definition)], [(name, CREATE INDEX ...)])`` of the
    foreign keys and constraint-free indexes of ``table`` (on ``columns`` only,
    when given; without the partial indexes of non-NULL values of a column
    not ``written``, when given); names quoted, definitions as the catalog
    prints them."""
    params = {"t": table}
    on_keys = on_indexes = ""
    if written is not None:
        # The predicate as the catalog prints it: (column IS NOT NULL).
        on_indexes = """AND coalesce(pg_get_expr(i.indpred, i.indrelid) NOT IN (
                              SELECT '(' || quote_ident(attname) || ' IS NOT NULL)'
                                FROM pg_attribute
                               WHERE attrelid = CAST(:t AS regclass) AND attnum > 0
                                 AND NOT attname = ANY(:written)), true)"""
        params["written"] = list(written)
    if columns is not None:
        attnums = """(SELECT array_agg(attnum) FROM pg_attribute
                       WHERE attrelid = CAST(:t AS regclass)
                         AND attname = ANY(:columns))"""
        on_keys = f"AND conkey <@ {attnums}"
        on_indexes += f" AND i.indkey::int2[] && {attnums}"
        params["columns"] = list(columns)
    keys = conn.execute(
        sa.text(f"""
        SELECT quote_ident(conname), pg_get_constraintdef(oid) FROM pg_constraint
         WHERE conrelid = CAST(:t AS regclass) AND contype = 'f' {on_keys}
         ORDER BY conname"""),
        params,
    ).all()
    indexes = conn.execute(
        sa.text(f"""
        SELECT quote_ident(c.relname), pg_get_indexdef(i.indexrelid)
          FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE i.indrelid = CAST(:t AS regclass) {on_indexes}
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                            WHERE k.conindid = i.indexrelid)
         ORDER BY c.relname"""),
        params,
    ).all()
    return [tuple(k) for k in keys], [tuple(i) for i in indexes]


# -- planner settings ---------------------------------------------------------------


@contextmanager
def planner(cursor, **settings):
    """Planner settings for the statements inside, put back afterwards.

    ``cursor`` is a DBAPI cursor inside the caller's transaction; the settings
    are transaction-local (``set_config(..., true)``) in any case.
    """
    names = list(settings)
    cursor.execute("SELECT " + ", ".join(f"current_setting('{n}')" for n in names))
    before = dict(zip(names, cursor.fetchone(), strict=True))
    _set(cursor, settings)
    yield  # after an error the transaction is lost anyway: nothing to put back
    _set(cursor, before)


def _set(cursor, settings: dict) -> None:
    cursor.execute(
        "SELECT " + ", ".join("set_config(%s, %s, true)" for _ in settings),
        [str(v) for pair in settings.items() for v in pair],
    )
