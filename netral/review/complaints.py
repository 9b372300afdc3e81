"""Complaint intake (pengaduan): staff record a complaint about a rostered person, and it joins the queue.

A complaint from the public, from Bawaslu or from a superior is a question like a model flag: it enters
the same review queue with source ``complaint`` and follows the same path (a reviewer confirms, a
different supervisor verifies, then a report). Nothing else about review changes, because a flag refers
to a post and every page, service, trigger and the report read the post: the complaint's text and link
are stored as a post of kind ``complaint`` (an immutable snapshot, covered by the posts trigger), with
its own flag and a ``complaints`` row (append-only) holding who brought it, when, and the screenshot's
SHA-256. The scan never scores these posts and retraining never learns from them (they are what a
complainant wrote, not what the ASN posted).

Scope stays the roster's: a complaint about someone not on the roster, or whose account is deactivated,
is refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from netral import audit
from netral.db.schema import Account, Complaint, Flag, Post, User
from netral.db.types import utcnow
from netral.elections import ElectionConfigError, load_elections
from netral.pipeline.evidence import EvidenceExtractor
from netral.pipeline.incoming import MAX_URL_CHARS, parse_time, refuse_unstorable
from netral.pipeline.roster import normalise_handle
from netral.pipeline.scan import match_election
from netral.review import attachments
from netral.review.accounts import resolve
from netral.review.errors import ReviewError
from netral.review.roles import RECORD_COMPLAINT, require_role
from netral.settings import Settings
from netral.vocabulary import AttachmentType, ComplaintSource, FlagSource, FlagStatus, PostKind

log = logging.getLogger(__name__)

SOURCES: dict[str, str] = ComplaintSource.labels()
SCREENSHOT_TYPES = (AttachmentType.PNG, AttachmentType.JPEG)
MIN_TEXT_CHARS = 10
MAX_COMPLAINANT_CHARS = 200
FUTURE_SLACK = timedelta(minutes=5)
OTHER_PLATFORM = "other"
# Host (or a parent domain of it) -> platform as the roster names it.
_HOSTS = {"twitter.com": "twitter", "x.com": "twitter", "facebook.com": "facebook", "fb.com": "facebook",
          "fb.watch": "facebook", "instagram.com": "instagram", "tiktok.com": "tiktok", "t.me": "telegram",
          "telegram.me": "telegram", "youtube.com": "youtube", "youtu.be": "youtube", "threads.net": "threads",
          "threads.com": "threads"}


@dataclass(frozen=True)
class ComplaintInput:
    """What the form, the CLI and the API hand in; checked by :func:`record`."""

    account: str  # NIP, NI PPPK or the staff number of a non-ASN person
    source: str
    text: str  # the complainant's description
    link: str = ""
    complainant: str = ""  # optional: a member of the public may stay anonymous
    screenshot: bytes | None = None
    posted_at: datetime | None = None  # when the post complained about was made, if known
    received_at: datetime | None = None  # when the complaint reached the inspectorate (default: now)


def _check_text(value: str, field: str, *, limit: int, minimum: int = 0) -> str:
    text = value.strip()
    try:
        refuse_unstorable(text)
    except ValueError as exc:
        raise ReviewError(f"{field}: {exc}", "invalid") from None
    if len(text) < minimum:
        raise ReviewError(f"{field} wajib diisi (minimal {minimum} karakter)", "invalid")
    if len(text) > limit:
        raise ReviewError(f"{field} terlalu panjang ({len(text):,} > {limit:,} karakter)", "invalid")
    return text


def check_link(link: str) -> str:
    """An http(s) link with a host, or "" when none is given."""
    url = _check_text(link, "tautan", limit=MAX_URL_CHARS)
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ReviewError("tautan tidak valid", "invalid") from None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise ReviewError("tautan harus berupa alamat http(s) lengkap", "invalid")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ReviewError("tautan mengandung spasi atau karakter kontrol", "invalid")
    return url


def platform_of(link: str) -> str:
    """The platform a link points at, as the roster names it (``other`` when unknown)."""
    host = (urlsplit(link).hostname or "").lower() if link else ""
    for domain, platform in _HOSTS.items():
        if host == domain or host.endswith("." + domain):
            return platform
    return OTHER_PLATFORM


def _author(account: Account, link: str, platform: str) -> str:
    """The account's handle the link names, if it names one of theirs; "" otherwise (shown as unknown)."""
    if not link:
        return ""
    parts = urlsplit(link)
    segment = next((s for s in parts.path.split("/") if s), "")
    try:
        candidate = normalise_handle(segment) if segment else ""
    except ValueError:
        return ""
    host = (parts.hostname or "").lower()
    for handle in account.handles:
        if handle.platform == platform and handle.handle == candidate:
            return handle.handle
        if handle.platform == "mastodon" and segment.startswith("@") and handle.handle == f"{candidate}@{host}":
            return handle.handle
    return ""


def parse_when(value: str | None, field: str, settings: Settings) -> datetime | None:
    """A date or date-time typed by a person (form, CLI, API); without a zone it is read in
    ``NETRAL_DEFAULT_TIMEZONE``. Empty means not given."""
    if value is None or not value.strip():
        return None
    try:
        return parse_time(value, settings.default_timezone)
    except ValueError as exc:
        raise ReviewError(f"{field}: {exc}", "invalid") from None


def _time(value: datetime | None, field: str, default: datetime) -> datetime:
    if value is None:
        return default
    if value.tzinfo is None:
        raise ReviewError(f"{field}: waktu tanpa zona", "invalid")
    if value > utcnow() + FUTURE_SLACK:
        raise ReviewError(f"{field} tidak boleh di masa depan", "invalid")
    return value


def _evidence(text: str, when: datetime, settings: Settings) -> tuple[list[dict[str, object]], str | None, str | None]:
    """Evidence spans and the election, as the scan would find them; none if the configs cannot be read
    (the complaint is recorded all the same and the reviewer reads it)."""
    try:
        spans = [s.to_dict() for s in EvidenceExtractor.from_settings(settings).extract(text, when=when)]
        election = match_election(load_elections(settings.elections_dir), spans, when)
    except (ElectionConfigError, OSError, ValueError) as exc:
        log.warning("complaint evidence not extracted: %s", exc)
        return [], None, None
    if election is None:
        return spans, None, None
    return spans, election.id, election.window_note(when)


def _content_sha256(values: dict[str, object]) -> str:
    payload = json.dumps(values, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record(session: Session, data: ComplaintInput, user: User, settings: Settings) -> Complaint:
    """Record the complaint, its snapshot and its pending flag in the caller's transaction (audited).

    The screenshot is written to ``settings.attachments_dir`` before the caller commits; should the
    transaction then fail, the file stays as an unreferenced copy (files are named by content).
    """
    require_role(user, RECORD_COMPLAINT, "mencatat pengaduan")
    if data.source not in SOURCES:
        raise ReviewError(f"sumber pengaduan tidak dikenal: {data.source!r} (pilihan: {', '.join(SOURCES)})",
                          "invalid")
    text = _check_text(data.text, "uraian pengaduan", limit=settings.max_text_chars, minimum=MIN_TEXT_CHARS)
    complainant = _check_text(data.complainant, "nama/kontak pengadu", limit=MAX_COMPLAINANT_CHARS)
    link = check_link(data.link)
    if not link and not data.screenshot:
        raise ReviewError("sertakan tautan unggahan atau tangkapan layar (atau keduanya)", "invalid")
    try:
        account = resolve(session, data.account)
    except ReviewError as exc:
        if exc.kind == "not_found":
            raise ReviewError(f"{exc.message}; Netral hanya menerima pengaduan tentang akun di daftar ASN yang "
                              "dipantau", "invalid") from None
        raise
    if not account.active:
        raise ReviewError(f"akun {account.identifier} ({account.name}) telah dinonaktifkan dari daftar ASN; pengaduan "
                          "tentangnya tidak dapat dicatat di Netral", "invalid")
    now = utcnow()
    received_at = _time(data.received_at, "waktu pengaduan diterima", now)
    posted_at = _time(data.posted_at, "waktu unggahan", received_at)
    shot = None
    if data.screenshot:
        try:
            shot = attachments.check(attachments.Upload("tangkapan layar", data.screenshot),
                                     settings.attachment_max_bytes)
        except ReviewError as exc:
            raise ReviewError(f"tangkapan layar ditolak: {exc.message}", "invalid") from None
        if shot.media_type not in SCREENSHOT_TYPES:
            raise ReviewError("tangkapan layar ditolak: harus gambar PNG atau JPEG menurut isinya (bukan PDF)",
                              "invalid")
        attachments.store(settings.attachments_dir, shot)
    platform = platform_of(link)
    author = _author(account, link, platform)
    post_key = f"complaint-{uuid.uuid4().hex}"
    source_note = f"pengaduan:{data.source}:{user.username}"[:300]
    content_sha256 = _content_sha256({
        "kind": PostKind.COMPLAINT.value, "platform": platform, "post_id": post_key, "author": author, "url": link,
        "created_at": posted_at.isoformat(), "text": text, "source": data.source, "complainant": complainant,
        "received_at": received_at.isoformat(), "screenshot_sha256": shot.sha256 if shot else None})
    post = Post(platform=platform, post_id=post_key, account_id=account.id, author_handle=author, url=link,
                created_at=posted_at, text=text, kind=PostKind.COMPLAINT, content_sha256=content_sha256,
                ingested_at=now, source=source_note)
    session.add(post)
    session.flush()
    spans, election, window_note = _evidence(text, posted_at, settings)
    flag = Flag(post_id=post.id, status=FlagStatus.PENDING, source=FlagSource.COMPLAINT, model_version="",
                threshold=0.0, partisan_score=0.0, categories={}, evidence=spans, election=election,
                window_note=window_note, created_at=now, updated_at=now)
    session.add(flag)
    session.flush()
    complaint = Complaint(flag_id=flag.id, post_id=post.id, account_id=account.id, source=data.source,
                          complainant=complainant, link=link, description=text,
                          screenshot_sha256=shot.sha256 if shot else None,
                          screenshot_type=shot.media_type.value if shot else None,
                          screenshot_bytes=shot.size if shot else None,
                          received_at=received_at, recorded_by=user.id, created_at=now)
    session.add(complaint)
    session.flush()
    audit.append(session, actor=user.username, action="complaint.record", entity="flag", entity_id=flag.id,
                 after={"complaint_id": complaint.id, "flag_id": flag.id, "post_id": post.id,
                        "status": FlagStatus.PENDING, "source": data.source, "account": account.identifier,
                        "link": link, "screenshot_sha256": complaint.screenshot_sha256,
                        "content_sha256": content_sha256})
    return complaint


def related_posts(session: Session, complaint: Complaint) -> list[tuple[Post, Flag | None]]:
    """Posts of the same person already stored at the complaint's link, with their flags if any.

    Looked up when shown rather than stored: such a post may be purged later (retention) while the
    complaint stays, and a stored reference would then block the purge or dangle.
    """
    if not complaint.link:
        return []
    rows = session.execute(select(Post, Flag).outerjoin(Flag, Flag.post_id == Post.id)
                           .where(Post.account_id == complaint.account_id, Post.url == complaint.link,
                                  Post.kind != PostKind.COMPLAINT).order_by(Post.id).limit(10)).all()
    return [(post, flag) for post, flag in rows]


def get(session: Session, complaint_id: int, user: User) -> Complaint:
    require_role(user, RECORD_COMPLAINT, "membaca pengaduan")
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise ReviewError(f"pengaduan #{complaint_id} tidak ditemukan", "not_found")
    return complaint


def screenshot(session: Session, complaint_id: int, user: User, settings: Settings) -> tuple[bytes, str]:
    """The screenshot's bytes and media type, checked against the SHA-256 recorded with the complaint."""
    complaint = get(session, complaint_id, user)
    if not complaint.screenshot_sha256 or not complaint.screenshot_type:
        raise ReviewError("pengaduan ini tidak memiliki tangkapan layar", "not_found")
    data = attachments.load_hash(settings.attachments_dir, complaint.screenshot_sha256,
                                 f"tangkapan layar pengaduan #{complaint.id}")
    return data, complaint.screenshot_type


def list_complaints(session: Session, user: User, *, limit: int = 200) -> list[Complaint]:
    require_role(user, RECORD_COMPLAINT, "membaca pengaduan")
    return list(session.scalars(select(Complaint).order_by(Complaint.id.desc()).limit(limit)))
