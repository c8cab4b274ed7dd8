"""Run the web app with waitress (production WSGI server, pure Python)."""

from __future__ import annotations

import logging
import os

from webmap import create_app

logger = logging.getLogger(__name__)


def serve(host: str = "127.0.0.1", port: int | None = None, threads: int = 8) -> None:
    """Serve on ``host:port`` (default ``$PORT`` or 5000) until interrupted."""
    from waitress import serve as waitress_serve

    port = port or int(os.environ.get("PORT", "5000"))
    app = create_app()
    logger.info("平安网格 serving on http://%s:%d", host, port)
    print(f"平安网格 Pingan Grid: http://{host}:{port}/", flush=True)
    waitress_serve(app, host=host, port=port, threads=threads, ident="pingan-grid")
