"""Hostile and broken files: each yields a report or a clear refusal, never a
traceback, through the CLI (``python -m gis import``) and the upload page alike.

Files are made here: random bytes under each extension, truncated GeoJSON, a
CSV with a NUL byte, zips whose entries climb out of their directory or are
too many or too big, an XLSX with entity expansion, non-text codecs given as
the encoding, and camera rows that break the database's own constraints.  The
world is the hand-made squares of ``test_assignment``; a second import runs
while a memory cap is measured in a subprocess (the 1 GiB ``.dbf``).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from openpyxl import Workbook

from gis.cli import main
from gis.config import PROJECT_ROOT
from gis.errors import InvalidInput
from gis.ingest import import_file
from tests import test_upload
from tests.test_upload import gcj, send, signed_in

IN_A, IN_B = (100.05, 30.05), (100.15, 30.05)
HEADER = "编号,事件类型,上报时间,经度,纬度"


# The upload tests' world and app: a district and its users, the planner
# "clerk" among them, and an upload directory of the module's own.
database, engine, upload_dir, app = (
    test_upload.database,
    test_upload.engine,
    test_upload.upload_dir,
    test_upload.app,
)


def count(engine, sql: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar()


# -- the files --------------------------------------------------------------------


def noise(n: int = 4096, seed: int = 16) -> bytes:
    return np.random.default_rng(seed).bytes(n)


def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def shapefile_parts(tmp_path: Path) -> dict[str, bytes]:
    """The parts of a two-camera Shapefile, by suffix."""
    frame = gpd.GeoDataFrame(
        {"code": ["Z1", "Z2"], "kind": ["dome", "dome"], "fov": [360.0, 360.0]},
        geometry=[shapely.Point(IN_A), shapely.Point(IN_B)], crs="EPSG:4326",
    )  # fmt: skip
    folder = tmp_path / "parts"
    folder.mkdir(exist_ok=True)
    frame.to_file(folder / "cams.shp", encoding="UTF-8")
    return {p.suffix: p.read_bytes() for p in folder.iterdir()}


def truncated_geojson() -> bytes:
    features = [
        {"type": "Feature", "properties": {"code": f"T{i}", "kind": "dome"},
         "geometry": {"type": "Point", "coordinates": list(IN_A)}}
        for i in range(20)
    ]  # fmt: skip
    text = json.dumps({"type": "FeatureCollection", "features": features})
    return text[: len(text) // 2].encode()


def csv_with_nul() -> bytes:
    lon, lat = gcj(IN_A)
    rows = [f"N1,邻里纠纷,2025-03-01,{lon},{lat}",
            f"N2,邻里\x00纠纷,2025-03-01,{lon},{lat}",
            f"N3,债务纠纷,2025-03-02,{lon},{lat}"]  # fmt: skip
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def xlsx_with_entities(tmp_path: Path) -> bytes:
    """A valid workbook whose sheet declares a billion-laughs entity."""
    book = Workbook()
    sheet = book.active
    sheet.append(["编号", "名称", "类型", "经度", "纬度"])
    sheet.append(["P1", "&lol9;", "警务室", *gcj(IN_A)])
    book.save(tmp_path / "bomb.xlsx")
    with zipfile.ZipFile(tmp_path / "bomb.xlsx") as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    lol = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    ]
    doctype = f"<!DOCTYPE worksheet [{''.join(lol)}]>".encode()
    sheet_xml = entries["xl/worksheets/sheet1.xml"].replace(b"&amp;lol9;", b"&lol9;")
    assert sheet_xml.startswith(b"<worksheet") and b"&lol9;" in sheet_xml
    entries["xl/worksheets/sheet1.xml"] = doctype + sheet_xml
    return zipped(entries)


def camera_rows() -> bytes:
    """A dome, a fixed camera with no field of view, a dome whose FOV is 90."""
    lon, lat = IN_A
    rows = ["code,kind,azimuth,fov,lon,lat",
            f"K1,dome,,360,{lon},{lat}",
            f"K2,fixed,90,,{lon},{lat}",
            f"K3,dome,,90,{lon},{lat}",
            f"K4,fixed,45,60,{lon},{lat}"]  # fmt: skip
    return ("\n".join(rows) + "\n").encode()


# (id, file name, bytes or a maker of them, layer, options, what must be said)
REFUSED = [
    ("noise-zip", "x.zip", noise(), "cameras", {}, "zip"),
    ("noise-gpkg", "x.gpkg", noise(), "cameras", {}, "x.gpkg"),
    ("noise-geojson", "x.geojson", noise(), "cameras", {}, "x.geojson"),
    ("noise-csv", "x.csv", noise(), "incidents", {}, "column"),
    ("noise-xlsx", "x.xlsx", noise(), "posts", {}, "x.xlsx"),
    ("truncated-geojson", "t.geojson", truncated_geojson(), "cameras", {},
     "t.geojson"),
    ("climbing-zip", "c.zip", "climb", "cameras", {}, "../../x.shp"),
    ("absolute-zip", "a.zip", "absolute", "cameras", {}, "/tmp/x.shp"),
    ("entity-xlsx", "bomb.xlsx", "bomb", "posts", {}, "declares XML entities"),
    ("rot13", "r.csv", csv_with_nul(), "incidents", {"encoding": "rot13"},
     "rot13"),
    ("hex", "h.csv", csv_with_nul(), "incidents", {"encoding": "hex"}, "hex"),
    ("base64", "b.csv", csv_with_nul(), "incidents", {"encoding": "base64"},
     "base64"),
    ("too-many-entries", "many.zip", "many", "cameras", {}, "entries"),
    ("too-big", "big.zip", "big", "cameras", {}, "MB"),
]  # fmt: skip


def make(content, tmp_path: Path) -> bytes:
    if isinstance(content, bytes):
        return content
    if content == "bomb":
        return xlsx_with_entities(tmp_path)
    parts = shapefile_parts(tmp_path)
    if content == "climb":
        return zipped({f"../../x{suffix}": data for suffix, data in parts.items()})
    if content == "absolute":
        return zipped({f"/tmp/x{suffix}": data for suffix, data in parts.items()})
    if content == "many":  # the parts and 40 empty notes: over a cap of 20
        notes = {f"notes/{i}.txt": b"" for i in range(40)}
        return zipped({**{f"x{s}": d for s, d in parts.items()}, **notes})
    if content == "big":  # 3 MB of zeros in a few KB: over a cap of 2 MB
        return zipped({**{f"x{s}": d for s, d in parts.items()},
                       "readme.txt": bytes(3 << 20)})  # fmt: skip
    raise AssertionError(content)


@pytest.fixture
def small_caps(monkeypatch):
    monkeypatch.setenv("PINGAN_IMPORT_ZIP_ENTRIES", "20")
    monkeypatch.setenv("PINGAN_IMPORT_UNZIPPED_MB", "2")


def cli(engine, monkeypatch, *args) -> int:
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    return main(["import", *args])


def cli_options(options: dict) -> list[str]:
    return [arg for k, v in options.items() for arg in (f"--{k}", v)]


@pytest.mark.parametrize(
    "name, content, layer, options, said",
    [c[1:] for c in REFUSED],
    ids=[c[0] for c in REFUSED],
)
def test_a_hostile_file_is_refused_by_the_cli(
    engine, tmp_path, monkeypatch, capsys, small_caps,
    name, content, layer, options, said,
):  # fmt: skip
    path = tmp_path / name
    path.write_bytes(make(content, tmp_path))
    before = count(engine, "SELECT count(*) FROM import_batch")
    assert cli(engine, monkeypatch, layer, str(path), *cli_options(options)) == 1
    err = capsys.readouterr().err
    assert "错误 error:" in err and said in err, err
    assert "Traceback" not in err
    # The refusal is on record (one import_batch row, rejected); nothing else.
    assert count(engine, "SELECT count(*) FROM import_batch") == before + 1
    assert count(engine, "SELECT count(*) FROM import_batch WHERE status = 'rejected' "
                 "AND loaded_count = 0") == before + 1  # fmt: skip
    for table in ("camera", "incident", "post"):
        assert count(engine, f"SELECT count(*) FROM {table}") == 0


@pytest.mark.parametrize(
    "name, content, layer, options, said",
    [c[1:] for c in REFUSED],
    ids=[c[0] for c in REFUSED],
)
def test_a_hostile_upload_is_a_clear_400(
    app, engine, tmp_path, small_caps, name, content, layer, options, said
):
    client = signed_in("clerk", app)
    response = send(client, [(name, make(content, tmp_path))], layer, **options)
    html = response.get_data(as_text=True)
    assert response.status_code == 400, html
    assert said in html
    assert "Traceback" not in html
    for table in ("camera", "incident", "post"):
        assert count(engine, f"SELECT count(*) FROM {table}") == 0


def test_invalid_input_names_the_field(engine, tmp_path, small_caps):
    path = tmp_path / "c.zip"
    path.write_bytes(make("climb", tmp_path))
    with pytest.raises(InvalidInput) as error:
        import_file(engine, "cameras", path)
    assert error.value.details["field"] == "path"
    path = tmp_path / "r.csv"
    path.write_bytes(csv_with_nul())
    with pytest.raises(InvalidInput) as error:
        import_file(engine, "incidents", path, encoding="rot13")
    assert error.value.details["field"] == "encoding"
    assert "text" in error.value.message


def test_a_zip_with_a_folder_inside_still_loads(engine, tmp_path, monkeypatch):
    parts = shapefile_parts(tmp_path)
    path = tmp_path / "cams.zip"
    path.write_bytes(zipped({f"相机/cams{s}": d for s, d in parts.items()}))
    report = import_file(engine, "cameras", path, dry_run=True)
    assert report.status == "checked" and report.read == 2 and not report.errors


def test_a_nul_byte_rejects_its_row_only(engine, tmp_path, monkeypatch, capsys):
    path = tmp_path / "nul.csv"
    path.write_bytes(csv_with_nul())
    assert cli(engine, monkeypatch, "incidents", str(path), "--crs", "gcj02") == 1
    captured = capsys.readouterr()
    assert "第 3 行" in captured.err and "NUL" in captured.err
    assert "read 3 = loaded 0 + rejected 1" in captured.out
    assert count(engine, "SELECT count(*) FROM incident") == 0
    assert cli(engine, monkeypatch, "incidents", str(path), "--crs", "gcj02",
               "--lenient") == 0  # fmt: skip
    assert "read 3 = loaded 2 + rejected 1" in capsys.readouterr().out
    with engine.begin() as conn:
        codes = conn.execute(sa.text("SELECT code FROM incident ORDER BY code"))
        assert [c for (c,) in codes] == ["N1", "N3"]
        conn.execute(sa.text("DELETE FROM incident"))
    quarantine = (tmp_path / "nul.report.quarantine.csv").read_bytes()
    assert b"N2" in quarantine and b"N1" not in quarantine


def test_camera_rows_breaking_the_schema_are_findings(
    engine, tmp_path, monkeypatch, capsys
):
    path = tmp_path / "cams.csv"
    path.write_bytes(camera_rows())
    assert cli(engine, monkeypatch, "cameras", str(path)) == 1  # strict: a report
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "第 3 行" in captured.err and "第 4 行" in captured.err
    assert "read 4 = loaded 0 + rejected 2" in captured.out
    assert count(engine, "SELECT count(*) FROM camera") == 0
    report = import_file(engine, "cameras", path, tmp_path / "r.json", lenient=True)
    assert [(f.row, f.field) for f in report.errors] == [(3, "fov"), (4, "fov")]
    assert report.loaded == 2
    with engine.begin() as conn:
        rows = conn.execute(sa.text("SELECT code, fov FROM camera ORDER BY code"))
        assert [tuple(r) for r in rows] == [("K1", 360.0), ("K4", 60.0)]
        conn.execute(sa.text("DELETE FROM camera"))
    quarantined = (tmp_path / "r.quarantine.csv").read_text(encoding="utf-8-sig")
    assert "K2" in quarantined and "K3" in quarantined and "K1" not in quarantined


def test_camera_rows_breaking_the_schema_on_the_upload_page(app, engine):
    client = signed_in("clerk", app)
    response = send(client, [("cams.csv", camera_rows())], "cameras")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "第 3 行" in html or ">3<" in html
    assert "360" in html
    assert count(engine, "SELECT count(*) FROM camera") == 0  # a dry run


# -- memory: a 1 MB zip holding a 1 GiB .dbf ----------------------------------------

BOMB_SCRIPT = PROJECT_ROOT / "scripts" / "bench_import_bomb.py"


def test_a_zip_bomb_dbf_upload_stays_within_300_mb(database, tmp_path):
    """The whole upload (save, preview, dry run) in a fresh process, whose
    peak resident memory the operating system reports."""
    env = {**os.environ, "DATABASE_URL": database}
    result = subprocess.run(
        [sys.executable, str(BOMB_SCRIPT), "--dir", str(tmp_path), "--json"],
        capture_output=True, text=True, env=env, timeout=900, cwd=PROJECT_ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["zip_mb"] <= 1.5 and figures["dbf_mib"] >= 1024
    assert figures["status"] in (200, 400)
    assert figures["answered"], figures  # a report or a message, not a crash
    assert figures["peak_rss_mb"] <= 300, figures
