"""The embedded cluster's lifecycle, in a private var directory and port.

Under root the temporary directory is 0700, so the server account cannot reach
it: this also exercises the relocation DESIGN.md §4 asks for.
"""

from __future__ import annotations

import os
import shutil
import socket

import psycopg2
import pytest

from gis import config, embedded
from gis.cli import main
from gis.errors import EmbeddedDatabaseError
from tests.conftest import free_port


@pytest.fixture
def private_cluster(tmp_path, monkeypatch):
    monkeypatch.setenv("PINGAN_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PINGAN_PG_PORT", str(free_port()))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    yield tmp_path
    embedded.stop()
    root = embedded.locate().root
    if root.exists() and not str(root).startswith(str(tmp_path)):
        shutil.rmtree(root)  # the relocated data directory


def connect(state: dict):
    cluster = embedded.locate()
    return psycopg2.connect(
        dbname=embedded.DB_NAME,
        user=embedded.DB_SUPERUSER,
        host=str(cluster.sockdir),
        port=state["port"],
    )


def test_start_twice_stop_twice(private_cluster, capsys):
    assert not embedded.status()["running"]
    assert main(["db", "status"]) == 3  # "not running", like pg_ctl

    first = embedded.start()
    assert first["running"] and first["pid"]
    again = embedded.start()  # already running: no error, same server
    assert again["pid"] == first["pid"]
    with connect(first) as conn, conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        cur.execute("SELECT postgis_lib_version()")
        assert cur.fetchone()[0].startswith("3.")

    assert main(["db", "status"]) == 0
    out = capsys.readouterr().out
    assert "运行中" in out and first["location"] in out
    assert main(["db", "url"]) == 0
    assert capsys.readouterr().out.startswith("postgresql://pingan@/pingan?host=")

    assert not embedded.stop()["running"]
    assert not embedded.stop()["running"]  # stopping a stopped cluster is fine


def test_relocates_when_the_server_account_cannot_reach_var(private_cluster):
    if os.geteuid() != 0:
        pytest.skip("relocation only happens when running as root")  # not silent
    os.chmod(private_cluster, 0o700)
    state = embedded.start()
    assert state["location"].startswith(str(embedded.FALLBACK_ROOT))
    assert (config.var_dir() / "pg.location").read_text().strip() == state["location"]


def test_stale_pid_file_is_cleared(private_cluster):
    embedded.start()
    embedded.stop()
    pidfile = embedded.locate().datadir / "postmaster.pid"
    pidfile.write_text("999999\n")  # no such process
    assert embedded.start()["running"]


def test_explicit_port_taken_is_a_clear_error(private_cluster, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("PINGAN_PG_PORT", str(port))
        with pytest.raises(EmbeddedDatabaseError, match=f"端口 {port} 已被占用"):
            embedded.start()
        assert main(["db", "start"]) == 1


def test_default_port_taken_moves_to_a_free_one(private_cluster, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.delenv("PINGAN_PG_PORT")
        monkeypatch.setattr(config, "DEFAULT_PG_PORT", port)
        state = embedded.start()
        assert state["running"] and state["port"] != port
        assert port < state["port"] <= port + embedded.PORT_SEARCH


def test_a_restart_keeps_the_port_it_moved_to(private_cluster, monkeypatch):
    """Moved off a taken default port, the cluster keeps its new port across a
    restart even once the default is free again: pooled connections and URLs
    that learned it must find it again."""
    monkeypatch.delenv("PINGAN_PG_PORT")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        default = taken.getsockname()[1]
        monkeypatch.setattr(config, "DEFAULT_PG_PORT", default)
        moved = embedded.start()["port"]
    assert moved != default
    embedded.stop()
    again = embedded.start()  # the default is free now
    assert again["port"] == moved
    with connect(again) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")


def test_bad_port_setting_is_refused(private_cluster, monkeypatch, capsys):
    with monkeypatch.context() as patch:
        patch.setenv("PINGAN_PG_PORT", "lots")
        assert main(["db", "start"]) == 1
    assert "PINGAN_PG_PORT" in capsys.readouterr().err
