"""Siting API: where new 警务工作站 should go (:mod:`gis.siting`)."""

from __future__ import annotations

import logging

from flask import Blueprint, request

from gis import siting
from gis.errors import InvalidInput
from webmap import requestdb
from webmap.guard import requires

logger = logging.getLogger(__name__)

bp = Blueprint("siting", __name__, url_prefix="/api")


def _json_object() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(
            "请求体应为 JSON 对象 / the body must be a JSON object", field="body"
        )
    return body


@bp.post("/site")
@requires("site.plan")
def site():
    """Propose sites for new posts in the caller's scope (MCLP or LSCP)."""
    plan = siting.parse_request(_json_object())
    return siting.plan(requestdb.connection(), plan).to_dict()
