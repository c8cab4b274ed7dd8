"""The small interface every map layer shares.

A layer knows how to *query* its features (GeoJSON built in PostGIS, filtered by
bounding box and user scope) and how to *draw* them on a Folium map.  Pages are
lists of layer names (see :mod:`gis.layers`).  Layers never import each other.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass

import folium
import sqlalchemy as sa
from folium.plugins import FastMarkerCluster

from gis import catalog
from gis.errors import InvalidInput

logger = logging.getLogger(__name__)

# Display simplification for polygons: 0.00002 degrees is about 2 m, invisible at
# the zooms planners use, and it removes most vertices of surveyed outlines.
DISPLAY_TOLERANCE = 0.00002
DISPLAY_DECIMALS = 6  # ~0.1 m


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
    def parse(cls, text: str) -> BBox:
        """Parse ``west,south,east,north`` (degrees), naming what is wrong."""
        try:
            values = [float(v) for v in text.split(",")]
        except ValueError:
            raise InvalidInput(
                f"bbox 必须是四个数字 / bbox must be four numbers: {text!r}"
            ) from None
        if len(values) != 4:
            raise InvalidInput(
                f"bbox 需要 4 个值 / bbox needs 4 values, got {len(values)}"
            )
        box = cls(*values)
        if not (
            -180 <= box.west < box.east <= 180 and -90 <= box.south < box.north <= 90
        ):
            raise InvalidInput(
                f"bbox 范围无效 / bbox out of range or inverted: {text!r}"
            )
        return box


def escape_properties(features: list[dict]) -> list[dict]:
    """HTML-escape every string property, for popups that Leaflet sets as HTML."""
    out = []
    for feature in features:
        props = {
            k: html.escape(v) if isinstance(v, str) else v
            for k, v in feature["properties"].items()
        }
        out.append({**feature, "properties": props})
    return out


class Layer:
    """Base class.  Subclasses set the class attributes and :meth:`_sql`.

    A layer that draws a data layer of :mod:`gis.catalog` names it in
    ``data``; its title, popup rows and labels, enumerations and whether it
    holds personal records are read from there when asked for.
    """

    name: str = ""  # registry key, used in URLs
    data: str = ""  # the catalog's layer drawn, if any
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

    def _sql(self) -> str:
        """A SELECT returning one ``feature`` json per row, given :bbox/:station."""
        raise NotImplementedError

    def _params(self) -> dict:
        """Extra bound parameters of :meth:`_sql`."""
        return {}

    def query(
        self,
        conn: sa.Connection,
        bbox: BBox | None = None,
        scope: Scope = EVERYTHING,
        tolerance: float = 0.0,
    ) -> dict:
        """The layer's features as a GeoJSON FeatureCollection (built in PostGIS)."""
        params = {
            **self._params(),
            "station": scope.station_id,
            "tol": tolerance,
            "has_bbox": bbox is not None,
            "w": bbox.west if bbox else 0,
            "s": bbox.south if bbox else 0,
            "e": bbox.east if bbox else 0,
            "n": bbox.north if bbox else 0,
        }
        rows = conn.execute(
            sa.text(
                "SELECT coalesce(json_agg(f.feature), '[]'::json) "
                f"FROM ({self._sql()}) f"
            ),
            params,
        ).scalar()
        return {"type": "FeatureCollection", "features": rows}

    def add_to(
        self,
        fmap: folium.Map,
        conn: sa.Connection,
        scope: Scope = EVERYTHING,
        transform=None,
        show: bool | None = None,
    ) -> folium.FeatureGroup:
        """Draw the layer as one toggleable feature group on ``fmap``.

        ``transform``, if given, maps the FeatureCollection before drawing (used
        to shift overlays onto a GCJ-02 base map); ``show`` overrides whether
        the layer is on when the page opens.
        """
        group = folium.FeatureGroup(
            name=self.title, show=self.show if show is None else show
        )
        collection = self.query(conn, scope=scope, tolerance=DISPLAY_TOLERANCE)
        self.draw(group, transform(collection) if transform else collection)
        group.add_to(fmap)
        return group

    def draw(self, group: folium.FeatureGroup, collection: dict) -> None:
        raise NotImplementedError


BBOX_FILTER = "(NOT :has_bbox OR {col} && ST_MakeEnvelope(:w, :s, :e, :n, 4326))"


# What every boundary feature carries, besides the catalog's popup properties.
_AREA_PROPERTIES = {
    "code": "a.code", "name": "a.name", "kind": "a.kind", "subkind": "a.subkind",
    "parent_code": "p.code", "parent_name": "p.name",
    "population": "a.population", "households": "a.households",
    "synthetic": "a.synthetic",
}  # fmt: skip


class AreaLayer(Layer):
    """Polygons from the ``area`` table of one kind (current generation)."""

    weight: float = 1.5
    fill_opacity: float = 0.08

    @property
    def kind(self) -> str:
        return self.entry.area_kind

    def _sql(self) -> str:
        shown = self.fields
        props = {
            **_AREA_PROPERTIES,
            **{p.name: f"a.{p.name}" for p in self.entry.stored if p.name in shown},
        }
        pairs = ", ".join(f"'{k}', {v}" for k, v in props.items())
        return f"""
        SELECT json_build_object(
            'type', 'Feature', 'id', a.code,
            'geometry', ST_AsGeoJSON(
                CASE WHEN :tol > 0 THEN ST_SimplifyPreserveTopology(a.geom, :tol)
                     ELSE a.geom END, {DISPLAY_DECIMALS})::json,
            'properties', json_build_object({pairs})) AS feature
          FROM area a LEFT JOIN area p ON p.id = a.parent_id
         WHERE a.kind = :kind AND a.valid_to IS NULL
           AND {BBOX_FILTER.format(col="a.geom")}
           AND (:station IS NULL OR a.station_id = :station)
         ORDER BY a.code"""

    def _params(self) -> dict:
        return {"kind": self.kind}

    def draw(self, group: folium.FeatureGroup, collection: dict) -> None:
        if not collection["features"]:
            return
        collection = {
            **collection,
            "features": escape_properties(collection["features"]),
        }
        style = {
            "color": self.color,
            "weight": self.weight,
            "fillColor": self.color,
            "fillOpacity": self.fill_opacity,
        }
        folium.GeoJson(
            collection,
            name=self.title,
            style_function=lambda _feature, style=style: style,
            highlight_function=lambda _f: {
                "weight": self.weight + 2,
                "fillOpacity": 0.25,
            },
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
            popup=folium.GeoJsonPopup(
                fields=list(self.fields), aliases=list(self.fields.values())
            ),
        ).add_to(group)


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

# One generic marker builder for every point layer.  Rows are compact arrays
# [lat, lon, v0, v1, ...]; categorical values arrive as indexes into lookup lists,
# so thousands of points cost tens of bytes each instead of ~700 for a Folium
# Marker.  Every string was HTML-escaped on the server.
_MARKER_JS = """(function () {
  var cfg = %s;
  return function (row) {
    var html = '<table class="pa-popup">';
    for (var i = 0; i < cfg.labels.length; i++) {
      var v = row[i + 2], lk = cfg.lookups[i];
      if (v === null || v === '') { continue; }
      if (lk) { v = lk[v]; }
      html += '<tr><th>' + cfg.labels[i] + '</th><td>' + v + '</td></tr>';
    }
    var color = cfg.colors[row[cfg.colorField + 2]] || cfg.color;
    var m = L.circleMarker([row[0], row[1]], {radius: cfg.radius, color: '#333',
      weight: 1, fillColor: color, fillOpacity: 0.9});
    m.bindPopup(html + '</table>');
    return m;
  };
})()"""


def _time_text(column: str) -> str:
    """A timestamp as Beijing time to the minute, as popups show it."""
    return f"to_char({column} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')"


class PointLayer(Layer):
    """Points from one table, with the areas they were assigned to."""

    color_field: str = ""
    colors: dict[str, str] = {}  # value of color_field → colour
    radius: int = 5
    cluster: bool = True
    legend: dict[str, str] = {}  # optional: legend label → colour

    @property
    def table(self) -> str:
        return self.entry.table

    @property
    def columns(self) -> dict[str, str]:
        """Property → SQL expression over alias t: every stored property but
        the personal ones no popup shows."""
        shown = self.fields
        return {
            p.name: _time_text(f"t.{p.name}") if p.kind == "time" else f"t.{p.name}"
            for p in self.entry.stored
            if p.name != "code" and (p.name in shown or not p.personal)
        }

    def _sql(self) -> str:
        props = {"code": "t.code", **self.columns, **ASSIGNED}
        pairs = ", ".join(f"'{k}', {v}" for k, v in props.items())
        return f"""
        SELECT json_build_object(
            'type', 'Feature', 'id', t.code,
            'geometry', ST_AsGeoJSON(t.geom, {DISPLAY_DECIMALS})::json,
            'properties', json_build_object({pairs})) AS feature
          FROM {self.table} t
          LEFT JOIN area v ON v.id = t.village_id
          LEFT JOIN area g ON g.id = t.grid_id
          LEFT JOIN area tw ON tw.id = t.township_id
          LEFT JOIN area st ON st.id = t.station_id
         WHERE {BBOX_FILTER.format(col="t.geom")}
           AND (:station IS NULL OR t.station_id = :station)
         ORDER BY t.code"""

    def draw(self, group: folium.FeatureGroup, collection: dict) -> None:
        fields = list(self.fields)
        lookups = {
            f: list(self.categorical[f]) for f in fields if f in self.categorical
        }
        rows = []
        for feature in collection["features"]:
            lon, lat = feature["geometry"]["coordinates"]
            props = feature["properties"]
            row = [round(lat, 6), round(lon, 6)]
            for f in fields:
                value = props.get(f)
                if f in lookups and value is not None:
                    value = lookups[f].index(value)
                elif isinstance(value, str):
                    value = html.escape(value)
                row.append(value)
            rows.append(row)
        cfg = {
            "labels": [html.escape(label) for label in self.fields.values()],
            "lookups": [
                [html.escape(self.categorical[f][code]) for code in lookups[f]]
                if f in lookups
                else None
                for f in fields
            ],
            "colorField": fields.index(self.color_field),
            "colors": [
                self.colors.get(code, self.color)
                for code in lookups.get(self.color_field, [])
            ],
            "color": self.color,
            "radius": self.radius,
        }
        # json.dumps escapes nothing HTML-special here (all text is escaped above),
        # but "</" is still broken up so no value can ever close the script tag.
        callback = _MARKER_JS % json.dumps(cfg).replace("</", "<\\/")
        options = {} if self.cluster else {"disableClusteringAtZoom": 1}
        FastMarkerCluster(
            rows, callback=callback, name=self.title, options=options
        ).add_to(group)
