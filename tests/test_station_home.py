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
    """The demo station user's station and another one."""
    with demo_engine.connect() as conn:
        mine = conn.execute(
            sa.text(
                "SELECT s.id, s.code, s.name FROM app_user u JOIN area s "
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
    return {"code": mine.code, "name": mine.name, "other": other, **expected}


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
        point = conn.execute(
            sa.text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p "
                "FROM area WHERE code = :c AND valid_to IS NULL) x"
            ),
            {"c": own["code"]},
        ).one()
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
    assert "近30天(按状态/风险)·待办·红色" in page.locator(".pa-legend").inner_text()
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
