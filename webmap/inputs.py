"""Refuse text no view could use, once, before any view sees it.

Every request's URL variables, query string and form fields (names, values and
upload file names), and every JSON body Flask decodes, are checked by
:mod:`gis.params`: no NUL or lone surrogate anywhere (PostgreSQL cannot store
the one, UTF-8 cannot carry the other), and JSON nested at most
:data:`gis.params.MAX_DEPTH` deep.  A failure is :class:`~gis.errors.InvalidInput`
naming the field (``description``, ``points[3].lon``, ``q``, ``body``), a 400
like any other, so views need no checks of their own.
"""

from __future__ import annotations

import logging

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider

from gis import params
from gis.errors import InvalidInput
from webmap import hooks

logger = logging.getLogger(__name__)

_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, with :func:`gis.params.load_json` checking what it reads
    (``request.get_json()``; invalid JSON is still a ValueError there)."""

    def loads(self, s, **kwargs):
        return params.load_json(s, **kwargs)


def json_object() -> dict:
    """The request's JSON body, which must be an object (a 400 naming
    ``body`` otherwise)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(
            "请求体应为 JSON 对象 / the body must be a JSON object", field="body"
        )
    return body


def _check_request() -> None:
    req = request._get_current_object()  # once: each proxy access costs
    if req.routing_exception is not None:
        return  # a 404 or 405 is answered as such
    if req.view_args:
        params.check_pairs(req.view_args.items())
    query = req.query_string
    # ASCII with no escape and no NUL decodes to nothing refused: skipped, the
    # common case (a lookup's lon and lat), which cost 10 us a request.
    if not (query.isascii() and b"%" not in query and b"\0" not in query):
        params.check_pairs(req.args.items(multi=True))
    if req.content_type and req.mimetype in _FORMS:
        params.check_pairs(req.form.items(multi=True))
        files = req.files.items(multi=True)
        params.check_pairs((name, upload.filename) for name, upload in files)


def init_app(app: Flask) -> None:
    """Check JSON bodies as they are read, and everything else before a view.

    Call after :func:`webmap.forms.init_app`: an upload's form must first get
    its own size limit, and is read here only then.
    """
    provider = JSONProvider(app)
    for setting in ("ensure_ascii", "sort_keys", "compact", "mimetype"):
        setattr(provider, setting, getattr(app.json, setting))  # the factory's
    app.json = provider
    hooks.before_request(app, _check_request)
