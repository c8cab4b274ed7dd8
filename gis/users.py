"""Users, roles and what each role may do.

Four roles (DESIGN §3): ``admin``, ``planner`` (综治中心 / 公安 planning),
``leader`` (read-only dashboards) and ``station`` (a police station's own users,
bound to one 派出所辖区).  What a user may *see* is a :class:`~gis.layers.base.Scope`
(everything, or one station's jurisdiction); what they may *do* is a permission
checked by :func:`require`.  Both are decided here, in one place, for pages, API,
exports and tiles alike.

Passwords are stored as salted scrypt hashes (``hashlib.scrypt``, RFC 7914).

Examples
--------
>>> with engine.begin() as conn:                              # doctest: +SKIP
...     add(conn, "hualong_pcs", "station", "s3cret-pass", station="410902000101")
...     authenticate(conn, "hualong_pcs", "s3cret-pass").scope
Scope(station_id=17)
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from gis import audit
from gis.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from gis.layers.base import EVERYTHING, Scope

logger = logging.getLogger(__name__)

ROLES = ("admin", "planner", "leader", "station")
ROLE_LABELS = {
    "admin": "系统管理员",
    "planner": "规划/综治中心",
    "leader": "领导",
    "station": "派出所",
}
# Which roles may do what.  Leaders read; intake and workflow are for the 综治中心
# (planner), the stations (in their own jurisdiction) and admins.
PERMISSIONS = {
    "incident.read": frozenset(ROLES),
    "incident.create": frozenset({"admin", "planner", "station"}),
    "incident.update": frozenset({"admin", "planner", "station"}),
    "user.manage": frozenset({"admin"}),
    "data.import": frozenset({"admin", "planner"}),
    "audit.read": frozenset({"admin"}),
}
MIN_PASSWORD = 8
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
# scrypt cost: ~50 ms a check on this machine, enough to slow guessing.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


@dataclass(frozen=True)
class User:
    """A signed-in user: who they are, their role, and the station they serve."""

    id: int
    username: str
    role: str
    station_id: int | None
    station_code: str | None
    password_stamp: str  # changes with the password, so old tokens stop working

    @property
    def scope(self) -> Scope:
        """What this user may see: one station's jurisdiction, or everything."""
        return (
            Scope(station_id=self.station_id) if self.role == "station" else EVERYTHING
        )

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]

    def to_dict(self) -> dict:
        return {
            "username": self.username,
            "role": self.role,
            "role_label": ROLE_LABELS[self.role],
            "station": self.station_code,
        }


def require(user: User, permission: str) -> None:
    """Raise :class:`Forbidden` unless ``user`` holds ``permission``."""
    if not user.can(permission):
        raise Forbidden(
            f"{ROLE_LABELS[user.role]}角色无此权限 / role {user.role!r} may not "
            f"do {permission}",
            permission=permission,
        )


def hash_password(password: str) -> str:
    """A salted scrypt hash in the form ``scrypt:n:r:p$salt$hash`` (hex)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    params = ":".join(str(_SCRYPT[k]) for k in ("n", "r", "p"))
    return f"scrypt:{params}${salt.hex()}${digest.hex()}"


def check_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash (constant-time compare)."""
    try:
        method, salt, expected = stored.split("$")
        name, n, r, p = method.split(":")
        if name != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode("utf-8"),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected) // 2,
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), expected)


_DUMMY_HASH = None


def _dummy_hash() -> str:
    global _DUMMY_HASH  # computed once: only used to even out response times
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_hex(8))
    return _DUMMY_HASH


_SELECT = """
SELECT u.id, u.username, u.role, u.station_id, s.code AS station_code,
       u.password_hash
  FROM app_user u LEFT JOIN area s ON s.id = u.station_id
 WHERE u.username = :username AND NOT u.disabled
"""


def _stamp(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _user(row) -> User:
    return User(
        id=row.id,
        username=row.username,
        role=row.role,
        station_id=row.station_id,
        station_code=row.station_code,
        password_stamp=_stamp(row.password_hash),
    )


def get(conn: sa.Connection, username: str) -> User | None:
    """The active user called ``username``, or None (unknown or disabled)."""
    row = conn.execute(sa.text(_SELECT), {"username": username}).first()
    return _user(row) if row else None


def authenticate(conn: sa.Connection, username: str, password: str) -> User:
    """The user if the password is right; :class:`Unauthorized` otherwise.

    The message does not say which of the two was wrong, and an unknown name
    costs as much time as a wrong password.
    """
    row = conn.execute(sa.text(_SELECT), {"username": username or ""}).first()
    ok = check_password(row.password_hash if row else _dummy_hash(), password or "")
    if not (row and ok):
        raise Unauthorized("用户名或密码错误 / wrong username or password")
    return _user(row)


def _check_password_rule(password: str) -> None:
    if not password or len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"密码至少 {MIN_PASSWORD} 位 / password must have at least "
            f"{MIN_PASSWORD} characters",
            field="password",
        )


def _station_id(conn: sa.Connection, role: str, station: str | None) -> int | None:
    if role != "station":
        if station:
            raise InvalidInput(
                "只有派出所角色绑定派出所 / only the station role takes --station",
                field="station",
            )
        return None
    if not station:
        raise InvalidInput(
            "派出所角色必须指定派出所编码 / the station role needs --station CODE",
            field="station",
        )
    station_id = conn.execute(
        sa.text(
            "SELECT id FROM area WHERE kind = 'police_station' AND code = :code "
            "AND valid_to IS NULL"
        ),
        {"code": station},
    ).scalar()
    if station_id is None:
        raise NotFound(f"没有编码为 {station} 的派出所 / no police station {station}")
    return station_id


def add(
    conn: sa.Connection,
    username: str,
    role: str,
    password: str,
    station: str | None = None,
    actor: str = "cli",
) -> User:
    """Create a user; ``station`` is the police-station code for the station role."""
    if not _USERNAME.match(username or ""):
        raise InvalidInput(
            "用户名只能含字母、数字、_ . -，2-64 位 / username must be 2-64 of "
            f"A-Z a-z 0-9 _ . -, got {username!r}",
            field="username",
        )
    if role not in ROLES:
        raise InvalidInput(
            f"角色无效 / --role must be one of {', '.join(ROLES)}, got {role!r}",
            field="role",
        )
    _check_password_rule(password)
    station_id = _station_id(conn, role, station)
    taken = conn.execute(
        sa.text("SELECT 1 FROM app_user WHERE username = :u"), {"u": username}
    ).first()
    if taken:
        raise Conflict(f"用户 {username} 已存在 / user {username} already exists")
    conn.execute(
        sa.text(
            "INSERT INTO app_user (username, password_hash, role, station_id) "
            "VALUES (:u, :h, :r, :s)"
        ),
        {"u": username, "h": hash_password(password), "r": role, "s": station_id},
    )
    audit.record(
        conn, actor, "user.add", "user", username, {"role": role, "station": station}
    )
    return get(conn, username)


def set_password(
    conn: sa.Connection, username: str, password: str, actor: str = "cli"
) -> None:
    """Change a password; tokens issued under the old one stop working."""
    _check_password_rule(password)
    _update(conn, username, "password_hash = :h", {"h": hash_password(password)})
    audit.record(conn, actor, "user.passwd", "user", username, None)


def disable(conn: sa.Connection, username: str, actor: str = "cli") -> None:
    """Disable a user: they can no longer sign in, and their tokens are refused."""
    _update(conn, username, "disabled = true", {})
    audit.record(conn, actor, "user.disable", "user", username, None)


def _update(conn: sa.Connection, username: str, assignment: str, params) -> None:
    result = conn.execute(
        sa.text(f"UPDATE app_user SET {assignment} WHERE username = :u"),
        {"u": username, **params},
    )
    if result.rowcount == 0:
        raise NotFound(f"没有用户 {username} / no user {username}")
