"""Deny by default: every route needs a signed-in user holding its permission,
except the short allow-list :data:`PUBLIC`.

A view says what it needs with :func:`requires`; a route that says nothing is
refused to everyone (and a test walks the URL map so none can slip past).
Before the view runs, :func:`_guard` finds the caller's credential (an API
token in ``Authorization: Bearer``, else the browser session's), and opens
the request's connection with that user's scope in the same round trip
(:func:`webmap.requestdb.begin`), or, for a token this worker has seen lately,
leaves the check to the request's first statement, whose round trip carries
it (:func:`gis.access.begin_known`; a request with no statement is checked
before its answer goes out).  Anonymous pages go to ``/login?next=…``,
anonymous API calls get a 401 JSON answer.

Who is signed in is ``g.user`` (:class:`gis.access.User`); what they may *see*
is not decided here at all but by PostgreSQL's row policies.
"""

from __future__ import annotations

import logging

from flask import (
    Flask,
    Response,
    current_app,
    g,
    redirect,
    request,
    session,
    url_for,
)

from gis import access, audit
from gis.errors import Forbidden, SessionEnded, Unauthorized
from webmap import errors, forms, hooks, requestdb

logger = logging.getLogger(__name__)

PUBLIC = frozenset({"static", "login.form", "login.login", "health.healthz",
                    "auth.token"})  # fmt: skip
"""Endpoints open to anyone: the sign-in page, the token exchange (it checks a
password itself), the health check (status only) and static assets."""

SESSION_KEY = "sid"  # the browser session's token, in the signed cookie
SHOWN_KEY = "who"  # [name, role label] for headers: display only, no credential


def requires(permission: str):
    """Decorator: the view needs a signed-in user holding ``permission``
    (a key of :data:`gis.access.PERMISSIONS`)."""
    if permission not in access.PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def mark(view):
        view.permission = permission
        return view

    return mark


def permission_of(endpoint: str) -> str | None:
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "permission", None)


def _credential(req) -> tuple[str | None, str | None]:
    """The caller's token and how it came: ``bearer`` or ``session``."""
    header = req.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized(
                "Authorization 应为 Bearer 令牌 / Authorization must be "
                "'Bearer <token>' (get one from POST /api/token)"
            )
        return token.strip(), "bearer"
    token = session.get(SESSION_KEY)
    return (token, "session") if isinstance(token, str) else (None, None)


def _login_redirect():
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("login.form", next=target))


def _refuse(via: str | None):
    """The answer to a caller with no live session: a redirect to the sign-in
    page for a browser, else :class:`Unauthorized` (raised)."""
    if via == "session":  # ended server-side: forget it here too
        session.pop(SESSION_KEY, None)
        session.pop(SHOWN_KEY, None)
    if via != "bearer" and not errors.wants_json():
        return _login_redirect()
    raise Unauthorized(
        "请先登录：POST /api/token 获取令牌 / sign in first: get a token from "
        "POST /api/token and send Authorization: Bearer <token>"
        if via is None
        else "令牌无效、已过期或已注销，请重新登录 / the token or session is "
        "not valid, has expired or was ended: sign in again"
    )


def _guard():
    req = request._get_current_object()  # once: each proxy access costs
    if req.routing_exception is not None or req.endpoint in PUBLIC:
        return None  # a 404 or 405 is answered as such
    token, via = _credential(req)
    user = requestdb.begin(token) if token else None
    if user is None:
        return _refuse(via)
    g.user, g.via = user, via
    if via == "session" and req.method not in forms.SAFE_METHODS:
        forms.check_csrf()  # a cookie is sent by any site's form
    permission = permission_of(req.endpoint)
    if permission is None:
        logger.error("route %s declares no permission: refused", request.endpoint)
        raise Forbidden("此页面未开放 / this route is not open to anyone")
    access.require(user, permission)
    return None


def audit_read(action: str, kind: str | None, code: str | None, detail=None):
    """Record that the signed-in user read personal data (``action``)."""
    audit.record_read(
        requestdb.engine(), g.user.username, action, kind, code, detail, client_addr()
    )


def client_addr() -> str | None:
    """The caller's address (behind a proxy, as ProxyFix makes it)."""
    return request.remote_addr


def _session_ended(_exc: SessionEnded):
    """A session that ended before the request's first statement (a token
    this worker knew, :func:`gis.access.begin_known`) is answered as the guard
    answers one that had ended before the request."""
    g.pop("user", None)
    try:
        return current_app.make_response(_refuse(g.pop("via", None)))
    except Unauthorized as refusal:
        return current_app.make_response(errors.render(refusal))


def _confirm(response: Response) -> Response:
    """A request whose session was never checked, because it ran no statement,
    has it checked before its answer goes out."""
    conn = requestdb.current()
    if response.status_code >= 500 or conn is None or conn.invalidated:
        return response
    try:
        requestdb.confirm()
    except Exception as exc:  # noqa: BLE001 - answered as a view's would be
        return current_app.make_response(current_app.handle_user_exception(exc))
    return response


def init_app(app: Flask) -> None:
    hooks.before_request(app, _guard)
    hooks.after_request(app, _confirm)
    app.register_error_handler(SessionEnded, _session_ended)
