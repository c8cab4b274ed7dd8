"""Incident density heat map for leadership.

Drawn from counts per square (``point_bin``, migration 0013), never from single
incidents: leaders see patterns, not places of people, and a million incidents
travel as a few thousand weighted squares.  Leaders read squares of zoom 14 and
coarser only (about 500 m): finer than a village, coarser than an address.
"""

import sqlalchemy as sa

from gis.layers.base import (
    EVERYTHING,
    Answer,
    Layer,
    View,
    _counted,
    _features,
    _station_filter,
)

LEVELS = (7, 14)


class HeatLayer(Layer):
    name = "heat"
    kind = "heat"
    title = "矛盾纠纷热力"
    personal = False

    def fetch(self, conn: sa.Connection, view: View, scope=EVERYTHING) -> Answer:
        """Incidents per square one zoom finer than the view's, as GeoJSON
        points with their ``count``."""
        level = min(max(view.zoom + 1, LEVELS[0]), LEVELS[1])
        side = 90.0 / 2**level
        features, _ = _features(
            conn,
            f"""SELECT {_counted("sum(n)", "sum(sx)", "sum(sy)")} AS feature
                  FROM point_bin
                 WHERE layer = 'incident' AND level = :level AND n > 0
                   AND cx BETWEEN :x0 AND :x1 AND cy BETWEEN :y0 AND :y1
                   AND {_station_filter("nullif(station_id, 0)")}
                 GROUP BY cx, cy HAVING sum(n) > 0""",
            {
                "level": level,
                "d": 5,  # about a metre: the squares are 500 m and more
                "station": scope.station_id,
                "x0": int(view.bbox.west // side),
                "x1": int(view.bbox.east // side),
                "y0": int(view.bbox.south // side),
                "y1": int(view.bbox.north // side),
            },
        )
        return Answer(self.name, view.zoom, "heat", features)
