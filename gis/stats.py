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
import re
import time
from dataclasses import dataclass
from datetime import date

import numpy as np
import sqlalchemy as sa

from gis import config, vocab
from gis.errors import InvalidInput, brief

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


# --- Filters ---------------------------------------------------------------------

OPEN = ("received", "dispatched", "handling")
DONE = ("resolved", "followed_up", "archived")
DISPUTES = tuple(c for c in vocab.INCIDENT_CATEGORIES if c.startswith("dispute_"))
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_QUARTER = re.compile(r"(\d{4})-?Q([1-4])", re.IGNORECASE)


def _month(text, field: str) -> date | None:
    """``YYYY-MM`` as the first day of that month; None if absent."""
    if text is None or text == "":
        return None
    match = _MONTH.fullmatch(str(text).strip()) if isinstance(text, str) else None
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1949:
        raise InvalidInput(
            f"{field} 必须是月份 YYYY-MM / {field} must be a month (YYYY-MM), "
            f"got {brief(text)}",
            field=field,
        )
    return date(int(match[1]), int(match[2]), 1)


def _codes(text, field: str, allowed: dict, shortcuts: dict) -> tuple[str, ...]:
    """A comma-separated list of codes (or a shortcut naming several)."""
    if text is None or text == "":
        return ()
    if not isinstance(text, str):
        raise InvalidInput(f"{field} 必须是文本 / {field} must be text", field=field)
    out = []
    for code in (c.strip() for c in text.split(",")):
        if code in shortcuts:
            out += shortcuts[code]
        elif code in allowed:
            out.append(code)
        else:
            raise InvalidInput(
                f"{field} 不认识 {brief(code)} / unknown {field} {brief(code)}; "
                f"allowed: {', '.join([*shortcuts, *allowed])}",
                field=field,
            )
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class Filters:
    """What the leadership views count: months (first and last, inclusive),
    categories, statuses, risk tiers, one township or station (codes)."""

    start: date | None = None
    end: date | None = None
    categories: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    risks: tuple[str, ...] = ()
    township: str | None = None
    station: str | None = None

    @classmethod
    def parse(cls, args) -> Filters:
        """From query parameters: ``month`` or ``quarter`` (``2025Q2``) or
        ``from``/``to`` (``YYYY-MM``); ``category`` (codes, or ``dispute``),
        ``status`` (codes, or ``open``/``done``), ``risk``, ``township``,
        ``station`` (codes).  A bad one is an InvalidInput naming it."""
        start, end = _month(args.get("from"), "from"), _month(args.get("to"), "to")
        if args.get("month"):
            start = end = _month(args.get("month"), "month")
        if args.get("quarter"):
            match = _QUARTER.fullmatch(str(args.get("quarter")).strip())
            if not match:
                raise InvalidInput(
                    "quarter 必须形如 2025Q2 / quarter must look like 2025Q2, got "
                    f"{brief(args.get('quarter'))}",
                    field="quarter",
                )
            year, first = int(match[1]), 3 * int(match[2]) - 2
            start, end = date(year, first, 1), date(year, first + 2, 1)
        if start and end and start > end:
            raise InvalidInput("from 晚于 to / from is after to", field="from")
        return cls(
            start, end,
            _codes(args.get("category"), "category", vocab.INCIDENT_CATEGORIES,
                   {"dispute": DISPUTES}),
            _codes(args.get("status"), "status", vocab.INCIDENT_STATUSES,
                   {"open": OPEN, "done": DONE}),
            _codes(args.get("risk"), "risk", vocab.RISK_TIERS, {}),
            _area_code(args.get("township"), "township"),
            _area_code(args.get("station"), "station"),
        )  # fmt: skip

    def sql(self, conn: sa.Connection, places_only: bool = False) -> tuple[str, dict]:
        """SQL conditions over a count table's columns, and their parameters
        (``places_only``: the township and station only, for
        ``cell_population``); an unknown township or station is an
        InvalidInput naming it."""
        conds, params = ["true"], {}
        if not places_only:
            self._what(conds, params)
        for field, kind in (("township", "township"), ("station", "police_station")):
            code = getattr(self, field)
            if code:
                params[f"{field}_id"] = _area_id(conn, kind, code, field)
                conds.append(f"{field}_id = :{field}_id")
        return " AND ".join(conds), params

    def _what(self, conds: list, params: dict) -> None:
        if self.start:
            conds.append("month >= :month0")
            params["month0"] = self.start
        if self.end:
            conds.append("month <= :month1")
            params["month1"] = self.end
        for column, values in (("category", self.categories),
                               ("status", self.statuses), ("risk", self.risks)):  # fmt: skip
            if values:
                conds.append(f"{column} = ANY(:{column}s)")
                params[f"{column}s"] = list(values)

    def describe(self) -> dict:
        return {
            "from": self.start.strftime("%Y-%m") if self.start else None,
            "to": self.end.strftime("%Y-%m") if self.end else None,
            "category": list(self.categories),
            "status": list(self.statuses),
            "risk": list(self.risks),
            "township": self.township,
            "station": self.station,
        }


def _area_code(text, field: str) -> str | None:
    if text is None or text == "":
        return None
    if not isinstance(text, str) or not re.fullmatch(r"[0-9A-Za-z_-]{1,40}", text):
        raise InvalidInput(
            f"{field} 必须是区划编码 / {field} must be an area code, got {brief(text)}",
            field=field,
        )
    return text


def _area_id(conn: sa.Connection, kind: str, code: str, field: str) -> int:
    found = conn.execute(
        sa.text("SELECT id FROM area WHERE kind = :k AND code = :c "
                "AND valid_to IS NULL"),
        {"k": kind, "c": code},
    ).scalar()  # fmt: skip
    if found is None:
        raise InvalidInput(
            f"没有编码为 {code} 的{vocab.AREA_KINDS.get(kind, kind)} / no {field} "
            f"with code {brief(code)}",
            field=field,
        )
    return found


# --- Squares -----------------------------------------------------------------------


def size_for_zoom(zoom: int) -> int:
    """The square shown at a map zoom: about 10-40 screen pixels a side."""
    return 2000 if zoom <= 10 else 1000 if zoom <= 11 else 500


def parse_size(text) -> int | None:
    """``size`` (metres: one of :data:`SIZES`); None if absent."""
    if text is None or text == "":
        return None
    if str(text) not in {str(s) for s in SIZES}:
        raise InvalidInput(
            f"size 必须是 {'/'.join(map(str, SIZES))} 米 / size must be one of "
            f"{', '.join(map(str, SIZES))} (metres), got {brief(text)}",
            field="size",
        )
    return int(text)


def srid(conn: sa.Connection) -> int | None:
    """The metric CRS the squares are counted in (None: nothing counted yet)."""
    return conn.execute(sa.text("SELECT srid FROM incident_count_setting")).scalar()


def square_sql(size: str = ":size") -> str:
    """SQL: square (cx, cy) of side ``size`` as a WGS84 polygon, given :srid."""
    return (
        f"ST_Transform(ST_MakeEnvelope(cx * {size}, cy * {size}, (cx + 1) * {size}, "
        f"(cy + 1) * {size}, :srid), 4326)"
    )


def cell_counts(
    conn: sa.Connection, filters: Filters, size: int, by_month: bool = False
) -> dict[str, np.ndarray]:
    """Counts per square (and month) under ``filters``, for the squares of the
    study area: every square with residents (``cell_population``) or with an
    incident of any month.  ``cx``, ``cy``, ``n`` (and ``month``) arrays, in
    the connection's row scope."""
    where, params = filters.sql(conn)
    month = "month" if by_month else "NULL::date"
    rows = conn.execute(
        sa.text(
            f"""WITH area AS (SELECT DISTINCT cx, cy FROM cell_population
                               WHERE size = :size
                              UNION
                              SELECT DISTINCT cx, cy FROM incident_cell
                               WHERE size = :size AND n > 0)
                SELECT a.cx, a.cy, c.month, coalesce(c.n, 0)
                  FROM area a LEFT JOIN (
                       SELECT cx, cy, {month} AS month, sum(n) AS n
                         FROM incident_cell WHERE size = :size AND {where}
                        GROUP BY 1, 2, 3) c USING (cx, cy)"""
        ),
        {**params, "size": size},
    ).all()
    cx, cy, months, n = zip(*rows, strict=True) if rows else ((), (), (), ())
    return {
        "cx": np.array(cx, dtype=np.int64),
        "cy": np.array(cy, dtype=np.int64),
        "month": np.array(months, dtype=object),
        "n": np.array(n, dtype=float),
    }


def small() -> int:
    """Counts below this are shown as "<N" (:func:`gis.config.small_count`)."""
    return config.small_count()
