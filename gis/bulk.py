"""Bulk loading helpers: COPY rows into a temporary staging table.

COPY is the fastest way into PostgreSQL; set-based ``INSERT ... SELECT`` from the
staging table then does conversions, upserts and assignment in the database.
"""

from __future__ import annotations

import csv
import io
import logging
import math
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
