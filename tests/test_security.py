"""Security headers, the CSP nonce, the session cookie's Secure flag, proxies.

The browser side (the maps still draw under the policy, nothing is reported as
a violation) is in ``tests/test_browser.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import render_template_string

from gis import audit, config, db, users
from gis.config import Basemap
from gis.errors import ConfigError
from tests.conftest import service_token, with_token
from webmap import create_app, security

TEMPLATES = Path(__file__).resolve().parent.parent / "webmap" / "templates"
PASSWORD = "correct-horse-1"
HOSTILE = "</script><script>window.__xss=1</script>"


def csp(response) -> dict[str, list[str]]:
    """The response's Content-Security-Policy as directive → sources."""
    header = response.headers["Content-Security-Policy"]
    return {
        name: sources for name, *sources in (part.split() for part in header.split(";"))
    }


def assert_headers(response) -> dict[str, list[str]]:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    policy = csp(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["img-src"] == ["'self'", "data:", "blob:"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]
    return policy


@pytest.mark.parametrize(
    "path, status",
    [
        ("/", 200),  # a Jinja page
        ("/api/lookup?lon=115.03&lat=35.76", 200),  # the API
        ("/static/app.css", 200),
        ("/static/vendor/leaflet/leaflet.js", 200),
        ("/no/such/page", 404),  # an error page
        ("/api/nothing", 404),  # a JSON error
        ("/api/incidents", 200),
        ("anonymous /api/incidents", 401),
        ("anonymous /map/coverage", 302),
    ],
)
def test_every_response_carries_the_headers(client, anonymous, path, status):
    caller, _, path = path.rpartition(" ")
    response = (anonymous if caller else client).get(path)
    assert response.status_code == status
    policy = assert_headers(response)
    assert policy["script-src"] == ["'self'"]  # no inline script: no nonce


def test_map_page_scripts_carry_this_responses_nonce(client):
    response = client.get("/map/coverage")
    policy = assert_headers(response)
    scripts, nonce = policy["script-src"]
    assert scripts == "'self'" and re.fullmatch(r"'nonce-[\w-]{20,}'", nonce)
    nonce = nonce[len("'nonce-") : -1]
    html = response.get_data(as_text=True)
    tags = re.findall(r"<script\b[^>]*>", html)
    assert len(tags) >= 5
    assert all(f' nonce="{nonce}"' in tag for tag in tags), tags
    again = csp(client.get("/map/coverage"))["script-src"][1]
    assert again != f"'nonce-{nonce}'"  # a new nonce for every response


@pytest.mark.parametrize(
    "url, source",
    [
        ("https://{s}.tiles.example.cn/{z}/{x}/{y}.png", "https://*.tiles.example.cn"),
        ("http://10.1.2.3:8080/tiles/{z}/{x}/{y}.png", "http://10.1.2.3:8080"),
        (
            "https://webrd0{s}.is.autonavi.com/x={x}&y={y}",
            "https://webrd0*.is.autonavi.com",
        ),
    ],
)
def test_images_may_come_from_the_base_map_host(demo_url, url, source):
    basemap = Basemap(url=url, attribution="tiles", crs="wgs84")
    app = create_app({"DATABASE_URL": demo_url, "BASEMAP": basemap})
    response = app.test_client().get("/")
    assert csp(response)["img-src"] == ["'self'", "data:", "blob:", source]


# -- the nonce -----------------------------------------------------------------------


def test_nonce_goes_on_script_tags_not_into_script_text(app):
    html = (
        '<p>x</p><script>var s = "<script>";</script>'
        '<SCRIPT src="/a.js"></SCRIPT><script\ntype="module">1</script>'
    )
    with app.test_request_context():
        nonce = security.csp_nonce()
        out = security.nonce_scripts(html)
    assert out == (
        f'<p>x</p><script nonce="{nonce}">var s = "<script>";</script>'
        f'<SCRIPT nonce="{nonce}" src="/a.js"></SCRIPT>'
        f'<script nonce="{nonce}"\ntype="module">1</script>'
    )


def test_templates_get_the_same_nonce_as_the_header(app):
    with app.test_request_context():
        html = render_template_string('<script nonce="{{ csp_nonce() }}"></script>')
        assert f'nonce="{security.csp_nonce()}"' in html
        assert f"'nonce-{security.csp_nonce()}'" in security.policy(
            security.csp_nonce()
        )


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_templates_have_no_inline_handlers_or_unmarked_scripts(template):
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    assert not re.search(r"\son[a-z]+\s*=", text, re.I), "inline handler: CSP blocks"
    assert "javascript:" not in text.lower()
    for tag in re.findall(r"<script\b[^>]*>", text, re.I):
        assert "csp_nonce()" in tag or "src=" in tag, tag


@pytest.fixture(scope="module")
def hostile_url(make_database) -> str:
    """A district named like the end of a script and the start of another."""
    url = make_database()
    with db.get_engine(url).begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO area (kind, code, name, geom) VALUES ('district', "
                "'100000000000', :n, ST_GeomFromEWKT('SRID=4326;MULTIPOLYGON((("
                "100 30,100.1 30,100.1 30.1,100 30.1,100 30)))'))"
            ),
            {"n": HOSTILE},
        )
        conn.execute(
            sa.text(
                "INSERT INTO incident (code, category, reported_at, description, geom)"
                " VALUES ('X1', 'dispute_debt', now(), :d, "
                "ST_SetSRID(ST_MakePoint(100.05, 30.05), 4326))"
            ),
            {"d": HOSTILE},
        )
        users.add(conn, "root1", "admin", PASSWORD, actor="test")
    return url


def test_data_never_gets_a_nonce(hostile_url):
    # The nonce is added to every <script> of the generated page, so no data
    # may ever form a <script> tag there: the layers escape it.
    client = create_app({"DATABASE_URL": hostile_url}).test_client()
    with_token(client, service_token(hostile_url))
    html = client.get("/map/coverage").get_data(as_text=True)
    assert "window.__xss" not in html  # a page holds no data, only its shell
    layer = client.get("/api/layers/district?bbox=99.9,29.9,100.2,30.2&zoom=12")
    assert layer.mimetype == "application/json"  # data is fetched as JSON
    assert "window.__xss" in layer.get_data(as_text=True)
    assert not re.search(r"<script\b[^>]*>\s*window\.__xss", html, re.I)
    opened = re.findall(r"<script\b", html, re.I)
    closed = re.findall(r"</script\s*>", html, re.I)
    assert len(opened) == len(closed)


# -- the session cookie and proxies ----------------------------------------------------


def session_cookie(app, base_url="http://localhost", **headers) -> str:
    response = app.test_client().get("/login", base_url=base_url, headers=headers)
    (cookie,) = [
        value
        for value in response.headers.getlist("Set-Cookie")
        if value.startswith("session=")
    ]
    assert "; HttpOnly" in cookie and "; SameSite=Lax" in cookie
    return cookie


@pytest.mark.parametrize(
    "setting, base_url, secure",
    [
        ("auto", "https://localhost", True),
        ("auto", "http://localhost", False),
        (True, "http://localhost", True),
        (False, "https://localhost", False),
    ],
)
def test_session_cookie_is_secure_over_https(demo_url, setting, base_url, secure):
    app = create_app({"DATABASE_URL": demo_url, "COOKIE_SECURE": setting})
    assert ("; Secure" in session_cookie(app, base_url)) is secure


@pytest.mark.parametrize("hops, secure", [(1, True), (0, False)])
def test_forwarded_proto_counts_only_behind_a_trusted_proxy(demo_url, hops, secure):
    app = create_app({"DATABASE_URL": demo_url, "PROXY_FIX": hops})
    cookie = session_cookie(app, **{"X-Forwarded-Proto": "https"})
    assert ("; Secure" in cookie) is secure


@pytest.mark.parametrize("hops, address", [(1, "203.0.113.7"), (0, "127.0.0.1")])
def test_the_audit_log_records_the_client_behind_the_proxy(hostile_url, hops, address):
    app = create_app({"DATABASE_URL": hostile_url, "PROXY_FIX": hops})
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"username": "root1", "password": "wrong-password", "csrf_token": token}
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    assert client.post("/login", data=form, headers=forwarded).status_code == 401
    with db.get_engine(hostile_url).connect() as conn:
        (row,) = audit.query(conn, action="login.failed", limit=1)
    assert row["ip"] == address


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, "auto"),
        ({"PINGAN_COOKIE_SECURE": "1"}, True),
        ({"PINGAN_COOKIE_SECURE": "FALSE"}, False),
    ],
)
def test_cookie_secure_setting(monkeypatch, env, expected):
    monkeypatch.delenv("PINGAN_COOKIE_SECURE", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert config.cookie_secure() == expected


@pytest.mark.parametrize(
    "name, value, read",
    [
        ("PINGAN_COOKIE_SECURE", "yes", config.cookie_secure),
        ("PINGAN_PROXY_FIX", "-1", config.proxy_fix),
        ("PINGAN_PROXY_FIX", "nginx", config.proxy_fix),
    ],
)
def test_bad_settings_are_config_errors(monkeypatch, name, value, read):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        read()


def test_proxy_fix_default_trusts_no_proxy(monkeypatch):
    monkeypatch.delenv("PINGAN_PROXY_FIX", raising=False)
    assert config.proxy_fix() == 0
    monkeypatch.setenv("PINGAN_PROXY_FIX", "2")
    assert config.proxy_fix() == 2
