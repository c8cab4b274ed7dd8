"""Bulk loading helpers: COPY rows into a temporary staging table.

COPY is the fastest way into PostgreSQL; set-based ``INSERT ... SELECT`` from the
staging table then does conversions, upserts and assignment in the database.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import struct
from collections.abc import Iterable, Sequence
from datetime import date, datetime

import numpy as np
import shapely

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
