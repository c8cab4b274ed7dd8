"""The leadership views over real PostGIS and the real app: the heat layer's
filters and rates, the scorecards' arithmetic and the "三零" rule on a
hand-built world, hot spots through the API, masking, and the XLSX.

World: tests/worlds.py ``GAPS``: townships T1 (villages A, B) and T2 (C),
stations S1 (x < 100.15) and S2; populations A 1,000, B 2,000, C 4,000.
"""

from __future__ import annotations

import io
import random
import re

import orjson
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from gis import db, stats, users
from tests.conftest import TEST_PASSWORD, login
from tests.worlds import GAP_A, GAP_B, GAP_C, GAP_T1, build_gaps

IN_A, IN_B, IN_C = (100.05, 30.05), (100.16, 30.05), (100.25, 30.05)
PHONE = "13912345678"
ID_CARD = "41090119900101123X"
BBOX = {"bbox": "99.9,29.9,100.4,30.2", "zoom": 12}


def add(conn, code, point, category="dispute_neighbour", risk="yellow",
        reported="2025-03-10 08:00+08", status=None, level=None, days=None,
        description=None):  # fmt: skip
    conn.execute(
        sa.text(
            "INSERT INTO incident (code, category, risk, reported_at, description, "
            "geom) VALUES (:c, :cat, :risk, :at, :d, "
            "ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
        ),
        {"c": code, "cat": category, "risk": risk, "at": reported, "x": point[0],
         "y": point[1], "d": description},  # fmt: skip
    )
    if status:
        conn.execute(
            sa.text(
                "UPDATE incident SET status = :s, resolved_level = :l, resolved_at = "
                "reported_at + make_interval(days => :days, hours => 3) "
                "WHERE code = :c"
            ),
            {"s": status, "l": level, "days": days, "c": code},
        )


@pytest.fixture(scope="module")
def world(make_database):
    url = make_database()
    with db.get_engine(url).begin() as conn:
        build_gaps(conn)
        # Village A: three disputes resolved (village level after 1 and 3
        # days, township level after 10), one open, one minor accident.
        add(conn, "A1", IN_A, status="resolved", level="village", days=1,
            description=f"张三 电话 {PHONE}")  # fmt: skip
        add(conn, "A2", IN_A, status="archived", level="village", days=3)
        add(conn, "A3", IN_A, status="followed_up", level="township", days=10,
            description=f"身份证 {ID_CARD}")  # fmt: skip
        add(conn, "A4", IN_A, reported="2025-04-02 08:00+08")
        add(conn, "A5", IN_A, category="accident", reported="2025-04-02 09:00+08")
        # Village B: one criminal case.  Village C: a major (red) accident and
        # a dispute resolved by the district.
        add(conn, "B1", IN_B, category="case")
        add(conn, "C1", IN_C, category="accident", risk="red")
        add(conn, "C2", IN_C, status="resolved", level="district", days=2)
        conn.execute(sa.text(
            "UPDATE area SET name = :n WHERE code = :c"), {"n": f"甲村{PHONE}",
                                                           "c": GAP_A})  # fmt: skip
        users.add(conn, "boss", "leader", TEST_PASSWORD)
        stats.rebuild(conn, population=True)  # the villages' residents, too
    return url


@pytest.fixture(scope="module")
def leader(world):
    from webmap import create_app

    client = create_app({"DATABASE_URL": world, "TESTING": True}).test_client()
    login(client, "boss")
    return client


def by_code(rows):
    return {r["code"]: r for r in rows}


def test_village_scorecards_by_hand(leader):
    report = leader.get("/api/stats", query_string={"level": "village"}).get_json()
    rows = by_code(report["rows"])
    a, b, c = rows[GAP_A], rows[GAP_B], rows[GAP_C]
    assert (a["found"], a["resolved"], a["rate"]) == (5, 3, 0.6)
    assert a["median_days"] == 3.0  # days 1, 3, 10
    assert a["village_level_share"] == round(2 / 3, 4)
    assert a["within_township_share"] == 1.0
    assert a["categories"] == {"dispute_neighbour": 4, "accident": "<3"}
    assert a["three_zero"]["met"] is True
    # Under the small-count threshold: shown "<3", no rate.
    assert b["found"] == "<3" and b["rate"] is None
    assert b["three_zero"] == {"escalated": 0, "criminal": "<3",
                               "major_accidents": 0, "met": False}  # fmt: skip
    assert c["three_zero"]["met"] is False
    assert c["three_zero"]["escalated"] == "<3"
    assert c["three_zero"]["major_accidents"] == "<3"
    assert report["summary"]["three_zero_met"] == 1
    assert report["summary"]["three_zero_share"] == round(1 / 3, 4)
    assert (report["summary"]["found"], report["summary"]["resolved"]) == (8, 4)
    assert [r["code"] for r in report["rows"]][0] == GAP_A  # ranked by rate
    assert "零越级" in report["rules"]["three_zero"]


def test_disputes_only_and_a_period(leader):
    rows = by_code(leader.get("/api/stats", query_string={
        "category": "dispute", "month": "2025-03"}).get_json()["rows"])  # fmt: skip
    assert (rows[GAP_A]["found"], rows[GAP_A]["resolved"]) == (3, 3)
    township = by_code(leader.get("/api/stats", query_string={
        "level": "township", "category": "dispute"}).get_json()["rows"])  # fmt: skip
    t1 = township[GAP_T1]
    assert (t1["found"], t1["resolved"], t1["rate"]) == (4, 3, 0.75)
    assert t1["three_zero"]["villages"] == 2 and t1["three_zero"]["villages_met"] == 1


def test_overdue_by_risk_tier_now(leader):
    rows = by_code(leader.get("/api/stats").get_json()["rows"])
    # Reported in 2025 and never taken up: every open one is past its tier's
    # deadline; village A's open dispute and accident are yellow.
    assert rows[GAP_A]["overdue"] == {"red": 0, "orange": 0, "yellow": "<3"}


def test_resolutions_of_unknown_time_are_counted_and_named(make_database):
    url = make_database()
    with db.get_engine(url).begin() as conn:
        build_gaps(conn)
        conn.execute(
            sa.text("ALTER TABLE incident DROP CONSTRAINT incident_resolution")
        )
        for k in range(3):
            add(conn, f"U{k}", IN_A)
        conn.execute(sa.text(
            "UPDATE incident SET status = 'resolved', resolved_level = 'village' "
            "WHERE code IN ('U0', 'U1')"))  # fmt: skip
        report = stats.scorecards(conn, stats.Filters(), "village")
    a = by_code(report["rows"])[GAP_A]
    assert (a["found"], a["resolved"], a["median_days"]) == (3, "<3", None)
    assert report["summary"]["resolved_time_unknown"] == 2
    assert [u["code"] for u in report["summary"]["resolved_time_unknown_in"]] == [GAP_A]


def test_rates_per_thousand_residents_by_hand(leader, world):
    with db.get_engine(world).connect() as conn:
        # Village A's residents are spread evenly over the 500 m squares whose
        # centre lies in A; the 2 km square holding A's five incidents (all
        # inside A) gets the share of those among its sixteen.
        mine, total = conn.execute(sa.text(
            """SELECT count(*) FILTER (WHERE q.i >> 2 = floor(ST_X(p) / 2000)
                                         AND q.j >> 2 = floor(ST_Y(p) / 2000)),
                      count(*)
                 FROM area, LATERAL ST_Transform(geom, 4542) g,
                      LATERAL ST_SquareGrid(500, g) q,
                      LATERAL ST_Transform(ST_SetSRID(ST_MakePoint(100.05, 30.05),
                                                      4326), 4542) p
                WHERE code = :a AND ST_Intersects(ST_Centroid(q.geom), g)"""),
            {"a": GAP_A}).one()  # fmt: skip
    assert mine == 16 and total > 300  # A is about 9.6 x 11.1 km
    residents = 1000 * mine / total
    assert residents < 50  # too few for a rate
    heat = leader.get("/api/layers/heat", query_string={
        **BBOX, "measure": "rate", "size": "2000"}).get_json()  # fmt: skip
    assert heat["measure"] == "rate" and heat["size"] == 2000
    [square] = [f for f in heat["features"] if f["properties"].get("n") == 5]
    assert square["properties"]["rate"] is None
    with db.get_engine(world).begin() as conn:
        conn.execute(sa.text("UPDATE area SET population = 100000 WHERE code = :a"),
                     {"a": GAP_A})  # fmt: skip
        stats.rebuild(conn, population=True)
    heat = leader.get("/api/layers/heat", query_string={
        **BBOX, "measure": "rate", "size": "2000"}).get_json()  # fmt: skip
    [square] = [f for f in heat["features"] if f["properties"].get("n") == 5]
    expected = 1000 * 5 / (100000 * mine / total)
    assert square["properties"]["rate"] == pytest.approx(expected, abs=0.006)
    with db.get_engine(world).begin() as conn:
        conn.execute(sa.text("UPDATE area SET population = 1000 WHERE code = :a"),
                     {"a": GAP_A})  # fmt: skip
        stats.rebuild(conn, population=True)


def test_heat_filters_and_small_cells(leader, monkeypatch):
    def total(**query):
        answer = leader.get("/api/layers/heat", query_string={**BBOX, **query})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return sum(f["properties"]["n"] for f in answer.get_json()["features"])

    monkeypatch.setenv("PINGAN_SMALL_COUNT", "1")
    assert total() == 8
    assert total(category="dispute") == 5
    assert total(category="accident", risk="red") == 1
    assert total(status="open") == 4
    assert total(month="2025-04") == 2
    assert total(quarter="2025Q1", category="dispute") == 4
    assert total(township=GAP_T1) == 6
    monkeypatch.setenv("PINGAN_SMALL_COUNT", "3")
    answer = leader.get("/api/layers/heat", query_string=BBOX).get_json()
    small = [f for f in answer["features"] if f["properties"].get("small")]
    assert small and all(f["properties"]["n"] is None for f in small)


@pytest.mark.parametrize("query, field", [
    ({"month": "2025-13"}, "month"), ({"category": "gossip"}, "category"),
    ({"status": "lost"}, "status"), ({"risk": "purple"}, "risk"),
    ({"township": "999999999999"}, "township"), ({"measure": "mean"}, "measure"),
    ({"size": "700"}, "size"), ({"quarter": "2025Q5"}, "quarter"),
    ({"from": "2025-06", "to": "2025-01"}, "from"),
])  # fmt: skip
def test_bad_filters_are_named(leader, query, field):
    answer = leader.get("/api/layers/heat", query_string={**BBOX, **query})
    assert answer.status_code == 400
    assert answer.get_json()["details"]["field"] == field


def test_hotspots_api_and_bad_parameters(leader):
    answer = leader.get("/api/hotspots", query_string={"size": "500", "seed": "3"})
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["method"] == "gi_star" and body["permutations"] == 999
    assert body["bins"] >= 3 and set(body["summary"]) == {"3", "2", "1", "-1", "-2",
                                                          "-3"}  # fmt: skip
    emerging = leader.get("/api/hotspots", query_string={"emerging": "1"}).get_json()
    assert emerging["method"] == "emerging" and len(emerging["months"]) == 24
    bad = leader.get("/api/hotspots", query_string={"permutations": "lots"})
    assert bad.status_code == 400
    assert bad.get_json()["details"]["field"] == "permutations"


PERSONAL = [re.compile(PHONE), re.compile(ID_CARD), re.compile("张三"),
            re.compile("身份证"), re.compile(r'"A[1-5]"|"B1"|"C[12]"')]  # fmt: skip


def test_nothing_personal_reaches_a_leader(leader):
    texts = [
        leader.get(path, query_string=query).get_data(as_text=True)
        for path, query in [
            ("/map/heat", {}), ("/dashboard", {}), ("/api/stats", {}),
            ("/api/stats", {"level": "township"}), ("/api/hotspots", {}),
            ("/api/hotspots", {"emerging": "1"}), ("/api/layers/heat", BBOX),
            ("/api/layers/hotspots", BBOX),
        ]
    ]
    book = load_workbook(io.BytesIO(leader.get("/api/stats.xlsx").data))
    texts.append(" ".join(str(c.value) for s in book for row in s.iter_rows()
                          for c in row if c.value is not None))  # fmt: skip
    for text in texts:
        for pattern in PERSONAL:
            assert not pattern.search(text), pattern.pattern
    assert "甲村***" in texts[2]  # the village's name, its phone masked
    assert leader.get("/api/layers/incidents", query_string=BBOX).status_code == 403


def test_the_workbook_has_the_rules_and_every_level(leader):
    book = load_workbook(io.BytesIO(leader.get("/api/stats.xlsx").data))
    assert book.sheetnames == ["说明", "乡镇（街道）", "派出所", "村（社区）"]
    about = {r[0]: r[1] for r in book["说明"].iter_rows(values_only=True)}
    assert "零越级" in about["“三零”规则"]
    villages = list(book["村（社区）"].iter_rows(values_only=True))
    head, rows = villages[0], {r[1]: r for r in villages[1:]}
    assert rows[GAP_A][head.index("受理")] == 5
    assert rows[GAP_B][head.index("受理")] == "<3"
    assert rows[GAP_A][head.index("“三零”达标")] == "达标"


HEAT_DRAWN = "() => paMap.breaks.heat && paMap.drawn >= 1"


@pytest.mark.browser
def test_a_leaders_heat_map_draws_squares_and_the_slider_moves(
    live_server, offline_page, accounts, demo_engine, artifacts
):
    page = offline_page.page
    offline_page.sign_in(live_server.url, "t_leader")
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    response = page.goto(f"{live_server.url}/map/heat", wait_until="load")
    assert response.status == 200
    page.wait_for_function(HEAT_DRAWN, timeout=30_000)
    squares = page.evaluate(
        "() => { let n = 0; paMap.groups.heat.eachLayer(g => g.eachLayer(() => n++));"
        " return n; }"
    )
    assert squares > 10
    legend = page.locator(".pa-heat-legend").inner_text()
    assert "事件数" in legend and "少于 3 件" in legend
    # The slider: one month, then the next; each asks for that month.
    months = page.evaluate("() => paHeat.months")
    assert len(months) >= 12
    page.evaluate("""() => { const s = document.querySelector('.pa-heat-slider');
        s.value = 3; s.dispatchEvent(new Event('input')); }""")
    page.wait_for_function(
        f"() => paHeat.heatAnswer && paHeat.heatAnswer.filters.from === '{months[3]}'"
    )
    assert page.locator(".pa-heat-month").inner_text() == months[3]
    page.locator(".pa-heat-play").click()
    page.wait_for_function(f"() => paHeat.heatAnswer.filters.from === '{months[4]}'",
                           timeout=10_000)  # fmt: skip
    page.locator(".pa-heat-play").click()  # pause
    # Rates per 1,000 residents: the legend says so.
    page.select_option("select[name=measure]", "rate")
    page.wait_for_function("() => paHeat.heatAnswer.measure === 'rate'")
    assert "每千名常住人口" in page.locator(".pa-heat-legend").inner_text()
    page.select_option("select[name=hot]", "gi")
    page.wait_for_function("() => paHeat.hotspotAnswer !== undefined",
                           timeout=30_000)  # fmt: skip
    assert "热点分析" in page.locator(".pa-heat-legend").inner_text()
    page.screenshot(path=str(artifacts / "heat-leader.png"))
    assert any("month=" in u for u in requests if "/api/layers/heat" in u)
    # No incident code or description anywhere in the page.
    with demo_engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT code, coalesce(description, '') FROM incident "
            "ORDER BY id LIMIT 200")).all()  # fmt: skip
    codes, texts = [r[0] for r in rows], [r[1] for r in rows]
    html = page.content()
    assert not [c for c in codes if c in html]
    assert not [t for t in texts if t and t in html]
    assert not offline_page.errors and not offline_page.external


def test_the_command_line_hotspots_and_rebuild(world, monkeypatch, tmp_path, capsys):
    from gis import cli

    monkeypatch.setenv("DATABASE_URL", world)
    out = tmp_path / "hot.geojson"
    assert cli.main(["hotspots", "--size", "500", "--seed", "7", "--out",
                     str(out)]) == 0  # fmt: skip
    import json

    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["type"] == "FeatureCollection" and report["seed"] == 7
    assert cli.main(["hotspots", "--month", "2025-13"]) == 1
    assert "month" in capsys.readouterr().err
    assert cli.main(["counts", "rebuild"]) == 0
    assert "rebuilt" in capsys.readouterr().out


def test_a_station_reads_its_own_counts_only(world, monkeypatch):
    from webmap import create_app

    with db.get_engine(world).begin() as conn:
        users.add(conn, "pcs_s2", "station", TEST_PASSWORD, station="100000520000")
    client = create_app({"DATABASE_URL": world, "TESTING": True}).test_client()
    login(client, "pcs_s2")
    report = client.get("/api/stats").get_json()
    assert [r["code"] for r in report["rows"]] == [GAP_C]
    assert report["summary"]["found"] == 2  # C's two, none of S1's six
    assert client.get("/dashboard").status_code == 200
    # Its incidents: B1 (east of 100.15, in village B, which is S1's) and C's
    # two; none of A's five.
    monkeypatch.setenv("PINGAN_SMALL_COUNT", "1")
    heat = client.get("/api/layers/heat", query_string=BBOX).get_json()
    assert sum(f["properties"]["n"] for f in heat["features"]) == 3


def test_shares_and_medians_round_alike_in_sql_and_python(world):
    """The cards are worked out in PostgreSQL (numeric), the summaries in
    Python: both round halves up, exactly (21/32 = 0.65625 -> 0.6563, where
    a float rounded half-even to 0.6562)."""
    assert stats._share(21, 32) == 0.6563 and stats._share(1, 32) == 0.0313
    assert stats._share(147, 160) == 0.9188 and stats._share(0, 5) == 0.0
    assert stats._share(3, 0) is None
    # 4 resolved in 22-30 days: 22 + (4 - 0) * 9 / 8 = 26.5; 3 in 15-21 days:
    # 15 + 3 * 7 / 6 = 18.5; 8 in 15-21 days and 0 before: 15 + 8 * 7 / 16 =
    # 18.5; 3 in 15-21 and 1 in 0: 15 + (4 - 2) * 7 / 6 = 17.333 -> 17.33.
    assert stats.median_days([0] * 16 + [4, 0, 0]) == 26.5
    assert stats.median_days([1] + [0] * 14 + [3, 0, 0, 0]) == 17.33
    rng = random.Random(7)
    cases = [[rng.choice([0, 0, 0, 1, 2, 5]) for _ in stats.DAY_COLUMNS]
             for _ in range(300)]  # fmt: skip
    cases += [[0] * 15 + [k, 0, 0, 0] for k in range(1, 40)]
    days = ", ".join(f"{c}" for c in stats.DAY_COLUMNS)
    values = ", ".join(
        "(" + ", ".join(str(v) for v in [i, *case, sum(case)]) + ")"
        for i, case in enumerate(cases)
    )
    pairs = [(p, w) for w in range(1, 170) for p in range(w + 1)]
    with db.get_engine(world).connect() as conn:
        medians = dict(conn.execute(sa.text(
            f"SELECT i, {stats._median_sql()} FROM (VALUES {values}) "
            f"v (i, {days}, days_n)")).all())  # fmt: skip
        shares = conn.execute(sa.text(
            f"SELECT p, w, {stats._share_sql('p', 'w')} FROM unnest("
            "CAST(:p AS int[]), CAST(:w AS int[])) u (p, w)"),
            {"p": [p for p, _ in pairs], "w": [w for _, w in pairs]}).all()  # fmt: skip
    for i, case in enumerate(cases):
        want = stats.median_days(case)
        assert (None if medians[i] is None else float(medians[i])) == want, case
    assert len(shares) == len(pairs)
    for p, w, share in shares:
        assert float(share) == stats._share(p, w), (p, w)


@pytest.mark.parametrize("small", ["1", "3"])
def test_the_api_sends_the_cards_the_dashboard_reads(leader, world, monkeypatch,
                                                     small):  # fmt: skip
    """``GET /api/stats`` passes the villages' cards through as PostgreSQL
    wrote them; they equal the dicts the dashboard and the workbook read,
    ranked by rate, then by more found (a "<3" as none), then by code."""
    monkeypatch.setenv("PINGAN_SMALL_COUNT", small)
    for query in ({}, {"category": "dispute"}, {"month": "2025-04"},
                  {"level": "township"}, {"level": "station"}):  # fmt: skip
        sent = leader.get("/api/stats", query_string=query).get_json()
        with db.get_engine(world).connect() as conn:
            read = stats.scorecards(conn, stats.Filters.parse(query),
                                    query.get("level", "village"))  # fmt: skip
        assert sent == read, query

        def key(card):
            found = card["found"] if isinstance(card["found"], int) else 0
            return (card["rate"] is None, -(card["rate"] or 0), -found,
                    card["code"])  # fmt: skip

        assert sent["rows"] == sorted(sent["rows"], key=key)
        assert [r["rank"] for r in sent["rows"]] == list(
            range(1, len(sent["rows"]) + 1))
    assert sent["summary"]["areas"] == 2  # two stations


def test_parents_names_are_masked_too(make_database):
    url = make_database()
    with db.get_engine(url).begin() as conn:
        build_gaps(conn)
        add(conn, "M1", IN_A)
        conn.execute(sa.text(
            "UPDATE area SET name = name || ' ' || :id WHERE code = :c"),
            {"id": ID_CARD, "c": GAP_T1})  # fmt: skip
        sent = orjson.loads(stats.scorecards_json(conn, stats.Filters()))
        read = stats.scorecards(conn, stats.Filters())
        townships = stats.scorecards(conn, stats.Filters(), "township")
    assert sent == read
    parents = {r["township"]["code"]: r["township"]["name"] for r in sent["rows"]}
    assert parents[GAP_T1].endswith(" ***") and ID_CARD not in str(sent)
    assert ID_CARD not in str(townships)
    # Digits alone are no phone: a name like 合成006-278村 is left as it is.
    assert stats.mask("合成006-278村") == "合成006-278村"
    assert stats.mask(f"村 {PHONE[:3]}-{PHONE[3:7]}-{PHONE[7:]}") == "村 ***"
