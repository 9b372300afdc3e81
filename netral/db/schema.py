"""Relational model of Netral.

The tables follow the flow ingest → score → flag → review → report. Several of them carry
invariants that are also enforced by database triggers (migrations 0001, 0004, 0013 and 0014): ``posts``
rows are immutable snapshots, ``audit_log``, ``reviews``, ``reports``, ``case_steps``, ``case_attachments``
and ``complaints`` rows are append-only (TRUNCATE refused too), a ``reports`` row needs a verified flag
confirmed and verified by two different users, and a ``cases`` row is never deleted nor moved to another
report. The one way a post (and a dismissed flag's reviews, or a dismissed complaint) leaves the database
is the retention purge, through a ``post_deletions`` permit (migrations 0011 and 0014).

Columns that hold a word of the domain (a flag status, a role, a review decision, a category...) carry a
CHECK constraint generated from :mod:`netral.vocabulary`, so the database refuses a value the code does
not know. Migration 0003 creates them; ``tests/test_vocabulary.py`` fails when the two drift apart.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from netral.db.types import UTCDateTime, utcnow
from netral.vocabulary import (
    AttachmentType,
    Behaviour,
    CaseBody,
    CaseStatus,
    CaseStep,
    Category,
    ComplaintSource,
    EmploymentType,
    FlagSource,
    FlagStatus,
    LabelledEnum,
    ReviewDecision,
    ReviewStage,
    Role,
    Sanction,
    TrainRunState,
)


def one_of(column: str, enum: type[LabelledEnum], *, nullable: bool = False) -> CheckConstraint:
    """CHECK constraint ``column IN (<the enum's values>)``, named ``ck_<table>_<column>`` by the table."""
    values = ", ".join(f"'{v}'" for v in enum.values())
    sql = f"{column} IN ({values})"
    return CheckConstraint(f"{column} IS NULL OR {sql}" if nullable else sql, name=f"{column}_allowed")


# (table, column, enum, nullable): every vocabulary-backed column, for the schema and the drift test.
VOCABULARY_COLUMNS: tuple[tuple[str, str, type[LabelledEnum], bool], ...] = (
    ("flags", "status", FlagStatus, False),
    ("flags", "source", FlagSource, False),
    ("accounts", "employment_type", EmploymentType, False),
    ("complaints", "source", ComplaintSource, False),
    ("users", "role", Role, False),
    ("reviews", "stage", ReviewStage, False),
    ("reviews", "decision", ReviewDecision, False),
    ("reviews", "category", Category, True),
    ("reviews", "behaviour", Behaviour, True),
    ("train_jobs", "status", TrainRunState, False),
    ("cases", "status", CaseStatus, False),
    ("case_steps", "step", CaseStep, False),
    ("case_steps", "body", CaseBody, True),
    ("case_steps", "sanction", Sanction, True),
    ("case_attachments", "media_type", AttachmentType, False),
)


def _checks(table: str) -> tuple[CheckConstraint, ...]:
    return tuple(one_of(col, enum, nullable=nullable) for t, col, enum, nullable in VOCABULARY_COLUMNS if t == table)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={"ck": "ck_%(table_name)s_%(constraint_name)s"})
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Account(Base):
    """A person on the roster (PNS, PPPK or non-ASN staff); only their handles are in scope.

    PNS and PPPK are identified by their 18-digit national number (``nip``: the NIP, or the NI PPPK);
    non-ASN staff have none and are identified by ``employee_number``, the institution's own staff
    number (never a NIK). A deactivated account stays, with its stored posts, but its new posts are
    refused at ingestion like those of someone not on the roster.
    """

    __tablename__ = "accounts"
    __table_args__ = _checks("accounts")
    id: Mapped[int] = mapped_column(primary_key=True)
    nip: Mapped[str | None] = mapped_column(String(18), unique=True)
    employee_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    employment_type: Mapped[str] = mapped_column(String(16), default=EmploymentType.PNS)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(200), index=True)
    position: Mapped[str] = mapped_column(String(200), default="")
    rank_grade: Mapped[str] = mapped_column(String(100), default="")  # pangkat/golongan as the roster writes it
    superior_nip: Mapped[str | None] = mapped_column(String(18))  # atasan langsung
    ppk: Mapped[str] = mapped_column(String(200), default="")  # Pejabat Pembina Kepegawaian
    # Read from the number: PNS birth date and TMT month; PPPK birth date and 1 January of the appointment
    # year (the NI PPPK carries the year only); None for non-ASN staff.
    birth_date: Mapped[date | None] = mapped_column(Date)
    appointed: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivated_at: Mapped[datetime | None]
    deactivation_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    handles: Mapped[list[Handle]] = relationship(back_populates="account", cascade="all, delete-orphan")

    @property
    def identifier(self) -> str:
        """The number people know this person by: NIP / NI PPPK, else the staff number."""
        return self.nip or self.employee_number or f"#{self.id}"


class Handle(Base):
    __tablename__ = "handles"
    __table_args__ = (UniqueConstraint("platform", "handle", name="uq_handle_platform"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    handle: Mapped[str] = mapped_column(String(200))
    account: Mapped[Account] = relationship(back_populates="handles")


class Post(Base):
    """Immutable snapshot of a post as ingested (evidence)."""

    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("platform", "post_id", name="uq_post_platform_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    post_id: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    author_handle: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(index=True)
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default="post")
    content_sha256: Mapped[str] = mapped_column(String(64))
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(300), default="")
    account: Mapped[Account] = relationship()


class IngestRun(Base):
    __tablename__ = "ingest_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(300))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    stored: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    not_on_roster: Mapped[int] = mapped_column(default=0)
    invalid: Mapped[int] = mapped_column(default=0)
    # Why the run stopped early, if it did (the counts are then what was committed before the stop).
    error: Mapped[str | None] = mapped_column(Text)


class Score(Base):
    """One classifier output per (post, model version); kept for every version ever run."""

    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("post_id", "model_version", name="uq_score_post_model"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    model_version: Mapped[str] = mapped_column(String(64), index=True)
    partisan_score: Mapped[float] = mapped_column(Float)
    categories: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Flag(Base):
    """A post the model put above threshold: a question for people, never a finding."""

    __tablename__ = "flags"
    __table_args__ = _checks("flags")
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), unique=True)
    status: Mapped[str] = mapped_column(String(24), default=FlagStatus.PENDING, index=True)
    # ``complaint`` flags come from a recorded complaint, not the model: their model fields stay empty
    # ("" and 0.0) and the scan never re-scores them.
    source: Mapped[str] = mapped_column(String(16), default=FlagSource.MODEL)
    model_version: Mapped[str] = mapped_column(String(64))
    threshold: Mapped[float] = mapped_column(Float)
    partisan_score: Mapped[float] = mapped_column(Float, index=True)
    categories: Mapped[dict[str, Any]] = mapped_column(default=dict)
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    drivers: Mapped[list[Any]] = mapped_column(default=list)  # words that drove the score (gradient x input)
    # The model version the drivers were computed with; None until computed (on first opening or by
    # ``netral explain``), so "no positive driver" and "not computed yet" are told apart.
    drivers_version: Mapped[str | None] = mapped_column(String(64))
    election: Mapped[str | None] = mapped_column(String(120), index=True)
    window_note: Mapped[str | None] = mapped_column(String(300))
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claim_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    post: Mapped[Post] = relationship()
    history: Mapped[list[FlagScoreHistory]] = relationship(order_by="FlagScoreHistory.id")
    reviews: Mapped[list[Review]] = relationship(order_by="Review.id")
    complaint: Mapped[Complaint | None] = relationship(back_populates="flag", uselist=False)


class FlagScoreHistory(Base):
    """Earlier scores of a flag, kept when a newer model re-scores a pending flag."""

    __tablename__ = "flag_score_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"), index=True)
    model_version: Mapped[str] = mapped_column(String(64))
    threshold: Mapped[float] = mapped_column(Float)
    partisan_score: Mapped[float] = mapped_column(Float)
    categories: Mapped[dict[str, Any]] = mapped_column(default=dict)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = _checks("users")
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # One-time link with which a new (or reset) user sets their own password; SHA-256 only.
    setup_token_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    setup_expires_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]


class WebSession(Base):
    """A signed-in browser; the cookie carries the token, only its SHA-256 is here (revocable)."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(40))
    ip: Mapped[str] = mapped_column(String(64), default="")


class LoginThrottle(Base):
    """Failed logins per client address and per account name (``netral.review.throttle``)."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(160), primary_key=True)  # "ip:<addr>" or "user:<name>"
    failures: Mapped[int] = mapped_column(default=0)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime] = mapped_column(index=True)
    blocked_until: Mapped[datetime | None]


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(120))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    user: Mapped[User] = relationship()


class Review(Base):
    """One human decision on a flag: first review (reviewer) or second review (supervisor)."""

    __tablename__ = "reviews"
    __table_args__ = _checks("reviews")
    id: Mapped[int] = mapped_column(primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    stage: Mapped[str] = mapped_column(String(12))  # first | second
    decision: Mapped[str] = mapped_column(String(16))  # confirm | dismiss | more_info | verify | reject
    category: Mapped[str | None] = mapped_column(String(24))
    behaviour: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewer: Mapped[User] = relationship()


class Report(Base):
    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"), unique=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    content_sha256: Mapped[str] = mapped_column(String(64))
    # What the document was rendered with besides the case data (letterhead, signatories, time zone,
    # election type, template), so a re-render is byte-identical after the config changes (migration 0012).
    # NULL for reports issued before that revision.
    issued_with: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    flag: Mapped[Flag] = relationship()


class Complaint(Base):
    """A complaint (pengaduan) recorded by staff about a rostered person; append-only (migration 0014).

    The complaint's own text and link are stored as a post (``post_id``, kind ``complaint``) so its
    flag enters the same queue, review path and report as a model flag and the snapshot is immutable
    like any post. A screenshot is kept on disk by its SHA-256 (``netral.review.attachments``, shared with case
    attachments).
    """

    __tablename__ = "complaints"
    __table_args__ = _checks("complaints")
    id: Mapped[int] = mapped_column(primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"), unique=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    complainant: Mapped[str] = mapped_column(String(200), default="")  # optional: the public may stay anonymous
    link: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text)
    screenshot_sha256: Mapped[str | None] = mapped_column(String(64))
    screenshot_type: Mapped[str | None] = mapped_column(String(32))
    screenshot_bytes: Mapped[int | None]
    received_at: Mapped[datetime]
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    flag: Mapped[Flag] = relationship(back_populates="complaint")
    post: Mapped[Post] = relationship()
    recorder: Mapped[User] = relationship()


class AuditRecord(Base):
    """Append-only, hash-chained log of every state change."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class DbPolicy(Base):
    """Rules the database triggers read (migration 0003): ``four_eyes`` makes a report row need a
    confirmation and a verification by two different users. Only the database owner should be able to
    change it (see the README deployment checklist)."""

    __tablename__ = "db_policy"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)


class PostDeletion(Base):
    """A one-time permit to delete one post, written by the retention purge (``netral.review.retention``).

    ``posts`` refuses every DELETE (migration 0011's triggers) unless a permit for that row, with the same
    content hash, exists; deleting the post consumes the permit. A permit can only be written right after
    the ``post.purge`` audit record it names (the newest record, for that post), so a deletion cannot happen
    without the chain recording the post's hash first; on PostgreSQL a permit that outlives its
    transaction also makes the commit fail. The table is empty between purges.
    """

    __tablename__ = "post_deletions"
    post_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    content_sha256: Mapped[str] = mapped_column(String(64))
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit_log.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrainJob(Base):
    """A retraining run started from the web UI; progress is polled by the page."""

    __tablename__ = "train_jobs"
    __table_args__ = _checks("train_jobs")
    id: Mapped[int] = mapped_column(primary_key=True)
    started_by: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default=TrainRunState.QUEUED)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    model_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class Case(Base):
    """What happens after a report (one case per report): forwarding, the ASN's response, BAPs, sanction.

    Only ``status`` and ``updated_at`` change; the history is the append-only ``case_steps``.
    """

    __tablename__ = "cases"
    __table_args__ = _checks("cases")
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), unique=True)
    status: Mapped[str] = mapped_column(String(24), default=CaseStatus.OPEN, index=True)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    report: Mapped[Report] = relationship()
    steps: Mapped[list[CaseStepRecord]] = relationship(order_by="CaseStepRecord.id", back_populates="case")


class CaseStepRecord(Base):
    """One recorded decision in a case, with its date and reference (letter, BAP or decree number)."""

    __tablename__ = "case_steps"
    __table_args__ = _checks("case_steps")
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    decided_on: Mapped[date] = mapped_column(Date)  # the date on the letter or decision, not of typing it in
    ref_number: Mapped[str] = mapped_column(String(120), default="")
    body: Mapped[str | None] = mapped_column(String(24))
    sanction: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    case: Mapped[Case] = relationship(back_populates="steps")
    recorder: Mapped[User] = relationship()
    attachments: Mapped[list[CaseAttachment]] = relationship(order_by="CaseAttachment.id")


class CaseAttachment(Base):
    """A file attached to a step; the bytes live under ``Settings.attachments_dir`` by their SHA-256."""

    __tablename__ = "case_attachments"
    __table_args__ = _checks("case_attachments")
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("case_steps.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    media_type: Mapped[str] = mapped_column(String(40))  # sniffed from the bytes
    size_bytes: Mapped[int]
    original_name: Mapped[str] = mapped_column(String(200), default="")  # shown only, never used as a path
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
