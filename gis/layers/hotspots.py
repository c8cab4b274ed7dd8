"""Statistically significant hot and cold spots (Gi*, or the emerging hot spot
categories) on the map: squares of the whole study area classed by
:mod:`gis.hotspots`, whatever the view (the statistics need every square;
the answer is the significant ones only, a few hundred at most)."""

import json

import sqlalchemy as sa

from gis import hotspots, stats
from gis.layers.base import EVERYTHING, Answer, Layer, View


class HotspotLayer(Layer):
    name = "hotspots"
    kind = "hotspot"
    title = "热点分析（Gi*）"
    personal = False
    show = False
    color = "#b2182b"

    def options(self, args) -> dict:
        return {"filters": stats.Filters.parse(args), **hotspots.options(args)}

    def fetch(self, conn: sa.Connection, view: View, scope=EVERYTHING,
              filters: stats.Filters | None = None, size: int = 1000,
              permutations: int = 999, seed: int = hotspots.DEFAULT_SEED,
              emerging: bool = False) -> Answer:  # fmt: skip
        filters = filters or stats.Filters()
        if scope.station_id is not None and filters.station is None:
            code = conn.execute(
                sa.text("SELECT code FROM area WHERE id = :id"),
                {"id": scope.station_id},
            ).scalar()
            filters = stats.Filters(**{**filters.__dict__, "station": code})
        if emerging:
            report = hotspots.emerging(conn, filters, size)
        else:
            report = hotspots.hotspots(conn, filters, size, permutations, seed)
        features = json.dumps(report.pop("features"), ensure_ascii=False)
        return Answer(self.name, view.zoom, "hotspot", features, extra=report)

    def legend(self) -> list[tuple[str, str, str]]:
        return []  # the heat page draws it with the classes in plain Chinese
