"""Assignment as data: assignee and unit, routing by hand, escalation (上报),
supervision (督办), follow-up satisfaction; through the real HTTP API.

The world is ``TWO_STATIONS`` (tests/worlds.py) with its people (``build_duty``:
officer O1 of post P1 answers for village A, grid member M1 works grid A1) and
one more officer, O2 of post P2, in station S2::

    lat 30.1 +-----------+--------+----+
             | village A | vill. B|gap |      outside: anything east of 100.2
    lat 30.0 +-----------+--------+----+
          100.0   S1   100.1  S2  100.18 100.2
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from gis import assign, db, users
from tests.worlds import S1, S2, TWO_STATIONS, A, build_areas, build_duty
from webmap import create_app

IN_A = (100.05, 30.05)
IN_B = (100.15, 30.05)
OUTSIDE = (100.5, 30.05)
PASSWORD = "correct-horse-2"


@pytest.fixture(scope="module")
def database(make_database) -> str:
    url = make_database()
    with db.get_engine(url).begin() as conn:
        build_areas(conn, TWO_STATIONS)
        build_duty(conn)
        conn.execute(
            sa.text("""
            INSERT INTO post (code, name, kind, geom)
                 VALUES ('P2', '二号警务室', 'police_room',
                         ST_SetSRID(ST_MakePoint(100.15, 30.05), 4326));
            INSERT INTO officer (code, name, kind, post_id)
                 SELECT 'O2', '王警官', 'police', id FROM post WHERE code = 'P2';
            """)
        )
        for name, role, station in [
            ("clerk", "planner", None),
            ("pcs1", "station", S1),
            ("pcs2", "station", S2),
        ]:
            users.add(conn, name, role, PASSWORD, station=station, actor="test")
    return url


@pytest.fixture(scope="module")
def client(database):
    return create_app({"DATABASE_URL": database, "TESTING": True}).test_client()


@pytest.fixture(scope="module")
def auth(client):
    tokens = {}
    for name in ("clerk", "pcs1", "pcs2"):
        response = client.post(
            "/api/token", json={"username": name, "password": PASSWORD}
        )
        assert response.status_code == 200, response.json
        tokens[name] = {"Authorization": f"Bearer {response.json['token']}"}
    return tokens


def intake(client, headers, point=IN_A, **fields) -> dict:
    body = {"lon": point[0], "lat": point[1], "category": "dispute_neighbour"}
    response = client.post("/api/incidents", json={**body, **fields}, headers=headers)
    assert response.status_code == 201, response.json
    return response.json["properties"]


def show(client, headers, code: str):
    return client.get(f"/api/incidents/{code}", headers=headers)


def step(client, headers, code: str, what: str, **body):
    return client.post(f"/api/incidents/{code}/{what}", json=body, headers=headers)


def actions(client, headers, code: str) -> list[str]:
    return [h["action"] for h in show(client, headers, code).json["history"]]


# -- dispatch at intake --------------------------------------------------------------


def test_a_yellow_report_goes_to_its_grid_member_a_red_one_to_the_officer(client, auth):
    yellow = intake(client, auth["pcs1"])
    assert yellow["assignee"] == {"kind": "grid_member", "code": "M1",
                                  "name": "李网格员"}  # fmt: skip
    assert yellow["unit"] == {"kind": "grid", "code": A + "001", "name": A + "001"}
    red = intake(client, auth["pcs1"], risk="red")
    assert red["assignee"]["code"] == "O1" and red["assignee"]["kind"] == "officer"
    assert red["unit"] == {"kind": "post", "code": "P1", "name": "一号警务室"}
    assert red["handling_level"] == "village" and red["supervised"] is None


def test_where_only_the_station_answers_the_station_holds_it(client, auth):
    props = intake(client, auth["clerk"], point=IN_B)
    assert props["assignee"] is None
    assert props["unit"] == {"kind": "station", "code": S2, "name": S2}


# -- assignment by hand --------------------------------------------------------------


def test_reassigning_needs_a_reason_and_is_recorded(client, auth):
    code = intake(client, auth["pcs1"])["code"]
    response = step(client, auth["pcs1"], code, "assign", officer="O1")
    assert response.status_code == 400
    assert response.json["details"]["field"] == "reason"
    response = step(
        client, auth["pcs1"], code, "assign", officer="O1", reason="需民警上门"
    )
    assert response.status_code == 200, response.json
    props = response.json["incident"]["properties"]
    assert props["assignee"]["code"] == "O1"
    assert props["unit"]["code"] == "P1"  # the officer's own post
    history = response.json["incident"]["history"]
    assert history[-1]["action"] == "incident.assign"
    assert history[-1]["detail"]["reason"] == "需民警上门"
    assert history[-1]["username"] == "pcs1"


def test_a_station_cannot_assign_another_stations_officer(client, auth):
    code = intake(client, auth["pcs1"])["code"]
    response = step(
        client, auth["pcs1"], code, "assign", officer="O2", reason="试图越权"
    )
    assert response.status_code == 400
    assert response.json["details"]["field"] == "officer"
    response = step(
        client, auth["pcs1"], code, "assign", officer="O1", unit_kind="post",
        unit="P2", reason="试图越权",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json["details"]["field"] == "unit"
    # ... nor touch the other station's incident: it does not exist for them.
    response = step(
        client, auth["pcs2"], code, "assign", officer="O2", reason="试图越权"
    )
    assert response.status_code == 404
    assert (
        show(client, auth["pcs1"], code).json["properties"]["assignee"]["code"] == "M1"
    )


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "officer"),
        ({"officer": "O1", "grid_member": "M1", "reason": "x"}, "officer"),
        ({"officer": "O1", "unit_kind": "village", "reason": "x"}, "unit_kind"),
        ({"officer": "O1", "reason": 5}, "reason"),
        ({"officer": "O1", "reason": "x", "priority": 1}, "priority"),
    ],
)
def test_bad_assignments_name_the_field(client, auth, body, field):
    code = intake(client, auth["pcs1"])["code"]
    response = client.post(
        f"/api/incidents/{code}/assign", json=body, headers=auth["pcs1"]
    )
    assert response.status_code == 400
    assert response.json["details"]["field"] == field


# -- routing by hand -----------------------------------------------------------------


def test_an_incident_outside_every_jurisdiction_is_routed_by_a_planner(
    client, auth, database
):
    props = intake(client, auth["clerk"], point=OUTSIDE)
    code = props["code"]
    assert props["status"] == "received" and props["station"] is None
    # A station may not route, nor see the incident yet.
    assert step(client, auth["pcs1"], code, "route", station=S1,
                reason="就近").status_code == 403  # fmt: skip
    assert show(client, auth["pcs1"], code).status_code == 404
    response = step(client, auth["clerk"], code, "route", station=S1)
    assert response.status_code == 400
    assert response.json["details"]["field"] == "reason"
    response = step(client, auth["clerk"], code, "route", station="999", reason="x")
    assert response.json["details"]["field"] == "unit"
    response = step(
        client, auth["clerk"], code, "route", station=S1, reason="辖区外，就近处置"
    )
    assert response.status_code == 200, response.json
    routed = response.json["incident"]["properties"]
    assert routed["status"] == "dispatched" and routed["routed"] is True
    assert routed["station"] == S1
    assert routed["unit"] == {"kind": "station", "code": S1, "name": S1}
    # Now the station holds it, and only that station.
    mine = show(client, auth["pcs1"], code)
    assert mine.status_code == 200
    assert mine.json["history"][-1]["action"] == "incident.route"
    assert mine.json["history"][-1]["detail"]["reason"] == "辖区外，就近处置"
    assert show(client, auth["pcs2"], code).status_code == 404
    listed = client.get(f"/api/incidents?station={S1}", headers=auth["pcs1"]).json
    assert code in [f["properties"]["code"] for f in listed["features"]]
    # A bulk re-assignment of every point keeps the routing.
    assign.assign(db.get_engine(database), ["incident"])
    assert show(client, auth["pcs1"], code).json["properties"]["station"] == S1


def test_a_misrouted_incident_moves_to_the_right_station(client, auth):
    props = intake(client, auth["clerk"], point=IN_B, risk="red")
    code = props["code"]
    assert props["station"] == S2
    response = step(
        client, auth["clerk"], code, "route", station=S1, reason="实为一号辖区"
    )
    assert response.status_code == 200, response.json
    assert response.json["incident"]["properties"]["assignee"] is None
    assert show(client, auth["pcs2"], code).status_code == 404
    assert show(client, auth["pcs1"], code).json["properties"]["station"] == S1
    again = step(client, auth["clerk"], code, "route", station=S1, reason="x")
    assert again.status_code == 409


# -- escalation ----------------------------------------------------------------------


def test_escalation_climbs_village_township_district_and_binds_the_resolution(
    client, auth
):
    code = intake(client, auth["pcs1"])["code"]
    assert (
        step(client, auth["pcs1"], code, "escalate").json["details"]["field"] == "note"
    )
    levels = []
    for _ in range(2):
        response = step(client, auth["pcs1"], code, "escalate", note="村里调解不成")
        assert response.status_code == 200, response.json
        levels.append(response.json["incident"]["properties"]["handling_level"])
    assert levels == ["township", "district"]
    response = step(client, auth["pcs1"], code, "escalate", note="再上报")
    assert response.status_code == 409
    assert actions(client, auth["pcs1"], code).count("incident.escalate") == 2
    client.patch(f"/api/incidents/{code}", json={"status": "handling"},
                 headers=auth["pcs1"])  # fmt: skip
    low = client.patch(
        f"/api/incidents/{code}",
        json={"status": "resolved", "resolved_level": "township"},
        headers=auth["pcs1"],
    )
    assert low.status_code == 400
    assert low.json["details"]["field"] == "resolved_level"
    done = client.patch(
        f"/api/incidents/{code}",
        json={"status": "resolved", "resolved_level": "district", "note": "区里化解"},
        headers=auth["pcs1"],
    )
    assert done.status_code == 200, done.json
    assert done.json["properties"]["resolved_level"] == "district"
    assert step(client, auth["pcs1"], code, "escalate",
                note="x").status_code == 409  # fmt: skip


# -- supervision ---------------------------------------------------------------------


def test_only_an_overdue_incident_is_flagged_and_only_by_a_planner(client, auth):
    fresh = intake(client, auth["pcs1"], risk="red")["code"]
    assert step(client, auth["clerk"], fresh, "supervise",
                note="催办").status_code == 409  # fmt: skip
    late_at = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    late = intake(client, auth["pcs1"], risk="red", reported_at=late_at)["code"]
    assert show(client, auth["pcs1"], late).json["properties"]["overdue"] is True
    assert step(client, auth["pcs1"], late, "supervise",
                note="催办").status_code == 403  # fmt: skip
    assert (
        step(client, auth["clerk"], late, "supervise").json["details"]["field"]
        == "note"
    )
    response = step(
        client, auth["clerk"], late, "supervise", note="超时未处置，请今日办结"
    )
    assert response.status_code == 200, response.json
    flag = response.json["incident"]["properties"]["supervised"]
    assert flag["by"] == "clerk" and flag["note"] == "超时未处置，请今日办结"
    assert flag["at"].endswith("+08:00")
    assert step(client, auth["clerk"], late, "supervise",
                note="再催").status_code == 409  # fmt: skip
    # The station sees the flag on its incident.
    mine = show(client, auth["pcs1"], late).json
    assert mine["properties"]["supervised"]["note"] == "超时未处置，请今日办结"
    assert mine["history"][-1]["action"] == "incident.supervise"


# -- follow-up and times -------------------------------------------------------------


def test_follow_up_records_satisfaction_and_history_is_in_beijing_time(client, auth):
    code = intake(client, auth["pcs1"])["code"]
    for body in ({"status": "handling"},
                 {"status": "resolved", "resolved_level": "village"}):  # fmt: skip
        assert client.patch(f"/api/incidents/{code}", json=body,
                            headers=auth["pcs1"]).status_code == 200  # fmt: skip
    wrong = client.patch(
        f"/api/incidents/{code}",
        json={"status": "followed_up", "satisfaction": "very"},
        headers=auth["pcs1"],
    )
    assert wrong.status_code == 400
    assert wrong.json["details"]["field"] == "satisfaction"
    done = client.patch(
        f"/api/incidents/{code}",
        json={"status": "followed_up", "satisfaction": "基本满意"},
        headers=auth["pcs1"],
    )
    assert done.status_code == 200, done.json
    assert done.json["properties"]["satisfaction"] == "basically"
    history = done.json["history"]
    assert history[-1]["detail"]["satisfaction"] == "basically"
    assert all(h["at"].endswith("+08:00") for h in history), history
    when = datetime.fromisoformat(history[0]["at"])
    assert abs(when - datetime.now(UTC)) < timedelta(minutes=5)
