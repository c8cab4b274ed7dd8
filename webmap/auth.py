"""Who is calling: API tokens (``POST /api/token``, ``Authorization: Bearer``)
or the browser session made by the login page (:mod:`webmap.login`).

A token is the user name and their password stamp, signed with the app's secret
key and timed (itsdangerous).  The session is the same claim in Flask's signed
session cookie (HttpOnly, SameSite=Lax), with the time of sign-in, and lasts as
long as a token.  Nothing is kept in server memory, so any worker can check what
any other worker issued; each request re-reads the user, so a disabled user or a
changed password ends old tokens and sessions at once.
"""

from __future__ import annotations

import functools
import logging
import time

from flask import Blueprint, current_app, g, redirect, request, session, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from gis import users
from gis.errors import InvalidInput, Unauthorized
from webmap import errors, forms, requestdb

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__, url_prefix="/api")
_SALT = "pingan-api-token"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def issue_token(user: users.User) -> str:
    """A signed token for ``user`` (valid ``PINGAN_TOKEN_HOURS``)."""
    return _serializer().dumps({"u": user.username, "s": user.password_stamp})


def _bearer_user() -> users.User:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "请先登录：POST /api/token 获取令牌 / sign in first: get a token from "
            "POST /api/token and send Authorization: Bearer <token>"
        )
    max_age = current_app.config["TOKEN_HOURS"] * 3600
    try:
        claims = _serializer().loads(token.strip(), max_age=max_age)
    except SignatureExpired:
        raise Unauthorized("令牌已过期，请重新登录 / the token has expired") from None
    except BadSignature:
        raise Unauthorized("令牌无效 / the token is not valid") from None
    user = users.get(requestdb.connection(), claims.get("u", ""))
    if user is None or user.password_stamp != claims.get("s"):
        raise Unauthorized("令牌已失效，请重新登录 / the token is no longer valid")
    return user


def start_session(user: users.User) -> None:
    """Sign ``user`` in on this browser: a fresh session (and CSRF token), so
    nothing set before sign-in carries over."""
    session.clear()
    session.permanent = True  # the cookie expires; lifetime = TOKEN_HOURS
    session.update(u=user.username, s=user.password_stamp, t=int(time.time()))
    forms.csrf_token()


def end_session() -> None:
    session.clear()


def session_user() -> users.User | None:
    """The user signed in through the login page, or None.

    A session older than ``TOKEN_HOURS``, of a disabled user, or from before a
    password change is ended here.
    """
    if "session_user" in g:
        return g.session_user
    user = None
    username = session.get("u")
    if username:
        age = time.time() - session.get("t", 0)
        if 0 <= age <= current_app.config["TOKEN_HOURS"] * 3600:
            user = users.get(requestdb.connection(), username)
        if user is None or user.password_stamp != session.get("s"):
            user = None
            end_session()
    g.session_user = user
    return user


def _page_login():
    """Send a browser to the login page, to come back here afterwards."""
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("login.form", next=target))


def login_required(permission: str):
    """Decorator: the view needs a signed-in user holding ``permission``.

    A Bearer token wins; otherwise the browser session counts.  Without either,
    API clients get a 401 and browsers the login page.  The user is ``g.user``;
    their scope (``g.user.scope``) limits what they see.
    """

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if request.headers.get("Authorization"):
                g.user = _bearer_user()
            else:
                g.user = session_user()
                if g.user is None:
                    if not errors.wants_json():
                        return _page_login()
                    _bearer_user()  # raises the 401 that says how to sign in
                if request.method not in forms.SAFE_METHODS:
                    forms.check_csrf()  # a cookie is sent by any site's form
            users.require(g.user, permission)
            return view(*args, **kwargs)

        return wrapped

    return decorate


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
    user = users.authenticate(requestdb.connection(), username, password)
    hours = current_app.config["TOKEN_HOURS"]
    return {
        "token": issue_token(user),
        "token_type": "Bearer",
        "expires_in": int(hours * 3600),
        "user": user.to_dict(),
    }
