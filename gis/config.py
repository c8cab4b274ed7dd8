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
PINGAN_WEB_DATABASE_URL  the web app's own URL (role pingan_web)         derived
PINGAN_LOCKOUT         failures per account, per address, minutes         5,20,15
PINGAN_COOKIE_SECURE   session cookie ``Secure``: ``auto`` (when the          auto
                       request came over HTTPS), ``1`` always, ``0`` never
PINGAN_PROXY_FIX       trusted reverse proxies in front (X-Forwarded-*)   0
=====================  =================================================  =========

What an imported file may hold (CLI and import page alike): a zip (a zipped
Shapefile; an XLSX workbook is one too) beyond either cap is refused before
anything in it is read.

============================  ==========================================  =======
variable                      meaning                                     default
============================  ==========================================  =======
PINGAN_IMPORT_UNZIPPED_MB     total uncompressed size of a zip's entries  2048
PINGAN_IMPORT_ZIP_ENTRIES     entries in a zip                            1000
PINGAN_PREVIEW_ROWS           rows the import page's dry run checks       100000
                              before the import is confirmed (the import
                              itself checks them all)
============================  ==========================================  =======

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


def web_database_url_from_env() -> str | None:
    """PINGAN_WEB_DATABASE_URL: how the web app reaches the database as the role
    that owns no table (``pingan_web``), if set."""
    url = os.environ.get("PINGAN_WEB_DATABASE_URL", "").strip()
    return url or None


def lockout() -> tuple[int, int, float]:
    """Sign-in lock-out: (failures per account, failures per client address,
    window in minutes), from PINGAN_LOCKOUT ``5,20,15`` by default.

    An account locks after 5 failures within 15 minutes, an address after 20
    (an office behind one NAT address holds many users), each until the
    oldest counted failure is 15 minutes old.
    """
    raw = os.environ.get("PINGAN_LOCKOUT", "5,20,15")
    try:
        user, addr, minutes = (float(v) for v in raw.split(","))
    except ValueError:
        user = -1
    if user < 1 or addr < 1 or not 0 < minutes <= 24 * 60:
        raise ConfigError(
            "PINGAN_LOCKOUT 格式为 账号次数,地址次数,分钟 / must be "
            f"'failures per account,failures per address,minutes', got {raw!r}"
        )
    return int(user), int(addr), minutes


COOKIE_SECURE_CHOICES = {
    "auto": "auto",
    "1": True,
    "true": True,
    "0": False,
    "false": False,
}


def cookie_secure() -> str | bool:
    """Whether the session cookie is marked ``Secure``: ``"auto"``, True or False.

    ``auto`` marks it when the request came over HTTPS, so one setting serves
    both a plain-HTTP intranet install and one behind TLS (behind a proxy that
    ends TLS, only with :func:`proxy_fix` set, or the request looks like HTTP).
    """
    raw = os.environ.get("PINGAN_COOKIE_SECURE", "auto").strip().lower()
    if raw not in COOKIE_SECURE_CHOICES:
        raise ConfigError(
            "PINGAN_COOKIE_SECURE 只能是 auto、1 或 0 / must be auto, 1 or 0, "
            f"got {raw!r}"
        )
    return COOKIE_SECURE_CHOICES[raw]


def proxy_fix() -> int:
    """How many reverse proxies (nginx, a balancer) stand in front of the app.

    Their ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed for that
    many hops; with 0 (the default) they are ignored, since any client can send
    them.
    """
    raw = os.environ.get("PINGAN_PROXY_FIX", "0").strip()
    try:
        hops = int(raw)
    except ValueError:
        hops = -1
    if not 0 <= hops <= 10:
        raise ConfigError(
            f"PINGAN_PROXY_FIX 必须是 0 到 10 之间的整数（前置代理的层数）/ must be "
            f"the number of trusted proxies, 0-10, got {raw!r}"
        )
    return hops
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


def _whole(name: str, default: int, low: int, high: int, meaning: str) -> int:
    """The whole number in environment variable ``name``, within [low, high]."""
    raw = os.environ.get(name, str(default)).strip()
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ConfigError(
            f"{name} 必须是 {low} 到 {high} 之间的整数 / must be {meaning}, a whole "
            f"number in [{low}, {high}], got {raw!r}"
        )
    return value


def import_unzipped_bytes() -> int:
    """The most a zip being imported may unpack to, all entries together
    (PINGAN_IMPORT_UNZIPPED_MB, megabytes)."""
    mb = _whole("PINGAN_IMPORT_UNZIPPED_MB", 2048, 1, 1_000_000, "megabytes")
    return mb << 20


def import_zip_entries() -> int:
    """The most entries a zip being imported may hold (PINGAN_IMPORT_ZIP_ENTRIES)."""
    return _whole("PINGAN_IMPORT_ZIP_ENTRIES", 1000, 1, 1_000_000, "entries")


def preview_rows() -> int:
    """Rows the import page's dry run checks (PINGAN_PREVIEW_ROWS): a bigger
    file is checked in full when its import is confirmed."""
    return _whole("PINGAN_PREVIEW_ROWS", 100_000, 1, 100_000_000, "rows")


def small_count() -> int:
    """Counts below this are shown as "<N" in leadership views and exports, at
    their finest levels (squares and villages), so that no single incident can
    be picked out; 1 turns the suppression off (PINGAN_SMALL_COUNT)."""
    return _whole("PINGAN_SMALL_COUNT", 3, 1, 100, "a count")
