"""Promoting a model version: the gate, and the audit record it leaves.

Which model is active decides which posts get flagged, so a change is a decision with
consequences: it is refused when the candidate is worse on the frozen test split, and a forced
promotion is recorded with who forced it and why.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from netral import audit
from netral.models.registry import PromotionCheck, active_version, check_promotion, set_active


class PromotionRefused(RuntimeError):
    def __init__(self, check: PromotionCheck) -> None:
        super().__init__(f"promosi ditolak: {check.reason}")
        self.check = check


def promote(registry: Path, version: str, factory: sessionmaker[Session], *, actor: str, force: bool = False,
            reason: str = "") -> PromotionCheck:
    check = check_promotion(registry, version)
    if not check.allowed and not force:
        raise PromotionRefused(check)
    if force and not check.allowed and not reason.strip():
        raise PromotionRefused(PromotionCheck(False, "promosi paksa memerlukan alasan tertulis",
                                              check.candidate_f1, check.active_f1))
    before = active_version(registry)
    with factory() as session:
        audit.append(session, actor=actor, action="model.promote.forced" if not check.allowed else "model.promote",
                     entity="model", entity_id=version,
                     before={"active": before.version if before else None, "test_f1": check.active_f1},
                     after={"active": version, "test_f1": check.candidate_f1, "gate": check.reason},
                     reason=reason)
        set_active(registry, version)  # after the audit row is flushed, before it commits
        session.commit()
    return check
