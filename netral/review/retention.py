"""Retention under UU PDP 27/2022: the one path that deletes stored posts.

Netral keeps a post only as long as its purpose needs: a post that never became a flag serves no purpose
once the election it belongs to is over; a dismissed flag's post is kept longer (the decision may be
questioned, and it is a training example); the evidence of an open, confirmed, verified or reported flag
is never deleted here. The rule, per post:

============================  ===================================================================
class (by flag status)        deleted from
============================  ===================================================================
never flagged                 end of the voting day of the latest configured election whose window
                              (campaign start to voting day, in the election's zone) holds the post,
                              + ``retention_days_after_election``; in no window: the post's time +
                              ``retention_days_outside_election``
dismissed                     the later of that anchor (the flag's own election counts too) and the
                              dismissal, + ``retention_days_dismissed``
pending, needs_info,          never by this path (``RetentionClass.KEPT``)
confirmed, verified, reported
============================  ===================================================================

The purge works in batches, each one transaction: for every post due it appends a ``post.purge`` audit
record with the post's sha256, id, account and times, writes the permit the database triggers ask for
(``post_deletions``, migration 0011), deletes the derived rows (scores; a dismissed flag, its score
history and reviews; a dismissed complaint's row, migration 0014) and the post. A dismissed complaint's
screenshot file is removed after its batch commits, unless another complaint still refers to it. A
``kill -9`` loses at most the open batch, and a re-run picks up
the posts still due, because what is due is computed from the data every time.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, exists, func, select
from sqlalchemy.orm import Session, sessionmaker

from netral import audit
from netral.db.engine import ensure_transaction
from netral.db.schema import (
    Account,
    CaseAttachment,
    Complaint,
    Flag,
    FlagScoreHistory,
    Post,
    PostDeletion,
    Report,
    Review,
    Score,
    User,
)
from netral.db.types import utcnow
from netral.elections import Election
from netral.localtime import zone
from netral.review import attachments
from netral.review.errors import ReviewError
from netral.review.roles import PRIVACY, require_role
from netral.settings import Settings
from netral.vocabulary import RETENTION_OF_STATUS, FlagStatus, RetentionBasis, RetentionClass, ReviewDecision

PURGE_ACTION = "post.purge"
# Statuses whose posts this path may delete; every other status keeps its evidence.
PURGEABLE_STATUSES: tuple[str, ...] = tuple(s.value for s, c in RETENTION_OF_STATUS.items()
                                            if c is not RetentionClass.KEPT)


@dataclass(frozen=True)
class RetentionPolicy:
    """The three periods, checked once so a purge never runs with a contradictory configuration."""

    after_election: dt.timedelta
    outside_election: dt.timedelta
    dismissed: dt.timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        after, outside, dismissed = (settings.retention_days_after_election,
                                     settings.retention_days_outside_election, settings.retention_days_dismissed)
        if dismissed < max(after, outside):
            raise ReviewError(f"NETRAL_RETENTION_DAYS_DISMISSED ({dismissed}) tidak boleh lebih pendek dari "
                              f"NETRAL_RETENTION_DAYS_AFTER_ELECTION ({after}) maupun "
                              f"NETRAL_RETENTION_DAYS_OUTSIDE_ELECTION ({outside}): bukti indikasi yang tidak "
                              "ditindaklanjuti disimpan lebih lama daripada unggahan yang tak pernah menjadi indikasi")
        return cls(dt.timedelta(days=after), dt.timedelta(days=outside), dt.timedelta(days=dismissed))

    @property
    def shortest(self) -> dt.timedelta:
        """No post is due before its own time plus this (every anchor is at or after the post's time)."""
        return min(self.after_election, self.outside_election, self.dismissed)


@dataclass(frozen=True)
class ElectionWindow:
    """When a post "falls in" an election: from the first campaign day to the end of the voting day."""

    election_id: str
    start: dt.datetime  # UTC, start of campaign_start in the election's zone
    end: dt.datetime  # UTC, end of voting_day in the election's zone (exclusive): the anchor

    @classmethod
    def of(cls, election: Election) -> ElectionWindow:
        tz = zone(election.timezone)
        start = dt.datetime.combine(election.campaign_start, dt.time(), tz)
        end = dt.datetime.combine(election.voting_day + dt.timedelta(days=1), dt.time(), tz)
        return cls(election.id, start.astimezone(dt.UTC), end.astimezone(dt.UTC))

    def holds(self, when: dt.datetime) -> bool:
        return self.start <= when < self.end


def windows_of(elections: Iterable[Election]) -> list[ElectionWindow]:
    return [ElectionWindow.of(e) for e in elections]


@dataclass(frozen=True)
class Due:
    """When one post may be deleted, and why; ``due_at`` None means kept by this path."""

    retention: RetentionClass
    basis: RetentionBasis | None = None
    anchor: dt.datetime | None = None
    election_id: str | None = None
    due_at: dt.datetime | None = None

    def is_due(self, now: dt.datetime) -> bool:
        return self.due_at is not None and now >= self.due_at

    def describe(self) -> str:
        """One Indonesian sentence for the audit record's reason."""
        if self.due_at is None or self.anchor is None or self.basis is None:
            return f"Retensi: {self.retention.label}"
        where = f" {self.election_id}" if self.election_id else ""
        return (f"Retensi UU PDP: {self.retention.label}; dihitung dari {self.basis.label.lower()}{where} "
                f"({self.anchor:%Y-%m-%d %H:%M} UTC), jatuh tempo {self.due_at:%Y-%m-%d %H:%M} UTC")

    def as_json(self) -> dict[str, Any]:
        return {"retention": self.retention.value, "basis": self.basis.value if self.basis else None,
                "election": self.election_id, "anchor": _iso(self.anchor), "due_at": _iso(self.due_at)}


def due_for(created_at: dt.datetime, windows: Sequence[ElectionWindow], policy: RetentionPolicy, *,
            flag_status: str | None = None, flag_election: str | None = None,
            dismissed_at: dt.datetime | None = None) -> Due:
    """The retention decision for one post (the table in the module docstring)."""
    retention = RetentionClass.UNFLAGGED if flag_status is None else RETENTION_OF_STATUS.get(
        FlagStatus(flag_status), RetentionClass.KEPT)
    if retention is RetentionClass.KEPT:
        return Due(retention)
    holding = [w for w in windows if w.holds(created_at)]
    if retention is RetentionClass.DISMISSED and flag_election is not None:
        holding += [w for w in windows if w.election_id == flag_election]
    if holding:
        latest = max(holding, key=lambda w: w.end)
        basis, anchor, election_id = RetentionBasis.ELECTION, latest.end, latest.election_id
        period = policy.after_election
    else:
        basis, anchor, election_id = RetentionBasis.POST_DATE, created_at, None
        period = policy.outside_election
    if retention is RetentionClass.DISMISSED:
        period = policy.dismissed
        if dismissed_at is not None and dismissed_at > anchor:
            basis, anchor, election_id = RetentionBasis.DISMISSAL, dismissed_at, None
    return Due(retention, basis, anchor, election_id, anchor + period)


@dataclass
class PurgeResult:
    dry_run: bool
    examined: int = 0  # posts old enough to be candidates and not held by a flag status
    purged: int = 0  # deleted (a dry run: would be deleted)
    not_yet_due: int = 0
    batches: int = 0
    by_class: Counter[str] = field(default_factory=Counter)
    by_basis: Counter[str] = field(default_factory=Counter)
    kept_by_status: dict[str, int] = field(default_factory=dict)  # old posts whose flag keeps them


@dataclass(frozen=True)
class _Candidate:
    post: Post
    due: Due
    flag: Flag | None


def purge(factory: sessionmaker[Session], settings: Settings, elections: Sequence[Election], *,
          actor: User | None = None, dry_run: bool = False, now: dt.datetime | None = None,
          batch_size: int | None = None, on_batch: Callable[[int, int], None] | None = None) -> PurgeResult:
    """Delete (or with ``dry_run`` only count) every post past its retention period, batch by batch.

    Each batch is one transaction holding its audit records, so a crash loses at most that batch and
    nothing is half-deleted. ``on_batch(examined, purged)`` is called after each committed batch.
    ``actor`` None is the local operator at the CLI (or its cron job); a user must be an admin.
    """
    if actor is not None:
        require_role(actor, PRIVACY, "menghapus unggahan menurut retensi")
    who = actor.username if actor is not None else "cli"
    policy = RetentionPolicy.from_settings(settings)
    now = now or utcnow()
    windows = windows_of(elections)
    size = batch_size or settings.retention_batch_size
    result = PurgeResult(dry_run=dry_run)
    with factory() as session:
        result.kept_by_status = kept_by_status(session, now - policy.shortest)
    last_id = 0
    while True:
        with factory() as session:
            if not dry_run:
                # SQLite: take the write lock before reading, so nothing flags a post between the
                # decision and the delete. PostgreSQL: the candidate rows are locked FOR UPDATE below.
                ensure_transaction(session, immediate=True)
            posts = _candidates(session, now - policy.shortest, last_id, size, lock=not dry_run)
            if not posts:
                break
            last_id = posts[-1].id
            batch = _decide(session, posts, windows, policy)
            due = [c for c in batch if c.due.is_due(now)]
            result.examined += len(batch)
            result.not_yet_due += len(batch) - len(due)
            for c in due:
                result.by_class[c.due.retention.value] += 1
                result.by_basis[c.due.basis.value if c.due.basis else ""] += 1
            if due and not dry_run:
                screenshots = _delete(session, due, who)
                session.commit()
                _remove_unreferenced(factory, settings, screenshots)
            else:
                session.rollback()
            result.purged += len(due)
            result.batches += 1
            if on_batch is not None:
                on_batch(len(batch), len(due))
    return result


def _candidates(session: Session, bound: dt.datetime, after_id: int, size: int, *, lock: bool) -> list[Post]:
    """Posts old enough to be due, not held by a flag status nor by a report, in id order."""
    held_flag = exists().where(Flag.post_id == Post.id, Flag.status.notin_(PURGEABLE_STATUSES))
    reported = exists().where(Report.flag_id == Flag.id, Flag.post_id == Post.id)
    stmt = (select(Post).where(Post.id > after_id, Post.created_at <= bound, ~held_flag, ~reported)
            .order_by(Post.id).limit(size))
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Post)
    return list(session.scalars(stmt))


def _decide(session: Session, posts: Sequence[Post], windows: Sequence[ElectionWindow],
            policy: RetentionPolicy) -> list[_Candidate]:
    """Due dates from the flags as they are now (read after the rows were locked, so a flag created by a
    concurrent scan is seen and keeps its post)."""
    ids = [p.id for p in posts]
    flags = {f.post_id: f for f in session.scalars(select(Flag).where(Flag.post_id.in_(ids)))}
    dismissed = dict(session.execute(
        select(Review.flag_id, func.max(Review.created_at))
        .where(Review.flag_id.in_([f.id for f in flags.values()]), Review.decision == ReviewDecision.DISMISS)
        .group_by(Review.flag_id)).all())
    out = []
    for post in posts:
        flag = flags.get(post.id)
        due = due_for(post.created_at, windows, policy, flag_status=flag.status if flag else None,
                      flag_election=flag.election if flag else None,
                      dismissed_at=dismissed.get(flag.id) if flag else None)
        out.append(_Candidate(post, due, flag))
    return out


def _delete(session: Session, due: Sequence[_Candidate], actor: str) -> list[tuple[str, str]]:
    """Audit record, permit, derived rows, post: the order the triggers of migrations 0011 and 0014 require.

    Returns the (SHA-256, type) of the screenshots of the complaints deleted, for removal after commit."""
    nips = dict(session.execute(select(Account.id, Account.nip)
                                .where(Account.id.in_({c.post.account_id for c in due}))).all())
    flag_ids = [c.flag.id for c in due if c.flag is not None]
    complaints = {c.flag_id: c for c in session.scalars(select(Complaint).where(Complaint.flag_id.in_(flag_ids)))}
    files = [(c.screenshot_sha256, c.screenshot_type) for c in complaints.values()
             if c.screenshot_sha256 and c.screenshot_type]
    review_counts = dict(session.execute(select(Review.flag_id, func.count()).where(Review.flag_id.in_(flag_ids))
                                         .group_by(Review.flag_id)).all())
    for c in due:
        p = c.post
        before: dict[str, Any] = {
            "content_sha256": p.content_sha256, "post": p.id, "platform": p.platform, "platform_post_id": p.post_id,
            "account_id": p.account_id, "nip": nips.get(p.account_id), "created_at": _iso(p.created_at),
            "ingested_at": _iso(p.ingested_at), "kind": p.kind}
        if c.flag is not None:
            before["flag"] = {"id": c.flag.id, "status": c.flag.status, "election": c.flag.election,
                              "reviews": review_counts.get(c.flag.id, 0)}
            complaint = complaints.get(c.flag.id)
            if complaint is not None:
                before["complaint"] = {"id": complaint.id, "source": complaint.source,
                                       "received_at": _iso(complaint.received_at),
                                       "screenshot_sha256": complaint.screenshot_sha256}
        record = audit.append(session, actor=actor, action=PURGE_ACTION, entity="post", entity_id=p.id,
                              before=before, after={"deleted": True, **c.due.as_json()}, reason=c.due.describe())
        session.add(PostDeletion(post_id=p.id, content_sha256=p.content_sha256, audit_id=record.id))
        session.flush()
    post_ids = [c.post.id for c in due]
    if complaints:
        session.execute(delete(Complaint).where(Complaint.id.in_([c.id for c in complaints.values()]))
                        .execution_options(synchronize_session=False))
        for complaint in complaints.values():
            session.expunge(complaint)
    if flag_ids:
        session.execute(delete(FlagScoreHistory).where(FlagScoreHistory.flag_id.in_(flag_ids)))
        session.execute(delete(Review).where(Review.flag_id.in_(flag_ids)))
        session.execute(delete(Flag).where(Flag.id.in_(flag_ids)))
    session.execute(delete(Score).where(Score.post_id.in_(post_ids)))
    for c in due:  # bulk-deleted below: keep the identity map from flushing stale objects later
        session.expunge(c.post)
        if c.flag is not None:
            session.expunge(c.flag)
    deleted = session.execute(delete(Post).where(Post.id.in_(post_ids))
                              .execution_options(synchronize_session=False)).rowcount
    if deleted != len(post_ids):  # cannot happen while the rows are locked; refuse rather than half-do
        raise ReviewError(f"penghapusan retensi: {deleted} dari {len(post_ids)} unggahan terhapus; dibatalkan",
                          "conflict")
    return files


def _remove_unreferenced(factory: sessionmaker[Session], settings: Settings, files: Sequence[tuple[str, str]]) -> None:
    """Delete the screenshot files no remaining complaint refers to (after the batch committed: a crash
    before this leaves an unreferenced file, never a complaint without its file)."""
    if not files:
        return
    hashes = [sha for sha, _ in files]
    with factory() as session:  # the storage is shared: a case attachment with the same bytes keeps the file
        still = {*session.scalars(select(Complaint.screenshot_sha256).where(Complaint.screenshot_sha256.in_(hashes))),
                 *session.scalars(select(CaseAttachment.sha256).where(CaseAttachment.sha256.in_(hashes)))}
    for sha, _media_type in files:
        if sha not in still:
            try:
                attachments.path_for(settings.attachments_dir, sha).unlink(missing_ok=True)
            except (OSError, ValueError):
                continue  # left on disk: unreferenced, and removable by hand


def kept_by_status(session: Session, bound: dt.datetime) -> dict[str, int]:
    """Posts older than the shortest period that a flag status keeps (what the purge leaves, and why)."""
    rows = session.execute(
        select(Flag.status, func.count()).join(Post, Post.id == Flag.post_id)
        .where(and_(Post.created_at <= bound, Flag.status.notin_(PURGEABLE_STATUSES)))
        .group_by(Flag.status)).all()
    return {status: count for status, count in rows}


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
