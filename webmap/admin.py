"""Admin pages: the audit log (``/admin/audit``) and its Excel export.

Only holders of ``audit.read`` (admins) see them.  Reading the log and
exporting it are themselves written to the log.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime

from flask import Blueprint, g, render_template, request, send_file

from gis import audit, clock
from gis.errors import InvalidInput
from webmap import requestdb
from webmap.guard import audit_read, requires

logger = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE_SIZE = 100
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _page_number() -> int:
    raw = request.args.get("page", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidInput(f"page 必须是正整数 / page must be >= 1, got {raw!r}")
    return int(raw)


@bp.get("/audit")
@requires("audit.read")
def audit_log():
    """The audit log, newest first, filtered by user, time and action."""
    filters, page = audit.filters(request.args), _page_number()
    conn = requestdb.connection()
    try:
        rows = audit.query(
            conn, **filters, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
        )
    except InvalidInput as exc:  # a bad date: the form again, saying why
        return render_template("audit.html", filters=filters, error=exc.message), 400
    seen = {"filters": filters, "page": page, "rows": len(rows[:PAGE_SIZE])}
    audit_read("audit.list", "audit_log", None, seen)
    return render_template(
        "audit.html",
        filters=filters,
        page=page,
        rows=[audit.cells(row) for row in rows[:PAGE_SIZE]],
        more=len(rows) > PAGE_SIZE,
        headers=[label for _, label in audit.COLUMNS],
    )


@bp.get("/audit.xlsx")
@requires("audit.read")
def audit_xlsx():
    """The filtered audit log as an Excel workbook (every matching row)."""
    conn = requestdb.connection()
    book = tempfile.TemporaryFile()  # streamed to disk, not held in memory
    try:
        audit.write_xlsx(conn, book, g.user.username, **audit.filters(request.args))
    except BaseException:
        book.close()
        raise
    conn.commit()
    book.seek(0)
    name = f"audit-{datetime.now(clock.BEIJING):%Y%m%d-%H%M}.xlsx"
    return send_file(book, mimetype=XLSX, as_attachment=True, download_name=name)
