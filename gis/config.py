"""Configuration from the environment, with defaults in code.

Only environment variables are read here; nothing is cached at import time so that
tests and the CLI can set variables before asking.

=====================  =================================================  =========
variable               meaning                                            default
=====================  =================================================  =========
DATABASE_URL           PostgreSQL/PostGIS URL; unset → embedded cluster   (unset)
PINGAN_VAR_DIR         where the embedded cluster lives                   ./var
PINGAN_PG_PORT         loopback port of the embedded cluster              54329
PINGAN_PG_USER         unprivileged OS account that runs it when root     postgres
PINGAN_PG_BINDIR       PostgreSQL server binaries                         newest
                                                                          with
                                                                          PostGIS
PORT                   HTTP port of ``serve`` and ./scripts/demo          5000
PINGAN_BASEMAP_URL     XYZ tile URL template for a base map               (none)
PINGAN_BASEMAP_ATTR    attribution shown for that base map                (empty)
PINGAN_BASEMAP_CRS     ``wgs84`` or ``gcj02`` (AMap/Tencent-style tiles)  wgs84
PINGAN_SECRET_KEY      signing key of API tokens and sessions             var/secret_key
PINGAN_TOKEN_HOURS     lifetime of an API token, hours                    12
PINGAN_UPLOAD_MB       largest file upload on the import page, MB         200
=====================  =================================================  =========

What a web request may wait for the database (the CLI's bulk commands and the
import page wait as long as their work takes):

===========================  =======================================  =======
variable                     meaning                                  default
===========================  =======================================  =======
PINGAN_DB_CONNECT_TIMEOUT    seconds to wait for a new connection     3
PINGAN_DB_STATEMENT_TIMEOUT  seconds one statement may run            30
===========================  =======================================  =======
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gis.errors import ConfigError

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_PORT = 54329
BASEMAP_CRS_CHOICES = ("wgs84", "gcj02")


def var_dir() -> Path:
    """Directory for the embedded cluster and other machine-local state."""
    return Path(os.environ.get("PINGAN_VAR_DIR", PROJECT_ROOT / "var")).resolve()


def pg_port() -> int:
    """Loopback port the embedded cluster should listen on."""
    raw = os.environ.get("PINGAN_PG_PORT", str(DEFAULT_PG_PORT))
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(
            f"PINGAN_PG_PORT 必须是端口号 / must be a port number, got {raw!r}"
        ) from None
    if not 1024 <= port <= 65535:
        raise ConfigError(f"PINGAN_PG_PORT 超出范围 / must be 1024-65535, got {port}")
    return port


def database_url_from_env() -> str | None:
    """The production database URL, or None to use the embedded cluster."""
    url = os.environ.get("DATABASE_URL", "").strip()
    return url or None


@dataclass(frozen=True)
class Basemap:
    """An optional XYZ tile layer under the overlays."""

    url: str
    attribution: str
    crs: str  # 'wgs84' or 'gcj02'; overlays are shifted to match a GCJ-02 base map


def basemap() -> Basemap | None:
    """The configured base map, or None (the default: no request leaves the machine)."""
    url = os.environ.get("PINGAN_BASEMAP_URL", "").strip()
    if not url:
        return None
    crs = os.environ.get("PINGAN_BASEMAP_CRS", "wgs84").strip().lower()
    if crs not in BASEMAP_CRS_CHOICES:
        raise ConfigError(
            f"PINGAN_BASEMAP_CRS 只能是 {'/'.join(BASEMAP_CRS_CHOICES)} / must be "
            f"one of {BASEMAP_CRS_CHOICES}, got {crs!r}"
        )
    attribution = os.environ.get("PINGAN_BASEMAP_ATTR", "").strip() or url.split("/")[2]
    return Basemap(url=url, attribution=attribution, crs=crs)


def secret_key() -> str:
    """The key that signs API tokens and sessions.

    Every worker process must use the same key, or a token issued by one is refused
    by another.  Without PINGAN_SECRET_KEY a random key is made once and kept in
    ``var/secret_key`` (mode 0600), which all workers on this machine share; several
    machines behind one balancer set PINGAN_SECRET_KEY.
    """
    key = os.environ.get("PINGAN_SECRET_KEY", "").strip()
    if key:
        return key
    path = var_dir() / "secret_key"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside, then linked into place: link() fails if the file exists, so
    # two workers starting together agree on whichever key got there first, and
    # nobody ever reads a half-written file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32))
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    return path.read_text(encoding="ascii").strip()


def token_hours() -> float:
    """How long an API token stays valid."""
    raw = os.environ.get("PINGAN_TOKEN_HOURS", "12")
    try:
        hours = float(raw)
    except ValueError:
        hours = -1.0
    if not 0 < hours <= 24 * 30:
        raise ConfigError(
            f"PINGAN_TOKEN_HOURS 必须在 0 到 720 之间 / must be hours in (0, 720], "
            f"got {raw!r}"
        )
    return hours


def upload_mb() -> int:
    """The largest file upload the import page takes, in megabytes."""
    raw = os.environ.get("PINGAN_UPLOAD_MB", "200")
    try:
        megabytes = int(raw)
    except ValueError:
        megabytes = -1
    if not 0 < megabytes <= 100_000:
        raise ConfigError(
            f"PINGAN_UPLOAD_MB 必须是 1 到 100000 之间的整数 / must be whole "
            f"megabytes in [1, 100000], got {raw!r}"
        )
    return megabytes


def db_connect_timeout() -> int:
    """Seconds a web request waits for a new database connection.

    libpq's ``connect_timeout``: whole seconds, and it takes 1 as 2.  The CLI's
    bulk commands wait as long as it takes.
    """
    raw = os.environ.get("PINGAN_DB_CONNECT_TIMEOUT", "3")
    try:
        seconds = int(raw)
    except ValueError:
        seconds = -1
    if not 2 <= seconds <= 3600:
        raise ConfigError(
            f"PINGAN_DB_CONNECT_TIMEOUT 必须是 2 到 3600 之间的整数秒 / must be "
            f"whole seconds in [2, 3600], got {raw!r}"
        )
    return seconds


def db_statement_timeout() -> float:
    """Seconds one statement of a web request may run before it is cancelled.

    The default leaves room for the heaviest requests, measured whole (each
    statement takes less) on the project machine (2 cores) under a load
    average of 4-5: a 10,000-point batch lookup 1.7-2.1 s, the coverage map
    2.2-3.7 s.  The CLI's bulk commands (init, assign, import, demo, export)
    and the import page are not limited.
    """
    raw = os.environ.get("PINGAN_DB_STATEMENT_TIMEOUT", "30")
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 1 <= seconds <= 3600:
        raise ConfigError(
            f"PINGAN_DB_STATEMENT_TIMEOUT 必须在 1 到 3600 秒之间 / must be "
            f"seconds in [1, 3600], got {raw!r}"
        )
    return seconds
