"""The audit trail: who changed (or viewed) what, and when (``audit_log``)."""

from __future__ import annotations

import json
import logging

import psycopg2.extensions
import sqlalchemy as sa

logger = logging.getLogger(__name__)

_IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE


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


# The statement of a read's record.  set_config(..., true) inside it relaxes
# synchronous_commit for its own transaction only: see record_read.
_READ = """
INSERT INTO audit_log (username, action, object_kind, object_code, detail,
                       client_addr)
SELECT %s, %s, %s, %s, CAST(%s AS jsonb),
       nullif(current_setting('pingan.client_addr', true), '')
  FROM (SELECT set_config('synchronous_commit', 'off', true)) relaxed
"""


def record_read(
    conn: sa.Connection,
    username: str | None,
    action: str,
    object_kind: str | None,
    object_code: str | None,
    detail: dict | None = None,
) -> None:
    """Record a read of personal data, and commit it: a read has no change whose
    transaction it could share.

    One round trip when the connection is between transactions (a lookup:
    the row is its own statement in autocommit), else the row and a COMMIT.
    The commit does not wait for the WAL to reach the disk (a lookup would
    otherwise wait for a flush every time): a crash of the database may lose
    the last fraction of a second of read records, never the record of a
    change, which :func:`record` writes durably with the change itself.
    """
    params = (username, action, object_kind, object_code, _json(detail))
    raw = conn.connection.dbapi_connection
    if conn.in_transaction() or raw.info.transaction_status != _IDLE:
        conn.exec_driver_sql(_READ, params)
        conn.commit()
        return
    raw.autocommit = True
    try:
        with raw.cursor() as cursor:
            cursor.execute(_READ, params)
    finally:
        if not raw.closed:
            raw.autocommit = False


def _json(detail: dict | None) -> str | None:
    if detail is None:
        return None
    return json.dumps(detail, ensure_ascii=False, default=str)


def history(conn: sa.Connection, object_kind: str, object_code: str) -> list[dict]:
    """The trail of one object, oldest first."""
    rows = conn.execute(
        sa.text(
            "SELECT at, username, action, detail FROM audit_log "
            "WHERE object_kind = :k AND object_code = :c ORDER BY at, id"
        ),
        {"k": object_kind, "c": object_code},
    ).mappings()
    return [
        {**row, "at": row["at"].isoformat(), "detail": row["detail"]} for row in rows
    ]
