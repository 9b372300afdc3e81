"""The audit chain under concurrent writers, tamper evidence beyond the database, and the invariants the
database itself enforces (append-only tables, reports only after two different people).

The data-layer tests run on SQLite always and on PostgreSQL when NETRAL_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner
from webutil import add_account, add_flag, add_user, factory_for, seed_basic, settings_for

from netral import audit
from netral.db.schema import AuditRecord, Flag, Report, Review, User
from netral.db.types import utcnow
from netral.review import decisions, queue
from netral.settings import Settings

REASON = "Unggahan mengajak memilih paslon nomor 2 secara terbuka."


def _run_threads(n: int, rounds: int, work) -> list[BaseException]:  # type: ignore[no-untyped-def]
    """``work(thread_index, round)`` in ``n`` threads that start each round together (a barrier)."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def body(i: int) -> None:
        for r in range(rounds):
            try:
                barrier.wait(timeout=60)
                work(i, r)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                with lock:
                    errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_concurrent_appends_on_different_entities_keep_one_chain(factory: sessionmaker[Session]) -> None:
    """Logins and other unrelated events append at the same moment: the chain must not fork.

    The old ``append`` read the head outside any write lock (SQLite) or locked only the old head row
    (PostgreSQL), so two writers chained to the same record and ``verify_chain`` raised false alarms.
    """
    n, rounds = 4, 10

    def work(i: int, r: int) -> None:
        with factory() as s:
            audit.append(s, actor=f"user{i}", action="auth.login", entity="user", entity_id=i,
                         after={"round": r})
            s.commit()

    errors = _run_threads(n, rounds, work)
    assert not errors, errors
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(AuditRecord)) == n * rounds
        assert audit.verify_chain(s) == []
        prevs = s.scalars(select(AuditRecord.prev_hash)).all()
        assert len(set(prevs)) == len(prevs)  # no two records chain to the same predecessor


def test_concurrent_claims_on_different_flags_keep_one_chain(factory: sessionmaker[Session]) -> None:
    """Four reviewers claim and release four different flags at once, ten rounds (the reported case)."""
    settings = Settings(claim_lease_minutes=30)
    with factory() as s:
        user_ids = [add_user(s, f"peninjau{i}", "reviewer").id for i in range(4)]
        account = add_account(s)
        flag_ids = [add_flag(s, account, post_id=str(7000 + k), text=f"post {k}").id for k in range(4)]
        s.commit()

    def work(i: int, r: int) -> None:
        with factory() as s:
            user = s.get(User, user_ids[i])
            assert user is not None
            queue.claim(s, flag_ids[i], user, settings)
            s.commit()
            queue.release(s, flag_ids[i], user)
            s.commit()

    errors = _run_threads(4, 10, work)
    assert not errors, errors
    with factory() as s:
        assert audit.verify_chain(s) == []
        claims = s.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "flag.claim"))
        assert claims == 40


# --- exported head --------------------------------------------------------------------------------

def _append(factory: sessionmaker[Session], k: int) -> None:
    with factory() as s:
        for i in range(k):
            audit.append(s, actor="tester", action="test.event", entity="test", entity_id=i, after={"i": i})
        s.commit()


def test_recomputed_chain_is_caught_by_the_exported_head(db_url: str, tmp_path: Path) -> None:
    """Someone with full database access edits a record and recomputes every hash after it: the chain
    alone verifies, but the head exported earlier no longer matches."""
    factory = factory_for(db_url)
    _append(factory, 5)
    head_file = tmp_path / "head.json"
    with factory() as s:
        anchor = audit.export_head(s)
    head_file.write_text(json.dumps(anchor))
    _append(factory, 3)  # the log grows after the export: still fine
    with factory() as s:
        assert audit.verify_chain(s) == []
        assert audit.verify_against(s, anchor) == []
    # The attacker: bypass the triggers, rewrite record 2 and re-chain everything after it.
    with factory() as s:
        rows = list(s.scalars(select(AuditRecord).order_by(AuditRecord.id)))
        _disable_audit_triggers(s)
        prev = audit.GENESIS
        for rec in rows:
            reason = "ditulis ulang" if rec.id == rows[1].id else rec.reason
            new_hash = audit.record_hash(prev, rec.at, rec.actor, rec.action, rec.entity, rec.entity_id,
                                         rec.before, rec.after, reason)
            s.execute(text("UPDATE audit_log SET reason = :r, prev_hash = :p, hash = :h WHERE id = :i"),
                      {"r": reason, "p": prev, "h": new_hash, "i": rec.id})
            prev = new_hash
        s.commit()
    with factory() as s:
        assert audit.verify_chain(s) == []  # the chain alone is fooled ...
        problems = audit.verify_against(s, json.loads(head_file.read_text()))
        assert problems and "head" in problems[0].problem  # ... the exported head is not

    # Deleting the newest records (tail truncation) is caught the same way.
    factory.kw["bind"].dispose()


def test_verify_against_catches_a_shortened_log(db_url: str) -> None:
    factory = factory_for(db_url)
    _append(factory, 4)
    with factory() as s:
        anchor = audit.export_head(s)
        _disable_audit_triggers(s)
        s.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": anchor["id"]})
        s.commit()
    with factory() as s:
        assert audit.verify_chain(s) == []
        problems = audit.verify_against(s, anchor)
        assert problems and "tidak ada lagi" in problems[0].problem
    factory.kw["bind"].dispose()


def _disable_audit_triggers(s: Session) -> None:
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
    else:
        s.execute(text("DROP TRIGGER audit_no_update"))
        s.execute(text("DROP TRIGGER audit_no_delete"))


def test_cli_head_and_verify_against(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from netral.cli.audit import app
    from netral.settings import get_settings

    url = f"sqlite:///{tmp_path / 'netral.db'}"
    from netral.db.engine import upgrade

    upgrade(url)
    monkeypatch.setenv("NETRAL_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        factory = factory_for(url)
        _append(factory, 3)
        runner = CliRunner()
        head = tmp_path / "anchor" / "head.json"
        exported = runner.invoke(app, ["head", "--output", str(head)])
        assert exported.exit_code == 0, exported.output
        anchor = json.loads(head.read_text())
        assert anchor["count"] == 3 and len(anchor["hash"]) == 64
        ok = runner.invoke(app, ["verify", "--against", str(head)])
        assert ok.exit_code == 0, ok.output
        anchor["hash"] = "f" * 64
        head.write_text(json.dumps(anchor))
        bad = runner.invoke(app, ["verify", "--against", str(head)])
        assert bad.exit_code == 1
        assert "head" in bad.output
        head.write_text("{not json")
        broken = runner.invoke(app, ["verify", "--against", str(head)])
        assert broken.exit_code == 1 and "head.json" in broken.output
        factory.kw["bind"].dispose()
    finally:
        get_settings.cache_clear()


# --- database invariants --------------------------------------------------------------------------

@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[tuple[sessionmaker[Session], Settings, dict[str, int]]]:
    factory = factory_for(db_url)
    yield factory, settings_for(db_url, tmp_path), seed_basic(factory)
    factory.kw["bind"].dispose()


@pytest.mark.parametrize("table", ["audit_log", "posts", "reviews", "reports"])
def test_truncate_is_refused_on_postgres(env, table: str) -> None:  # type: ignore[no-untyped-def]
    factory, _, _ = env
    with factory() as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("TRUNCATE exists only on PostgreSQL (SQLite's DELETE fires the row triggers)")
        with pytest.raises(DBAPIError):
            s.execute(text(f"TRUNCATE {table} CASCADE"))
        s.rollback()


def test_reviews_are_append_only(env) -> None:  # type: ignore[no-untyped-def]
    factory, settings, ids = env
    with factory() as s:
        rina = s.get(User, ids["rina"])
        assert rina is not None
        queue.claim(s, ids["flag"], rina, settings)
        decisions.dismiss(s, ids["flag"], rina, reason="Sindiran, bukan dukungan.")
        s.commit()
    for stmt in ("UPDATE reviews SET decision = 'confirm'", "DELETE FROM reviews"):
        with factory() as s:
            with pytest.raises(DBAPIError):
                s.execute(text(stmt))
            s.rollback()
    with factory() as s:
        assert s.scalars(select(Review.decision)).all() == ["dismiss"]


def _raw_report(s: Session, flag_id: int, user_id: int) -> None:
    s.execute(text("INSERT INTO reports (flag_id, number, created_by, created_at, content_sha256) "
                   "VALUES (:f, 'NTR/2099/000001', :u, :t, :h)"),
              {"f": flag_id, "u": user_id, "t": utcnow(), "h": "0" * 64})


def _raw_review(s: Session, flag_id: int, user_id: int, stage: str, decision: str) -> None:
    s.execute(text("INSERT INTO reviews (flag_id, reviewer_id, stage, decision, reason, created_at) "
                   "VALUES (:f, :u, :s, :d, 'alasan yang cukup panjang', :t)"),
              {"f": flag_id, "u": user_id, "s": stage, "d": decision, "t": utcnow()})


def test_report_trigger_needs_two_different_people(env) -> None:  # type: ignore[no-untyped-def]
    """Raw SQL that marks a flag verified, even with a review row, cannot make a report without a
    confirmation and a verification by two different users."""
    factory, _, ids = env
    with factory() as s:
        s.execute(text("UPDATE flags SET status = 'verified' WHERE id = :f"), {"f": ids["flag"]})
        s.commit()
    with factory() as s:
        with pytest.raises(DBAPIError):  # verified status but no reviews at all
            _raw_report(s, ids["flag"], ids["sari"])
        s.rollback()
        _raw_review(s, ids["flag"], ids["adi"], "first", "confirm")
        _raw_review(s, ids["flag"], ids["adi"], "second", "verify")
        s.commit()
    with factory() as s:
        with pytest.raises(DBAPIError):  # one person did both reviews
            _raw_report(s, ids["flag"], ids["adi"])
        s.rollback()
        _raw_review(s, ids["flag"], ids["tono"], "second", "verify")
        s.commit()
    with factory() as s:
        _raw_report(s, ids["flag"], ids["tono"])  # confirm by adi, latest verify by tono
        s.commit()
        assert s.scalar(select(func.count()).select_from(Report)) == 1
        for stmt in ("UPDATE reports SET number = 'X'", "DELETE FROM reports"):
            with pytest.raises(DBAPIError):
                s.execute(text(stmt))
            s.rollback()
        assert s.get(Flag, ids["flag"]) is not None


def test_single_review_setting_needs_the_database_policy_too(env) -> None:  # type: ignore[no-untyped-def]
    """``require_second_review=False`` alone cannot let one person make a report: the service refuses
    with a message (never a database error) until the database owner switches ``four_eyes`` off."""
    from netral.db.schema import DbPolicy
    from netral.review import reports
    from netral.review.errors import ReviewError

    factory, settings, ids = env
    single = settings.model_copy(update={"require_second_review": False})
    with factory() as s:
        sari = s.get(User, ids["sari"])
        assert sari is not None
        queue.claim(s, ids["flag"], sari, single)
        decisions.confirm(s, ids["flag"], sari, category="SUPPORT", behaviour="kampanye_daring", reason=REASON,
                          settings=single)
        s.commit()
        with pytest.raises(ReviewError, match="empat mata"):
            reports.create_report(s, ids["flag"], sari)
        s.rollback()
        policy = s.get(DbPolicy, "four_eyes")
        assert policy is not None and policy.enabled
        policy.enabled = False
        s.commit()
        rendered = reports.create_report(s, ids["flag"], sari)
        s.commit()
        assert rendered.report.number.startswith("NTR/")
