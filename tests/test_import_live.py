"""Imports while the service runs: readers keep answering, the preview is bounded.

An import into a table that already holds rows keeps its keys and indexes (only
an empty table has them set aside, which locks it until commit): the lookup
and the incident API answer throughout, and no lock that would stop them is
ever taken.  The world is the hand-made squares of ``test_assignment``.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import sqlalchemy as sa

from gis.ingest import import_file, sources
from tests import test_upload
from tests.conftest import service_token, with_token
from tests.test_upload import send, signed_in

ROWS = 25_000  # above gis.assign.BULK_MIN_ROWS: big enough for the bulk path


# The upload tests' world and app: a district and its users, the planner
# "clerk" among them, and an upload directory of the module's own.
database, engine, upload_dir, app = (
    test_upload.database,
    test_upload.engine,
    test_upload.upload_dir,
    test_upload.app,
)


def incidents(path, prefix: str, n: int, seed: int):
    """``n`` WGS84 incidents inside the squares (100.0-100.18 E, 30.0-30.1 N)."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(100.001, 100.179, n)
    lat = rng.uniform(30.001, 30.099, n)
    lines = ["编号,事件类型,上报时间,经度,纬度"] + [
        f"{prefix}{i},邻里纠纷,2025-03-{1 + i % 28:02d} 08:30,{x:.6f},{y:.6f}"
        for i, (x, y) in enumerate(zip(lon, lat, strict=True))
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


EXCLUSIVE = """
    SELECT count(*) FROM pg_locks
     WHERE locktype = 'relation' AND mode = 'AccessExclusiveLock'
       AND relation = 'incident'::regclass AND database = (
           SELECT oid FROM pg_database WHERE datname = current_database())"""


def test_readers_keep_answering_during_an_import(engine, database, app, tmp_path):
    first = import_file(
        engine, "incidents", incidents(tmp_path / "a.csv", "A", ROWS, 1), crs="wgs84"
    )
    assert first.loaded == ROWS
    path = incidents(tmp_path / "b.csv", "B", ROWS, 2)
    client = with_token(app.test_client(), service_token(database))
    outcome = {}

    def run():
        outcome["report"] = import_file(engine, "incidents", path, crs="wgs84")

    worker = threading.Thread(target=run)
    watcher = engine.connect()
    latencies, exclusive = [], 0
    worker.start()
    while worker.is_alive():
        for url in ("/api/lookup?lon=100.05&lat=30.05", "/api/incidents?limit=50"):
            start = time.perf_counter()
            response = client.get(url)
            latencies.append(time.perf_counter() - start)
            assert response.status_code == 200, response.get_data(as_text=True)
        exclusive += watcher.execute(sa.text(EXCLUSIVE)).scalar()
        watcher.rollback()
    worker.join()
    watcher.close()
    assert outcome["report"].loaded == ROWS
    assert len(latencies) >= 4, "the import ended before the readers could ask"
    assert exclusive == 0, "the import locked the incident table against readers"
    assert max(latencies) < 1.0, sorted(latencies)[-5:]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM incident")).scalar() == (
            2 * ROWS
        )


def test_an_import_into_an_empty_table_still_sets_its_indexes_aside(engine, tmp_path):
    """The fast path stays for a table with nothing to read: its indexes come
    back whole, and every row is assigned."""
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM incident"))
    timings: dict = {}
    path = incidents(tmp_path / "c.csv", "C", ROWS, 3)
    report = import_file(engine, "incidents", path, crs="wgs84", timings=timings)
    assert report.loaded == ROWS and timings.get("indexes", 0) > 0
    with engine.connect() as conn:
        indexes = conn.execute(
            sa.text("SELECT count(*) FROM pg_indexes WHERE tablename = 'incident'")
        ).scalar()
        unassigned = conn.execute(
            sa.text("SELECT count(*) FROM incident WHERE village_id IS NULL")
        ).scalar()
    assert indexes >= 7 and unassigned == 0


def test_the_upload_preview_checks_a_bounded_number_of_rows(
    app, engine, tmp_path, monkeypatch
):
    monkeypatch.setenv("PINGAN_PREVIEW_ROWS", "1000")
    monkeypatch.setattr(sources, "CHUNK_ROWS", 400)
    content = incidents(tmp_path / "d.csv", "D", 3000, 4).read_bytes()
    client = signed_in("clerk", app)
    response = send(client, [("d.csv", content)], "incidents", crs="wgs84")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "检查前 1,200 行（未写入数据库）" in html and "first 1,200 rows" in html
    with engine.connect() as conn:
        assert not conn.execute(
            sa.text("SELECT count(*) FROM incident WHERE code LIKE 'D%'")
        ).scalar()
