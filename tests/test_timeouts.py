"""The database never hangs the service: a frozen server gives fast 503s.

A throwaway embedded cluster of this module's own (its own var directory and
port; as root the server runs as ``postgres``) is frozen with SIGSTOP, the
postmaster and every backend, which is what a hung VM or stalled disk looks
like: nothing answers and nothing refuses.  A real app behind a real waitress
server must then answer 503 within its limits (``PINGAN_DB_STATEMENT_TIMEOUT``
2 s + the watchdog's grace, ``PINGAN_DB_CONNECT_TIMEOUT`` 2 s, /healthz
1.5 s), serve static files and the sign-in page at once, and recover once the
cluster runs again.  Every test thaws the cluster on its way out, failing or
not, and the module stops and removes it.
"""

from __future__ import annotations

import http.cookiejar
import json
import logging
import os
import re
import shutil
import signal
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg2
import pytest
import sqlalchemy as sa

from gis import db, deadlines, embedded, schema, users
from gis.errors import DatabaseUnavailable

logger = logging.getLogger(__name__)
STATEMENT_S = 2  # PINGAN_DB_STATEMENT_TIMEOUT for this module's app
CONNECT_S = 2  # PINGAN_DB_CONNECT_TIMEOUT (libpq's smallest)
MARGIN_S = 1.5  # scheduling on a loaded 2-core machine
LOOKUP = "/api/lookup?lon=115.03&lat=35.76"
PASSWORD = "correct-horse-1"
DISTRICT = sa.text(
    "INSERT INTO area (kind, code, name, geom) VALUES ('district', '410902000000', "
    "'华龙区', ST_GeomFromEWKT('SRID=4326;MULTIPOLYGON(((115 35.7,115.1 35.7,"
    "115.1 35.8,115 35.8,115 35.7)))'))"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FrozenCluster:
    """The throwaway cluster's processes, to stop and continue."""

    def __init__(self, postmaster: int):
        self.postmaster = postmaster
        self.stopped: set[int] = set()

    def processes(self) -> list[int]:
        """The postmaster and its children (backends, checkpointer, ...)."""
        found = [self.postmaster]
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # gone meanwhile
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.postmaster:
                found.append(int(entry.name))
        return found

    def freeze(self) -> None:
        # The postmaster first, so that it forks no backend we would miss.
        for _ in range(2):  # again, for a fork that was under way
            for pid in self.processes():
                self._signal(pid, signal.SIGSTOP)
                self.stopped.add(pid)

    def thaw(self) -> None:
        for pid in self.stopped | set(self.processes()):
            self._signal(pid, signal.SIGCONT)
        self.stopped.clear()

    @staticmethod
    def _signal(pid: int, signum: int) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A new embedded cluster with the schema and one planner; thawed, stopped
    and removed at the end whatever happened."""
    tmp = tmp_path_factory.mktemp("frozen")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PINGAN_VAR_DIR", str(tmp / "var"))
        env.setenv("PINGAN_PG_PORT", str(_free_port()))
        env.setenv("PINGAN_DB_STATEMENT_TIMEOUT", str(STATEMENT_S))
        env.setenv("PINGAN_DB_CONNECT_TIMEOUT", str(CONNECT_S))
        env.delenv("DATABASE_URL", raising=False)
        frozen = url = None
        try:
            state = embedded.start()
            frozen = FrozenCluster(state["pid"])
            url = embedded.locate().url()
            schema.migrate(db.get_engine(url))
            with db.get_engine(url).begin() as conn:
                conn.execute(DISTRICT)  # the map pages need one
                users.add(conn, "zongzhi", "planner", PASSWORD, actor="test")
            yield url, frozen
        finally:
            if frozen is not None:
                frozen.thaw()
            if url is not None:  # only ours: other modules' engines stay
                for web in (False, True):
                    db.get_engine(url, request_timeouts=web).dispose()
            root = embedded.locate().root
            embedded.stop()
            if not str(root).startswith(str(tmp)):
                shutil.rmtree(root, ignore_errors=True)  # relocated (as root)


class LiveServer:
    """A waitress server for one Flask app in a background thread (the
    conftest pattern: real sockets, so the times are real)."""

    def __init__(self, flask_app):
        from waitress.server import create_server

        self.server = create_server(flask_app, host="127.0.0.1", port=0, threads=8)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.closing = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.server.run()
        except OSError:
            if not self.closing:  # close() pulling the socket is the loop ending
                raise

    def close(self) -> None:
        self.closing = True
        self.server.close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def live(cluster):
    from webmap import create_app

    url, _ = cluster
    server = LiveServer(create_app({"DATABASE_URL": url, "TESTING": True}))
    yield server
    server.close()


@pytest.fixture
def frozen(cluster):
    """Freeze the cluster in the test (``frozen.freeze()``); thawed after it."""
    _, processes = cluster
    yield processes
    processes.thaw()


class Browser:
    """An HTTP client with a cookie jar, timing every answer."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar)
        )

    def get(self, path: str, accept: str = "*/*", data: dict | None = None):
        """``(status, content type, body, seconds)``; never waits over 60 s."""
        body = urllib.parse.urlencode(data).encode() if data else None
        request = urllib.request.Request(
            self.base + path, data=body, headers={"Accept": accept}
        )
        start = time.monotonic()
        try:
            with self.opener.open(request, timeout=60) as response:
                status, headers = response.status, response.headers
                text = response.read().decode()
        except urllib.error.HTTPError as error:
            status, headers, text = error.code, error.headers, error.read().decode()
        seconds = time.monotonic() - start
        method = "POST" if data else "GET"
        logger.info("%s %s: %d in %.2f s", method, path, status, seconds)
        return status, headers.get_content_type(), text, seconds

    def sign_in(self) -> None:
        page = self.get("/login")[2]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        form = {"username": "zongzhi", "password": PASSWORD, "csrf_token": token}
        assert self.get("/login", data=form)[0] == 200  # redirected to /
        assert any(cookie.name == "session" for cookie in self.jar)


@pytest.fixture
def browser(live):
    return Browser(live.url)


def _warm(browser: Browser, *paths: str) -> None:
    """Each path answers now, leaving connections in the pool to go stale."""
    for path in paths:
        status, _, body, _ = browser.get(path)
        assert status == 200, body


def test_a_statement_on_a_pooled_connection_is_cut_and_answers_503_json(
    browser, frozen
):
    browser.sign_in()
    _warm(browser, LOOKUP, LOOKUP)
    frozen.freeze()
    status, kind, body, seconds = browser.get(LOOKUP)
    assert status == 503, body
    assert kind == "application/json"
    answer = json.loads(body)
    assert answer["error"] == "database_unavailable"
    assert "数据库" in answer["message"] and "database" in answer["message"]
    assert seconds < STATEMENT_S + deadlines.GRACE + MARGIN_S
    # The pool was thrown away: the next one waits for a connection instead.
    status, _, _, seconds = browser.get(LOOKUP)
    assert status == 503 and seconds < CONNECT_S + MARGIN_S
    frozen.thaw()
    _warm(browser, LOOKUP)  # nothing broken was kept


def test_a_browser_page_answers_the_chinese_503_page(browser, frozen):
    """Signed in, the error page must not ask the frozen database who is."""
    browser.sign_in()
    _warm(browser, "/map/coverage")
    frozen.freeze()
    status, kind, body, seconds = browser.get("/map/coverage", accept="text/html")
    assert status == 503 and kind == "text/html", body
    assert "出错了（503）" in body and "数据库无法连接" in body
    assert seconds < STATEMENT_S + deadlines.GRACE + MARGIN_S
    frozen.thaw()
    _warm(browser, "/map/coverage")


def test_healthz_says_503_within_two_seconds(browser, frozen):
    _warm(browser, "/healthz")
    frozen.freeze()
    status, kind, body, seconds = browser.get("/healthz")
    assert status == 503 and kind == "application/json"
    assert json.loads(body)["error"] == "database_unavailable"
    assert seconds < 2.0
    frozen.thaw()
    _warm(browser, "/healthz")


def test_static_files_and_the_sign_in_page_do_not_wait(browser, frozen):
    _warm(browser, "/healthz")
    frozen.freeze()
    # An anonymous page is sent to the sign-in page without asking anyone.
    for path in ("/static/app.css", "/login", "/map/coverage"):
        status, _, body, seconds = browser.get(path, accept="text/html")
        assert status == 200, (path, body)
        assert seconds < 1.0, path
    assert "用户名" in body  # /map/coverage ended on the sign-in form


def test_the_sign_in_page_of_a_signed_in_browser_does_not_wait(browser, frozen):
    """Its header names who signed in on this browser from the signed cookie,
    without asking the database."""
    browser.sign_in()
    _warm(browser, "/login")
    frozen.freeze()
    status, _, body, seconds = browser.get("/login", accept="text/html")
    assert status == 200, body
    assert "zongzhi" in body
    assert seconds < 1.0


def test_a_slow_statement_is_cancelled_by_the_server_first(cluster):
    """A living server cancels at its statement_timeout, before the client's
    deadline: a 503 that keeps the connection."""
    url, _ = cluster
    with db.get_engine(url, request_timeouts=True).connect() as conn:
        raw = conn.connection.dbapi_connection
        start = time.monotonic()
        with pytest.raises(DatabaseUnavailable, match="查询超过 2 秒"):
            conn.execute(sa.text("SELECT pg_sleep(10)"))
        assert time.monotonic() - start < STATEMENT_S + deadlines.GRACE
        conn.rollback()
        # A raw cursor (gis.lookup's) meets the driver's error, which the web
        # layer tells apart the same way (a shorter limit, to save time).
        with raw.cursor() as cursor, pytest.raises(psycopg2.Error) as caught:
            cursor.execute("SET LOCAL statement_timeout = '200ms'")
            cursor.execute("SELECT pg_sleep(10)")
        assert db.cancelled_for_time(caught.value)
        raw.rollback()
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
        assert conn.connection.dbapi_connection is raw and not raw.timed_out


def test_a_cut_connection_is_not_reused_and_its_backend_ends(cluster, frozen):
    url, _ = cluster
    with db.get_engine(url, request_timeouts=True).connect() as conn:
        pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        frozen.freeze()
        start = time.monotonic()
        with deadlines.within(1), pytest.raises(DatabaseUnavailable):
            conn.execute(sa.text("SELECT 1"))
        assert time.monotonic() - start < 1 + MARGIN_S
        assert conn.invalidated
    frozen.thaw()
    with db.get_engine(url).connect() as admin:  # the frozen backend, awake,
        for _ in range(50):  # reads end-of-file and goes
            alive = admin.execute(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid},
            ).scalar()
            if not alive:
                break
            time.sleep(0.1)
    assert not alive


def test_request_engines_are_apart_from_bulk_engines(cluster):
    """The CLI's bulk work has no deadline; the web's engine does."""
    url, _ = cluster
    bulk = db.get_engine(url)
    web = db.get_engine(url, request_timeouts=True)
    assert web is not bulk and db.get_engine(url, request_timeouts=True) is web
    show = sa.text("SHOW statement_timeout")
    with bulk.connect() as conn:
        assert conn.execute(show).scalar() == "0"
    with web.connect() as conn:
        assert conn.execute(show).scalar() == f"{STATEMENT_S}s"
        assert isinstance(conn.connection.dbapi_connection, deadlines.Connection)
