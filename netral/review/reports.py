"""Reports: the only document that leaves Netral, made only from a verified flag.

Under PP 94/2021 a superior who receives a suspected violation must examine it, so a report is made
only after two people agreed (see ``decisions``). The service checks the status, the role, and moves
the flag to ``reported`` with a conditional UPDATE; the database trigger refuses a report row for any
other flag as a last line of defence. Issuing a report opens its case (``cases.open_case``) in the
same transaction. The HTML is rendered deterministically from stored data and its
SHA-256 is kept, so a later copy can be checked against what was issued.

What the document is rendered with besides the case (letterhead, signatories, the election's time zone and
type, the template) is stored with the report (``reports.issued_with``): editing the letterhead file or an
election config later must not change an issued document, or its hash would no longer match.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from netral import audit
from netral.atomic import atomic_write_bytes, atomic_write_text
from netral.db.schema import DbPolicy, Flag, Report, Review, User
from netral.db.types import utcnow
from netral.localtime import WIB
from netral.review import cases, present
from netral.review.accounts import describe
from netral.review.decisions import BEHAVIOURS, CATEGORIES, DECISIONS
from netral.review.errors import ReviewError
from netral.review.legal_basis import BEHAVIOUR_TRACKS, bawaslu_laws
from netral.review.letterhead import LetterheadError, load_letterhead
from netral.review.queue import STATUSES, get_flag
from netral.review.roles import ISSUE_REPORT, READ_REPORTS, require_role
from netral.review.zones import zone_book
from netral.settings import DEFAULT_ELECTIONS_DIR, DEFAULT_LETTERHEAD, Settings
from netral.vocabulary import (
    Category,
    ComplaintSource,
    FlagSource,
    FlagStatus,
    PostKind,
    ReviewDecision,
    ReviewStage,
)

TEMPLATES_DIR = Path(__file__).parent / "templates"
NUMBER_PREFIX = "NTR"
TEMPLATE = "report.html"
# Reports issued before migration 0012 have no ``issued_with``; they were rendered with one of these (frozen)
# templates, newest first: v2 after the glossary change, v1 before it. The stored hash tells which.
LEGACY_TEMPLATES = ("report_v2.html", "report_v1.html")
# Earlier contents of the live template, frozen when it changed: a report whose ``issued_with`` names
# ``report.html`` was rendered with it or with one of these (the stored hash tells which). v3: before the
# roster fields and complaints (migration 0014).
EARLIER_LIVE_TEMPLATES = ("report_v3.html",)

_env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True)
_env.filters.update(dt=present.fmt_dt, date=present.fmt_date, css_token=present.css_token,
                    evidence_label=present.evidence_label, category_label=Category.label_of,
                    kind_label=PostKind.label_of, span_matches=present.span_matches)


@dataclass(frozen=True)
class RenderedReport:
    report: Report
    html: str
    pdf: bytes


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def next_number(session: Session, when: datetime) -> str:
    """``NTR/2026/000123``: per-year sequence, max + 1.

    Only safe because ``create_report`` holds the audit chain lock (``audit.lock_chain``) before calling
    it: concurrent issuers queue there, and each sees the numbers committed before it. The unique
    constraint stays as the last defence, and ``create_report`` retries on it.
    """
    year = when.astimezone(WIB).year
    prefix = f"{NUMBER_PREFIX}/{year}/"
    numbers = session.scalars(select(Report.number).where(Report.number.like(f"{prefix}%"))).all()
    seq = max((int(n.rsplit("/", 1)[1]) for n in numbers if n.rsplit("/", 1)[1].isdigit()), default=0) + 1
    return f"{prefix}{seq:06d}"


def file_stem(number: str) -> str:
    return number.replace("/", "-")


def _review_row(review: Review) -> dict[str, Any]:
    return {
        "stage": review.stage,
        "stage_label": ReviewStage.label_of(review.stage),
        "decision": review.decision,
        "decision_label": DECISIONS.get(review.decision, review.decision),
        "reviewer_name": review.reviewer.full_name or review.reviewer.username,
        "reviewer_username": review.reviewer.username,
        "category": review.category,
        "category_label": CATEGORIES.get(review.category or "", ""),
        "behaviour": review.behaviour,
        "behaviour_label": BEHAVIOURS.get(review.behaviour or "", review.behaviour or ""),
        "reason": review.reason,
        "at": review.created_at,
    }


def issue_setup(settings: Settings | None, flag: Flag) -> dict[str, Any]:
    """What a new report is rendered with besides the case data; stored as ``reports.issued_with``.

    Raises ``ReviewError`` naming the file and field when the letterhead file is unusable, before anything
    about the flag changes.
    """
    letterhead_path = settings.report_letterhead if settings is not None else DEFAULT_LETTERHEAD
    elections_dir = settings.elections_dir if settings is not None else DEFAULT_ELECTIONS_DIR
    default_zone = settings.default_timezone if settings is not None else "Asia/Jakarta"
    try:
        letterhead = load_letterhead(letterhead_path)
    except LetterheadError as exc:
        raise ReviewError(f"konfigurasi kop surat tidak dapat dipakai ({letterhead_path}): {exc}", "invalid") from exc
    book = zone_book(elections_dir, default_zone)
    return {"template": TEMPLATE, "letterhead": letterhead, "timezone": book.timezone(flag.election),
            "election_type": book.election_type(flag.election)}


def build_context(flag: Flag, *, number: str, created_at: datetime, created_by: User,
                  issued_with: dict[str, Any] | None = None) -> dict[str, Any]:
    """Plain values only, so the same stored data always renders the same document."""
    post = flag.post
    account = post.account
    reviews = [_review_row(r) for r in flag.reviews]
    first = next((r for r in reversed(reviews)
                  if r["stage"] == ReviewStage.FIRST and r["decision"] == ReviewDecision.CONFIRM), None)
    second = next((r for r in reversed(reviews) if r["decision"] == ReviewDecision.VERIFY), None)
    categories = sorted(((k, float(v)) for k, v in (flag.categories or {}).items() if isinstance(v, int | float)),
                        key=lambda kv: -kv[1])
    setup = issued_with or {}
    election_type = setup.get("election_type")
    show_pemilu, show_pilkada = bawaslu_laws(election_type)
    track = BEHAVIOUR_TRACKS.get(first["behaviour"] or "") if first else None
    complaint = flag.complaint
    return {
        "number": number,
        "created_at": created_at,
        "created_by": created_by.full_name or created_by.username,
        "asn": {"nip": account.nip, "name": account.name, "unit": account.unit, "position": account.position,
                "handles": [f"{h.platform}: @{h.handle}" for h in account.handles], **describe(account)},
        "source": flag.source,
        "source_label": FlagSource.label_of(flag.source),
        "complaint": None if complaint is None else {
            "source_label": ComplaintSource.label_of(complaint.source), "complainant": complaint.complainant,
            "link": complaint.link, "received_at": complaint.received_at,
            "recorded_by": complaint.recorder.full_name or complaint.recorder.username,
            "screenshot_sha256": complaint.screenshot_sha256, "screenshot_type": complaint.screenshot_type},
        "post": {"platform": post.platform, "kind": post.kind, "url": post.url, "author": post.author_handle,
                 "post_id": post.post_id, "created_at": post.created_at, "ingested_at": post.ingested_at,
                 "source": post.source, "sha256": post.content_sha256,
                 "segments": present.segments(post.text, flag.evidence)},
        "evidence": [dict(e) for e in (flag.evidence or []) if isinstance(e, dict)],
        "model": {"version": flag.model_version, "score": flag.partisan_score, "threshold": flag.threshold,
                  "election": flag.election, "window_note": flag.window_note, "categories": categories,
                  "flagged_at": flag.created_at},
        "reviews": reviews,
        "first": first,
        "second": second,
        "second_required": second is not None,
        "tz": setup.get("timezone"),
        "letterhead": setup.get("letterhead"),
        "election_type": election_type,
        "show_pemilu": show_pemilu,
        "show_pilkada": show_pilkada,
        "track": track,
    }


def render_html(context: dict[str, Any], template: str = TEMPLATE) -> str:
    return _env.get_template(template).render(**context)


def _template_of(issued_with: dict[str, Any] | None) -> str:
    name = str((issued_with or {}).get("template") or TEMPLATE)
    return name if (TEMPLATES_DIR / name).is_file() and "/" not in name else TEMPLATE


def refuse_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """WeasyPrint's ``url_fetcher``: no fetch at all, of any scheme.

    The report is self-contained (inline style sheet, the letterhead logo as a ``data:`` URI); any other URL
    in it comes from post content, and fetching it would let a post make the server read local files or call
    internal addresses (SSRF). WeasyPrint logs the refusal and leaves the resource out.
    """
    raise ValueError(f"Netral does not fetch resources while rendering a report: {url[:80]}")


def render_pdf(html: str, *, images: tuple[str, ...] = ()) -> bytes:
    """The PDF of ``html``. ``images`` are the ``data:`` URIs the renderer may decode (the letterhead logo);
    every other URL is refused. WeasyPrint is imported lazily: it loads Pango, which web pages do not need."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    allowed = frozenset(images)

    class RefusingFetcher(URLFetcher):  # type: ignore[misc]
        """WeasyPrint 70 wants a ``URLFetcher`` (it reads its error policy); every fetch is refused except
        the exact ``data:`` URIs Netral put in the document itself."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url in allowed:
                meta, _, payload = url.partition(",")
                mime = meta.removeprefix("data:").removesuffix(";base64")
                return URLFetcherResponse(url, base64.b64decode(payload), {"Content-Type": mime}, 200)
            return refuse_fetch(url)

    fetcher = RefusingFetcher(allowed_protocols=(), allow_redirects=False)
    return HTML(string=html, base_url=str(TEMPLATES_DIR), url_fetcher=fetcher).write_pdf()


def _images(issued_with: dict[str, Any] | None) -> tuple[str, ...]:
    logo = ((issued_with or {}).get("letterhead") or {}).get("institution", {}).get("logo")
    return (logo,) if isinstance(logo, str) and logo.startswith("data:image/") else ()


def render_existing(session: Session, report: Report) -> str:
    """Re-render an issued report from the stored data (compare with ``content_sha256``)."""
    flag = get_flag(session, report.flag_id)
    creator = session.get(User, report.created_by)
    assert creator is not None
    context = build_context(flag, number=report.number, created_at=report.created_at, created_by=creator,
                            issued_with=report.issued_with)
    if report.issued_with:
        name = _template_of(report.issued_with)
        html = render_html(context, name)
        if name != TEMPLATE or sha256_text(html) == report.content_sha256:
            return html
        earlier = (render_html(context, old) for old in EARLIER_LIVE_TEMPLATES)
        return next((other for other in earlier if sha256_text(other) == report.content_sha256), html)
    # Issued before migration 0012: the legacy template whose rendering matches the stored hash, else the newest.
    renders = [render_html(context, name) for name in LEGACY_TEMPLATES]
    return next((html for html in renders if sha256_text(html) == report.content_sha256), renders[0])


def four_eyes_required(session: Session) -> bool:
    """The database's own rule (``db_policy``), which its report trigger enforces whatever the settings say."""
    policy = session.get(DbPolicy, "four_eyes")
    return True if policy is None else bool(policy.enabled)


def _two_people_block(session: Session, flag: Flag) -> ReviewError | None:
    """Refuse here, with a message, what the database trigger would refuse with an error."""
    session.refresh(flag, ["reviews"])
    confirms = [r for r in flag.reviews if r.stage == "first" and r.decision == "confirm"]
    verifies = [r for r in flag.reviews if r.stage == "second" and r.decision == "verify"]
    if not confirms:
        return ReviewError("indikasi ini tidak memiliki konfirmasi tinjauan pertama", "conflict")
    if four_eyes_required(session) and (not verifies or verifies[-1].reviewer_id == confirms[-1].reviewer_id):
        return ReviewError("basis data mewajibkan prinsip empat mata: laporan memerlukan konfirmasi dan "
                           "verifikasi oleh dua orang berbeda", "conflict")
    return None


def create_report(session: Session, flag_id: int, user: User, *, settings: Settings | None = None) -> RenderedReport:
    """Issue the report for a verified flag; the caller commits, then renders the PDF (``with_pdf``) and
    archives the files.

    ``settings`` name the letterhead file and the election configs (the caller's, like every library call);
    without them the files shipped in ``data/`` are used. The PDF is not rendered here: this transaction
    holds the audit chain lock until it commits, and a long report takes about a second to render, during
    which every claim and login would wait.
    """
    require_role(user, ISSUE_REPORT, "menerbitkan laporan")
    flag = get_flag(session, flag_id)
    session.refresh(flag)
    if flag.status != FlagStatus.VERIFIED:
        raise ReviewError(f"laporan hanya dapat dibuat dari indikasi terverifikasi; indikasi #{flag_id} berstatus "
                          f"{STATUSES.get(flag.status, flag.status)}", "conflict")
    block = _two_people_block(session, flag)
    if block is not None:
        raise block
    setup = issue_setup(settings, flag)  # a broken letterhead file refuses here, before the flag moves
    # Serialise issuers before the number is chosen (see ``next_number``); the lock is needed for the
    # audit record anyway and lasts until the caller commits.
    audit.lock_chain(session)
    now = utcnow()
    moved = session.execute(update(Flag).where(Flag.id == flag_id, Flag.status == FlagStatus.VERIFIED)
                            .values(status=FlagStatus.REPORTED, updated_at=now)
                            .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise ReviewError("indikasi telah diubah atau dilaporkan oleh orang lain", "conflict")
    session.refresh(flag)
    for _attempt in range(5):
        number = next_number(session, now)
        html = render_html(build_context(flag, number=number, created_at=now, created_by=user, issued_with=setup),
                           _template_of(setup))
        report = Report(flag_id=flag_id, number=number, created_by=user.id, created_at=now,
                        content_sha256=sha256_text(html), issued_with=setup)
        try:
            with session.begin_nested():
                session.add(report)
                session.flush()
            break
        except IntegrityError:
            continue  # the number was taken after all (a row written outside this service): next one
    else:
        raise ReviewError("nomor laporan tidak dapat dialokasikan; coba lagi", "conflict")
    audit.append(session, actor=user.username, action="report.create", entity="report", entity_id=report.id,
                 before={"flag_id": flag_id, "status": FlagStatus.VERIFIED},
                 after={"flag_id": flag_id, "status": FlagStatus.REPORTED, "number": number,
                        "content_sha256": report.content_sha256})
    cases.open_case(session, report, user)  # a report starts its case, in the same transaction
    return RenderedReport(report, html, b"")


def with_pdf(rendered: RenderedReport) -> RenderedReport:
    """The issued report with its PDF, rendered after the issuing transaction committed."""
    return RenderedReport(rendered.report, rendered.html,
                          render_pdf(rendered.html, images=_images(rendered.report.issued_with)))


def archive_dir(settings: Settings) -> Path:
    return settings.data_dir / "reports"


def archive(settings: Settings, rendered: RenderedReport) -> tuple[Path, Path]:
    """Keep the issued files next to the database so the exact document can be produced again."""
    out = archive_dir(settings)
    out.mkdir(parents=True, exist_ok=True)
    return write_files(out, rendered.report.number, rendered.html, rendered.pdf)


def write_files(out_dir: Path, number: str, html: str, pdf: bytes) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / f"{file_stem(number)}.html"
    pdf_path = out_dir / f"{file_stem(number)}.pdf"
    atomic_write_text(html_path, html)
    atomic_write_bytes(pdf_path, pdf)
    return html_path, pdf_path


@dataclass(frozen=True)
class IssuedDocument:
    html: str
    intact: bool  # the HTML's SHA-256 equals the one stored when the report was issued


def load_html(session: Session, settings: Settings, report: Report) -> IssuedDocument:
    """The issued HTML: the archived file if present, else a re-render, checked against the stored hash."""
    path = archive_dir(settings) / f"{file_stem(report.number)}.html"
    html = path.read_text(encoding="utf-8") if path.is_file() else render_existing(session, report)
    return IssuedDocument(html, sha256_text(html) == report.content_sha256)


def load_pdf(session: Session, settings: Settings, report: Report) -> bytes:
    path = archive_dir(settings) / f"{file_stem(report.number)}.pdf"
    if path.is_file():
        return path.read_bytes()
    return render_pdf(load_html(session, settings, report).html, images=_images(report.issued_with))


def get_report(session: Session, report_id: int, user: User) -> Report:
    require_role(user, READ_REPORTS, "membaca laporan")
    report = session.get(Report, report_id)
    if report is None:
        raise ReviewError(f"laporan #{report_id} tidak ditemukan", "not_found")
    return report


def list_reports(session: Session, user: User) -> list[Report]:
    require_role(user, READ_REPORTS, "membaca laporan")
    return list(session.scalars(select(Report).order_by(Report.id.desc())))
