"""The audit log read back: ``gis.audit.query``, ``python -m gis audit`` and
``/admin/audit`` (+ ``.xlsx``), on a hand-made trail with known times (TRAIL).

Two of its rows sit either side of midnight in Beijing, on the same UTC day,
so a date filter read as UTC would get them wrong.  Rows the tests cause
themselves (user.add, audit.list, ...) are stamped now and left out by ``until``.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from gis import audit, clock, db, schema, users
from gis.cli import main
from gis.errors import DatabaseUnavailable, InvalidInput
from webmap import admin, create_app

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-1"
UNTIL = "2025-12-31"  # before any row the tests write themselves
FORMULA = '=HYPERLINK("http://evil","x")'
AT_1 = {"ip": "10.0.0.1", "via": "login page"}
AT_2 = {"ip": "10.0.0.2", "via": "login page"}
TRAIL = [  # Beijing time, user, action, object (kind and code), detail
    ("2025-03-01 08:00", "alice", "login", "user alice", AT_1),
    ("2025-03-01 09:00", "alice", "login.failed", "user alice", AT_2),
    ("2025-03-01 23:30", "mallory", "lo_in", None, None),
    ("2025-03-02 00:30", "bob", "logout", "user bob", None),
    ("2025-03-02 10:00", "bob", "login.locked", "user bob", {"ip": "10.0.0.3"}),
    ("2025-03-03 12:00", "alice", "incident.create", "incident SJ1", {"note": FORMULA}),
]
NEWEST_FIRST = [row[2] for row in reversed(TRAIL)]


@pytest.fixture(scope="module")
def database(make_database) -> str:
    url = make_database()
    with db.get_engine(url).begin() as conn:
        for at, user, action, target, detail in TRAIL:
            kind, code = target.split() if target else (None, None)
            conn.execute(
                sa.text(
                    "INSERT INTO audit_log (at, username, action, object_kind, "
                    "object_code, detail) VALUES (:at, :u, :a, :k, :c, "
                    "CAST(:d AS jsonb))"
                ),
                {
                    "at": clock.parse_time(at, "at"),
                    "u": user,
                    "a": action,
                    "k": kind,
                    "c": code,
                    "d": json.dumps(detail) if detail else None,
                },
            )
        users.add(conn, "root1", "admin", PASSWORD, actor="test")
        users.add(conn, "clerk", "planner", PASSWORD, actor="test")
    return url


@pytest.fixture(scope="module")
def engine(database):
    return db.get_engine(database)


@pytest.fixture(scope="module")
def app(database):
    return create_app({"DATABASE_URL": database, "TESTING": True})


def actions(rows) -> list[str]:
    return [row["action"] for row in rows]


# -- gis.audit.query ----------------------------------------------------------------


def test_query_is_newest_first_with_times_in_beijing(engine):
    with engine.connect() as conn:
        rows = audit.query(conn, until=UNTIL)
    assert actions(rows) == NEWEST_FIRST
    assert rows[-1]["at"].utcoffset().total_seconds() == 8 * 3600
    assert clock.display(rows[-1]["at"]) == "2025-03-01 08:00:00"
    assert rows[-1]["ip"] == "10.0.0.1" and rows[2]["ip"] is None


@pytest.mark.parametrize(
    "action, expected",
    [
        ("login", ["login.locked", "login.failed", "login"]),  # not logout
        ("login.", ["login.locked", "login.failed", "login"]),
        ("login.failed", ["login.failed"]),
        ("logout", ["logout"]),
        ("incident", ["incident.create"]),
        ("lo_in", ["lo_in"]),  # "_" is a character here, not LIKE's wildcard
        ("log", []),  # whole dotted parts only
        ("%", []),
    ],
)
def test_action_matches_whole_dotted_parts(engine, action, expected):
    with engine.connect() as conn:
        assert actions(audit.query(conn, action=action, until=UNTIL)) == expected


@pytest.mark.parametrize(
    "since, until, expected",
    [
        # A date is midnight in Beijing: 00:30 on 2 March (16:30 UTC on the
        # 1st) is in, 23:30 on 1 March (15:30 UTC) is out.
        ("2025-03-02", UNTIL, ["incident.create", "login.locked", "logout"]),
        (None, "2025-03-02", ["lo_in", "login.failed", "login"]),  # until: before
        ("2025-03-01T16:00:00Z", "2025-03-02T10:00", ["logout"]),
        ("2025-03-01 09:00", "2025-03-01 09:00:01", ["login.failed"]),
        (datetime(2025, 3, 3), UNTIL, ["incident.create"]),  # naive: Beijing
    ],
)
def test_since_and_until_are_beijing_time(engine, since, until, expected):
    with engine.connect() as conn:
        assert actions(audit.query(conn, since=since, until=until)) == expected


def test_user_limit_and_offset(engine):
    with engine.connect() as conn:
        alice = audit.query(conn, user="alice", until=UNTIL)
        assert actions(alice) == ["incident.create", "login.failed", "login"]
        assert audit.query(conn, user="ALICE", until=UNTIL) == []  # exact name
        page = audit.query(conn, user="alice", until=UNTIL, limit=1, offset=1)
        assert actions(page) == ["login.failed"]


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2025-13-01"}, "until"),
        ({"limit": 0}, None),
        ({"offset": -1}, None),
    ],
)
def test_bad_filters_are_invalid_input(engine, kwargs, field):
    with engine.connect() as conn, pytest.raises(InvalidInput) as caught:
        audit.query(conn, **kwargs)
    if field:
        assert caught.value.details["field"] == field
        assert "ISO" in caught.value.message


def test_cells_show_the_address_apart_from_the_detail(engine):
    with engine.connect() as conn:
        (row,) = audit.query(conn, action="login.failed")
    assert audit.cells(row) == [
        "2025-03-01 09:00:00",
        "alice",
        "login.failed",
        "user",
        "alice",
        "10.0.0.2",
        '{"via": "login page"}',
    ]


# -- python -m gis audit --------------------------------------------------------------


@pytest.fixture
def cli_db(database, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database)
    return database


def test_cli_prints_a_table_in_beijing_time(cli_db, capsys):
    assert main(["audit", "--action", "login", "--until", UNTIL]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == [label for _, label in audit.COLUMNS]
    assert out[1].split()[:5] == [
        "2025-03-02",
        "10:00:00",
        "bob",
        "login.locked",
        "user",
    ]
    assert "10.0.0.3" in out[1]
    assert out[3].split()[:4] == ["2025-03-01", "08:00:00", "alice", "login"]
    assert '{"via": "login page"}' in out[3]
    assert "3 rows" in out[-1]


def test_cli_json_lines_and_limit(cli_db, capsys):
    assert main(["audit", "--user", "bob", "--until", UNTIL, "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split('"action": "')[1].split('"')[0] for line in lines] == [
        "login.locked",
        "logout",
    ]
    assert '"at": "2025-03-02T10:00:00+08:00"' in lines[0]
    assert main(["audit", "--until", UNTIL, "--limit", "2"]) == 0
    assert "2 rows" in capsys.readouterr().out


def test_cli_refuses_a_bad_date_with_a_message(cli_db, capsys):
    assert main(["audit", "--since", "last week"]) == 1
    assert "since" in capsys.readouterr().err


def read_book(data) -> list[tuple]:
    book = openpyxl.load_workbook(
        data if not isinstance(data, bytes) else io.BytesIO(data)
    )
    assert book.sheetnames == [audit.XLSX_SHEET]
    return list(book.active.iter_rows(values_only=True))


def test_cli_writes_an_excel_workbook(cli_db, engine, tmp_path, capsys):
    path = tmp_path / "审计.xlsx"
    assert main(["audit", "--until", UNTIL, "--xlsx", str(path)]) == 0
    assert "6" in capsys.readouterr().out
    rows = read_book(path)
    assert rows[0] == ("时间", "用户", "操作", "对象类型", "对象", "来源地址", "详情")
    assert [row[2] for row in rows[1:]] == NEWEST_FIRST
    assert rows[-1][:6] == (
        datetime(2025, 3, 1, 8),
        "alice",
        "login",
        "user",
        "alice",
        "10.0.0.1",
    )
    assert json.loads(rows[1][6]) == {"note": FORMULA}
    cell = openpyxl.load_workbook(path).active["G2"]
    assert cell.data_type == "s"  # text, never a formula Excel would run
    assert list(tmp_path.iterdir()) == [path]  # no scratch file left behind
    with engine.connect() as conn:
        (done,) = audit.query(conn, action="audit.export", limit=1)
    assert done["detail"]["rows"] == 6 and done["detail"]["filters"] == {"until": UNTIL}


def test_cli_xlsx_with_filters_and_limit(cli_db, tmp_path, capsys):
    path = tmp_path / "a.xlsx"
    args = ["audit", "--action", "login", "--until", UNTIL, "--limit", "2"]
    assert main([*args, "--xlsx", str(path)]) == 0
    assert [row[2] for row in read_book(path)[1:]] == ["login.locked", "login.failed"]


def test_xlsx_keeps_control_characters_readable(engine):
    with engine.connect() as conn:
        audit.record(conn, "a\x07b", "login.failed", "user", "a\x07b", None)
        out = io.BytesIO()
        assert audit.write_xlsx(conn, out, "test", action="login.failed") == 2
    assert read_book(out.getvalue())[1][1] == "a\\x07b"


# -- /admin/audit ---------------------------------------------------------------------

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def signed_in(app, username: str):
    client = app.test_client()
    token = TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    return client


def table_actions(html: str) -> list[str]:
    return [cells[2] for cells in table_rows(html)]


def table_rows(html: str) -> list[list[str]]:
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    return [
        re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>.*?</tr>", body)
    ]


def test_admin_sees_the_log_and_filters_it(app):
    client = signed_in(app, "root1")
    page = client.get("/admin/audit", query_string={"until": UNTIL})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert table_actions(html) == NEWEST_FIRST
    assert [
        "2025-03-01 08:00:00",
        "alice",
        "login",
        "user",
        "alice",
        "10.0.0.1",
        "{&#34;via&#34;: &#34;login page&#34;}",
    ] in table_rows(html)
    page = client.get(
        "/admin/audit",
        query_string={"action": "login", "since": "2025-03-01 08:30", "until": UNTIL},
    )
    assert table_actions(page.get_data(as_text=True)) == [
        "login.locked",
        "login.failed",
    ]
    page = client.get("/admin/audit", query_string={"user": "bob", "until": UNTIL})
    html = page.get_data(as_text=True)
    assert table_actions(html) == ["login.locked", "logout"]
    assert 'name="user" value="bob"' in html  # the form keeps the filter
    assert 'href="/admin/audit.xlsx?user=bob&amp;until=2025-12-31"' in html


def test_admin_pages_through_the_log(app, monkeypatch):
    monkeypatch.setattr(admin, "PAGE_SIZE", 4)
    client = signed_in(app, "root1")
    first = client.get("/admin/audit?until=2025-12-31").get_data(as_text=True)
    assert table_actions(first) == NEWEST_FIRST[:4]
    assert 'href="/admin/audit?page=2&amp;until=2025-12-31">下一页' in first
    second = client.get("/admin/audit?until=2025-12-31&page=2").get_data(as_text=True)
    assert table_actions(second) == NEWEST_FIRST[4:]
    assert "下一页" not in second and "上一页" in second


def test_a_bad_date_redisplays_the_form_with_the_reason(app):
    client = signed_in(app, "root1")
    page = client.get("/admin/audit?since=yesterday")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "since 必须是 ISO 日期或时间" in html and 'value="yesterday"' in html


def test_admin_exports_what_the_filters_select(app, engine):
    client = signed_in(app, "root1")
    response = client.get("/admin/audit.xlsx?action=login&until=2025-12-31")
    assert response.status_code == 200
    assert response.mimetype == admin.XLSX
    assert "attachment" in response.headers["Content-Disposition"]
    rows = read_book(response.data)
    assert rows[0][0] == "时间"
    assert [row[2] for row in rows[1:]] == ["login.locked", "login.failed", "login"]
    with engine.connect() as conn:
        (done,) = audit.query(conn, action="audit.export", user="root1", limit=1)
    assert done["detail"]["filters"] == {"action": "login", "until": UNTIL}


def test_viewing_the_log_is_itself_logged(app, engine):
    signed_in(app, "root1").get("/admin/audit?user=alice")
    audit.flush_reads()  # the read log holds a record up to READ_DELAY
    with engine.connect() as conn:
        (seen,) = audit.query(conn, action="audit.list", user="root1", limit=1)
    assert seen["detail"]["filters"] == {"user": "alice"}


def test_user_text_in_the_log_is_escaped(app, engine):
    with engine.begin() as conn:
        audit.record(
            conn,
            None,
            "login.failed",
            "user",
            "<script>x()</script>",
            {"ip": "<b>1</b>"},
        )
    html = signed_in(app, "root1").get("/admin/audit").get_data(as_text=True)
    assert "<script>x()" not in html and "&lt;script&gt;x()&lt;/script&gt;" in html
    assert "<b>1</b>" not in html


@pytest.mark.parametrize("path", ["/admin/audit", "/admin/audit.xlsx"])
def test_a_planner_is_forbidden(app, path):
    response = signed_in(app, "clerk").get(path)
    assert response.status_code == 403
    assert "无此权限" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/admin/audit", "/admin/audit.xlsx?user=bob"])
def test_anonymous_users_are_sent_to_sign_in(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin/audit")


def test_start_page_links_the_log_for_admins_only(app):
    assert "/admin/audit" in signed_in(app, "root1").get("/").get_data(as_text=True)
    assert "/admin/audit" not in signed_in(app, "clerk").get("/").get_data(as_text=True)
    assert "/admin/audit" not in app.test_client().get("/").get_data(as_text=True)


# -- the read log: reads of personal data, written in batches ---------------------


def _recorded(engine, action: str, user: str) -> list[dict]:
    with engine.connect() as conn:
        return audit.query(conn, action=action, user=user)


def test_an_idle_worker_writes_a_read_with_its_own_time_and_address(app, engine):
    client = signed_in(app, "root1")
    started = datetime.now(UTC)
    client.get("/admin/audit?user=someone-read")
    answered = datetime.now(UTC)
    deadline = time.monotonic() + audit.READ_IDLE_DELAY + 5
    mine = {"user": "someone-read"}
    while not (
        rows := [
            r for r in _recorded(engine, "audit.list", "root1")
            if r["detail"]["filters"] == mine
        ]
    ):  # fmt: skip
        assert time.monotonic() < deadline, "not written by the read log's timer"
        time.sleep(0.05)
    (row,) = rows
    assert started <= row["at"] <= answered  # the read's time, not the write's
    assert row["ip"] == "127.0.0.1"


def test_a_request_writes_the_due_records_once_its_answer_is_sent(
    app, engine, monkeypatch
):
    monkeypatch.setattr(audit, "READ_IDLE_DELAY", 3600)  # no thread does it
    monkeypatch.setattr(audit, "READ_DELAY", 0.05)
    client = signed_in(app, "root1")
    client.get("/admin/audit?user=due-1").close()  # the server closes it when sent
    assert audit.pending_reads() == 1  # not due yet
    time.sleep(0.1)
    client.get("/admin/audit?user=due-2").close()
    assert audit.pending_reads() == 0
    seen = [r["detail"]["filters"] for r in _recorded(engine, "audit.list", "root1")]
    assert {"user": "due-1"} in seen and {"user": "due-2"} in seen


def test_a_full_batch_is_written_at_once(engine, monkeypatch):
    monkeypatch.setattr(audit, "READ_BATCH", 3)
    monkeypatch.setattr(audit, "READ_IDLE_DELAY", 3600)
    for k in range(3):
        audit.record_read(engine, "batcher", "page.read", "page", f"p{k}")
    assert audit.pending_reads() == 0
    assert len(_recorded(engine, "page.read", "batcher")) == 3


def test_records_are_kept_while_the_database_is_away_and_reads_refused(
    app, server_url, monkeypatch, caplog
):
    """The records wait while their database cannot be written (here: it does
    not exist yet); past READ_STUCK seconds reads are refused; once it can be
    written, the records kept are written, none lost and none twice."""
    name = f"pingan_test_away_{uuid.uuid4().hex[:8]}"
    url = sa.engine.make_url(server_url).set(database=name)
    away = db.get_engine(url.render_as_string(hide_password=False))
    monkeypatch.setattr(audit, "READ_IDLE_DELAY", 3600)
    audit.record_read(away, "waiter", "page.read", "page", "first")
    audit.flush_reads()
    assert audit.pending_reads() == 1
    assert "1 read records wait" in caplog.text
    monkeypatch.setattr(audit, "READ_STUCK", 0.0)
    with pytest.raises(DatabaseUnavailable, match="审计日志无法写入"):
        audit.record_read(away, "waiter", "page.read", "page", "refused")
    client = signed_in(app, "root1")  # a page of personal data: refused too
    response = client.get("/admin/audit")
    assert response.status_code == 503
    assert "审计日志无法写入" in response.get_data(as_text=True)
    created = db.create_database(server_url, name)
    try:
        schema.migrate(db.get_engine(created))
        audit.record_read(away, "waiter", "page.read", "page", "second")
        audit.flush_reads()
        assert audit.pending_reads() == 0
        written = _recorded(away, "page.read", "waiter")
        assert sorted(r["object_code"] for r in written) == ["first", "second"]
    finally:
        db.dispose_engines()
        db.drop_database(server_url, name)


def test_a_process_writes_the_records_it_holds_when_it_exits(engine, database):
    code = (
        "import sys; from gis import audit, db; audit.READ_IDLE_DELAY = 3600; "
        "audit.record_read(db.get_engine(sys.argv[1]), 'leaver', 'page.read', "
        "'page', 'last', None, '10.9.9.9')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, database], cwd=ROOT, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (row,) = _recorded(engine, "page.read", "leaver")
    assert (row["object_code"], row["ip"]) == ("last", "10.9.9.9")
