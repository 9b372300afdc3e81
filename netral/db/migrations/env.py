"""Alembic environment: runs migrations against the URL given by netral.db.engine."""

from __future__ import annotations

from alembic import context

from netral.db.engine import make_engine
from netral.db.schema import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """One transaction per migration: a migration that copies a SQLite table must switch foreign keys off
    first, and SQLite ignores that switch inside an open transaction (see 0014)."""
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                          transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
