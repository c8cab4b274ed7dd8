"""A station's recent incidents, coloured by workflow state and risk tier.

The station home's map (``/station``) shows what is waiting and what was done:
incidents reported in the last :attr:`WorkloadLayer.days` days, open ones by
their risk tier (red, orange, yellow), closed ones by how far they got
(resolved, followed up, archived).  Unlike the all-time incidents layer, whose
clusters are kept per square in ``point_bin``, this one counts the recent
rows of the view on the spot: on a station's map (``station=``) the station's
report-time index (``incident_station_stats``) finds them, a quarter of a
busy county station being some 12,000 rows; the row policies keep the
caller's.
"""

from __future__ import annotations

import sqlalchemy as sa

from gis.layers.base import (
    ENVELOPE,
    EVERYTHING,
    Answer,
    PointLayer,
    _counted,
    _features,
    _json,
    _station_filter,
)

OPEN = ("received", "dispatched", "handling")
# Open incidents by tier, closed ones by how far they got.
_KEY = (
    "CASE WHEN t.status IN ('received', 'dispatched', 'handling') THEN t.risk "
    "ELSE t.status END"
)


class WorkloadLayer(PointLayer):
    name = "workload"
    data = "incidents"  # popups, enumerations, personal: gis.catalog
    days = 90
    colors = {
        "red": "#d7191c",
        "orange": "#fd8d3c",
        "yellow": "#fed976",
        "resolved": "#1a9641",
        "followed_up": "#2b83ba",
        "archived": "#969696",
    }
    legend_labels = {
        "待办·红色": "#d7191c",
        "待办·橙色": "#fd8d3c",
        "待办·黄色": "#fed976",
        "已化解": "#1a9641",
        "已回访": "#2b83ba",
        "已归档": "#969696",
    }
    radius = 6
    cluster_color = "#b2182b"
    cluster_shape = "circle"

    @property
    def title(self) -> str:
        return f"{self.entry.title}·近{self.days}天(按状态/风险)"

    def fetch(self, conn, view, scope=EVERYTHING) -> Answer:
        params = {**view.params(), "station": scope.station_id, "days": self.days,
                  "side": 90.0 / 2**view.zoom}  # fmt: skip
        recent = f"""
            FROM incident t
           WHERE t.reported_at >= now() - make_interval(days => :days)
             AND t.geom && {ENVELOPE} AND {_station_filter("t.station_id")}"""
        total = conn.execute(sa.text(f"SELECT count(*) {recent}"), params).scalar()
        if total > self.budget:  # squares of 64 px, as the other layers
            features, _ = _features(
                conn,
                f"""SELECT {_counted("n", "sx", "sy")} AS feature FROM (
                      SELECT count(*) AS n, sum(ST_X(t.geom)) AS sx,
                             sum(ST_Y(t.geom)) AS sy {recent}
                       GROUP BY floor(ST_X(t.geom) / :side),
                                floor(ST_Y(t.geom) / :side)) b""",
                params,
            )
            return Answer(self.name, view.zoom, "clusters", features, total=total)
        features, truncated = _features(
            conn,
            f"""SELECT concat('{{"type":"Feature","id":', {_json("t.code")},
                   ',"geometry":', ST_AsGeoJSON(t.geom, :d),
                   ',"properties":{{"k":', {_json(_KEY)}, '}}}}') AS feature
                {recent}""",
            params,
            cap=self.budget,
        )
        return Answer(self.name, view.zoom, "features", features,
                      truncated=truncated)  # fmt: skip
