"""Client-side deadlines for the web's database work: a frozen database must not
hang the service.

A database that is stopped (``SIGSTOP``, a hung VM, a stalled disk) but not
gone answers nothing and refuses nothing.  The server cannot enforce its own
``statement_timeout`` then, nor act on a cancel request (its postmaster is
frozen too), and on loopback or a Unix socket the kernel keeps acknowledging,
so TCP keepalives and ``tcp_user_timeout`` never fire (measured: a query on a
connection with both set to 1 s was still waiting after 8 s).  libpq's
``connect_timeout`` does bound a new connection (2.0 s for 2, on the Unix socket
and on TCP), but not a statement on a pooled connection.  So the client keeps
its own deadline for every statement:

- Engines made with ``gis.db.get_engine(url, request_timeouts=True)`` create
  their psycopg2 connections as :class:`Connection`, whose cursors are
  :class:`Cursor`.  ``execute``, ``executemany``, ``callproc``, ``commit`` and
  ``rollback`` write the connection's ``deadline`` before they start and clear
  it when they end, whether SQLAlchemy or a raw cursor (:mod:`gis.lookup`)
  calls them: two attribute writes and a clock read.  A single lookup
  costs 5-10 us more (+0.5-1.0 %), 8-16 us of client CPU
  (``scripts/bench_lookup.py --web``, lookup by lookup against the CLI's
  engine, on the loaded 2-core project machine).
- One :class:`Watchdog` thread per process looks at the deadlines of the
  connections it watches.  When a statement outlives its deadline it shuts
  the connection's socket down (``shutdown(SHUT_RDWR)``): libpq's wait returns
  at once, psycopg2 raises ``OperationalError: server closed the connection
  unexpectedly`` and marks the connection closed, so SQLAlchemy (or
  :func:`gis.db.discard_broken` for a raw cursor) throws it and the rest of
  the pool away and the request is a 503.  The frozen backend reads
  end-of-file when it wakes and exits; nothing is reused.
- The deadline is the statement timeout plus :data:`GRACE`: a database that
  answers but is slow cancels the statement itself first (a 503 too, and the
  connection stays usable); the watchdog is for one that cannot.
  :func:`within` shortens it for a block (``/healthz``, the pool's ping).

Connections of other engines (the CLI's bulk commands, the import page) are
plain psycopg2 connections and pay nothing.

The hot path takes no lock: the watchdog shuts down its own duplicate of the
socket, which is closed with the connection but never while a cut is under
way, so it can never reach a descriptor number that libpq has closed and the
system has given to another socket meanwhile.  What a lock would add is
exactness at the instant of the deadline: a statement that ends within
microseconds of it may be cut after it succeeded, and the connection's next
statement then fails as if the server had gone, one 503 in that rare case.
A lock and a shared table of deadlines cost 5-9 us of client CPU per
statement (``SELECT 1`` on the Unix socket: 22 -> 31 us; these writes: 1-2 us).

Why not psycopg2's ``set_wait_callback`` with a ``select()`` and a deadline:
the callback is process-wide, so it would also apply to the bulk connections,
and psycopg2 refuses ``COPY`` while one is set ("copy_expert cannot be used
with an asynchronous callback"), which every import, the import page and the
demo loader use.  It also cost a lookup about 20 us of client CPU, measured
lookup by lookup as above.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import math
import os
import socket
import threading
import time
import weakref

import psycopg2.extensions

logger = logging.getLogger(__name__)

GRACE = 1.0
"""Seconds a statement's deadline adds to the server's ``statement_timeout``,
so that a slow but living server cancels the statement before the client
cuts the connection."""

TICK = 0.5
"""The watchdog's longest sleep: a statement started while it sleeps is seen
within this, so every deadline of at least this many seconds is kept to the
scheduler's precision.  Two wake-ups a second of an idle thread cost nothing
measurable."""

_LIMIT: contextvars.ContextVar[float] = contextvars.ContextVar(
    "pingan_deadline", default=math.inf
)
_clock = time.monotonic


class Watchdog:
    """Cuts the connections whose statement outlived its deadline."""

    def __init__(self):
        self._lock = threading.Lock()  # for the set and the thread, not the
        self._watched: weakref.WeakSet[Connection] = weakref.WeakSet()  # hot path
        self._thread: threading.Thread | None = None

    def watch(self, conn: Connection) -> None:
        """Keep an eye on ``conn`` for as long as it exists."""
        with self._lock:
            self._watched.add(conn)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="pingan-db-deadlines", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            wake = self._cut_late()
            time.sleep(max(0.0, wake - _clock()))

    def _cut_late(self) -> float:
        """Cut every connection past its deadline; say when to look again."""
        now = _clock()
        wake = now + TICK
        with self._lock:
            watched = list(self._watched)
        for conn in watched:
            deadline = conn.deadline
            if deadline is None or conn.timed_out:
                continue
            if deadline <= now:
                conn.cut()
            else:
                wake = min(wake, deadline)
        return wake

    def after_fork(self) -> None:
        """In a forked child: no thread, no connections of the parent's."""
        self._lock = threading.Lock()
        self._watched = weakref.WeakSet()
        self._thread = None


_watchdog = Watchdog()
if hasattr(os, "register_at_fork"):  # gunicorn forks its workers
    os.register_at_fork(after_in_child=_watchdog.after_fork)


def _arm(conn: Connection) -> None:
    """Start ``conn``'s deadline: a statement runs from now."""
    allowed = min(conn.seconds, _LIMIT.get())
    conn.allowed = allowed
    conn.deadline = _clock() + allowed


class Cursor(psycopg2.extensions.cursor):
    """A cursor whose statements keep their connection's deadline."""

    def execute(self, query, vars=None):
        conn = self.connection
        _arm(conn)
        try:
            return super().execute(query, vars)
        finally:
            conn.deadline = None

    def executemany(self, query, vars_list):
        conn = self.connection
        _arm(conn)
        try:
            return super().executemany(query, vars_list)
        finally:
            conn.deadline = None

    def callproc(self, procname, parameters=None):
        conn = self.connection
        _arm(conn)
        try:
            return super().callproc(procname, parameters)
        finally:
            conn.deadline = None


class Connection(psycopg2.extensions.connection):
    """A psycopg2 connection whose statements end after ``seconds`` at most.

    Made by psycopg2 through :func:`connection_factory`; connecting itself is
    bounded by libpq's ``connect_timeout``.
    """

    def __init__(self, dsn, *args, seconds: float, **kwargs):
        super().__init__(dsn, *args, **kwargs)
        self.seconds = seconds
        self.allowed = seconds  # what the statement under way was given
        self.deadline: float | None = None  # monotonic; None between statements
        self.timed_out = False
        self.cursor_factory = Cursor
        # The watchdog's own handle on the socket (see the module's notes),
        # closed with the connection but never during a cut.
        self._socket = socket.socket(fileno=os.dup(self.fileno()))
        self._socket_lock = threading.Lock()
        weakref.finalize(self, self._socket.close)
        _watchdog.watch(self)

    def cut(self) -> None:
        """Shut the socket down: the statement waiting on it fails at once."""
        self.timed_out = True
        logger.warning(
            "the database did not answer within %.1f s: connection cut", self.allowed
        )
        with self._socket_lock:
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:  # closed already, by either side
                pass

    def close(self):
        super().close()
        with self._socket_lock:
            self._socket.close()

    def commit(self):
        _arm(self)
        try:
            return super().commit()
        finally:
            self.deadline = None

    def rollback(self):
        _arm(self)
        try:
            return super().rollback()
        finally:
            self.deadline = None


def connection_factory(seconds: float):
    """psycopg2's ``connection_factory`` for connections with a deadline.

    Parameters
    ----------
    seconds : float
        How long one statement (or commit, or rollback) may take, at most;
        at least :data:`TICK`.
    """
    if not seconds >= TICK:
        raise ValueError(f"a deadline must be at least {TICK} s, got {seconds!r}")
    return functools.partial(Connection, seconds=seconds)


@contextlib.contextmanager
def within(seconds: float):
    """Shorten the deadline of every statement run in this block (this thread).

    Examples
    --------
    >>> with within(1.5):                                   # doctest: +SKIP
    ...     conn.execute(sa.text("SELECT 1"))
    """
    token = _LIMIT.set(min(seconds, _LIMIT.get()))
    try:
        yield
    finally:
        _LIMIT.reset(token)
