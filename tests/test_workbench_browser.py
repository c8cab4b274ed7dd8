"""The police post's workbench in headless Chromium, as a station user on the
demo world: a whole incident life through the pages (intake form, dispatch by
hand, handling, resolution with a level, follow-up, archive), the queue's
order, and another station's incident out of reach.

The incidents made here are deleted afterwards: other tests count the demo's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from gis import clock, crs
from tests.worlds import add_incident

pytestmark = pytest.mark.browser


@pytest.fixture
def place(demo_engine, accounts) -> dict:
    """A point of the station user's station in a village with an officer and
    in a grid with a member, and who they are."""
    with demo_engine.connect() as conn:
        row = (
            conn.execute(
                sa.text("""
            SELECT v.code AS village, v.name AS village_name, g.code AS grid,
                   ST_X(ST_PointOnSurface(g.geom)) AS lon,
                   ST_Y(ST_PointOnSurface(g.geom)) AS lat,
                   (SELECT min(m.name) FROM grid_member m
                      JOIN grid_member_area ma ON ma.member_id = m.id
                     WHERE ma.area_id = g.id AND ma.valid_to IS NULL) AS member,
                   s.code AS station
              FROM app_user u
              JOIN area s ON s.id = u.station_id
              JOIN area v ON v.station_id = s.id AND v.kind = 'village'
                         AND v.valid_to IS NULL
              JOIN area g ON g.parent_id = v.id AND g.kind = 'grid'
                         AND g.valid_to IS NULL
             WHERE u.username = 't_station'
               AND EXISTS (SELECT 1 FROM officer_area oa
                            WHERE oa.area_id = v.id AND oa.valid_to IS NULL)
               AND EXISTS (SELECT 1 FROM grid_member_area ma
                            WHERE ma.area_id = g.id AND ma.valid_to IS NULL)
             ORDER BY v.code, g.code LIMIT 1""")
            )
            .mappings()
            .one()
        )
    return dict(row)


def history(page) -> list[str]:
    return page.locator("#history tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.action)"
    )


def text(page, selector: str) -> str:
    return page.locator(selector).inner_text().strip()


def test_a_whole_incident_life_through_the_pages(
    live_server, offline_page, accounts, place, made_incidents, demo_engine, artifacts
):
    tab = offline_page
    page = tab.page
    tab.sign_in(live_server.url, "t_station")
    page.goto(f"{live_server.url}/station/incidents/new", wait_until="load")
    page.wait_for_function("() => window.paIntake && paMap.drawn > 0", timeout=20_000)
    # A click on the map fills WGS84 coordinates and previews where it lands.
    point = page.evaluate(
        "([lat, lon]) => paMap.map.latLngToContainerPoint([lat, lon])",
        [place["lat"], place["lon"]],
    )
    box = page.locator("#map, .folium-map").first.bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    page.wait_for_selector("#intake-goes")
    assert page.input_value("select[name=crs]") == "wgs84"
    assert float(page.input_value("input[name=lon]")) == pytest.approx(
        place["lon"],
        abs=2e-3,  # a pixel or two at the fitted zoom
    )
    assert place["village"] in text(page, "#intake-result")
    # The same place typed in GCJ-02 (a phone's map) lands in the same village.
    lon, lat = crs.from_wgs84(place["lon"], place["lat"], "gcj02")
    page.select_option("select[name=crs]", "gcj02")
    page.fill("input[name=lon]", f"{float(lon):.7f}")
    page.fill("input[name=lat]", f"{float(lat):.7f}")
    page.evaluate("document.getElementById('intake-result').textContent = ''")
    page.click("#intake-preview")
    page.wait_for_selector("#intake-goes")
    assert place["village"] in text(page, "#intake-result")
    assert place["grid"] in text(page, "#intake-result")
    goes = text(page, "#intake-goes")
    assert goes.startswith("保存后派发给：网格员 " + place["member"]), goes
    page.select_option("select[name=category]", "dispute_neighbour")
    page.fill("textarea[name=description]", "楼上漏水 <b>不是标记</b>")
    page.fill("input[name=source]", "电话报警")
    page.screenshot(path=str(artifacts / "workbench-intake.png"))
    with page.expect_navigation():
        page.click("#intake-save")
    code = text(page, "#incident-code")
    made_incidents.append(code)
    assert page.url.endswith(f"/station/incidents/{code}")
    assert page.locator("#incident-status").get_attribute("data-status") == "dispatched"
    assert text(page, "#incident-assignee").startswith(place["member"])
    assert "<b>不是标记</b>" in text(page, ".wb-text")  # shown as text
    assert history(page) == ["incident.create", "incident.dispatch"]
    times = page.locator("#history td[data-at]").evaluate_all(
        "cells => cells.map(c => c.dataset.at)"
    )
    assert all(t.endswith("+08:00") for t in times)
    page.wait_for_function(
        "() => document.getElementById('incident-map').dataset.ready === '1'"
    )
    page.screenshot(path=str(artifacts / "workbench-incident.png"), full_page=True)

    # Dispatch by hand to the officer who answers for the village.
    page.click("details.wb-more summary >> text=改派")
    option = page.locator("#step-assign select[name=person] option[value^='officer:']")
    officer = option.first.get_attribute("value")
    page.select_option("#step-assign select[name=person]", officer)
    page.fill("#step-assign input[name=reason]", "需民警上门调解")
    with page.expect_navigation():
        page.click("#step-assign button")
    assert officer.split(":")[1] in text(page, "#incident-assignee")
    assert text(page, "#incident-unit").startswith("警务室/工作站：")
    assert history(page)[-1] == "incident.assign"

    steps = [
        ("#step-handling", {}, "handling", "incident.transition"),
        ("#step-resolve", {"input[name=note]": "双方达成协议"}, "resolved",
         "incident.transition"),
        ("#step-followup", {"input[name=note]": "回访当事人"}, "followed_up",
         "incident.transition"),
        ("#step-archived", {}, "archived", "incident.transition"),
    ]  # fmt: skip
    for form, fields, status, action in steps:
        if form == "#step-resolve":
            levels = page.locator(f"{form} select option").all_inner_texts()
            assert levels == ["村(社区)级", "乡镇(街道)级", "区县级"]
            page.select_option(f"{form} select[name=resolved_level]", "village")
        if form == "#step-followup":
            page.check(f"{form} input[value=satisfied]")
        for selector, value in fields.items():
            page.fill(f"{form} {selector}", value)
        with page.expect_navigation():
            page.click(f"{form} button")
        assert page.locator("#incident-status").get_attribute("data-status") == status
        assert history(page)[-1] == action
        assert officer.split(":")[1] in text(page, "#incident-assignee")
    assert text(page, "#incident-satisfaction") == "满意"
    assert "已归档，没有下一步" in text(page, "#actions")
    assert not tab.errors and not tab.external
    with demo_engine.connect() as conn:
        stored = conn.execute(
            sa.text(
                "SELECT i.status, i.resolved_level, i.satisfaction, o.code "
                "FROM incident i JOIN officer o ON o.id = i.assignee_officer_id "
                "WHERE i.code = :c"
            ),
            {"c": code},
        ).one()
    assert tuple(stored) == ("archived", "village", "satisfied", officer.split(":")[1])


def test_the_queue_puts_overdue_and_red_first_and_keeps_to_the_station(
    live_server, offline_page, accounts, place, made_incidents, demo_engine, artifacts
):
    with demo_engine.begin() as conn:
        other = conn.execute(
            sa.text(
                "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
                "FROM area WHERE kind = 'police_station' AND code <> :s "
                "AND valid_to IS NULL ORDER BY code LIMIT 1"
            ),
            {"s": place["station"]},
        ).one()
        for code, risk, hours, where in [
            ("WB-YELLOW-NEW", "yellow", 1, place),
            ("WB-RED-LATE", "red", 5, place),
            ("WB-YELLOW-LATE", "yellow", 100, place),
            ("WB-RED-NEW", "red", 0.2, place),
            ("WB-OTHER-LATE", "red", 5, {"lon": other[0], "lat": other[1]}),
        ]:
            made_incidents.append(code)
            add_incident(conn, code, risk, hours, where["lon"], where["lat"])
    page = offline_page.page
    offline_page.sign_in(live_server.url, "t_station")
    since = (datetime.now(clock.BEIJING) - timedelta(days=6)).date().isoformat()
    page.goto(
        f"{live_server.url}/station/incidents?category=dispute_debt&since={since}",
        wait_until="load",
    )
    codes = page.locator("#queue tbody td:first-child a").all_inner_texts()
    ours = [c for c in codes if c.startswith("WB-")]
    assert ours[:4] == ["WB-RED-LATE", "WB-YELLOW-LATE", "WB-RED-NEW", "WB-YELLOW-NEW"]
    assert "WB-OTHER-LATE" not in codes
    assert page.locator("#queue tr.overdue").count() >= 2
    page.screenshot(path=str(artifacts / "workbench-queue.png"), full_page=True)
    # Another station's incident is not there for them: the same 404 as none.
    response = page.goto(f"{live_server.url}/station/incidents/WB-OTHER-LATE")
    assert response.status == 404
    assert not offline_page.external
