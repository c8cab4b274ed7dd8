"""The audit trail: who changed (or viewed) what, and when (``audit_log``).

:func:`record` appends inside the caller's transaction (a change's record);
:func:`record_read` hands the record of a read of personal data to this
process's read log, which writes them in batches; :func:`history` is one
object's trail; :func:`query` and :func:`write_xlsx` read the whole log, newest
first, filtered by user, time and action, for ``python -m gis audit`` and the
admin page ``/admin/audit``.  Actions are dotted names (``login``,
``login.failed``, ``incident.create``, ``layer.export``, ...); an ``action``
filter matches whole dotted parts, so ``login`` finds ``login`` and
``login.failed`` but not ``logout``.  Times are shown in Beijing time.

Examples
--------
>>> with engine.connect() as conn:                                # doctest: +SKIP
...     [row["action"] for row in query(conn, action="login", since="2025-03-01")]
['login.failed', 'login']
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa

from gis import clock
from gis.errors import DatabaseUnavailable, InvalidInput

logger = logging.getLogger(__name__)

FILTERS = ("user", "since", "until", "action")
"""The filters :func:`query` takes, by the names the CLI and the page use."""

COLUMNS = (
    ("at", "时间"),
    ("username", "用户"),
    ("action", "操作"),
    ("object_kind", "对象类型"),
    ("object_code", "对象"),
    ("ip", "来源地址"),
    ("detail", "详情"),
)
"""Each shown column: the row's key and its Chinese header (CLI, page, Excel)."""

DEFAULT_LIMIT = 100
XLSX_SHEET = "审计日志"
_XLSX_WIDTHS = (20, 14, 18, 10, 24, 16, 80)
_FETCH = 5_000  # rows per round trip when streaming the log


def record(
    conn: sa.Connection,
    username: str | None,
    action: str,
    object_kind: str | None,
    object_code: str | None,
    detail: dict | None = None,
    client_addr: str | None = None,
) -> None:
    """Append one row to ``audit_log`` inside the caller's transaction.

    Written in the same transaction as the change it describes, so the trail never
    claims a change that was rolled back, nor misses one that was committed.
    ``client_addr`` is the address the request came from; web requests need
    not pass it: their connection knows it (:func:`gis.access.begin`).
    """
    conn.execute(
        sa.text(
            "INSERT INTO audit_log (username, action, object_kind, object_code, "
            "detail, client_addr) VALUES (:u, :a, :k, :c, CAST(:d AS jsonb), "
            "coalesce(:ip, nullif(current_setting('pingan.client_addr', true), '')))"
        ),
        {
            "u": username,
            "a": action,
            "k": object_kind,
            "c": object_code,
            "ip": client_addr,
            "d": _json(detail),
        },
    )


READ_DELAY = 0.2
"""Seconds after which the next web request to end writes a worker's records."""
READ_BATCH = 200
"""Records a worker writes at once, without waiting for :data:`READ_DELAY`."""
READ_IDLE_DELAY = 1.0
"""Seconds after which a worker that answers no request writes its records
from a thread of its own."""
READ_STUCK = 5.0
"""Seconds of failed writes after which reads of personal data are refused."""
_READ_KEEP = 100_000  # records kept for another try while writes fail

# One statement a batch, the columns as arrays; the read's own time is kept.
_READS = """
INSERT INTO audit_log (at, username, action, object_kind, object_code, detail,
                       client_addr)
SELECT * FROM unnest(%s::timestamptz[], %s::text[], %s::text[], %s::text[],
                     %s::text[], %s::jsonb[], %s::text[])
"""


class _ReadLog:
    """The records of reads of personal data this process has not written yet,
    by database, written in a batch of their own: when one is
    :data:`READ_BATCH` long; by the first web request to end once the oldest is
    :data:`READ_DELAY` old (after its answer is sent, on the connection it
    gave back: :func:`flush_due_reads`); by a thread of the log's own when no
    request does it within :data:`READ_IDLE_DELAY`; and at the process's exit.

    A read has no change whose transaction its record could share, and a
    transaction of its own for every read was the largest part of what
    sign-in added to a lookup: 0.05 ms of the database's time, a write, a
    transaction id and a commit.  A batch is one transaction, committed
    durably.  What a crash of the process may lose is what it held: its
    reads of the last :data:`READ_DELAY` under load, :data:`READ_IDLE_DELAY`
    at most.  A batch that fails to be written is kept for the next (a
    database that went away comes back); once writes have failed for
    :data:`READ_STUCK` seconds, :func:`record_read` refuses, so no personal
    data is handed out unrecorded for longer than that.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        """Start empty (also a forked child: its parent's locks may be held)."""
        self._lock = threading.Lock()  # the waiting records
        self._writing = threading.Lock()  # one batch at a time, in order
        self._rows: dict[sa.Engine, list[tuple]] = {}
        self._oldest: float | None = None  # when the oldest waiting record came
        self._timer: threading.Timer | None = None
        self._failing_since: float | None = None

    def add(self, engine: sa.Engine, row: tuple) -> None:
        failing = self._failing_since
        if failing is not None and time.monotonic() - failing > READ_STUCK:
            self.flush()  # the database may be back
            if self._failing_since is not None:
                raise DatabaseUnavailable(
                    "审计日志无法写入，暂不提供个人信息 / the audit log cannot be "
                    "written: personal data is withheld until it can"
                )
        with self._lock:
            rows = self._rows.setdefault(engine, [])
            rows.append(row)
            if self._oldest is None:
                self._oldest = time.monotonic()
            full = len(rows) >= READ_BATCH
            if not full:
                self._arm()
        if full:
            self.flush()

    def flush_due(self) -> None:
        """Write the waiting records if the oldest is READ_DELAY old (a web
        request calls this once its answer is sent: see the class)."""
        oldest = self._oldest
        if oldest is not None and time.monotonic() - oldest >= READ_DELAY:
            self.flush()

    def pending(self) -> int:
        with self._lock:
            return sum(len(rows) for rows in self._rows.values())

    def flush(self) -> None:
        """Write every waiting record now."""
        with self._writing:
            with self._lock:
                taken, self._rows, self._oldest = self._rows, {}, None
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
            failed = False
            for engine, rows in taken.items():
                try:
                    _write_reads(engine, rows)
                except Exception:  # noqa: BLE001 - kept for the next try
                    if self._failing_since is None:  # once, not every retry
                        logger.exception("audit: %d read records wait", len(rows))
                    failed = True
                    self._keep(engine, rows)
            if not failed and self._failing_since is not None:
                logger.warning("audit: the read records are written again")
                self._failing_since = None

    def _keep(self, engine: sa.Engine, rows: list[tuple]) -> None:
        with self._lock:
            if self._failing_since is None:
                self._failing_since = time.monotonic()
            waiting = self._rows.setdefault(engine, [])
            waiting[:0] = rows
            self._oldest = time.monotonic()
            if len(waiting) > _READ_KEEP:
                logger.error(
                    "audit: %d read records dropped: writes failed for too long",
                    len(waiting) - _READ_KEEP,
                )
                del waiting[:-_READ_KEEP]
            self._arm()

    def _arm(self) -> None:
        """Have the waiting records written in READ_IDLE_DELAY (under
        ``_lock``), should no request do it first."""
        if self._timer is None:
            self._timer = threading.Timer(READ_IDLE_DELAY, self.flush)
            self._timer.daemon = True
            self._timer.start()


def _write_reads(engine: sa.Engine, rows: list[tuple]) -> None:
    columns = [list(column) for column in zip(*rows, strict=True)]
    with engine.begin() as conn:
        conn.exec_driver_sql(_READS, tuple(columns))


_reads = _ReadLog()
atexit.register(_reads.flush)
os.register_at_fork(after_in_child=_reads._reset)  # a worker starts empty


def record_read(
    engine: sa.Engine,
    username: str | None,
    action: str,
    object_kind: str | None,
    object_code: str | None,
    detail: dict | None = None,
    client_addr: str | None = None,
) -> None:
    """Record a read of personal data by ``username`` from ``client_addr``,
    in the database of ``engine``: written by this process's read log within
    about :data:`READ_DELAY` seconds under load, :data:`READ_IDLE_DELAY` at
    most (see :class:`_ReadLog`), with the time of the read.  The record of
    a change is never deferred: :func:`record` writes it in the change's own
    transaction.

    Raises :class:`~gis.errors.DatabaseUnavailable` when records have failed
    to be written for :data:`READ_STUCK` seconds: call it before handing the
    data out.
    """
    now = datetime.now(UTC)
    row = (now, username, action, object_kind, object_code, _json(detail), client_addr)
    _reads.add(engine, row)


def flush_reads() -> None:
    """Write every read record this process holds now (tests; the process's
    exit does it too)."""
    _reads.flush()


def flush_due_reads() -> None:
    """Write the read records this process holds if they are due: a web
    request's last act, once its answer is sent."""
    _reads.flush_due()


def pending_reads() -> int:
    """Read records this process holds, not written yet."""
    return _reads.pending()


def _json(detail: dict | None) -> str | None:
    if detail is None:
        return None
    return json.dumps(detail, ensure_ascii=False, default=str)


def history(conn: sa.Connection, object_kind: str, object_code: str) -> list[dict]:
    """The trail of one object, oldest first; times in Beijing time with their
    offset (``2025-03-01T16:30:00+08:00``), like every time the service shows."""
    rows = conn.execute(
        sa.text(
            "SELECT at, username, action, detail FROM audit_log "
            "WHERE object_kind = :k AND object_code = :c ORDER BY at, id"
        ),
        {"k": object_kind, "c": object_code},
    ).mappings()
    return [
        {**row, "at": clock.iso(row["at"])} for row in rows
    ]


Moment = str | date | datetime | None


def filters(args: Mapping[str, str | None]) -> dict[str, str]:
    """The audit filters among ``args`` (a query string, CLI options), non-empty
    and stripped, for :func:`query` and for links that keep them."""
    picked = {name: (args.get(name) or "").strip() for name in FILTERS}
    return {name: value for name, value in picked.items() if value}


def query(
    conn: sa.Connection,
    user: str | None = None,
    since: Moment = None,
    until: Moment = None,
    action: str | None = None,
    limit: int | None = DEFAULT_LIMIT,
    offset: int = 0,
) -> list[dict]:
    """Rows of ``audit_log``, newest first.

    Parameters
    ----------
    conn : sqlalchemy.Connection
    user : str, optional
        Only this user's rows (exact name).
    since, until : str, date or datetime, optional
        Only rows at or after ``since`` and before ``until``: ISO dates or times,
        Beijing time unless they carry an offset (``until=2025-03-02`` ends with
        1 March, as the incident API's ``until`` does).
    action : str, optional
        An action or the first dotted parts of one: ``login`` matches
        ``login``, ``login.failed`` and ``login.locked`` (not ``logout``).
    limit : int or None
        At most this many rows (None: all); ``offset`` skips the newest ones.

    Returns
    -------
    list of dict
        ``id``, ``at`` (aware, Beijing time), ``username``, ``action``,
        ``object_kind``, ``object_code``, ``ip`` (the client's address, from
        ``client_addr`` or, in rows older than it, ``detail``; or None) and
        ``detail`` (a dict, or None).

    Raises
    ------
    InvalidInput
        ``since``/``until`` not a date or time, ``limit`` < 1, ``offset`` < 0.
    """
    select = _select(user, since, until, action, limit, offset)
    return list(_stream(conn, *select))


def cells(row: dict) -> list[str]:
    """``row`` as the texts of :data:`COLUMNS`: time in Beijing time, detail as
    JSON (without the address, which has its own column), empty for nothing."""
    detail = {k: v for k, v in (row["detail"] or {}).items() if k != "ip"}
    texts = {
        "at": clock.display(row["at"]),
        "detail": json.dumps(detail, ensure_ascii=False, default=str) if detail else "",
    }
    return [texts[key] if key in texts else str(row[key] or "") for key, _ in COLUMNS]


def write_xlsx(
    conn: sa.Connection,
    target: str | Path | BinaryIO,
    actor: str | None,
    user: str | None = None,
    since: Moment = None,
    until: Moment = None,
    action: str | None = None,
    limit: int | None = None,
) -> int:
    """Write the rows :func:`query` selects (all, without ``limit``) to an Excel
    workbook; record the export in ``audit_log``; return the number of rows.

    One worksheet with the Chinese headers of :data:`COLUMNS`, written in
    openpyxl's streaming (write-only) mode, so a long log needs the memory of
    one fetch.  Times are Excel date-times in Beijing time; text is always text,
    never a formula (:func:`gis.export.xlsx_text`).  ``target`` is a path
    (written beside it, then moved into place: never half a file) or a binary
    file.  ``actor`` is who exported, for the trail.

    Raises
    ------
    InvalidInput
        A bad filter, or more rows than an Excel sheet holds (narrow the
        filters); nothing is written then.
    """
    from gis.export import XLSX_ROWS  # pandas & co.: only when exporting

    cap = XLSX_ROWS - 1  # the header takes a row
    fetch = cap + 1 if limit is None or limit > cap else limit  # one more: too many?
    rows = _stream(conn, *_select(user, since, until, action, fetch, 0))
    chosen = {"user": user, "since": since, "until": until, "action": action}
    detail = {"filters": {k: str(v) for k, v in chosen.items() if v}}
    if isinstance(target, (str, Path)):
        detail["path"] = str(Path(target).absolute())
        count = _write_file(Path(target), rows, cap)
    else:
        count = _write_book(target, rows, cap)
    record(conn, actor, "audit.export", "audit_log", None, {**detail, "rows": count})
    return count


def _action_clause(action: str, params: dict) -> str:
    # "login" and "login.*": the action itself, or it followed by more parts.
    action = action.strip().rstrip(".*")
    params["action"] = action
    params["action_like"] = (
        action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ".%"
    )
    return "(action = :action OR action LIKE :action_like ESCAPE '\\')"


def _select(user, since, until, action, limit, offset) -> tuple[sa.TextClause, dict]:
    """The statement and parameters of a filtered read (checked here, eagerly)."""
    if limit is not None and (isinstance(limit, bool) or limit < 1):
        raise InvalidInput(f"limit 至少为 1 / limit must be >= 1, got {limit!r}")
    if offset < 0:
        raise InvalidInput(f"offset 不能为负 / offset must be >= 0, got {offset!r}")
    where, params = [], {"limit": limit, "offset": offset}
    if user:
        where.append("username = :user")
        params["user"] = user
    for field, op, value in (("since", ">=", since), ("until", "<", until)):
        moment = clock.parse_time(value, field)
        if moment is not None:
            where.append(f"at {op} :{field}")
            params[field] = moment
    if action and action.strip().rstrip(".*"):
        where.append(_action_clause(action, params))
    statement = sa.text(
        "SELECT id, at, username, action, object_kind, object_code, detail, "
        "coalesce(client_addr, detail->>'ip') AS client_addr "
        f"FROM audit_log WHERE {' AND '.join(where) or 'true'} "
        "ORDER BY at DESC, id DESC LIMIT :limit OFFSET :offset"
    )
    return statement, params


def _stream(conn, statement, params) -> Iterator[dict]:
    """The selected rows, fetched a few thousand at a time (server-side cursor)."""
    result = conn.execute(statement, params, execution_options={"yield_per": _FETCH})
    for row in result.mappings():
        yield {
            **row,
            "at": row["at"].astimezone(clock.BEIJING),
            "ip": row["client_addr"],
        }


def _write_file(path: Path, rows: Iterator[dict], cap: int) -> int:
    if not path.parent.is_dir():
        raise InvalidInput(f"目录不存在 / no such directory: {path.parent}")
    fd, scratch = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            count = _write_book(out, rows, cap)
        os.replace(scratch, path)
    finally:
        if os.path.exists(scratch):
            os.unlink(scratch)
    return count


def _write_book(out: BinaryIO, rows: Iterator[dict], cap: int) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(XLSX_SHEET)
    for letter, width in zip("ABCDEFG", _XLSX_WIDTHS, strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.append([label for _, label in COLUMNS])
    count = 0
    for row in rows:
        count += 1
        if count > cap:
            sheet.close()  # openpyxl's scratch file; the workbook is dropped
            raise InvalidInput(
                f"超过 {cap} 行，一个 Excel 工作表放不下；请用 since/until/user/action "
                f"缩小范围 / more than {cap:,} rows: narrow the filters"
            )
        when = WriteOnlyCell(sheet, row["at"].replace(tzinfo=None))
        when.number_format = "yyyy-mm-dd hh:mm:ss"
        sheet.append([when, *(_text(sheet, t) for t in cells(row)[1:])])
    book.save(out)
    return count


def _text(sheet, text: str):
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    from gis.export import XLSX_CELL_CHARS, xlsx_text

    if not text:
        return None
    # The log keeps what was typed (a failed login's name may hold anything):
    # control characters Excel cannot store are shown as \xNN, and a cell over
    # Excel's limit is cut, saying so.
    text = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    if len(text) > XLSX_CELL_CHARS:
        text = text[: XLSX_CELL_CHARS - 20] + " …（已截断 truncated）"
    return xlsx_text(sheet, text)
