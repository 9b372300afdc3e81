"""Cases: what happens after a report, as a sequence of recorded decisions (steps).

A report opens exactly one case (``open_case``, called inside ``reports.create_report``'s transaction).
Each step is a decision of record by an authorised role (``roles.CASE_STEP_ROLES``) with the date and
number of its letter, BAP or decree and optional attachments; steps are append-only (database
triggers), audited in the same transaction, and a closed case takes no further step.

The tracks run side by side (Bawaslu for the election-law side; PPK/BKN for discipline; the Majelis
Kode Etik for ethics), so the order rules are preconditions on what has been recorded, not one line::

    forwarded_bawaslu      once
    forwarded_discipline   once per recipient (PPK, BKN)
    handling_extended      after forwarded_bawaslu, once, before Bawaslu's recommendation
    clarification_invited  any time
    asn_response           any time (the ASN's right to respond is never refused while the case is open);
                           needs text or an attachment
    examination (BAP)      after clarification_invited (the ASN is called in writing before being examined);
                           by Bawaslu only after forwarded_bawaslu
    recommendation         after an examination; from Bawaslu only after forwarded_bawaslu
    sanction               after an examination; a moral sanction (PP 42/2004) only after the Majelis Kode
                           Etik's recommendation; "other" needs a note
    closed_proven          after an examination
    closed_not_proven      after a forwarding or an examination
    (anything)             never after closing

The case status is the furthest stage reached (``CaseStatus``); it never moves back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from netral import audit
from netral.db.schema import Account, Case, CaseAttachment, CaseStepRecord, Flag, Post, Report, User
from netral.db.types import utcnow
from netral.localtime import WIB
from netral.review import attachments as files
from netral.review import deadlines
from netral.review.errors import ReviewError
from netral.review.roles import CASE_STEP_ROLES, READ_CASES, ROLES, require_role
from netral.review.zones import ZoneBook, zone_book
from netral.settings import Settings
from netral.vocabulary import (
    CLOSED_CASE_STATUSES,
    MORAL_SANCTIONS,
    Behaviour,
    CaseBody,
    CaseStatus,
    CaseStep,
    Category,
    ReviewDecision,
    ReviewStage,
    Sanction,
)

STATUSES: dict[str, str] = CaseStatus.labels()
STEPS: dict[str, str] = CaseStep.labels()
BODIES: dict[str, str] = CaseBody.labels()
SANCTIONS: dict[str, str] = Sanction.labels()

MAX_REF_CHARS = 120
MAX_NOTE_CHARS = 20_000
MAX_AUDIT_NOTE_CHARS = 2_000

# Steps whose letter, BAP or decree number is required (the ASN's response may come without one).
REF_REQUIRED = frozenset(CaseStep) - {CaseStep.ASN_RESPONSE}
# Which institutions a step may name; steps absent here name none.
STEP_BODIES: dict[str, tuple[CaseBody, ...]] = {
    CaseStep.FORWARDED_DISCIPLINE: (CaseBody.PPK, CaseBody.BKN),
    CaseStep.EXAMINATION: (CaseBody.BAWASLU, CaseBody.INSPEKTORAT),
    CaseStep.RECOMMENDATION: (CaseBody.BAWASLU, CaseBody.BKN, CaseBody.INSPEKTORAT, CaseBody.MAJELIS_KODE_ETIK),
}
# The furthest stage each step reaches; the case status is the maximum over its steps.
STAGE_OF: dict[str, CaseStatus] = {
    CaseStep.FORWARDED_BAWASLU: CaseStatus.FORWARDED,
    CaseStep.FORWARDED_DISCIPLINE: CaseStatus.FORWARDED,
    CaseStep.HANDLING_EXTENDED: CaseStatus.FORWARDED,
    CaseStep.CLARIFICATION_INVITED: CaseStatus.CLARIFICATION,
    CaseStep.ASN_RESPONSE: CaseStatus.CLARIFICATION,
    CaseStep.EXAMINATION: CaseStatus.EXAMINATION,
    CaseStep.RECOMMENDATION: CaseStatus.RECOMMENDATION,
    CaseStep.SANCTION: CaseStatus.SANCTIONED,
    CaseStep.CLOSED_PROVEN: CaseStatus.CLOSED_PROVEN,
    CaseStep.CLOSED_NOT_PROVEN: CaseStatus.CLOSED_NOT_PROVEN,
}
_RANK = {status: i for i, status in enumerate(CaseStatus)}


@dataclass(frozen=True)
class StepInput:
    """One step as a person enters it; ``decided_on`` defaults to today (the local date)."""

    step: str
    ref_number: str = ""
    note: str = ""
    decided_on: date | None = None
    body: str | None = None
    sanction: str | None = None


def today_local() -> date:
    return datetime.now(WIB).date()


def is_closed(case: Case) -> bool:
    return case.status in CLOSED_CASE_STATUSES


# --- opening ------------------------------------------------------------------------------------------

def open_case(session: Session, report: Report, user: User) -> Case:
    """The case of a report, opened in the caller's transaction (the report's, when it is issued)."""
    existing = session.scalars(select(Case).where(Case.report_id == report.id)).first()
    if existing is not None:
        return existing
    now = utcnow()
    case = Case(report_id=report.id, status=CaseStatus.OPEN, opened_at=now, opened_by=user.id, updated_at=now)
    session.add(case)
    session.flush()
    audit.append(session, actor=user.username, action="case.open", entity="case", entity_id=case.id,
                 after={"report_id": report.id, "report_number": report.number, "status": CaseStatus.OPEN})
    return case


def open_missing(session: Session, user: User) -> list[Case]:
    """Cases for reports issued before cases existed (migration 0013); each opening is audited."""
    require_role(user, CASE_STEP_ROLES[CaseStep.FORWARDED_BAWASLU], "membuka kasus")
    audit.lock_chain(session)
    reports = session.scalars(select(Report).where(~Report.id.in_(select(Case.report_id))).order_by(Report.id))
    return [open_case(session, report, user) for report in list(reports)]


def reports_without_case(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Report)
                          .where(~Report.id.in_(select(Case.report_id)))) or 0


# --- reading ------------------------------------------------------------------------------------------

def _may_read(user: User | None) -> None:
    """``None`` is the operator at the console (``netral case list/show``), who reads the database anyway."""
    if user is not None:
        require_role(user, READ_CASES, "membaca kasus")


def get_case(session: Session, case_id: int, user: User | None) -> Case:
    _may_read(user)
    case = session.scalars(select(Case).where(Case.id == case_id).options(
        joinedload(Case.report).joinedload(Report.flag).joinedload(Flag.post).joinedload(Post.account),
        selectinload(Case.steps).selectinload(CaseStepRecord.attachments),
        selectinload(Case.steps).joinedload(CaseStepRecord.recorder))).first()
    if case is None:
        raise ReviewError(f"kasus #{case_id} tidak ditemukan", "not_found")
    return case


def case_for_report(session: Session, report_id: int) -> Case | None:
    return session.scalars(select(Case).where(Case.report_id == report_id)).first()


def clocks(settings: Settings) -> ZoneBook:
    """Each election's type and zone (the shared, mtime-cached reading of the configs)."""
    return zone_book(settings.elections_dir, settings.default_timezone)


def case_deadlines(case: Case, book: ZoneBook, today: date) -> list[deadlines.Deadline]:
    flag = case.report.flag
    law = deadlines.law_for(flag.election, book)
    report_day = deadlines.local_day(case.report.created_at, flag.election, book)
    return deadlines.compute(law, report_day, case.steps, closed=is_closed(case), today=today)


@dataclass
class CaseRow:
    case: Case
    report: Report
    account: Account
    law: str
    deadlines: list[deadlines.Deadline]

    @property
    def overdue(self) -> bool:
        return deadlines.is_overdue(self.deadlines)

    @property
    def current_deadline(self) -> deadlines.Deadline | None:
        return deadlines.current(self.deadlines)


@dataclass
class CaseFilter:
    """``status``: one ``CaseStatus`` value, ``active`` (not closed), ``closed`` or None (all)."""

    status: str | None = "active"
    unit: str | None = None
    overdue_only: bool = False


def row_for(case: Case, book: ZoneBook, today: date) -> CaseRow:
    flag = case.report.flag
    return CaseRow(case, case.report, flag.post.account, deadlines.law_for(flag.election, book),
                   case_deadlines(case, book, today))


def list_cases(session: Session, user: User | None, flt: CaseFilter, *,
               book: ZoneBook, today: date | None = None) -> list[CaseRow]:
    """Cases matching the filter, overdue first, then newest; deadlines are computed for ``today``."""
    _may_read(user)
    day = today or today_local()
    stmt = (select(Case).join(Report, Case.report_id == Report.id).join(Flag, Report.flag_id == Flag.id)
            .join(Post, Flag.post_id == Post.id).join(Account, Post.account_id == Account.id)
            .options(joinedload(Case.report).joinedload(Report.flag).joinedload(Flag.post).joinedload(Post.account),
                     selectinload(Case.steps)))
    if flt.status == "active":
        stmt = stmt.where(Case.status.not_in(CLOSED_CASE_STATUSES))
    elif flt.status == "closed":
        stmt = stmt.where(Case.status.in_(CLOSED_CASE_STATUSES))
    elif flt.status:
        stmt = stmt.where(Case.status == flt.status)
    if flt.unit:
        stmt = stmt.where(Account.unit == flt.unit)
    rows = [row_for(c, book, day) for c in session.scalars(stmt.order_by(Case.id.desc())).unique()]
    if flt.overdue_only:
        rows = [r for r in rows if r.overdue]
    return sorted(rows, key=lambda r: not r.overdue)  # stable: newest first within each group


def case_units(session: Session) -> list[str]:
    stmt = (select(Account.unit).join(Post, Post.account_id == Account.id).join(Flag, Flag.post_id == Post.id)
            .join(Report, Report.flag_id == Flag.id).join(Case, Case.report_id == Report.id).distinct())
    return sorted(u for u in session.scalars(stmt) if u)


def status_counts(session: Session) -> dict[str, int]:
    counts = {status: n for status, n in session.execute(select(Case.status, func.count()).group_by(Case.status))}
    return {status: int(counts.get(status, 0)) for status in STATUSES}


# --- the timeline -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TimelineEntry:
    """One line of a case's history, from the flag to the latest step (for the page, CLI and API)."""

    kind: str  # flag | review | report | case | step
    title: str
    at: datetime | None
    day: date | None = None
    actor: str = ""
    ref: str = ""
    text: str = ""
    details: list[tuple[str, str]] = field(default_factory=list)
    attachments: list[CaseAttachment] = field(default_factory=list)
    step: str | None = None
    step_id: int | None = None


def _name(user: User | None) -> str:
    return (user.full_name or user.username) if user else ""


def timeline(session: Session, case: Case) -> list[TimelineEntry]:
    """The whole history: the flag, both reviews, the report, the opening and every step, in order."""
    report = case.report
    flag = report.flag
    score = f"Skor {flag.partisan_score:.2f} (ambang {flag.threshold:.2f}), model {flag.model_version}"
    out = [TimelineEntry("flag", "Indikasi dibuat oleh model", flag.created_at, text=score,
                         details=[("Pemilu/Pilkada", flag.election or "—"), ("Indikasi", f"#{flag.id}")])]
    for review in flag.reviews:
        title = f"{ReviewStage.label_of(review.stage)}: {ReviewDecision.label_of(review.decision)}"
        details = [("Kategori", Category.label_of(review.category))] if review.category else []
        if review.behaviour:
            details.append(("Perilaku SKB", Behaviour.label_of(review.behaviour)))
        out.append(TimelineEntry("review", title, review.created_at, actor=_name(review.reviewer),
                                 text=review.reason, details=details))
    creator = session.get(User, report.created_by)
    out.append(TimelineEntry("report", "Laporan diterbitkan", report.created_at, actor=_name(creator),
                             ref=report.number, details=[("SHA-256", report.content_sha256)]))
    opener = session.get(User, case.opened_by)
    out.append(TimelineEntry("case", f"Kasus #{case.id} dibuka", case.opened_at, actor=_name(opener)))
    for step in case.steps:
        details = []
        if step.body:
            details.append(("Instansi", BODIES.get(step.body, step.body)))
        if step.sanction:
            details.append(("Sanksi", SANCTIONS.get(step.sanction, step.sanction)))
        out.append(TimelineEntry("step", STEPS.get(step.step, step.step), step.recorded_at, day=step.decided_on,
                                 actor=_name(step.recorder), ref=step.ref_number, text=step.note, details=details,
                                 attachments=list(step.attachments), step=step.step, step_id=step.id))
    return out


# --- the state machine --------------------------------------------------------------------------------

def _has(steps: Sequence[CaseStepRecord], step: CaseStep, body: str | None = None) -> bool:
    return any(s.step == step and (body is None or s.body == body) for s in steps)


def order_block(case: Case, steps: Sequence[CaseStepRecord], step: str, *, body: str | None = None,
                sanction: str | None = None) -> str | None:
    """Why ``step`` cannot come now (Indonesian, for the person recording it), or None if it can.

    ``body`` and ``sanction`` refine the check when given (a BAP by Bawaslu needs the forwarding to
    Bawaslu); without them the answer is whether the step could come now with some valid choice, which
    is what the page uses to decide which steps to offer.
    """
    if is_closed(case):
        return (f"kasus #{case.id} sudah ditutup ({STATUSES[case.status]}); tidak ada langkah lain yang dapat "
                "dicatat")
    examined = _has(steps, CaseStep.EXAMINATION)
    to_bawaslu = _has(steps, CaseStep.FORWARDED_BAWASLU)
    if step == CaseStep.FORWARDED_BAWASLU and to_bawaslu:
        return "kasus ini sudah diteruskan ke Bawaslu; penerusan dicatat sekali"
    if step == CaseStep.FORWARDED_DISCIPLINE:
        recipients = [b for b in STEP_BODIES[step] if not _has(steps, CaseStep.FORWARDED_DISCIPLINE, b)]
        if body is not None and body not in recipients:
            return f"kasus ini sudah diteruskan ke {BODIES.get(body, body)}"
        if not recipients:
            return "kasus ini sudah diteruskan ke PPK dan BKN"
    if step == CaseStep.HANDLING_EXTENDED:
        if not to_bawaslu:
            return "perpanjangan kajian Bawaslu hanya setelah kasus diteruskan ke Bawaslu"
        if _has(steps, CaseStep.HANDLING_EXTENDED):
            return "perpanjangan kajian Bawaslu sudah dicatat"
        if _has(steps, CaseStep.RECOMMENDATION, CaseBody.BAWASLU):
            return "rekomendasi Bawaslu sudah diterima; kajian tidak dapat diperpanjang lagi"
    if step == CaseStep.EXAMINATION:
        if not _has(steps, CaseStep.CLARIFICATION_INVITED):
            return ("pemeriksaan dan BAP hanya dapat dicatat setelah ASN diundang/dipanggil secara tertulis untuk "
                    "klarifikasi")
        if body == CaseBody.BAWASLU and not to_bawaslu:
            return "BAP oleh Bawaslu hanya setelah kasus diteruskan ke Bawaslu"
    if step == CaseStep.RECOMMENDATION:
        if not examined:
            return "rekomendasi hanya dapat dicatat setelah pemeriksaan dan BAP"
        if body == CaseBody.BAWASLU and not to_bawaslu:
            return "rekomendasi Bawaslu hanya setelah kasus diteruskan ke Bawaslu"
    if step == CaseStep.SANCTION:
        if not examined:
            return "sanksi tidak dapat diputuskan sebelum pemeriksaan dan BAP dicatat"
        if sanction in MORAL_SANCTIONS and not _has(steps, CaseStep.RECOMMENDATION, CaseBody.MAJELIS_KODE_ETIK):
            return ("sanksi moral PP 42/2004 dijatuhkan melalui Majelis Kode Etik: catat dahulu rekomendasi Majelis "
                    "Kode Etik")
    if step == CaseStep.CLOSED_PROVEN and not examined:
        return "kasus hanya dapat ditutup sebagai terbukti setelah pemeriksaan dan BAP"
    if step == CaseStep.CLOSED_NOT_PROVEN and not (examined or to_bawaslu
                                                   or _has(steps, CaseStep.FORWARDED_DISCIPLINE)):
        return "kasus yang belum diteruskan atau diperiksa tidak dapat ditutup"
    return None


def allowed_steps(case: Case, user: User) -> list[str]:
    """Steps this user may record on this case now (what the page offers; the service checks again)."""
    if not user.active:
        return []
    return [s.value for s in CaseStep
            if user.role in CASE_STEP_ROLES[s] and order_block(case, case.steps, s) is None]


# --- recording a step ---------------------------------------------------------------------------------

def _clean_text(value: str | None, what: str, limit: int) -> str:
    text = (value or "").replace("\r\n", "\n").strip()
    if "\x00" in text:
        raise ReviewError(f"{what} berisi karakter NUL", "invalid")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ReviewError(f"{what} berisi karakter yang tidak valid (surrogate tunggal)", "invalid") from None
    if len(text) > limit:
        raise ReviewError(f"{what} terlalu panjang (paling banyak {limit:,} karakter)", "invalid")
    return text


def _validate(case: Case, data: StepInput, report_day: date, today: date) -> tuple[CaseStep, str, str, date]:
    try:
        step = CaseStep(data.step)
    except ValueError:
        raise ReviewError(f"jenis langkah tidak dikenal: {data.step!r} (pilihan: {', '.join(STEPS)})",
                          "invalid") from None
    ref = _clean_text(data.ref_number, "nomor surat/referensi", MAX_REF_CHARS)
    if any(ord(c) < 32 for c in ref):
        raise ReviewError("nomor surat/referensi berisi karakter kontrol", "invalid")
    if step in REF_REQUIRED and not ref:
        raise ReviewError(f"nomor surat/BAP/keputusan wajib diisi untuk langkah '{STEPS[step]}'", "invalid")
    note = _clean_text(data.note, "catatan", MAX_NOTE_CHARS)
    day = data.decided_on or today
    if day > today:
        raise ReviewError(f"tanggal {day.isoformat()} ada di masa depan", "invalid")
    if day < report_day:
        raise ReviewError(f"tanggal {day.isoformat()} sebelum laporan diterbitkan ({report_day.isoformat()})",
                          "invalid")
    allowed_bodies = STEP_BODIES.get(step, ())
    if allowed_bodies:
        if data.body not in allowed_bodies:
            names = ", ".join(f"{b.value} ({b.label})" for b in allowed_bodies)
            raise ReviewError(f"instansi untuk langkah '{STEPS[step]}' wajib dipilih: {names}", "invalid")
    elif data.body:
        raise ReviewError(f"langkah '{STEPS[step]}' tidak menyebut instansi", "invalid")
    if step == CaseStep.SANCTION:
        if data.sanction not in SANCTIONS:
            raise ReviewError(f"jenis sanksi wajib dipilih (pilihan: {', '.join(SANCTIONS)})", "invalid")
        if data.sanction == Sanction.OTHER and not note:
            raise ReviewError("sanksi lain: tuliskan sanksinya di catatan", "invalid")
    elif data.sanction:
        raise ReviewError("jenis sanksi hanya untuk langkah 'Sanksi diputuskan'", "invalid")
    return step, ref, note, day


def add_step(session: Session, case_id: int, user: User, data: StepInput, *,
             uploads: Sequence[files.Upload] = (), settings: Settings, today: date | None = None) -> CaseStepRecord:
    """Record one step: role, fields, order and attachments are checked, the files are written (atomic,
    under their hash) before the rows, and the step, its attachments, the new status and the audit
    record are one transaction; the caller commits."""
    require_role(user, READ_CASES, "mencatat langkah kasus")
    if data.step in CASE_STEP_ROLES:
        require_role(user, CASE_STEP_ROLES[data.step], f"mencatat langkah '{STEPS[data.step]}'")
    day_today = today or today_local()
    # Serialise writers before reading the steps the order rules look at (held until the caller commits).
    audit.lock_chain(session)
    case = get_case(session, case_id, user)
    session.refresh(case)
    session.refresh(case, ["steps"])
    if is_closed(case):  # said first: no field of a step could make it acceptable
        raise ReviewError(order_block(case, case.steps, data.step) or "kasus sudah ditutup", "conflict")
    report_day = deadlines.local_day(case.report.created_at, case.report.flag.election, clocks(settings))
    step, ref, note, day = _validate(case, data, report_day, day_today)
    block = order_block(case, case.steps, step, body=data.body, sanction=data.sanction)
    if block is not None:
        raise ReviewError(block, "conflict")
    checked = files.check_all(uploads, settings.attachment_max_bytes)
    if step == CaseStep.ASN_RESPONSE and not note and not checked:
        raise ReviewError("tanggapan ASN: isi teks tanggapan atau lampirkan berkasnya", "invalid")
    for item in checked:  # bytes first: a row never points at a file that is not there
        files.store(settings.attachments_dir, item)

    before = {"status": case.status, "steps": len(case.steps)}
    now = utcnow()
    record = CaseStepRecord(case_id=case.id, step=step, decided_on=day, ref_number=ref, body=data.body or None,
                            sanction=data.sanction or None, note=note, recorded_by=user.id, recorded_at=now)
    session.add(record)
    session.flush()
    for item in checked:
        session.add(CaseAttachment(case_id=case.id, step_id=record.id, sha256=item.sha256, media_type=item.media_type,
                                   size_bytes=item.size, original_name=item.name, uploaded_by=user.id,
                                   uploaded_at=now))
    new_status = STAGE_OF[step] if _RANK[STAGE_OF[step]] > _RANK[CaseStatus(case.status)] else case.status
    moved = session.execute(update(Case).where(Case.id == case.id, Case.status == case.status)
                            .values(status=new_status, updated_at=now)
                            .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise ReviewError("kasus telah diubah oleh orang lain; muat ulang halaman", "conflict")
    session.flush()
    after: dict[str, Any] = {"status": new_status, "step_id": record.id, "step": step, "decided_on": day.isoformat(),
                             "ref_number": ref, "body": record.body, "sanction": record.sanction,
                             "note_sha256": hashlib.sha256(note.encode("utf-8")).hexdigest() if note else None,
                             "attachments": [{"sha256": c.sha256, "media_type": c.media_type, "size": c.size}
                                             for c in checked]}
    # The ASN's own words stay in the case (append-only); the audit log keeps their hash, not a copy.
    reason = "" if step == CaseStep.ASN_RESPONSE else note[:MAX_AUDIT_NOTE_CHARS]
    audit.append(session, actor=user.username, action="case.step", entity="case", entity_id=case.id,
                 before=before, after=after, reason=reason)
    session.refresh(case)
    session.refresh(record)
    return record


def get_attachment(session: Session, case_id: int, attachment_id: int, user: User | None) -> CaseAttachment:
    _may_read(user)
    attachment = session.get(CaseAttachment, attachment_id)
    if attachment is None or attachment.case_id != case_id:
        raise ReviewError(f"lampiran #{attachment_id} tidak ditemukan pada kasus #{case_id}", "not_found")
    return attachment


def role_table() -> list[tuple[str, str]]:
    """(step label, roles that may record it): the README's roles table comes from the same mapping."""
    return [(STEPS[s], ", ".join(ROLES[r] for r in sorted(CASE_STEP_ROLES[s]))) for s in CaseStep]
