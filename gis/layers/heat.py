"""Incident density heat map for leadership."""

import folium
from folium.plugins import HeatMap

from gis.layers.base import PointLayer


class HeatLayer(PointLayer):
    name = "heat"
    title = "矛盾纠纷热力"
    table = "incident"
    columns = {"category": "t.category"}

    def draw(self, group: folium.FeatureGroup, collection: dict) -> None:
        points = [
            [
                round(f["geometry"]["coordinates"][1], 5),
                round(f["geometry"]["coordinates"][0], 5),
            ]
            for f in collection["features"]
        ]
        if points:
            HeatMap(
                points, name=self.title, radius=14, blur=18, min_opacity=0.3
            ).add_to(group)
