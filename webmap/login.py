"""The browser login page (``/login``) and sign-out (``POST /logout``).

Signing in starts the session :mod:`webmap.auth` reads; both the successes and
the failures go to ``audit_log``.  The message for a failure does not say
whether the name or the password was wrong.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, url_for

from gis import audit, users
from gis.errors import PinganError, Unauthorized
from webmap import auth, requestdb

logger = logging.getLogger(__name__)

bp = Blueprint("login", __name__)
_FAILED = "用户名或密码错误，或账号已停用"
_MAX_NAME = 64  # app_user names are at most 64 characters


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirect).

    Only a relative path starting with one ``/``: ``//host`` and ``/\\host`` are
    taken by browsers as another site, and so is anything with a scheme.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.app_context_processor
def _signed_in() -> dict:
    """``current_user`` for every page's header: who is signed in, if anyone."""
    try:
        user = auth.session_user()
    except PinganError:  # e.g. the error page for a database that is down
        user = None
    if user is None:
        return {"current_user": None}
    return {
        "current_user": {
            "username": user.username,
            "role_label": users.ROLE_LABELS[user.role],
            "can_import": user.can("data.import"),
        }
    }


@bp.get("/login")
def form():
    """The login form."""
    return render_template("login.html", next=safe_next(request.args.get("next")))


@bp.post("/login")
def login():
    """Check the name and password; start a session and go where they were going."""
    username = request.form.get("username", "").strip()[:_MAX_NAME]
    password = request.form.get("password", "")
    target = safe_next(request.form.get("next"))
    conn = requestdb.connection()
    detail = {"ip": request.remote_addr, "via": "login page"}
    try:
        user = users.authenticate(conn, username, password)
    except Unauthorized:
        audit.record(
            conn, username or None, "login.failed", "user", username or None, detail
        )
        conn.commit()
        logger.info("failed login for %r from %s", username, request.remote_addr)
        page = render_template(
            "login.html", next=target, username=username, error=_FAILED
        )
        return page, 401
    audit.record(conn, user.username, "login", "user", user.username, detail)
    conn.commit()
    auth.start_session(user)
    return redirect(target or url_for("pages.index"))


@bp.post("/logout")
def logout():
    """End the session."""
    user = auth.session_user()
    if user is not None:
        conn = requestdb.connection()
        audit.record(conn, user.username, "logout", "user", user.username, None)
        conn.commit()
    auth.end_session()
    return redirect(url_for("pages.index"))
