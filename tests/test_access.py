"""One door, one rule: sign-in for every route, scope by PostgreSQL's row policies.

The world is ``tests.worlds.TWO_STATIONS``: station S1 holds village A (grid
A1), station S2 village B (grid B1).  Each side has a post, an officer, a grid
member, a camera, a site and an incident, and every S2 object's code ends in
``-S2`` or is one of S2's area codes, so a foreign row is easy to spot in any
answer.  ``pcs1`` is S1's station user, ``pcs2`` S2's, ``gm1`` grid A1's member.
"""

from __future__ import annotations

import random
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from gis import access, audit, db, ingest, users
from gis.cli import main
from gis.errors import ConfigError
from gis.layers import LAYERS, BBox, View
from tests.worlds import A1, B1, S1, S2, TWO_STATIONS, A, B, build_areas
from webmap import create_app, guard

PASSWORD = "correct-horse-1"
IN_A, IN_B = (100.05, 30.05), (100.15, 30.05)
FOREIGN = (
    S2,
    B,
    B1,
    "P-S2",
    "O-S2",
    "M-S2",
    "C-S2",
    "X-S2",
    "I-S2",
    "pcs2",
    "13900000002",
    "邻居吵架-S2",
)
# Bounded by anything but letters and digits: Folium's hex element ids are no phones.
PHONE = re.compile(r"(?<![0-9A-Za-z])(1[3-9]\d{9}|0\d{2,3}-\d{7,8})(?![0-9A-Za-z])")
ID_CARD = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
USERS = [  # name, role, station, grid
    ("admin1", "admin", None, None),
    ("plan1", "planner", None, None),
    ("lead1", "leader", None, None),
    ("pcs1", "station", S1, None),
    ("pcs2", "station", S2, None),
    ("gm1", "grid_member", None, A1),
]


def _side(conn, suffix: str, village: str, grid: str, x: float) -> None:
    params = {"s": suffix, "v": village, "g": grid, "x": x}
    conn.execute(
        sa.text("""
        INSERT INTO post (code, name, kind, phone, geom) VALUES
            ('P-' || :s, '警务室' || :s, 'police_room', '1390000000' || right(:s, 1),
             ST_SetSRID(ST_MakePoint(:x, 30.04), 4326));
        INSERT INTO officer (code, name, kind, phone, post_id)
            SELECT 'O-' || :s, '警官' || :s, 'police', '1390000000' || right(:s, 1), id
              FROM post WHERE code = 'P-' || :s;
        INSERT INTO officer_area (officer_id, area_id)
            SELECT o.id, a.id FROM officer o, area a
             WHERE o.code = 'O-' || :s AND a.code = :v AND a.valid_to IS NULL;
        INSERT INTO grid_member (code, name, phone)
            VALUES ('M-' || :s, '网格员' || :s, '1390000000' || right(:s, 1));
        INSERT INTO grid_member_area (member_id, area_id)
            SELECT m.id, a.id FROM grid_member m, area a
             WHERE m.code = 'M-' || :s AND a.code = :g;
        INSERT INTO camera (code, kind, fov, range_m, geom) VALUES
            ('C-' || :s, 'dome', 360, 80, ST_SetSRID(ST_MakePoint(:x, 30.06), 4326));
        INSERT INTO site (code, name, kind, geom) VALUES
            ('X-' || :s, '学校' || :s, 'school',
             ST_SetSRID(ST_MakePoint(:x, 30.07), 4326));
        INSERT INTO incident (code, category, reported_at, description, geom)
            VALUES ('I-' || :s, 'dispute_neighbour', now() - interval '1 day',
                    '邻居吵架-' || :s, ST_SetSRID(ST_MakePoint(:x, 30.05), 4326));
    """),
        params,
    )


@pytest.fixture(scope="module")
def database(make_database) -> str:
    url = make_database()
    with db.get_engine(url).begin() as conn:
        build_areas(conn, TWO_STATIONS)
        _side(conn, "S1", A, A1, 100.05)
        _side(conn, "S2", B, B1, 100.15)
        for name, role, station, grid in USERS:
            users.add(conn, name, role, PASSWORD, station=station, grid=grid)
    return url


@pytest.fixture(scope="module")
def app(database):
    return create_app({"DATABASE_URL": database, "TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


def token(client, username: str) -> dict:
    response = client.post(
        "/api/token", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


@pytest.fixture(scope="module")
def bearer(app) -> dict:
    """A token per test user, made once."""
    client = app.test_client()
    return {name: token(client, name) for name, *_ in USERS}


def sign_in(client, username: str, password: str = PASSWORD, **extra):
    client.get("/login")
    with client.session_transaction() as sess:
        csrf = sess["csrf_token"]
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf},
        **extra,
    )


def foreign_in(text: str) -> list[str]:
    return [marker for marker in FOREIGN if marker in text]


# -- the door --


def _example_url(rule) -> str:
    values = {arg: "x1" for arg in rule.arguments}
    if "filename" in values:
        values["filename"] = "app.css"
    return rule.build(values)[1]


def test_every_route_is_closed_to_anonymous_users_but_the_allow_list(app, client):
    seen = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in guard.PUBLIC:
            continue
        # Deny by default: a route must say which permission opens it.
        assert getattr(app.view_functions[rule.endpoint], "permission", None), (
            rule.endpoint
        )
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = _example_url(rule)
            response = client.open(url, method=method)
            seen += 1
            if rule.rule.startswith("/api/"):
                assert response.status_code == 401, (method, url)
                assert response.json["error"] == "unauthorized"
            elif method == "GET":
                assert response.status_code == 302, (method, url)
                assert response.location.startswith("/login?next=")
            else:  # a form post without its CSRF token is refused first
                assert response.status_code in (302, 400), (method, url)
                assert b"13900000001" not in response.data
    assert seen >= 12


@pytest.mark.parametrize("path", ["/login", "/healthz", "/static/app.css"])
def test_the_allow_list_is_open(client, path):
    assert client.get(path).status_code == 200


def test_anonymous_pages_redirect_to_login_and_come_back(client):
    response = client.get("/map/coverage?x=1")
    assert response.status_code == 302
    location = urlsplit(response.location)
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/map/coverage?x=1"]


@pytest.mark.parametrize(
    "role, path, status",
    [
        ("admin1", "/map/coverage", 200),
        ("plan1", "/map/coverage", 200),
        ("lead1", "/map/coverage", 403),
        ("pcs1", "/map/coverage", 403),
        ("gm1", "/map/coverage", 403),
        ("plan1", "/map/heat", 200),
        ("lead1", "/map/heat", 200),
        ("pcs1", "/map/heat", 403),
        ("gm1", "/map/heat", 403),
        ("plan1", f"/map/station/{S2}", 200),
        ("pcs1", f"/map/station/{S1}", 200),
        ("pcs1", f"/map/station/{S2}", 404),
        ("pcs1", "/map/station/nosuch", 404),
        ("lead1", f"/map/station/{S1}", 403),
        ("gm1", f"/map/station/{S1}", 200),
        ("gm1", f"/map/station/{S2}", 404),
        ("lead1", "/api/incidents", 403),
        ("pcs1", "/api/incidents", 200),
        ("gm1", "/api/incidents", 200),
        ("lead1", "/api/lookup?lon=100.05&lat=30.05", 200),
        ("pcs1", "/import", 403),
        ("lead1", "/import", 403),
        ("plan1", "/import", 200),
        ("lead1", "/api/export/incidents.csv", 403),
        ("pcs1", "/api/export/incidents.csv", 200),
        ("pcs1", "/", 200),
        ("lead1", "/", 200),
    ],
)
def test_each_role_opens_what_it_may_and_nothing_else(
    client, bearer, role, path, status
):
    response = client.get(path, headers=bearer[role])
    assert response.status_code == status, response.data[:300]


def test_the_start_page_shows_only_what_the_role_may_open(client):
    sign_in(client, "lead1")
    page = client.get("/").get_data(as_text=True)
    assert "/map/heat" in page
    assert "/map/coverage" not in page and "/map/station" not in page
    sign_in(client, "pcs1")
    page = client.get("/").get_data(as_text=True)
    assert f"/map/station/{S1}" in page and f"/map/station/{S2}" not in page
    assert "/map/coverage" not in page and "/map/heat" not in page


# -- two stations --


def test_a_station_finds_no_neighbour_record_by_list_get_or_patch(client, bearer):
    headers = bearer["pcs1"]
    listed = client.get("/api/incidents?limit=10000", headers=headers)
    assert [f["properties"]["code"] for f in listed.json["features"]] == ["I-S1"]
    assert not foreign_in(listed.get_data(as_text=True))
    assert (
        client.get("/api/incidents?station=" + S2, headers=headers).json["features"]
        == []
    )
    missing = client.get("/api/incidents/NO-SUCH", headers=headers)
    foreign = client.get("/api/incidents/I-S2", headers=headers)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json["message"].replace("I-S2", "X") == missing.json[
        "message"
    ].replace("NO-SUCH", "X")
    patched = client.patch(
        "/api/incidents/I-S2", json={"status": "dispatched"}, headers=headers
    )
    assert patched.status_code == 404


def test_a_station_may_not_choose_codes_so_none_can_be_probed(client, bearer):
    for code in ("I-S2", "I-S1", "NEW-1"):
        response = client.post(
            "/api/incidents",
            json={"lon": IN_A[0], "lat": IN_A[1], "category": "case", "code": code},
            headers=bearer["pcs1"],
        )
        assert response.status_code == 400
        assert response.json["details"]["field"] == "code"
        assert "I-S2" not in response.json["message"]


def test_a_point_filed_in_the_neighbourhood_is_routed_without_a_word_of_it(
    client, bearer, database
):
    response = client.post(
        "/api/incidents",
        json={"lon": IN_B[0], "lat": IN_B[1], "category": "dispute_debt"},
        headers=bearer["pcs1"],
    )
    assert response.status_code == 202
    assert set(response.json) == {"code", "routed"}
    assert not foreign_in(response.get_data(as_text=True))
    code = response.json["code"]
    with db.get_engine(database).connect() as conn:  # the owner sees it routed
        row = conn.execute(
            sa.text(
                "SELECT i.status, s.code FROM incident i JOIN area s "
                "ON s.id = i.station_id WHERE i.code = :c"
            ),
            {"c": code},
        ).one()
    assert tuple(row) == ("dispatched", S2)
    assert (
        client.get(f"/api/incidents/{code}", headers=bearer["pcs1"]).status_code == 404
    )
    got = client.get(f"/api/incidents/{code}", headers=bearer["pcs2"])
    assert got.status_code == 200


def test_lookup_names_every_area_but_only_people_in_scope(client, bearer):
    answer = client.get(
        f"/api/lookup?lon={IN_B[0]}&lat={IN_B[1]}", headers=bearer["pcs1"]
    ).json
    assert answer["village"]["code"] == B and answer["police_station"]["code"] == S2
    assert answer["officers"] == [] and answer["grid_members"] == []
    assert (answer["nearest_post"] or {}).get("code") != "P-S2"
    own = client.get(f"/api/lookup?lon={IN_A[0]}&lat={IN_A[1]}", headers=bearer["pcs1"])
    assert [o["code"] for o in own.json["officers"]] == ["O-S1"]
    assert [m["code"] for m in own.json["grid_members"]] == ["M-S1"]
    batch = client.post(
        "/api/lookup", json=[list(IN_A), list(IN_B)], headers=bearer["pcs1"]
    )
    people = str([(r["officers"], r["grid_members"]) for r in batch.json["results"]])
    assert "O-S1" in people and "S2" not in people


@pytest.mark.parametrize(
    "layer",
    [
        "villages",
        "grids",
        "stations",
        "posts",
        "officers",
        "cameras",
        "sites",
        "incidents",
    ],
)
def test_a_station_exports_only_its_own_rows(client, bearer, layer):
    response = client.get(f"/api/export/{layer}.csv", headers=bearer["pcs1"])
    assert response.status_code == 200
    text = response.get_data().decode("utf-8-sig")
    assert not foreign_in(text), text
    assert len(text.splitlines()) == 2, text  # the header and S1's one row


def layer_texts(client, headers, station: str | None = None) -> str:
    """Everything a map can fetch, as one text: every layer over the world at
    a low, a middle and a close zoom, and the popup of every feature drawn."""
    texts = []
    focus = {"station": station} if station else {}
    for name in LAYERS:
        for zoom in (9, 13, 17):
            query = {"bbox": "99.9,29.9,100.3,30.2", "zoom": zoom, **focus}
            answer = client.get(f"/api/layers/{name}", query_string=query,
                                headers=headers)  # fmt: skip
            if answer.status_code == 403:  # a layer not for this role
                continue
            assert answer.status_code == 200, answer.get_data(as_text=True)
            texts.append(answer.get_data(as_text=True))
            for feature in answer.get_json()["features"]:
                if "id" in feature:
                    popup = client.get(
                        f"/api/layers/{name}/features/{feature['id']}",
                        headers=headers,
                    )
                    assert popup.status_code == 200
                    texts.append(popup.get_data(as_text=True))
    return "\n".join(texts)


def test_a_station_page_shows_nothing_of_the_neighbour(client, bearer):
    page = client.get(f"/map/station/{S1}", headers=bearer["pcs1"])
    assert page.status_code == 200 and not foreign_in(page.get_data(as_text=True))
    text = layer_texts(client, bearer["pcs1"], station=S1)
    assert "I-S1" in text and "C-S1" in text and "13900000001" in text
    assert not foreign_in(text)
    # Without the page's focus the policies still keep the neighbour out.
    assert not foreign_in(layer_texts(client, bearer["pcs1"]))


def _begin_as(app, conn, username: str) -> access.User:
    with db.get_engine(app.config["DATABASE_URL"]).begin() as owner:
        secret, _ = users.sign_in(owner, username, PASSWORD, "127.0.0.1", "token")
    user = access.begin(conn.connection.dbapi_connection, secret)
    assert user is not None and user.username == username
    return user


@pytest.fixture
def as_pcs1(app):
    with app.app_context():
        from webmap import requestdb

        conn = db.connect(requestdb.engine())
    try:
        _begin_as(app, conn, "pcs1")
        yield conn
    finally:
        conn.close()


def test_layer_data_in_any_box_across_the_border_holds_no_foreign_feature(as_pcs1):
    rng = random.Random(11)
    for _ in range(300):
        west = rng.uniform(99.95, 100.099)
        east = rng.uniform(100.101, 100.25)
        south = rng.uniform(29.95, 30.05)
        north = rng.uniform(south + 0.001, 30.15)
        view = View(BBox(west, south, east, north), rng.randint(7, 19))
        for name, layer in LAYERS.items():
            answer = layer.fetch(as_pcs1, view)
            assert not foreign_in(answer.json()), (name, view)
            for feature in answer.collection()["features"]:
                if "id" in feature:
                    assert not foreign_in(str(layer.detail(as_pcs1, feature["id"])))


def test_raw_sql_through_the_app_connection_finds_no_foreign_row(as_pcs1, database):
    tables = (
        as_pcs1.execute(
            sa.text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                "'public' AND table_type = 'BASE TABLE' ORDER BY 1"
            )
        )
        .scalars()
        .all()
    )
    with db.get_engine(database).connect() as owner:
        foreign_ids = set(
            owner.execute(
                sa.text(
                    "SELECT id FROM area WHERE station_id = (SELECT id FROM area "
                    "WHERE code = :s)"
                ),
                {"s": S2},
            ).scalars()
        )
    readable = 0
    for table in tables:
        try:
            with as_pcs1.begin_nested():
                rows = (
                    as_pcs1.execute(
                        sa.text(f"SELECT row_to_json(t)::text FROM {table} t")
                    )
                    .scalars()
                    .all()
                )
        except sa.exc.ProgrammingError as exc:  # no grant at all: nothing to find
            assert "permission denied" in str(exc.orig), table
            continue
        readable += 1
        for row in rows:
            assert not foreign_in(row), (table, row)
            keys = "area_id|station_id|village_id|grid_id" + (
                "|id|parent_id" if table == "area" else ""
            )
            ids = re.findall(rf'"(?:{keys})":(\d+)', row)
            assert not foreign_ids & {int(i) for i in ids}, (table, row)
    assert readable >= 10


def test_the_web_role_cannot_step_around_the_policies(app, as_pcs1):
    flags = as_pcs1.execute(
        sa.text(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
    ).one()
    assert tuple(flags) == (False, False)
    assert as_pcs1.execute(sa.text("SELECT current_user")).scalar() == "pingan_web"
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        as_pcs1.execute(sa.text("DELETE FROM audit_log"))


def test_an_owner_url_for_the_web_app_is_refused(database):
    # The owner's URL, as its own engine (the pooled owner connections of the
    # other tests were made before the check).
    owner = database + "&application_name=mistaken_web"
    owner_app = create_app(
        {"DATABASE_URL": database, "WEB_DATABASE_URL": owner, "TESTING": True}
    )
    with owner_app.app_context(), pytest.raises(ConfigError, match="pingan_web"):
        from webmap import requestdb

        db.connect(requestdb.engine())


# -- leaders --


def test_leaders_get_patterns_not_people(client, bearer, database, monkeypatch):
    headers = bearer["lead1"]
    texts = [
        client.get(path, headers=headers).get_data(as_text=True)
        for path in ("/", "/map/heat", f"/api/lookup?lon={IN_A[0]}&lat={IN_A[1]}")
    ]
    batch = client.post("/api/lookup", json=[list(IN_A), list(IN_B)], headers=headers)
    texts.append(batch.get_data(as_text=True))
    texts.append(layer_texts(client, headers))
    for text in texts:
        assert not PHONE.search(text) and not ID_CARD.search(text)
        assert "邻居吵架" not in text and "警官" not in text and "网格员S" not in text
        assert "I-S1" not in text and "P-S1" not in text
    assert "pingan-heat.js" in texts[1]  # the density is drawn...
    monkeypatch.setenv("PINGAN_SMALL_COUNT", "1")  # every count shown, to add up
    heat = client.get(
        "/api/layers/heat", query_string={"bbox": "99.9,29.9,100.3,30.2", "zoom": 12},
        headers=headers,
    ).get_json()
    with db.get_engine(database).connect() as owner:
        incidents = owner.execute(sa.text("SELECT count(*) FROM incident")).scalar()
    assert sum(f["properties"]["n"] for f in heat["features"]) == incidents > 0


# -- sign-in, lock-out, sessions --


def test_lock_out_after_failures_and_unlock_after_the_window(
    client, database, monkeypatch
):
    monkeypatch.setenv("PINGAN_LOCKOUT", "3,50,15")
    with db.get_engine(database).begin() as conn:
        users.add(conn, "victim", "planner", PASSWORD)
    for _ in range(2):
        assert sign_in(client, "victim", "wrong-password").status_code == 401
    third = sign_in(client, "victim", "wrong-password")
    assert third.status_code == 429
    assert "锁定" in third.get_data(as_text=True)
    assert re.search(
        r"请于 \d{4}-\d\d-\d\d \d\d:\d\d 后再试", third.get_data(as_text=True)
    )
    api = client.post("/api/token", json={"username": "victim", "password": PASSWORD})
    assert api.status_code == 429  # the right password too, while locked
    assert api.json["details"]["locked_until"]
    with db.get_engine(database).begin() as conn:  # the window passes
        conn.execute(
            sa.text(
                "UPDATE login_failure SET at = at - interval '16 minutes' "
                "WHERE username = 'victim'"
            )
        )
    assert sign_in(client, "victim").status_code == 302
    with db.get_engine(database).connect() as conn:
        actions = (
            conn.execute(
                sa.text(
                    "SELECT action FROM audit_log WHERE object_code = 'victim' "
                    "AND action LIKE 'login%' ORDER BY id"
                )
            )
            .scalars()
            .all()
        )
    assert actions == [
        "login.failed",
        "login.failed",
        "login.failed",
        "login.locked",
        "login.refused",
        "login",
    ]


def test_an_address_is_locked_out_across_accounts(client, monkeypatch):
    monkeypatch.setenv("PINGAN_LOCKOUT", "50,4,15")
    env = {"REMOTE_ADDR": "10.9.9.9"}
    for i in range(3):
        response = sign_in(client, f"guess{i}", "x", environ_base=env)
        assert response.status_code == 401
    assert sign_in(client, "guess9", "x", environ_base=env).status_code == 429
    # Another address is not affected.
    assert (
        sign_in(client, "plan1", environ_base={"REMOTE_ADDR": "10.9.9.8"}).status_code
        == 302
    )


def test_a_locked_out_attempt_costs_no_password_check(client, monkeypatch):
    monkeypatch.setenv("PINGAN_LOCKOUT", "1,50,15")
    calls = []
    real = users.check_password
    monkeypatch.setattr(users, "check_password", lambda *a: calls.append(1) or real(*a))
    sign_in(client, "nobody_here", "x")
    assert len(calls) == 1
    for _ in range(5):
        assert sign_in(client, "nobody_here", "x").status_code == 429
    assert len(calls) == 1


def test_logout_ends_the_session_so_a_replayed_cookie_is_refused(app):
    client = app.test_client()
    sign_in(client, "pcs1")
    assert client.get("/api/incidents").status_code == 200
    cookie = client.get_cookie("session").value
    with client.session_transaction() as sess:
        csrf = sess["csrf_token"]
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert thief.get("/api/incidents").status_code == 401
    assert thief.get("/map/station/" + S1).status_code == 302


def test_a_password_change_ends_sessions_and_tokens(app, database):
    client = app.test_client()
    with db.get_engine(database).begin() as conn:
        users.add(conn, "mover", "planner", PASSWORD)
    headers = token(client, "mover")
    sign_in(client, "mover")
    with db.get_engine(database).begin() as conn:
        users.set_password(conn, "mover", "another-password-2")
    assert client.get("/api/incidents", headers=headers).status_code == 401
    assert client.get("/api/incidents").status_code == 401


def test_service_tokens_are_issued_and_revoked_one_by_one(
    app, database, monkeypatch, capsys
):
    monkeypatch.setenv("DATABASE_URL", database)
    client = app.test_client()
    assert (
        main(["token", "issue", "hotline12345", "--role", "planner", "--days", "30"])
        == 0
    )
    first = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["token", "issue", "hotline12345", "--role", "planner"]) == 0
    second = capsys.readouterr().out.strip().splitlines()[-1]
    for secret in (first, second):
        headers = {"Authorization": f"Bearer {secret}"}
        assert client.get("/api/incidents", headers=headers).status_code == 200
    assert main(["token", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    ids = [line.split("\t")[0] for line in listed if "hotline12345" in line]
    assert len(ids) == 2
    assert main(["token", "revoke", ids[0]]) == 0
    first_h = {"Authorization": f"Bearer {first}"}
    second_h = {"Authorization": f"Bearer {second}"}
    assert client.get("/api/incidents", headers=first_h).status_code == 401
    assert client.get("/api/incidents", headers=second_h).status_code == 200
    # A service account has no password to guess.
    response = client.post(
        "/api/token", json={"username": "hotline12345", "password": "!"}
    )
    assert response.status_code == 401


def _lookup_rows(database, username: str) -> int:
    audit.flush_reads()  # the read log holds a record up to READ_DELAY
    with db.get_engine(database).connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT count(*) FROM audit_log WHERE username = :u "
                "AND action = 'lookup'"
            ),
            {"u": username},
        ).scalar()


@pytest.mark.parametrize(
    ("end", "first"),
    [
        ("sign_out", "lookup"),  # another worker's logout
        ("disable", "lookup"),
        # Refused before any statement (bad input): checked before it answers.
        ("sign_out", "bad input"),
        # By hand in the database: the worker remembered another role.
        ("UPDATE app_user SET role = 'leader', station_id = NULL "
         "WHERE username = :u", "lookup"),
    ],
)  # fmt: skip
def test_a_token_its_worker_knows_is_refused_at_once_when_it_ends(
    app, database, end, first
):
    """A worker remembers whom a token belongs to and checks the session in
    the lookup's own round trip: an ended one gets a 401 and no answer."""
    name = f"known_{len(end)}_{len(first)}"
    with db.get_engine(database).begin() as conn:
        users.add(conn, name, "station", PASSWORD, station=S1)
    client = app.test_client()
    headers = token(client, name)
    lookup = "/api/lookup?lon={}&lat={}".format(*IN_A)
    assert client.get(lookup, headers=headers).status_code == 200  # remembered
    assert _lookup_rows(database, name) == 1
    with db.get_engine(database).begin() as conn:
        if end == "sign_out":
            users.sign_out(conn, headers["Authorization"].split()[1])
        elif end == "disable":
            users.disable(conn, name)
        else:
            conn.execute(sa.text(end), {"u": name})
    response = client.get(
        lookup if first == "lookup" else "/api/lookup?lon=%00", headers=headers
    )
    assert response.status_code == 401, response.json
    assert response.json["error"] == "unauthorized"
    assert "officers" not in response.json
    response = client.get(lookup, headers=headers)  # forgotten: pingan_begin
    if end.startswith("UPDATE"):  # the session lives on in its new role
        assert response.status_code == 200 and response.json["officers"] == []
    else:
        assert response.status_code == 401
        assert _lookup_rows(database, name) == 1


def test_a_session_that_ended_leaves_no_scope_on_the_connection(app, database):
    """The refused check's transaction takes its settings back; the scope the
    connection had before (another user's) must not stay either."""
    with db.get_engine(database).begin() as owner:
        secret, _ = users.sign_in(owner, "pcs2", PASSWORD, "127.0.0.1", "token")
    with app.app_context():
        from webmap import requestdb

        conn = db.connect(requestdb.engine())
    try:
        _begin_as(app, conn, "pcs1")  # a scope on the connection
        assert access.begin(conn.connection.dbapi_connection, secret) is not None
        _begin_as(app, conn, "pcs1")
        with db.get_engine(database).begin() as owner:
            users.sign_out(owner, secret)
        assert access.begin_known(conn, secret) is not None  # remembered
        dbapi = conn.connection.dbapi_connection
        dbapi.autocommit = True
        with dbapi.cursor() as cursor:
            with pytest.raises(access.SessionEnded):
                access.scoped(conn, cursor).execute("SELECT count(*) FROM post")
            cursor.execute("SELECT current_setting('pingan.role', true)")
            assert cursor.fetchone()[0] == ""
        assert access.begin_known(conn, secret) is None  # forgotten
    finally:
        conn.close()


def test_a_lookup_checks_its_session_itself_and_never_trusts_the_hint(app, database):
    """A connection whose settings a worker believes are a session's scope
    carries the check in the lookup's own statement (pingan_alive, migration
    0021).  The belief is only a hint: when the settings are someone else's
    scope the database refuses (PA409) and the lookup runs again behind
    pingan_resume, so pcs2 gets pcs2's officers, never pcs1's; an ended
    session is refused with no answer and no audit row."""
    from gis import lookup

    with db.get_engine(database).begin() as owner:
        pcs2, _ = users.sign_in(owner, "pcs2", PASSWORD, "127.0.0.1", "token")
    with app.app_context():
        from webmap import requestdb

        conn = db.connect(requestdb.engine())
    try:
        user = access.begin(conn.connection.dbapi_connection, pcs2, "127.0.0.1")
        access.remember_scope(conn, pcs2, "127.0.0.1")
        assert access.begin_known(conn, pcs2, "127.0.0.1") == user
        lookup.lookup(conn, *IN_B, audit_as="pcs2")  # prepared on this connection
        _begin_as(app, conn, "pcs1")  # the settings are pcs1's now ...
        access.remember_scope(conn, pcs2, "127.0.0.1")  # ... the hint says pcs2's
        retried = []
        real_execute = access._CheckedCursor.execute

        def execute(self, query, params=None):
            retried.append(access._EMBEDDED in self._info)
            return real_execute(self, query, params)

        def officers_seen(x, y):
            assert access.begin_known(conn, pcs2, "127.0.0.1") == user
            answer = lookup.lookup(conn, x, y, audit_as="pcs2")
            return [o["code"] for o in answer["officers"]]

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(access._CheckedCursor, "execute", execute)
            assert officers_seen(*IN_B) == ["O-S2"]  # refused, run again as pcs2
        assert retried == [True]  # the statement carried the check
        assert officers_seen(*IN_A) == []  # pcs1's village: not pcs2's to see
        assert officers_seen(*IN_B) == ["O-S2"]  # checked in the statement
        before = _lookup_rows(database, "pcs2")
        with db.get_engine(database).begin() as owner:
            users.sign_out(owner, pcs2)
        with pytest.raises(access.SessionEnded):
            officers_seen(*IN_B)
        assert _lookup_rows(database, "pcs2") == before
        dbapi = conn.connection.dbapi_connection
        with dbapi.cursor() as cursor:
            cursor.execute("SELECT current_setting('pingan.role', true)")
            assert cursor.fetchone()[0] == ""  # and no scope is left behind
    finally:
        conn.close()


def test_the_nearest_post_function_keeps_to_the_rule(as_pcs1, database):
    """pingan_nearest_post searches the index as the owner, then applies the
    rule: pcs1 is given its own post even from inside S2, never S2's."""
    nearest = sa.text(
        "SELECT p.code FROM pingan_nearest_post(ST_SetSRID(ST_MakePoint(:x, :y), "
        "4326)) n JOIN post p ON p.id = n.id"
    )
    for x, y in (IN_A, IN_B, (100.15, 30.04)):
        assert as_pcs1.execute(nearest, {"x": x, "y": y}).scalar() == "P-S1"
    with db.get_engine(database).connect() as owner:  # whom no policy binds
        assert owner.execute(nearest, {"x": 100.15, "y": 30.04}).scalar() == "P-S2"
    as_pcs1.exec_driver_sql("SELECT FROM pingan_begin(NULL, NULL)")
    missing = as_pcs1.execute(
        sa.text("SELECT id FROM pingan_nearest_post(ST_MakePoint(100.15, 30.04))")
    )
    assert missing.scalar() is None  # nobody signed in: no post


@pytest.mark.parametrize(
    ("username", "expected"),
    [("pcs1", "P-S1"), ("pcs2", "P-S2"), ("gm1", "P-S1"), ("plan1", None)],
)
def test_the_nearest_post_is_among_the_callers_own(app, username, expected):
    """A station or a grid member reads only their own posts (migration 0024):
    from anywhere, even beside the neighbour's post, theirs is the answer, at
    its true distance; a planner gets the nearest of all."""
    nearest = sa.text(
        "SELECT p.code, n.distance_m, ST_Distance(p.geom::geography, "
        "ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography, false) FROM "
        "pingan_nearest_post(ST_SetSRID(ST_MakePoint(:x, :y), 4326)) n "
        "JOIN post p ON p.id = n.id"
    )
    with app.app_context():
        from webmap import requestdb

        conn = db.connect(requestdb.engine())
    try:
        _begin_as(app, conn, username)
        for x, y in ((100.05, 30.041), (100.15, 30.041), (100.3, 30.2)):
            code, distance, true = conn.execute(nearest, {"x": x, "y": y}).one()
            assert distance == pytest.approx(true, abs=0.5)  # on the sphere, as KNN
            if expected is None:  # the nearer of the two posts
                assert code == ("P-S2" if x > 100.1 else "P-S1")
            else:
                assert code == expected
    finally:
        conn.close()


def test_a_stations_nearest_post_among_equals_is_the_smallest_id(app, database):
    """A station's nearest post comes from its own posts' index two at a time
    (migration 0029); where posts tie at the nearest distance, the smallest
    id still wins, as ``ORDER BY distance, id`` gives, whichever two the index
    hands over first."""
    # On one spot in S1, the smallest id made last: an index hands equals
    # over in the order they came, so the first two are not the answer.
    posts = {"P-T1": 900_003, "P-T2": 900_002, "P-T3": 900_001}
    owner = db.get_engine(database)
    with owner.begin() as conn:
        for code, post_id in posts.items():
            conn.execute(
                sa.text(
                    "INSERT INTO post (id, code, name, kind, geom) VALUES (:i, :c, "
                    ":c, 'police_room', ST_SetSRID(ST_MakePoint(100.03, 30.02), 4326))"
                ),
                {"i": post_id, "c": code},
            )
    nearest = sa.text(
        "SELECT p.code FROM pingan_nearest_post(ST_SetSRID(ST_MakePoint(:x, :y), "
        "4326)) n JOIN post p ON p.id = n.id"
    )
    with app.app_context():
        from webmap import requestdb

        conn = db.connect(requestdb.engine())
    try:
        _begin_as(app, conn, "pcs1")
        for x, y in ((100.03, 30.021), (100.031, 30.02), (100.02, 30.01)):
            assert conn.execute(nearest, {"x": x, "y": y}).scalar() == "P-T3"
        # Far from the three, the station's own post is nearer: no tie to break.
        assert conn.execute(nearest, {"x": 100.05, "y": 30.041}).scalar() == "P-S1"
    finally:
        conn.close()
        with owner.begin() as cleanup:
            cleanup.execute(sa.text("DELETE FROM post WHERE code = ANY(:c)"),
                            {"c": list(posts)})  # fmt: skip


def test_old_scrypt_hashes_are_replaced_by_argon2_at_sign_in(client, database):
    old = (
        "scrypt:16384:8:1$"
        + "00" * 16
        + "$"
        + __import__("hashlib")
        .scrypt(PASSWORD.encode(), salt=bytes(16), n=16384, r=8, p=1, dklen=32)
        .hex()
    )
    with db.get_engine(database).begin() as conn:
        users.add(conn, "oldtimer", "planner", PASSWORD)
        conn.execute(
            sa.text(
                "UPDATE app_user SET password_hash = :h WHERE username = 'oldtimer'"
            ),
            {"h": old},
        )
    assert sign_in(client, "oldtimer").status_code == 302
    with db.get_engine(database).connect() as conn:
        stored = conn.execute(
            sa.text("SELECT password_hash FROM app_user WHERE username = 'oldtimer'")
        ).scalar()
    assert stored.startswith("$argon2id$")
    assert users.check_password(stored, PASSWORD)


# -- the audit log --


def test_every_read_of_personal_data_is_audited(client, bearer, database, tmp_path):
    def last(action):
        audit.flush_reads()  # the read log holds a record up to READ_DELAY
        with db.get_engine(database).connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT username, client_addr, detail FROM audit_log "
                    "WHERE action = :a ORDER BY id DESC LIMIT 1"
                ),
                {"a": action},
            ).first()

    headers = bearer["pcs1"]
    client.get(f"/map/station/{S1}", headers=headers)
    assert last("page.read").username == "pcs1"
    client.get("/api/incidents", headers=headers)
    assert last("incident.list").username == "pcs1"
    client.get("/api/incidents/I-S1", headers=headers)
    assert last("incident.read").client_addr == "127.0.0.1"
    client.get(f"/api/lookup?lon={IN_A[0]}&lat={IN_A[1]}", headers=bearer["plan1"])
    assert last("lookup").username == "plan1"
    client.get("/api/export/officers.csv", headers=headers)
    assert last("layer.export").username == "pcs1"
    path = tmp_path / "sites.csv"
    path.write_text("编码,名称,类型,经度,纬度\nX-NEW,新学校,school,100.02,30.02\n")
    ingest.import_file(db.get_engine(database), "sites", path, username="plan1")
    assert last("data.import").username == "plan1"
    # A lookup that names nobody (the leader's) is no read of personal data.
    with db.get_engine(database).connect() as conn:
        before = conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar()
    client.get(f"/api/lookup?lon={IN_A[0]}&lat={IN_A[1]}", headers=bearer["lead1"])
    audit.flush_reads()
    with db.get_engine(database).connect() as conn:
        after = conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar()
    assert after == before


def test_a_lookup_is_recorded_only_when_it_names_people(client, bearer, database):
    """A lookup's record holds the points looked up and how many named someone
    the caller may see; a station looking up the neighbour's point names
    nobody and leaves no record."""

    def rows(username):
        audit.flush_reads()
        with db.get_engine(database).connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT detail, client_addr FROM audit_log WHERE username = :u "
                    "AND action = 'lookup' ORDER BY id"
                ),
                {"u": username},
            ).all()

    before = len(rows("plan1"))
    outside = (100.5, 30.5)  # in no area: nobody to name
    response = client.post(
        "/api/lookup", json=[list(IN_A), list(outside), list(IN_B)],
        headers=bearer["plan1"],
    )  # fmt: skip
    assert response.status_code == 200
    written = rows("plan1")[before:]
    assert [tuple(row) for row in written] == [
        ({"points": 3, "named": 2}, "127.0.0.1")
    ]
    before = len(rows("pcs1"))
    client.get("/api/lookup?lon={}&lat={}".format(*IN_B), headers=bearer["pcs1"])
    assert len(rows("pcs1")) == before


def test_audit_record_takes_the_request_address(as_pcs1):
    audit.record(as_pcs1, "pcs1", "probe", None, None)
    addr = as_pcs1.execute(
        sa.text("SELECT client_addr FROM audit_log WHERE action = 'probe'")
    ).scalar()
    as_pcs1.rollback()
    assert addr is None  # begun without an address: none is made up


def test_a_token_lasts_its_hours(client, database):
    headers = token(client, "plan1")
    with db.get_engine(database).connect() as conn:
        ttl = conn.execute(
            sa.text(
                "SELECT expires_at - created_at FROM auth_session "
                "ORDER BY id DESC LIMIT 1"
            )
        ).scalar()
    assert ttl == timedelta(hours=12)
    assert client.get("/api/incidents", headers=headers).status_code == 200
