"""The small interface every map layer shares.

A layer answers for one *view* (:class:`View`: a bounding box and a zoom) with
GeoJSON built in PostGIS (:meth:`Layer.fetch`), under the row policies of the
connection it is given: polygons simplified for the zoom and clipped to the
view, points one by one where few enough are in view, else counted per square
(``point_bin``, migration 0013).  What a popup shows is fetched on click
(:meth:`Layer.detail`).  The page itself carries no data: it is a Folium shell
whose script (``webmap/static/pingan-map.js``) asks each visible layer for the
view whenever the map moves (:meth:`Layer.client` says how to draw it).
Pages are lists of layer names (see :mod:`gis.layers`).  Layers never import
each other.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass

import sqlalchemy as sa

from gis import catalog, clock
from gis.errors import InvalidInput, NotFound

logger = logging.getLogger(__name__)

MIN_ZOOM, MAX_ZOOM = 7, 19  # what the maps allow (Leaflet's minZoom, maxZoom)
TILE = 256  # pixels per tile side: a zoom-z world is TILE * 2^z pixels wide

# Polygons are simplified by a third of a pixel and written to a quarter of a
# pixel: each side of a shared border stays within 0.46 px of the surveyed
# line, so neighbours never part by more than a pixel at any zoom.
SIMPLIFY_PX = 1 / 3
ROUND_PX = 1 / 4
# Clusters: the squares of point_bin, whose levels are the zooms 7..15.
BIN_LEVELS = (7, 15)
# The most one answer carries, as JSON text: a layer whose view would take
# more answers "zoom in" instead.  (The web endpoint also holds each answer to
# what it costs on the wire, gzipped: webmap/layers.py.)
MAX_BYTES = 4_000_000


@dataclass(frozen=True)
class Scope:
    """What a page focuses on: the whole district, or one police station.

    A display filter chosen by the page (a planner opening one station's map),
    not an access rule: what a user may see at all is decided by PostgreSQL's
    row policies (:mod:`gis.access`) before any layer reads a row.
    """

    station_id: int | None = None
    # A grid member's map: framed on their grid(s), with the grid layer shown.
    grid_ids: tuple[int, ...] = ()


EVERYTHING = Scope()


@dataclass(frozen=True)
class BBox:
    """A WGS84 query envelope."""

    west: float
    south: float
    east: float
    north: float

    @classmethod
    def parse(cls, text: str | None) -> BBox:
        """Parse ``west,south,east,north`` (degrees), naming what is wrong."""
        if not text:
            raise InvalidInput(
                "缺少 bbox（西,南,东,北） / bbox=west,south,east,north is required",
                field="bbox",
            )
        try:
            values = [float(v) for v in text.split(",")]
        except ValueError:
            raise InvalidInput(
                f"bbox 必须是四个数字 / bbox must be four numbers: {text[:80]!r}",
                field="bbox",
            ) from None
        if len(values) != 4:
            raise InvalidInput(
                f"bbox 需要 4 个值 / bbox needs 4 values, got {len(values)}",
                field="bbox",
            )
        box = cls(*values)
        if not (
            -180 <= box.west < box.east <= 180 and -90 <= box.south < box.north <= 90
        ):
            raise InvalidInput(
                f"bbox 范围无效 / bbox out of range or inverted: {text[:80]!r}",
                field="bbox",
            )
        return box

    def envelope(self) -> dict:
        return {"w": self.west, "s": self.south, "e": self.east, "n": self.north}


@dataclass(frozen=True)
class View:
    """What a map shows: a bounding box at a zoom (Web Mercator levels)."""

    bbox: BBox
    zoom: int

    @classmethod
    def parse(cls, bbox: str | None, zoom: str | None) -> View:
        """From the ``bbox`` and ``zoom`` parameters; a fractional zoom (the
        maps zoom in quarter steps) counts as the level below it."""
        box = BBox.parse(bbox)
        try:
            level = float(zoom) if zoom is not None else math.nan
        except ValueError:
            level = math.nan
        if not MIN_ZOOM - 2 <= level <= MAX_ZOOM + 3:  # NaN fails too
            raise InvalidInput(
                f"zoom 必须是 {MIN_ZOOM - 2} 到 {MAX_ZOOM + 3} 之间的数 / zoom must be "
                f"a number from {MIN_ZOOM - 2} to {MAX_ZOOM + 3}, got {zoom!r}",
                field="zoom",
            )
        return cls(box, int(level))

    @property
    def pixel(self) -> float:
        """Degrees of longitude per screen pixel at this zoom."""
        return 360.0 / (TILE * 2**self.zoom)

    @property
    def decimals(self) -> int:
        """Decimal places that keep coordinates within :data:`ROUND_PX`."""
        return min(7, max(3, math.ceil(-math.log10(self.pixel * ROUND_PX * 2))))

    def params(self) -> dict:
        return {
            **self.bbox.envelope(),
            "tol": self.pixel * SIMPLIFY_PX,
            "d": self.decimals,
        }


@dataclass
class Answer:
    """One layer's answer for one view: GeoJSON features, as JSON text from
    PostGIS (never parsed in Python), and how they were drawn up.

    ``mode`` is ``features`` (one per row), ``clusters`` (counts per square:
    each feature's ``count``), ``zoom_in`` (more than the layer draws at this
    zoom: none sent, ``total`` says at least how many) or ``heat``.
    """

    layer: str
    zoom: int
    mode: str
    features: str  # a JSON array
    total: int | None = None
    truncated: bool = False
    more: bool = False  # there are more than ``total``
    extra: dict | None = None  # a layer's own facts about the answer (JSON)

    def zoom_in(self) -> Answer:
        """The same view answered "too much here, zoom in" (``total``: the
        features that were in view, or at least how many)."""
        total = self.total if self.total is not None else self.features.count(
            '"type":"Feature"'
        )
        return Answer(self.layer, self.zoom, "zoom_in", "[]", total=total)

    def json(self) -> str:
        meta = f'"layer":"{self.layer}","zoom":{self.zoom},"mode":"{self.mode}"'
        if self.total is not None:
            meta += f',"total":{self.total}'
        if self.truncated:
            meta += ',"truncated":true'
        if self.more:
            meta += ',"more":true'
        if self.extra:
            meta += "," + json.dumps(self.extra, ensure_ascii=False)[1:-1]
        return (
            f'{{"type":"FeatureCollection",{meta},"features":{self.features}}}'
        )

    def collection(self) -> dict:
        """As a Python dict (tests, the CLI)."""
        return json.loads(self.json())


def _features(
    conn: sa.Connection, sql: str, params: dict, cap: int | None = None
) -> tuple[str, bool]:
    """``sql`` returns one GeoJSON Feature as text (``feature``) per row: their
    JSON array as text, and whether more than ``cap`` rows were left out."""
    limit = f"LIMIT {cap + 1}" if cap else ""
    keep = f"FILTER (WHERE f.rn <= {cap})" if cap else ""
    text, rows = conn.execute(
        sa.text(
            f"SELECT '[' || coalesce(string_agg(f.feature, ',') {keep}, '') || ']', "
            "count(*) "
            f"FROM (SELECT q.feature, row_number() OVER () AS rn "
            f"FROM ({sql}) q {limit}) f"
        ),
        params,
    ).one()
    return text, bool(cap) and rows > cap


def _json(expression: str) -> str:
    """SQL: ``expression`` as JSON text (a string escaped, a number as is)."""
    return f"to_json({expression})::text"


def _counted(n: str, sx: str, sy: str) -> str:
    """SQL: a GeoJSON point at the mean of ``n`` counted points (their sums of
    longitude ``sx`` and latitude ``sy``), with its ``count``, written to :d
    decimals."""
    return f"""concat('{{"type":"Feature","geometry":{{"type":"Point",',
        '"coordinates":[', round(({sx} / {n})::numeric, :d), ',',
        round(({sy} / {n})::numeric, :d), ']}},"properties":{{"count":', {n},
        '}}}}')"""


def _station_filter(column: str) -> str:
    return f"(CAST(:station AS bigint) IS NULL OR {column} = :station)"


ENVELOPE = "ST_MakeEnvelope(:w, :s, :e, :n, 4326)"




class Layer:
    """Base class.  Subclasses set the class attributes and :meth:`fetch`.

    A layer that draws a data layer of :mod:`gis.catalog` names it in
    ``data``; its title, popup rows and labels, enumerations and whether it
    holds personal records are read from there when asked for.
    """

    name: str = ""  # registry key, used in URLs
    data: str = ""  # the catalog's layer drawn, if any
    kind: str = ""  # how the page's script draws it: area, point or heat
    color: str = "#3388ff"
    show: bool = True  # visible when the page opens

    @property
    def entry(self) -> catalog.DataLayer:
        return catalog.get(self.data)

    @property
    def title(self) -> str:
        """Chinese label in the layer control."""
        return self.entry.title if self.data else ""

    @property
    def personal(self) -> bool:
        """Single records of people or incidents (never for leaders)."""
        return self.entry.personal if self.data else False

    @property
    def fields(self) -> dict[str, str]:
        """Property → Chinese label, for popups, in their order."""
        return self.entry.popup() if self.data else {}

    @property
    def categorical(self) -> dict[str, dict[str, str]]:
        """Property → {code: Chinese label}."""
        return self.entry.choices if self.data else {}

    def options(self, args) -> dict:
        """Keyword arguments of :meth:`fetch` from the request's query
        parameters beyond the view (a layer with filters parses them here)."""
        return {}

    def fetch(self, conn: sa.Connection, view: View, scope: Scope = EVERYTHING
              ) -> Answer:
        """What the layer draws in ``view``, focused on ``scope`` (a display
        filter; the connection's row policies decide what may be seen)."""
        raise NotImplementedError

    def _detail_sql(self) -> str:
        """A SELECT of one json object of the popup's properties, given :code
        (and :meth:`_params`)."""
        raise NotImplementedError

    def _params(self) -> dict:
        """Bound parameters of the layer's own SQL."""
        return {}

    def detail(self, conn: sa.Connection, code: str) -> dict:
        """The popup of the feature ``code``: ``{layer, code, title, rows}``,
        rows ``[label, text]`` in popup order (enumerations as their labels).
        One the connection may not see is a 404 like one that does not exist."""
        props = conn.execute(
            sa.text(self._detail_sql()), {**self._params(), "code": code}
        ).scalar()
        if props is None:
            raise NotFound(
                f"{self.title}中没有编码为 {code} 的要素 / no feature {code!r} "
                f"in layer {self.name}"
            )
        rows = []
        for field, label in self.fields.items():
            value = props.get(field)
            if value is None or value == "":
                continue
            if field in self.categorical:
                value = self.categorical[field].get(value, value)
            rows.append([label, str(value)])
        return {"layer": self.name, "code": code, "title": self.title, "rows": rows}

    def client(self) -> dict:
        """How the page's script draws the layer (JSON for the browser)."""
        return {"name": self.name, "title": self.title, "kind": self.kind,
                "color": self.color}  # fmt: skip

    def legend(self) -> list[tuple[str, str, str]]:
        """Legend entries: (label, colour, shape)."""
        return [(self.title, self.color, "line")] if self.fields else []


# What every boundary feature carries to its popup, besides the catalog's
# popup properties.
_AREA_PROPERTIES = {
    "code": "a.code", "name": "a.name", "kind": "a.kind", "subkind": "a.subkind",
    "parent_code": "p.code", "parent_name": "p.name",
    "population": "a.population", "households": "a.households",
}  # fmt: skip


class AreaLayer(Layer):
    """Polygons from the ``area`` table of one kind (current generation).

    At most :attr:`budget` polygons, and :data:`MAX_BYTES`, are drawn in one
    view: a county's 50,000 grids are no map at zoom 10, so the answer then
    says to zoom in.
    """

    kind = "area"
    weight: float = 1.5
    fill_opacity: float = 0.08
    budget: int = 2500

    @property
    def area_kind(self) -> str:
        return self.entry.area_kind

    def fetch(self, conn, view, scope=EVERYTHING) -> Answer:
        params = {
            **view.params(),
            **self._params(),
            "station": scope.station_id,
            "cap": self.budget + 1,
            "margin": 8 * view.pixel,
        }
        # The view's areas by the spatial index, under the one rule
        # (areas_in_box, migration 0013), then read by id under the policies.
        in_view = f"areas_in_box(:kind, {ENVELOPE}, :station, :cap)"
        total = conn.execute(
            sa.text(f"SELECT count(*) FROM {in_view}"), params
        ).scalar()
        if total > self.budget:
            return Answer(self.name, view.zoom, "zoom_in", "[]", total=self.budget,
                          more=True)  # fmt: skip
        # Polygons larger than the view are clipped to it (plus a margin, so
        # that no cut edge is drawn inside it), then simplified for the zoom.
        features, _ = _features(
            conn,
            f"""
            SELECT concat('{{"type":"Feature","id":', {_json("a.code")},
                          ',"geometry":', ST_AsGeoJSON(s.geom, :d),
                          ',"properties":{{"code":', {_json("a.code")},
                          ',"name":', {_json("a.name")}, '}}}}') AS feature
              FROM area a,
                   LATERAL (SELECT ST_Expand({ENVELOPE}, :margin) AS box) c,
                   LATERAL (SELECT ST_Simplify(
                       CASE WHEN a.geom @ c.box THEN a.geom
                            ELSE ST_ClipByBox2D(a.geom, c.box::box2d) END,
                       :tol, true) AS geom) s
             WHERE a.id IN (SELECT {in_view}) AND NOT ST_IsEmpty(s.geom)
             ORDER BY a.code""",
            params,
        )
        answer = Answer(self.name, view.zoom, "features", features, total=total)
        return answer.zoom_in() if len(features) > MAX_BYTES else answer

    def detail(self, conn: sa.Connection, code: str) -> dict:
        """The popup, with who answers for the area today (every role of
        ``duty_assignment`` the connection may see) and its ``bbox``, so that a
        list can zoom to it."""
        popup = super().detail(conn, code)
        people = conn.execute(
            sa.text(
                """SELECT r.label, string_agg(d.name, '、' ORDER BY d.name)
                     FROM area a
                     JOIN duty_assignment d ON d.area_id = a.id
                      AND d.valid_from <= current_date
                      AND (d.valid_to IS NULL OR d.valid_to > current_date)
                     JOIN duty_role r ON r.code = d.role
                    WHERE a.kind = :kind AND a.code = :code AND a.valid_to IS NULL
                    GROUP BY r.code, r.label ORDER BY r.code"""
            ),
            {**self._params(), "code": code},
        ).all()
        popup["rows"] += [[label, names] for label, names in people]
        popup["bbox"] = list(
            conn.execute(
                sa.text(
                    "SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)"
                    " FROM area WHERE kind = :kind AND code = :code "
                    "AND valid_to IS NULL"
                ),
                {**self._params(), "code": code},
            ).one()
        )
        return popup

    def _detail_sql(self) -> str:
        shown = self.fields
        props = {
            **_AREA_PROPERTIES,
            **{p.name: f"a.{p.name}" for p in self.entry.stored if p.name in shown},
        }
        pairs = ", ".join(f"'{k}', {v}" for k, v in props.items())
        return f"""
        SELECT json_build_object({pairs})
          FROM area a LEFT JOIN area p ON p.id = a.parent_id
         WHERE a.kind = :kind AND a.valid_to IS NULL AND a.code = :code"""

    def _params(self) -> dict:
        return {"kind": self.area_kind}

    def client(self) -> dict:
        return {
            **super().client(),
            "weight": self.weight,
            "fillOpacity": self.fill_opacity,
        }


# Where a point is: the areas the database assigned it to.
ASSIGNED = {
    "village_code": "v.code",
    "village_name": "v.name",
    "grid_code": "g.code",
    "grid_name": "g.name",
    "township_code": "tw.code",
    "township_name": "tw.name",
    "station_code": "st.code",
    "station_name": "st.name",
}


class PointLayer(Layer):
    """Points from one table, with the areas they were assigned to.

    Where the view holds at most :attr:`budget` points, they are sent one by
    one, with their code and the value they are coloured by; else as counts
    per square of 64 px: ``point_bin``'s up to zoom 15, counted on the spot
    closer in (a view at zoom 16 holds a 64th of one at zoom 13).
    """

    kind = "point"
    color_field: str = ""
    colors: dict[str, str] = {}  # value of color_field → colour
    radius: int = 5
    cluster: bool = True
    legend_labels: dict[str, str] = {}  # optional: legend label → colour
    budget: int = 2000  # points sent one by one at most
    # Clusters of each layer look different: colour and shape (circle, square
    # or diamond; webmap/static/pingan-map.css).
    cluster_color: str = "#3388ff"
    cluster_shape: str = "circle"

    @property
    def table(self) -> str:
        return self.entry.table

    def fetch(self, conn, view, scope=EVERYTHING) -> Answer:
        params = {
            **view.params(),
            "station": scope.station_id,
            "table": self.table,
            "cap": self.budget + 1,
        }
        # Searched by the spatial index under the one rule (points_in_box and
        # point_squares_in_box, migration 0013); rows then read by id under the
        # policies.
        box = f":table, {ENVELOPE}, :station"
        if self.cluster and view.zoom <= BIN_LEVELS[1]:
            squares = self._squares(view, params)
            total = conn.execute(
                sa.text(f"SELECT coalesce(sum(n), 0) FROM ({squares}) b"), params
            ).scalar()
        elif self.cluster:  # closer than the squares kept: count what is here
            squares = f"SELECT * FROM point_squares_in_box({box}, :side)"
            params["side"] = 90.0 / 2**view.zoom
            total = conn.execute(
                sa.text(f"SELECT count(*) FROM points_in_box({box}, :cap)"), params
            ).scalar()
        if self.cluster and total > self.budget:
            features, _ = _features(
                conn,
                f"""SELECT {_counted("n", "sx", "sy")} AS feature
                      FROM ({squares}) b WHERE n > 0""",
                params,
            )
            return Answer(self.name, view.zoom, "clusters", features, total=total)
        key = _json(f"t.{self.color_field}") if self.color_field else "'null'"
        features, truncated = _features(
            conn,
            f"""SELECT concat('{{"type":"Feature","id":', {_json("t.code")},
                   ',"geometry":', ST_AsGeoJSON(t.geom, :d),
                   ',"properties":{{"k":', {key}, '}}}}') AS feature
              FROM {self.table} t
             WHERE t.id IN (SELECT points_in_box({box}, :cap))""",
            params,
            cap=self.budget,
        )
        return Answer(self.name, view.zoom, "features", features,
                      truncated=truncated)  # fmt: skip

    def _squares(self, view: View, params: dict) -> str:
        """SQL: the view's squares of ``point_bin`` at the view's zoom, summed
        over stations and grids (the row policy has chosen which)."""
        side = 90.0 / 2**view.zoom
        bbox = view.bbox
        params.update(
            level=max(view.zoom, BIN_LEVELS[0]),
            x0=math.floor(bbox.west / side),
            x1=math.floor(bbox.east / side),
            y0=math.floor(bbox.south / side),
            y1=math.floor(bbox.north / side),
        )
        return f"""
            SELECT sum(n) AS n, sum(sx) AS sx, sum(sy) AS sy
              FROM point_bin
             WHERE layer = :table AND level = :level AND n > 0
               AND cx BETWEEN :x0 AND :x1 AND cy BETWEEN :y0 AND :y1
               AND {_station_filter("nullif(station_id, 0)")}
             GROUP BY cx, cy"""

    @property
    def columns(self) -> dict[str, str]:
        """Popup property → SQL expression over alias t."""
        return {
            p.name: (
                clock.sql_minutes(f"t.{p.name}") if p.kind == "time" else f"t.{p.name}"
            )
            for p in self.entry.stored
            if p.name in self.fields
        }

    def _detail_sql(self) -> str:
        props = {"code": "t.code", **self.columns, **ASSIGNED}
        pairs = ", ".join(f"'{k}', {v}" for k, v in props.items())
        return f"""
        SELECT json_build_object({pairs})
          FROM {self.table} t
          LEFT JOIN area v ON v.id = t.village_id
          LEFT JOIN area g ON g.id = t.grid_id
          LEFT JOIN area tw ON tw.id = t.township_id
          LEFT JOIN area st ON st.id = t.station_id
         WHERE t.code = :code"""

    def client(self) -> dict:
        return {
            **super().client(),
            "colors": self.colors,
            "radius": self.radius,
            "cluster": {"color": self.cluster_color, "shape": self.cluster_shape},
        }

    def legend(self) -> list[tuple[str, str, str]]:
        if self.legend_labels:
            return [
                (f"{self.title}·{label}", color, "dot")
                for label, color in self.legend_labels.items()
            ] + [(f"{self.title}·聚合(数量)", self.cluster_color,
                f"cluster-{self.cluster_shape}")]
        lookup = self.categorical.get(self.color_field, {})
        seen, out = set(), []
        for code, color in self.colors.items():
            if color not in seen:
                seen.add(color)
                out.append((f"{self.title}·{lookup.get(code, code)}", color, "dot"))
        out = out or [(self.title, self.color, "dot")]
        return out + [(f"{self.title}·聚合(数量)", self.cluster_color,
                f"cluster-{self.cluster_shape}")]
