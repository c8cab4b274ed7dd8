"""The station home (/station), its print sheet and Excel workbook, and the
overdue list a 综治中心 circulates (``python -m gis overdue``), on the demo
world, checked against the database."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from gis.cli import main
from tests.conftest import login
from tests.worlds import add_incident

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def own(demo_engine, accounts) -> dict:
    """The demo station user's station (a point inside it) and another one."""
    with demo_engine.connect() as conn:
        mine = conn.execute(
            sa.text(
                "SELECT s.id, s.code, s.name, ST_X(ST_PointOnSurface(s.geom)) AS x, "
                "ST_Y(ST_PointOnSurface(s.geom)) AS y FROM app_user u JOIN area s "
                "ON s.id = u.station_id WHERE u.username = 't_station'"
            )
        ).one()
        other = conn.execute(
            sa.text(
                "SELECT code FROM area WHERE kind = 'police_station' "
                "AND valid_to IS NULL AND code <> :c ORDER BY code LIMIT 1"
            ),
            {"c": mine.code},
        ).scalar()
        expected = {
            "villages": conn.execute(
                sa.text(
                    "SELECT count(*) FROM area WHERE kind = 'village' "
                    "AND valid_to IS NULL AND station_id = :s"
                ),
                {"s": mine.id},
            ).scalar(),
            "by_status": dict(
                conn.execute(
                    sa.text(
                        "SELECT status, count(*) FROM incident WHERE station_id = :s "
                        "GROUP BY status"
                    ),
                    {"s": mine.id},
                ).all()
            ),
        }
    return {"code": mine.code, "name": mine.name, "point": (mine.x, mine.y),
            "other": other, **expected}  # fmt: skip


@pytest.fixture
def station_client(app, accounts):
    client = app.test_client()
    login(client, "t_station")
    return client


def test_a_station_user_lands_on_their_station(app, accounts, own):
    client = app.test_client()
    response = login(client, "t_station")
    assert response.headers["Location"].endswith("/station")
    page = client.get("/station")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert own["name"] in html and own["code"] in html
    for status, n in own["by_status"].items():
        assert f'data-status="{status}">{n}<' in html
    assert html.count("<tr><td>") >= own["villages"]
    assert len(html.encode()) < 300_000


def test_another_stations_home_is_not_there(station_client, own, client):
    assert station_client.get(f"/station/{own['other']}").status_code == 404
    assert station_client.get(f"/station/{own['other']}/sheet.xlsx").status_code == 404
    # A planner (here the admin) opens any station's.
    assert client.get(f"/station/{own['other']}").status_code == 200


def test_the_sheet_downloads_as_excel(station_client, own):
    response = station_client.get(f"/station/{own['code']}/sheet.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    assert book.sheetnames == ["概况", "村(社区)", "民警", "超期事件"]
    overview = {row[0]: row[1] for row in book["概况"].iter_rows(values_only=True)}
    assert overview["派出所"] == own["name"]
    assert overview["事件·已归档"] == own["by_status"].get("archived", 0)
    villages = list(book["村(社区)"].iter_rows(values_only=True))
    assert len(villages) == 1 + own["villages"]


def test_overdue_cli_lists_red_first_then_longest_overdue(
    demo_url, demo_engine, own, made_incidents, monkeypatch, capsys, tmp_path
):
    with demo_engine.begin() as conn:
        point = own["point"]
        for code, risk, hours in [("OD-YELLOW", "yellow", 200), ("OD-RED-2", "red", 2),
                                  ("OD-RED-9", "red", 9)]:  # fmt: skip
            made_incidents.append(code)
            add_incident(conn, code, risk, hours, point[0], point[1], "hazard",
                         "received")  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", demo_url)
    assert main(["overdue", "--station", own["code"]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t")[:3] == ["编号", "风险等级", "状态"]
    codes = [line.split("\t")[0] for line in lines[1:]]
    mine = [c for c in codes if c.startswith("OD-")]
    assert mine == ["OD-RED-9", "OD-RED-2", "OD-YELLOW"]
    tiers = [line.split("\t")[1][:2] for line in lines[1:]]
    order = ["红色", "橙色", "黄色"]
    assert tiers == sorted(tiers, key=order.index)  # the most urgent tier first
    target = tmp_path / "overdue.xlsx"
    assert main(["overdue", "--station", own["code"], "--xlsx", str(target)]) == 0
    rows = list(load_workbook(target, read_only=True)["超期事件"].values)
    assert [r[0] for r in rows[1:]] == codes
    assert rows[1][4].endswith("+08:00")
    assert main(["overdue", "--station", "999999999999"]) == 1


def test_the_home_draws_and_prints_the_sheet(
    live_server, offline_page, accounts, own, artifacts
):
    tab = offline_page
    page = tab.page
    tab.sign_in(live_server.url, "t_station")
    assert page.url.endswith("/station")
    page.wait_for_function("() => window.paStation && paMap.drawn > 0", timeout=20_000)
    page.wait_for_function(
        "() => document.getElementById('station-gaps-list').dataset.count !== "
        "undefined",
        timeout=30_000,
    )
    polygons = page.evaluate(
        """() => { let n = 0;
          paMap.groups.villages.eachLayer(child => n += child.getLayers
            ? child.getLayers().length : 1);
          return n; }"""
    )
    assert polygons == own["villages"]
    assert "近90天(按状态/风险)·待办·红色" in page.locator(".pa-legend").inner_text()
    page.screenshot(path=str(artifacts / "workbench-home.png"))
    page.emulate_media(media="print")
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "workbench-sheet-print.png"), full_page=True)
    title = page.locator("#station-title").bounding_box()
    table = page.locator("#villages-table").bounding_box()
    shown = page.locator(".folium-map").bounding_box()
    assert title and table and shown
    assert shown["height"] > 300 and shown["width"] > 800  # fitted across the page
    assert title["y"] < shown["y"] + shown["height"] < table["y"] + table["height"]
    assert not page.locator("#station-print").is_visible()  # no buttons on paper
    assert not tab.errors and not tab.external


def test_a_grid_member_gets_the_queue_of_their_grid(
    app, accounts, demo_engine, made_incidents
):
    with demo_engine.begin() as conn:
        row = conn.execute(
            sa.text(
                "SELECT ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface("
                "g.geom)) FROM app_user u JOIN area g ON g.id = u.grid_id "
                "WHERE u.username = 't_grid_member'"
            )
        ).one()
        elsewhere = conn.execute(
            sa.text(
                "SELECT ST_X(ST_PointOnSurface(o.geom)), ST_Y(ST_PointOnSurface("
                "o.geom)) FROM area o, app_user u WHERE u.username = "
                "'t_grid_member' AND o.kind = 'grid' AND o.id <> u.grid_id "
                "AND o.valid_to IS NULL ORDER BY o.code LIMIT 1"
            )
        ).one()
        made_incidents += ["GM-MINE", "GM-OTHER"]
        add_incident(conn, "GM-MINE", "yellow", 2, row[0], row[1])
        add_incident(conn, "GM-OTHER", "yellow", 2, elsewhere[0], elsewhere[1])
    client = app.test_client()
    login(client, "t_grid_member")
    html = client.get("/station/incidents?since=2000-01-01").get_data(as_text=True)
    assert ">GM-MINE</a>" in html and "GM-OTHER" not in html
    assert client.get("/station/incidents/GM-OTHER").status_code == 404
    assert client.get("/station").status_code == 302  # no station of their own


@pytest.mark.parametrize(
    "query, field",
    [
        ("lon=abc&lat=35.8", "lon"),
        ("lon=115&lat=35.8&crs=EPSG:999999", "crs"),
        ("lon=115&lat=35.8&risk=purple", "risk"),
        ("lon=115&lat=35.8&colour=red", "colour"),
        ("lon=10&lat=10", "lon"),
    ],
)
def test_the_intake_preview_names_a_bad_parameter(station_client, query, field):
    response = station_client.get(f"/api/station/intake-preview?{query}")
    assert response.status_code == 400
    assert response.json["details"]["field"] == field


def test_a_refused_step_in_the_page_says_why_and_changes_nothing(
    station_client, own, demo_engine, made_incidents
):
    with demo_engine.begin() as conn:
        x, y = own["point"]
        made_incidents.append("PG-STEP")
        add_incident(conn, "PG-STEP", "yellow", 1, x, y, status="handling")
    page = station_client.get("/station/incidents/PG-STEP")
    with station_client.session_transaction() as session:
        csrf = session["csrf_token"]
    response = station_client.post(
        "/station/incidents/PG-STEP/escalate", data={"csrf_token": csrf}
    )
    assert response.status_code == 400
    assert "请填写说明" in response.get_data(as_text=True)
    response = station_client.post(
        "/station/incidents/PG-STEP/status",
        data={"csrf_token": csrf, "status": "archived"},
    )
    assert response.status_code == 409
    assert page.status_code == 200
    with demo_engine.connect() as conn:
        assert conn.execute(
            sa.text(
                "SELECT status, handling_level FROM incident WHERE code = 'PG-STEP'"
            )
        ).one() == ("handling", "village")
    # Routing is the planners': a station's form post is refused.
    response = station_client.post(
        "/station/incidents/PG-STEP/route",
        data={"csrf_token": csrf, "station": own["other"], "reason": "x"},
    )
    assert response.status_code == 403
