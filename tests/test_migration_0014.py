"""Migration 0014 on a database that already holds a roster, posts and flags (SQLite and PostgreSQL).

SQLite copies ``accounts`` to make ``nip`` optional; with foreign keys on, dropping the old table would
cascade into ``handles`` (and refuse because of ``posts``), so the copy must run with them off.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from netral.db.engine import alembic_config, make_engine, upgrade

PG_URL = os.environ.get("NETRAL_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url_before(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        upgrade(url, "0013")
        yield url
        return
    if not PG_URL:
        pytest.skip("NETRAL_TEST_POSTGRES_URL not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    try:
        upgrade(url, "0013")
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _seed(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO accounts (nip, name, unit, position, birth_date, appointed, created_at, "
                          "updated_at) VALUES ('198503122010011001', 'Budi', 'Dinas', 'Guru', '1985-03-12', "
                          "'2010-01-01', '2024-01-01 00:00:00', '2024-01-01 00:00:00')"))
        account = conn.execute(text("SELECT id FROM accounts")).scalar()
        conn.execute(text("INSERT INTO handles (account_id, platform, handle) VALUES (:a, 'twitter', 'budi')"),
                     {"a": account})
        conn.execute(text("INSERT INTO posts (platform, post_id, account_id, author_handle, url, created_at, text, "
                          "kind, content_sha256, ingested_at, source) VALUES ('twitter', '1', :a, 'budi', '', "
                          "'2024-01-01 00:00:00', 'halo', 'post', 'x', '2024-01-01 00:00:00', 't')"), {"a": account})
        post = conn.execute(text("SELECT id FROM posts")).scalar()
        conn.execute(text("INSERT INTO flags (post_id, status, model_version, threshold, partisan_score, categories, "
                          "evidence, created_at, updated_at) VALUES (:p, 'pending', 'm1', 0.5, 0.9, '{}', '[]', "
                          "'2024-01-01 00:00:00', '2024-01-01 00:00:00')"), {"p": post})
    engine.dispose()


def test_upgrade_keeps_the_roster_and_defaults_the_new_columns(url_before: str) -> None:
    _seed(url_before)
    upgrade(url_before)
    engine = make_engine(url_before)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM handles")).scalar() == 1
            row = conn.execute(text("SELECT nip, employment_type, rank_grade, ppk, active FROM accounts")).one()
            assert tuple(row) == ("198503122010011001", "pns", "", "", True)
            assert conn.execute(text("SELECT source FROM flags")).scalar() == "model"
            if engine.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA foreign_key_check")).fetchall() == []
        names = {c["name"] for c in inspect(engine).get_check_constraints("accounts")}
        assert "ck_accounts_employment_type_allowed" in names
        # The posts and reports triggers still stand after the copy.
        with pytest.raises(Exception, match="immutable"), engine.begin() as conn:
            conn.execute(text("UPDATE posts SET text = 'x'"))
        with engine.begin() as conn:  # a non-ASN account: no NIP
            conn.execute(text("INSERT INTO accounts (employee_number, employment_type, name, unit, position, "
                              "rank_grade, ppk, active, created_at, updated_at) VALUES ('THL-1', 'non_asn', 'Ani', "
                              "'Kelurahan', '', '', '', TRUE, '2024-01-01 00:00:00', '2024-01-01 00:00:00')"))
        with pytest.raises(Exception, match="(?i)check|constraint"), engine.begin() as conn:
            conn.execute(text("UPDATE accounts SET employment_type = 'kontrak' WHERE employee_number = 'THL-1'"))
    finally:
        engine.dispose()


def test_downgrade_is_refused_while_non_asn_accounts_exist_and_works_otherwise(url_before: str) -> None:
    _seed(url_before)
    upgrade(url_before)
    engine = make_engine(url_before)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO accounts (employee_number, employment_type, name, unit, position, rank_grade, "
                          "ppk, active, created_at, updated_at) VALUES ('THL-1', 'non_asn', 'Ani', 'Kelurahan', '', "
                          "'', '', TRUE, '2024-01-01 00:00:00', '2024-01-01 00:00:00')"))
    engine.dispose()
    with pytest.raises(RuntimeError, match="non-ASN"):
        command.downgrade(alembic_config(url_before), "0013")
    engine = make_engine(url_before)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM accounts WHERE employee_number = 'THL-1'"))
    engine.dispose()
    command.downgrade(alembic_config(url_before), "0013")
    engine = make_engine(url_before)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM handles")).scalar() == 1
            assert "source" not in {c["name"] for c in inspect(conn).get_columns("flags")}
    finally:
        engine.dispose()
    upgrade(url_before)  # and up again

