"""Siting API: where new 警务工作站 should go (:mod:`gis.siting`)."""

from __future__ import annotations

import logging

from flask import Blueprint

from gis import siting
from webmap import inputs, requestdb
from webmap.guard import requires

logger = logging.getLogger(__name__)

bp = Blueprint("siting", __name__, url_prefix="/api")



@bp.post("/site")
@requires("site.plan")
def site():
    """Propose sites for new posts in the caller's scope (MCLP or LSCP)."""
    plan = siting.parse_request(inputs.json_object())
    return siting.plan(requestdb.connection(), plan).to_dict()
