"""Browser login, CSRF, and the import upload pages, through the real Flask app.

The world is the hand-made squares of ``test_assignment`` (district 100.0-100.2
E, 30.0-30.1 N); files are written by the tests in GCJ-02, as AMap gives them.
Every test uses its own codes, so they share one database.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import pytest
import shapely
import sqlalchemy as sa

from gis import crs, db, users
from gis.errors import Conflict, InvalidInput, NotFound
from gis.ingest import preview, uploads
from tests.worlds import build_areas
from webmap import create_app

STATION = "100000510000"
PASSWORD = "correct-horse-1"
IN_A, IN_B, FAR = (100.05, 30.05), (100.15, 30.05), (101.1, 30.05)
HEADER = "编号,事件类型,上报时间,经度,纬度"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def database(make_database) -> str:
    url = make_database()
    with db.get_engine(url).begin() as conn:
        build_areas(conn)
        for name, role, station in [
            ("admin1", "admin", None),
            ("clerk", "planner", None),
            ("clerk2", "planner", None),
            ("boss", "leader", None),
            ("pcs1", "station", STATION),
            ("leaving", "planner", None),
            ("forgetful", "planner", None),
        ]:
            users.add(conn, name, role, PASSWORD, station=station, actor="test")
    return url


@pytest.fixture(scope="module")
def engine(database):
    return db.get_engine(database)


@pytest.fixture(scope="module")
def upload_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
def app(database, upload_dir):
    return create_app(
        {"DATABASE_URL": database, "TESTING": True, "UPLOAD_DIR": str(upload_dir)}
    )


@pytest.fixture
def client(app):
    return app.test_client()


def gcj(point) -> tuple[float, float]:
    lon, lat = crs.from_wgs84(*point, "gcj02")
    return round(float(lon), 7), round(float(lat), 7)


def csv_bytes(rows, encoding="utf-8") -> bytes:
    lines = [HEADER] + [",".join(map(str, row)) for row in rows]
    return ("\n".join(lines) + "\n").encode(encoding)


def good_rows(prefix: str):
    return [
        (f"{prefix}1", "邻里纠纷", "2025-03-01 08:30", *gcj(IN_A)),
        (f"{prefix}2", "债务纠纷", "2025/3/2 9:00", *gcj(IN_B)),
    ]


def bad_rows(prefix: str):
    return [
        (f"{prefix}3", "邻里纠纷", "2025-03-01", *gcj(FAR)),  # line 4: far away
        (f"{prefix}4", "邻里纠纷", "2025-13-45", *gcj(IN_A)),  # line 5: bad date
    ]


def token_of(html: str) -> str:
    match = TOKEN.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD, **extra):
    token = token_of(client.get("/login").get_data(as_text=True))
    data = {"username": username, "password": password, "csrf_token": token}
    return client.post("/login", data={**data, **extra})


def signed_in(username: str, app):
    client = app.test_client()
    response = login(client, username)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def send(client, files, layer="incidents", **fields):
    """POST the upload form; ``files`` is a list of (name, bytes)."""
    token = token_of(client.get("/import").get_data(as_text=True))
    data = {"layer": layer, "csrf_token": token, **fields}
    data["file"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post("/import", data=data, content_type="multipart/form-data")


def commit(client, html: str):
    action = re.search(r'action="(/import/[0-9a-f]+/commit)"', html)
    assert action, "the preview offers no commit"
    return client.post(action.group(1), data={"csrf_token": token_of(html)})


def links(html: str) -> dict[str, str]:
    """Download links of a page, by the file name they serve."""
    return {
        m.group(2): m.group(1)
        for m in re.finditer(r'href="(/import/[0-9a-f]+/files/([^"]+))"', html)
    }


def count(engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def incidents_like(engine, prefix: str) -> int:
    return count(
        engine, "SELECT count(*) FROM incident WHERE code LIKE :p", p=prefix + "%"
    )


# -- login, sessions, CSRF ---------------------------------------------------------


def test_login_starts_a_session_shown_in_the_header(app, engine):
    client = app.test_client()
    assert client.get("/").status_code == 302  # nothing but the sign-in page
    assert "登录" in client.get("/login").get_data(as_text=True)
    response = login(client, "clerk")
    assert response.status_code == 302 and response.location == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    page = client.get("/").get_data(as_text=True)
    assert "clerk（规划/综治中心）" in page and "退出登录" in page
    assert 'href="/import"' in page  # planners see the import page on the start page
    assert client.get("/import").status_code == 200
    logins = "SELECT count(*) FROM audit_log WHERE action = 'login' AND username = :u"
    assert count(engine, logins, u="clerk") >= 1


@pytest.mark.parametrize("username", ["clerk", "nobody"])
def test_a_failed_login_says_nothing_specific_and_is_audited(app, engine, username):
    client = app.test_client()
    failed = "SELECT count(*) FROM audit_log WHERE action = 'login.failed' AND " \
             "object_code = :u"  # fmt: skip
    before = count(engine, failed, u=username)
    response = login(client, username, password="wrong-password")
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert "用户名或密码错误，或账号已停用" in html
    assert client.get("/import").status_code == 302  # still anonymous
    assert count(engine, failed, u=username) == before + 1


def test_disabling_a_user_or_changing_the_password_ends_the_session(app, engine):
    leaving, forgetful = signed_in("leaving", app), signed_in("forgetful", app)
    assert leaving.get("/import").status_code == 200
    with engine.begin() as conn:
        users.disable(conn, "leaving", actor="test")
        users.set_password(conn, "forgetful", "another-pass-2", actor="test")
    for client in (leaving, forgetful):
        response = client.get("/import")
        assert response.status_code == 302
        assert response.location.startswith("/login")
    assert "leaving" not in leaving.get("/").get_data(as_text=True)
    assert login(app.test_client(), "leaving").status_code == 401


def test_a_session_lasts_token_hours(app, engine):
    client = signed_in("clerk", app)
    last = "(SELECT max(id) FROM auth_session)"
    with engine.begin() as conn:
        hours = conn.execute(sa.text(
            f"SELECT expires_at - created_at FROM auth_session WHERE id = {last}"
        )).scalar()  # fmt: skip
        conn.execute(sa.text(
            "UPDATE auth_session SET expires_at = now() + interval '1 minute' "
            f"WHERE id = {last}"))  # fmt: skip
    assert hours.total_seconds() == app.config["TOKEN_HOURS"] * 3600
    assert client.get("/import").status_code == 200  # a minute left
    with engine.begin() as conn:
        conn.execute(
            sa.text(f"UPDATE auth_session SET expires_at = now() WHERE id = {last}")
        )
    assert client.get("/import").status_code == 302


def test_anonymous_browsers_go_to_the_login_page_and_come_back(app):
    client = app.test_client()
    response = client.get("/import?layer=posts")
    assert response.status_code == 302
    target = urlsplit(response.location)
    assert target.path == "/login"
    assert parse_qs(target.query) == {"next": ["/import?layer=posts"]}
    form = client.get(response.location).get_data(as_text=True)
    assert 'name="next" value="/import?layer=posts"' in form
    back = login(client, "clerk", next="/import?layer=posts")
    assert back.location == "/import?layer=posts"
    # An API client without a token still gets a 401, not a login page.
    assert app.test_client().get("/api/incidents").status_code == 401


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x",
     "http:/evil.example", "evil.example", "/\t/evil.example"],
)  # fmt: skip
def test_login_never_redirects_to_another_site(app, target):
    client = app.test_client()
    assert f'value="{target}"' not in client.get(
        "/login", query_string={"next": target}
    ).get_data(as_text=True)
    response = login(client, "clerk", next=target)
    assert response.status_code == 302 and response.location == "/"


def test_forms_without_the_csrf_token_are_refused(app, upload_dir):
    client = app.test_client()
    data = {"username": "clerk", "password": PASSWORD}
    client.get("/login")  # the session (and its token) exists
    for token in (None, "forged-token"):
        sent = data if token is None else {**data, "csrf_token": token}
        response = client.post("/login", data=sent)
        assert response.status_code == 400
        assert "安全校验失败" in response.get_data(as_text=True)
    # A token from another browser's session does not count either.
    other = token_of(app.test_client().get("/login").get_data(as_text=True))
    assert client.post("/login", data={**data, "csrf_token": other}).status_code == 400
    assert client.get("/import").status_code == 302  # not signed in

    clerk = signed_in("clerk", app)
    before = set(upload_dir.iterdir())
    refused = clerk.post("/import", data={
        "layer": "incidents", "file": (io.BytesIO(csv_bytes(good_rows("CS"))), "a.csv"),
    }, content_type="multipart/form-data")  # fmt: skip
    assert refused.status_code == 400
    assert set(upload_dir.iterdir()) == before  # nothing was stored
    assert clerk.post("/logout").status_code == 400
    assert clerk.get("/import").status_code == 200  # still signed in
    page = clerk.get("/").get_data(as_text=True)
    assert clerk.post("/logout", data={"csrf_token": token_of(page)}).status_code == 302
    assert clerk.get("/import").status_code == 302


@pytest.mark.parametrize("username", ["boss", "pcs1"])
def test_leaders_and_stations_may_not_import(app, username):
    client = signed_in(username, app)
    response = client.get("/import")
    assert response.status_code == 403
    assert "无此权限" in response.get_data(as_text=True)
    assert 'href="/import"' not in client.get("/").get_data(as_text=True)
    page = client.get("/").get_data(as_text=True)
    response = client.post("/import", data={
        "csrf_token": token_of(page), "layer": "incidents",
        "file": (io.BytesIO(csv_bytes(good_rows("RL"))), "a.csv"),
    }, content_type="multipart/form-data")  # fmt: skip
    assert response.status_code == 403


def test_bearer_api_needs_no_csrf_but_a_session_does(app, engine):
    client = app.test_client()
    token = client.post(
        "/api/token", json={"username": "clerk", "password": PASSWORD}
    ).json["token"]
    body = {"lon": IN_A[0], "lat": IN_A[1], "category": "dispute_neighbour",
            "code": "API-1"}  # fmt: skip
    created = client.post(
        "/api/incidents", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert created.status_code == 201, created.json
    browser = signed_in("clerk", app)
    refused = browser.post("/api/incidents", json={**body, "code": "API-2"})
    assert (
        refused.status_code == 400 and refused.json["details"]["field"] == "csrf_token"
    )
    page = browser.get("/").get_data(as_text=True)
    accepted = browser.post(
        "/api/incidents", json={**body, "code": "API-2"},
        headers={"X-CSRF-Token": token_of(page)},
    )  # fmt: skip
    assert accepted.status_code == 201
    assert browser.get("/api/incidents").status_code == 200  # reads need no token
    assert incidents_like(engine, "API-") == 2


# -- preview and dry run -----------------------------------------------------------


def test_preview_shows_columns_rows_and_every_finding_and_writes_nothing(app, engine):
    client = signed_in("clerk", app)
    batches = count(engine, "SELECT count(*) FROM import_batch")
    content = csv_bytes(good_rows("PV") + bad_rows("PV"))
    response = send(client, [("事件.csv", content)], crs="gcj02")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "utf-8" in html  # the detected encoding
    for field, column in [("code", "编号"), ("category", "事件类型"),
                          ("reported_at", "上报时间"), ("lon", "经度")]:  # fmt: skip
        assert re.search(rf"<td>{field}</td>.*?<td>{column}</td>", html, re.S)
    assert "<td>PV1</td>" in html and "<td>2025/3/2 9:00</td>" in html  # first rows
    assert re.search(r"<td>4</td><td>lon</td>\s*<td>错误</td><td>[^<]*outside", html)
    assert re.search(r"<td>5</td><td>reported_at</td>\s*<td>错误</td>", html)
    assert "已拒绝 rejected" in html and "严格模式" in html
    assert re.search(r"<button type=\"submit\" disabled>确认导入", html)
    assert "/commit" not in html
    assert incidents_like(engine, "PV") == 0
    assert count(engine, "SELECT count(*) FROM import_batch") == batches


def test_the_findings_table_stops_at_500_and_the_csv_has_them_all(app):
    clerk = signed_in("clerk", app)
    lon, lat = gcj(IN_A)
    rows = [(f"MANY{i}", "邻里纠纷", "2025-13-45", lon, lat) for i in range(600)]
    html = send(clerk, [("many.csv", csv_bytes(rows))], crs="gcj02")
    html = html.get_data(as_text=True)
    table = html.split('<table class="findings">')[1].split("</table>")[0]
    assert table.count('<tr class="sev-error">') == 500
    assert "检查发现（600 条）" in html and "只显示前 500 条" in html
    full = clerk.get(links(html)["check.csv"])
    assert full.status_code == 200
    assert len(full.data.decode("utf-8-sig").splitlines()) == 1 + 600


def test_commit_loads_the_rows_and_the_owner_downloads_the_report(app, engine):
    clerk = signed_in("clerk", app)
    html = send(clerk, [("good.csv", csv_bytes(good_rows("CM")))], crs="gcj02")
    html = html.get_data(as_text=True)
    assert "已检查（未写入） checked" in html and incidents_like(engine, "CM") == 0
    report = commit(clerk, html)
    assert report.status_code == 200
    page = report.get_data(as_text=True)
    assert "已导入 loaded: incidents read 2 = loaded 2 + rejected 0" in page
    assert incidents_like(engine, "CM") == 2
    files = links(page)
    assert sorted(files) == ["report.csv", "report.json"]
    saved = clerk.get(files["report.json"])
    assert saved.status_code == 200
    assert "attachment" in saved.headers["Content-Disposition"]
    assert json.loads(saved.data)["status"] == "loaded"
    assert clerk.get(files["report.csv"]).data.startswith(b"\xef\xbb\xbf")
    other = signed_in("clerk2", app)
    assert other.get(files["report.json"]).status_code == 404
    assert signed_in("admin1", app).get(files["report.json"]).status_code == 200
    meta = files["report.json"].replace("report.json", "upload.json")
    assert clerk.get(meta).status_code == 404
    assert other.post(
        re.search(r'action="(/import/[0-9a-f]+/commit)"', html).group(1),
        data={"csrf_token": token_of(other.get("/").get_data(as_text=True))},
    ).status_code == 404  # fmt: skip
    audit = "SELECT username, object_code, detail FROM audit_log WHERE " \
            "action = 'data.import' AND detail->>'file' = 'good.csv'"  # fmt: skip
    with engine.connect() as conn:
        rows = conn.execute(sa.text(audit)).all()
    assert [(r[0], r[1], r[2]["loaded"], r[2]["read"]) for r in rows] == [
        ("clerk", "incidents", 2, 2)
    ]
    again = commit(clerk, html)  # a second click shows the report, imports nothing
    assert "read 2 = loaded 2" in again.get_data(as_text=True)
    with engine.connect() as conn:
        assert len(conn.execute(sa.text(audit)).all()) == 1
    batches = "SELECT count(*) FROM import_batch WHERE username = 'clerk'"
    assert count(engine, batches) >= 1


def test_lenient_import_offers_the_quarantine_file(app, engine):
    clerk = signed_in("clerk", app)
    content = csv_bytes(good_rows("LN") + bad_rows("LN"))
    html = send(clerk, [("mixed.csv", content)], crs="gcj02", lenient="1")
    html = html.get_data(as_text=True)
    assert "宽松模式：2 行有错误" in html
    page = commit(clerk, html).get_data(as_text=True)
    assert "read 4 = loaded 2 + rejected 2" in page
    assert incidents_like(engine, "LN") == 2
    files = links(page)
    assert "report.quarantine.csv" in files
    quarantined = clerk.get(files["report.quarantine.csv"]).data.decode()
    assert quarantined.splitlines() == [HEADER] + [
        ",".join(map(str, row)) for row in bad_rows("LN")
    ]


def test_a_shapefile_uploaded_as_several_files(app, engine, tmp_path):
    system = "EPSG:4543"  # CGCS2000 Gauss-Kruger, the zone of 100-101 E
    xy = [crs.from_wgs84(*p, system) for p in (IN_A, IN_B)]
    gpd.GeoDataFrame(
        {
            "编码": ["SH1", "SH2"],
            "名称": ["中心小学", "人民医院"],
            "类型": ["学校", "医院"],
        },
        geometry=[shapely.Point(float(x), float(y)) for x, y in xy],
        crs=system,
    ).to_file(tmp_path / "场所.shp", encoding="UTF-8")
    parts = sorted(tmp_path.iterdir())
    assert {p.suffix for p in parts} >= {".shp", ".shx", ".dbf", ".prj", ".cpg"}
    clerk = signed_in("clerk", app)
    incomplete = send(
        clerk, [(p.name, p.read_bytes()) for p in parts if p.suffix != ".dbf"], "sites"
    )
    assert incomplete.status_code == 400
    assert "missing .dbf" in incomplete.get_data(as_text=True)
    response = send(clerk, [(p.name, p.read_bytes()) for p in parts], "sites")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "Point" in html and system in html and "中心小学" in html
    assert "read 2 = loaded 2" in commit(clerk, html).get_data(as_text=True)
    codes = "SELECT count(*) FROM site WHERE code IN ('SH1', 'SH2')"
    assert count(engine, codes) == 2


def test_undecodable_bytes_are_findings_with_their_line(app):
    clerk = signed_in("clerk", app)
    lon, lat = gcj(IN_A)
    broken = f"NU9,邻里纠纷,2025-03-01,{lon},{lat}\n".encode()
    content = csv_bytes(good_rows("NU")) + broken.replace("邻里".encode(), b"\xff\xfe")
    html = send(clerk, [("broken.csv", content)], crs="gcj02").get_data(as_text=True)
    assert re.search(
        r"<td>4</td><td></td>\s*<td>错误</td><td>[^<]*not valid utf-8", html
    )
    assert "rejected 1" in html


def test_user_text_is_escaped(app):
    clerk = signed_in("clerk", app)
    evil = "<script>alert(1)</script>"
    name = "<img src=x onerror=alert(1)>.csv"
    rows = [(evil, "邻里纠纷", "2025-03-01", *gcj(IN_A)),
            ("EV2", evil, "2025-03-01", *gcj(IN_A))]  # fmt: skip
    html = send(clerk, [(name, csv_bytes(rows))], crs="gcj02").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert f"<td>{escaped}</td>" in html  # a cell of the first rows
    assert re.search(
        rf"<td>3</td><td>category</td>\s*<td>错误</td><td>[^<]*{re.escape(escaped)}",
        html,
    )
    assert "&lt;img src=x onerror=" in html  # the file name as sent, as text
    refused = send(clerk, [("<b>x</b>.csv", b"")])  # a '/' makes it a path
    assert refused.status_code == 400
    assert "<b>x</b>" not in refused.get_data(as_text=True)


def test_whole_file_problems_are_shown_as_errors(app, engine):
    clerk = signed_in("clerk", app)
    unknown = send(clerk, [("a.csv", csv_bytes(good_rows("WF")))], crs="EPSG:999999")
    assert unknown.status_code == 400
    assert "坐标系（--crs）无效" in unknown.get_data(as_text=True)
    content = csv_bytes(good_rows("WF")).replace("事件类型".encode(), b"kind-of")
    missing = send(clerk, [("b.csv", content)]).get_data(as_text=True)
    assert "缺少必需的列" in missing and "kind-of" in missing  # columns still shown
    assert "/commit" not in missing
    assert incidents_like(engine, "WF") == 0


@pytest.mark.parametrize(
    ("files", "message"),
    [([("evil.exe", b"MZ")], "不支持的文件类型"),
     ([("../../etc/x.csv", b"a")], "不能包含路径"),
     ([("a.csv", b"a"), ("b.csv", b"b")], "一次只能上传一个文件"),
     ([("a.shp", b"a"), ("b.shx", b"b"), ("b.dbf", b"c")], "Shapefile"),
     ([], "请选择要上传的文件")],
)  # fmt: skip
def test_bad_uploads_are_refused_with_a_message(app, upload_dir, files, message):
    clerk = signed_in("clerk", app)
    before = set(upload_dir.iterdir())
    response = send(clerk, files)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert set(upload_dir.iterdir()) == before


def test_bad_mapping_keeps_the_form(app):
    clerk = signed_in("clerk", app)
    response = send(clerk, [("a.csv", b"x")], crs="gcj02", mapping="name 村名")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "target=source" in html
    assert 'value="gcj02"' in html  # what was typed is still there


def test_old_uploads_are_removed_when_a_new_one_is_made(app, upload_dir):
    old, recent = upload_dir / ("a" * 32), upload_dir / ("b" * 32)
    for directory, age_h in ((old, 25), (recent, 23)):
        directory.mkdir()
        (directory / "upload.json").write_text("{}")
        stamp = time.time() - age_h * 3600
        os.utime(directory, (stamp, stamp))
    send(signed_in("clerk", app), [("a.csv", csv_bytes(good_rows("OL")))])
    assert not old.exists() and recent.exists()


def test_uploads_bigger_than_the_api_limit_are_taken_up_to_upload_mb(
    database, tmp_path
):
    app = create_app({
        "DATABASE_URL": database, "TESTING": True, "UPLOAD_DIR": str(tmp_path),
        "MAX_CONTENT_LENGTH": 256 * 1024, "UPLOAD_MB": 1,
    })  # fmt: skip
    clerk = signed_in("clerk", app)
    padding = b",,,,\n" * 120_000  # 600 kB of blank lines, which are not rows
    medium = csv_bytes(good_rows("BG")) + padding
    response = send(clerk, [("medium.csv", medium)], crs="gcj02")
    assert response.status_code == 200 and "read 2 = loaded 2" in response.get_data(
        as_text=True
    )  # fmt: skip
    big = send(clerk, [("big.csv", medium + padding)], crs="gcj02")
    assert big.status_code == 413
    assert "上传的内容太大：这里最多 1 MB" in big.get_data(as_text=True)
    api = clerk.post("/api/lookup", data=medium, content_type="application/json")
    assert api.status_code == 413 and api.is_json  # the API keeps its own limit


# -- gis.ingest.preview and gis.ingest.uploads without Flask -----------------------


def test_preview_of_a_gbk_csv(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes(csv_bytes(good_rows("G") * 3, encoding="gbk"))
    info = preview(path, "incidents", limit=4)
    assert info["encoding"] == "gb18030" and info["crs"] is None
    assert info["matched"] == {
        "code": "编号",
        "category": "事件类型",
        "reported_at": "上报时间",
        "lon": "经度",
        "lat": "纬度",
    }
    assert info["problem"] is None and info["count_hint"] is None
    assert [r["number"] for r in info["rows"]] == [2, 3, 4, 5]
    assert info["rows"][0]["cells"][:2] == ["G1", "邻里纠纷"]
    required = {f["name"] for f in info["fields"] if f["required"]}
    assert required == {"code", "category", "reported_at", "lon", "lat"}


def test_preview_of_a_geopackage_lists_its_layers(tmp_path):
    path = tmp_path / "p.gpkg"
    for name in ("posts_a", "posts_b"):
        gpd.GeoDataFrame(
            {"code": [name], "name": ["一号"], "kind": ["警务室"]},
            geometry=[shapely.Point(IN_A)], crs="EPSG:4326",
        ).to_file(path, layer=name, driver="GPKG")  # fmt: skip
    with pytest.raises(InvalidInput, match="posts_a, posts_b"):
        preview(path, "posts")
    info = preview(path, "posts", layer_name="posts_b", mapping={"code": "code"})
    assert info["layers"] == ["posts_a", "posts_b"] and info["count_hint"] == 1
    assert info["crs"] == "EPSG:4326" and info["geometry_type"] == "Point"
    assert "lon" not in info["matched"] and info["rows"][0]["cells"][0] == "posts_b"
    assert info["rows"][0]["cells"][-1] == "POINT (100.05 30.05)"


def test_preview_of_a_workbook_lists_its_sheets_and_finds_the_header(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "说明"
    sheet = book.create_sheet("警务室")
    sheet.append(["华龙区警务室一览表"])
    sheet.append(["编码", "名称", "类型", "经度", "纬度"])
    sheet.append(["P1", "一号", "警务室", *IN_A])
    book.save(tmp_path / "p.xlsx")
    info = preview(tmp_path / "p.xlsx", "posts", layer_name="警务室")
    assert info["layers"] == ["说明", "警务室"] and info["header"][0] == "编码"
    assert info["rows"][0]["number"] == 3 and info["rows"][0]["cells"][0] == "P1"
    assert len(info["notes"]) == 1 and "row 2" in info["notes"][0]


def test_preview_reports_a_missing_column_instead_of_raising(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("名称,经度,纬度\n甲,100.05,30.05\n", encoding="utf-8")
    info = preview(path, "posts")
    # (a post's code may be made, gis.ingest.stable: its kind cannot)
    assert "kind" in info["problem"] and info["matched"] == {}
    assert info["columns"] == ["名称", "经度", "纬度"]
    with pytest.raises(InvalidInput, match="limit"):
        preview(path, "posts", limit=0)


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("村界.SHP", "村界.shp"), ("a b&c.csv", "a_b_c.csv"), ("..csv", "upload.csv"),
     ("名" * 100 + ".xlsx", "名" * 50 + ".xlsx")],
)  # fmt: skip
def test_stored_file_names_are_safe(sent, stored):
    assert uploads.safe_name(sent) == stored


@pytest.mark.parametrize(
    "sent", ["../x.csv", "a\\b.csv", "C:\\Users\\x.csv", "..", "", "x.exe", "x"]
)
def test_paths_and_unknown_types_are_refused(sent):
    with pytest.raises(InvalidInput):
        uploads.safe_name(sent)


def test_uploads_are_private_to_their_owner_and_admins(tmp_path):
    upload = uploads.save(tmp_path, "clerk", "posts", [("a.csv", io.BytesIO(b"x"))])
    assert oct(upload.directory.stat().st_mode & 0o777) == "0o700"
    assert (
        uploads.load(tmp_path, upload.id, "clerk", "planner").path.read_bytes() == b"x"
    )
    assert uploads.load(tmp_path, upload.id, "root", "admin").owner == "clerk"
    for upload_id, username in [(upload.id, "clerk2"), ("../" + upload.id, "clerk"),
                                ("0" * 32, "clerk")]:  # fmt: skip
        with pytest.raises(NotFound):
            uploads.load(tmp_path, upload_id, username, "planner")
    with pytest.raises(NotFound):
        upload.download("upload.json")
    upload.claim_commit()
    with pytest.raises(Conflict, match="正在导入"):
        upload.claim_commit()


@pytest.mark.parametrize(("content", "says"), [
    (b"PK\x03\x04 but no zip at all" * 50, "not a valid zip archive"),
    (None, "climb out of their folder"),  # an entry reaching out of the folder
])  # fmt: skip
def test_a_bad_folder_zip_is_a_400_with_the_reason(app, content, says):
    import zipfile

    if content is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("county/区界.csv", "编码,名称\n")
            archive.writestr("../../x.shp", "x")
        content = buffer.getvalue()
    clerk = signed_in("clerk", app)
    response = send(clerk, [("全县.zip", content)], layer="folder")
    assert response.status_code == 400
    assert says in response.get_data(as_text=True)
