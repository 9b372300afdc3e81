"""Reviewers' decisions as labelled cases for retraining.

A flag people confirmed is a positive with the reviewer's category; a flag they dismissed is a
hard negative (the model was confident and wrong). Flags still in review teach nothing yet, and
neither do complaint flags: their text is the complainant's account, not a post of the ASN.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from netral.db.schema import Flag
from netral.training.data import Example
from netral.vocabulary import CATEGORIES, FlagSource, FlagStatus, ReviewDecision, ReviewStage

POSITIVE = (FlagStatus.CONFIRMED, FlagStatus.VERIFIED, FlagStatus.REPORTED)
NEGATIVE = (FlagStatus.DISMISSED,)


def decided_examples(session: Session) -> list[Example]:
    flags = session.scalars(
        select(Flag).where(Flag.status.in_(POSITIVE + NEGATIVE), Flag.source == FlagSource.MODEL)
        .options(selectinload(Flag.post), selectinload(Flag.reviews)).order_by(Flag.id)
    )
    out = []
    for flag in flags:
        confirm = next((r for r in reversed(flag.reviews)
                        if r.stage == ReviewStage.FIRST and r.decision == ReviewDecision.CONFIRM), None)
        positive = flag.status in POSITIVE
        cats = [confirm.category] if positive and confirm and confirm.category in CATEGORIES else []
        if positive and not cats:
            # A confirmation always names a category; fall back to the model's strongest one if not.
            cats = [max(CATEGORIES, key=lambda c: float(flag.categories.get(c, 0.0)))]
        out.append(Example(id=f"decision:{flag.id}", text=flag.post.text, partisan=positive, categories=cats,
                           source=f"decision:{flag.post.platform}:{flag.post.post_id}",
                           annotator=f"review:{confirm.reviewer_id if confirm else 'dismissal'}",
                           created_at=flag.post.created_at.isoformat()))
    return out
