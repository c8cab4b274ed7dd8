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
    "重点场所",
    "视频监控(雪亮工程)",
    "矛盾纠纷/事件",
]

# What Leaflet actually drew: polygons, single points, and clusters with the
# counts they show, per layer (the page's script keeps each layer in its group).
COUNT_LAYERS_JS = """() => {
  const out = {polygons: 0, points: 0, clusters: 0, counted: {},
               zoom: paMap.map.getZoom(), drawn: paMap.drawn};
  paMap.config.layers.forEach(layer => {
    const group = paMap.groups[layer.name];
    if (!paMap.map.hasLayer(group)) return;
    group.eachLayer(child => {
      const leaves = child.getLayers ? child.getLayers() : [child];
      leaves.forEach(leaf => {
        if (leaf instanceof L.Polygon) out.polygons += 1;
        else if (leaf instanceof L.CircleMarker) out.points += 1;
        else if (leaf instanceof L.Marker) {
          out.clusters += 1;
          const n = Number(leaf.options.title.split(' ').pop());
          out.counted[layer.name] = (out.counted[layer.name] || 0) + n;
        }
      });
    });
  });
  return out;
}"""

# Wait for the script's next finished round of fetches after round ``n``.
DRAWN_AFTER = "n => window.paMap && paMap.drawn > n"


def drawn(page, after: int = 0) -> dict:
    page.wait_for_function(DRAWN_AFTER, arg=after, timeout=20_000)
    return page.evaluate(COUNT_LAYERS_JS)


def test_coverage_map_fetches_draws_pans_and_fetches_again(
    live_server, admin_page, artifacts
):
    page = admin_page.page
    fetched = []
    page.on(
        "request",
        lambda r: "/api/layers/" in r.url and fetched.append(r.url),
    )
    response = page.goto(f"{live_server.url}/map/coverage", wait_until="load")
    assert len(response.body()) < 300_000  # a shell: the data comes by view
    first = drawn(page)
    labels = [
        t.strip()
        for t in page.locator(
            ".leaflet-control-layers-overlays label"
        ).all_inner_texts()
    ]
    assert labels == LAYER_TITLES
    # district + townships + villages (grids and stations are off at start)
    assert first["polygons"] >= 1 + 12 + 168
    assert first["counted"]["incidents"] == 5000  # in clusters, none lost
    assert page.locator(".pa-cluster").count() == first["clusters"] > 0
    assert page.locator(".pa-legend").inner_text().startswith("图例")
    assert "演示数据" in page.locator(".pa-legend").inner_text()
    marks = page.evaluate(
        "() => performance.getEntriesByType('mark').map(m => m.name)"
    )
    assert "pa-first-draw" in marks
    page.screenshot(path=str(artifacts / "coverage.png"))
    before = len(fetched)
    assert before == 5  # the five layers that are on, once each
    page.evaluate("() => { paMap.map.setView(paMap.map.getCenter(), 15); }")
    close = drawn(page, first["drawn"])
    page.evaluate("() => { paMap.map.panBy([600, 300], {animate: false}); }")
    panned = drawn(page, close["drawn"])
    assert len(fetched) == before + 10  # fetched again, for each new view
    assert len({u.split("bbox=")[1] for u in fetched[-5:]}) == 1
    assert fetched[-1].split("bbox=")[1] != fetched[before].split("bbox=")[1]
    assert panned["points"] > 0  # close in: single incidents and posts
    page.screenshot(path=str(artifacts / "coverage-z15.png"))
    assert admin_page.external == []
    assert admin_page.errors == []


# Every CSP violation the page meets, whether or not the console shows it.
WATCH_CSP_JS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.effectiveDirective + ' ' + e.blockedURI));
"""
# Zoom in on the first post, wait for it to be drawn one by one, click it.
OPEN_POPUP_JS = """() => new Promise((done, fail) => {
  const group = paMap.groups.posts, round = paMap.drawn;
  let first = null;
  group.eachLayer(l => (l.getLayers ? l.getLayers() : [l])
    .forEach(leaf => { if (!first) first = leaf; }));
  paMap.map.setView(first.getLatLng(), 17, {animate: false});
  const wait = () => {
    if (paMap.drawn <= round) return setTimeout(wait, 50);
    let point = null;
    group.eachLayer(l => { if (!point && l instanceof L.CircleMarker) point = l; });
    if (!point) return fail('no post drawn at zoom 17');
    point.fire('click', {latlng: point.getLatLng()});
    done(point.getLatLng());
  };
  wait();
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
    first = drawn(page)
    assert first["polygons"] >= 1 + 12 + 168 and first["clusters"] > 0
    page.screenshot(path=str(artifacts / "coverage-csp.png"))
    page.evaluate(OPEN_POPUP_JS)  # the popup is fetched, then set as text
    page.wait_for_selector(".leaflet-popup-content .pa-popup")
    assert "类型" in page.locator(".leaflet-popup-content").inner_text()
    page.wait_for_timeout(400)  # the popup's fade-in
    page.screenshot(path=str(artifacts / "coverage-csp-popup.png"))
    assert page.evaluate("() => window.__csp") == []
    assert admin_page.errors == [] and admin_page.external == []
    assert page.evaluate(INJECT_JS)  # blocked: the policy is in force
    assert page.evaluate("() => window.__csp") == ["script-src-elem inline"]


def test_layers_toggle(live_server, admin_page):
    page = admin_page.page
    page.goto(f"{live_server.url}/map/coverage", wait_until="load")
    before = drawn(page)
    page.locator(".leaflet-control-layers-overlays").get_by_text(
        "网格", exact=True
    ).click()
    after = drawn(page, before["drawn"])
    assert after["polygons"] >= before["polygons"] + 436  # the grids appeared
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
        tab = page.page
        tab.goto(f"{server.url}/map/coverage", wait_until="load")
        tab.wait_for_function(DRAWN_AFTER, arg=0)
        # The district's name, as its tooltip shows it on hover...
        tab.mouse.move(500, 300)  # off the incident in the middle
        tab.wait_for_selector(".leaflet-tooltip")
        assert tab.locator(".leaflet-tooltip").inner_text() == EVIL
        # ...and the incident's description, in its popup.
        tab.evaluate(OPEN_INCIDENT_JS)
        tab.wait_for_selector(".leaflet-popup-content .pa-popup")
        assert EVIL in tab.locator(".leaflet-popup-content").inner_text()
        images = ".leaflet-popup-content img, .leaflet-tooltip img"
        assert tab.locator(images).count() == 0
        tab.wait_for_timeout(300)  # give a (wrongly) loaded image time to fail
        assert tab.evaluate("() => window.__xss") is None
        assert page.errors == []
    finally:
        page.page.close()
        server.close()


OPEN_INCIDENT_JS = """() => new Promise(done => {
  const round = paMap.drawn;
  paMap.map.setView([30.05, 100.05], 17, {animate: false});
  const wait = () => {
    if (paMap.drawn <= round) return setTimeout(wait, 50);
    let point = null;
    paMap.groups.incidents.eachLayer(
      l => { if (l instanceof L.CircleMarker) point = l; });
    point.fire('click', {latlng: point.getLatLng()});
    done();
  };
  wait();
})"""


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


def test_a_zipped_county_folder_through_the_upload_page(
    make_database, browser, tmp_path, artifacts
):
    import zipfile

    import sqlalchemy as sa

    from gis import db, users
    from tests.conftest import OfflinePage
    from tests.worlds import county_folder
    from webmap import create_app

    url = make_database()
    engine = db.get_engine(url)
    with engine.begin() as conn:
        users.add(conn, "zongzhi", "planner", "correct-horse-1", actor="test")
    directory = county_folder(tmp_path / "county")
    archive = tmp_path / "全县资料.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for file in sorted(directory.iterdir()):
            zipped.write(file, f"全县资料/{file.name}")
    app = create_app({"DATABASE_URL": url, "UPLOAD_DIR": str(tmp_path / "uploads")})
    server, page = LiveServer(app), OfflinePage(browser)
    try:
        tab = page.page
        tab.goto(f"{server.url}/login?next=/import", wait_until="load")
        tab.fill("input[name=username]", "zongzhi")
        tab.fill("input[name=password]", "correct-horse-1")
        tab.get_by_role("button", name="登录").click()
        tab.wait_for_url(f"{server.url}/import")
        tab.select_option("select[name=layer]", "folder")
        tab.set_input_files("input[name=file]", str(archive))
        tab.get_by_role("button", name="上传并预览").click()
        tab.wait_for_selector("h1:has-text('导入预览')")
        rows = tab.locator("table.folder tbody tr")
        assert rows.count() == 4
        assert [rows.nth(i).locator("td").nth(4).inner_text() for i in range(4)] == [
            "可导入"
        ] * 4
        preview = artifacts / "import-folder-preview.png"
        tab.screenshot(path=str(preview), full_page=True)
        with engine.connect() as conn:  # the preview wrote nothing
            assert conn.execute(sa.text("SELECT count(*) FROM area")).scalar() == 0
        tab.get_by_role("button", name="确认导入全部文件").click()
        tab.wait_for_selector("h1:has-text('导入报告')")
        assert "4 files, 4 loaded, 0 refused" in tab.locator(".summary").inner_text()
        tab.screenshot(path=str(artifacts / "import-folder-report.png"), full_page=True)
        with engine.connect() as conn:
            counts = conn.execute(sa.text(
                "SELECT (SELECT count(*) FROM area), (SELECT count(*) FROM post), "
                "(SELECT count(*) FROM incident)"
            )).one()  # fmt: skip
        assert tuple(counts) == (7, 2, 4)  # district, 2 townships, 4 villages
        assert page.external == [] and page.errors == []
    finally:
        page.page.close()
        server.close()


def test_a_gcj02_base_map_shifts_layers_in_the_browser(demo_url, browser, accounts):
    """With a GCJ-02 base map the script moves every fetched WGS84 feature onto
    it with the formula of gis/crs.py, and asks the server in WGS84."""
    import numpy as np
    import sqlalchemy as sa

    from gis import crs, db
    from gis.config import Basemap
    from tests.conftest import OfflinePage
    from webmap import create_app

    tiles = Basemap("http://127.0.0.1:9/{z}/{x}/{y}.png", "本地瓦片", "gcj02")
    server = LiveServer(create_app({"DATABASE_URL": demo_url, "BASEMAP": tiles}))
    page = OfflinePage(browser)
    asked = []
    page.page.on(
        "request", lambda r: "/api/layers/district" in r.url and asked.append(r.url)
    )
    try:
        page.sign_in(server.url, "t_admin")
        tab = page.page
        tab.goto(f"{server.url}/map/coverage", wait_until="load")
        tab.wait_for_function(DRAWN_AFTER, arg=0)
        lon = np.linspace(73, 135, 9)
        lat = np.linspace(18, 53, 9)
        mine = tab.evaluate(
            "([xs, ys]) => xs.map((x, i) => PinganMap.toGcj(x, ys[i]))",
            [lon.tolist(), lat.tolist()],
        )
        ref = np.column_stack(crs.from_wgs84(lon, lat, "gcj02"))
        assert np.abs(np.array(mine) - ref).max() < 1e-9
        back = tab.evaluate(
            "([x, y]) => PinganMap.fromGcj(...PinganMap.toGcj(x, y))", [115.03, 35.76]
        )
        assert np.abs(np.array(back) - [115.03, 35.76]).max() < 1e-8  # ~1 mm
        # The district drawn where the GCJ-02 tiles have it...
        drawn_box = tab.evaluate(
            "() => { const b = []; paMap.groups.district.eachLayer(l => l.eachLayer("
            "p => b.push(p.getBounds().toBBoxString()))); return b[0]; }"
        )
        dw, ds, de, dn = map(float, drawn_box.split(","))
        with db.get_engine(demo_url).connect() as conn:
            w, s, e, n = conn.execute(
                sa.text(
                    "SELECT ST_XMin(x), ST_YMin(x), ST_XMax(x), ST_YMax(x) FROM "
                    "(SELECT ST_Extent(geom) x FROM area WHERE kind = 'district') q"
                )
            ).one()
        shifted = crs.from_wgs84(np.array([w, e]), np.array([s, n]), "gcj02")
        assert np.allclose([dw, de, ds, dn], [*shifted[0], *shifted[1]], atol=2e-5)
        assert abs(dw - w) > 0.003  # visibly moved
        # ...and asked for in WGS84: the view's centre, shifted back.
        qw, qs, qe, qn = map(
            float, asked[0].split("bbox=")[1].split("&")[0].split(",")
        )
        # (The corners are shifted back one by one; across a view of half a
        # degree the offset drifts by a few metres, ~1e-4 degrees.)
        centre = crs.from_wgs84((qw + qe) / 2, (qs + qn) / 2, "gcj02")
        view = tab.evaluate("() => paMap.map.getCenter()")
        assert abs(centre[0] - view["lng"]) < 5e-4
        assert abs(centre[1] - view["lat"]) < 5e-4
        assert abs((qw + qe) / 2 - view["lng"]) > 0.003  # not asked in GCJ-02
    finally:
        page.page.close()
        server.close()


def test_clusters_of_each_layer_look_different(live_server, admin_page):
    page = admin_page.page
    page.goto(f"{live_server.url}/map/coverage", wait_until="load")
    first = drawn(page)
    page.locator(".leaflet-control-layers-overlays").get_by_text(
        "视频监控(雪亮工程)", exact=True
    ).click()
    drawn(page, first["drawn"])
    styles = page.evaluate(
        """() => {
      const seen = {};
      document.querySelectorAll('.pa-cluster').forEach(el => {
        seen[el.className.match(/pa-shape-\\w+/)[0]] = el.style.background;
      });
      return seen;
    }"""
    )
    # Incidents round, cameras square, each in its own colour.
    assert set(styles) >= {"pa-shape-circle", "pa-shape-square"}
    assert styles["pa-shape-circle"] != styles["pa-shape-square"]
