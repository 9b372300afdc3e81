"""Human decisions on a flag: the first review by its claimant and the second (four-eyes) review.

State machine (the only transitions that exist)::

    pending / needs_info --confirm--> confirmed --verify--> verified --(report)--> reported
                         --dismiss--> dismissed        \\--return--> pending
                         --more_info--> needs_info

Each transition is a conditional UPDATE on the expected current status, so two people acting at once
cannot both succeed, and each writes a Review row and an audit record with before, after and reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from netral import audit
from netral.db.schema import Flag, Review, User
from netral.db.types import utcnow
from netral.review.errors import ReviewError
from netral.review.queue import OPEN_STATUSES, STATUSES, confirmer, get_flag
from netral.review.roles import FIRST_REVIEW, SECOND_REVIEW, require_role
from netral.settings import Settings
from netral.vocabulary import Behaviour, Category, FlagStatus, ReviewDecision, ReviewStage

MIN_REASON_CHARS = 10

# Display names for the pages and the report; the values themselves live in netral.vocabulary.
CATEGORIES: dict[str, str] = Category.labels()
BEHAVIOURS: dict[str, str] = Behaviour.labels()
DECISIONS: dict[str, str] = ReviewDecision.labels()


@dataclass(frozen=True)
class Outcome:
    flag: Flag
    review: Review


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if len(text) < MIN_REASON_CHARS:
        raise ReviewError(f"alasan tertulis wajib diisi (minimal {MIN_REASON_CHARS} karakter)", "invalid")
    return text


def _transition(session: Session, flag_id: int, *, from_statuses: tuple[str, ...], values: dict[str, Any],
                claimed_by: int | None = None) -> bool:
    stmt = update(Flag).where(Flag.id == flag_id, Flag.status.in_(from_statuses))
    if claimed_by is not None:
        stmt = stmt.where(Flag.claimed_by == claimed_by)
    result = session.execute(stmt.values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _record(session: Session, flag: Flag, user: User, *, stage: ReviewStage, decision: ReviewDecision, reason: str,
            before: dict[str, Any], now: datetime, category: str | None = None,
            behaviour: str | None = None) -> Outcome:
    review = Review(flag_id=flag.id, reviewer_id=user.id, stage=stage, decision=decision, category=category,
                    behaviour=behaviour, reason=reason, created_at=now)
    session.add(review)
    session.flush()
    session.refresh(flag)
    after: dict[str, Any] = {"status": flag.status, "review_id": review.id, "stage": stage, "decision": decision}
    if category:
        after.update(category=category, behaviour=behaviour)
    audit.append(session, actor=user.username, action=f"flag.{decision}", entity="flag", entity_id=flag.id,
                 before=before, after=after, reason=reason)
    return Outcome(flag, review)


def _first_review(session: Session, flag_id: int, user: User, *, decision: ReviewDecision, new_status: FlagStatus,
                  reason: str,
                  category: str | None = None, behaviour: str | None = None) -> Outcome:
    require_role(user, FIRST_REVIEW, "melakukan tinjauan pertama")
    text = _reason(reason)
    flag = get_flag(session, flag_id)
    session.refresh(flag)
    if flag.status not in OPEN_STATUSES:
        raise ReviewError(f"indikasi berstatus {STATUSES.get(flag.status, flag.status)}; "
                          "tinjauan pertama sudah selesai", "conflict")
    if flag.claimed_by != user.id:
        raise ReviewError("klaim indikasi ini terlebih dahulu; hanya pemegang klaim yang dapat memutuskan", "conflict")
    before = {"status": flag.status, "claimed_by": flag.claimed_by, "model_version": flag.model_version,
              "partisan_score": flag.partisan_score}
    now = utcnow()
    if not _transition(session, flag_id, from_statuses=OPEN_STATUSES, claimed_by=user.id,
                       values={"status": new_status, "claimed_by": None, "claim_expires_at": None,
                               "updated_at": now}):
        raise ReviewError("indikasi telah diubah oleh orang lain; muat ulang halaman", "conflict")
    return _record(session, flag, user, stage=ReviewStage.FIRST, decision=decision, reason=text, before=before, now=now,
                   category=category, behaviour=behaviour)


def confirm(session: Session, flag_id: int, user: User, *, category: str, behaviour: str, reason: str,
            settings: Settings) -> Outcome:
    """The claimant finds a likely violation; it then waits for a supervisor's verification.

    With ``require_second_review`` switched off the confirmation verifies the flag directly.
    """
    if category not in CATEGORIES:
        raise ReviewError(f"kategori tidak dikenal: {category!r}", "invalid")
    if behaviour not in BEHAVIOURS:
        raise ReviewError(f"perilaku SKB tidak dikenal: {behaviour!r}", "invalid")
    new_status = FlagStatus.CONFIRMED if settings.require_second_review else FlagStatus.VERIFIED
    return _first_review(session, flag_id, user, decision=ReviewDecision.CONFIRM, new_status=new_status, reason=reason,
                         category=category, behaviour=behaviour)


def dismiss(session: Session, flag_id: int, user: User, *, reason: str) -> Outcome:
    return _first_review(session, flag_id, user, decision=ReviewDecision.DISMISS, new_status=FlagStatus.DISMISSED,
                         reason=reason)


def request_more_info(session: Session, flag_id: int, user: User, *, reason: str) -> Outcome:
    """Parks the flag as ``needs_info``; anyone may claim it again once the information is there."""
    return _first_review(session, flag_id, user, decision=ReviewDecision.MORE_INFO, new_status=FlagStatus.NEEDS_INFO,
                         reason=reason)


def second_review_block(flag: Flag, user: User) -> ReviewError | None:
    """Why ``user`` may not do the second review of ``flag`` now, or None if they may.

    Shared by the service and the flag page, so the page never offers a button the service refuses.
    """
    if not user.active or user.role not in SECOND_REVIEW:
        return ReviewError("hanya verifikator yang dapat melakukan tinjauan kedua", "forbidden")
    if flag.status != FlagStatus.CONFIRMED:
        return ReviewError(f"indikasi berstatus {STATUSES.get(flag.status, flag.status)}; hanya indikasi yang sudah "
                           "dikonfirmasi yang dapat diverifikasi", "conflict")
    first = confirmer(flag)
    if first is None:
        return ReviewError("indikasi tidak memiliki konfirmasi tinjauan pertama", "conflict")
    if first.reviewer_id == user.id:
        return ReviewError("Anda sendiri yang mengonfirmasi indikasi ini; verifikasi harus oleh verifikator lain "
                           "(prinsip empat mata)", "forbidden")
    return None


def _second_review(session: Session, flag_id: int, user: User, *, decision: ReviewDecision, new_status: FlagStatus,
                   reason: str) -> Outcome:
    require_role(user, SECOND_REVIEW, "melakukan tinjauan kedua")
    text = _reason(reason)
    flag = get_flag(session, flag_id)
    session.refresh(flag)
    session.refresh(flag, ["reviews"])
    block = second_review_block(flag, user)
    if block is not None:
        raise block
    before = {"status": flag.status, "confirmed_by": confirmer(flag).reviewer_id}  # type: ignore[union-attr]
    now = utcnow()
    if not _transition(session, flag_id, from_statuses=(FlagStatus.CONFIRMED,),
                       values={"status": new_status, "claimed_by": None, "claim_expires_at": None,
                               "updated_at": now}):
        raise ReviewError("indikasi telah diubah oleh orang lain; muat ulang halaman", "conflict")
    return _record(session, flag, user, stage=ReviewStage.SECOND, decision=decision, reason=text, before=before,
                   now=now)


def verify(session: Session, flag_id: int, user: User, *, reason: str) -> Outcome:
    """A different supervisor agrees with the confirmation; only now may a report be made."""
    return _second_review(session, flag_id, user, decision=ReviewDecision.VERIFY, new_status=FlagStatus.VERIFIED,
                          reason=reason)


def return_flag(session: Session, flag_id: int, user: User, *, reason: str) -> Outcome:
    """The supervisor disagrees or wants another look: back to the queue with a reason."""
    return _second_review(session, flag_id, user, decision=ReviewDecision.RETURN, new_status=FlagStatus.PENDING,
                          reason=reason)
