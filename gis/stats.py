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
import math
import re
import time
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

import numpy as np
import orjson
import sqlalchemy as sa

from gis import config, vocab
from gis.errors import InvalidInput, brief

logger = logging.getLogger(__name__)

SIZES = (500, 1000, 2000)
"""Sides of the kept squares, metres (``incident_cell_sizes()`` in SQL)."""


def rebuild(conn: sa.Connection, population: bool = False) -> int:
    """Count every incident again (per square and per village); with
    ``population``, spread the villages' residents over the squares again
    too (after villages were imported: the rates' denominators).  Returns
    the count rows kept.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        As the tables' owner, inside the caller's transaction.
    population : bool
        Also rebuild ``cell_population``.
    """
    start = time.perf_counter()
    kept = conn.execute(sa.text("SELECT incident_counts_rebuild()")).scalar()
    if population:
        squares = conn.execute(sa.text("SELECT cell_population_rebuild()")).scalar()
        logger.info("residents spread over %d squares", squares)
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
        conds.append(_period())
        params.update(month0=self.start, month1=self.end)

    def count_sql(self) -> str:
        """SQL: the count of an ``incident_cell`` row under the category,
        status and risk filters: ``n``, or the sum of its category x status x
        risk columns chosen (codes checked against the vocabulary by
        :meth:`parse`; a column is NULL where it counts none)."""
        if not (self.categories or self.statuses or self.risks):
            return "n"
        columns = [
            f"coalesce(c_{c}_{s}_{r}, 0)"
            for c in self.categories or vocab.INCIDENT_CATEGORIES
            for s in self.statuses or vocab.INCIDENT_STATUSES
            for r in self.risks or vocab.RISK_TIERS
        ]
        return "(" + " + ".join(columns) + ")"

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
                       SELECT cx, cy, {month} AS month,
                              sum({filters.count_sql()}) AS n
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


# --- Scorecards -------------------------------------------------------------------

# Whole days taken, as incident_village keeps them: [low, high) per column.
BUCKETS = [(d, d + 1) for d in range(15)] + [(15, 22), (22, 31), (31, 61), (61, None)]
DAY_COLUMNS = [f"d{low:02d}" for low, _ in BUCKETS]
CATEGORY_COLUMNS = {code: f"cat_{code}" for code in vocab.INCIDENT_CATEGORIES}
_SUMMED = ["n", "done", "unknown_time", "lvl_village", "lvl_township", "lvl_district",
           *CATEGORY_COLUMNS.values(), *DAY_COLUMNS]  # fmt: skip
# "三零": counted over every category, whatever the scorecards' selection.
_THREE_ZERO = {"escalated": "lvl_district", "criminal": "cat_case",
               "major_accidents": "major_accident"}  # fmt: skip

THREE_ZERO_RULE = (
    "“三零”村（社区）：所选时段内同时满足 ① 零越级：没有一件事件在乡镇（街道）以上"
    "（区县级）化解，即矛盾不出镇；② 零刑事案件：没有一件“案件”类事件；③ 零重大事故："
    "没有一件红色（重大风险）等级的“事故”类事件。"
)
THREE_ZERO_RULE_EN = (
    "A village meets the “three zeros” in the period when it has (1) no incident "
    "resolved above the township (resolved_level = district), (2) no criminal "
    "case (category case) and (3) no major accident (category accident at risk "
    "tier red)."
)
LEVEL_RULE = (
    "小事不出村：已化解且记录了化解层级的事件中，在村（社区）级化解的比例；"
    "大事不出镇：其中在村级或乡镇（街道）级化解的比例。"
)
GROUPS = {
    # level: (area kind, the count tables' key column)
    "village": ("village", "village_id"),
    "township": ("township", "township_id"),
    "station": ("police_station", "station_id"),
}


def _selection(filters: Filters) -> str:
    """SQL over incident_village: the incidents the scorecards count (all, or
    disputes)."""
    if not filters.categories:
        return "true"
    if set(filters.categories) == set(DISPUTES):
        return "dispute"
    raise InvalidInput(
        "记分卡按全部事件或矛盾纠纷（category=dispute）统计 / scorecards count "
        "every incident or the disputes (category=dispute), not single categories",
        field="category",
    )


def _pieces(conn: sa.Connection, filters: Filters) -> dict:
    """The period as whole years, whole quarters and odd months (first
    months), so that its village counts are read from ``incident_village_span``
    where they can (migration 0020) and from ``incident_village`` only at the
    edges; ``all``: no period, every month (the span's 'all' rows).  An open
    end runs to the first or last month counted; a period without counts is
    no piece at all."""
    if filters.start is None and filters.end is None:
        return {"month": [], "quarter": [], "year": [], "all": True}
    first, last = conn.execute(
        sa.text("SELECT min(month), max(month) FROM incident_village")
    ).one()
    if first is None:
        return {"month": [], "quarter": [], "year": [], "all": False}
    lo = filters.start or date(first.year, 1, 1)
    hi = filters.end or date(last.year, 12, 1)
    pieces: dict = {"month": [], "quarter": [], "year": [], "all": False}
    at = lo.year * 12 + lo.month - 1  # months since year 0
    end = hi.year * 12 + hi.month - 1
    while at <= end:
        year, month = divmod(at, 12)
        if month == 0 and at + 11 <= end:
            kind, step = "year", 12
        elif month % 3 == 0 and at + 2 <= end:
            kind, step = "quarter", 3
        else:
            kind, step = "month", 1
        pieces[kind].append(date(year, month + 1, 1))
        at += step
    return pieces


def _sums_sql(conn: sa.Connection, filters: Filters, level: str) -> tuple[str, dict]:
    """SQL of the summed counts per area of ``level`` (``group_id`` and every
    column of :data:`_SUMMED`, plus the "三零" sums ``zero_*`` over every
    category), read once from the period's pieces (:func:`_pieces`), and its
    parameters."""
    _, key = GROUPS[level]
    places, params = filters.sql(conn, places_only=True)
    pieces = _pieces(conn, filters)
    params.update(months=pieces["month"], quarters=pieces["quarter"],
                  years=pieces["year"], every=pieces["all"])  # fmt: skip
    sel = _selection(filters)
    only = "" if sel == "true" else f" FILTER (WHERE {sel})"
    sums = ", ".join(f"sum({c}){only} AS {c}" for c in _SUMMED)
    zeros = ", ".join(f"sum({c}) AS zero_{name}" for name, c in _THREE_ZERO.items())
    columns = ", ".join(dict.fromkeys(["village_id", "township_id", "station_id",
                                       "dispute", *_SUMMED, *_THREE_ZERO.values()]))
    sql = f"""SELECT {key} AS group_id, {sums}, {zeros}
                FROM (SELECT {columns} FROM incident_village
                       WHERE month = ANY(CAST(:months AS date[]))
                      UNION ALL
                      SELECT {columns} FROM incident_village_span
                       WHERE span = 'quarter'
                         AND start = ANY(CAST(:quarters AS date[]))
                      UNION ALL
                      SELECT {columns} FROM incident_village_span
                       WHERE span = 'year' AND start = ANY(CAST(:years AS date[]))
                      UNION ALL
                      SELECT {columns} FROM incident_village_span
                       WHERE span = 'all' AND CAST(:every AS boolean)) u
               WHERE {places} GROUP BY {key}"""
    return sql, params


def _group_rows(conn: sa.Connection, filters: Filters, level: str) -> list[dict]:
    """Summed counts per area of ``level`` (``id`` and the columns of
    :func:`_sums_sql`), for the areas with counts: what the scorecards are
    built from, as Python rows (for checks; :func:`all_scorecards` builds the
    cards in SQL)."""
    sql, params = _sums_sql(conn, filters, level)
    result = conn.execute(sa.text(f"SELECT group_id AS id, s.* FROM ({sql}) s"), params)
    keys = list(result.keys())
    return [dict(zip(keys, r, strict=True)) for r in result]


def _overdue_sql(filters: Filters, level: str, places: str) -> str:
    """SQL: overdue incidents now per area of ``level`` (``group_id``) and
    one column per risk tier: reported in the period, past their tier's
    deadline (the one rule of :mod:`gis.incidents`), from
    ``open_incidents()`` (migration 0017); parameters :now, :month0, :month1
    and those of ``places``."""
    from gis import incidents  # the deadline rule; incidents imports no stats

    _, key = GROUPS[level]
    tiers = ", ".join(f"count(*) FILTER (WHERE i.risk = '{risk}') AS od_{risk}"
                      for risk in vocab.RISK_TIERS)  # fmt: skip
    return f"""SELECT i.{key} AS group_id, {tiers}
                 FROM open_incidents() i
                WHERE {incidents.OVERDUE_SQL}
                  AND {_period("incident_month(i.reported_at)")} AND {places}
                GROUP BY 1"""


def _period(month: str = "month") -> str:
    """SQL: ``month`` within :month0..:month1 (either may be NULL)."""
    return (
        f"(CAST(:month0 AS date) IS NULL OR {month} >= :month0) AND "
        f"(CAST(:month1 AS date) IS NULL OR {month} <= :month1)"
    )


def _round(value: Fraction, places: int) -> float:
    """``value`` rounded to ``places`` decimals, halves away from zero, as
    PostgreSQL rounds a numeric (the cards are worked out in SQL: the same
    figure whichever side computes it)."""
    scaled = value * 10**places
    whole = math.floor(scaled + Fraction(1, 2)) if scaled >= 0 else -math.floor(
        -scaled + Fraction(1, 2))
    return whole / 10**places


def median_days(days: list[int]) -> float | None:
    """The median of whole days from the bucket counts (:data:`BUCKETS`):
    exact to the day up to 14 days, interpolated within wider buckets (to
    0.01 day); 61 for "61 or more"; None without a resolution of known time.
    :func:`_median_sql` is the same in SQL.

    >>> median_days([0, 3, 1] + [0] * 16)
    1.0
    >>> median_days([0] * 15 + [4, 0, 0, 0])
    18.5
    """
    total = sum(days)
    if total == 0:
        return None
    seen = 0
    for (low, high), count in zip(BUCKETS, days, strict=True):
        if count and 2 * (seen + count) >= total:
            if high is None or high == low + 1:
                return float(low)
            return _round(low + Fraction((total - 2 * seen) * (high - low),
                                         2 * count), 2)  # fmt: skip
        seen += count
    return None  # not reached


def _median_sql(total: str = "days_n") -> str:
    """SQL: :func:`median_days` over the day columns of a row (``total``:
    their sum), a numeric."""
    whens, seen = [], []
    for (low, high), col in zip(BUCKETS, DAY_COLUMNS, strict=True):
        cum = " + ".join([*seen, col])
        if high is None or high == low + 1:
            value = f"{low}.0"
        else:
            before = " + ".join(seen)
            value = (f"round({low} + (({total} - 2 * ({before})) * {high - low})"
                     f"::numeric / (2 * {col}), 2)")  # fmt: skip
        whens.append(f"WHEN 2 * ({cum}) >= {total} THEN {value}")
        seen.append(col)
    return f"CASE WHEN {total} = 0 THEN NULL {' '.join(whens)} END"


def _share(part, whole) -> float | None:
    """``part / whole`` to 4 decimals (None when ``whole`` is 0), rounded as
    :func:`_share_sql` rounds it."""
    return _round(Fraction(int(part), int(whole)), 4) if whole else None


def _share_sql(part: str, whole: str) -> str:
    return f"CASE WHEN {whole} <> 0 THEN round(({part})::numeric / {whole}, 4) END"


def _json_sql(parts: list) -> str:
    """SQL: the text of a JSON value from ``parts``: Python strings are JSON
    text as it stands (merged into one literal where adjacent), one-item
    tuples are SQL expressions whose text is JSON (numbers, true/false, text
    already quoted).  One ``concat`` a value, no JSON function per field (10,000
    cards of json_build_object cost 200 ms)."""
    args: list[str] = []
    literal = ""
    for part in parts:
        if isinstance(part, str):
            literal += part
            continue
        if literal:
            args.append("'" + literal.replace("'", "''") + "'")
            literal = ""
        args.append(part[0])
    if literal:
        args.append("'" + literal.replace("'", "''") + "'")
    return f"concat({', '.join(args)})"


def _cards_sql(level: str, sums: str, overdue: str) -> str:
    """SQL: the scorecards of every current area of ``level`` the connection
    sees (with or without incidents), one row each, ranked: the card's JSON
    text, the names (to be masked), the parents' codes, "三零" met (1/0),
    and the counts found, resolved and resolved at an unknown time (for the
    totals); from the summed
    counts ``sums`` and the overdue counts ``overdue`` (``group_id`` keyed).
    Ranked by resolution rate (none last), then by more found (a count shown
    as "<3" as none), then by code.  Parameters :kind, :small (0: show every
    count; villages' counts below it show as :below, the JSON text of "<3",
    and give no rate, share or median)."""

    def shown(value: str) -> tuple[str]:
        return (f"CASE WHEN {value} > 0 AND {value} < :small THEN "
                f"CAST(:below AS text) ELSE {value}::text END",)  # fmt: skip

    def enough(value: str) -> tuple[str]:
        return (f"coalesce(CASE WHEN n >= :small THEN ({value})::text END, 'null')",)

    def text(value: str) -> tuple[str]:
        return (f"coalesce(to_json({value})::text, 'null')",)

    def obj(pairs: list) -> list:
        out = ["{"]
        for i, (key, value) in enumerate(pairs):
            out += [("," if i else "") + f'"{key}":', value]
        return [*out, "}"]

    counted = ", ".join(  # bigint sums, 0 where none
        f"coalesce(c.{c}, 0) AS {c}"
        for c in [*_SUMMED, *(f"zero_{name}" for name in _THREE_ZERO)]
    )
    overdue_cols = ", ".join(
        f"coalesce(o.od_{r}, 0) AS od_{r}" for r in vocab.RISK_TIERS
    )
    levels = "(lvl_village + lvl_township + lvl_district)"
    categories = ", ".join(  # concat_ws leaves out the NULLs: no zero category
        f"CASE WHEN {col} <> 0 THEN '\"{code}\":' || {shown(col)[0]} END"
        for code, col in CATEGORY_COLUMNS.items()
    )
    met = " AND ".join(f"zero_{name} = 0" for name in _THREE_ZERO)
    three_zero = [(name, shown(f"zero_{name}")) for name in _THREE_ZERO]
    three_zero.append(("met", (f"CASE WHEN {met} THEN 'true' ELSE 'false' END",)))
    pairs = [
        ("code", text("code")), ("name", text("name")),
        ("found", shown("n")), ("resolved", shown("done")),
        ("rate", ("coalesce(rate::text, 'null')",)),
        ("median_days", enough(_median_sql())),
        ("resolved_time_unknown", shown("unknown_time")),
        ("village_level_share", enough(_share_sql("lvl_village", levels))),
        ("within_township_share",
         enough(_share_sql("lvl_village + lvl_township", levels))),
        ("overdue", obj([(r, shown(f"od_{r}")) for r in vocab.RISK_TIERS])),
        ("categories", ["{", (f"concat_ws(',', {categories})",), "}"]),
        ("three_zero", obj(three_zero)),
    ]  # fmt: skip
    if level == "village":
        pairs += [(part, obj([("code", text(f"{part}_code")),
                              ("name", text(f"{part}_name"))]))
                  for part in ("township", "station")]  # fmt: skip
    pairs.append(("rank", ("rank::text",)))
    flat = []
    for key, value in pairs:
        flat.append((key, value if isinstance(value, list) else [value]))
    parts = ["{"]
    for i, (key, value) in enumerate(flat):
        parts += [("," if i else "") + f'"{key}":', *value]
    parts.append("}")
    return f"""
        WITH c AS MATERIALIZED ({sums}),
             o AS MATERIALIZED ({overdue}),
             g AS (SELECT a.code, a.name, t.code AS township_code,
                          t.name AS township_name, s.code AS station_code,
                          s.name AS station_name, {counted}, {overdue_cols},
                          {" + ".join(DAY_COLUMNS)} AS days_n
                     FROM area a
                     LEFT JOIN area t ON t.id = a.parent_id AND a.kind = 'village'
                     LEFT JOIN area s ON s.id = a.station_id AND a.kind = 'village'
                     LEFT JOIN c ON c.group_id = a.id
                     LEFT JOIN o ON o.group_id = a.id
                    WHERE a.kind = :kind AND a.valid_to IS NULL),
             r AS (SELECT g.*, CASE WHEN n >= :small THEN {_share_sql("done", "n")}
                               END AS rate
                     FROM g),
             k AS (SELECT r.*, row_number() OVER (
                          ORDER BY rate IS NULL, rate DESC,
                                   CASE WHEN n < :small THEN 0 ELSE n END DESC,
                                   code COLLATE "C") AS rank
                     FROM r)
        SELECT {_json_sql(parts)}, name, township_name, station_name,
               township_code, station_code, ({met})::int, n, done, unknown_time
          FROM k ORDER BY rank"""


@dataclass
class _Cards:
    """The ranked scorecards of one level, each card's JSON text as
    PostgreSQL wrote it (names masked), and what the summary needs."""

    level: str
    texts: list[str]
    totals: tuple[int, int, int]  # found, resolved, resolved at an unknown time
    unknown_in: list[dict]  # {code, name, count}: areas with unknown times
    met: int  # villages meeting "三零" (village cards)
    tally: dict  # village cards: township/station → code → [met, villages]

    def rows(self) -> list[dict]:
        return orjson.loads("[" + ",".join(self.texts) + "]")

    def fragment(self) -> orjson.Fragment:
        """The cards as JSON for :func:`orjson.dumps`, not parsed again."""
        return orjson.Fragment("[" + ",".join(self.texts) + "]")


def _cards(
    conn: sa.Connection,
    filters: Filters,
    level: str,
    small: int | None,
    tally: bool = False,
) -> _Cards:
    """The scorecards of ``level``, built in PostgreSQL (one statement,
    :func:`_cards_sql`) and passed through as JSON text; only a card whose
    name or parents' names may hold a phone or ID number is parsed here, to
    be masked.  ``tally``: count the villages meeting "三零" per township and
    station too."""
    from gis import incidents  # the deadline rule's clock

    sums, params = _sums_sql(conn, filters, level)
    places, _ = filters.sql(conn, places_only=True)
    rows = conn.execute(
        sa.text(_cards_sql(level, sums, _overdue_sql(filters, level, places))),
        {**params, "kind": GROUPS[level][0], "small": small or 0,
         "below": orjson.dumps(f"<{small}").decode(), "now": incidents.db_now(conn),
         "month0": filters.start, "month1": filters.end},  # fmt: skip
    ).all()
    texts = [r[0] for r in rows]
    search = _MAYBE_MASKED.search
    for i, (_, name, t_name, s_name, *_) in enumerate(rows):
        if search(f"{name}\n{t_name}\n{s_name}"):  # None: no digits
            card = orjson.loads(texts[i])
            card["name"] = mask(card["name"])
            for part in ("township", "station"):
                if part in card:
                    card[part]["name"] = mask(card[part]["name"])
            texts[i] = orjson.dumps(card).decode()
    unknown_in = []
    for i, row in enumerate(rows):
        if row[9]:
            card = orjson.loads(texts[i])
            unknown_in.append({"code": card["code"], "name": card["name"],
                               "count": card["resolved_time_unknown"]})  # fmt: skip
    tallies: dict[str, dict] = {"township": {}, "station": {}}
    for _, _, _, _, t_code, s_code, met, *_ in rows if tally else ():
        for part, code in (("township", t_code), ("station", s_code)):
            counts = tallies[part].setdefault(code, [0, 0])
            counts[0] += met
            counts[1] += 1
    totals = tuple(sum(r[k] for r in rows) for k in (7, 8, 9))
    met = sum(r[6] for r in rows)
    return _Cards(level, texts, totals, unknown_in, met, tallies)


def scorecards(conn: sa.Connection, filters: Filters, level: str = "village") -> dict:
    """Scorecards per village, township or station for the period.

    Each row: found, resolved, rate, median days, resolved at an unknown time,
    小事不出村 and 大事不出镇 shares (:data:`LEVEL_RULE`), overdue now by
    risk tier, the category mix and the "三零" counts and status
    (:data:`THREE_ZERO_RULE`); villages also carry their township and station,
    townships and stations their share of villages meeting "三零".  Rows are
    ranked by resolution rate.  Villages' counts below the small-count
    threshold show as "<3" (and give no rate).  ``summary``: the totals, the
    share of villages meeting "三零", and which areas hold resolutions of
    unknown time.  ``trend``: found and resolved by month.
    """
    return all_scorecards(conn, filters, (_level(level),))[level]


def scorecards_json(
    conn: sa.Connection, filters: Filters, level: str = "village"
) -> bytes:
    """:func:`scorecards` as JSON (what ``GET /api/stats`` sends): the
    villages' cards pass from PostgreSQL into the answer as text, never
    10,000 Python dicts."""
    report = _reports(conn, filters, (_level(level),), parse=False)[level]
    return orjson.dumps(report)


def _level(level: str) -> str:
    if level not in GROUPS:
        raise InvalidInput(
            f"level 必须是 village/township/station / level must be one of "
            f"{', '.join(GROUPS)}, got {brief(level)}",
            field="level",
        )
    return level


def all_scorecards(
    conn: sa.Connection, filters: Filters, levels=tuple(GROUPS)
) -> dict[str, dict]:
    """:func:`scorecards` of several levels (the townships' and stations'
    "三零" shares counted from the villages' cards, worked out once)."""
    return _reports(conn, filters, levels)


def _reports(
    conn: sa.Connection, filters: Filters, levels, parse: bool = True
) -> dict[str, dict]:
    """The reports of ``levels``; without ``parse``, the villages' rows are
    an orjson Fragment (the townships' and stations' are always dicts)."""
    trends = trend(conn, filters)
    built: dict[str, _Cards] = {}
    shares = bool(set(levels) - {"village"})  # "三零" shares from the villages
    for level in ("village", *levels):
        if level not in built:
            small = config.small_count() if level == "village" else None
            tally = shares and level == "village"
            built[level] = _cards(conn, filters, level, small, tally)
    out = {}
    for level in levels:
        cards = built[level]
        if level == "village":
            rows = cards.rows() if parse else cards.fragment()
        else:
            rows = cards.rows()
            _three_zero_shares(built["village"].tally[level], rows)
        out[level] = {
            "level": level,
            "filters": filters.describe(),
            "small_count": config.small_count(),
            "rules": {"three_zero": THREE_ZERO_RULE,
                      "three_zero_en": THREE_ZERO_RULE_EN,
                      "levels": LEVEL_RULE},  # fmt: skip
            "summary": _summary(cards),
            "trend": trends,
            "rows": rows,
        }
    return out


def _three_zero_shares(tally: dict, cards: list[dict]) -> None:
    """Each township's or station's share of its villages meeting "三零"
    (``tally``: code → [met, villages])."""
    for card in cards:
        met, total = tally.get(card["code"], [0, 0])
        card["three_zero"]["villages"] = total
        card["three_zero"]["villages_met"] = met
        card["three_zero"]["share"] = _share(met, total)


def _summary(cards: _Cards) -> dict:
    found, done, unknown = cards.totals
    out = {
        "areas": len(cards.texts),
        "found": found,
        "resolved": done,
        "rate": _share(done, found),
        "resolved_time_unknown": unknown,
        "resolved_time_unknown_in": cards.unknown_in,  # in rank order
    }
    if cards.level == "village":
        out.update(three_zero_met=cards.met,
                   three_zero_share=_share(cards.met, len(cards.texts)))  # fmt: skip
    return out


def trend(conn: sa.Connection, filters: Filters) -> list[dict]:
    """Found and resolved by month, for the scope and period (from the kept
    monthly totals, ``incident_month_total``: migration 0023)."""
    places, params = filters.sql(conn, places_only=True)
    sel = _selection(filters)
    rows = conn.execute(
        sa.text(
            f"""SELECT month, sum(n) FILTER (WHERE {sel}),
                       sum(done) FILTER (WHERE {sel})
                  FROM incident_month_total WHERE {_period()} AND {places}
                 GROUP BY month ORDER BY month"""
        ),
        {**params, "month0": filters.start, "month1": filters.end},
    ).all()
    return [{"month": m.strftime("%Y-%m"), "found": int(f or 0),
             "resolved": int(d or 0)} for m, f, d in rows]  # fmt: skip


# --- Masking -----------------------------------------------------------------------

# Mainland mobile numbers (1[3-9] + 9 digits, optionally +86 and spaced or
# dashed 3-4-4), landlines with an area code (0 + 2-3 digits, 7-8 digits), and
# resident ID numbers (18 characters: 17 digits and a digit or X; the old 15).
_PHONE = re.compile(
    r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)"
    r"|(?<!\d)0\d{2,3}[- ]?\d{7,8}(?!\d)"
)
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
# Found in everything either hides (3 digits, perhaps a dash or space, 4
# digits): text without it is left as it is, unread by the two above.
_MAYBE_MASKED = re.compile(r"\d{3}[- ]?\d{4}")


def mask(text: str | None) -> str | None:
    """``text`` with anything that looks like a phone or ID-card number
    replaced by asterisks (area names are all leaders read; a name imported
    with a phone in it must not carry it further).

    >>> mask("王庄村 13812345678 / 410901199001011234")
    '王庄村 *** / ***'
    """
    if text is None or not _MAYBE_MASKED.search(text):
        return text
    return _PHONE.sub("***", _ID_CARD.sub("***", text))


# --- The workbook ------------------------------------------------------------------

_SHEETS = {"township": "乡镇（街道）", "station": "派出所", "village": "村（社区）"}


def _sheet_rows(report: dict) -> tuple[list[str], list[list]]:
    level = report["level"]
    head = ["排名", "编码", "名称"]
    if level == "village":
        head += ["乡镇（街道）", "派出所"]
    head += ["受理", "化解", "化解率", "化解用时中位数(天)", "化解时间不详",
             "小事不出村", "大事不出镇",
             *(f"逾期·{label}" for label in vocab.RISK_TIERS.values()),
             "越级(区县级化解)", "刑事案件", "重大事故",
             "“三零”达标" if level == "village" else "“三零”达标村社比例",
             *(vocab.INCIDENT_CATEGORIES.values())]  # fmt: skip
    rows = []
    for r in report["rows"]:
        row = [r["rank"], r["code"], r["name"]]
        if level == "village":
            row += [r["township"]["name"], r["station"]["name"]]
        z = r["three_zero"]
        row += [r["found"], r["resolved"], r["rate"], r["median_days"],
                r["resolved_time_unknown"], r["village_level_share"],
                r["within_township_share"],
                *(r["overdue"][k] for k in vocab.RISK_TIERS),
                z["escalated"], z["criminal"], z["major_accidents"],
                _three_zero_cell(z, level),
                *(r["categories"].get(c, 0) for c in vocab.INCIDENT_CATEGORIES)]
        rows.append(row)
    return head, rows


def _three_zero_cell(z: dict, level: str):
    if level == "village":
        return "达标" if z["met"] else "未达标"
    return z["share"]


def write_xlsx(reports: dict[str, dict], target) -> None:
    """The scorecards as a workbook: 说明 (period, rules, masking), then one
    sheet per level, ranked.  ``reports``: level → :func:`scorecards`.
    ``target``: a path or a binary file object."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    about = book.active
    about.title = "说明"
    any_report = next(iter(reports.values()))
    f = any_report["filters"]
    for row in (("时段", f"{f['from'] or '最早'} 至 {f['to'] or '最新'}"),
                ("类别", "矛盾纠纷" if f["category"] else "全部事件"),
                ("“三零”规则", THREE_ZERO_RULE), ("层级规则", LEVEL_RULE),
                ("小数抑制", f"村（社区）级少于 {any_report['small_count']} 件显示为"
                            f"“<{any_report['small_count']}”，不计算比率"),
                ("化解时间不详", "计入受理与化解，不计入化解用时中位数")):  # fmt: skip
        about.append(row)
    about.column_dimensions["A"].width = 16
    about.column_dimensions["B"].width = 100
    for level, title in _SHEETS.items():
        if level not in reports:
            continue
        sheet = book.create_sheet(title)
        head, rows = _sheet_rows(reports[level])
        sheet.append(head)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"  # text, never a formula
        sheet.freeze_panes = "D2"
    book.save(target)


def choices(conn: sa.Connection) -> dict:
    """What the heat page's filters offer: the months counted (``YYYY-MM``,
    oldest first), the townships and stations (``[{code, name}]``) and the
    vocabularies; names masked."""
    months = conn.execute(
        sa.text("SELECT DISTINCT month FROM incident_village ORDER BY month")
    ).scalars()
    areas = conn.execute(
        sa.text("SELECT kind, code, name FROM area WHERE kind IN ('township', "
                "'police_station') AND valid_to IS NULL ORDER BY code")
    ).all()  # fmt: skip
    return {
        "months": [m.strftime("%Y-%m") for m in months],
        "townships": [{"code": c, "name": mask(n)} for k, c, n in areas
                      if k == "township"],  # fmt: skip
        "stations": [{"code": c, "name": mask(n)} for k, c, n in areas
                     if k == "police_station"],  # fmt: skip
        "categories": vocab.INCIDENT_CATEGORIES,
        "statuses": vocab.INCIDENT_STATUSES,
        "risks": vocab.RISK_TIERS,
        "small": config.small_count(),
    }
