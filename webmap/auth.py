"""API tokens: ``POST /api/token`` exchanges a name and password for a token,
sent afterwards as ``Authorization: Bearer <token>``.

A token is a random secret whose hash lives in ``auth_session`` (see
:mod:`gis.users`), so it can be revoked one by one and ends with a password
change; the sign-in behind it has the same lock-out as the login page.
Service accounts get long-lived tokens from ``python -m gis token issue``.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, request

from gis import users
from gis.errors import InvalidInput, TooManyRequests, Unauthorized
from webmap import guard, requestdb

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__, url_prefix="/api")


@bp.post("/token")
def token():
    """Exchange a user name and password (JSON or form) for an API token."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        body = request.form
    username, password = body.get("username"), body.get("password")
    for field, value in (("username", username), ("password", password)):
        if not value or not isinstance(value, str):
            raise InvalidInput(f"缺少 {field} / {field} is required", field=field)
    hours = current_app.config["TOKEN_HOURS"]
    conn = requestdb.connection()
    try:
        secret, _ = users.sign_in(
            conn, username[:64], password, guard.client_addr(), "token", hours
        )
    except (Unauthorized, TooManyRequests):
        conn.commit()  # the failure, the lock-out and their audit rows count
        raise
    conn.commit()
    user = requestdb.begin(secret)
    return {
        "token": secret,
        "token_type": "Bearer",
        "expires_in": int(hours * 3600),
        "user": user.to_dict(),
    }
