"""Incident density for leadership: counts, or rates per 1,000 residents, per
metric square (``incident_cell``, migration 0017), never single incidents.

Filtered by period, category, status, risk, township and station
(:class:`gis.stats.Filters`); squares of 2,000, 1,000 or 500 m by zoom
(:func:`gis.stats.size_for_zoom`).  A square's rate divides its count by the
residents spread into it from the villages by area (``cell_population``);
squares with fewer than :data:`MIN_RESIDENTS` get no rate.  A count below
the small-count threshold (``PINGAN_SMALL_COUNT``, default 3) is sent as
``null`` with ``"small": true`` (shown "<3"), and gives no rate.
"""

import sqlalchemy as sa

from gis import stats
from gis.layers.base import ENVELOPE, EVERYTHING, Answer, Layer, View, _features

MIN_RESIDENTS = 50  # fewer residents in a square: a rate would be noise
MEASURES = ("count", "rate")
NO_FILTER = stats.Filters()


class HeatLayer(Layer):
    name = "heat"
    kind = "heat"
    title = "矛盾纠纷热力"
    personal = False
    color = "#d7301f"

    def options(self, args) -> dict:
        """The layer's own query parameters (filters, ``measure``, ``size``)."""
        measure = args.get("measure") or "count"
        if measure not in MEASURES:
            raise stats.InvalidInput(
                f"measure 必须是 count 或 rate / measure must be count or rate, "
                f"got {stats.brief(measure)}",
                field="measure",
            )
        return {
            "filters": stats.Filters.parse(args),
            "measure": measure,
            "size": stats.parse_size(args.get("size")),
        }

    def fetch(self, conn: sa.Connection, view: View, scope=EVERYTHING,
              filters: stats.Filters = NO_FILTER, measure: str = "count",
              size: int | None = None) -> Answer:  # fmt: skip
        """Squares in ``view`` with their ``n`` (count) and ``rate``."""
        srid = stats.srid(conn)
        size = size or stats.size_for_zoom(view.zoom)
        if srid is None:
            return Answer(self.name, view.zoom, "heat", "[]", total=0)
        where, params = filters.sql(conn)
        places, _ = filters.sql(conn, places_only=True)
        params.update(view.params(), srid=srid, size=size, small=stats.small(),
                      station=scope.station_id, residents=MIN_RESIDENTS,
                      d=5)  # fmt: skip
        count = filters.count_sql()
        near = "cx BETWEEN b.x0 AND b.x1 AND cy BETWEEN b.y0 AND b.y1"
        mine = "(CAST(:station AS bigint) IS NULL OR station_id = :station)"
        features, _ = _features(
            conn,
            f"""WITH b AS (
                SELECT floor(ST_XMin(g) / :size)::int AS x0,
                       floor(ST_XMax(g) / :size)::int AS x1,
                       floor(ST_YMin(g) / :size)::int AS y0,
                       floor(ST_YMax(g) / :size)::int AS y1
                  FROM (SELECT ST_Transform(ST_Segmentize({ENVELOPE},
                               (:e - :w) / 16), :srid) AS g) t),
            c AS (SELECT cx, cy, sum({count}) AS n FROM incident_cell, b
                   WHERE size = :size AND {near} AND {where} AND {mine}
                   GROUP BY cx, cy HAVING sum({count}) > 0),
            p AS (SELECT cx, cy, sum(population) AS pop FROM cell_population, b
                   WHERE size = :size AND {near} AND {places} AND {mine}
                   GROUP BY cx, cy)
            SELECT concat('{{"type":"Feature","geometry":',
                   ST_AsGeoJSON({stats.square_sql()}, :d),
                   ',"properties":{{"n":', CASE WHEN c.n < :small
                       THEN 'null,"small": true' ELSE c.n::text END,
                   ',"rate":', CASE WHEN c.n >= :small AND p.pop >= :residents
                       THEN round((1000 * c.n / p.pop)::numeric, 2)::text
                       ELSE 'null' END, '}}}}') AS feature
              FROM c LEFT JOIN p USING (cx, cy)""",
            params,
        )
        answer = Answer(self.name, view.zoom, "heat", features)
        answer.extra = {"measure": measure, "size": size, "small": params["small"],
                        "filters": filters.describe()}  # fmt: skip
        return answer

    def legend(self) -> list[tuple[str, str, str]]:
        return []  # the heat page draws its own, for the measure shown
