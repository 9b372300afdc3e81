"""Engine, sessions and migrations.

SQLite needs foreign keys switched on per connection and a busy timeout so that the web app and a
batch scan can share the file; PostgreSQL needs nothing special.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from netral.settings import get_settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url``, else for the current settings' database; one engine per URL per process.

    The cache is keyed by the resolved URL: keyed by ``None``, it once kept handing out the engine of
    whatever database the settings named on the first call, after the settings had changed.
    """
    return _engine_for(url or get_settings().db_url)


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    return make_engine(url)


def clear_engines() -> None:
    """Forget the cached engines (tests that point the settings at another database)."""
    _engine_for.cache_clear()


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error, so nothing is half-written."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url or get_settings().db_url), revision)


def ensure_transaction(session: Session, *, immediate: bool = False) -> None:
    """Make sure a SQLite session is inside a real transaction before a SAVEPOINT or a read-then-write.

    The sqlite3 driver opens a transaction only before INSERT/UPDATE/DELETE; a SAVEPOINT issued
    outside one starts its own, and releasing it commits, which breaks all-or-nothing for the caller.
    ``immediate`` also takes SQLite's write lock at once. No-op on other back ends.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
