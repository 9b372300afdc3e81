"""The review pages: queue, flag page with decision forms, and the supervisors' second-review queue.

Routes only translate HTTP to service calls; every rule (claims, four-eyes, roles) is enforced by
``netral.review`` so the HTTP, CLI and any script behave the same.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from netral.db.schema import AuditRecord, Flag, Report, User
from netral.db.types import utcnow
from netral.review import accounts, complaints, decisions, drivers, present, queue
from netral.review.errors import ReviewError
from netral.review.roles import FIRST_REVIEW, ISSUE_REPORT, SECOND_REVIEW
from netral.review.zones import zone_book
from netral.serve.deps import DbId, PageNo, flash, get_db, render, require, settings_of
from netral.serve.errors import review_error_response
from netral.serve.security import require_csrf
from netral.vocabulary import FlagStatus

router = APIRouter(include_in_schema=False)
reviewers = require(FIRST_REVIEW | SECOND_REVIEW)
supervisors = require(SECOND_REVIEW)


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/queue")
def queue_page(request: Request, status: str = "open", election: str = "", unit: str = "", category: str = "",
               platform: str = "", source: str = "", date_from: str = "", date_to: str = "", page: PageNo = 1,
               user: User = Depends(reviewers), db: Session = Depends(get_db)) -> Response:
    statuses: tuple[str, ...]
    if status == "open":
        statuses = queue.OPEN_STATUSES
    elif status == "all":
        statuses = ()
    else:
        statuses = (status,) if status in queue.STATUSES else queue.OPEN_STATUSES
    flt = queue.FlagFilter(statuses=statuses, election=election or None, unit=unit or None,
                           category=category or None, platform=platform or None,
                           source=source if source in queue.SOURCES else None, date_from=_date(date_from),
                           date_to=_date(date_to))
    page = max(page, 1)
    total = queue.count_flags(db, flt)
    size = settings_of(request).queue_page_size
    flags = queue.list_flags(db, flt, limit=size, offset=(page - 1) * size)
    now = utcnow()
    claimants = {u.id: u for u in db.scalars(select(User).where(User.id.in_({f.claimed_by for f in flags
                                                                              if f.claimed_by})))}
    rows = [{"flag": f, "post": f.post, "account": f.post.account, "category": queue.top_category(f),
             "claimed": queue.claim_active(f, now), "claimant": claimants.get(f.claimed_by or -1),
             "mine": f.claimed_by == user.id, "snippet": f.post.text[:220]} for f in flags]
    filters = {"status": status, "election": election, "unit": unit, "category": category, "platform": platform,
               "source": source, "date_from": date_from, "date_to": date_to}
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(request, "queue.html", {
        "rows": rows, "total": total, "page": page, "pages": max((total + size - 1) // size, 1),
        "filters": filters, "filter_query": query, "facets": queue.facets(db), "counts": queue.status_counts(db),
        "categories": decisions.CATEGORIES, "statuses": queue.STATUSES, "sources": queue.SOURCES,
    }, user=user)


@router.get("/second-review")
def second_review_page(request: Request, user: User = Depends(supervisors),
                       db: Session = Depends(get_db)) -> Response:
    flags = queue.list_flags(db, queue.FlagFilter(statuses=(FlagStatus.CONFIRMED,)), limit=200)
    verified = queue.list_flags(db, queue.FlagFilter(statuses=(FlagStatus.VERIFIED,)), limit=200)
    rows = []
    for f in flags:
        first = queue.confirmer(f)
        rows.append({"flag": f, "post": f.post, "account": f.post.account, "first": first,
                     "own": first is not None and first.reviewer_id == user.id})
    return render(request, "second_review.html", {"rows": rows, "verified": verified,
                                                  "categories": decisions.CATEGORIES}, user=user)


def _flag_context(db: Session, flag: Flag, user: User, tz: str) -> dict[str, Any]:
    """``tz`` is the zone of the flag's election: every time on the page is on that clock (WITA for a
    Pilkada in Sulawesi), with its abbreviation."""
    now = utcnow()
    post = flag.post
    claimant = queue.claimant(db, flag)
    claimed = queue.claim_active(flag, now)
    is_open = flag.status in queue.OPEN_STATUSES
    trail = list(db.scalars(select(AuditRecord).where(AuditRecord.entity == "flag",
                                                      AuditRecord.entity_id == str(flag.id))
                            .order_by(AuditRecord.id)))
    report = db.scalars(select(Report).where(Report.flag_id == flag.id)).first()
    block = decisions.second_review_block(flag, user)
    model_categories = sorted(((k, float(v)) for k, v in (flag.categories or {}).items()
                               if isinstance(v, int | float)), key=lambda kv: -kv[1])
    account = post.account
    return {
        "flag": flag, "post": post, "account": account, "handles": account.handles,
        "asn": accounts.describe(account),
        "superior": accounts.superiors(db, [account]).get(account.superior_nip or ""),
        "complaint": flag.complaint, "complaint_sources": complaints.SOURCES, "flag_sources": queue.SOURCES,
        "related": complaints.related_posts(db, flag.complaint) if flag.complaint else [],
        "segments": present.segments(post.text, flag.evidence), "evidence": flag.evidence or [],
        "url": present.safe_url(post.url), "claimant": claimant, "claimed": claimed,
        "mine": flag.claimed_by == user.id,
        "can_claim": user.role in FIRST_REVIEW and is_open and (not claimed or flag.claimed_by == user.id),
        "can_decide": user.role in FIRST_REVIEW and is_open and flag.claimed_by == user.id,
        "can_second": block is None,
        "second_block": block.message if block and flag.status == FlagStatus.CONFIRMED else None,
        "show_second": user.role in SECOND_REVIEW and flag.status == FlagStatus.CONFIRMED,
        "can_report": user.role in ISSUE_REPORT and flag.status == FlagStatus.VERIFIED,
        "report": report, "trail": trail, "history": flag.history, "reviews": flag.reviews,
        "model_categories": model_categories, "top_category": queue.top_category(flag),
        "categories": decisions.CATEGORIES, "behaviours": decisions.BEHAVIOURS, "decision_labels": decisions.DECISIONS,
        "min_reason": decisions.MIN_REASON_CHARS, "tz": tz,
    }


@router.get("/flags/{flag_id}")
def flag_page(request: Request, flag_id: DbId, user: User = Depends(reviewers),
              db: Session = Depends(get_db)) -> Response:
    try:
        flag = queue.get_flag(db, flag_id)
    except ReviewError as exc:
        return review_error_response(request, exc, user)
    # Drivers on demand: computed on the first opening of the flag, then kept on it.
    drivers.ensure_drivers(db, flag, drivers.registry_loader(settings_of(request)))
    settings = settings_of(request)
    tz = zone_book(settings.elections_dir, settings.default_timezone).timezone(flag.election)
    return render(request, "flag.html", _flag_context(db, flag, user, tz), user=user)


def _act(request: Request, db: Session, user: User, flag_id: int, action: Any, success: str,
         redirect: str | None = None) -> Response:
    """Run one service call in its own transaction; refusals become a message (or 403/404)."""
    try:
        action()
        db.commit()
    except ReviewError as exc:
        db.rollback()
        if exc.kind in ("forbidden", "not_found"):
            return review_error_response(request, exc, user)
        flash(request, exc.message, "error")
        return RedirectResponse(f"/flags/{flag_id}", status_code=303)
    flash(request, success, "success")
    return RedirectResponse(redirect or f"/flags/{flag_id}", status_code=303)


@router.post("/flags/{flag_id}/claim", dependencies=[Depends(require_csrf)])
def claim(request: Request, flag_id: DbId, user: User = Depends(reviewers), db: Session = Depends(get_db)) -> Response:
    settings = settings_of(request)
    return _act(request, db, user, flag_id, lambda: queue.claim(db, flag_id, user, settings),
                f"Indikasi #{flag_id} Anda klaim selama {settings.claim_lease_minutes} menit.")


@router.post("/flags/{flag_id}/release", dependencies=[Depends(require_csrf)])
def release(request: Request, flag_id: DbId, user: User = Depends(reviewers),
            db: Session = Depends(get_db)) -> Response:
    return _act(request, db, user, flag_id, lambda: queue.release(db, flag_id, user),
                f"Klaim indikasi #{flag_id} dilepas.", redirect="/queue")


@router.post("/flags/{flag_id}/confirm", dependencies=[Depends(require_csrf)])
def confirm(request: Request, flag_id: DbId, category: str = Form(""), behaviour: str = Form(""),
            reason: str = Form(""), user: User = Depends(reviewers), db: Session = Depends(get_db)) -> Response:
    settings = settings_of(request)
    done = ("Indikasi dikonfirmasi dan menunggu verifikasi oleh verifikator lain." if settings.require_second_review
            else "Indikasi dikonfirmasi dan terverifikasi.")
    return _act(request, db, user, flag_id,
                lambda: decisions.confirm(db, flag_id, user, category=category, behaviour=behaviour, reason=reason,
                                          settings=settings), done, redirect="/queue")


@router.post("/flags/{flag_id}/dismiss", dependencies=[Depends(require_csrf)])
def dismiss(request: Request, flag_id: DbId, reason: str = Form(""), user: User = Depends(reviewers),
            db: Session = Depends(get_db)) -> Response:
    return _act(request, db, user, flag_id, lambda: decisions.dismiss(db, flag_id, user, reason=reason),
                "Indikasi tidak ditindaklanjuti (bukan pelanggaran).", redirect="/queue")


@router.post("/flags/{flag_id}/more-info", dependencies=[Depends(require_csrf)])
def more_info(request: Request, flag_id: DbId, reason: str = Form(""), user: User = Depends(reviewers),
              db: Session = Depends(get_db)) -> Response:
    return _act(request, db, user, flag_id, lambda: decisions.request_more_info(db, flag_id, user, reason=reason),
                "Indikasi ditandai perlu keterangan tambahan.", redirect="/queue")


@router.post("/flags/{flag_id}/verify", dependencies=[Depends(require_csrf)])
def verify(request: Request, flag_id: DbId, reason: str = Form(""), user: User = Depends(reviewers),
           db: Session = Depends(get_db)) -> Response:
    return _act(request, db, user, flag_id, lambda: decisions.verify(db, flag_id, user, reason=reason),
                "Indikasi diverifikasi. Laporan dapat diterbitkan.")


@router.post("/flags/{flag_id}/return", dependencies=[Depends(require_csrf)])
def return_flag(request: Request, flag_id: DbId, reason: str = Form(""), user: User = Depends(reviewers),
                db: Session = Depends(get_db)) -> Response:
    return _act(request, db, user, flag_id, lambda: decisions.return_flag(db, flag_id, user, reason=reason),
                "Indikasi dikembalikan ke antrean.", redirect="/second-review")
