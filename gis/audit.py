"""The audit trail: who changed (or viewed) what, and when (``audit_log``)."""

from __future__ import annotations

import json
import logging

import sqlalchemy as sa

logger = logging.getLogger(__name__)


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
            "d": None
            if detail is None
            else json.dumps(detail, ensure_ascii=False, default=str),
        },
    )


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
