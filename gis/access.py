"""Who may do what, and the scope a request runs under.

Two questions, each answered in one place:

- **What may a role do?**  :data:`PERMISSIONS`, one table of permission → roles,
  checked by :func:`require` (pages, APIs and the CLI's web twin alike).
- **Which rows may a user see?**  PostgreSQL decides, by row-level security
  (migration 0011): every scoped table has a policy that reads four settings,
  ``pingan.user``, ``pingan.role``, ``pingan.station`` and ``pingan.grids``.
  :func:`begin` sets them for a web request from the request's session or token,
  in the same round trip that finds the user.  No view, layer or analysis
  writes scope SQL of its own; the web app connects as :data:`WEB_ROLE`, which
  owns no table, so it cannot step around the policies.

Roles
-----
``admin``        users, audit, imports; sees everything
``planner``      every area, analyses, imports
``leader``       every area as aggregates: no single incident, officer or person
``station``      one police station's jurisdiction
``grid_member``  their own grid: they report incidents there and move them along
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass

from gis.errors import Forbidden

logger = logging.getLogger(__name__)

WEB_ROLE = "pingan_web"
"""The database role the web app connects as (made by migration 0011)."""

ROLES = ("admin", "planner", "leader", "station", "grid_member")
ROLE_LABELS = {
    "admin": "系统管理员",
    "planner": "规划/综治中心",
    "leader": "领导",
    "station": "派出所",
    "grid_member": "网格员",
}
_ALL = frozenset(ROLES)
_FIELD = frozenset({"admin", "planner", "station", "grid_member"})
PERMISSIONS = {
    # Maps.  The station page of another station is a 404 by the row policies.
    "page.coverage": frozenset({"admin", "planner"}),
    "page.station": _FIELD,
    "page.heat": frozenset({"admin", "planner", "leader"}),
    # The 一村一警 gaps map: a station sees its own jurisdiction's.
    "page.gaps": frozenset({"admin", "planner", "station"}),
    # Layer data by view, for every page above (which layers: gis.maps.may_draw;
    # which rows: the row policies).
    "map.layers": _ALL,
    # The jurisdiction lookup: every signed-in role; people only within scope.
    "lookup": _ALL,
    # Incident records name people and places: not for leaders.
    "incident.read": _FIELD,
    "incident.create": _FIELD,
    "incident.update": _FIELD,
    # Siting new posts: planners for the district, a station for its own
    # villages with its own posts (the row policies give each their scope).
    "site.plan": frozenset({"admin", "planner", "station"}),
    "data.import": frozenset({"admin", "planner"}),
    "data.export": frozenset({"admin", "planner", "station"}),
    # Coverage gaps name people and places.  Not for leaders: read under their
    # scope (no single person) every village would look uncovered, and a
    # summary without people would need its own owner function; they get the
    # heat map's aggregates.  Not for grid members: one grid has no gaps to plan.
    "gaps.read": frozenset({"admin", "planner", "station"}),
    "user.manage": frozenset({"admin"}),
    "audit.read": frozenset({"admin"}),
    # Signing out, the start page: whoever is signed in.
    "session": _ALL,
}


@dataclass(frozen=True)
class User:
    """A signed-in user: who, in which role, bound to which station or grids."""

    id: int
    username: str
    role: str
    station_id: int | None = None
    station_code: str | None = None
    grid_ids: tuple[int, ...] = ()
    session_id: int | None = None
    session_kind: str | None = None  # browser, token or service

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    def to_dict(self) -> dict:
        return {
            "username": self.username,
            "role": self.role,
            "role_label": self.role_label,
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


def new_token() -> str:
    """A fresh secret for a session or an API token (256 random bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    """What the database keeps of a token: its SHA-256 (the token itself is
    random, so no salt or slow hash is needed)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def begin(
    dbapi_connection, token: str | None, client_addr: str | None = None
) -> User | None:
    """Start a web request on a raw DBAPI connection: find the user of ``token``
    (a session's or an API token) and set the scope settings, or clear them.

    One round trip, outside any transaction: the settings are session-wide, and
    a setting made inside a transaction that rolls back would be undone.
    Every request calls this first, so a pooled connection never carries the
    previous request's scope.  ``client_addr`` goes into every audit row the
    request writes (:func:`gis.audit.record`).
    """
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(
                "SELECT * FROM pingan_begin(%s, %s)",
                (token_hash(token) if token else None, client_addr),
            )
            row = cursor.fetchone()
    finally:
        if not dbapi_connection.closed:  # a lost server: its error goes up
            dbapi_connection.autocommit = autocommit
    if row is None:
        return None
    uid, username, role, station_id, station_code, grids, sid, kind, _exp = row
    return User(
        id=uid,
        username=username,
        role=role,
        station_id=station_id,
        station_code=station_code,
        grid_ids=tuple(grids or ()),
        session_id=sid,
        session_kind=kind,
    )
