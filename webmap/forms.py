"""Browser forms: CSRF tokens, and the size of what a form may send.

Every state-changing request to a page (anything but GET/HEAD/OPTIONS outside
``/api/``) must carry the session's CSRF token, in the hidden field
``csrf_token`` or the ``X-CSRF-Token`` header: a random value kept in the signed
session cookie and compared in constant time.  Another site can make a browser
send the cookie but cannot read the token.  API clients with a Bearer token are
not affected (a browser never adds that header by itself); an API request signed
in through the session is checked by :func:`webmap.auth.login_required`.

Checking the token reads the form, which is when Flask enforces the request
size, so the per-view upload limit (:func:`accepts_upload`) is applied in the
same hook, just before.
"""

from __future__ import annotations

import hmac
import logging
import secrets

from flask import Flask, current_app, request, session
from werkzeug.exceptions import RequestEntityTooLarge

from gis.errors import InvalidInput, PayloadTooLarge
from webmap import hooks

logger = logging.getLogger(__name__)

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_MB = 1024 * 1024


def csrf_token() -> str:
    """This session's CSRF token (made on first use), for a form's hidden field."""
    token = session.get(FIELD)
    if not token:
        token = session[FIELD] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Raise :class:`InvalidInput` (400) unless the request carries the token."""
    expected = session.get(FIELD, "")
    sent = request.headers.get(HEADER) or _form_value(FIELD) or ""
    if not (expected and hmac.compare_digest(sent.encode(), expected.encode())):
        raise InvalidInput(
            "安全校验失败：页面已过期或请求不是从本站表单提交的，请刷新页面后重试"
            " / the CSRF token is missing or wrong: reload the page and try again",
            field=FIELD,
        )


def accepts_upload(config_key: str):
    """Decorator: the view takes uploads of up to ``app.config[config_key]`` MB,
    instead of the app-wide ``MAX_CONTENT_LENGTH``."""

    def mark(view):
        view.upload_limit_key = config_key
        return view

    return mark


def _form_value(name: str) -> str | None:
    try:
        return request.form.get(name)
    except RequestEntityTooLarge:
        limit = (request.max_content_length or 0) // _MB
        raise PayloadTooLarge(
            f"上传的内容太大：这里最多 {limit} MB，请拆分文件或压缩后再上传 / the "
            f"upload is larger than the {limit} MB allowed here",
            limit_mb=limit,
        ) from None


def _guard() -> None:
    req = request._get_current_object()  # once: each proxy access costs
    if req.routing_exception is not None:
        return  # a 404 or 405 is answered as such
    view = current_app.view_functions.get(req.endpoint)
    key = getattr(view, "upload_limit_key", None)
    if key:
        req.max_content_length = current_app.config[key] * _MB
        _form_value(FIELD)  # read now, so a too-big upload gets the page below
    if req.method not in SAFE_METHODS and not req.path.startswith("/api/"):
        check_csrf()


def init_app(app: Flask) -> None:
    hooks.before_request(app, _guard)
    app.jinja_env.globals["csrf_token"] = csrf_token
