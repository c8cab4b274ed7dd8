"""The layer endpoint family: GET /api/layers/<name>?bbox=&zoom=, popups on click.

Against the demo world (5,000 incidents, 4,000 cameras, 168 villages), through
the real app and its row policies, and against a small synthetic county for
borders that are surveyed (noisy, hundreds of vertices) and shared.
"""

from __future__ import annotations

import gzip
import json
import math

import pytest
import shapely
import shapely.affinity
import sqlalchemy as sa
from shapely.geometry import shape

from gis import audit, catalog, db, layers
from gis.layers import BBox, View
from gis.layers.base import SIMPLIFY_PX
from tests.conftest import login

POINTS = {
    "posts": "post",
    "sites": "site",
    "cameras": "camera",
    "incidents": "incident",
}
AREAS = {"villages": "village", "grids": "grid", "stations": "police_station"}


def get(client, name: str, bbox, zoom, **extra) -> dict:
    query = {"bbox": ",".join(f"{v:.6f}" for v in bbox), "zoom": zoom, **extra}
    response = client.get(f"/api/layers/{name}", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()


@pytest.fixture(scope="module")
def district(demo_engine) -> tuple[float, float, float, float]:
    with demo_engine.connect() as conn:
        return tuple(
            conn.execute(
                sa.text(
                    "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                    "(SELECT ST_Extent(geom) e FROM area WHERE kind = 'district') x"
                )
            ).one()
        )


def quarter(box, i: int = 0):
    """The i-th quarter (SW, SE, NW, NE) of ``box``."""
    w, s, e, n = box
    mx, my = (w + e) / 2, (s + n) / 2
    return [(w, s, mx, my), (mx, s, e, my), (w, my, mx, n), (mx, my, e, n)][i]


def middle(box):
    """The middle half of ``box`` (each side a half)."""
    w, s, e, n = box
    dx, dy = (e - w) / 4, (n - s) / 4
    return (w + dx, s + dy, e - dx, n - dy)


def station_of(conn, table: str, code: str):
    return conn.execute(
        sa.text(f"SELECT station_id FROM {table} WHERE code = :c"), {"c": code}
    ).scalar()


# -- bbox and zoom --------------------------------------------------------------------


@pytest.mark.parametrize("name", list(POINTS))
def test_points_come_from_the_view_only(client, demo_engine, district, name):
    box = middle(district)
    if name in ("cameras", "incidents"):  # thousands: a smaller view
        box = middle(middle(middle(box)))
    answer = get(client, name, box, 17)  # close in: one by one
    assert answer["mode"] == "features"
    w, s, e, n = box
    with demo_engine.connect() as conn:
        inside = conn.execute(
            sa.text(
                f"SELECT count(*) FROM {POINTS[name]} "
                "WHERE geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)"
            ),
            {"w": w, "s": s, "e": e, "n": n},
        ).scalar()
    assert len(answer["features"]) == inside > 0
    for feature in answer["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        assert w <= lon <= e and s <= lat <= n
        assert feature["id"] and "k" in feature["properties"]


def test_incidents_cluster_at_low_zoom_and_the_counts_add_up(
    client, demo_engine, district
):
    answer = get(client, "incidents", district, 10)
    assert answer["mode"] == "clusters"
    counts = [f["properties"]["count"] for f in answer["features"]]
    with demo_engine.connect() as conn:
        total = conn.execute(sa.text("SELECT count(*) FROM incident")).scalar()
    assert sum(counts) == answer["total"] == total
    assert len(counts) < 200  # squares of 64 px, not 5,000 points
    assert "id" not in answer["features"][0]  # a cluster names no incident


def test_squares_follow_every_change_of_the_points(client, demo_engine, district):
    """point_bin is kept by triggers: insert, move, delete in one transaction
    each, and the clusters of every zoom still add up to the table."""

    def counted(zoom) -> int:
        answer = get(client, "incidents", district, zoom)
        return sum(f["properties"]["count"] for f in answer["features"])

    w, s, e, n = district
    with demo_engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO incident (code, category, reported_at, geom) "
                "SELECT 'BIN-' || i, 'case', now(), ST_SetSRID(ST_MakePoint("
                ":w + (:e - :w) * i / 20.0, :s + (:n - :s) / 2), 4326) "
                "FROM generate_series(1, 19) i"
            ),
            {"w": w, "s": s, "e": e, "n": n},
        )
    try:
        for zoom in (7, 10, 13):
            with demo_engine.connect() as conn:
                total = conn.execute(sa.text("SELECT count(*) FROM incident")).scalar()
            assert counted(zoom) == total
        with demo_engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE incident SET geom = ST_Translate(geom, 0.01, 0.01) "
                    "WHERE code LIKE 'BIN-%'"
                )
            )
            conn.execute(sa.text("DELETE FROM incident WHERE code = 'BIN-3'"))
        with demo_engine.connect() as conn:
            total = conn.execute(sa.text("SELECT count(*) FROM incident")).scalar()
            live = conn.execute(
                sa.text(
                    "SELECT count(DISTINCT (floor(ST_X(geom) / (90 / 2.0 ^ 12)), "
                    "floor(ST_Y(geom) / (90 / 2.0 ^ 12)))) FROM incident"
                )
            ).scalar()
            kept = conn.execute(
                sa.text(
                    "SELECT count(*) FROM (SELECT cx, cy FROM point_bin WHERE "
                    "layer = 'incident' AND level = 12 GROUP BY cx, cy "
                    "HAVING sum(n) > 0) x"
                )
            ).scalar()
        assert counted(12) == total
        assert kept == live  # the squares are where the points are
    finally:
        with demo_engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM incident WHERE code LIKE 'BIN-%'"))


def test_polygons_are_simplified_for_the_zoom(client, district):
    coarse = get(client, "district", district, 8)["features"][0]["geometry"]
    fine = get(client, "district", district, 16)["features"][0]["geometry"]

    def vertices(geometry) -> int:
        return shapely.get_num_coordinates(shape(geometry))

    assert vertices(coarse) < vertices(fine)
    # ...and written to a quarter of a pixel, no finer.
    digits = json.dumps(coarse).split(".")[1].split(",")[0].split("]")[0]
    assert len(digits) <= View(BBox(*district), 8).decimals


def test_a_polygon_larger_than_the_view_is_clipped_to_it(client, demo_engine):
    with demo_engine.connect() as conn:
        x, y = conn.execute(
            sa.text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p "
                "FROM area WHERE kind = 'district') q"
            )
        ).one()
    box = (x - 0.01, y - 0.01, x + 0.01, y + 0.01)
    (feature,) = get(client, "district", box, 15)["features"]
    minx, miny, maxx, maxy = shape(feature["geometry"]).bounds
    margin = 9 * View(BBox(*box), 15).pixel
    assert minx >= box[0] - margin and maxx <= box[2] + margin
    assert miny >= box[1] - margin and maxy <= box[3] + margin


def test_too_many_polygons_answer_zoom_in(client, district, monkeypatch):
    monkeypatch.setattr(layers.get("grids"), "budget", 50)
    answer = get(client, "grids", district, 9)
    assert answer["mode"] == "zoom_in" and answer["features"] == []
    assert answer["total"] == 50 and answer["more"] is True
    assert get(client, "grids", quarter(quarter(district)), 14)["mode"] == "features"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"zoom": "12"}, "bbox"),
        ({"bbox": "1,2,3", "zoom": "12"}, "bbox"),
        ({"bbox": "a,b,c,d", "zoom": "12"}, "bbox"),
        ({"bbox": "115,35,114,36", "zoom": "12"}, "bbox"),  # inverted
        ({"bbox": "114,35,200,36", "zoom": "12"}, "bbox"),  # out of range
        ({"bbox": "114,35,115,36"}, "zoom"),
        ({"bbox": "114,35,115,36", "zoom": "nan"}, "zoom"),
        ({"bbox": "114,35,115,36", "zoom": "99"}, "zoom"),
        ({"bbox": "114,35,115,36", "zoom": "-3"}, "zoom"),
        ({"bbox": "114,35,115,36", "zoom": "十二"}, "zoom"),
    ],
)
def test_a_bad_bbox_or_zoom_is_a_400_naming_it(client, query, field):
    response = client.get("/api/layers/villages", query_string=query)
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_input"
    assert body["details"]["field"] == field
    assert field in body["message"]


def test_an_unknown_layer_is_a_404(client):
    response = client.get("/api/layers/nope?bbox=114,35,115,36&zoom=12")
    assert response.status_code == 404
    assert "villages" in response.get_json()["message"]  # names the known ones


def test_answers_are_gzipped_and_timed(client, district):
    response = client.get(
        "/api/layers/villages",
        query_string={"bbox": ",".join(map(str, district)), "zoom": 11},
        headers={"Accept-Encoding": "gzip"},
    )
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Server-Timing"].startswith("app;dur=")
    body = json.loads(gzip.decompress(response.get_data()))
    assert len(body["features"]) == 168


# -- scope ----------------------------------------------------------------------------


@pytest.fixture
def station_client(app, accounts):
    client = app.test_client()
    login(client, "t_station")
    return client


@pytest.fixture(scope="module")
def own_station(demo_engine, accounts) -> int:
    with demo_engine.connect() as conn:
        return conn.execute(
            sa.text("SELECT station_id FROM app_user WHERE username = 't_station'")
        ).scalar()


@pytest.mark.parametrize("zoom", [9, 12, 15, 18])
@pytest.mark.parametrize("name", [*POINTS, *AREAS])
def test_a_station_user_never_gets_a_foreign_feature(
    station_client, demo_engine, district, own_station, name, zoom
):
    table = POINTS.get(name, "area")
    boxes = [district] if zoom < 15 else [quarter(district, i) for i in range(4)]
    seen = 0
    with demo_engine.connect() as conn:
        for box in boxes:
            if zoom == 18:  # a view's size at zoom 18, at every quarter's centre
                x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
                box = (x - 0.004, y - 0.003, x + 0.004, y + 0.003)
            answer = get(station_client, name, box, zoom)
            for feature in answer["features"]:
                if answer["mode"] == "clusters":
                    continue  # counted below
                seen += 1
                station = (
                    conn.execute(
                        sa.text(
                            "SELECT CASE WHEN kind = 'police_station' THEN id "
                            "ELSE station_id END FROM area WHERE code = :c "
                            "AND valid_to IS NULL"
                        ),
                        {"c": feature["id"]},
                    ).scalar()
                    if table == "area"
                    else station_of(conn, table, feature["id"])
                )
                assert station == own_station, (name, feature["id"])
            if answer["mode"] == "clusters":
                own = conn.execute(
                    sa.text(f"SELECT count(*) FROM {table} WHERE station_id = :s"),
                    {"s": own_station},
                ).scalar()
                assert 0 < sum(f["properties"]["count"] for f in answer["features"])
                assert sum(f["properties"]["count"] for f in answer["features"]) <= own
    if zoom < 15 and name != "sites":
        assert seen or name in POINTS  # the own station's areas are drawn


def test_a_station_user_cannot_read_a_foreign_popup(
    station_client, demo_engine, own_station
):
    with demo_engine.connect() as conn:
        own, foreign = conn.execute(
            sa.text(
                "SELECT (SELECT min(code) FROM incident WHERE station_id = :s), "
                "(SELECT min(code) FROM incident WHERE station_id <> :s)"
            ),
            {"s": own_station},
        ).one()
    popup = "/api/layers/incidents/features/{}"
    assert station_client.get(popup.format(own)).status_code == 200
    response = station_client.get(popup.format(foreign))
    assert response.status_code == 404  # the same answer as for no such incident


def test_the_station_map_focus_keeps_other_stations_out_for_a_planner(
    app, accounts, demo_engine, district
):
    client = app.test_client()
    login(client, "t_planner")
    with demo_engine.connect() as conn:
        code, sid = conn.execute(
            sa.text(
                "SELECT code, id FROM area WHERE kind = 'police_station' "
                "ORDER BY code LIMIT 1"
            )
        ).one()
        answer = get(client, "incidents", district, 17, station=code)
        assert answer["features"]
        for feature in answer["features"]:
            assert station_of(conn, "incident", feature["id"]) == sid


def test_a_leader_gets_heat_but_no_layer_of_records(app, accounts, district):
    client = app.test_client()
    login(client, "t_leader")
    listed = {layer["name"] for layer in client.get("/api/layers").get_json()["layers"]}
    assert "heat" in listed and "incidents" not in listed and "posts" not in listed
    query = {"bbox": ",".join(map(str, district)), "zoom": 11}
    assert client.get("/api/layers/incidents", query_string=query).status_code == 403
    heat = client.get("/api/layers/heat", query_string=query).get_json()
    assert heat["mode"] == "heat" and heat["features"]
    # Squares of 500 m and more only: no zoom gives a leader finer ones.
    fine = client.get("/api/layers/heat", query_string={**query, "zoom": 19})
    assert fine.get_json()["features"] and fine.get_json()["size"] == 500


def test_anonymous_callers_get_401(anonymous, district):
    query = {"bbox": ",".join(map(str, district)), "zoom": 11}
    assert anonymous.get("/api/layers/villages", query_string=query).status_code == 401
    assert anonymous.get("/api/layers").status_code == 401


# -- popups ---------------------------------------------------------------------------


def test_a_popup_has_the_catalog_rows_with_labels(client, demo_engine):
    with demo_engine.connect() as conn:
        code = conn.execute(sa.text("SELECT min(code) FROM camera")).scalar()
    popup = client.get(f"/api/layers/cameras/features/{code}").get_json()
    labels = [label for label, _ in popup["rows"]]
    expected = [
        label
        for name, label in catalog.get("cameras").popup().items()
        if name in ("code", "kind", "status")
    ]
    assert labels[:3] == expected
    # An enumeration shows its label, not its code.
    assert dict(popup["rows"])["状态"] in ("在线", "离线", "故障")


def test_reading_an_incident_popup_is_audited(client, demo_engine):
    with demo_engine.connect() as conn:
        code = conn.execute(sa.text("SELECT max(code) FROM incident")).scalar()
    assert client.get(f"/api/layers/incidents/features/{code}").status_code == 200
    audit.flush_reads()  # the read log holds a record up to READ_DELAY
    with demo_engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT username, object_code FROM audit_log "
                "WHERE action = 'layer.detail' ORDER BY id DESC LIMIT 1"
            )
        ).one()
    assert tuple(row) == ("t_admin", code)


def test_user_text_travels_as_json_text_never_as_html(evil_url):
    from tests.conftest import service_token, with_token
    from webmap import create_app

    client = with_token(
        create_app({"DATABASE_URL": evil_url}).test_client(), service_token(evil_url)
    )
    page = client.get("/map/coverage").get_data(as_text=True)
    assert "<img src=x" not in page  # the page carries no data at all
    district = get(client, "district", (99.9, 29.9, 100.2, 30.2), 12)
    assert district["features"][0]["properties"]["name"].startswith("<img src=x")
    popup = client.get("/api/layers/incidents/features/X1").get_json()
    assert ["描述", '<img src=x onerror="window.__xss=1">'] in popup["rows"]


# -- shared borders -------------------------------------------------------------------


@pytest.fixture(scope="module")
def county_url(make_database):
    """A small synthetic county: surveyed borders of hundreds of vertices."""
    from gis.demo import county, county_load

    url = make_database()
    county_load.load(
        db.get_engine(url), county.CountySpec(columns=6, rows=4), incidents=500,
        cameras=100,
    )
    return url


def misfit(a, b, a_drawn, b_drawn, pixel: float) -> float | None:
    """How far the drawn outlines of neighbours ``a`` and ``b`` part (a gap
    between them) or overlap along their shared border, in pixels: the width of
    the widest sliver, away from the border's ends where a third area joins.
    None if they share no border of five pixels or more."""
    shared = a.boundary.intersection(b.boundary)
    if shared.length < 5 * pixel:
        return None
    ends = shapely.get_coordinates(shapely.boundary(shapely.line_merge(shared)))
    core = shared.buffer(1.5 * pixel).difference(
        shapely.union_all([shapely.Point(p).buffer(2 * pixel) for p in ends])
    )
    gap = core.intersection(a.union(b)).difference(a_drawn.union(b_drawn))
    overlap = core.intersection(a_drawn.intersection(b_drawn))
    slivers = [
        part
        for part in shapely.get_parts(gap.union(overlap))
        if part.geom_type == "Polygon"
    ]
    widths = [
        2 * shapely.length(shapely.maximum_inscribed_circle(part, pixel / 50))
        for part in slivers
    ]
    return max(widths, default=0.0) / pixel


@pytest.mark.parametrize("zoom", [11, 13])
def test_neighbours_never_part_by_more_than_a_pixel(county_url, zoom):
    """Each pair of adjacent villages, simplified for the zoom: along their
    shared border the two outlines stay within a pixel of each other (no gap,
    no overlap), though each lost most of its vertices."""
    engine = db.get_engine(county_url)
    with engine.connect() as conn:
        w, s, e, n = conn.execute(
            sa.text(
                "SELECT ST_XMin(x), ST_YMin(x), ST_XMax(x), ST_YMax(x) FROM "
                "(SELECT ST_Extent(geom) x FROM area WHERE kind = 'village') q"
            )
        ).one()
        view = View(BBox(w, s, e, n), zoom)
        answer = layers.get("villages").fetch(conn, view).collection()
        original = {
            code: shapely.from_wkb(bytes(geom))
            for code, geom in conn.execute(
                sa.text(
                    "SELECT code, ST_AsBinary(geom) FROM area WHERE kind = 'village'"
                )
            )
        }
    drawn = {f["id"]: shape(f["geometry"]) for f in answer["features"]}
    assert drawn.keys() == original.keys()
    before = sum(shapely.get_num_coordinates(g) for g in original.values())
    after = sum(shapely.get_num_coordinates(g) for g in drawn.values())
    assert after < before / 3, (before, after)  # really simplified
    pixel, pairs = view.pixel, 0
    codes = sorted(original)
    for i, a in enumerate(codes):
        for b in codes[i + 1 :]:
            args = original[a], original[b], drawn[a], drawn[b]
            width = misfit(*args, pixel)
            if width is None:
                continue
            pairs += 1
            assert width <= 1.0, (a, b, width)
            if pairs == 1:  # the measure does see a gap when there is one
                moved = shapely.affinity.translate(drawn[b], 2 * pixel, 2 * pixel)
                assert misfit(*args[:3], moved, pixel) > 1.5
    assert pairs >= 30, pairs  # 6 x 4 villages: 38 shared borders


def test_the_simplification_tolerance_keeps_within_half_a_pixel():
    # One side's own error (simplification plus rounding) is under half a
    # pixel, so two sides of one border part by less than one.
    view = View(BBox(114, 35, 115, 36), 12)
    assert SIMPLIFY_PX * view.pixel + 0.5 * 10 ** -view.decimals < 0.5 * view.pixel
    assert math.isclose(view.pixel, 360 / 256 / 4096)


def test_every_catalog_layer_with_a_geometry_has_a_map_layer():
    drawn = {layer.data for layer in layers.LAYERS.values() if layer.data}
    with_geometry = {name for name, d in catalog.LAYERS.items() if d.geometry}
    assert with_geometry <= drawn, with_geometry - drawn
    assert "sites" in drawn  # the key sites, on no map before


def test_a_grid_member_map_carries_only_their_grid(
    app, accounts, demo_engine, district
):
    client = app.test_client()
    login(client, "t_grid_member")
    with demo_engine.connect() as conn:
        grid, station = conn.execute(
            sa.text(
                "SELECT g.id, s.code FROM app_user u JOIN area g ON g.id = "
                "u.grid_id JOIN area s ON s.id = g.station_id "
                "WHERE u.username = 't_grid_member'"
            )
        ).one()
        page = client.get(f"/map/station/{station}")
        assert page.status_code == 200
        grids = get(client, "grids", district, 12, station=station)["features"]
        assert [
            conn.execute(
                sa.text("SELECT id FROM area WHERE code = :c"), {"c": f["id"]}
            ).scalar()
            for f in grids
        ] == [grid]
        incidents = get(client, "incidents", district, 17, station=station)
        mine = conn.execute(
            sa.text("SELECT count(*) FROM incident WHERE grid_id = :g"), {"g": grid}
        ).scalar()
        assert len(incidents["features"]) == mine
        for feature in incidents["features"]:
            assert conn.execute(
                sa.text("SELECT grid_id FROM incident WHERE code = :c"),
                {"c": feature["id"]},
            ).scalar() == grid
