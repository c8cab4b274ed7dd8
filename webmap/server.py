"""Run the web app in production: gunicorn, one process per worker.

A worker handles one request at a time (gunicorn's ``sync`` class); several
workers use every core, and while one waits for PostgreSQL another runs.  Workers
share nothing but the database (DESIGN: no state two workers could disagree on),
so any of them may answer any request; each builds its app and connection pool
after the fork.  Where gunicorn cannot run (Windows: no ``fcntl``), waitress
serves instead, with threads in one process.
"""

from __future__ import annotations

import logging
import os

from webmap import create_app

try:
    from gunicorn.app.base import BaseApplication
except ImportError:
    BaseApplication = None

logger = logging.getLogger(__name__)


def default_workers() -> int:
    """Workers for this machine: one per core plus one, at least two.

    On two cores with PostgreSQL on the same machine, three sync workers served
    more lookups per second than two; more only made requests queue longer.
    """
    return max(2, (os.cpu_count() or 1) + 1)


def gunicorn_options(host: str, port: int, workers: int) -> dict:
    """The gunicorn settings ``serve`` uses."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "sync",
        "proc_name": "pingan-grid",
        "accesslog": None,  # a log line per lookup would cost more than the lookup
        "errorlog": "-",
        "timeout": 120,  # a full batch or a large map page must not be killed
        "graceful_timeout": 30,
        # gunicornc's socket sits at one path per user: a second server (a test,
        # a benchmark) would take it over.  Nothing here uses it.
        "control_socket_disable": True,
    }


def serve(
    host: str = "127.0.0.1", port: int | None = None, workers: int | None = None
) -> None:
    """Serve on ``host:port`` (default ``$PORT`` or 5000) until interrupted.

    ``workers`` defaults to :func:`default_workers`; waitress ignores it.
    """
    port = port or int(os.environ.get("PORT", "5000"))
    workers = workers or default_workers()
    logger.info("平安网格 serving on http://%s:%d", host, port)
    print(f"平安网格 Pingan Grid: http://{host}:{port}/", flush=True)
    if BaseApplication is None:
        from waitress import serve as waitress_serve

        logger.info("gunicorn is not available here: serving with waitress")
        waitress_serve(
            create_app(), host=host, port=port, threads=8, ident="pingan-grid"
        )
        return
    _Gunicorn(gunicorn_options(host, port, workers)).run()


if BaseApplication is not None:

    class _Gunicorn(BaseApplication):
        """gunicorn configured from a dict rather than its command line."""

        def __init__(self, options: dict):
            self.options = options
            super().__init__()

        def load_config(self) -> None:
            for key, value in self.options.items():
                self.cfg.set(key, value)

        def load(self):
            # Runs in each worker after the fork: its own app, engine and pool.
            return create_app()
