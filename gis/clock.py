"""Beijing time: the offset every time is shown in, and reading times people type.

China keeps one time zone, UTC+8, and Asia/Shanghai has had no daylight saving
since 1991, so a fixed offset is exact for every date the service stores and
needs no time-zone database (which a Windows install may lack).

Examples
--------
>>> parse_time("2025-03-01", "since").isoformat()
'2025-03-01T00:00:00+08:00'
>>> parse_time("2025-03-01T08:30:00Z", "since").astimezone(BEIJING).isoformat()
'2025-03-01T16:30:00+08:00'
>>> display(parse_time("2025-03-01 08:30", "at"))
'2025-03-01 08:30:00'

Times leave the service in Beijing time with their offset: ISO 8601 as
``2025-03-01T08:30:00+08:00`` (APIs, exports, history), and for people as
``2025-03-01 08:30`` under a heading or legend that says 北京时间 (UTC+8).
SQL that formats a time calls :func:`sql_iso` or :func:`sql_minutes`, so the
database's session time zone never decides what a user reads.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta, timezone

from gis.errors import InvalidInput

logger = logging.getLogger(__name__)

BEIJING = timezone(timedelta(hours=8), "北京时间")
ZONE = "Asia/Shanghai"  # the same offset, by the name PostgreSQL knows
LABEL = "北京时间 UTC+8"  # what a heading says the times are in


def parse_time(value: str | date | datetime | None, field: str) -> datetime | None:
    """An ISO 8601 date or time as an aware datetime; Beijing time without an offset.

    Parameters
    ----------
    value : str, date, datetime or None
        ``2025-03-01`` (midnight starting that day), ``2025-03-01 08:30``,
        ``2025-03-01T08:30:00+08:00``, ``...Z``; a date or datetime passes
        through (a naive one is taken as Beijing time).  None or ``""``: None.
    field : str
        The parameter's name, for the error message.

    Raises
    ------
    InvalidInput
        ``value`` is not an ISO date or time; the message names ``field``.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise InvalidInput(
                f"{field} 必须是 ISO 日期或时间，如 2025-03-01 或 2025-03-01T08:30 "
                f"（北京时间）/ {field} must be an ISO 8601 date or time "
                f"(Beijing time unless it has an offset), got {value!r}",
                field=field,
            ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=BEIJING)


def display(moment: datetime | None) -> str:
    """``moment`` in Beijing time as ``YYYY-MM-DD HH:MM:SS`` (empty for None)."""
    if moment is None:
        return ""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def iso(moment: datetime | None) -> str | None:
    """``moment`` as ISO 8601 in Beijing time with its offset (None for None).

    >>> iso(parse_time("2025-03-01T00:30:00Z", "at"))
    '2025-03-01T08:30:00+08:00'
    """
    return None if moment is None else moment.astimezone(BEIJING).isoformat()


def sql_iso(expression: str) -> str:
    """SQL: the timestamptz ``expression`` as ISO 8601 text in Beijing time with
    its offset, whatever the session's time zone."""
    return (
        f"to_char(({expression}) AT TIME ZONE '{ZONE}', "
        '\'YYYY-MM-DD"T"HH24:MI:SS"+08:00"\')'
    )


def sql_minutes(expression: str) -> str:
    """SQL: the timestamptz ``expression`` as ``YYYY-MM-DD HH24:MI`` in Beijing
    time (popups, tables: the heading or legend names the zone)."""
    return f"to_char(({expression}) AT TIME ZONE '{ZONE}', 'YYYY-MM-DD HH24:MI')"
