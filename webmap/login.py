"""The browser login page (``/login``) and sign-out (``POST /logout``).

Signing in starts the session :mod:`webmap.auth` reads; both the successes and
the failures go to ``audit_log``.  The message for a failure does not say
whether the name or the password was wrong.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, g, redirect, render_template, request, session, url_for

from gis import audit, users
from gis.demo import accounts as demo_accounts
from gis.errors import TooManyRequests, Unauthorized
from webmap import forms, guard, requestdb

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
    """``current_user`` for every page's header: who is signed in, if anyone.

    Read from ``g.user``, which the guard set for this request: the sign-in
    page and error pages never wait on the database for it.
    """
    user = g.get("user")
    if user is None:
        # A page open to all (this one, an error page): the name this browser
        # signed in with, from the signed cookie, for the header only.
        shown = session.get(guard.SHOWN_KEY)
        if not (isinstance(shown, list) and len(shown) == 2):
            return {"current_user": None}
        return {"current_user": {
            "username": shown[0], "role_label": shown[1], "can": lambda _p: False,
        }}  # fmt: skip
    return {
        "current_user": {
            "username": user.username,
            "role": user.role,
            "role_label": user.role_label,
            "can": user.can,
        }
    }


@bp.get("/login")
def form():
    """The login form (it never waits on the database)."""
    return _form(next=safe_next(request.args.get("next")))


def _form(**values):
    """The login page; on a demo machine it says where the demo accounts are."""
    listed = demo_accounts.path()
    shown = listed.relative_to(listed.parents[1]) if listed.exists() else None
    return render_template("login.html", demo_accounts=shown, **values)


@bp.post("/login")
def login():
    """Check the name and password; start a session and go where they were going."""
    username = request.form.get("username", "").strip()[:_MAX_NAME]
    password = request.form.get("password", "")
    target = safe_next(request.form.get("next"))
    conn = requestdb.connection()
    try:
        token, _ = users.sign_in(conn, username, password, guard.client_addr())
    except (Unauthorized, TooManyRequests) as exc:
        conn.commit()  # the failure, the lock-out and their audit rows count
        logger.info("failed login for %r from %s", username, request.remote_addr)
        message = _FAILED if isinstance(exc, Unauthorized) else exc.message
        page = _form(next=target, username=username, error=message)
        return page, exc.status
    conn.commit()
    user = requestdb.begin(token)
    start_session(token, [user.username, user.role_label])
    # A station's officer lands on their station's workbench.
    home = url_for("station.home") if user.role == "station" else None
    return redirect(target or home or url_for("pages.index"))


def start_session(token: str, shown: list[str]) -> None:
    """Sign this browser in with session ``token``: a fresh cookie session (and
    CSRF token), so nothing set before sign-in carries over.  ``shown`` is the
    name and role the header of a page open to all shows."""
    session.clear()
    session.permanent = True  # the cookie expires with the server-side session
    session[guard.SESSION_KEY] = token
    session[guard.SHOWN_KEY] = shown
    forms.csrf_token()


@bp.post("/logout")
@guard.requires("session")
def logout():
    """End the session, here and on the server: a replayed cookie is refused."""
    conn = requestdb.connection()
    users.sign_out(conn, session[guard.SESSION_KEY])
    audit.record(conn, g.user.username, "logout", "user", g.user.username, None,
                 guard.client_addr())  # fmt: skip
    conn.commit()
    session.clear()
    return redirect(url_for("login.form"))
