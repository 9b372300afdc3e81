"""The roster page: who is monitored, with employment type, rank, superior and PPK; admins (de)activate."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from netral.db.schema import User
from netral.review import accounts
from netral.review.errors import ReviewError
from netral.review.roles import MANAGE_ROSTER, READ_ROSTER
from netral.serve.deps import DbId, flash, get_db, render, require
from netral.serve.errors import review_error_response
from netral.serve.security import require_csrf

router = APIRouter(include_in_schema=False)
readers = require(READ_ROSTER)
managers = require(MANAGE_ROSTER)


@router.get("/roster")
def roster_page(request: Request, unit: str = "", user: User = Depends(readers),
                db: Session = Depends(get_db)) -> Response:
    rows = accounts.roster(db, user, unit=unit or None)
    return render(request, "roster.html", {
        "accounts": rows, "described": {a.id: accounts.describe(a) for a in rows},
        "superiors": accounts.superiors(db, rows), "unit": unit, "can_manage": user.role in MANAGE_ROSTER,
        "min_reason": accounts.MIN_REASON_CHARS,
    }, user=user)


def _change(request: Request, db: Session, user: User, account_id: int, active: bool, reason: str) -> Response:
    try:
        account = accounts.get(db, account_id)
        changed = (accounts.reactivate if active else accounts.deactivate)(db, account, reason=reason, actor=user)
        db.commit()
    except ReviewError as exc:
        db.rollback()
        if exc.kind in ("forbidden", "not_found"):
            return review_error_response(request, exc, user)
        flash(request, exc.message, "error")
        return RedirectResponse("/roster", status_code=303)
    state = "diaktifkan kembali" if active else "dinonaktifkan"
    flash(request, f"{account.name} ({account.identifier}) {state}." if changed
          else f"{account.name} sudah {state} sebelumnya.", "success" if changed else "info")
    return RedirectResponse("/roster", status_code=303)


@router.post("/roster/{account_id}/deactivate", dependencies=[Depends(require_csrf)])
def deactivate(request: Request, account_id: DbId, reason: str = Form(""), user: User = Depends(managers),
               db: Session = Depends(get_db)) -> Response:
    return _change(request, db, user, account_id, False, reason)


@router.post("/roster/{account_id}/reactivate", dependencies=[Depends(require_csrf)])
def reactivate(request: Request, account_id: DbId, reason: str = Form(""), user: User = Depends(managers),
               db: Session = Depends(get_db)) -> Response:
    return _change(request, db, user, account_id, True, reason)
