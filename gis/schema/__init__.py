"""Versioned schema migrations: numbered SQL files applied once, in order.

``migrations/NNNN_name.sql`` files are immutable once released; a change to the
schema is a new file.  :func:`migrate` applies the pending ones, each in its own
transaction together with its row in ``schema_migration``, under an advisory lock
so two processes running ``init`` at once cannot race.  An upgrade therefore
never drops or rewrites a user's data unless a migration says so explicitly.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gis import db
from gis.errors import ConfigError, SchemaNotReady

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x5049_4E47  # "PING": advisory lock id for migrations
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def available() -> list[Migration]:
    """All migration files, ordered by version."""
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ConfigError(f"migration file name not NNNN_name.sql: {path.name}")
        found.append(Migration(int(match[1]), match[2], path))
    return found


def migrate(engine: Engine) -> list[int]:
    """Apply pending migrations; return the versions applied (empty if up to date)."""
    applied_now = []
    with engine.connect() as conn:
        # Session-level lock on this one connection, held across all migrations.
        conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
        conn.commit()
        try:
            _ensure_table(conn)
            done = dict(
                conn.execute(
                    sa.text("SELECT version, checksum FROM schema_migration")
                ).all()
            )
            conn.commit()
            for migration in available():
                if migration.version in done:
                    _check_unchanged(migration, done[migration.version])
                    continue
                _apply(conn, migration)
                applied_now.append(migration.version)
        finally:
            conn.rollback()
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
            conn.commit()
    return applied_now


def current_version(engine: Engine) -> int | None:
    """Highest applied migration, or None for an empty database."""
    with db.connect(engine) as conn:  # unreachable: DatabaseUnavailable
        exists = conn.execute(
            sa.text("SELECT to_regclass('schema_migration')")
        ).scalar()
        if not exists:
            return None
        return conn.execute(
            sa.text("SELECT max(version) FROM schema_migration")
        ).scalar()


def require_current(engine: Engine) -> int:
    """The database's schema version; :class:`SchemaNotReady` (503) when it is
    missing or older than this release's migrations, with what to run."""
    version = current_version(engine)
    latest = available()[-1].version
    if version is None or version < latest:
        raise SchemaNotReady(
            f"数据库结构未初始化或不是最新 / the database schema is at version "
            f"{version or 0}, this release needs {latest}: run `python -m gis init` "
            "(or `./scripts/demo` for the demo)",
            version=version or 0,
            needed=latest,
        )
    return version


def _ensure_table(conn: sa.Connection) -> None:
    with conn.begin():
        conn.execute(
            sa.text(
                "CREATE TABLE IF NOT EXISTS schema_migration ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
        )


def _check_unchanged(migration: Migration, checksum: str) -> None:
    if checksum != migration.checksum:
        # Not fatal: the database already has this version; but a released
        # migration must not be edited, so say so loudly.
        logger.warning("migration %s changed after it was applied", migration.path.name)


def _apply(conn: sa.Connection, migration: Migration) -> None:
    logger.info("applying migration %04d %s", migration.version, migration.name)
    with conn.begin():
        # The raw cursor runs the multi-statement file without parameter parsing
        # (PL/pgSQL bodies contain '%' placeholders of their own).
        conn.connection.cursor().execute(migration.sql)
        conn.execute(
            sa.text(
                "INSERT INTO schema_migration (version, name, checksum) "
                "VALUES (:v, :n, :c)"
            ),
            {"v": migration.version, "n": migration.name, "c": migration.checksum},
        )
