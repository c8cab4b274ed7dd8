"""HTTP: pages, health, errors, and no external hosts in served HTML."""

from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa

from gis import db, schema
from gis.cli import main
from tests.conftest import service_token, uses_embedded, with_token

EXTERNAL = re.compile(
    r"(?:https?:)?//(?!127\.0\.0\.1|localhost)[a-z0-9.-]+\.[a-z]{2,}", re.I
)


def test_start_page_links_the_three_views(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "网格与警力覆盖图" in html and "矛盾纠纷热力图" in html
    assert 'href="/map/coverage"' in html and 'href="/map/heat"' in html
    assert len(re.findall(r'href="/map/station/\w+"', html)) == 8


@pytest.mark.parametrize(
    "path", ["/map/coverage", "/map/heat", "/map/station/410902510000"]
)
def test_map_pages_are_self_contained(client, path):
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "L.map(" in html
    assert EXTERNAL.findall(html) == [], "served HTML names an external host"
    # Scripts, stylesheets and fonts: our own static files...
    for src in re.findall(r'(?:src="|<link[^>]*href=")([^"]+)"', html):
        assert src.startswith("/static/"), src
        assert client.get(src).status_code == 200, src
    # ...and links to other pages of the app only.
    for link in re.findall(r'<a href="([^"]+)"', html):
        assert link.startswith("/") and not link.startswith("//"), link
        assert client.get(link).status_code == 200, link


@pytest.mark.parametrize("path", ["/", "/map/coverage", "/login"])
def test_pages_name_their_icon_so_the_browser_asks_for_no_favicon(
    client, anonymous, path
):
    html = client.get(path).get_data(as_text=True)
    icons = re.findall(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)">', html)
    assert icons == ["/static/favicon.svg"]
    icon = anonymous.get(icons[0])  # the sign-in page shows it too
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"


def test_coverage_page_has_every_layer_and_stays_small(client):
    html = client.get("/map/coverage").get_data(as_text=True)
    for title in (
        "区界",
        "乡镇/街道",
        "村/社区",
        "网格",
        "派出所辖区",
        "警务室/工作站",
        "视频监控(雪亮工程)",
        "矛盾纠纷/事件",
        "重点场所",
    ):
        assert f'"{title}"' in html or title in html
    # A shell: its layers are fetched by view (tests/test_layers.py).
    assert len(html.encode()) < 300_000
    assert "演示数据" in html  # the synthetic world says so on the map


def test_unknown_station_is_a_chinese_404_page(client):
    page = client.get("/map/station/999999999999")
    assert page.status_code == 404
    assert "没有编码为 999999999999 的派出所" in page.get_data(as_text=True)


def test_unknown_api_path_is_json(client):
    page = client.get("/api/nothing-here")
    assert page.status_code == 404 and page.is_json


def test_healthz_ok(client):
    page = client.get("/healthz")
    assert page.status_code == 200
    assert page.json["status"] == "ok" and page.json["postgis"]


@pytest.fixture
def bare_url(server_url):
    """A database that exists but was never initialised: no PostGIS, no schema."""
    name = f"pingan_test_{uuid.uuid4().hex[:10]}"
    yield db.create_database(server_url, name)
    db.drop_database(server_url, name)


def test_a_database_without_the_schema_is_a_503_that_says_what_to_run(
    bare_url, capsys, monkeypatch
):
    from webmap import create_app

    client = create_app({"DATABASE_URL": bare_url, "TESTING": True}).test_client()
    with_token(client, "no-such-token")  # signing in needs the schema too
    lookup = "/api/lookup?lon=114.3&lat=35.75"
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json["error"] == "schema_not_ready"
    assert "PostGIS" in health.json["message"]
    engine = db.get_engine(bare_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION postgis"))
    latest = schema.available()[-1].version
    for page in (client.get("/healthz"), client.get(lookup)):
        assert page.status_code == 503 and page.json["error"] == "schema_not_ready"
        assert "python -m gis init" in page.json["message"]
        assert page.json["details"] == {"version": 0, "needed": latest}
    monkeypatch.setenv("DATABASE_URL", bare_url)
    assert main(["lookup", "114.3", "35.75"]) == 1
    assert "python -m gis init" in capsys.readouterr().err
    schema.migrate(engine)
    assert client.get("/healthz").json["schema"] == latest
    with_token(client, service_token(bare_url))
    assert client.get(lookup).status_code == 200


@pytest.mark.parametrize(
    "idle, first", [(0.0, 200), (3600.0, 503)], ids=["idle-pinged", "recent"]
)
def test_pooled_connections_killed_under_the_app(
    make_database, monkeypatch, idle, first
):
    """A pooled connection idle long enough is pinged and replaced unseen; one
    used moments ago fails its request with a 503, and takes the pool along."""
    from webmap import create_app

    url = make_database()
    monkeypatch.setattr(db, "PING_IDLE_SECONDS", idle)
    client = create_app({"DATABASE_URL": url, "TESTING": True}).test_client()
    with_token(client, service_token(url))
    lookup = "/api/lookup?lon=115.03&lat=35.76"
    assert client.get(lookup).status_code == 200
    assert client.get("/healthz").status_code == 200  # two kinds of statement
    killer = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with killer.connect() as conn:
        killed = conn.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    killer.dispose()
    assert killed >= 1
    page = client.get(lookup)
    assert page.status_code == first, page.get_data(as_text=True)
    assert client.get(lookup).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_healthz_503_when_the_database_is_down(client, demo_url):
    """Stop the real database (the embedded cluster) and ask again."""
    from gis import embedded

    lookup = "/api/lookup?lon=115.03&lat=35.76"
    if uses_embedded():
        # Connections used just now are not pinged again before use: the
        # statement meets the stopped server, and that too is a 503.
        assert client.get(lookup).status_code == 200
        embedded.stop()
        try:
            lost = client.get(lookup)  # a raw cursor's error (gis.lookup)
            down = client.get("/healthz")
        finally:
            embedded.start()
            # Other engines' pooled connections died with the old server: the
            # session's later fixtures must not meet them.
            db.dispose_engines()
        assert lost.status_code == 503, lost.get_data(as_text=True)
        assert lost.json["error"] == "database_unavailable"
        assert client.get(lookup).status_code == 200
    else:  # a shared server we must not stop: point a second app at a dead port
        from tests.conftest import free_port
        from webmap import create_app

        # (A socket URL names its directory and port in the query, which
        # would win over the host and port set here.)
        dead = (
            sa.engine.make_url(demo_url)
            .difference_update_query(["host", "port"])
            .set(host="127.0.0.1", port=free_port())
        )
        down = (
            create_app({"DATABASE_URL": dead.render_as_string(False)})
            .test_client()
            .get("/healthz")
        )
    assert down.status_code == 503
    assert down.json["error"] == "database_unavailable"
    assert "password" not in down.get_data(as_text=True).lower()
    assert client.get("/healthz").status_code == 200  # and back once it is up


def test_healthz_is_ok_when_pooled_connections_died_but_the_server_is_up(
    app, client, demo_url
):
    """Connections the pool handed out moments ago are not pinged again; when
    their server side is gone (a restart, a DBA's pg_terminate_backend) the
    health check must not call a running database down."""
    from webmap import requestdb

    with app.app_context():
        engine = requestdb.engine()
    held = [db.connect(engine) for _ in range(3)]
    for conn in held:
        conn.exec_driver_sql("SELECT 1")
    for conn in held:
        conn.close()  # back in the pool, used just now
    with db.get_engine(demo_url).connect() as owner:
        ended = owner.exec_driver_sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE usename = 'pingan_web' AND datname = current_database()"
        ).scalar()
    assert ended >= 3
    answer = client.get("/healthz")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.json["database"] == "ok"


# -- text no view can use: NUL, lone surrogates, deep JSON ---------------------------

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
TOKEN, LOOKUP = "/api/token", "/api/lookup"
UNUSABLE_TEXT = {  # path, body, content type, the field named
    "json-nul": (TOKEN, b'{"username": "a\\u0000"}', JSON, "username"),
    "json-surrogate": (TOKEN, b'{"username": "\\ud800"}', JSON, "username"),
    "json-key": (TOKEN, b'{"username": "u", "pass\\u0000": 1}', JSON, "pass\\u0000"),
    "json-deep-in-a-batch": (
        LOOKUP,
        b'{"points": [[1, 2], [1, 2], [1, 2], {"lon": "\\udc00"}]}',
        JSON,
        "points[3].lon",
    ),
    "json-raw-surrogate-bytes": (LOOKUP, b'[[1, "\xed\xa0\x80"]]', JSON, "body[0][1]"),
    "form-nul": (TOKEN, b"username=%00&password=p", FORM, "username"),
    "query-nul": ("/api/lookup?lon=115%00&lat=35", None, None, "lon"),
    "query-name-nul": ("/api/incidents?a%00=1", None, None, "a\\u0000"),
    "query-filter-nul": ("/api/incidents?since=2025%00", None, None, "since"),
    "url-variable-nul": ("/api/incidents/SJ%00", None, None, "code"),
}


@pytest.mark.parametrize(
    ("path", "body", "content_type", "field"),
    UNUSABLE_TEXT.values(),
    ids=UNUSABLE_TEXT.keys(),
)
def test_nul_and_lone_surrogates_are_a_400_naming_the_field(
    api_client, path, body, content_type, field
):
    """PostgreSQL cannot store NUL and UTF-8 cannot carry a lone surrogate: both
    used to be 500s wherever a view passed them on."""
    method = "GET" if body is None else "POST"
    response = api_client.open(
        path, method=method, data=body, content_type=content_type
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"] == "invalid_input"
    assert response.json["details"]["field"] == field
    assert "\\u0000" in response.json["message"]  # says what, without echoing it


@pytest.mark.parametrize("path", ["/api/lookup", "/api/token"])
@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_deep_json_is_a_400_naming_the_body(api_client, path, depth):
    client = api_client
    body = "[" * depth + "]" * depth  # a RecursionError in json.loads at 100,000
    response = client.post(path, data=body, content_type=JSON)
    assert response.status_code == 400
    assert response.json["details"]["field"] == "body"
    assert "64" in response.json["message"]


def test_a_page_refuses_nul_with_a_readable_page(client):
    page = client.get("/map/station/4109%00")
    assert page.status_code == 400 and page.mimetype == "text/html"
    assert "NUL" in page.get_data(as_text=True)
