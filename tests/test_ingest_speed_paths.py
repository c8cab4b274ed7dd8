"""The fast paths of a large point import give what the careful ones give.

- areas assigned set-based during the import equal the row triggers' answer
  (``assign_areas_at``: ``area_at`` per kind, incidents on their report day) on
  hand-made worlds with shared edges, gaps, overlaps and boundary generations,
  with the table's keys and indexes kept or set aside;
- a block of CSV decoded at once still rejects only the line with a bad byte;
- many small chunks give the same rows, areas and findings as one chunk;
- strict and lenient keep their meaning when the bad row is in a later chunk;
- the progress bar is silent unless stderr is a terminal.
"""

from __future__ import annotations

import numpy as np
import psycopg2
import pytest
import sqlalchemy as sa

from gis import assign, db
from gis.cli import main
from gis.ingest import import_file, loader, sources
from gis.ingest.codes import SeenCodes
from tests.test_bulk_assign import DATES, EDGES_X, EDGES_Y, build_weird, catalog
from tests.test_bulk_assign import disagreements as trigger_disagreements
from tests.worlds import box, build_areas

HEADER = "编号,事件类型,上报时间,状态,经度,纬度,描述\n"


def simple_world(conn) -> None:
    """test_assignment's squares, village A shrunk by a new generation on
    2025-06-01 and an overlapping grid with a smaller code."""
    build_areas(conn)
    conn.execute(
        sa.text("UPDATE area SET valid_to = '2025-06-01' WHERE code = '100000001001'")
    )
    conn.execute(
        sa.text("""
        INSERT INTO area (kind, code, name, parent_id, valid_from, geom)
        SELECT 'village', code, 'A (new)', parent_id, '2025-06-01',
               ST_GeomFromEWKT(:g) FROM area WHERE code = '100000001001'"""),
        {"g": box(100.0, 100.05)},
    )
    conn.execute(
        sa.text("""
        INSERT INTO area (kind, code, name, parent_id, geom)
        SELECT 'grid', '1000000010010000', 'overlap', id, ST_GeomFromEWKT(:g)
          FROM area WHERE code = '100000001001' AND valid_to IS NOT NULL"""),
        {"g": box(100.05, 100.15, 30.02, 30.08)},
    )


WORLDS = {
    "squares": (simple_world, [100.0, 100.05, 100.1, 100.15, 100.18, 100.19, 100.2],
                [30.0, 30.02, 30.05, 30.08, 30.1]),
    "awkward": (build_weird, EDGES_X, EDGES_Y),
}  # fmt: skip


def points(world: str, n: int = 400, seed: int = 5) -> list[tuple[float, float]]:
    """Random points over the world and every crossing of its edges."""
    _, xs, ys = WORLDS[world]
    rng = np.random.default_rng(seed)
    x = rng.uniform(min(xs) - 0.02, max(xs) + 0.02, n)
    y = rng.uniform(29.98, 30.12, n)
    return list(zip(x.tolist(), y.tolist(), strict=True)) + [
        (a, b) for a in xs for b in ys
    ]


def write_incidents(path, pts, dates=DATES) -> None:
    lines = [
        f"I{k},邻里纠纷,{dates[k % len(dates)]},已受理,{x!r},{y!r},第{k}号"
        for k, (x, y) in enumerate(pts)
    ]
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")


def write_cameras(path, pts) -> None:
    lines = [f"C{k},球机,360,100,{x!r},{y!r}" for k, (x, y) in enumerate(pts)]
    path.write_text(
        "编码,类型,视场角,覆盖距离,经度,纬度\n" + "\n".join(lines) + "\n",
        encoding="utf-8",
    )


def new_engine(make_database, world: str):
    engine = db.get_engine(make_database())
    with engine.begin() as conn:
        WORLDS[world][0](conn)
    return engine


def rows(engine, table="incident") -> list:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    f"SELECT code, ST_X(geom), ST_Y(geom), village_id, grid_id, "
                    f"township_id, station_id FROM {table} ORDER BY code"
                )
            )
        ]


@pytest.mark.parametrize("bulk", [False, True], ids=["row-by-row", "set-aside"])
@pytest.mark.parametrize("world", list(WORLDS))
def test_import_assigns_as_the_row_triggers_do(
    make_database, tmp_path, monkeypatch, world, bulk
):
    engine = new_engine(make_database, world)
    before = catalog(engine)
    monkeypatch.setattr(assign, "BULK_MIN_ROWS", 0 if bulk else 10**9)
    monkeypatch.setattr(sources, "CHUNK_ROWS", 97)  # several chunks
    pts = points(world)
    write_incidents(tmp_path / "i.csv", pts)
    write_cameras(tmp_path / "c.csv", pts)
    report = import_file(engine, "incidents", tmp_path / "i.csv", lenient=True)
    cameras = import_file(engine, "cameras", tmp_path / "c.csv", lenient=True)
    # Points off the district (or on its outer edge) are refused, the rest load.
    assert report.loaded > 200 and cameras.loaded == report.loaded
    assert {f.field for f in report.errors} <= {"lon"}
    assert trigger_disagreements(engine) == []
    assert catalog(engine) == before  # keys and indexes as they were
    with engine.connect() as conn:
        assigned = conn.execute(
            sa.text("SELECT count(village_id), count(station_id) FROM incident")
        ).one()
    assert assigned[0] > 100 and assigned[1] == report.loaded  # not all NULL


def test_incidents_follow_the_boundaries_of_their_report_day(make_database, tmp_path):
    engine = new_engine(make_database, "squares")
    # Village A is 100.0-100.1 until 2025-06-01 (Beijing), 100.0-100.05 after.
    days = ["2025-05-31 23:59:59", "2025-06-01 00:00:00", "2025-05-31T16:00:00Z",
            "2025/6/2 8:00", "2025-03-01T12:00:00+08:00"]  # fmt: skip
    write_incidents(tmp_path / "i.csv", [(100.08, 30.05)] * len(days), days)
    report = import_file(engine, "incidents", tmp_path / "i.csv")
    assert report.status == "loaded", report.errors
    with engine.connect() as conn:
        villages = conn.execute(
            sa.text("""SELECT i.code, v.code FROM incident i
                         LEFT JOIN area v ON v.id = i.village_id ORDER BY i.code""")
        ).all()
    assert [v for _, v in villages] == [
        "100000001001", None, None, None, "100000001001"
    ]  # fmt: skip
    assert trigger_disagreements(engine) == []


def test_reimport_in_bulk_changes_nothing_and_keeps_the_catalog(
    make_database, tmp_path, monkeypatch
):
    engine = new_engine(make_database, "squares")
    before = catalog(engine)
    monkeypatch.setattr(assign, "BULK_MIN_ROWS", 0)
    monkeypatch.setattr(sources, "CHUNK_ROWS", 50)
    pts = points("squares", 300)
    write_incidents(tmp_path / "i.csv", pts)
    first = import_file(engine, "incidents", tmp_path / "i.csv", lenient=True)
    loaded = rows(engine)
    again = import_file(engine, "incidents", tmp_path / "i.csv", lenient=True)
    assert (again.loaded, again.unchanged) == (first.loaded, first.loaded)
    assert rows(engine) == loaded and catalog(engine) == before
    moved = [(100.15, 30.05)] + pts[1:]  # I0 moves to village B
    write_incidents(tmp_path / "i.csv", moved)
    changed = import_file(engine, "incidents", tmp_path / "i.csv", lenient=True)
    assert changed.unchanged == first.loaded - 1
    assert trigger_disagreements(engine) == []


def test_many_small_chunks_equal_one(make_database, tmp_path, monkeypatch):
    pts = points("squares", 500)
    body = [
        f"I{k % 450},邻里纠纷,{DATES[k % len(DATES)]},已受理,{x!r},{y!r},第{k}号"
        for k, (x, y) in enumerate(pts)
    ]  # codes repeat after 450 rows: duplicates across chunks
    body[123] = body[123].replace("邻里纠纷", "外星人")
    body[321] = '"a,b",邻里纠纷,2025-01-01,已受理,100.05,30.05,"二\n行"'
    (tmp_path / "i.csv").write_text(HEADER + "\n".join(body) + "\n", encoding="utf-8")
    results = []
    for size in (50_000, 7):
        monkeypatch.setattr(sources, "CHUNK_ROWS", size)
        engine = new_engine(make_database, "squares")
        report = import_file(engine, "incidents", tmp_path / "i.csv", lenient=True)
        findings = [(f.row, f.field, f.reason) for f in report.errors]
        results.append((report.read, report.loaded, findings, rows(engine)))
    assert results[0] == results[1]
    read, loaded, findings, _ = results[0]
    assert read == len(body) and any("first at row" in r for _, _, r in findings)
    assert (125, "category") in {(row, field) for row, field, _ in findings}


def test_a_bad_byte_rejects_only_its_line_in_a_big_block(make_database, tmp_path):
    engine = new_engine(make_database, "squares")
    lines = [
        f"B{k},邻里纠纷,2025-03-01 08:30:00,已受理,100.0{k % 9 + 1},30.05,第{k}号事件"
        for k in range(3000)
    ]
    data = (HEADER + "\n".join(lines) + "\n").encode("utf-8")
    bad = data.index("第1717号".encode())
    path = tmp_path / "i.csv"
    path.write_bytes(data[:bad] + b"\xff" + data[bad + 1 :])
    report = import_file(engine, "incidents", path, tmp_path / "r.json", lenient=True)
    assert [(f.row, "utf-8" in f.reason) for f in report.errors] == [(1719, True)]
    assert (report.read, report.loaded) == (3000, 2999)
    quarantine = (tmp_path / "r.quarantine.csv").read_text(encoding="utf-8")
    assert quarantine.splitlines()[1].startswith("B1717,")


@pytest.mark.parametrize("lenient", [False, True], ids=["strict", "lenient"])
def test_a_bad_row_in_a_later_chunk(make_database, tmp_path, monkeypatch, lenient):
    engine = new_engine(make_database, "squares")
    monkeypatch.setattr(sources, "CHUNK_ROWS", 10)
    pts = [(100.01 + k / 1000, 30.05) for k in range(60)]
    write_incidents(tmp_path / "i.csv", pts, ["2025-03-01 08:30:00"])
    text = (tmp_path / "i.csv").read_text(encoding="utf-8").splitlines()
    text[55] = text[55].replace("2025-03-01 08:30:00", "昨天")
    (tmp_path / "i.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    report = import_file(engine, "incidents", tmp_path / "i.csv", lenient=lenient)
    assert [(f.row, f.field) for f in report.errors] == [(56, "reported_at")]
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM incident")).scalar()
    assert count == (59 if lenient else 0)
    assert report.status == ("loaded" if lenient else "rejected")


def test_progress_bar_only_on_a_terminal(make_database, tmp_path, monkeypatch, capsys):
    engine = new_engine(make_database, "squares")
    write_incidents(tmp_path / "i.csv", [(100.05, 30.05)] * 3)
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    assert main(["import", "incidents", str(tmp_path / "i.csv"), "--crs", "wgs84"]) == 0
    assert capsys.readouterr().err == ""  # stderr is captured: not a terminal
    import_file(engine, "incidents", tmp_path / "i.csv", progress=None)
    assert capsys.readouterr().err == ""
    import_file(engine, "incidents", tmp_path / "i.csv", progress=True)
    assert "i.csv" in capsys.readouterr().err  # asked for: shown


def test_seen_codes_within_and_across_chunks():
    seen = SeenCodes()
    first = seen.duplicates(
        np.array(["a", "b", None, "a", "c"], dtype=object), [2, 3, 4, 5, 6]
    )
    assert [(i, r.split("first at row ")[1]) for i, _, r in first] == [(3, "2)")]
    second = seen.duplicates(
        np.array(["c", "d", "d", "b"], dtype=object), [7, 8, 9, 10]
    )
    assert sorted((i, r.split("first at row ")[1]) for i, _, r in second) == [
        (0, "6)"), (2, "8)"), (3, "3)")
    ]  # fmt: skip
    assert len(seen) == 4


def test_a_database_error_on_the_worker_reaches_the_caller(
    make_database, tmp_path, monkeypatch
):
    engine = new_engine(make_database, "squares")
    monkeypatch.setattr(sources, "CHUNK_ROWS", 5)
    write_incidents(tmp_path / "i.csv", [(100.05, 30.05)] * 30, ["2025-03-01"])

    def broken(self):
        self.cursor.execute("SELECT 1 / 0")

    monkeypatch.setattr(loader.PointLoader, "_upsert", broken)
    with pytest.raises(psycopg2.Error) as error:
        import_file(engine, "incidents", tmp_path / "i.csv")
    assert "division by zero" in str(error.value)
    with engine.connect() as conn:
        counts = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM incident), count(*) FROM import_batch"
            )
        ).one()
    assert tuple(counts) == (0, 0)  # one transaction: nothing of it is left
