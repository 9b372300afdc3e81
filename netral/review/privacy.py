"""Everything Netral holds about one person, as one JSON document (UU PDP 27/2022: the right of access).

The export is what a data subject (or the institution's data-protection officer on their behalf) asks
for: the roster entry and handles, every stored post with its text and hash, the model's scores, the
flags with their evidence, score history and human reviews, the complaints about them, the reports, the
cases that followed them (every step, the ASN's own responses included, and each attachment's name, type
and sha256; the files themselves stay under ``var/attachments``), and every audit record that names one
of those rows or the person's NIP (or, for non-ASN staff, their staff number; this includes the hashes of
posts the retention purge deleted). It is personal data in bulk, so only an admin (or the local operator
at the CLI) may make one, with a written reason, and the export itself is audited: who, when, why, what it
counted and the sha256 of the document.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, Text, cast, or_, select
from sqlalchemy.orm import Session

from netral import audit
from netral.db.schema import (
    Account,
    AuditRecord,
    Base,
    Case,
    CaseAttachment,
    CaseStepRecord,
    Complaint,
    Flag,
    FlagScoreHistory,
    Post,
    Report,
    Review,
    Score,
    User,
)
from netral.db.types import utcnow
from netral.review.accounts import resolve
from netral.review.errors import ReviewError
from netral.review.roles import PRIVACY, require_role

FORMAT = "netral-privacy-export/1"
EXPORT_ACTION = "privacy.export"
MIN_REASON_CHARS = 10


@dataclass(frozen=True)
class PersonExport:
    nip: str
    content: bytes  # the JSON document, UTF-8
    sha256: str
    counts: dict[str, int]

    @property
    def filename(self) -> str:
        """A file name safe in a path and in a Content-Disposition header, whatever the identifier holds."""
        safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_" for ch in self.nip)
        return f"netral-data-pribadi-{safe}.json"


def export_person(session: Session, nip: str, *, actor: User | None, reason: str,
                  now: dt.datetime | None = None) -> PersonExport:
    """Build the document and append its audit record in the caller's transaction.

    The caller commits only once the document is safely written or sent, so a failed write leaves no
    record of an export that did not happen. ``actor`` None is the local operator at the CLI.
    """
    if actor is not None:
        require_role(actor, PRIVACY, "mengekspor data pribadi")
    why = (reason or "").strip()
    if len(why) < MIN_REASON_CHARS:
        raise ReviewError(f"alasan ekspor wajib diisi (minimal {MIN_REASON_CHARS} karakter), misalnya nomor "
                          "surat permintaan akses subjek data", "invalid")
    key = (nip or "").strip()
    if not key:
        raise ReviewError("NIP (atau nomor pegawai non-ASN) wajib diisi", "not_found")
    account = resolve(session, key)  # NIP / NI PPPK, or a non-ASN person's staff number
    now = now or utcnow()
    who = actor.username if actor is not None else "cli"
    document = _collect(session, account)
    document = {"format": FORMAT, "exported_at": _iso(now), "exported_by": who, "reason": why, **document}
    content = (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False, default=_json_default)
               + "\n").encode("utf-8")
    digest = hashlib.sha256(content).hexdigest()
    counts = {name: len(document[name]) for name in ("handles", "posts", "scores", "flags", "reviews",
                                                       "complaints", "reports", "cases", "audit")}
    audit.append(session, actor=who, action=EXPORT_ACTION, entity="account", entity_id=account.id,
                 after={"nip": account.identifier, "counts": counts, "sha256": digest}, reason=why)
    return PersonExport(account.identifier, content, digest, counts)


def _collect(session: Session, account: Account) -> dict[str, Any]:
    posts = list(session.scalars(select(Post).where(Post.account_id == account.id).order_by(Post.id)))
    post_ids = select(Post.id).where(Post.account_id == account.id)
    scores = list(session.scalars(select(Score).where(Score.post_id.in_(post_ids)).order_by(Score.id)))
    flags = list(session.scalars(select(Flag).where(Flag.post_id.in_(post_ids)).order_by(Flag.id)))
    flag_ids = select(Flag.id).where(Flag.post_id.in_(post_ids))
    history = list(session.scalars(select(FlagScoreHistory).where(FlagScoreHistory.flag_id.in_(flag_ids))
                                   .order_by(FlagScoreHistory.id)))
    reviews = session.execute(select(Review, User.username, User.role).join(User, User.id == Review.reviewer_id)
                              .where(Review.flag_id.in_(flag_ids)).order_by(Review.id)).all()
    reports = session.execute(select(Report, User.username).join(User, User.id == Report.created_by)
                              .where(Report.flag_id.in_(flag_ids)).order_by(Report.id)).all()
    cases = list(session.scalars(select(Case).where(Case.report_id.in_(select(Report.id).where(
        Report.flag_id.in_(flag_ids)))).order_by(Case.id)))
    case_ids = [c.id for c in cases]
    steps = session.execute(select(CaseStepRecord, User.username).join(User, User.id == CaseStepRecord.recorded_by)
                            .where(CaseStepRecord.case_id.in_(case_ids)).order_by(CaseStepRecord.id)).all()
    files = list(session.scalars(select(CaseAttachment).where(CaseAttachment.case_id.in_(case_ids))
                                 .order_by(CaseAttachment.id)))
    complaints = session.execute(select(Complaint, User.username).join(User, User.id == Complaint.recorded_by)
                                 .where(Complaint.account_id == account.id).order_by(Complaint.id)).all()
    return {
        "account": _row(account),
        "handles": [_row(h) for h in sorted(account.handles, key=lambda h: h.id)],
        "posts": [_row(p) for p in posts],
        "scores": [_row(s) for s in scores],
        "flags": [{**_row(f), "score_history": [_row(h) for h in history if h.flag_id == f.id]} for f in flags],
        "reviews": [{**_row(r), "reviewer": name, "reviewer_role": role} for r, name, role in reviews],
        "complaints": [{**_row(c), "recorded_by_username": name} for c, name in complaints],
        "reports": [{**_row(r), "created_by_username": name} for r, name in reports],
        "cases": [{**_row(c), "steps": [{**_row(step), "recorded_by_username": name,
                                         "attachments": [_row(f) for f in files if f.step_id == step.id]}
                                        for step, name in steps if step.case_id == c.id]} for c in cases],
        "audit": [_row(a) for a in _audit_mentions(session, account)],
    }


def _audit_mentions(session: Session, account: Account) -> list[AuditRecord]:
    """Audit records about the account, its posts (deleted ones included, by NIP), flags, reports and cases."""
    own_posts = Post.account_id == account.id
    post_ids = select(cast(Post.id, String)).where(own_posts)
    flag_ids = select(cast(Flag.id, String)).join(Post, Post.id == Flag.post_id).where(own_posts)
    report_ids = (select(cast(Report.id, String)).join(Flag, Flag.id == Report.flag_id)
                  .join(Post, Post.id == Flag.post_id).where(own_posts))
    case_ids = (select(cast(Case.id, String)).join(Report, Report.id == Case.report_id)
                .join(Flag, Flag.id == Report.flag_id).join(Post, Post.id == Flag.post_id).where(own_posts))
    nip = account.identifier  # the NIP, or a non-ASN person's staff number
    stmt = select(AuditRecord).where(or_(
        (AuditRecord.entity == "account") & (AuditRecord.entity_id == str(account.id)),
        (AuditRecord.entity == "post") & AuditRecord.entity_id.in_(post_ids),
        (AuditRecord.entity == "flag") & AuditRecord.entity_id.in_(flag_ids),
        (AuditRecord.entity == "report") & AuditRecord.entity_id.in_(report_ids),
        (AuditRecord.entity == "case") & AuditRecord.entity_id.in_(case_ids),
        AuditRecord.entity_id == nip,
        cast(AuditRecord.before, Text).contains(nip),
        cast(AuditRecord.after, Text).contains(nip),
        AuditRecord.reason.contains(nip),
    )).order_by(AuditRecord.id)
    return list(session.scalars(stmt))


def _row(obj: Base) -> dict[str, Any]:
    """Every column of a row, by column name (relationships and secrets are not columns of these tables)."""
    return {column.key: getattr(obj, column.key) for column in obj.__mapper__.column_attrs}


def _json_default(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")


def _iso(value: dt.datetime) -> str:
    return value.isoformat()
