"""Map :class:`gis.errors.PinganError` to responses in one place.

API clients (``/api/...``, ``/healthz``, ``/ogc/...``, JSON Accept) get JSON; browsers
get a readable Chinese page.  Messages never include connection details.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from gis.errors import PinganError

logger = logging.getLogger(__name__)

_JSON_PREFIXES = ("/api/", "/healthz", "/ogc/", "/tiles/")


def wants_json() -> bool:
    """Whether the client should get a JSON error rather than a page."""
    if request.path.startswith(_JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _render(status: int, body: dict):
    if wants_json():
        return jsonify(body), status
    return render_template("error.html", status=status, message=body["message"]), status


def _pingan(exc: PinganError):
    if exc.status >= 500:
        logger.error("%s: %s", exc.code, exc.message)
    response = _render(exc.status, exc.to_dict())
    if exc.status == 401:  # RFC 6750: say which scheme to use
        return (*response, {"WWW-Authenticate": 'Bearer realm="pingan-grid"'})
    return response


def _http(exc: HTTPException):
    return _render(
        exc.code or 500,
        {
            "error": exc.name.lower().replace(" ", "_"),
            "message": exc.description or exc.name,
        },
    )


def init_app(app: Flask) -> None:
    app.register_error_handler(PinganError, _pingan)
    app.register_error_handler(HTTPException, _http)
