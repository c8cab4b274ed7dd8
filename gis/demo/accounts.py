"""The demo's accounts: one per role, with random passwords.

``python -m gis demo`` makes (or, on a reload, re-keys) a planner, a leader, an
admin, one station user per demo police station and a grid member, each with a
fresh random password.  The list is printed once, at the end of the command,
and kept in ``var/demo-users.txt`` (mode 0600) for the tests and scripts on this
machine.  No password is ever fixed in code.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from gis import access, config, users

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    password: str
    note: str  # what the account sees, in Chinese


def path() -> Path:
    """Where the demo accounts are kept (0600)."""
    return config.var_dir() / "demo-users.txt"


def _wanted(conn: sa.Connection) -> list[tuple[str, str, dict, str]]:
    stations = conn.execute(sa.text(
        "SELECT code, name FROM area WHERE kind = 'police_station' "
        "AND valid_to IS NULL ORDER BY code"
    )).all()  # fmt: skip
    grid = conn.execute(sa.text(
        "SELECT g.code, g.name, s.name FROM area g JOIN area s ON s.id = g.station_id "
        "WHERE g.kind = 'grid' AND g.valid_to IS NULL ORDER BY s.code, g.code LIMIT 1"
    )).first()  # fmt: skip
    wanted = [
        ("demo_admin", "admin", {}, "用户与审计日志、数据导入"),
        ("demo_planner", "planner", {}, "全区覆盖图、数据导入"),
        ("demo_leader", "leader", {}, "热力图与统计（不含个人信息）"),
    ]
    for i, (code, name) in enumerate(stations, 1):
        wanted.append(
            (f"demo_pcs{i}", "station", {"station": code}, f"{name}辖区 ({code})")
        )
    if grid:
        wanted.append(
            ("demo_grid", "grid_member", {"grid": grid[0]},
             f"{grid[2]} {grid[1]} ({grid[0]})")
        )  # fmt: skip
    return wanted


def ensure(conn: sa.Connection) -> list[Account]:
    """Make the demo accounts (new random passwords for existing ones) in the
    caller's transaction; write the list to :func:`path` and return it."""
    accounts = []
    for username, role, binding, note in _wanted(conn):
        password = secrets.token_urlsafe(12)
        existing = users.get(conn, username)
        if existing is None or existing.role != role:
            if existing is not None:
                conn.execute(
                    sa.text("DELETE FROM app_user WHERE username = :u"),
                    {"u": username},
                )
            users.add(conn, username, role, password, actor="demo", **binding)
        else:
            users.set_password(conn, username, password, actor="demo")
        accounts.append(Account(username, role, password, note))
    _write(accounts)
    return accounts


def _write(accounts: list[Account]) -> None:
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file may have had wider bits
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(format_table(accounts))


def format_table(accounts: list[Account]) -> str:
    """The accounts as a tab-separated table with a header line."""
    lines = ["username\trole\tpassword\t说明"]
    lines += [
        f"{a.username}\t{a.role}\t{a.password}\t{access.ROLE_LABELS[a.role]}：{a.note}"
        for a in accounts
    ]
    return "\n".join(lines) + "\n"


def read() -> dict[str, Account]:
    """The accounts kept in :func:`path` by the last demo load, by user name."""
    found = {}
    for line in path().read_text(encoding="utf-8").splitlines()[1:]:
        username, role, password, note = line.split("\t", 3)
        found[username] = Account(username, role, password, note)
    return found
