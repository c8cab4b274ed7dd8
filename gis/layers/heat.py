"""Incident density heat map for leadership.

Drawn from counts per square of :data:`BIN_DEGREES` (``incident_bins`` in the
schema), never from single incidents: leaders see patterns, not places of
people, and a million incidents travel as a few thousand weighted squares.
"""

import folium
import sqlalchemy as sa
from folium.plugins import HeatMap

from gis.layers.base import EVERYTHING, BBox, Layer, Scope

# About 450 m east-west by 550 m north-south here: finer than a village, coarser
# than a street address.
BIN_DEGREES = 0.005


class HeatLayer(Layer):
    name = "heat"
    title = "矛盾纠纷热力"

    def query(
        self,
        conn: sa.Connection,
        bbox: BBox | None = None,
        scope: Scope = EVERYTHING,
        tolerance: float = 0.0,
    ) -> dict:
        """Weighted squares as GeoJSON points (``count`` per square and
        category summed), within ``bbox``."""
        rows = conn.execute(
            sa.text("""
                SELECT json_build_object('type', 'Feature',
                       'geometry', json_build_object('type', 'Point',
                                   'coordinates', json_build_array(lon, lat)),
                       'properties', json_build_object('count', sum(n)))
                  FROM incident_bins(:size)
                 WHERE :w IS NULL OR (lon BETWEEN :w AND :e AND lat BETWEEN :s AND :n)
                 GROUP BY lon, lat"""),
            {
                "size": BIN_DEGREES,
                "w": bbox.west if bbox else None,
                "e": bbox.east if bbox else None,
                "s": bbox.south if bbox else None,
                "n": bbox.north if bbox else None,
            },
        ).scalars()
        return {"type": "FeatureCollection", "features": list(rows)}

    def draw(self, group: folium.FeatureGroup, collection: dict) -> None:
        features = collection["features"]
        if not features:
            return
        top = max(f["properties"]["count"] for f in features)
        points = [
            [
                round(f["geometry"]["coordinates"][1], 5),
                round(f["geometry"]["coordinates"][0], 5),
                round(f["properties"]["count"] / top, 4),
            ]
            for f in features
        ]
        HeatMap(
            points, name=self.title, radius=22, blur=20, min_opacity=0.3, max_zoom=13
        ).add_to(group)
