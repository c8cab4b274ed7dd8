"""Incident counts kept ready (migration 0017): after inserts, moves, status
changes, re-assignments, deletions and imports, the kept counts equal a fresh
aggregation of the incident table, and ``incident_counts_rebuild()`` gives
them again from nothing.

World: tests/worlds.py ``GAPS`` (two townships, two stations, three villages
with populations), at 100-100.3 E: Gauss-Kruger zone 33 (EPSG:4542).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from gis import assign, db, stats, vocab
from gis.ingest import import_file, sources, tally
from tests.worlds import build_gaps

# The oracle: the same counts aggregated from scratch, written independently of
# the migration's functions (its own month, days, bucket and square
# arithmetic), as facts (key..., measure, value) that the kept rows are
# unpivoted into.
FRESH_CELLS = """
    WITH i AS (
        SELECT s AS size,
               date_trunc('month', i.reported_at AT TIME ZONE 'Asia/Shanghai')::date
                   AS month,
               floor(ST_X(t.g) / s)::int AS cx, floor(ST_Y(t.g) / s)::int AS cy,
               coalesce(i.station_id, 0) AS st, coalesce(i.township_id, 0) AS tw,
               'c_' || category || '_' || status || '_' || risk AS m
          FROM incident i,
               LATERAL (SELECT ST_Transform(i.geom, 4542) AS g) t,
               unnest(ARRAY[500, 1000, 2000]) s)
    SELECT size, month, cx, cy, st, tw, 'n', count(*)
      FROM i GROUP BY 1, 2, 3, 4, 5, 6
    UNION ALL
    SELECT size, month, cx, cy, st, tw, m, count(*)
      FROM i GROUP BY 1, 2, 3, 4, 5, 6, 7"""
KEPT_CELLS = """
    SELECT size, month, cx, cy, station_id, township_id, f.key, f.value::int
      FROM incident_cell c,
           jsonb_each_text(to_jsonb(c) - ARRAY['size', 'month', 'cx', 'cy',
                           'station_id', 'township_id']) f
     WHERE f.value::int <> 0"""
FRESH_VILLAGES = """
    WITH i AS (
        SELECT date_trunc('month', reported_at AT TIME ZONE 'Asia/Shanghai')::date
                   AS month,
               coalesce(village_id, 0) AS v, category LIKE 'dispute%' AS dispute,
               coalesce(station_id, 0) AS st, coalesce(township_id, 0) AS tw,
               category, risk, resolved_level,
               status IN ('resolved', 'followed_up', 'archived') AS done,
               floor(extract(epoch FROM resolved_at - reported_at) / 86400) AS days
          FROM incident),
    facts AS (
        SELECT *, 'n' AS m FROM i
        UNION ALL SELECT *, 'done' FROM i WHERE done
        UNION ALL SELECT *, 'unknown_time' FROM i WHERE done AND days IS NULL
        UNION ALL SELECT *, 'lvl_' || resolved_level FROM i
                   WHERE resolved_level IS NOT NULL
        UNION ALL SELECT *, 'major_accident' FROM i
                   WHERE category = 'accident' AND risk = 'red'
        UNION ALL SELECT *, 'cat_' || category FROM i
        UNION ALL SELECT *, 'd' || lpad(CASE WHEN days < 15 THEN days
                   WHEN days < 22 THEN 15 WHEN days < 31 THEN 22
                   WHEN days < 61 THEN 31 ELSE 61 END::text, 2, '0')
                   FROM i WHERE done AND days IS NOT NULL)
    SELECT month, v, dispute, st, tw, m, count(*) FROM facts
     GROUP BY 1, 2, 3, 4, 5, 6"""
KEPT_VILLAGES = """
    SELECT month, village_id, dispute, station_id, township_id, f.key,
           f.value::int
      FROM incident_village v,
           jsonb_each_text(to_jsonb(v) - ARRAY['month', 'village_id', 'dispute',
                           'station_id', 'township_id']) f
     WHERE f.value::int <> 0"""

# incident_village summed per quarter, year and over all months (migration
# 0020), from the
# oracle's village facts.
FRESH_SPANS = f"""
    WITH f (month, v, dispute, st, tw, m, k) AS ({FRESH_VILLAGES})
    SELECT p.span, p.start, v, dispute, st, tw, m, sum(k)::int
      FROM f, LATERAL (VALUES ('quarter', date_trunc('quarter', month)::date),
                              ('year', date_trunc('year', month)::date),
                              ('all', '-infinity'::date)) p (span, start)
     GROUP BY 1, 2, 3, 4, 5, 6, 7"""
KEPT_SPANS = """
    SELECT span, start, village_id, dispute, station_id, township_id, f.key,
           f.value::int
      FROM incident_village_span v,
           jsonb_each_text(to_jsonb(v) - ARRAY['span', 'start', 'village_id',
                           'dispute', 'station_id', 'township_id']) f
     WHERE f.value::int <> 0"""

# incident_village summed over the villages per month (migration 0023), from
# the oracle's village facts.
FRESH_MONTHS = f"""
    WITH f (month, v, dispute, st, tw, m, k) AS ({FRESH_VILLAGES})
    SELECT month, dispute, st, tw, m, sum(k)::int
      FROM f WHERE m IN ('n', 'done') GROUP BY 1, 2, 3, 4, 5"""
KEPT_MONTHS = """
    SELECT month, dispute, station_id, township_id, f.key, f.value::int
      FROM incident_month_total t,
           jsonb_each_text(to_jsonb(t) - ARRAY['month', 'dispute', 'station_id',
                           'township_id']) f
     WHERE f.value::int <> 0"""


def rows(conn, sql: str) -> list[tuple]:
    return sorted(tuple(r) for r in conn.execute(sa.text(sql)))


def assert_counts_fresh(conn) -> None:
    cells, villages = rows(conn, KEPT_CELLS), rows(conn, KEPT_VILLAGES)
    spans, months = rows(conn, KEPT_SPANS), rows(conn, KEPT_MONTHS)
    assert cells == rows(conn, FRESH_CELLS)
    assert villages == rows(conn, FRESH_VILLAGES)
    assert spans == rows(conn, FRESH_SPANS)
    assert months == rows(conn, FRESH_MONTHS)
    assert stats.rebuild(conn) > 0
    assert rows(conn, KEPT_CELLS) == cells
    assert rows(conn, KEPT_VILLAGES) == villages
    assert rows(conn, KEPT_SPANS) == spans
    assert rows(conn, KEPT_MONTHS) == months


@pytest.fixture
def engine(make_database):
    engine = db.get_engine(make_database())
    with engine.begin() as conn:
        build_gaps(conn)
    return engine


CATEGORIES = ["dispute_family", "dispute_land", "case", "accident"]


def insert_random(conn, n: int, seed: int) -> None:
    rng = random.Random(seed)
    for k in range(n):
        conn.execute(
            sa.text(
                "INSERT INTO incident (code, category, risk, reported_at, geom) "
                "VALUES (:c, :cat, :risk, :at, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
            ),
            {
                "c": f"T{seed}-{k}",
                "cat": rng.choice(CATEGORIES),
                "risk": rng.choice(["red", "orange", "yellow"]),
                # Around a Beijing month's edge: 2025-03-31 15:30Z is April 1st.
                "at": f"2025-03-31 {rng.choice(['15:59', '16:00', '16:01'])}Z",
                "x": 100.0 + rng.random() * 0.3,
                "y": 30.0 + rng.random() * 0.1,
            },
        )


def test_counts_follow_inserts_moves_statuses_and_deletes(engine):
    with engine.begin() as conn:
        insert_random(conn, 40, 1)
        # One statement of many rows, as an API batch would write.
        conn.execute(sa.text(
            "INSERT INTO incident (code, category, reported_at, geom) "
            "SELECT 'M' || g, 'dispute_debt', '2025-05-10', "
            "ST_SetSRID(ST_MakePoint(100.01 + g * 0.009, 30.05), 4326) "
            "FROM generate_series(1, 30) g"))  # fmt: skip
        assert_counts_fresh(conn)
    with engine.begin() as conn:
        # Moves across squares, villages, townships and stations.
        conn.execute(sa.text(
            "UPDATE incident SET geom = ST_Translate(geom, 0.13, 0.0) "
            "WHERE code LIKE 'M%' AND ST_X(geom) < 100.15"))  # fmt: skip
        # The workflow: resolved at a level, after known whole days.
        conn.execute(sa.text(
            "UPDATE incident SET status = 'resolved', resolved_level = 'village', "
            "resolved_at = reported_at + interval '3 days 5 hours' "
            "WHERE code LIKE 'T1-%' AND risk = 'red'"))  # fmt: skip
        conn.execute(sa.text(
            "UPDATE incident SET category = 'petition', risk = 'orange', "
            "reported_at = reported_at - interval '40 days' WHERE code LIKE 'M1%'"))
        # A description edit changes no count.
        conn.execute(sa.text("UPDATE incident SET description = 'x'"))
        conn.execute(sa.text("DELETE FROM incident WHERE code LIKE 'T1-1%'"))
        assert_counts_fresh(conn)


def test_counts_follow_reassignment_and_bulk_paths(engine, tmp_path):
    with engine.begin() as conn:
        insert_random(conn, 30, 2)
    # Re-assignment: station S1's outline grows east, and assign (a bulk
    # writer: triggers aside, then one rebuild) moves incidents to it.
    with engine.begin() as conn:
        conn.execute(sa.text(
            "UPDATE area SET geom = ST_Multi(ST_MakeEnvelope(100.0, 30.0, 100.25, "
            "30.1, 4326)) WHERE kind = 'police_station' AND code = '100000510000'"))
        conn.execute(sa.text(
            "UPDATE area SET geom = ST_Multi(ST_MakeEnvelope(100.25, 30.0, 100.3, "
            "30.1, 4326)) WHERE kind = 'police_station' AND code = '100000520000'"))
        changed = assign.assign_in(conn, ["incident"])
        assert changed["incident"] > 0
        assert_counts_fresh(conn)
    # An import (the point loader: binary COPY with the triggers aside).
    path = tmp_path / "in.csv"
    lines = ["编号,事件类型,上报时间,经度,纬度"] + [
        f"I{k},邻里纠纷,2025-06-0{k % 9 + 1} 08:30,{100.01 + k * 0.0041:.5f},30.05"
        for k in range(60)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_file(engine, "incidents", path)
    assert report.status == "loaded", report
    with engine.begin() as conn:
        assert conn.execute(sa.text(
            "SELECT sum(n) FROM incident_cell WHERE size = 500")).scalar() == 90
        assert_counts_fresh(conn)


def test_resolved_at_unknown_time_is_counted_not_dropped(engine):
    """Rows an import may bring (resolved, time unknown) are counted as such;
    the constraint that forbids them today is dropped here as the import
    hardening will."""
    with engine.begin() as conn:
        conn.execute(sa.text(
            "ALTER TABLE incident DROP CONSTRAINT incident_resolution"))
        insert_random(conn, 5, 3)
        conn.execute(sa.text(
            "UPDATE incident SET status = 'resolved', resolved_level = 'township' "
            "WHERE code IN ('T3-0', 'T3-1')"))  # fmt: skip
        assert conn.execute(sa.text(
            "SELECT sum(unknown_time) FROM incident_village")).scalar() == 2
        assert_counts_fresh(conn)


def test_population_is_spread_over_squares_by_area(engine):
    with engine.begin() as conn:
        stats.rebuild(conn, population=True)
        total = dict(conn.execute(sa.text(
            "SELECT size, sum(population) FROM cell_population GROUP BY size")).all())
    # Villages A, B and C hold 1,000 + 2,000 + 4,000 residents.
    assert set(total) == {500, 1000, 2000}
    assert all(abs(v - 7000) < 1e-6 for v in total.values())


def test_scorecard_periods_read_years_quarters_and_edge_months(engine):
    """A period is read as whole years and quarters from incident_village_span
    and odd months from incident_village; its sums equal the months' own."""
    with engine.begin() as conn:
        insert_random(conn, 40, 4)
        conn.execute(sa.text(
            "INSERT INTO incident (code, category, status, resolved_level, "
            "resolved_at, reported_at, geom) "
            "SELECT 'Y' || g, 'dispute_land', 'resolved', 'village', "
            "timestamptz '2024-01-20' + g * interval '9 days' + interval '2 days', "
            "timestamptz '2024-01-20' + g * interval '9 days', "
            "ST_SetSRID(ST_MakePoint(100.01 + (g % 30) * 0.009, 30.05), 4326) "
            "FROM generate_series(1, 90) g"))  # fmt: skip
        assert_counts_fresh(conn)
        month = lambda text: stats._month(text, "month")  # noqa: E731
        pieces = stats._pieces
        assert pieces(conn, stats.Filters(month("2024-11"), month("2026-02"))) == {
            "month": [month("2024-11"), month("2024-12"), month("2026-01"),
                      month("2026-02")],
            "quarter": [],
            "year": [month("2025-01")],
            "all": False,
        }  # fmt: skip
        assert pieces(conn, stats.Filters(month("2024-02"), month("2024-09"))) == {
            "month": [month("2024-02"), month("2024-03")],
            "quarter": [month("2024-04"), month("2024-07")],
            "year": [],
            "all": False,
        }  # fmt: skip
        assert pieces(conn, stats.Filters()) == {
            "month": [], "quarter": [], "year": [], "all": True}
        for start, end in ((None, None), ("2024-02", "2024-09"),
                           ("2025-03", "2025-04"), ("2024-01", "2024-12"),
                           (None, "2024-06"), ("2024-05", None)):
            filters = stats.Filters(start and month(start), end and month(end))
            got = {r["id"]: (r["n"], r["done"], r["d02"], r["zero_escalated"])
                   for r in stats._group_rows(conn, filters, "village") if r["n"]}
            want = {v: tuple(sums) for v, *sums in conn.execute(
                sa.text("SELECT village_id, sum(n), sum(done), sum(d02), "
                        "sum(lvl_district) FROM incident_village "
                        "WHERE (CAST(:a AS date) IS NULL OR month >= :a) "
                        "AND (CAST(:b AS date) IS NULL OR month <= :b) "
                        "GROUP BY 1 HAVING sum(n) > 0"),
                {"a": filters.start, "b": filters.end})}  # fmt: skip
            assert got == want and got, (start, end)


def test_import_into_an_empty_table_tallies_its_counts(engine, tmp_path, monkeypatch):
    """An import into the empty incident table counts its rows as they go by
    (gis.ingest.tally: several chunks, every category, status and risk,
    resolution times known and unknown, levels, Beijing month edges, a month
    edge in China's daylight-saving summers of 1986-91), without the
    database's rebuild, and the counts equal the fresh aggregation."""
    monkeypatch.setattr(sources, "CHUNK_ROWS", 97)  # several chunks
    monkeypatch.setattr(assign, "BULK_MIN_ROWS", 50)  # keys set aside: tallied
    monkeypatch.setattr(tally, "_BATCH", 7)  # the squares sent in many COPYs
    rebuilt = []
    rebuild = stats.rebuild
    monkeypatch.setattr(stats, "rebuild", lambda conn, population=False: (
        rebuilt.append(conn) or rebuild(conn, population)))  # fmt: skip
    rng = random.Random(7)
    lines = ["编号,事件类型,上报时间,状态,风险等级,化解时间,化解层级,经度,纬度"]
    for k in range(600):
        status = rng.choice(list(vocab.INCIDENT_STATUSES))
        when = rng.choice([
            "2025-03-31 23:59", "2025-04-01 00:00", "2024-12-31 23:30",
            "1988-07-31 23:30", "1988-08-01 00:30", "2025-06-15 12:00",
        ])  # fmt: skip
        resolved = level = ""
        if status in ("resolved", "followed_up", "archived"):
            days = rng.choice([None, 0, 1, 14, 15, 21, 22, 30, 31, 60, 61, 400])
            if days is not None:  # None: resolved at an unknown time
                at = datetime.strptime(when, "%Y-%m-%d %H:%M") + timedelta(
                    days=days, minutes=rng.randint(0, 1439))
                resolved = at.strftime("%Y-%m-%d %H:%M")
            level = rng.choice(["", *vocab.RESOLVED_LEVELS.values()])
        category = rng.choice(list(vocab.INCIDENT_CATEGORIES.values()))
        lines.append(
            f"E{k},{category},{when},{vocab.INCIDENT_STATUSES[status]},"
            f"{rng.choice(['red', 'orange', 'yellow'])},{resolved},{level},"
            f"{100.0 + rng.random() * 0.3:.6f},{30.0 + rng.random() * 0.1:.6f}"
        )
    path = tmp_path / "ledger.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_file(engine, "incidents", path)
    assert report.status == "loaded", report
    assert rebuilt == []  # counted by the tally, not recounted
    with engine.begin() as conn:
        assert conn.execute(sa.text(
            "SELECT sum(n) FROM incident_cell WHERE size = 2000")).scalar() == 600
        assert conn.execute(sa.text(
            "SELECT sum(unknown_time) FROM incident_village")).scalar() > 0
        assert_counts_fresh(conn)
        # The map's squares too: those the database counts from the table.
        squares = """SELECT level, cx, cy, station_id, grid_id, n, sx, sy
                       FROM point_bin WHERE layer = 'incident'
                      ORDER BY level, cx, cy, station_id, grid_id"""
        tallied = conn.execute(sa.text(squares)).all()
        conn.execute(sa.text("SELECT point_bins_rebuild('incident')"))
        counted = conn.execute(sa.text(squares)).all()
        conn.rollback()
    assert len(tallied) == len(counted) > 600 // 2
    assert len({row[3] for row in tallied}) > 1  # per station
    assert len({row[4] for row in tallied}) > 1  # and grid
    for mine, theirs in zip(tallied, counted, strict=True):
        assert mine[:6] == theirs[:6]  # level, square, station, grid, count
        assert mine[6:] == pytest.approx(theirs[6:], rel=1e-12)  # summed apart


def test_a_tally_whose_metres_differ_from_postgis_hands_over_to_the_rebuild(
    engine, tmp_path, monkeypatch
):
    """The first chunk's metres are compared with ST_Transform's: a projection
    library off by a micrometre gives the counting back to the database."""
    monkeypatch.setattr(sources, "CHUNK_ROWS", 40)
    monkeypatch.setattr(assign, "BULK_MIN_ROWS", 50)
    real = tally.pyproj.Transformer.from_crs

    class Off:
        def __init__(self, *args, **kwargs):
            self.exact = real(*args, **kwargs)

        def transform(self, lon, lat):
            x, y = self.exact.transform(lon, lat)
            return x + 1e-6, y

    monkeypatch.setattr(tally.pyproj.Transformer, "from_crs", Off)
    rebuilt = []
    rebuild = stats.rebuild
    monkeypatch.setattr(stats, "rebuild", lambda conn, population=False: (
        rebuilt.append(conn) or rebuild(conn, population)))  # fmt: skip
    path = tmp_path / "in.csv"
    path.write_text("编号,事件类型,上报时间,经度,纬度\n" + "".join(
        f"J{k},邻里纠纷,2025-06-01 08:30,{100.01 + k * 0.002:.5f},30.05\n"
        for k in range(120)), encoding="utf-8")  # fmt: skip
    report = import_file(engine, "incidents", path)
    assert report.status == "loaded", report
    assert len(rebuilt) == 1
    with engine.begin() as conn:
        assert_counts_fresh(conn)
