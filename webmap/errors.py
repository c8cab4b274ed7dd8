"""Map :class:`gis.errors.PinganError` to responses in one place.

API clients (``/api/...``, ``/healthz``, ``/ogc/...``, JSON Accept) get JSON; browsers
get a readable Chinese page.  Messages never include connection details.
"""

from __future__ import annotations

import logging

import psycopg2
import sqlalchemy as sa
from flask import Flask, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from gis import db, schema
from gis.errors import DatabaseUnavailable, PinganError
from webmap import requestdb

logger = logging.getLogger(__name__)

_JSON_PREFIXES = ("/api/", "/healthz", "/ogc/", "/tiles/")


def wants_json() -> bool:
    """Whether the client should get a JSON error rather than a page."""
    if request.path.startswith(_JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _render(status: int, body: dict, offline: bool = False):
    if wants_json():
        return jsonify(body), status
    if offline:
        # Without the context processors: the header's "who is signed in"
        # asks the database, which would wait for it again or fail on the
        # connection just lost.  Flask's own globals (url_for, request,
        # session) are in the environment; nobody shows as signed in.
        page = current_app.jinja_env.get_template("error.html")
        return page.render(status=status, message=body["message"]), status
    return render_template("error.html", status=status, message=body["message"]), status


def render(exc: PinganError):
    """The answer to ``exc``, as its error handler gives it."""
    return _pingan(exc)


def _pingan(exc: PinganError):
    if exc.status >= 500:
        logger.error("%s: %s", exc.code, exc.message)
    offline = isinstance(exc, DatabaseUnavailable)
    response = _render(exc.status, exc.to_dict(), offline)
    if exc.status == 401:  # RFC 6750: say which scheme to use
        return (*response, {"WWW-Authenticate": 'Bearer realm="pingan-grid"'})
    return response


# werkzeug describes its errors in English prose; users read these instead.
HTTP_MESSAGES = {
    400: "请求无效 / bad request",
    401: "请先登录 / unauthorized: sign in first",
    403: "无权访问 / forbidden",
    404: "页面不存在 / not found",
    405: "不支持此请求方法 / method not allowed",
    406: "无法按要求的格式回答 / not acceptable",
    408: "请求超时 / request timeout",
    409: "与当前状态冲突 / conflict",
    410: "页面已不存在 / gone",
    411: "缺少请求长度 / length required",
    412: "前提条件不满足 / precondition failed",
    413: "请求内容太大 / payload too large",
    414: "网址太长 / URI too long",
    415: "不支持此内容类型 / unsupported media type",
    416: "请求的范围无效 / range not satisfiable",
    422: "请求内容无法处理 / unprocessable content",
    428: "缺少前提条件 / precondition required",
    429: "请求太频繁，请稍后再试 / too many requests",
    431: "请求头太大 / request header fields too large",
    500: "服务器内部错误 / internal server error",
    501: "尚不支持此功能 / not implemented",
    502: "上游服务出错 / bad gateway",
    503: "服务暂不可用，请稍后再试 / service unavailable",
    504: "上游服务超时 / gateway timeout",
}


def _http(exc: HTTPException):
    status = exc.code or 500
    fallback = "服务器出错" if status >= 500 else "请求出错"
    body = {
        "error": exc.name.lower().replace(" ", "_"),
        "message": HTTP_MESSAGES.get(status, f"{fallback} / {exc.name.lower()}"),
    }
    allowed = getattr(exc, "valid_methods", None)
    if allowed:  # 405: say which methods the URL takes
        body["message"] += f"（允许 allowed: {', '.join(allowed)}）"
        body["details"] = {"allowed": list(allowed)}
    # Keep what the exception puts in its headers (Allow, Retry-After, ...).
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    return (*_render(status, body), headers)


# undefined_table, undefined_function, undefined_column: what a query meets in
# a database that was never initialised, or not upgraded to this release.
_MISSING_OBJECT = {"42P01", "42883", "42703"}


def _programming(exc: Exception):
    """A query that failed on a missing table or function: when the schema is
    missing or old, say so (503, what to run) instead of a bare 500."""
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "pgcode", None) in _MISSING_OBJECT:
        try:
            schema.require_current(requestdb.engine())
        except PinganError as not_ready:
            return _pingan(not_ready)
    logger.error("unhandled database error", exc_info=exc)
    return _http(InternalServerError())


def _operational(exc: Exception):
    """A statement that failed because the database went away (restarted,
    stopped, frozen past the deadline) is a 503, as a failed connect is; the
    broken connections go.  One the server cancelled for time is a 503 too.
    (The web's engine turns its own into DatabaseUnavailable: these come from
    a raw cursor, as in gis.lookup.)"""
    if db.cancelled_for_time(exc):
        return _pingan(db.too_slow())
    conn = requestdb.current()
    if getattr(exc, "connection_invalidated", False) or (
        conn is not None and db.discard_broken(conn)
    ):
        logger.warning("database connection lost: %s", getattr(exc, "orig", exc))
        return _pingan(db.unreachable())
    logger.error("unhandled database error", exc_info=exc)
    return _http(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(PinganError, _pingan)
    app.register_error_handler(HTTPException, _http)
    # Raised through SQLAlchemy, or by a raw psycopg2 cursor (gis.lookup).
    app.register_error_handler(sa.exc.ProgrammingError, _programming)
    app.register_error_handler(psycopg2.ProgrammingError, _programming)
    app.register_error_handler(sa.exc.OperationalError, _operational)
    app.register_error_handler(psycopg2.OperationalError, _operational)
