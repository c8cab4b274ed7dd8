"""Intake, dispatch, workflow and overdue lists, through the real HTTP API.

The world (WGS84), two stations split at 100.1:

    lat 30.1 +-----------+--------+----+
             | village A | vill. B|gap |      outside: anything east of 100.2
             | grid A1   | grid B1|    |
    lat 30.0 +-----------+--------+----+
          100.0   S1   100.1  S2  100.18 100.2

Officer O1 (post P1) answers for village A; grid member M1 works grid A1.
Village B has nobody, but it has its station S2.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from gis import crs, db, incidents, users
from gis.cli import main
from tests.worlds import S1, S2, TOWNSHIP, TWO_STATIONS, A, B, build_areas, build_duty
from webmap import create_app

AREAS = TWO_STATIONS
IN_A = (100.05, 30.05)
IN_B = (100.15, 30.05)
IN_GAP = (100.19, 30.05)
OUTSIDE = (100.5, 30.05)
PASSWORD = "correct-horse-1"


@pytest.fixture(scope="module")
def database(make_database) -> str:
    url = make_database()
    with db.get_engine(url).begin() as conn:
        build_areas(conn, AREAS)
        build_duty(conn)
        for name, role, station in [
            ("admin1", "admin", None),
            ("clerk", "planner", None),
            ("boss", "leader", None),
            ("pcs1", "station", S1),
            ("pcs2", "station", S2),
        ]:
            users.add(conn, name, role, PASSWORD, station=station, actor="test")
    return url


@pytest.fixture(scope="module")
def engine(database):
    return db.get_engine(database)


@pytest.fixture(scope="module")
def client(database):
    return create_app({"DATABASE_URL": database, "TESTING": True}).test_client()


def auth(client, username: str) -> dict:
    response = client.post(
        "/api/token", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


@pytest.fixture(scope="module")
def clerk(client) -> dict:
    return auth(client, "clerk")


def count(engine, table: str = "incident") -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()


def intake(client, headers, point=IN_A, **fields):
    body = {"lon": point[0], "lat": point[1], "category": "dispute_neighbour"}
    return client.post("/api/incidents", json={**body, **fields}, headers=headers)


def walk(client, headers, code: str, *steps: str):
    response = None
    for step in steps:
        body = {"status": step}
        if step == "resolved":
            body["resolved_level"] = "village"
        response = client.patch(f"/api/incidents/{code}", json=body, headers=headers)
        assert response.status_code == 200, response.json
    return response


# -- tokens and roles ---------------------------------------------------------------


def test_token_is_issued_for_the_right_password(client):
    response = client.post(
        "/api/token", json={"username": "pcs1", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.json["user"] == {
        "username": "pcs1",
        "role": "station",
        "role_label": "派出所",
        "station": S1,
    }
    assert response.json["token_type"] == "Bearer"


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"username": "clerk", "password": "wrong-password"}, 401, None),
        ({"username": "nobody", "password": PASSWORD}, 401, None),
        ({"username": "clerk"}, 400, "password"),
        ({"password": PASSWORD}, 400, "username"),
    ],
)
def test_token_refusals(client, body, status, field):
    response = client.post("/api/token", json=body)
    assert response.status_code == status
    assert response.is_json and response.json["message"]
    assert response.json.get("details", {}).get("field") == field
    assert "token" not in response.json


@pytest.mark.parametrize(
    "method, path",
    [("get", "/api/incidents"), ("post", "/api/incidents"),
     ("patch", "/api/incidents/X"), ("get", "/api/incidents/X")],
)  # fmt: skip
@pytest.mark.parametrize(
    "header", [None, "Bearer nonsense", "Basic Y2xlcms6eA==", "Bearer "]
)
def test_incident_api_needs_a_valid_token(client, engine, method, path, header):
    before = count(engine)
    headers = {"Authorization": header} if header else {}
    response = getattr(client, method)(path, json={}, headers=headers)
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert count(engine) == before


def test_expired_token_is_refused(client, engine):
    headers = auth(client, "clerk")
    with engine.begin() as conn:  # the token's 12 hours have passed
        conn.execute(sa.text(
            "UPDATE auth_session SET expires_at = now() - interval '1 second' "
            "WHERE id = (SELECT max(id) FROM auth_session)"
        ))  # fmt: skip
    response = client.get("/api/incidents", headers=headers)
    assert response.status_code == 401
    assert "过期" in response.json["message"]


def test_password_change_and_disable_revoke_tokens(client, engine):
    with engine.begin() as conn:
        users.add(conn, "temp", "planner", PASSWORD, actor="test")
    headers = auth(client, "temp")
    assert client.get("/api/incidents", headers=headers).status_code == 200
    with engine.begin() as conn:
        users.set_password(conn, "temp", "another-pass-2", actor="test")
    assert client.get("/api/incidents", headers=headers).status_code == 401
    response = client.post(
        "/api/token", json={"username": "temp", "password": "another-pass-2"}
    )
    headers = {"Authorization": f"Bearer {response.json['token']}"}
    assert client.get("/api/incidents", headers=headers).status_code == 200
    with engine.begin() as conn:
        users.disable(conn, "temp", actor="test")
    assert client.get("/api/incidents", headers=headers).status_code == 401


def test_leaders_neither_read_records_nor_write(client, engine):
    headers = auth(client, "boss")
    response = client.get("/api/incidents", headers=headers)
    assert response.status_code == 403  # patterns, not people: no records
    before = count(engine)
    response = intake(client, headers)
    assert response.status_code == 403
    assert response.json["details"]["permission"] == "incident.create"
    assert count(engine) == before


def test_cli_manages_users(database, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database)
    assert main(["user", "add", "cli_user", "--role", "station", "--station", S2,
                 "--password", PASSWORD]) == 0  # fmt: skip
    assert '"station": "100000520000"' in capsys.readouterr().out
    assert main(["user", "add", "cli_user", "--role", "planner",
                 "--password", PASSWORD]) == 1  # fmt: skip
    assert "已存在" in capsys.readouterr().err
    assert main(["user", "add", "x2", "--role", "station", "--password", PASSWORD]) == 1
    assert "--station" in capsys.readouterr().err
    assert main(["user", "add", "x3", "--role", "planner", "--password", "short"]) == 1
    assert "password" in capsys.readouterr().err
    assert main(["user", "passwd", "cli_user", "--password", "new-password-9"]) == 0
    assert main(["user", "disable", "cli_user"]) == 0
    assert main(["user", "disable", "no_such_user"]) == 1
    with db.get_engine(database).connect() as conn:
        assert users.get(conn, "cli_user") is None  # disabled
        actions = conn.execute(
            sa.text(
                "SELECT action FROM audit_log WHERE object_code = 'cli_user' "
                "ORDER BY id"
            )
        ).scalars()
        assert list(actions) == ["user.add", "user.passwd", "user.disable"]


# -- intake and dispatch ----------------------------------------------------------


def test_intake_assigns_and_dispatches(client, clerk, engine):
    response = intake(client, clerk, description="楼上漏水", source="12345热线")
    assert response.status_code == 201, response.json
    feature = response.json
    props = feature["properties"]
    assert response.headers["Location"].endswith(f"/api/incidents/{props['code']}")
    assert props["code"].startswith("SJ") and "-" in props["code"]
    assert props["status"] == "dispatched"
    assert (props["village"], props["grid"], props["station"]) == (A, A + "001", S1)
    assert props["township"] == TOWNSHIP
    assert props["created_by"] == "clerk"
    targets = feature["dispatched_to"]
    assert [m["code"] for m in targets["grid_members"]] == ["M1"]
    assert [o["code"] for o in targets["officers"]] == ["O1"]
    assert targets["officers"][0]["post"]["code"] == "P1"
    assert targets["station"]["code"] == S1
    assert targets["nearest_post"]["code"] == "P1"
    assert [h["action"] for h in feature["history"]] == [
        "incident.create",
        "incident.dispatch",
    ]
    assert {h["username"] for h in feature["history"]} == {"clerk"}
    with engine.connect() as conn:  # the stored row, assigned by the database
        stored = conn.execute(
            sa.text(
                "SELECT v.code, i.status FROM incident i JOIN area v "
                "ON v.id = i.village_id WHERE i.code = :c"
            ),
            {"c": props["code"]},
        ).one()
    assert tuple(stored) == (A, "dispatched")


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_phone_map_coordinates_land_in_the_same_village(client, clerk, system):
    lon, lat = crs.from_wgs84(*IN_A, system)
    response = intake(client, clerk, point=(float(lon), float(lat)), crs=system)
    assert response.status_code == 201
    assert response.json["properties"]["village"] == A
    assert response.json["geometry"]["coordinates"] == pytest.approx(IN_A, abs=1e-7)


def test_intake_where_only_the_station_answers(client, clerk):
    for point, village in ((IN_B, B), (IN_GAP, None)):
        response = intake(client, clerk, point=point)
        assert response.status_code == 201
        props, targets = response.json["properties"], response.json["dispatched_to"]
        assert props["status"] == "dispatched"
        assert props["village"] == village
        assert targets["officers"] == [] and targets["grid_members"] == []
        assert targets["station"]["code"] == S2


def test_intake_outside_every_jurisdiction_waits_for_a_person(client, clerk):
    response = intake(client, clerk, point=OUTSIDE, risk="红色(重大风险)")
    assert response.status_code == 201
    props = response.json["properties"]
    assert props["status"] == "received"
    assert props["risk"] == "red"  # the Chinese label is accepted
    assert props["village"] is None and props["station"] is None
    assert response.json["dispatched_to"] is None


def test_intake_keeps_the_report_time_and_generates_unique_codes(client, clerk):
    codes = set()
    for _ in range(3):
        response = intake(client, clerk, reported_at="2026-01-05T08:30:00")
        assert response.status_code == 201
        props = response.json["properties"]
        assert props["reported_at"].startswith("2026-01-05T08:30:00+08")
        codes.add(props["code"])
    assert len(codes) == 3
    assert all(code.startswith("SJ20260105-") for code in codes)


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"lon": None}, "lon"),
        ({"lat": "abc"}, "lat"),
        ({"lat": 95}, "lat"),
        ({"lon": float("nan")}, "lon"),
        ({"lon": -70.0, "lat": 40.0, "crs": "gcj02"}, "lon"),
        ({"crs": "EPSG:999999"}, "crs"),
        ({"crs": "mars"}, "crs"),
        ({"category": "alien_abduction"}, "category"),
        ({"category": None}, "category"),
        ({"risk": "purple"}, "risk"),
        ({"reported_at": "yesterday"}, "reported_at"),
        ({"reported_at": "2999-01-01T00:00:00"}, "reported_at"),
        ({"description": 42}, "description"),
        ({"description": "长" * 2001}, "description"),
        ({"code": "has space"}, "code"),
        ({"categroy": "dispute_debt"}, "categroy"),
    ],
)
def test_bad_intake_is_a_400_naming_the_field(client, clerk, engine, fields, field):
    before = (count(engine), count(engine, "audit_log"))
    response = intake(client, clerk, **fields)
    assert response.status_code == 400, response.json
    assert response.json["error"] == "invalid_input"
    assert response.json["details"]["field"] == field
    assert (count(engine), count(engine, "audit_log")) == before


@pytest.mark.parametrize(
    "data, content_type",
    [("{not json", "application/json"), ("[1, 2]", "application/json"),
     ("lon=1", "application/x-www-form-urlencoded")],
)  # fmt: skip
def test_intake_body_must_be_a_json_object(client, clerk, engine, data, content_type):
    before = count(engine)
    response = client.post(
        "/api/incidents", data=data, content_type=content_type, headers=clerk
    )
    assert response.status_code == 400
    assert response.json["details"]["field"] == "body"
    assert count(engine) == before


# What a report may not be: each is a 400 naming the field, and writes nothing.
# Types a JSON body can put anywhere (a list is not even hashable), offsets no
# clock shows, dates before the county's records begin, and points that a CRS
# places outside China.
ABSURD_INTAKE = {
    "category-list": ({"category": ["dispute_debt"]}, "category"),
    "category-object": ({"category": {"code": "dispute_debt"}}, "category"),
    "category-number": ({"category": 7}, "category"),
    "risk-object": ({"risk": {"red": True}}, "risk"),
    "risk-list": ({"risk": ["red"]}, "risk"),
    "crs-list": ({"crs": ["gcj02"]}, "crs"),
    "crs-bool": ({"crs": True}, "crs"),
    "code-list": ({"code": ["A1"]}, "code"),
    "code-newline": ({"code": "A1\n"}, "code"),
    "source-object": ({"source": {"a": 1}}, "source"),
    "description-list": ({"description": ["楼上漏水"]}, "description"),
    "reported_at-list": ({"reported_at": ["2026-01-05"]}, "reported_at"),
    "reported_at-number": ({"reported_at": 1767573000}, "reported_at"),
    "lon-list": ({"lon": [100.05]}, "lon"),
    "lat-object": ({"lat": {"v": 30.05}}, "lat"),
    "offset-23:59": ({"reported_at": "2025-01-01T00:00:00+23:59"}, "reported_at"),
    "offset-15:00": ({"reported_at": "2025-01-01T00:00:00+15:00"}, "reported_at"),
    "year-1-at+14": ({"reported_at": "0001-01-01T00:00:00+14:00"}, "reported_at"),
    "year-9999-at-14": ({"reported_at": "9999-12-31T23:59:59-14:00"}, "reported_at"),
    "year-1": ({"reported_at": "0001-01-01T00:00:00"}, "reported_at"),
    "before-1949-10-01": ({"reported_at": "1949-09-30T23:59:59+08:00"}, "reported_at"),
    "qing-dynasty": ({"reported_at": "1900-01-01T00:00:00"}, "reported_at"),
    "in-ten-minutes": ({"reported_at": "in-ten-minutes"}, "reported_at"),
    "gauss-kruger-1e308": ({"lon": 1e308, "lat": 1e308, "crs": "EPSG:4547"}, "lon"),
    "gauss-kruger-1e7": ({"lon": 1e7, "lat": 1e7, "crs": "EPSG:4547"}, "lon"),
    "web-mercator-pole": ({"lon": 5e5, "lat": 1e12, "crs": "EPSG:3857"}, "lon"),
    "beijing-1954-1e308": ({"lon": 1e308, "lat": 1e308, "crs": "EPSG:4214"}, "lat"),
    "siberia": ({"lon": 100.0, "lat": 70.0}, "lat"),
    "new-york": ({"lon": -74.0, "lat": 40.7}, "lon"),
    "tokyo-in-web-mercator": (
        {"lon": 15_556_000, "lat": 4_257_000, "crs": "EPSG:3857"},
        "lon",
    ),
}


@pytest.mark.parametrize(
    ("fields", "field"), ABSURD_INTAKE.values(), ids=ABSURD_INTAKE.keys()
)
def test_absurd_or_mistyped_intake_is_a_400(client, clerk, engine, fields, field):
    if fields.get("reported_at") == "in-ten-minutes":  # past the clock skew
        later = datetime.now().astimezone() + incidents.CLOCK_SKEW * 2
        fields = {"reported_at": later.isoformat()}
    before = (count(engine), count(engine, "audit_log"))
    response = intake(client, clerk, **fields)
    assert response.status_code == 400, response.json
    assert response.json["error"] == "invalid_input" and response.json["message"]
    assert response.json["details"]["field"] == field
    assert (count(engine), count(engine, "audit_log")) == before


@pytest.mark.parametrize(
    "reported_at",
    [
        "1949-10-01T00:00:00+08:00",
        "1949-09-30T16:00:00Z",
        "2025-01-01T00:00:00-12:00",
        "2025-01-01T00:00:00+14:00",
    ],
)
def test_intake_takes_every_real_time_since_the_founding(client, clerk, reported_at):
    response = intake(client, clerk, reported_at=reported_at)
    assert response.status_code == 201, response.json
    reported = datetime.fromisoformat(response.json["properties"]["reported_at"])
    assert reported == datetime.fromisoformat(reported_at.replace("Z", "+00:00"))


def test_duplicate_code_is_a_conflict_and_writes_nothing(client, clerk, engine):
    assert intake(client, clerk, code="HOTLINE-7").status_code == 201
    before = (count(engine), count(engine, "audit_log"))
    response = intake(client, clerk, code="HOTLINE-7", point=IN_B)
    assert response.status_code == 409
    assert response.json["details"]["field"] == "code"
    assert (count(engine), count(engine, "audit_log")) == before


# -- workflow -----------------------------------------------------------------------


def test_the_whole_workflow_is_recorded(client, clerk, engine):
    code = intake(client, clerk).json["properties"]["code"]
    pcs1 = auth(client, "pcs1")
    walk(client, pcs1, code, "handling")
    response = client.patch(
        f"/api/incidents/{code}",
        json={"status": "resolved", "resolved_level": "township", "note": "调解成功"},
        headers=pcs1,
    )
    assert response.status_code == 200
    props = response.json["properties"]
    assert props["resolved_level"] == "township" and props["resolved_at"]
    response = walk(client, clerk, code, "followed_up", "archived")
    history = response.json["history"]
    assert [(h["action"], h["username"], (h["detail"] or {}).get("to"))
            for h in history] == [
        ("incident.create", "clerk", None),
        ("incident.dispatch", "clerk", None),
        ("incident.transition", "pcs1", "handling"),
        ("incident.transition", "pcs1", "resolved"),
        ("incident.transition", "clerk", "followed_up"),
        ("incident.transition", "clerk", "archived"),
    ]  # fmt: skip
    assert history[3]["detail"]["note"] == "调解成功"
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT status, resolved_level FROM incident WHERE code = :c"),
            {"c": code},
        ).one()
    assert tuple(row) == ("archived", "township")


@pytest.mark.parametrize(
    "steps, attempt, allowed",
    [
        ((), "resolved", ["handling"]),
        ((), "received", ["handling"]),
        ((), "dispatched", ["handling"]),
        (("handling",), "archived", ["resolved"]),
        (("handling", "resolved"), "handling", ["followed_up"]),
        (("handling", "resolved", "followed_up", "archived"), "followed_up", []),
    ],
)
def test_wrong_transitions_are_409_with_the_allowed_ones(
    client, clerk, engine, steps, attempt, allowed
):
    code = intake(client, clerk).json["properties"]["code"]
    walk(client, clerk, code, *steps)
    before = count(engine, "audit_log")
    body = {"status": attempt}
    if attempt == "resolved":
        body["resolved_level"] = "village"
    response = client.patch(f"/api/incidents/{code}", json=body, headers=clerk)
    assert response.status_code == 409
    assert response.json["details"]["allowed"] == allowed
    assert response.json["details"]["status"] == (steps[-1] if steps else "dispatched")
    assert count(engine, "audit_log") == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"status": "resolved"}, "resolved_level"),
        ({"status": "resolved", "resolved_level": "province"}, "resolved_level"),
        ({"status": "resolved", "resolved_level": "village",
          "resolved_at": "2001-01-01T00:00:00"}, "resolved_at"),
        ({"status": "done"}, "status"),
        ({}, "status"),
        ({"status": "resolved", "resolved_level": "village", "colour": 1}, "colour"),
    ],
)  # fmt: skip
def test_bad_resolution_is_a_400(client, clerk, engine, body, field):
    code = intake(client, clerk).json["properties"]["code"]
    walk(client, clerk, code, "handling")
    response = client.patch(f"/api/incidents/{code}", json=body, headers=clerk)
    assert response.status_code == 400
    assert response.json["details"]["field"] == field
    with engine.connect() as conn:
        status = conn.execute(
            sa.text("SELECT status FROM incident WHERE code = :c"), {"c": code}
        ).scalar()
    assert status == "handling"


def test_level_only_goes_with_resolution(client, clerk):
    code = intake(client, clerk).json["properties"]["code"]
    response = client.patch(
        f"/api/incidents/{code}",
        json={"status": "handling", "resolved_level": "village"},
        headers=clerk,
    )
    assert response.status_code == 400
    assert response.json["details"]["field"] == "resolved_level"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": ["handling"]}, "status"),
        ({"status": {"to": "handling"}}, "status"),
        ({"status": "handling", "note": ["调解"]}, "note"),
        ({"status": "resolved", "resolved_level": ["village"]}, "resolved_level"),
        *(
            (
                {"status": "resolved", "resolved_level": "village", "resolved_at": at},
                "resolved_at",
            )
            for at in (
                ["2026-01-01"],
                "2026-01-01T00:00:00+23:59",
                "0001-01-01T00:00:00+14:00",
                "1949-01-01T00:00:00",
                "9999-12-31T23:59:59",
            )
        ),
    ],
)
def test_mistyped_or_absurd_transition_is_a_400(client, clerk, body, field):
    code = intake(client, clerk).json["properties"]["code"]
    walk(client, clerk, code, "handling")
    response = client.patch(f"/api/incidents/{code}", json=body, headers=clerk)
    assert response.status_code == 400, response.json
    assert response.json["details"]["field"] == field
    after = client.get(f"/api/incidents/{code}", headers=clerk).json
    assert after["properties"]["status"] == "handling"


def test_unknown_incident_is_404(client, clerk):
    response = client.patch(
        "/api/incidents/NO-SUCH", json={"status": "handling"}, headers=clerk
    )
    assert response.status_code == 404


# -- station scope --------------------------------------------------------------------


def test_stations_see_and_move_only_their_own(client, clerk):
    in_s1 = intake(client, clerk).json["properties"]["code"]
    in_s2 = intake(client, clerk, point=IN_B).json["properties"]["code"]
    pcs1, pcs2 = auth(client, "pcs1"), auth(client, "pcs2")
    listed = client.get("/api/incidents?limit=10000", headers=pcs1).json
    stations = {f["properties"]["station"] for f in listed["features"]}
    assert stations == {S1}
    codes = {f["properties"]["code"] for f in listed["features"]}
    assert in_s1 in codes and in_s2 not in codes
    asked_for_s2 = client.get(f"/api/incidents?station={S2}", headers=pcs1).json
    assert asked_for_s2["features"] == []
    assert client.get(f"/api/incidents/{in_s2}", headers=pcs1).status_code == 404
    response = client.patch(
        f"/api/incidents/{in_s2}", json={"status": "handling"}, headers=pcs1
    )
    assert response.status_code == 404
    assert client.get(f"/api/incidents/{in_s2}", headers=pcs2).status_code == 200
    everything = client.get("/api/incidents?limit=10000", headers=clerk).json
    assert {in_s1, in_s2} <= {f["properties"]["code"] for f in everything["features"]}


def test_a_count_past_one_full_page_is_left_out(client, clerk, monkeypatch):
    """Counting a county's million incidents under the row policies takes most
    of a second: past MAX_LIST matches, ``numberMatched`` is left out."""
    intake(client, clerk)
    intake(client, clerk)
    monkeypatch.setattr(incidents, "MAX_LIST", 1)
    listed = client.get("/api/incidents?limit=1", headers=clerk).json
    assert listed["numberReturned"] == 1 and "numberMatched" not in listed
    monkeypatch.setattr(incidents, "MAX_LIST", 10**6)
    everything = client.get("/api/incidents?limit=1", headers=clerk).json
    assert everything["numberMatched"] >= 2


def test_listing_filters_and_pages(client, clerk):
    intake(client, clerk, category="dispute_debt", risk="orange")
    everything = client.get("/api/incidents?limit=10000", headers=clerk).json
    total = everything["numberMatched"]
    assert total == everything["numberReturned"] >= 1
    debts = client.get(
        "/api/incidents?category=dispute_debt,dispute_land&risk=orange", headers=clerk
    ).json
    assert debts["features"]
    assert {f["properties"]["category"] for f in debts["features"]} == {"dispute_debt"}
    page = client.get("/api/incidents?limit=1&offset=1", headers=clerk).json
    assert page["numberReturned"] == 1 and page["numberMatched"] == total
    assert page["features"][0] == everything["features"][1]
    for query, field in [("limit=0", "limit"), ("limit=10001", "limit"),
                         ("status=open", "status"), ("overdue=maybe", "overdue"),
                         ("since=last-week", "since")]:  # fmt: skip
        response = client.get(f"/api/incidents?{query}", headers=clerk)
        assert response.status_code == 400, query
        assert response.json["details"]["field"] == field


@pytest.fixture(scope="module")
def window(client, clerk) -> dict:
    """Three reports a day apart at 09:00 Beijing time, by code."""
    days = {"WIN-1": "2024-03-01", "WIN-2": "2024-03-02", "WIN-3": "2024-03-03"}
    for code, day in days.items():
        response = intake(client, clerk, code=code, reported_at=f"{day}T09:00:00")
        assert response.status_code == 201, response.json
    return days


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("since=2024-03-02T09:00:00", {"WIN-2", "WIN-3"}),  # inclusive
        ("since=2024-03-02T09:00:01", {"WIN-3"}),
        ("until=2024-03-02T09:00:00", {"WIN-1"}),  # exclusive
        ("until=2024-03-02", {"WIN-1"}),  # midnight, Beijing time
        ("since=2024-03-02&until=2024-03-03", {"WIN-2"}),
        ("since=2024-03-02T01:00:00Z", {"WIN-2", "WIN-3"}),  # 09:00 in Beijing
        ("since=2024-03-01T13:00:00-12:00", {"WIN-2", "WIN-3"}),  # 09:00 next day
        ("since=2024-03-03T09:00:00%2B08:00&until=9999-12-31", {"WIN-3"}),
        ("since=0001-01-01T00:00:00Z&until=2024-03-04", {"WIN-1", "WIN-2", "WIN-3"}),
        ("since=2024-03-04", set()),
        ("since=2024-03-03&until=2024-03-01", set()),
    ],
)
def test_since_and_until_filter_by_report_time(client, clerk, window, query, expected):
    response = client.get(f"/api/incidents?{query}&limit=10000", headers=clerk)
    assert response.status_code == 200, response.json
    codes = {f["properties"]["code"] for f in response.json["features"]}
    assert codes & set(window) == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=2025-01-01T00:00:00%2B23:59", "since"),
        ("until=0001-01-01T00:00:00%2B14:00", "until"),
        ("until=9999-12-31T23:59:59-14:00", "until"),
        ("since=2024-03-02T09:00:00 08:00", "since"),  # an unencoded + is a space
        ("since=2024%00", "since"),
        ("station=S%00", "station"),
        ("limit=1e3", "limit"),
        ("offset=" + "9" * 5000, "offset"),
        ("category=dispute_debt,%ED%A0%80", "category"),
    ],
)
def test_bad_listing_filters_are_a_400(client, clerk, query, field):
    response = client.get(f"/api/incidents?{query}", headers=clerk)
    assert response.status_code == 400, response.json
    assert response.json["details"]["field"] == field


# -- overdue by risk tier ----------------------------------------------------------

NOW = datetime.fromisoformat("2026-06-10T15:00:00+08:00")


@pytest.fixture
def timed(engine):
    """Only incidents reported at given times before NOW; rolled back afterwards."""
    with engine.connect() as conn:
        transaction = conn.begin()
        conn.execute(sa.text("DELETE FROM incident"))  # other tests' incidents

        def add(code, risk, status, reported_at):
            resolved = status in ("resolved", "followed_up", "archived")
            conn.execute(
                sa.text(
                    "INSERT INTO incident (code, category, risk, status, reported_at,"
                    " resolved_at, resolved_level, geom) VALUES (:c, 'dispute_debt',"
                    " :r, :s, :t, :ra, :rl, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
                ),
                {"c": code, "r": risk, "s": status, "t": reported_at,
                 "ra": NOW if resolved else None,
                 "rl": "village" if resolved else None, "x": IN_A[0], "y": IN_A[1]},
            )  # fmt: skip

        yield conn, add
        transaction.rollback()


def overdue_codes(conn, **filters) -> list[str]:
    found = incidents.query(
        conn, incidents.Filters(overdue=True, **filters), now=NOW
    )
    return [f["properties"]["code"] for f in found["features"]]


def test_overdue_follows_each_tier_deadline(timed):
    conn, add = timed
    hour = timedelta(hours=1)
    add("RED-LATE", "red", "dispatched", NOW - 2 * hour)
    add("RED-RECEIVED-LATE", "red", "received", NOW - 1.5 * hour)
    add("RED-FRESH", "red", "dispatched", NOW - 0.5 * hour)
    add("RED-HANDLED", "red", "handling", NOW - 5 * hour)
    # Orange: due by midnight ending the (Beijing) day it was reported.
    add("ORANGE-YESTERDAY", "orange", "received", NOW.replace(hour=23) - 24 * hour)
    add("ORANGE-TODAY", "orange", "dispatched", NOW.replace(hour=0, minute=1))
    add("ORANGE-HANDLED", "orange", "handling", NOW - 48 * hour)
    # Yellow: settled on the spot by the grid member within 72 hours.
    add("YELLOW-LATE", "yellow", "handling", NOW - 73 * hour)
    add("YELLOW-FRESH", "yellow", "dispatched", NOW - 71 * hour)
    add("YELLOW-RESOLVED", "yellow", "resolved", NOW - 100 * hour)
    assert overdue_codes(conn) == [
        "RED-LATE",
        "RED-RECEIVED-LATE",
        "ORANGE-YESTERDAY",
        "YELLOW-LATE",
    ]
    assert overdue_codes(conn, risks=("yellow",)) == ["YELLOW-LATE"]


def test_overdue_list_over_http(client, clerk, engine):
    response = intake(
        client, clerk, risk="red",
        reported_at=(datetime.now().astimezone() - timedelta(hours=3)).isoformat(),
    )  # fmt: skip
    code = response.json["properties"]["code"]
    listed = client.get("/api/incidents?overdue=1", headers=clerk).json
    mine = [f for f in listed["features"] if f["properties"]["code"] == code]
    assert mine and mine[0]["properties"]["overdue"] is True
    assert all(f["properties"]["overdue"] for f in listed["features"])
    walk(client, clerk, code, "handling")
    listed = client.get("/api/incidents?overdue=1", headers=clerk).json
    assert code not in {f["properties"]["code"] for f in listed["features"]}
