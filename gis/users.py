"""Accounts, passwords, sign-in, sessions and API tokens.

What a role may do and see is :mod:`gis.access`; this module keeps the accounts
and the ways in:

- **Passwords** are hashed with Argon2id (``argon2-cffi``, OWASP's minimum:
  19 MiB, two passes; ~60 ms a check here).  Hashes of the earlier scrypt form
  still verify and are replaced by Argon2id at the next sign-in.
- **Sign-in** checks the lock-out first, in the database so every worker agrees:
  after :func:`gis.config.lockout` failures for one account name, or from one
  client address, within the window, further attempts are refused *without*
  hashing anything until the window passes, so a flood of guesses costs the
  server one indexed query each and cannot starve other users.
- **Sessions and tokens** are random secrets whose SHA-256 lives in
  ``auth_session``: signing out, changing a password, disabling a user or
  revoking a token ends them at once, on every worker.  Browsers keep theirs in
  the signed session cookie, API clients send ``Authorization: Bearer``.
  Service accounts (the 12345 hotline, other systems) have tokens only
  (:func:`issue_service_token`).

Examples
--------
>>> with engine.begin() as conn:                              # doctest: +SKIP
...     add(conn, "hualong_pcs", "station", "s3cret-pass", station="410902000101")
...     token, user = sign_in(conn, "hualong_pcs", "s3cret-pass", "10.0.0.7")
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from datetime import datetime, timedelta

import argon2
import sqlalchemy as sa

from gis import access, audit, clock, config
from gis.access import ROLES, User
from gis.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthorized,
)

logger = logging.getLogger(__name__)

MIN_PASSWORD = 8
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
_HASHER = argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_UNUSABLE = "!"  # a service account's password hash: nothing verifies against it
_WRONG = "用户名或密码错误 / wrong username or password"


def hash_password(password: str) -> str:
    """An Argon2id hash (PHC string) of ``password``."""
    return _HASHER.hash(password)


def check_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (Argon2id, or the old scrypt form)."""
    if stored.startswith("$argon2"):
        try:
            return _HASHER.verify(stored, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHash):
            return False
    return _check_scrypt(stored, password)


def _check_scrypt(stored: str, password: str) -> bool:
    """The hashes of releases before Argon2: ``scrypt:n:r:p$salt$hash`` (hex)."""
    try:
        method, salt, expected = stored.split("$")
        name, n, r, p = method.split(":")
        if name != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode("utf-8", "surrogatepass"),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected) // 2,
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), expected)


def _needs_rehash(stored: str) -> bool:
    return not stored.startswith("$argon2") or _HASHER.check_needs_rehash(stored)


_DUMMY_HASH = None


def _dummy_hash() -> str:
    global _DUMMY_HASH  # computed once: an unknown name costs a check too
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_hex(8))
    return _DUMMY_HASH


# -- signing in -----------------------------------------------------------------


def sign_in(
    conn: sa.Connection,
    username: str,
    password: str,
    client_addr: str | None,
    kind: str = "browser",
    hours: float | None = None,
) -> tuple[str, int]:
    """Check a name and password; open a session (``kind`` browser or token).

    Returns the new session's secret and id.  Raises :class:`TooManyRequests`
    (429, with the unlock time) while the account or the address is locked
    out, and :class:`Unauthorized` for a wrong name or password, without
    saying which.  Every attempt is audited in the caller's transaction; the
    caller commits whatever the outcome.
    """
    detail = {"ip": client_addr, "via": kind}
    _refuse_if_locked(conn, username, client_addr, detail)
    row = conn.execute(
        sa.text("SELECT * FROM pingan_password_hash(:u)"), {"u": username}
    ).first()
    stored = row.password_hash if row and not row.service else _dummy_hash()
    if not (check_password(stored, password) and row and not row.service):
        _failed(conn, username, client_addr, detail)
        raise Unauthorized(_WRONG)
    token = access.new_token()
    ttl = timedelta(hours=hours or config.token_hours())
    session_id = conn.execute(
        sa.text(
            "SELECT pingan_login_ok(:id, :old, :new, :h, :kind, :ttl, :addr)"
        ),
        {
            "id": row.id,
            "old": stored,
            "new": hash_password(password) if _needs_rehash(stored) else None,
            "h": access.token_hash(token),
            "kind": kind,
            "ttl": ttl,
            "addr": client_addr,
        },
    ).scalar()
    audit.record(conn, username, "login", "user", username, detail, client_addr)
    return token, session_id


def _locked_until(conn, username: str, client_addr: str | None) -> datetime | None:
    failures, addr_failures, window = config.lockout()
    return conn.execute(
        sa.text("SELECT pingan_locked_until(:u, :a, :w, :nu, :na)"),
        {
            "u": username,
            "a": client_addr or "",
            "w": timedelta(minutes=window),
            "nu": failures,
            "na": addr_failures,
        },
    ).scalar()


def _refuse_if_locked(conn, username, client_addr, detail) -> None:
    until = _locked_until(conn, username, client_addr)
    if until is not None:
        audit.record(
            conn, username, "login.refused", "user", username, detail, client_addr
        )
        raise _locked(until)


def _failed(conn, username, client_addr, detail) -> None:
    """Count a failure; the one that reaches the limit is a lock-out, said as such."""
    conn.execute(
        sa.text("SELECT pingan_login_failed(:u, :a)"),
        {"u": username, "a": client_addr or ""},
    )
    audit.record(conn, username, "login.failed", "user", username, detail, client_addr)
    until = _locked_until(conn, username, client_addr)
    if until is not None:
        audit.record(
            conn, username, "login.locked", "user", username,
            {**detail, "until": clock.iso(until)}, client_addr,
        )  # fmt: skip
        logger.warning("sign-in locked for %r / %s until %s", username, client_addr,
                       until)  # fmt: skip
        raise _locked(until)


def _locked(until: datetime) -> TooManyRequests:
    local = until.astimezone(clock.BEIJING)  # as users read clocks
    return TooManyRequests(
        f"登录失败次数过多，已暂时锁定，请于 {local:%Y-%m-%d %H:%M} 后再试 / too many "
        f"failed sign-ins: locked until {local:%Y-%m-%d %H:%M} (Beijing time)",
        locked_until=clock.iso(until),
        retry_after=max(1, int((until - datetime.now(until.tzinfo)).total_seconds())),
    )


def sign_out(conn: sa.Connection, token: str) -> None:
    """End the session or token ``token``, server-side."""
    conn.execute(
        sa.text("SELECT pingan_session_end(:h)"), {"h": access.token_hash(token)}
    )


# -- accounts (owner connection: the CLI) ------------------------------------------


def add(
    conn: sa.Connection,
    username: str,
    role: str,
    password: str | None,
    station: str | None = None,
    grid: str | None = None,
    actor: str = "cli",
    service: bool = False,
) -> User:
    """Create a user; ``station`` binds the station role to a police station,
    ``grid`` the grid_member role to a grid.  A ``service`` account has no
    password: it signs in with tokens only."""
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
    if not service:
        _check_password_rule(password)
    station_id = _bound(conn, role, "station", "police_station", station)
    grid_id = _bound(conn, role, "grid_member", "grid", grid)
    taken = conn.execute(
        sa.text("SELECT 1 FROM app_user WHERE username = :u"), {"u": username}
    ).first()
    if taken:
        raise Conflict(f"用户 {username} 已存在 / user {username} already exists")
    conn.execute(
        sa.text(
            "INSERT INTO app_user (username, password_hash, role, station_id, "
            "grid_id, service) VALUES (:u, :h, :r, :s, :g, :svc)"
        ),
        {
            "u": username,
            "h": _UNUSABLE if service else hash_password(password),
            "r": role,
            "s": station_id,
            "g": grid_id,
            "svc": service,
        },
    )
    audit.record(conn, actor, "user.add", "user", username, {
        "role": role, "station": station, "grid": grid, "service": service,
    })  # fmt: skip
    return get(conn, username)


def _check_password_rule(password: str | None) -> None:
    if not password or len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"密码至少 {MIN_PASSWORD} 位 / password must have at least "
            f"{MIN_PASSWORD} characters",
            field="password",
        )


def _bound(conn, role: str, bound_role: str, kind: str, code: str | None):
    """The id of the station (grid) a station (grid_member) user is bound to."""
    option = "--station" if kind == "police_station" else "--grid"
    if role != bound_role:
        if code:
            raise InvalidInput(
                f"只有 {bound_role} 角色使用 {option} / only the {bound_role} role "
                f"takes {option}",
                field=option[2:],
            )
        return None
    if not code:
        raise InvalidInput(
            f"{access.ROLE_LABELS[role]}角色必须指定 {option} / the {role} role "
            f"needs {option} CODE",
            field=option[2:],
        )
    area_id = conn.execute(
        sa.text(
            "SELECT id FROM area WHERE kind = :k AND code = :c AND valid_to IS NULL"
        ),
        {"k": kind, "c": code},
    ).scalar()
    if area_id is None:
        raise NotFound(f"没有编码为 {code} 的{kind} / no {kind} with code {code}")
    return area_id


_SELECT = """
SELECT u.id, u.username, u.role, u.station_id, s.code AS station_code, u.grid_id
  FROM app_user u LEFT JOIN area s ON s.id = u.station_id
 WHERE u.username = :username AND NOT u.disabled
"""


def get(conn: sa.Connection, username: str) -> User | None:
    """The active user called ``username``, or None (unknown or disabled)."""
    row = conn.execute(sa.text(_SELECT), {"username": username}).first()
    if row is None:
        return None
    return User(
        id=row.id,
        username=row.username,
        role=row.role,
        station_id=row.station_id,
        station_code=row.station_code,
        grid_ids=(row.grid_id,) if row.grid_id else (),
    )


def set_password(
    conn: sa.Connection, username: str, password: str, actor: str = "cli"
) -> None:
    """Change a password; every session and token of the user ends."""
    _check_password_rule(password)
    _update(conn, username, "password_hash = :h", {"h": hash_password(password)})
    _revoke_all(conn, username)
    audit.record(conn, actor, "user.passwd", "user", username, None)


def disable(conn: sa.Connection, username: str, actor: str = "cli") -> None:
    """Disable a user: no more sign-in, and their sessions and tokens end."""
    _update(conn, username, "disabled = true", {})
    _revoke_all(conn, username)
    audit.record(conn, actor, "user.disable", "user", username, None)


def _update(conn: sa.Connection, username: str, assignment: str, params) -> None:
    result = conn.execute(
        sa.text(f"UPDATE app_user SET {assignment} WHERE username = :u"),
        {"u": username, **params},
    )
    if result.rowcount == 0:
        raise NotFound(f"没有用户 {username} / no user {username}")


def _revoke_all(conn: sa.Connection, username: str) -> None:
    conn.execute(
        sa.text(
            "UPDATE auth_session SET revoked_at = now() WHERE revoked_at IS NULL "
            "AND user_id = (SELECT id FROM app_user WHERE username = :u)"
        ),
        {"u": username},
    )


# -- service tokens (owner connection: the CLI) -------------------------------------


def issue_service_token(
    conn: sa.Connection,
    name: str,
    role: str,
    days: float = 365,
    station: str | None = None,
    grid: str | None = None,
    actor: str = "cli",
) -> tuple[str, int]:
    """A token for service account ``name`` (made on first use, with ``role``).

    Returns the token (shown once; only its hash is kept) and its id, which
    :func:`revoke_token` takes.
    """
    if not 0 < days <= 3650:
        raise InvalidInput(
            f"--days 必须在 0 到 3650 之间 / --days must be in (0, 3650], got {days}",
            field="days",
        )
    user = get(conn, name)
    if user is None:
        user = add(conn, name, role, None, station, grid, actor, service=True)
    elif user.role != role:
        raise Conflict(
            f"账号 {name} 已存在，角色为 {user.role} / account {name} exists with "
            f"role {user.role}, not {role}"
        )
    token = access.new_token()
    token_id = conn.execute(
        sa.text(
            "INSERT INTO auth_session (token_hash, user_id, kind, name, expires_at) "
            "VALUES (:h, :u, 'service', :n, now() + :ttl) RETURNING id"
        ),
        {"h": access.token_hash(token), "u": user.id, "n": name,
         "ttl": timedelta(days=days)},
    ).scalar()  # fmt: skip
    audit.record(conn, actor, "token.issue", "user", name, {"token_id": token_id,
                                                            "days": days})
    return token, token_id


def revoke_token(conn: sa.Connection, token_id: int, actor: str = "cli") -> None:
    """Revoke one token (or session) by its id."""
    name = conn.execute(
        sa.text(
            "UPDATE auth_session s SET revoked_at = now() FROM app_user u "
            "WHERE s.id = :id AND u.id = s.user_id AND s.revoked_at IS NULL "
            "RETURNING u.username"
        ),
        {"id": token_id},
    ).scalar()
    if name is None:
        raise NotFound(
            f"没有有效的令牌 {token_id} / no live token with id {token_id}"
        )
    audit.record(conn, actor, "token.revoke", "user", name, {"token_id": token_id})


def tokens(conn: sa.Connection) -> list[dict]:
    """Live service tokens: id, account, role, issued, expires."""
    rows = conn.execute(sa.text("""
        SELECT s.id, u.username, u.role, s.created_at, s.expires_at
          FROM auth_session s JOIN app_user u ON u.id = s.user_id
         WHERE s.kind = 'service' AND s.revoked_at IS NULL AND s.expires_at > now()
         ORDER BY s.id"""))
    return [dict(r._mapping) for r in rows]
