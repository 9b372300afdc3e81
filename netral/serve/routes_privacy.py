"""Personal-data pages for admins: the retention rules in force and a person's data export (UU PDP).

The export calls the same service as ``netral privacy export`` (``netral.review.privacy``); the audit
record is committed only once the document is built, and the document is sent as a download, never
rendered into a page.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from netral.db.schema import User
from netral.review import privacy
from netral.review.errors import ReviewError
from netral.review.roles import PRIVACY
from netral.serve.deps import flash, get_db, render, require, settings_of
from netral.serve.security import require_csrf
from netral.vocabulary import RETENTION_OF_STATUS, RetentionClass

router = APIRouter(include_in_schema=False)
admins = require(PRIVACY)


@router.get("/admin/privacy")
def privacy_page(request: Request, user: User = Depends(admins)) -> Response:
    settings = settings_of(request)
    kept = [status.label for status, cls in RETENTION_OF_STATUS.items() if cls is RetentionClass.KEPT]
    return render(request, "privacy.html", {
        "days_after_election": settings.retention_days_after_election,
        "days_outside_election": settings.retention_days_outside_election,
        "days_dismissed": settings.retention_days_dismissed, "kept_statuses": kept,
        "min_reason": privacy.MIN_REASON_CHARS}, user=user)


@router.post("/admin/privacy/export", dependencies=[Depends(require_csrf)])
def export(request: Request, nip: str = Form(""), reason: str = Form(""), user: User = Depends(admins),
           db: Session = Depends(get_db)) -> Response:
    try:
        made = privacy.export_person(db, nip, actor=user, reason=reason)
    except ReviewError as exc:
        db.rollback()
        flash(request, exc.message, "error")
        return RedirectResponse("/admin/privacy", status_code=303)
    db.commit()
    return Response(made.content, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="{made.filename}"', "Cache-Control": "no-store",
        "X-Content-SHA256": made.sha256})
