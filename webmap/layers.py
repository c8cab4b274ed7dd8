"""Map layer data by view: the one endpoint family every map page draws from.

``GET /api/layers`` lists the layers the user may draw and how;
``GET /api/layers/<name>?bbox=w,s,e,n&zoom=z[&station=<code>]`` answers one
layer for one view (GeoJSON: polygons simplified for the zoom, points one by
one or clustered; see :mod:`gis.layers.base`); ``GET
/api/layers/<name>/features/<code>`` is one feature's popup, fetched on click.
Every answer is read through the request's connection, so under the user's row
policies: a station user's view never carries another station's feature.
"""

from __future__ import annotations

import gzip
import logging
import time

import orjson
from flask import Blueprint, Response, g, request

from gis import layers, maps
from gis.errors import Forbidden, NotFound
from gis.layers import View
from webmap import requestdb
from webmap.guard import audit_read, requires

logger = logging.getLogger(__name__)

bp = Blueprint("layers", __name__, url_prefix="/api/layers")

GZIP_MIN = 1400  # bytes: smaller answers fit one packet as they are
GZIP_LEVEL = 5  # most of level 9's saving on GeoJSON at a third of its time
MAX_WIRE = 480_000  # bytes one layer answer may take on the wire


def _layer(name: str) -> layers.Layer:
    """The layer ``name`` if the user may draw it (a leader: no layer of
    single records)."""
    try:
        layer = layers.get(name)
    except KeyError:
        raise NotFound(
            f"没有名为 {name} 的图层 / no layer {name!r}; known: "
            f"{', '.join(layers.LAYERS)}"
        ) from None
    if not maps.may_draw(layer, g.user):
        raise Forbidden(
            f"{layer.title}含个人或单条记录，领导角色只能查看汇总 / layer {name!r} "
            "holds single records; the leader role sees aggregates only"
        )
    return layer


def encode(body: bytes) -> tuple[bytes, dict]:
    """``body`` gzipped when the client takes it and it is worth it, with the
    headers that say so."""
    headers = {"Vary": "Accept-Encoding"}
    if len(body) >= GZIP_MIN and "gzip" in request.accept_encodings:
        body = gzip.compress(body, GZIP_LEVEL)
        headers["Content-Encoding"] = "gzip"
    return body, headers


def send(body: bytes, started: float, headers: dict | None = None) -> Response:
    """JSON (encoded by :func:`encode` unless ``headers`` are given) with the
    server's time in ``Server-Timing`` (what the benchmarks read)."""
    if headers is None:
        body, headers = encode(body)
    headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return Response(body, mimetype="application/json", headers=headers)


@bp.get("")
@requires("map.layers")
def index():
    """The layers this user may draw: name, title and how to draw each."""
    started = time.perf_counter()
    drawable = [
        layer.client()
        for layer in layers.LAYERS.values()
        if maps.may_draw(layer, g.user)
    ]
    return send(orjson.dumps({"layers": drawable}), started)


@bp.get("/<name>")
@requires("map.layers")
def features(name: str):
    """One layer in one view (``bbox``, ``zoom``; ``station``: one station's
    features only, as the station map shows them)."""
    started = time.perf_counter()
    layer = _layer(name)
    view = View.parse(request.args.get("bbox"), request.args.get("zoom"))
    conn = requestdb.connection()
    station = request.args.get("station")
    focus = maps.station_focus(conn, station) if station else maps.EVERYTHING
    answer = layer.fetch(conn, view, focus, **layer.options(request.args))
    body, headers = encode(answer.json().encode())
    if len(body) > MAX_WIRE:  # e.g. a county's surveyed grids at zoom 15
        body, headers = encode(answer.zoom_in().json().encode())
    return send(body, started, headers)


@bp.get("/<name>/features/<code>")
@requires("map.layers")
def detail(name: str, code: str):
    """One feature's popup: ``{layer, code, title, rows: [[label, text]]}``."""
    started = time.perf_counter()
    layer = _layer(name)
    if layer.kind == "heat":
        raise NotFound("热力图没有单个要素 / the heat map has no single features")
    popup = layer.detail(requestdb.connection(), code)
    if layer.personal:
        audit_read("layer.detail", layer.name, code)
    return send(orjson.dumps(popup), started)
