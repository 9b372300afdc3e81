"""The review queue: listing, filtering and claiming flags.

Model flags and complaint flags (``flags.source``) share the queue. Complaints come first: someone
outside brought them and waits for an answer, and they carry no score that could place them among the
model's flags.

A claim is a lease: the reviewer who claims a flag is the only one who may decide it until the lease
expires, so two people never review the same post at once. Claiming must be atomic across processes:
PostgreSQL locks the row (``FOR UPDATE SKIP LOCKED``), SQLite relies on a conditional UPDATE whose
row count tells whether this caller won.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, case, func, or_, select, update
from sqlalchemy.orm import Session, joinedload

from netral import audit
from netral.db.schema import Account, Flag, Post, Review, User
from netral.db.types import utcnow
from netral.review.errors import ReviewError
from netral.review.roles import FIRST_REVIEW, require_role
from netral.settings import Settings
from netral.vocabulary import OPEN_STATUSES, FlagSource, FlagStatus, ReviewDecision, ReviewStage

__all__ = ["OPEN_STATUSES", "SOURCES", "STATUSES"]  # re-exported for the pages

STATUSES: dict[str, str] = FlagStatus.labels()
SOURCES: dict[str, str] = FlagSource.labels()
# Complaints first, then the model's flags by score.
QUEUE_ORDER = (case((Flag.source == FlagSource.COMPLAINT, 0), else_=1), Flag.partisan_score.desc(), Flag.id)


@dataclass
class FlagFilter:
    """What the queue page can filter on; ``None`` means "any"."""

    statuses: tuple[str, ...] = OPEN_STATUSES
    election: str | None = None
    unit: str | None = None
    category: str | None = None
    platform: str | None = None
    source: str | None = None
    date_from: date | None = None
    date_to: date | None = None


def top_category(flag: Flag) -> str | None:
    """The category people decided on if any, else the model's highest-scoring one."""
    for review in reversed(flag.reviews):
        if review.stage == ReviewStage.FIRST and review.decision == ReviewDecision.CONFIRM and review.category:
            return review.category
    scores = {k: v for k, v in (flag.categories or {}).items() if isinstance(v, int | float)}
    return max(scores, key=lambda k: scores[k]) if scores else None


def _base_query(flt: FlagFilter) -> Select[tuple[Flag]]:
    stmt = select(Flag).join(Post, Flag.post_id == Post.id).join(Account, Post.account_id == Account.id)
    if flt.statuses:
        stmt = stmt.where(Flag.status.in_(flt.statuses))
    if flt.election:
        stmt = stmt.where(Flag.election == flt.election)
    if flt.unit:
        stmt = stmt.where(Account.unit == flt.unit)
    if flt.platform:
        stmt = stmt.where(Post.platform == flt.platform)
    if flt.source:
        stmt = stmt.where(Flag.source == flt.source)
    if flt.date_from:
        stmt = stmt.where(Post.created_at >= datetime.combine(flt.date_from, time.min, UTC))
    if flt.date_to:
        stmt = stmt.where(Post.created_at < datetime.combine(flt.date_to + timedelta(days=1), time.min, UTC))
    return stmt


def _matching(session: Session, flt: FlagFilter) -> list[Flag]:
    stmt = (_base_query(flt)
            .options(joinedload(Flag.post).joinedload(Post.account))
            .order_by(*QUEUE_ORDER))
    flags = list(session.scalars(stmt).unique())
    if flt.category:
        # Categories live in a JSON column whose query syntax differs per database; the queue is small
        # enough (hundreds to thousands of open flags) to filter here.
        flags = [f for f in flags if top_category(f) == flt.category]
    return flags


def list_flags(session: Session, flt: FlagFilter, *, limit: int = 50, offset: int = 0) -> list[Flag]:
    """Flags matching the filter: complaints first, then highest score first (the most likely violations
    are read first)."""
    if not flt.category:
        stmt = (_base_query(flt)
                .options(joinedload(Flag.post).joinedload(Post.account))
                .order_by(*QUEUE_ORDER).limit(limit).offset(offset))
        return list(session.scalars(stmt).unique())
    return _matching(session, flt)[offset:offset + limit]


def count_flags(session: Session, flt: FlagFilter) -> int:
    if not flt.category:
        return session.scalar(select(func.count()).select_from(_base_query(flt).subquery())) or 0
    return len(_matching(session, flt))


def status_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Flag.status, func.count()).group_by(Flag.status)).all()
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({status: n for status, n in rows})
    return counts


@dataclass(frozen=True)
class Facets:
    elections: list[str]
    units: list[str]
    platforms: list[str]


def facets(session: Session) -> Facets:
    """Values that exist, for the filter drop-downs."""
    elections = session.scalars(select(Flag.election).where(Flag.election.is_not(None)).distinct()).all()
    units = session.scalars(select(Account.unit).distinct()).all()
    platforms = session.scalars(select(Post.platform).distinct()).all()
    return Facets(sorted(e for e in elections if e), sorted(units), sorted(platforms))


def get_flag(session: Session, flag_id: int) -> Flag:
    flag = session.get(Flag, flag_id, options=[joinedload(Flag.post).joinedload(Post.account)])
    if flag is None:
        raise ReviewError(f"indikasi #{flag_id} tidak ditemukan", "not_found")
    return flag


def claim_active(flag: Flag, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return flag.claimed_by is not None and flag.claim_expires_at is not None and flag.claim_expires_at >= now


def claim(session: Session, flag_id: int, user: User, settings: Settings, *, now: datetime | None = None) -> Flag:
    """Give the flag to ``user`` for ``claim_lease_minutes``, or raise if someone else holds it.

    Claiming again by the holder renews the lease. The caller commits.
    """
    require_role(user, FIRST_REVIEW, "mengklaim indikasi untuk ditinjau")
    now = now or utcnow()
    expires = now + timedelta(minutes=settings.claim_lease_minutes)
    if session.get_bind().dialect.name == "postgresql":
        flag = session.scalars(select(Flag).where(Flag.id == flag_id).with_for_update(skip_locked=True)
                               .execution_options(populate_existing=True)).first()
        if flag is None:
            if session.scalar(select(func.count()).select_from(Flag).where(Flag.id == flag_id)):
                raise ReviewError("indikasi ini sedang diklaim peninjau lain", "conflict")
            raise ReviewError(f"indikasi #{flag_id} tidak ditemukan", "not_found")
        if flag.status not in OPEN_STATUSES:
            raise ReviewError(f"indikasi berstatus {STATUSES.get(flag.status, flag.status)}; tidak dapat diklaim",
                              "conflict")
        if claim_active(flag, now) and flag.claimed_by != user.id:
            raise ReviewError("indikasi ini sedang diklaim peninjau lain", "conflict")
        before = {"claimed_by": flag.claimed_by}
        flag.claimed_by = user.id
        flag.claim_expires_at = expires
        session.flush()
    else:
        # Read for the audit record only; the UPDATE below decides who wins.
        previous = session.scalar(select(Flag.claimed_by).where(Flag.id == flag_id))
        won = session.execute(
            update(Flag)
            .where(Flag.id == flag_id, Flag.status.in_(OPEN_STATUSES),
                   or_(Flag.claimed_by.is_(None), Flag.claim_expires_at < now, Flag.claimed_by == user.id))
            .values(claimed_by=user.id, claim_expires_at=expires)
            .execution_options(synchronize_session=False)
        ).rowcount
        flag = get_flag(session, flag_id)
        session.refresh(flag)
        if won != 1:
            if flag.status not in OPEN_STATUSES:
                raise ReviewError(f"indikasi berstatus {STATUSES.get(flag.status, flag.status)}; tidak dapat diklaim",
                                  "conflict")
            raise ReviewError("indikasi ini sedang diklaim peninjau lain", "conflict")
        before = {"claimed_by": previous}
    audit.append(session, actor=user.username, action="flag.claim", entity="flag", entity_id=flag_id,
                 before=before, after={"claimed_by": user.id, "claim_expires_at": expires.isoformat()})
    return flag


def release(session: Session, flag_id: int, user: User) -> Flag:
    """Hand a claimed flag back to the queue; only its holder can."""
    done = session.execute(
        update(Flag).where(Flag.id == flag_id, Flag.claimed_by == user.id)
        .values(claimed_by=None, claim_expires_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    flag = get_flag(session, flag_id)
    session.refresh(flag)
    if done != 1:
        raise ReviewError("indikasi ini tidak sedang Anda klaim", "conflict")
    audit.append(session, actor=user.username, action="flag.release", entity="flag", entity_id=flag_id,
                 before={"claimed_by": user.id}, after={"claimed_by": None})
    return flag


def claimant(session: Session, flag: Flag) -> User | None:
    return session.get(User, flag.claimed_by) if flag.claimed_by else None


def confirmer(flag: Flag) -> Review | None:
    """The first-stage confirmation the flag's current status rests on."""
    for review in reversed(flag.reviews):
        if review.stage == ReviewStage.FIRST:
            return review if review.decision == ReviewDecision.CONFIRM else None
    return None
