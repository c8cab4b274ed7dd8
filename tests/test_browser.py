"""Pages in headless Chromium with every non-loopback request blocked."""

from __future__ import annotations

import pytest

from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

LAYER_TITLES = [
    "网格",
    "村/社区",
    "乡镇/街道",
    "派出所辖区",
    "区界",
    "警务室/工作站",
    "视频监控(雪亮工程)",
    "矛盾纠纷/事件",
]

# Counts what Leaflet actually drew: GeoJSON features and clustered markers.
COUNT_LAYERS_JS = """() => {
  const map = Object.keys(window).filter(k => k.startsWith('map_'))
                    .map(k => window[k]).find(m => m instanceof L.Map);
  let polygons = 0, clustered = 0;
  map.eachLayer(layer => {
    if (layer instanceof L.Polygon) polygons += 1;
    if (layer instanceof L.MarkerClusterGroup) clustered += layer.getLayers().length;
  });
  return {polygons, clustered, zoom: map.getZoom()};
}"""

# Render every popup's content into a detached element through innerHTML: an
# unescaped <img onerror> would run there exactly as it would in a real popup.
RENDER_POPUPS_JS = """() => {
  const map = Object.keys(window).filter(k => k.startsWith('map_'))
                    .map(k => window[k]).find(m => m instanceof L.Map);
  const sink = document.createElement('div'), seen = new Set();
  // A popup bound on a GeoJSON group is a function of the clicked feature.
  // map.eachLayer also lists the groups' members: render each leaf once.
  const visit = (layer, inherited) => {
    const popup = (layer.getPopup && layer.getPopup()) || inherited;
    if (layer.getLayers) { layer.getLayers().forEach(c => visit(c, popup)); return; }
    if (!popup || seen.has(layer)) return;
    seen.add(layer);
    let content = popup.getContent();
    if (typeof content === 'function') content = content(layer);
    const box = document.createElement('div');
    if (content instanceof HTMLElement) box.appendChild(content);
    else box.innerHTML = content;
    sink.appendChild(box);
  };
  map.eachLayer(layer => visit(layer, null));
  return sink.textContent;
}"""


def test_coverage_map_renders_offline(live_server, admin_page, artifacts):
    page = admin_page.page
    page.goto(f"{live_server.url}/map/coverage", wait_until="load")
    page.wait_for_selector(".leaflet-container")
    page.wait_for_selector(".marker-cluster")
    labels = [
        t.strip()
        for t in page.locator(
            ".leaflet-control-layers-overlays label"
        ).all_inner_texts()
    ]
    assert labels == LAYER_TITLES
    drawn = page.evaluate(COUNT_LAYERS_JS)
    # district + townships + villages drawn at start (grids/stations are off).
    assert drawn["polygons"] >= 1 + 12 + 168
    assert drawn["clustered"] >= 5000  # incidents (cameras are off at start)
    assert page.locator(".pa-legend").inner_text().startswith("图例")
    page.screenshot(path=str(artifacts / "coverage.png"))
    assert admin_page.external == []
    assert admin_page.errors == []


# Every CSP violation the page meets, whether or not the console shows it.
WATCH_CSP_JS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.effectiveDirective + ' ' + e.blockedURI));
"""
# Open the popup of the first clustered marker (a post), as a click would: zoom
# in without animation, spiderfy its cluster if it still has one, open it.
OPEN_POPUP_JS = """() => new Promise(done => {
  const map = Object.keys(window).filter(k => k.startsWith('map_'))
                    .map(k => window[k]).find(m => m instanceof L.Map);
  let group = null;
  map.eachLayer(l => { if (!group && l instanceof L.MarkerClusterGroup) group = l; });
  const marker = group.getLayers()[0];
  map.setView(marker.getLatLng(), map.getMaxZoom(), {animate: false});
  setTimeout(() => {
    const parent = group.getVisibleParent(marker);
    if (parent && parent !== marker && parent.spiderfy) parent.spiderfy();
    setTimeout(() => { marker.openPopup(); done(); }, 500);
  }, 500);
})"""
# A script injected without the nonce (as injected markup would be) must not run.
INJECT_JS = """() => {
  const s = document.createElement('script');
  s.textContent = 'window.__ran = 1';
  document.head.appendChild(s);
  return window.__ran === undefined;
}"""


def test_coverage_map_draws_under_the_csp(live_server, admin_page, artifacts):
    page = admin_page.page
    page.add_init_script(WATCH_CSP_JS)
    response = page.goto(f"{live_server.url}/map/coverage", wait_until="load")
    policy = response.headers["content-security-policy"]
    assert "'nonce-" in policy and "'unsafe-eval'" not in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    page.wait_for_selector(".marker-cluster")
    drawn = page.evaluate(COUNT_LAYERS_JS)
    assert drawn["polygons"] >= 1 + 12 + 168 and drawn["clustered"] >= 5000
    page.screenshot(path=str(artifacts / "coverage-csp.png"))
    page.evaluate(OPEN_POPUP_JS)  # Leaflet sets the popup's HTML and styles
    page.wait_for_selector(".leaflet-popup-content .pa-popup")
    page.wait_for_timeout(400)  # the popup's fade-in
    page.screenshot(path=str(artifacts / "coverage-csp-popup.png"))
    assert page.evaluate("() => window.__csp") == []
    assert admin_page.errors == [] and admin_page.external == []
    assert page.evaluate(INJECT_JS)  # blocked: the policy is in force
    assert page.evaluate("() => window.__csp") == ["script-src-elem inline"]


def test_layers_toggle(live_server, admin_page):
    page = admin_page.page
    page.goto(f"{live_server.url}/map/coverage", wait_until="load")
    before = page.evaluate(COUNT_LAYERS_JS)
    page.locator(".leaflet-control-layers-overlays").get_by_text(
        "网格", exact=True
    ).click()
    after = page.evaluate(COUNT_LAYERS_JS)
    assert after["polygons"] > before["polygons"] + 300  # the grids appeared
    assert admin_page.errors == []


@pytest.mark.parametrize("path", ["/map/heat", "/map/station/410902510000", "/"])
def test_other_pages_render_offline(live_server, admin_page, path):
    page = admin_page.page
    page.goto(f"{live_server.url}{path}", wait_until="load")
    assert admin_page.external == [] and admin_page.errors == []
    if path.startswith("/map"):
        page.wait_for_selector(".leaflet-container")


def test_user_text_in_popups_cannot_run_script(evil_url, browser):
    from gis import db, users
    from tests.conftest import EVIL, TEST_PASSWORD, OfflinePage
    from webmap import create_app

    with db.get_engine(evil_url).begin() as conn:
        users.add(conn, "evil_admin", "admin", TEST_PASSWORD)
    server = LiveServer(create_app({"DATABASE_URL": evil_url}))
    page = OfflinePage(browser)
    try:
        page.sign_in(server.url, "evil_admin")
        page.page.goto(f"{server.url}/map/coverage", wait_until="load")
        text = page.page.evaluate(RENDER_POPUPS_JS)
        page.page.wait_for_timeout(300)  # give a (wrongly) loaded image time to fail
        assert text.count(EVIL) == 2  # shown as text: the name and the description
        assert page.page.evaluate("() => window.__xss") is None
    finally:
        page.page.close()
        server.close()


def test_login_upload_preview_and_import(make_database, browser, tmp_path, artifacts):
    import sqlalchemy as sa

    from gis import crs, db, users
    from tests.conftest import OfflinePage
    from tests.worlds import build_areas
    from webmap import create_app

    url = make_database()
    engine = db.get_engine(url)
    with engine.begin() as conn:
        build_areas(conn)
        users.add(conn, "zongzhi", "planner", "correct-horse-1", actor="test")
    rows = ["编号,事件类型,上报时间,经度,纬度"]
    for code, point in (("B1", (100.05, 30.05)), ("B2", (100.15, 30.05))):
        lon, lat = crs.from_wgs84(*point, "gcj02")  # as AMap gives them
        rows.append(f"{code},邻里纠纷,2025-03-01 08:30,{lon:.7f},{lat:.7f}")
    path = tmp_path / "矛盾纠纷.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8-sig")
    app = create_app({"DATABASE_URL": url, "UPLOAD_DIR": str(tmp_path / "uploads")})
    server, page = LiveServer(app), OfflinePage(browser)
    try:
        tab = page.page
        tab.goto(f"{server.url}/import", wait_until="load")
        assert tab.url.startswith(f"{server.url}/login?next=")  # sign in first
        tab.fill("input[name=username]", "zongzhi")
        tab.fill("input[name=password]", "correct-horse-1")
        tab.get_by_role("button", name="登录").click()
        tab.wait_for_url(f"{server.url}/import")
        assert "zongzhi" in tab.locator("header").inner_text()
        tab.select_option("select[name=layer]", "incidents")
        tab.set_input_files("input[name=file]", str(path))
        tab.fill("input[name=crs]", "gcj02")
        tab.get_by_role("button", name="上传并预览").click()
        tab.wait_for_selector("h1:has-text('导入预览')")
        assert "已检查（未写入）" in tab.locator(".summary").inner_text()
        assert tab.locator("table.rows tbody tr").count() == 2
        tab.screenshot(path=str(artifacts / "import-preview.png"), full_page=True)
        tab.get_by_role("button", name="确认导入").click()
        tab.wait_for_selector("h1:has-text('导入报告')")
        assert tab.locator(".summary").inner_text().startswith("已导入 loaded")
        tab.screenshot(path=str(artifacts / "import-report.png"), full_page=True)
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM incident")).scalar()
        assert count == 2
        assert page.external == [] and page.errors == []
    finally:
        page.page.close()
        server.close()
