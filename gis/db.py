"""Database URL resolution and the one engine per process.

``DATABASE_URL`` names a production PostgreSQL/PostGIS; without it the embedded
cluster (:mod:`gis.embedded`) is used.  Each process keeps one SQLAlchemy engine
per URL and kind; callers take a connection per request or command.

The web's engine (``request_timeouts=True``) waits
``PINGAN_DB_CONNECT_TIMEOUT`` for a connection and ``PINGAN_DB_STATEMENT_TIMEOUT``
for a statement, the server cancelling it and, should the server be frozen,
:mod:`gis.deadlines` cutting the connection a moment later.  The CLI's engine
waits as long as bulk work takes.
"""

from __future__ import annotations

import functools
import logging
import math
import selectors
import threading
import time

import psycopg2
import psycopg2.extensions
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from gis import config, deadlines, embedded
from gis.errors import ConfigError, DatabaseUnavailable, SchemaNotReady

logger = logging.getLogger(__name__)

_engines: dict[tuple[str, bool], Engine] = {}
_lock = threading.Lock()


def normalise_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` URLs; use the psycopg2 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    try:
        parsed = make_url(url)
    except Exception:
        raise ConfigError(
            "DATABASE_URL 格式无效 / DATABASE_URL is not a valid URL"
        ) from None
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(
            f"DATABASE_URL 必须指向 PostgreSQL / must be a PostgreSQL URL, "
            f"got backend {parsed.get_backend_name()!r}"
        )
    return parsed.set(drivername="postgresql+psycopg2").render_as_string(
        hide_password=False
    )


def database_url(start_embedded: bool = False) -> str:
    """The URL to use: ``DATABASE_URL``, else the embedded cluster's.

    With ``start_embedded`` the embedded cluster is started when needed (the CLI
    does this; the web app does not, so that ``/healthz`` reports a stopped one).
    """
    url = config.database_url_from_env()
    if url:
        return normalise_url(url)
    if start_embedded:
        embedded.start()
    return embedded.locate().url()


def web_url(owner_url: str) -> str:
    """The URL the web app uses: ``PINGAN_WEB_DATABASE_URL``, else ``owner_url``
    as the role that owns no table (:data:`gis.access.WEB_ROLE`), no password.

    The embedded cluster trusts its private socket, so the derived URL works
    there; a production server with passwords needs PINGAN_WEB_DATABASE_URL.
    """
    from gis.access import WEB_ROLE

    url = config.web_database_url_from_env()
    if url:
        return normalise_url(url)
    return (
        make_url(normalise_url(owner_url))
        .set(username=WEB_ROLE, password=None)
        .render_as_string(hide_password=False)
    )


# A pooled connection idle longer than this is pinged before use.
PING_IDLE_SECONDS = 5.0


def get_engine(url: str | None = None, *, request_timeouts: bool = False) -> Engine:
    """The process-wide engine for ``url`` (default: :func:`database_url`).

    Parameters
    ----------
    url : str, optional
    request_timeouts : bool
        For web requests: connecting and each statement have a time limit
        (``PINGAN_DB_CONNECT_TIMEOUT``, ``PINGAN_DB_STATEMENT_TIMEOUT``, read
        when the engine is made), kept even by a frozen server
        (:mod:`gis.deadlines`).  Without it (the CLI's bulk work) there is none.
    """
    url = url or database_url()
    with _lock:
        engine = _engines.get((url, request_timeouts))
        if engine is None:
            engine = _make_engine(url, request_timeouts)
            _engines[(url, request_timeouts)] = engine
    return engine


def _make_engine(url: str, request_timeouts: bool) -> Engine:
    connect_args, ping_within = {}, math.inf
    if request_timeouts:
        statement = config.db_statement_timeout()
        ping_within = config.db_connect_timeout()  # as long as a new one may take
        connect_args = {
            "connect_timeout": ping_within,
            "connection_factory": deadlines.connection_factory(
                statement + deadlines.GRACE
            ),
        }
    # LIFO: a connection that a second thread used now and then (the read
    # log's, gis.audit) goes back under the one a worker's requests keep using.
    engine = sa.create_engine(
        url,
        pool_size=5,
        max_overflow=10,
        pool_use_lifo=True,
        future=True,
        connect_args=connect_args,
    )
    if request_timeouts:
        sa.event.listen(engine, "connect", _statement_timeout(statement))
        sa.event.listen(engine, "handle_error", _as_unavailable)
    sa.event.listen(engine, "connect", _note_checkin)  # alive: just made
    sa.event.listen(engine, "checkout", functools.partial(_ping_if_idle, ping_within))
    sa.event.listen(engine, "checkin", _note_checkin)
    return engine


def _statement_timeout(seconds: float):
    """A ``connect`` listener: the server cancels a statement after ``seconds``.

    A ``SET`` rather than libpq's ``options``, which PgBouncer refuses; it
    costs one round trip per new connection, not per request.
    """

    def limit(dbapi_connection, record) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(
                "SET statement_timeout = %s", (f"{round(seconds * 1000)}ms",)
            )
        dbapi_connection.commit()  # or the pool's rollback would undo it

    return limit


def cancelled_for_time(exc: BaseException) -> bool:
    """Whether ``exc`` (or the driver's error it wraps) is the server
    cancelling a statement at its ``statement_timeout`` (query_canceled)."""
    return getattr(getattr(exc, "orig", exc), "pgcode", None) == "57014"


def _as_unavailable(context) -> None:
    """A ``handle_error`` listener: on the web's engine a statement that lost
    its server (gone, or frozen past its deadline) or ran out of time is a
    :class:`DatabaseUnavailable`, as a failed connect is (:func:`connect`), so
    that code which copes with one (a page header asking who is signed in)
    copes with all.  SQLAlchemy still invalidates the connection and pool."""
    if context.is_disconnect:
        logger.warning("database connection lost: %s", context.original_exception)
        raise unreachable() from None
    if cancelled_for_time(context.original_exception):
        raise too_slow() from None


def _note_checkin(dbapi_connection, record) -> None:
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(within: float, dbapi_connection, record, proxy) -> None:
    """A restarted database must not leave dead pooled connections: ping the
    ones idle for :data:`PING_IDLE_SECONDS`, and let the pool replace one
    that does not answer.

    Pinging every checkout (``pool_pre_ping``) costs a round trip per request,
    ~0.3 ms of a 2 ms lookup under load.  A connection used moments ago that
    died since fails its statement instead: SQLAlchemy then discards the whole
    pool, :func:`discard_broken` does the same for a raw cursor's error, and
    the request is a 503 (:class:`DatabaseUnavailable`), as during the outage.
    """
    idle = time.monotonic() - record.info.get("checked_in", 0.0)
    if idle < PING_IDLE_SECONDS:
        return
    try:
        # A frozen server leaves the ping waiting: no longer than a new
        # connection would (the statement deadline is for real work).
        with deadlines.within(within), dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_connection.rollback()  # leave it idle, as the pool handed it over
    except psycopg2.Error:
        raise sa.exc.DisconnectionError() from None  # the pool connects anew


def discard_broken(conn: sa.Connection) -> bool:
    """After a driver error on ``conn``: if its connection is gone (the server
    restarted or went away), invalidate it and the rest of its engine's pool,
    as SQLAlchemy does for the errors it sees itself; say whether it was."""
    if conn.invalidated:
        return True
    raw = conn.connection.dbapi_connection
    if raw is None or not raw.closed:
        return False
    conn.invalidate()
    conn.engine.pool.dispose()  # the others opened before it are likely dead too
    return True


def dispose_engines() -> None:
    """Close every pooled connection (tests, forks), once the read records
    this process holds are written (:func:`gis.audit.flush_reads`)."""
    from gis import audit

    audit.flush_reads()
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def connect(engine: Engine) -> sa.Connection:
    """Open a connection; an unreachable database is a DatabaseUnavailable."""
    try:
        return engine.connect()
    except sa.exc.OperationalError as exc:
        # The driver's text may name hosts and users: log it, don't show it.
        logger.warning("database connection failed: %s", exc.orig)
        raise unreachable() from None


def unreachable() -> DatabaseUnavailable:
    """The error for a database that cannot be reached, went away, or stopped
    answering."""
    return DatabaseUnavailable(
        "数据库无法连接或无响应 / database unreachable or not answering: start it "
        "with `python -m gis db start` or check DATABASE_URL"
    )


def too_slow() -> DatabaseUnavailable:
    """The error for a web request's statement the server cancelled at
    ``PINGAN_DB_STATEMENT_TIMEOUT``."""
    seconds = config.db_statement_timeout()
    return DatabaseUnavailable(
        f"数据库繁忙，查询超过 {seconds:g} 秒未完成，请稍后重试 / the database is "
        f"busy: the query did not finish within {seconds:g} s, try again later"
    )


def probe(engine: Engine, seconds: float) -> None:
    """Raise :func:`unreachable` unless ``engine``'s database, on a new
    connection, answers ``SELECT 1`` within ``seconds`` (fractions count).

    For health checks: a pooled connection may be stuck behind a frozen
    server, and libpq's ``connect_timeout`` counts whole seconds from two.  The
    connection is asynchronous, polled here against the deadline.
    """
    deadline = time.monotonic() + seconds
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    conn = None
    try:
        conn = psycopg2.connect(*args, **kwargs, async_=True)
        _wait(conn, deadline)
        cursor = conn.cursor()  # kept: polling needs it
        cursor.execute("SELECT 1")
        _wait(conn, deadline)
    except (psycopg2.Error, TimeoutError) as exc:
        logger.warning("database probe failed: %s", exc)
        raise unreachable() from None
    finally:
        if conn is not None:
            conn.close()


def _wait(conn, deadline: float) -> None:
    """Poll asynchronous ``conn`` until its operation is done, or TimeoutError."""
    wanted = {
        psycopg2.extensions.POLL_READ: selectors.EVENT_READ,
        psycopg2.extensions.POLL_WRITE: selectors.EVENT_WRITE,
    }
    with selectors.DefaultSelector() as selector:
        while (state := conn.poll()) != psycopg2.extensions.POLL_OK:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer within the deadline ({state=})")
            # The socket may change while connecting (another address).
            key = selector.register(conn.fileno(), wanted[state])
            selector.select(left)
            selector.unregister(key.fd)


def ping(engine: Engine) -> dict:
    """Check the database answers and has PostGIS; raise DatabaseUnavailable
    (SchemaNotReady when it answers without PostGIS) if not."""
    with connect(engine) as conn:
        version = conn.execute(
            sa.text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
        ).scalar()
    if version is None:
        raise SchemaNotReady(
            "数据库未安装 PostGIS / PostGIS is not installed in this database: "
            "run `python -m gis init`"
        )
    return {"database": "ok", "postgis": version}


def admin_url(url: str) -> URL:
    """The same server's maintenance database, for CREATE/DROP DATABASE."""
    return make_url(url).set(database="postgres")


def create_database(url: str, name: str) -> str:
    """Create database ``name`` on ``url``'s server; return its URL."""
    _admin_execute(url, f'CREATE DATABASE "{_identifier(name)}"')
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str, name: str) -> None:
    """Drop database ``name`` on ``url``'s server, closing its connections."""
    _admin_execute(url, f'DROP DATABASE IF EXISTS "{_identifier(name)}" WITH (FORCE)')


def _identifier(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unsafe database name {name!r}")
    return name


def _admin_execute(url: str, statement: str) -> None:
    engine = sa.create_engine(
        admin_url(url), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
    )
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def bind_to_policies(engine: Engine) -> Engine:
    """Refuse every connection of ``engine`` whose role would step around the
    row policies: a superuser, a role with BYPASSRLS, or an owner of tables.

    The web app's engine gets this, so a mistaken PINGAN_WEB_DATABASE_URL is a
    clear error instead of a service that shows every station everything.
    """
    if not sa.event.contains(engine, "connect", _refuse_unbound):
        sa.event.listen(engine, "connect", _refuse_unbound)
    return engine


def _refuse_unbound(dbapi_connection, _record) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("""
            SELECT current_user, rolsuper OR rolbypassrls OR EXISTS (
                   SELECT 1 FROM pg_tables WHERE tableowner = current_user
                      AND schemaname = 'public')
              FROM pg_roles WHERE rolname = current_user""")
        role, unbound = cursor.fetchone()
    dbapi_connection.rollback()
    if unbound:
        raise ConfigError(
            f"网页服务的数据库角色 {role} 权限过大 / the web app's database role "
            f"{role!r} is a superuser, bypasses row security or owns tables: "
            "set PINGAN_WEB_DATABASE_URL to the pingan_web role (see README)"
        )
