"""The 一村一警 gaps map (/map/gaps) in headless Chromium, and what it fetches:
the report's GeoJSON, village popups naming who answers for them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import login

GAPS_DRAWN = "() => performance.getEntriesByName('pa-gaps-drawn').length > 0"
SITE_DRAWN = "() => performance.getEntriesByName('pa-site-drawn').length > 0"

# What the gaps script drew: villages by colour, hatched grids, posts' rings.
DRAWN_JS = """() => {
  const out = {colours: {}, hatched: 0, rings: 0, sites: 0};
  paMap.groups.villages.eachLayer(g => g.eachLayer(v => {
    const c = v.options.fillColor;
    out.colours[c] = (out.colours[c] || 0) + 1;
  }));
  paMap.groups.grids.eachLayer(g => g.eachLayer(v => {
    if (typeof v.options.fillColor === 'object') out.hatched += 1;
  }));
  paMap.groups.posts.eachLayer(l => { if (l instanceof L.Circle) out.rings += 1; });
  paGaps.siteLayer.eachLayer(l => {
    if (l instanceof L.CircleMarker && !(l instanceof L.Circle)) out.sites += 1;
  });
  return out;
}"""


@pytest.mark.browser
def test_the_gaps_map_shows_legend_panel_list_layers_and_a_siting_run(
    live_server, admin_page, artifacts
):
    page = admin_page.page
    response = page.goto(f"{live_server.url}/map/gaps", wait_until="load")
    assert response.status == 200 and len(response.body()) < 300_000
    page.wait_for_function(GAPS_DRAWN, timeout=30_000)
    page.wait_for_function("() => paMap.drawn >= 1")
    panel = page.locator(".pa-gaps")
    assert panel.locator("h2").inner_text() == "一村一警覆盖缺口图"
    legend = panel.locator(".pa-gaps-legend").inner_text()
    for label in ("无人负责", "距警务室/工作站过远", "符合要求", "跨派出所辖区"):
        assert label in legend
    assert panel.locator(".pa-gaps-rules tr").count() == 1 + 6  # header, six rules
    ranked = panel.locator(".pa-finding")
    assert ranked.count() > 10
    first = [int(t.split()[0].replace(",", "")) for t in
             panel.locator(".pa-residents").all_inner_texts()[:5]]  # fmt: skip
    assert first == sorted(first, reverse=True)  # most residents first
    page.wait_for_function("() => paMap.drawn >= 2")  # the grids, switched on
    # The demo's stations are unions of whole villages: its grids cross no
    # station border but by slivers of digitising noise.  Counted as splits
    # (the threshold is the planner's), they are hatched.
    assert page.evaluate(DRAWN_JS)["hatched"] == 0
    panel.locator("input[name=min_split_m2]").fill("0.000001")
    page.evaluate("() => performance.clearMarks('pa-gaps-drawn')")
    panel.get_by_role("button", name="重新分析").click()
    page.wait_for_function(GAPS_DRAWN, timeout=30_000)
    drawn = page.evaluate(DRAWN_JS)
    assert drawn["colours"].get("#d7301f", 0) > 0  # villages with no one
    assert drawn["colours"].get("#41ab5d", 0) > 100  # and those that are fine
    assert drawn["hatched"] > 0 and drawn["rings"] > 0
    hrefs = panel.locator(".pa-gaps-downloads a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert [h.split("?")[0] for h in hrefs] == [
        "/api/gaps.xlsx", "/api/gaps.csv", "/api/gaps.geojson"
    ]
    assert all("max_post_m=3000" in h and "min_split_m2=0.000001" in h for h in hrefs)
    page.screenshot(path=str(artifacts / "gaps.png"))

    # A click on a row zooms to its place.
    before = page.evaluate("() => paMap.map.getZoom()")
    ranked.first.click()
    page.wait_for_function("z => paMap.map.getZoom() > z", arg=before)

    # A click on a person's row outlines every place they answer for.
    places = page.evaluate(
        "() => paGaps.report.ranked.find(f => f.kind === 'overloaded').places"
    )
    assert len(places) > 1
    panel.locator(".pa-finding-overloaded").first.click()
    page.wait_for_function(
        """n => { let k = 0; paMap.groups.villages.eachLayer(g => g.eachLayer(
             v => { if (v.options.color === '#000') k += 1; })); return k === n; }""",
        arg=len(places),
    )

    # A siting run: proposed sites drawn, with what they newly cover.
    panel.locator("input[name=new]").fill("3")
    panel.get_by_role("button", name="计算选址").click()
    page.wait_for_function(SITE_DRAWN, timeout=60_000)
    report = panel.locator(".pa-gaps-site").inner_text()
    assert "最大覆盖" in report and "已证明最优" in report
    assert page.evaluate(DRAWN_JS)["sites"] >= 1
    page.screenshot(path=str(artifacts / "gaps-site.png"))
    assert admin_page.errors == [] and admin_page.external == []


def test_a_station_gets_its_own_gaps_map(app, accounts, demo_engine):
    client = app.test_client()
    login(client, "t_station")
    page = client.get("/map/gaps")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    with demo_engine.connect() as conn:
        code, name = conn.execute(
            sa.text(
                "SELECT a.code, a.name FROM app_user u JOIN area a "
                "ON a.id = u.station_id WHERE u.username = 't_station'"
            )
        ).one()
    assert f'"station": "{code}"' in html  # layers fetched for its own focus
    report = client.get("/api/gaps").get_json()
    stations = {
        f["station"]["code"] for f in report["ranked"] if f.get("station")
    }
    assert stations == {code}, (name, stations)


def test_leaders_and_grid_members_get_no_gaps_map(app, accounts):
    for user in ("t_leader", "t_grid_member"):
        client = app.test_client()
        login(client, user)
        assert client.get("/map/gaps").status_code == 403


def test_the_gaps_geojson_puts_each_finding_on_its_outline(client):
    report = client.get("/api/gaps?role=police").get_json()
    response = client.get("/api/gaps.geojson?role=police")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    features = response.get_json()["features"]
    assert [f["properties"]["code"] for f in features] == [
        f["code"] for f in report["ranked"]
    ]
    assert {f["geometry"]["type"] for f in features} == {"MultiPolygon"}
    assert {f["properties"]["kind_label"] for f in features} >= {"无人负责的村社/网格"}


def test_a_village_popup_names_who_answers_for_it(client, demo_engine):
    with demo_engine.connect() as conn:
        code, officer = conn.execute(
            sa.text(
                """SELECT a.code, o.name FROM area a
                     JOIN officer_area oa ON oa.area_id = a.id
                     JOIN officer o ON o.id = oa.officer_id
                    WHERE a.kind = 'village' AND o.kind = 'police'
                    ORDER BY a.code LIMIT 1"""
            )
        ).one()
    popup = client.get(f"/api/layers/villages/features/{code}").get_json()
    rows = dict(popup["rows"])
    assert officer in rows["民警"]
    w, s, e, n = popup["bbox"]
    assert w < e and s < n
