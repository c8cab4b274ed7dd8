"""Incident counts kept ready, and what the leadership views read from them.

The counts (migration 0017) are kept by the incident table's statement
triggers: per metric square of 500, 1000 and 2000 m (``incident_cell``) and
per village (``incident_village``), per Beijing month, category, status, risk,
station and township; the village counts also by the level an incident was
resolved at and the whole days it took.  Bulk writers set the triggers aside
and call :func:`rebuild` (through :func:`gis.assign.rebuild_bins`).  Heat,
hotspots and scorecards read these tables, never the incidents themselves.
"""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa

logger = logging.getLogger(__name__)

SIZES = (500, 1000, 2000)
"""Sides of the kept squares, metres (``incident_cell_sizes()`` in SQL)."""


def rebuild(conn: sa.Connection) -> int:
    """Count every incident again (squares, villages and the population of
    each square); returns the count rows kept.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        As the tables' owner, inside the caller's transaction.
    """
    start = time.perf_counter()
    kept = conn.execute(sa.text("SELECT incident_counts_rebuild()")).scalar()
    logger.info(
        "incident counts: %d rows in %.2f s", kept, time.perf_counter() - start
    )
    return kept
