"""Who may do what, and the scope a request runs under.

Two questions, each answered in one place:

- **What may a role do?**  :data:`PERMISSIONS`, one table of permission → roles,
  checked by :func:`require` (pages, APIs and the CLI's web twin alike).
- **Which rows may a user see?**  PostgreSQL decides, by row-level security
  (migration 0011): every scoped table has a policy that reads four settings,
  ``pingan.user``, ``pingan.role``, ``pingan.station`` and ``pingan.grids``.
  :func:`begin` sets them for a web request from the request's session or token,
  in the same round trip that finds the user; for a token this worker has seen
  lately, :func:`begin_known` leaves that round trip to the request's first
  statement (:func:`scoped`), or to the lookup statement itself when the
  connection already carries that session's scope (:func:`embed`).  No view,
  layer or analysis writes scope SQL of its own; the web app connects as
  :data:`WEB_ROLE`, which owns no table, so it cannot step around the policies.

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
import time
from dataclasses import dataclass

import psycopg2
import psycopg2.extensions
import sqlalchemy as sa

from gis.errors import Forbidden, SessionEnded

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
    # Routing by hand to a station (out of every jurisdiction, or misrouted)
    # and supervision (督办) are the 综治中心's: a station never routes into
    # another station's queue, nor supervises itself.
    "incident.route": frozenset({"admin", "planner"}),
    "incident.supervise": frozenset({"admin", "planner"}),
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
    # Counts, hot spots and scorecards (aggregates, masked): leaders see the
    # district's, a station its own (the count tables' row policies).
    "stats.read": frozenset({"admin", "planner", "leader", "station"}),
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


KNOWN_SECONDS = 60.0
"""How long a worker remembers whom a live token belongs to (:func:`begin_known`).
What it remembers only prepares the answer: the database checks the session
again in the request's first round trip, so an ended one is refused at once."""
_KNOWN_MAX = 10_000  # tokens remembered per worker; past this it starts afresh
_known: dict[bytes, tuple[float, User]] = {}  # token hash -> (until, user)
_PENDING = "pingan_scope_pending"  # key in the pooled connection's info dict
_SCOPE = "pingan_scope_of"  # info key: (token hash, address) whose scope the
# connection's settings last were, as this worker believes (:func:`embed`)
_EMBEDDED = "pingan_scope_embedded"  # info key: a check the statement carries
_RESUME = "SELECT pingan_resume(%s, %s, %s, %s)"
SESSION_ENDED = "PA401"
"""The SQLSTATE of ``pingan_resume``'s refusal (migration 0012)."""
SCOPE_NOT_SET = "PA409"
"""The SQLSTATE of ``pingan_alive`` for a live session whose scope is not the
connection's settings (migration 0021): run again behind ``pingan_resume``."""
_IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE


def begin(
    dbapi_connection, token: str | None, client_addr: str | None = None
) -> User | None:
    """Start a web request on a raw DBAPI connection: find the user of ``token``
    (a session's or an API token) and set the scope settings, or clear them.

    One round trip, outside any transaction: the settings are session-wide, and
    a setting made inside a transaction that rolls back would be undone.
    Every request calls this first, so a pooled connection never carries the
    previous request's scope.  ``client_addr`` goes into every audit row the
    request writes (:func:`gis.audit.record`).  The user of a live token is
    remembered for :func:`begin_known`.
    """
    digest = token_hash(token) if token else None
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT * FROM pingan_begin(%s, %s)", (digest, client_addr))
            row = cursor.fetchone()
    finally:
        if not dbapi_connection.closed:  # a lost server: its error goes up
            dbapi_connection.autocommit = autocommit
    if row is None:
        _known.pop(digest, None)
        return None
    uid, username, role, station_id, station_code, grids, sid, kind, _exp = row
    user = User(
        id=uid,
        username=username,
        role=role,
        station_id=station_id,
        station_code=station_code,
        grid_ids=tuple(grids or ()),
        session_id=sid,
        session_kind=kind,
    )
    _remember(digest, user)
    return user


def _remember(digest: bytes, user: User) -> None:
    if len(_known) >= _KNOWN_MAX:
        _known.clear()
    _known[digest] = (time.monotonic() + KNOWN_SECONDS, user)


def begin_known(
    conn: sa.Connection, token: str, client_addr: str | None = None
) -> User | None:
    """Start a web request as the user this worker saw ``token`` belong to
    within :data:`KNOWN_SECONDS`, with no round trip; None if it saw none.

    The scope is not set yet: the connection's next statement run through
    :func:`scoped` (or :func:`resume`) first checks, in the same round trip,
    that the session is still live and still the same user in the same role,
    and sets the scope from the database.  An ended session fails that
    statement with :class:`~gis.errors.SessionEnded`, before it reads a row.
    ``pingan_begin``'s own round trip cost a lookup 0.25 ms under load.
    """
    digest = token_hash(token)
    known = _known.get(digest)
    if known is None or known[0] < time.monotonic():
        return None
    user = known[1]
    conn.connection.info[_PENDING] = (digest, client_addr, user.id, user.role)
    return user


def remember_scope(conn: sa.Connection, token: str | None, client_addr) -> None:
    """Note that :func:`begin` just set ``conn``'s settings to the scope of
    ``token`` (None: no scope), for :func:`embed`."""
    info = conn.connection.info
    if token:
        info[_SCOPE] = (token_hash(token), client_addr)
    else:
        info.pop(_SCOPE, None)


def pending(conn: sa.Connection) -> bool:
    """Whether ``conn``'s scope waits for its next statement (:func:`begin_known`)."""
    return _PENDING in conn.connection.info


def forget_pending(conn: sa.Connection) -> None:
    """Drop a check that never ran (a connection going back to the pool)."""
    info = conn.connection.info
    info.pop(_PENDING, None)
    info.pop(_EMBEDDED, None)


def resume(conn: sa.Connection) -> None:
    """Run the check :func:`begin_known` left pending, in a round trip of its
    own (for callers whose first statement cannot carry it)."""
    if _PENDING not in conn.connection.info:
        return
    dbapi = conn.connection.dbapi_connection
    autocommit = dbapi.autocommit
    dbapi.autocommit = True
    try:
        with dbapi.cursor() as cursor:
            scoped(conn, cursor).execute("SELECT 1")
    finally:
        if not dbapi.closed:
            dbapi.autocommit = autocommit


def scoped(conn: sa.Connection, cursor):
    """``cursor`` of ``conn``, whose next statement first runs the check that
    :func:`begin_known` left pending, in the same round trip; ``cursor``
    itself when none is pending.

    Only between transactions: the scope settings are session-wide, and a
    transaction rolled back would take them back with it.  The check and the
    statement then run as one implicit transaction (one simple-query
    message), so the statement never runs unless the check passed.
    """
    info = conn.connection.info
    if _PENDING not in info and _EMBEDDED not in info:
        return cursor
    dbapi = conn.connection.dbapi_connection
    if not dbapi.autocommit or dbapi.info.transaction_status != _IDLE:
        raise RuntimeError("the scope is set outside a transaction, in autocommit")
    return _CheckedCursor(cursor, info)


def embed(cursor) -> bytes | None:
    """The token hash a statement about to run on ``cursor`` (from
    :func:`scoped`) may check the session with itself, as
    ``pingan_alive(hash)`` in a one-time filter (migration 0021), instead of
    the ``pingan_resume`` sent ahead of it; None: nothing to embed (no check
    pending, or the connection's settings are not that session's scope as far
    as this worker knows, so the statement goes behind ``pingan_resume``).

    The worker's belief is only a hint: ``pingan_alive`` compares the live
    session with the settings in the database, and a statement it refuses
    with PA409 runs again behind ``pingan_resume`` (:class:`_CheckedCursor`).
    """
    if not isinstance(cursor, _CheckedCursor):
        return None
    info = cursor._info
    check = info.get(_PENDING)
    if check is None or info.get(_SCOPE) != (check[0], check[1]):
        return None
    info[_EMBEDDED] = info.pop(_PENDING)
    return check[0]


class _CheckedCursor:
    """A cursor whose next ``execute`` checks the session: preceded by
    ``pingan_resume``, or, after :func:`embed`, through the statement's own
    ``pingan_alive``: only a statement that carries the embedded token hash
    among its parameters is trusted to check it itself."""

    def __init__(self, cursor, info: dict):
        self._cursor, self._info = cursor, info

    def __getattr__(self, name):
        return getattr(self._cursor, name)

    def execute(self, query: str, params=None):
        embedded = self._info.pop(_EMBEDDED, None)
        if embedded is not None and not (params and embedded[0] in params):
            # Not the statement that checks (a PREPARE ahead of it): this one
            # goes behind pingan_resume instead, before it can read anything.
            self._info[_PENDING], embedded = embedded, None
        if embedded is not None:
            try:
                return self._cursor.execute(query, params)
            except psycopg2.Error as exc:
                if exc.pgcode == SESSION_ENDED:
                    self._ended(embedded)
                if exc.pgcode != SCOPE_NOT_SET or self._cursor.connection.closed:
                    if not self._cursor.connection.closed:  # checked or not,
                        self._info[_PENDING] = embedded  # the next one checks
                    raise
            # The settings were not the session's: set them from the database.
            self._info.pop(_SCOPE, None)
            self._info[_PENDING] = embedded
        check = self._info.pop(_PENDING, None)
        if check is None:
            return self._cursor.execute(query, params)
        prefix = self._cursor.mogrify(_RESUME, check).decode()
        if params is not None:  # the literals are interpolated already
            prefix = prefix.replace("%", "%%")
        try:
            done = self._cursor.execute(f"{prefix}; {query}", params)
        except psycopg2.Error as exc:
            if exc.pgcode != SESSION_ENDED:
                # The scope just set went with the failed transaction: the
                # connection's next statement must set it again.
                if not self._cursor.connection.closed:
                    self._info[_PENDING] = check
                raise
            self._ended(check)
        self._info[_SCOPE] = (check[0], check[1])
        return done

    def _ended(self, check: tuple) -> None:
        _known.pop(check[0], None)
        self._info.pop(_SCOPE, None)
        # Nor may the scope the connection had before (another request's) stay.
        self._cursor.execute("SELECT FROM pingan_begin(NULL, NULL)")
        raise SessionEnded(
            "令牌无效、已过期或已注销，请重新登录 / the token or session is not "
            "valid, has expired or was ended: sign in again"
        )
