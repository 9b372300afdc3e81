"""Retention under UU PDP (issue 13, item 6): the period rule, the kept-by-status rule, the dry run, the
audit records that keep each deleted post's hash, and the triggers that still refuse every other DELETE.

Data-layer tests run on SQLite always and on PostgreSQL when NETRAL_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner
from webutil import add_account, add_user, factory_for

from netral import audit
from netral.db.schema import AuditRecord, Flag, FlagScoreHistory, Post, PostDeletion, Review, Score, User
from netral.elections import Election
from netral.review import retention
from netral.review.errors import ReviewError
from netral.settings import Settings
from netral.vocabulary import FlagStatus, RetentionBasis, RetentionClass

UTC = dt.UTC
WIB = dt.timezone(dt.timedelta(hours=7))
# Voting day 27 Nov 2024 (WIB): the window ends at 28 Nov 00:00 WIB = 27 Nov 17:00 UTC.
VOTING_END = dt.datetime(2024, 11, 27, 17, 0, tzinfo=UTC)


def _election(eid: str = "pilkada-contoh", *, start: str = "2024-09-25", end: str = "2024-11-23",
              voting: str = "2024-11-27", timezone: str = "Asia/Jakarta") -> Election:
    return Election.model_validate({"id": eid, "name": eid, "type": "pilkada", "region": "Kota Contoh",
                                    "timezone": timezone, "campaign_start": start, "campaign_end": end,
                                    "voting_day": voting})


ELECTIONS = [_election()]
POLICY = retention.RetentionPolicy.from_settings(Settings())


def _settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]


# --- the rule, without a database -----------------------------------------------------------------

def test_never_flagged_post_in_a_window_is_due_a_period_after_the_end_of_voting_day() -> None:
    windows = retention.windows_of(ELECTIONS)
    due = retention.due_for(dt.datetime(2024, 10, 1, 3, tzinfo=UTC), windows, POLICY)
    assert (due.retention, due.basis, due.election_id) == (RetentionClass.UNFLAGGED, RetentionBasis.ELECTION,
                                                           "pilkada-contoh")
    assert due.anchor == VOTING_END
    assert due.due_at == VOTING_END + dt.timedelta(days=180)
    assert not due.is_due(due.due_at - dt.timedelta(seconds=1)) and due.is_due(due.due_at)


def test_window_edges_follow_the_election_zone() -> None:
    wita = _election("pilkada-wita", timezone="Asia/Makassar")
    windows = retention.windows_of([wita])
    # 27 Nov 23:30 WITA is still voting day there (15:30 UTC); 28 Nov 00:10 WITA is not.
    inside = retention.due_for(dt.datetime(2024, 11, 27, 15, 30, tzinfo=UTC), windows, POLICY)
    outside = retention.due_for(dt.datetime(2024, 11, 27, 16, 10, tzinfo=UTC), windows, POLICY)
    assert inside.basis is RetentionBasis.ELECTION and inside.anchor == dt.datetime(2024, 11, 27, 16, tzinfo=UTC)
    assert outside.basis is RetentionBasis.POST_DATE
    # The campaign's first day starts the window: the day before is outside.
    before = retention.due_for(dt.datetime(2024, 9, 24, 15, 59, tzinfo=UTC), windows, POLICY)
    first = retention.due_for(dt.datetime(2024, 9, 24, 16, 0, tzinfo=UTC), windows, POLICY)
    assert (before.basis, first.basis) == (RetentionBasis.POST_DATE, RetentionBasis.ELECTION)


def test_post_outside_every_window_counts_from_its_own_time_with_its_own_period() -> None:
    when = dt.datetime(2023, 3, 1, 9, tzinfo=UTC)
    settings = _settings(retention_days_outside_election=90)
    due = retention.due_for(when, retention.windows_of(ELECTIONS), retention.RetentionPolicy.from_settings(settings))
    assert (due.basis, due.anchor, due.due_at) == (RetentionBasis.POST_DATE, when, when + dt.timedelta(days=90))


def test_overlapping_windows_keep_the_post_until_the_latest_election_ends() -> None:
    later = _election("pilgub-contoh", start="2024-09-20", end="2024-12-01", voting="2024-12-05")
    due = retention.due_for(dt.datetime(2024, 10, 1, tzinfo=UTC), retention.windows_of([*ELECTIONS, later]), POLICY)
    assert due.election_id == "pilgub-contoh"
    assert due.anchor == dt.datetime(2024, 12, 5, 17, tzinfo=UTC)


def test_flag_status_decides_what_is_kept() -> None:
    windows = retention.windows_of(ELECTIONS)
    when = dt.datetime(2024, 10, 1, tzinfo=UTC)
    for status in FlagStatus:
        due = retention.due_for(when, windows, POLICY, flag_status=status.value)
        if status is FlagStatus.DISMISSED:
            assert due.retention is RetentionClass.DISMISSED
            assert due.due_at == VOTING_END + dt.timedelta(days=730)
        else:
            assert due.retention is RetentionClass.KEPT and due.due_at is None, status
            assert not due.is_due(dt.datetime(2100, 1, 1, tzinfo=UTC))


def test_dismissed_counts_from_the_later_of_the_election_and_the_dismissal() -> None:
    windows = retention.windows_of(ELECTIONS)
    late = dt.datetime(2025, 3, 1, tzinfo=UTC)
    due = retention.due_for(dt.datetime(2024, 10, 1, tzinfo=UTC), windows, POLICY, flag_status="dismissed",
                            dismissed_at=late)
    assert (due.basis, due.due_at) == (RetentionBasis.DISMISSAL, late + dt.timedelta(days=730))
    # A dismissed flag's own election counts even when the post was made before the campaign.
    early = retention.due_for(dt.datetime(2024, 6, 1, tzinfo=UTC), windows, POLICY, flag_status="dismissed",
                              flag_election="pilkada-contoh", dismissed_at=dt.datetime(2024, 6, 2, tzinfo=UTC))
    assert (early.basis, early.anchor) == (RetentionBasis.ELECTION, VOTING_END)


def test_dismissed_period_shorter_than_the_others_is_refused_with_the_setting_named() -> None:
    with pytest.raises(ReviewError, match="NETRAL_RETENTION_DAYS_DISMISSED"):
        retention.RetentionPolicy.from_settings(_settings(retention_days_dismissed=100))


# --- the purge, on both back ends ------------------------------------------------------------------

def _post(s: Session, account_id: int, key: str, when: dt.datetime) -> Post:
    sha = hashlib.sha256(key.encode()).hexdigest()
    post = Post(platform="twitter", post_id=key, account_id=account_id, author_handle="budi_s",
                url=f"https://twitter.com/budi_s/status/{key}", created_at=when, text=f"unggahan {key}",
                kind="post", content_sha256=sha, source="test")
    s.add(post)
    s.flush()
    s.add(Score(post_id=post.id, model_version="v1", partisan_score=0.1, categories={}))
    s.flush()
    return post


def _flag(s: Session, post: Post, status: str, reviewer_id: int | None = None,
          dismissed_at: dt.datetime | None = None) -> Flag:
    flag = Flag(post_id=post.id, status=status, model_version="v1", threshold=0.5, partisan_score=0.9,
                categories={}, evidence=[], election="pilkada-contoh")
    s.add(flag)
    s.flush()
    s.add(FlagScoreHistory(flag_id=flag.id, model_version="v0", threshold=0.5, partisan_score=0.8, categories={}))
    if reviewer_id is not None:
        s.add(Review(flag_id=flag.id, reviewer_id=reviewer_id, stage="first", decision="dismiss",
                     reason="Bukan dukungan politik, hanya berita.", created_at=dismissed_at or post.created_at))
    s.flush()
    return flag


def _scenario(factory: sessionmaker[Session]) -> dict[str, int]:
    """One ASN with a post of each kind; returns their ids by name."""
    with factory() as s:
        reviewer = add_user(s, "rina", "reviewer")
        account = add_account(s)
        ids = {"account": account.id}
        in_window = dt.datetime(2024, 11, 10, 1, tzinfo=UTC)
        ids["unflagged"] = _post(s, account.id, "unflagged", in_window).id
        ids["old_outside"] = _post(s, account.id, "old_outside", dt.datetime(2023, 1, 5, tzinfo=UTC)).id
        ids["recent_outside"] = _post(s, account.id, "recent_outside", dt.datetime(2025, 5, 1, tzinfo=UTC)).id
        dismissed = _post(s, account.id, "dismissed", in_window)
        ids["dismissed"] = dismissed.id
        ids["dismissed_flag"] = _flag(s, dismissed, "dismissed", reviewer.id,
                                      dt.datetime(2024, 12, 1, tzinfo=UTC)).id
        for status in ("pending", "needs_info", "confirmed", "verified", "reported"):
            ids[status] = _post(s, account.id, status, in_window).id
            _flag(s, s.get(Post, ids[status]), status)  # type: ignore[arg-type]
        s.commit()
    return ids


def _state(factory: sessionmaker[Session]) -> dict[str, object]:
    with factory() as s:
        return {"posts": sorted(s.scalars(select(Post.post_id))),
                "scores": s.scalar(select(func.count()).select_from(Score)),
                "flags": s.scalar(select(func.count()).select_from(Flag)),
                "reviews": s.scalar(select(func.count()).select_from(Review)),
                "history": s.scalar(select(func.count()).select_from(FlagScoreHistory)),
                "audit": s.scalar(select(func.count()).select_from(AuditRecord))}


JUNE_2025 = dt.datetime(2025, 6, 1, tzinfo=UTC)  # 180 days after voting are over; 730 are not


def test_dry_run_counts_and_changes_nothing(factory: sessionmaker[Session]) -> None:
    _scenario(factory)
    before = _state(factory)
    result = retention.purge(factory, Settings(), ELECTIONS, dry_run=True, now=JUNE_2025, batch_size=3)
    assert result.dry_run and result.purged == 2
    assert result.by_class == {"unflagged": 2}
    assert result.by_basis == {"election": 1, "post_date": 1}
    # The recent post is younger than the shortest period, so not even a candidate; the dismissed one is.
    assert (result.examined, result.not_yet_due) == (3, 1)
    assert result.kept_by_status == {"pending": 1, "needs_info": 1, "confirmed": 1, "verified": 1, "reported": 1}
    assert _state(factory) == before


def test_purge_deletes_due_posts_with_their_derived_rows_and_audits_each_hash(
        factory: sessionmaker[Session]) -> None:
    ids = _scenario(factory)
    with factory() as s:
        shas = {p.id: p.content_sha256 for p in s.scalars(select(Post))}
    result = retention.purge(factory, Settings(), ELECTIONS, now=JUNE_2025, batch_size=3)
    assert result.purged == 2 and not result.dry_run
    with factory() as s:
        left = set(s.scalars(select(Post.id)))
        assert left == set(ids[k] for k in ids if k not in ("account", "dismissed_flag", "unflagged", "old_outside"))
        assert s.scalar(select(func.count()).select_from(Score).where(
            Score.post_id.in_([ids["unflagged"], ids["old_outside"]]))) == 0
        assert s.scalar(select(func.count()).select_from(PostDeletion)) == 0  # every permit was used
        records = list(s.scalars(select(AuditRecord).where(AuditRecord.action == "post.purge")
                                 .order_by(AuditRecord.id)))
        assert [int(r.entity_id) for r in records] == [ids["unflagged"], ids["old_outside"]]
        for r in records:
            assert r.before is not None and r.after is not None
            assert r.before["content_sha256"] == shas[int(r.entity_id)]
            assert r.before["account_id"] == ids["account"] and r.before["nip"] == "198501012010011001"
            assert r.before["created_at"].startswith(("2024-11-10", "2023-01-05"))
            assert r.actor == "cli" and r.after["deleted"] is True
        assert records[0].after["basis"] == "election" and records[0].after["election"] == "pilkada-contoh"
        assert records[1].after["basis"] == "post_date"
        assert audit.verify_chain(s) == []
    # A second run finds nothing more to do at the same moment.
    assert retention.purge(factory, Settings(), ELECTIONS, now=JUNE_2025).purged == 0


def test_dismissed_flag_is_purged_after_the_longer_period_with_its_reviews(factory: sessionmaker[Session]) -> None:
    ids = _scenario(factory)
    # Dismissed on 1 Dec 2024 (after voting day): due 730 days after the dismissal.
    just_before = dt.datetime(2026, 12, 1, tzinfo=UTC) - dt.timedelta(seconds=1)
    retention.purge(factory, Settings(), ELECTIONS, now=just_before)
    with factory() as s:
        assert s.get(Post, ids["dismissed"]) is not None
    result = retention.purge(factory, Settings(), ELECTIONS, now=dt.datetime(2026, 12, 1, tzinfo=UTC))
    assert result.by_class == {"dismissed": 1} and result.by_basis == {"dismissal": 1}
    with factory() as s:
        assert s.get(Post, ids["dismissed"]) is None
        assert s.get(Flag, ids["dismissed_flag"]) is None
        flag_id = ids["dismissed_flag"]
        assert s.scalar(select(func.count()).select_from(Review).where(Review.flag_id == flag_id)) == 0
        assert s.scalar(select(func.count()).select_from(FlagScoreHistory)
                        .where(FlagScoreHistory.flag_id == flag_id)) == 0
        record = s.scalars(select(AuditRecord).where(AuditRecord.action == "post.purge",
                                                     AuditRecord.entity_id == str(ids["dismissed"]))).one()
        assert record.before is not None and record.before["flag"] == {
            "id": flag_id, "status": "dismissed", "election": "pilkada-contoh", "reviews": 1}
        # Everything a flag status keeps is still there, decades later.
        for status in ("pending", "needs_info", "confirmed", "verified", "reported"):
            assert s.get(Post, ids[status]) is not None
        assert audit.verify_chain(s) == []


def test_a_non_admin_user_may_not_purge(factory: sessionmaker[Session]) -> None:
    _scenario(factory)
    with factory() as s:
        reviewer = s.scalars(select(User).where(User.username == "rina")).one()
    with pytest.raises(ReviewError, match="tidak boleh"):
        retention.purge(factory, Settings(), ELECTIONS, actor=reviewer, now=JUNE_2025)
    with factory() as s:
        admin = add_user(s, "adi", "admin")
        s.commit()
    assert retention.purge(factory, Settings(), ELECTIONS, actor=admin, now=JUNE_2025).purged == 2
    with factory() as s:
        actors = set(s.scalars(select(AuditRecord.actor).where(AuditRecord.action == "post.purge")))
    assert actors == {"adi"}


# --- the database still refuses every other delete -------------------------------------------------

def _refused(factory: sessionmaker[Session], sql: str, params: dict[str, object] | None = None,
             match: str = "") -> None:
    with factory() as s, pytest.raises(DBAPIError, match=match):
        s.execute(text(sql), params or {})
        s.commit()


def test_plain_deletes_and_forged_permits_are_refused(factory: sessionmaker[Session]) -> None:
    ids = _scenario(factory)
    pid = ids["unflagged"]
    _refused(factory, "DELETE FROM posts", match="immutable")
    _refused(factory, "DELETE FROM posts WHERE id = :i", {"i": pid}, match="immutable")
    _refused(factory, "UPDATE posts SET text = 'palsu' WHERE id = :i", {"i": pid}, match="immutable")
    _refused(factory, "DELETE FROM reviews", match="append-only")
    with factory() as s:
        sha = s.get(Post, pid).content_sha256  # type: ignore[union-attr]
        audit.append(s, actor="x", action="test.event", entity="test", entity_id=1)
        s.commit()
        newest = audit.head_hash(s)
        newest_id = s.scalar(select(AuditRecord.id).where(AuditRecord.hash == newest))
    insert = ("INSERT INTO post_deletions (post_id, content_sha256, audit_id, created_at) "
              "VALUES (:p, :h, :a, CURRENT_TIMESTAMP)")
    # A permit naming an audit record that is not this post's purge record.
    _refused(factory, insert, {"p": pid, "h": sha, "a": newest_id}, match="permit")
    with factory() as s:
        rec = audit.append(s, actor="x", action="post.purge", entity="post", entity_id=pid,
                           before={"content_sha256": sha})
        s.commit()
        purge_record = rec.id
        audit.append(s, actor="x", action="test.event", entity="test", entity_id=2)
        s.commit()
    # The purge record exists but is no longer the newest one.
    _refused(factory, insert, {"p": pid, "h": sha, "a": purge_record}, match="permit")
    with factory() as s:
        rec = audit.append(s, actor="x", action="post.purge", entity="post", entity_id=pid,
                           before={"content_sha256": sha})
        s.commit()
        purge_record = rec.id
    # The right record, but a hash that is not the post's.
    _refused(factory, insert, {"p": pid, "h": "0" * 64, "a": purge_record}, match="permit")
    with factory() as s:
        assert s.get(Post, pid) is not None
        assert audit.verify_chain(s) == []


def test_a_permit_must_be_used_in_its_own_transaction(factory: sessionmaker[Session]) -> None:
    """PostgreSQL refuses to commit an unused permit; SQLite cannot defer a check, so there the permit
    stays but is single-use and documented in the chain. On both, using it deletes the post once."""
    ids = _scenario(factory)
    pid = ids["unflagged"]
    with factory() as s:
        sha = s.get(Post, pid).content_sha256  # type: ignore[union-attr]
        rec = audit.append(s, actor="x", action="post.purge", entity="post", entity_id=pid,
                           before={"content_sha256": sha})
        s.add(PostDeletion(post_id=pid, content_sha256=sha, audit_id=rec.id))
        s.flush()
        if s.get_bind().dialect.name == "postgresql":
            with pytest.raises(DBAPIError, match="used in the transaction"):
                s.commit()
            return
        s.commit()
    with factory() as s:
        s.execute(text("DELETE FROM scores WHERE post_id = :i"), {"i": pid})
        s.execute(text("DELETE FROM posts WHERE id = :i"), {"i": pid})
        s.commit()
        assert s.get(PostDeletion, pid) is None  # consumed by the delete
        assert s.get(Post, pid) is None


def test_cli_purge_dry_run_then_purge_then_audit_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from netral.cli import app
    from netral.db.engine import clear_engines, upgrade
    from netral.settings import get_settings

    url = f"sqlite:///{tmp_path / 'netral.db'}"
    upgrade(url)
    elections = tmp_path / "elections"
    elections.mkdir()
    (elections / "pilkada.yaml").write_text(
        "id: pilkada-contoh\nname: Pilkada Contoh\ntype: pilkada\nregion: Kota Contoh\n"
        "campaign_start: 2024-09-25\ncampaign_end: 2024-11-23\nvoting_day: 2024-11-27\n", encoding="utf-8")
    monkeypatch.setenv("NETRAL_DATABASE_URL", url)
    monkeypatch.setenv("NETRAL_ELECTIONS_DIR", str(elections))
    get_settings.cache_clear()
    factory = factory_for(url)
    try:
        now = dt.datetime.now(UTC)  # the CLI runs on the real clock: posts relative to it
        with factory() as s:
            account = add_account(s)
            old = _post(s, account.id, "old", now - dt.timedelta(days=400)).id
            recent = _post(s, account.id, "recent", now - dt.timedelta(days=10)).id
            held = _post(s, account.id, "held", now - dt.timedelta(days=400))
            _flag(s, held, "pending")
            s.commit()
        runner = CliRunner()
        dry = runner.invoke(app, ["privacy", "purge", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "tidak ada yang diubah" in dry.output and "akan dihapus 1" in dry.output
        assert "Menunggu tinjauan 1" in dry.output
        with factory() as s:
            assert s.scalar(select(func.count()).select_from(Post)) == 3
        done = runner.invoke(app, ["privacy", "purge", "--batch-size", "2"])
        assert done.exit_code == 0, done.output
        assert "dihapus 1" in done.output
        with factory() as s:
            assert s.get(Post, old) is None and s.get(Post, recent) is not None and s.get(Post, held.id) is not None
        verified = runner.invoke(app, ["audit", "verify"])
        assert verified.exit_code == 0 and "1 catatan" in verified.output, verified.output
        (elections / "broken.yaml").write_text("id: Bad Id\n", encoding="utf-8")
        broken = runner.invoke(app, ["privacy", "purge"])
        assert broken.exit_code == 1 and "broken.yaml" in broken.output
    finally:
        factory.kw["bind"].dispose()
        clear_engines()
        get_settings.cache_clear()


def test_migration_downgrades_to_the_old_triggers_and_upgrades_again(db_url: str) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from netral.db.engine import alembic_config, make_engine

    engine = make_engine(db_url)
    try:
        command.downgrade(alembic_config(db_url), "0008")
        assert "post_deletions" not in inspect(engine).get_table_names()
        factory = sessionmaker(engine, expire_on_commit=False)
        with engine.begin() as conn:  # raw SQL: the ORM's accounts table is that of the newest migration
            conn.execute(text("INSERT INTO accounts (nip, name, unit, position, birth_date, appointed, created_at, "
                              "updated_at) VALUES ('198501012010011001', 'Budi', 'Dinas', 'Guru', '1985-01-01', "
                              "'2010-01-01', '2024-01-01 00:00:00', '2024-01-01 00:00:00')"))
            account_id = conn.execute(text("SELECT id FROM accounts")).scalar()
        with factory() as s:
            _post(s, account_id, "x", dt.datetime(2020, 1, 1, tzinfo=UTC))
            s.commit()
        _refused(factory, "DELETE FROM posts", match="immutable")
        command.upgrade(alembic_config(db_url), "head")
        assert "post_deletions" in inspect(engine).get_table_names()
        _refused(factory, "DELETE FROM posts", match="immutable")
        assert retention.purge(factory, Settings(), [], now=dt.datetime(2025, 1, 1, tzinfo=UTC)).purged == 1
    finally:
        engine.dispose()
