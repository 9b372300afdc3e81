"""Complaint intake (pengaduan): the form, the list of recorded complaints, and their screenshots.

The rules (roster-only scope, the screenshot check, the audit record) live in ``review.complaints``;
these routes translate the form and hand over the same ``ComplaintInput`` the CLI and the API build.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from netral.db.schema import User
from netral.review import complaints
from netral.review.errors import ReviewError
from netral.review.roles import FIRST_REVIEW, RECORD_COMPLAINT, SECOND_REVIEW
from netral.serve.deps import DbId, flash, get_db, render, require, settings_of
from netral.serve.errors import review_error_response
from netral.serve.security import require_csrf

router = APIRouter(include_in_schema=False)
staff = require(RECORD_COMPLAINT)
# An image from an upload is never shown inside Netral's own origin with scripting rights.
SCREENSHOT_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"


def _page(request: Request, db: Session, user: User, form: dict[str, str] | None = None,
          status_code: int = 200) -> Response:
    return render(request, "complaints.html", {
        "complaints": complaints.list_complaints(db, user), "sources": complaints.SOURCES,
        "form": form or {}, "min_text": complaints.MIN_TEXT_CHARS,
        "max_mib": settings_of(request).attachment_max_bytes / (1024 * 1024),
        "can_open_flags": user.role in FIRST_REVIEW | SECOND_REVIEW,
    }, user=user, status_code=status_code)


@router.get("/complaints")
def complaints_page(request: Request, user: User = Depends(staff), db: Session = Depends(get_db)) -> Response:
    return _page(request, db, user)


@router.post("/complaints", dependencies=[Depends(require_csrf)])
async def record(request: Request, account: str = Form(""), source: str = Form(""), text: str = Form(""),
                 link: str = Form(""), complainant: str = Form(""), posted_at: str = Form(""),
                 received_at: str = Form(""), screenshot: UploadFile | None = File(None),
                 user: User = Depends(staff), db: Session = Depends(get_db)) -> Response:
    settings = settings_of(request)
    form = {"account": account, "source": source, "text": text, "link": link, "complainant": complainant,
            "posted_at": posted_at, "received_at": received_at}
    try:
        data = None
        if screenshot is not None and screenshot.filename:
            data = await screenshot.read(settings.attachment_max_bytes + 1)  # one byte over: "too large"
        complaint = complaints.record(db, complaints.ComplaintInput(
            account=account, source=source, text=text, link=link, complainant=complainant, screenshot=data,
            posted_at=complaints.parse_when(posted_at, "waktu unggahan", settings),
            received_at=complaints.parse_when(received_at, "waktu pengaduan diterima", settings)), user, settings)
        db.commit()
    except ReviewError as exc:
        db.rollback()
        if exc.kind == "forbidden":
            return review_error_response(request, exc, user)
        flash(request, exc.message, "error")
        return _page(request, db, user, form, status_code=400)
    flash(request, f"Pengaduan #{complaint.id} dicatat dan masuk antrean tinjauan sebagai indikasi "
                   f"#{complaint.flag_id}.", "success")
    if user.role in FIRST_REVIEW | SECOND_REVIEW:
        return RedirectResponse(f"/flags/{complaint.flag_id}", status_code=303)
    return RedirectResponse("/complaints", status_code=303)


@router.get("/complaints/{complaint_id}/screenshot")
def screenshot_file(request: Request, complaint_id: DbId, user: User = Depends(staff),
                    db: Session = Depends(get_db)) -> Response:
    try:
        data, media_type = complaints.screenshot(db, complaint_id, user, settings_of(request))
    except ReviewError as exc:
        return review_error_response(request, exc, user)
    extension = "png" if media_type == "image/png" else "jpg"
    return Response(data, media_type=media_type, headers={
        "Content-Disposition": f'inline; filename="pengaduan-{complaint_id}.{extension}"',
        "Content-Security-Policy": SCREENSHOT_CSP, "Cache-Control": "private, no-store"})
