"""Shared fixtures: a migrated database per test, on SQLite always and on PostgreSQL when
``NETRAL_TEST_POSTGRES_URL`` is set (each test gets its own schema there, so runs never collide)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from netral.db.engine import make_engine, upgrade  # noqa: E402

PG_URL = os.environ.get("NETRAL_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _pg_schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A freshly migrated database URL (SQLite file, or a private PostgreSQL schema)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'netral.db'}"
        upgrade(url)
        yield url
        return
    if not PG_URL:
        pytest.skip("NETRAL_TEST_POSTGRES_URL not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = _pg_schema_url(PG_URL, schema)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def sqlite_factory(tmp_path) -> Iterator[sessionmaker[Session]]:  # type: ignore[no-untyped-def]
    """SQLite only, for tests that are not about the data layer."""
    url = f"sqlite:///{tmp_path / 'netral.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()
