"""Case pages: the list with deadlines, one case's timeline with the step form, and its attachments.

Routes translate HTTP to ``netral.review.cases`` calls (the CLI calls the same ones); roles, the order
of steps and the attachment checks are all decided there.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import Response

from netral.db.schema import Case, User
from netral.review import attachments, cases
from netral.review.errors import ReviewError
from netral.review.roles import CASE_STEP_ROLES, READ_CASES
from netral.serve.deps import DbId, flash, get_db, render, require, settings_of
from netral.serve.errors import STATUS_BY_KIND, review_error_response
from netral.serve.security import require_csrf
from netral.settings import Settings
from netral.vocabulary import AttachmentType, CaseStep

router = APIRouter(include_in_schema=False)
readers = require(READ_CASES)
STEP_FIELDS = ("step", "decided_on", "ref_number", "body", "sanction", "note")
# An attachment opened in the browser is shown as a bare image (or downloaded, for a PDF) with no
# script, no framing and no other resource; nosniff keeps the browser to the type sniffed at upload.
ATTACHMENT_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'none'"


@router.get("/cases")
def list_page(request: Request, status: str = "active", unit: str = "", overdue: str = "",
              user: User = Depends(readers), db: Session = Depends(get_db)) -> Response:
    chosen = status if status in ("active", "closed", "all", *cases.STATUSES) else "active"
    flt = cases.CaseFilter(status=None if chosen == "all" else chosen, unit=unit or None, overdue_only=overdue == "1")
    rows = cases.list_cases(db, user, flt, book=cases.clocks(settings_of(request)))
    filters = {"status": chosen, "unit": unit, "overdue": "1" if flt.overdue_only else ""}
    return render(request, "cases.html", {
        "rows": rows, "filters": filters, "filter_query": urlencode({k: v for k, v in filters.items() if v}),
        "statuses": cases.STATUSES, "units": cases.case_units(db), "counts": cases.status_counts(db),
        "missing": cases.reports_without_case(db),
        "can_open_missing": user.role in CASE_STEP_ROLES[CaseStep.FORWARDED_BAWASLU],
    }, user=user)


def _case_context(request: Request, db: Session, case: Case, user: User,
                  form: dict[str, str] | None = None) -> dict[str, Any]:
    row = cases.row_for(case, cases.clocks(settings_of(request)), cases.today_local())
    report = case.report
    return {
        "case": case, "row": row, "report": report, "flag": report.flag, "post": report.flag.post,
        "account": row.account, "timeline": cases.timeline(db, case), "allowed": cases.allowed_steps(case, user),
        "steps": cases.STEPS, "bodies": cases.BODIES, "sanctions": cases.SANCTIONS, "statuses": cases.STATUSES,
        "closed": cases.is_closed(case), "today": cases.today_local().isoformat(),
        "max_size": attachments.human_size(settings_of(request).attachment_max_bytes),
        "human_size": attachments.human_size,
        "form": form or {}, "image_types": (AttachmentType.PNG, AttachmentType.JPEG),
    }


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: DbId, user: User = Depends(readers),
              db: Session = Depends(get_db)) -> Response:
    try:
        case = cases.get_case(db, case_id, user)
    except ReviewError as exc:
        return review_error_response(request, exc, user)
    return render(request, "case.html", _case_context(request, db, case, user), user=user)


async def _uploads(request: Request, settings: Settings) -> list[attachments.Upload]:
    """Files of the form, each read to at most one byte over the limit (the service then refuses it).

    A file input left empty still sends a part with no name and no bytes; it is not an attachment.
    """
    form = await request.form()
    out = []
    for item in form.getlist("files"):
        if not isinstance(item, UploadFile):
            continue
        data = await item.read(settings.attachment_max_bytes + 1)
        if not item.filename and not data:
            continue
        out.append(attachments.Upload(item.filename or "", data))
    return out


def _date(value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ReviewError(f"tanggal tidak valid: {value[:20]!r} (format TTTT-BB-HH)", "invalid") from None


@router.post("/cases/{case_id}/steps", dependencies=[Depends(require_csrf)])
async def add_step(request: Request, case_id: DbId, user: User = Depends(readers),
                   db: Session = Depends(get_db)) -> Response:
    settings = settings_of(request)
    form = await request.form()
    values = {name: str(form.get(name) or "") for name in STEP_FIELDS}
    uploads = await _uploads(request, settings)

    def record() -> int:
        data = cases.StepInput(step=values["step"], ref_number=values["ref_number"], note=values["note"],
                               decided_on=_date(values["decided_on"]), body=values["body"] or None,
                               sanction=values["sanction"] or None)
        step = cases.add_step(db, case_id, user, data, uploads=uploads, settings=settings)
        db.commit()
        return step.id

    try:
        step_id = await run_in_threadpool(record)
    except ReviewError as exc:
        await run_in_threadpool(db.rollback)
        if exc.kind in ("forbidden", "not_found"):
            return review_error_response(request, exc, user)
        refused = exc

        def page() -> Response:
            case = cases.get_case(db, case_id, user)
            context = _case_context(request, db, case, user, form=values)
            context["error"] = refused.message + (" Pilih ulang berkas lampiran." if uploads else "")
            return render(request, "case.html", context, user=user,
                          status_code=STATUS_BY_KIND.get(refused.kind, 400))

        return await run_in_threadpool(page)
    flash(request, f"Langkah '{cases.STEPS.get(values['step'], values['step'])}' dicatat.", "success")
    return RedirectResponse(f"/cases/{case_id}#langkah-{step_id}", status_code=303)


@router.post("/cases/open-missing", dependencies=[Depends(require_csrf)])
def open_missing(request: Request, user: User = Depends(readers), db: Session = Depends(get_db)) -> Response:
    try:
        opened = cases.open_missing(db, user)
        db.commit()
    except ReviewError as exc:
        db.rollback()
        return review_error_response(request, exc, user)
    flash(request, f"{len(opened)} kasus dibuka untuk laporan lama.", "success")
    return RedirectResponse("/cases", status_code=303)


@router.get("/cases/{case_id}/attachments/{attachment_id}")
def attachment(request: Request, case_id: DbId, attachment_id: DbId, user: User = Depends(readers),
               db: Session = Depends(get_db)) -> Response:
    try:
        item = cases.get_attachment(db, case_id, attachment_id, user)
        data = attachments.load(settings_of(request).attachments_dir, item)
    except ReviewError as exc:
        return review_error_response(request, exc, user)
    disposition = "attachment" if item.media_type == AttachmentType.PDF else "inline"
    return Response(data, media_type=item.media_type, headers={
        "Content-Disposition": f'{disposition}; filename="{attachments.download_name(item)}"',
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": ATTACHMENT_CSP,
        "Cache-Control": "private, no-store"})
