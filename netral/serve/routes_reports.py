"""Issuing and reading reports. Issuing goes through ``reports.create_report`` and nothing else."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from netral.db.schema import User
from netral.review import cases, reports
from netral.review.errors import ReviewError
from netral.review.roles import FIRST_REVIEW, READ_REPORTS, SECOND_REVIEW
from netral.serve.deps import DbId, flash, get_db, render, require, settings_of
from netral.serve.errors import review_error_response
from netral.serve.security import REPORT_CSP, require_csrf

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
# Anyone who works cases may ask; the service decides (only supervisors, only verified flags), so the
# refusal is the same whichever door is used.
issuers = require(FIRST_REVIEW | SECOND_REVIEW)
readers = require(READ_REPORTS)


@router.post("/flags/{flag_id}/report", dependencies=[Depends(require_csrf)])
def issue(request: Request, flag_id: DbId, user: User = Depends(issuers), db: Session = Depends(get_db)) -> Response:
    settings = settings_of(request)
    try:
        rendered = reports.create_report(db, flag_id, user, settings=settings)
        db.commit()
    except ReviewError as exc:
        db.rollback()
        if exc.kind in ("forbidden", "not_found"):
            return review_error_response(request, exc, user)
        flash(request, exc.message, "error")
        return RedirectResponse(f"/flags/{flag_id}", status_code=303)
    try:
        reports.archive(settings, reports.with_pdf(rendered))  # after commit: no lock held while rendering
    except OSError:
        # The report row and its hash are committed; the files can be rendered again from the database.
        log.exception("could not archive report %s", rendered.report.number)
    flash(request, f"Laporan {rendered.report.number} diterbitkan.", "success")
    return RedirectResponse(f"/reports/{rendered.report.id}", status_code=303)


@router.get("/reports")
def list_page(request: Request, user: User = Depends(readers), db: Session = Depends(get_db)) -> Response:
    return render(request, "reports.html", {"reports": reports.list_reports(db, user)}, user=user)


@router.get("/reports/{report_id}")
def view(request: Request, report_id: DbId, user: User = Depends(readers), db: Session = Depends(get_db)) -> Response:
    try:
        report = reports.get_report(db, report_id, user)
    except ReviewError as exc:
        return review_error_response(request, exc, user)
    doc = reports.load_html(db, settings_of(request), report)
    creator = db.get(User, report.created_by)
    return render(request, "report_view.html", {"report": report, "intact": doc.intact, "creator": creator,
                                                "flag": report.flag, "account": report.flag.post.account,
                                                "case": cases.case_for_report(db, report.id)},
                  user=user)


@router.get("/reports/{report_id}/html")
def html(request: Request, report_id: DbId, user: User = Depends(readers), db: Session = Depends(get_db)) -> Response:
    try:
        report = reports.get_report(db, report_id, user)
    except ReviewError as exc:
        return review_error_response(request, exc, user)
    doc = reports.load_html(db, settings_of(request), report)
    return HTMLResponse(doc.html, headers={"Content-Security-Policy": REPORT_CSP, "X-Frame-Options": "SAMEORIGIN"})


@router.get("/reports/{report_id}/pdf")
def pdf(request: Request, report_id: DbId, user: User = Depends(readers), db: Session = Depends(get_db)) -> Response:
    try:
        report = reports.get_report(db, report_id, user)
    except ReviewError as exc:
        return review_error_response(request, exc, user)
    data = reports.load_pdf(db, settings_of(request), report)
    name = reports.file_stem(report.number) + ".pdf"
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
