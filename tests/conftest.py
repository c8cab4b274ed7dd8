"""Shared fixtures: a real PostGIS, a real Flask app, a real headless browser.

The database is the project's embedded cluster (started if needed) or the server
named by ``DATABASE_URL``; each test session creates throwaway databases there,
migrates them and drops them afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from gis import audit, db, embedded, schema

ARTIFACTS = Path(__file__).resolve().parent.parent / "var" / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def uses_embedded() -> bool:
    """True when the tests run on the project's own cluster (DATABASE_URL unset)."""
    return not os.environ.get("DATABASE_URL")


@pytest.fixture(scope="session")
def server_url() -> str:
    """URL of the PostgreSQL server the tests may create databases on."""
    return db.database_url(start_embedded=True)


@pytest.fixture(scope="session")
def make_database(server_url):
    """Factory: a new, migrated, empty database; all are dropped at the end."""
    created = []

    def make() -> str:
        name = f"pingan_test_{uuid.uuid4().hex[:10]}"
        url = db.create_database(server_url, name)
        created.append(name)
        schema.migrate(db.get_engine(url))
        return url

    yield make
    db.dispose_engines()
    for name in created:
        db.drop_database(server_url, name)


@pytest.fixture(autouse=True)
def _reads_recorded():
    """The records of a test's reads are written when it ends (the read log
    holds them up to gis.audit.READ_DELAY), never during the next test."""
    yield
    audit.flush_reads()


@pytest.fixture(scope="module", autouse=True)
def _close_pools():
    """Each module's apps leave pooled connections behind (an owner's and a web
    role's pool per database): close them when the module is done, so a long
    run never meets the server's connection limit."""
    yield
    db.dispose_engines()


@pytest.fixture(scope="session")
def demo_url(make_database) -> str:
    """A database holding the default demo world (loaded once per session)."""
    from gis import demo

    url = make_database()
    demo.load(db.get_engine(url))
    return url


@pytest.fixture(scope="session")
def demo_engine(demo_url) -> sa.Engine:
    return db.get_engine(demo_url)


@pytest.fixture(scope="session")
def engine(demo_engine) -> sa.Engine:
    """The database ``conn`` uses; a test module may override it with its own."""
    return demo_engine


@pytest.fixture
def conn(engine):
    """A connection whose changes are rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def made_incidents(demo_engine):
    """Codes of incidents a test adds to the shared demo world; deleted after
    it, with those the demo's station user filed (other tests count the
    demo's incidents)."""
    codes: list[str] = []
    yield codes
    with demo_engine.begin() as connection:
        connection.execute(
            sa.text(
                "DELETE FROM incident WHERE code = ANY(:c) "
                "OR created_by = 't_station'"
            ),
            {"c": codes},
        )


EVIL = '<img src=x onerror="window.__xss=1">'


@pytest.fixture
def evil_url(make_database) -> str:
    """A database whose district name and incident description are hostile HTML."""
    url = make_database()
    with db.get_engine(url).begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO area (kind, code, name, geom) VALUES ('district', "
                "'100000000000', :n, ST_GeomFromEWKT('SRID=4326;MULTIPOLYGON((("
                "100 30,100.1 30,100.1 30.1,100 30.1,100 30)))'))"
            ),
            {"n": EVIL},
        )
        connection.execute(
            sa.text(
                "INSERT INTO incident (code, category, reported_at, description, geom)"
                " VALUES ('X1', 'dispute_debt', now(), :d, "
                "ST_SetSRID(ST_MakePoint(100.05, 30.05), 4326))"
            ),
            {"d": EVIL},
        )
    return url


TEST_PASSWORD = "test-password-1"


@pytest.fixture(scope="session")
def accounts(demo_url) -> dict[str, str]:
    """One user per role in the demo database: name → role (``TEST_PASSWORD``)."""
    from gis import users

    made = {}
    with db.get_engine(demo_url).begin() as conn:
        station, grid = conn.execute(
            sa.text(
                "SELECT s.code, min(g.code) FROM area s JOIN area g ON "
                "g.station_id = s.id AND g.kind = 'grid' WHERE s.kind = "
                "'police_station' GROUP BY s.code ORDER BY s.code LIMIT 1"
            )
        ).one()
        for role, binding in [
            ("admin", {}),
            ("planner", {}),
            ("leader", {}),
            ("station", {"station": station}),
            ("grid_member", {"grid": grid}),
        ]:
            users.add(conn, f"t_{role}", role, TEST_PASSWORD, **binding)
            made[f"t_{role}"] = role
    return made


def login(client, username: str, password: str = TEST_PASSWORD):
    """Sign ``client`` (a Flask test client) in through the login form."""
    client.get("/login")
    with client.session_transaction() as session:
        csrf = session["csrf_token"]
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def service_token(url: str, role: str = "admin", name: str | None = None) -> str:
    """A live API token on database ``url`` for a service account in ``role``."""
    from gis import users

    with db.get_engine(url).begin() as conn:
        token, _ = users.issue_service_token(conn, name or f"svc_{role}", role)
    return token


def with_token(client, token: str):
    """``client`` sending ``Authorization: Bearer <token>`` with every request."""
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


@pytest.fixture(scope="session", autouse=True)
def _demo_accounts_elsewhere(tmp_path_factory):
    """The demo command keeps its accounts in var/demo-users.txt: the tests'
    demo runs (their own databases) must not overwrite the developer's."""
    from gis.demo import accounts

    target = tmp_path_factory.mktemp("demo-accounts") / "demo-users.txt"
    patch = pytest.MonkeyPatch()
    patch.setattr(accounts, "path", lambda: target)
    yield target
    patch.undo()


@pytest.fixture(scope="session")
def app(demo_url):
    from webmap import create_app

    return create_app({"DATABASE_URL": demo_url, "TESTING": True})


@pytest.fixture
def client(app, accounts):
    """A test client signed in as the demo database's admin."""
    client = app.test_client()
    login(client, "t_admin")
    return client


@pytest.fixture(scope="session")
def api_client(app, demo_url):
    """A test client of an API caller: an admin service account's token."""
    return with_token(app.test_client(), service_token(demo_url, name="svc_api"))


@pytest.fixture
def anonymous(app):
    """A test client nobody signed in with."""
    return app.test_client()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """A waitress server for one Flask app in a background thread."""

    def __init__(self, flask_app):
        from waitress.server import create_server

        self.port = free_port()
        self.server = create_server(
            flask_app, host="127.0.0.1", port=self.port, threads=4
        )
        self.closing = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        try:
            self.server.run()
        except OSError:
            # close() may pull the socket from under the loop's select():
            # that EBADF is the loop ending, anything else a real failure.
            if not self.closing:
                raise

    def close(self) -> None:
        self.closing = True
        self.server.close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="session")
def live_server(app):
    server = LiveServer(app)
    yield server
    server.close()


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright (never a downloaded one)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run ./scripts/setup --dev")
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


class OfflinePage:
    """A browser page that may reach only 127.0.0.1; records what it tried."""

    def __init__(self, browser):
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.external: list[str] = []
        self.errors: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on(
            "console", lambda m: m.type == "error" and self.errors.append(m.text)
        )

    def sign_in(self, base_url: str, username: str, password: str = TEST_PASSWORD):
        """Sign in through the login page, as a user would."""
        self.page.goto(f"{base_url}/login", wait_until="load")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state("load")
        assert "/login" not in self.page.url, self.page.content()[:500]

    def _route(self, route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "data:", "about:")):
            route.continue_()
        else:
            self.external.append(url)
            route.abort()


@pytest.fixture
def offline_page(browser):
    page = OfflinePage(browser)
    yield page
    page.page.close()


@pytest.fixture
def admin_page(offline_page, live_server, accounts):
    """An offline page signed in to the live server as the admin."""
    offline_page.sign_in(live_server.url, "t_admin")
    return offline_page


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def pytest_report_header(config):
    where = "embedded cluster" if uses_embedded() else "DATABASE_URL server"
    return [
        f"pingan-grid: PostGIS on the {where}; "
        f"embedded cluster at {embedded.locate().root}"
    ]
