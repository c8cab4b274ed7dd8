"""The embedded PostgreSQL + PostGIS cluster used when ``DATABASE_URL`` is unset.

The cluster lives in ``var/pg`` (git-ignored): ``data/`` is the data directory,
``run/`` the Unix socket directory, ``log/`` the server log, ``port`` the port it
listens on.  It listens on 127.0.0.1 and on the socket only.  Local socket
connections are trusted (the socket directory is private to the server's account,
and root); TCP clients such as QGIS use the generated password in ``var/pg/password``.

PostgreSQL refuses to run as root.  When we are root the server runs under an
unprivileged account (``PINGAN_PG_USER``, default ``postgres``).  If that account
cannot reach the checkout (for example a checkout under a 0700 home directory) the
cluster goes to ``/var/lib/pingan-grid/<hash of the var path>`` instead, and
``var/pg.location`` records where, so ``db status`` can say.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import pwd
import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from gis import config
from gis.errors import EmbeddedDatabaseError

logger = logging.getLogger(__name__)

DB_NAME = "pingan"
DB_SUPERUSER = "pingan"
FALLBACK_ROOT = Path("/var/lib/pingan-grid")
PORT_SEARCH = 50  # how many ports above the default to try when it is taken
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_permissions": "0700",
    "shared_buffers": "'512MB'",
    "work_mem": "'32MB'",
    "maintenance_work_mem": "'256MB'",
    "max_wal_size": "'2GB'",
    # Each web worker keeps a pool of the web role's connections and, for
    # imports, the owner's; the default 100 leaves little room beside them.
    "max_connections": "200",
    # JIT compilation costs more than it saves on short spatial queries.
    "jit": "off",
    "logging_collector": "off",
}


def find_bindir() -> Path:
    """Directory of the PostgreSQL server binaries with PostGIS available.

    ``PINGAN_PG_BINDIR`` wins; otherwise the newest ``/usr/lib/postgresql/N/bin``
    whose version has the PostGIS extension installed.
    """
    override = os.environ.get("PINGAN_PG_BINDIR")
    if override:
        path = Path(override)
        if not (path / "postgres").exists():
            raise EmbeddedDatabaseError(
                f"PINGAN_PG_BINDIR={override} 中没有 postgres 程序"
            )
        return path
    candidates = []
    for bindir in Path("/usr/lib/postgresql").glob("*/bin"):
        major = bindir.parent.name
        control = Path(f"/usr/share/postgresql/{major}/extension/postgis.control")
        if (bindir / "postgres").exists() and control.exists() and major.isdigit():
            candidates.append((int(major), bindir))
    if not candidates:
        raise EmbeddedDatabaseError(
            "未找到 PostgreSQL + PostGIS / PostgreSQL with PostGIS not found: run "
            "./scripts/setup (Debian: apt-get install postgresql "
            "postgresql-15-postgis-3), or set DATABASE_URL"
        )
    return max(candidates)[1]


@dataclass(frozen=True)
class Cluster:
    """Where the embedded cluster lives and who runs it."""

    root: Path
    os_user: str | None  # None: run as the current (non-root) user

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def sockdir(self) -> Path:
        return self.root / "run"

    @property
    def logfile(self) -> Path:
        return self.root / "log" / "postgresql.log"

    @property
    def portfile(self) -> Path:
        return self.root / "port"

    @property
    def passwordfile(self) -> Path:
        return self.root / "password"

    def port(self) -> int:
        """The port recorded at the last start, else the configured one."""
        try:
            return int(self.portfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return config.pg_port()

    def url(self, dbname: str = DB_NAME) -> str:
        """SQLAlchemy URL reaching the cluster over its Unix socket."""
        return (
            f"postgresql+psycopg2://{DB_SUPERUSER}@/{dbname}"
            f"?host={self.sockdir}&port={self.port()}"
        )


def locate() -> Cluster:
    """The embedded cluster of this checkout (it need not exist yet)."""
    os_user = _server_account()
    home = config.var_dir() / "pg"
    pointer = config.var_dir() / "pg.location"
    if pointer.exists():
        return Cluster(Path(pointer.read_text().strip()), os_user)
    return Cluster(home, os_user)


def _server_account() -> str | None:
    if os.geteuid() != 0:
        return None
    name = os.environ.get("PINGAN_PG_USER", "postgres")
    try:
        pwd.getpwnam(name)
    except KeyError:
        raise EmbeddedDatabaseError(
            f"以 root 运行时需要非特权账户 {name!r} 来运行 PostgreSQL / running as "
            f"root needs an unprivileged account {name!r} for the server: create it "
            "(useradd --system postgres) or set PINGAN_PG_USER"
        ) from None
    return name


def _run(cluster: Cluster, args: list[str], check: bool = True, **kwargs):
    """Run a server binary as the cluster's account, in a directory it can read."""
    if cluster.os_user:
        entry = pwd.getpwnam(cluster.os_user)
        kwargs.update(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
        env = {"PATH": "/usr/bin:/bin", "HOME": entry.pw_dir, "LANG": "C.UTF-8"}
    else:
        env = dict(os.environ, LANG="C.UTF-8")
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.STDOUT)
    result = subprocess.run(args, cwd="/", env=env, text=True, **kwargs)
    if check and result.returncode != 0:
        raise EmbeddedDatabaseError(
            f"{Path(args[0]).name} 失败 / failed (exit {result.returncode}):\n"
            f"{(result.stdout or '').strip()[-2000:]}"
        )
    return result


def _chown(cluster: Cluster, path: Path) -> None:
    if cluster.os_user:
        entry = pwd.getpwnam(cluster.os_user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _account_can_write(cluster: Cluster, path: Path) -> bool:
    if not cluster.os_user:
        return True
    return (
        _run(cluster, ["/usr/bin/test", "-w", str(path)], check=False).returncode == 0
    )


def _prepare_root(cluster: Cluster) -> Cluster:
    """Create the cluster directory, moving it where the server account can reach."""
    cluster.root.mkdir(parents=True, exist_ok=True)
    _chown(cluster, cluster.root)
    if _account_can_write(cluster, cluster.root):
        return cluster
    digest = hashlib.sha256(str(config.var_dir()).encode()).hexdigest()[:12]
    moved = Cluster(FALLBACK_ROOT / digest, cluster.os_user)
    logger.warning(
        "account %s cannot reach %s; the cluster goes to %s instead",
        cluster.os_user,
        cluster.root,
        moved.root,
    )
    FALLBACK_ROOT.mkdir(mode=0o755, parents=True, exist_ok=True)
    moved.root.mkdir(exist_ok=True)
    _chown(moved, moved.root)
    shutil.rmtree(cluster.root, ignore_errors=True)
    (config.var_dir() / "pg.location").write_text(str(moved.root) + "\n")
    return moved


def _initdb(cluster: Cluster, bindir: Path) -> None:
    """Create the data directory with a superuser and a generated TCP password."""
    for sub in (cluster.sockdir, cluster.logfile.parent):
        sub.mkdir(parents=True, exist_ok=True)
        _chown(cluster, sub)
    cluster.passwordfile.write_text(secrets.token_urlsafe(18) + "\n")
    os.chmod(cluster.passwordfile, 0o600)
    _chown(cluster, cluster.passwordfile)
    logger.info("initialising a new PostgreSQL cluster in %s", cluster.datadir)
    _run(
        cluster,
        [
            str(bindir / "initdb"),
            "-D",
            str(cluster.datadir),
            "-U",
            DB_SUPERUSER,
            "-E",
            "UTF8",
            "--locale=C",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={cluster.passwordfile}",
        ],
    )
    conf = cluster.datadir / "postgresql.conf"
    with conf.open("a") as fh:
        fh.write("\n# Pingan Grid settings, rewritten at every start\n")
        fh.write("include_if_exists = 'pingan.conf'\n")


def _write_settings(cluster: Cluster, port: int) -> None:
    settings = dict(
        SERVER_SETTINGS, port=str(port), unix_socket_directories=f"'{cluster.sockdir}'"
    )
    path = cluster.datadir / "pingan.conf"
    path.write_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
    _chown(cluster, path)
    cluster.portfile.write_text(f"{port}\n")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def _choose_port(cluster: Cluster) -> int:
    """The port of the last start if it is still free (clients that learned it,
    pooled connections and URLs, find the cluster again after a restart), else
    the configured port, or the next free one when it is taken by another server.

    An explicitly configured ``PINGAN_PG_PORT`` is honoured or refused, never moved.
    """
    wanted = config.pg_port()
    explicit = "PINGAN_PG_PORT" in os.environ
    if not explicit and cluster.portfile.exists():
        try:
            last = int(cluster.portfile.read_text().strip())
        except ValueError:
            last = None
        if last is not None and last != wanted and _port_free(last):
            return last
    if _port_free(wanted):
        return wanted
    if explicit:
        raise EmbeddedDatabaseError(
            f"端口 {wanted} 已被占用 / port {wanted} is already in use by another "
            "program: stop it or set PINGAN_PG_PORT to a free port"
        )
    for port in range(wanted + 1, wanted + PORT_SEARCH):
        if _port_free(port):
            logger.warning(
                "port %d is taken; the embedded cluster uses %d", wanted, port
            )
            return port
    raise EmbeddedDatabaseError(
        f"端口 {wanted}-{wanted + PORT_SEARCH} 均被占用 / no free port in "
        f"{wanted}-{wanted + PORT_SEARCH}; set PINGAN_PG_PORT"
    )


def _server_pid(cluster: Cluster) -> int | None:
    """PID of the running postmaster, removing a stale ``postmaster.pid``."""
    pidfile = cluster.datadir / "postmaster.pid"
    try:
        pid = int(pidfile.read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        cmdline = b""
    if b"postgres" in cmdline:
        return pid
    logger.warning("removing stale %s (process %d is not running)", pidfile, pid)
    pidfile.unlink(missing_ok=True)
    return None


def status() -> dict:
    """Describe the embedded cluster: where it is, whether it runs, how to reach it."""
    cluster = locate()
    initialised = (cluster.datadir / "PG_VERSION").exists()
    pid = _server_pid(cluster) if initialised else None
    return {
        "running": pid is not None,
        "pid": pid,
        "initialised": initialised,
        "location": str(cluster.root),
        "port": cluster.port(),
        "url": cluster.url(),
        "log": str(cluster.logfile),
    }


def start() -> dict:
    """Start the embedded cluster (initialising it on first use); idempotent."""
    bindir = find_bindir()
    cluster = locate()
    if (cluster.datadir / "PG_VERSION").exists():
        if _server_pid(cluster):
            logger.info("embedded PostgreSQL already running at %s", cluster.root)
            _ensure_database(cluster)
            return status()
    else:
        cluster = _prepare_root(cluster)
        _initdb(cluster, bindir)
    _write_settings(cluster, _choose_port(cluster))
    logger.info("starting embedded PostgreSQL on port %d", cluster.port())
    result = _run(
        cluster,
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(cluster.datadir),
            "-l",
            str(cluster.logfile),
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise EmbeddedDatabaseError(
            f"PostgreSQL 启动失败 / failed to start; last lines of {cluster.logfile}:\n"
            + _log_tail(cluster)
        )
    _ensure_database(cluster)
    return status()


def stop() -> dict:
    """Stop the embedded cluster if it runs; stopping a stopped cluster is fine."""
    cluster = locate()
    if not (cluster.datadir / "PG_VERSION").exists() or not _server_pid(cluster):
        logger.info("embedded PostgreSQL is not running")
        return status()
    _run(
        cluster,
        [
            str(find_bindir() / "pg_ctl"),
            "-D",
            str(cluster.datadir),
            "-m",
            "fast",
            "-w",
            "-t",
            "60",
            "stop",
        ],
    )
    return status()


def _log_tail(cluster: Cluster, lines: int = 20) -> str:
    try:
        return "\n".join(
            cluster.logfile.read_text(errors="replace").splitlines()[-lines:]
        )
    except FileNotFoundError:
        return "(no log)"


def _ensure_database(cluster: Cluster) -> None:
    """Create the application database on first start."""
    import psycopg2  # local: only the embedded path needs a raw admin connection

    conn = psycopg2.connect(
        dbname="postgres",
        user=DB_SUPERUSER,
        host=str(cluster.sockdir),
        port=cluster.port(),
    )
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{DB_NAME}"')
    finally:
        conn.close()
