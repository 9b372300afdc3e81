"""Administration pages: users and API tokens, and the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from netral import audit
from netral.db.schema import AuditRecord, User
from netral.review import users as user_service
from netral.review.errors import ReviewError
from netral.review.passwords import MIN_PASSWORD_CHARS
from netral.review.roles import MANAGE_USERS, READ_AUDIT, ROLES
from netral.serve.deps import DbId, PageNo, flash, get_db, render, require, settings_of
from netral.serve.security import require_csrf

router = APIRouter(include_in_schema=False)
admins = require(MANAGE_USERS)
auditors = require(READ_AUDIT)


def _users_page(request: Request, db: Session, user: User, **extra: Any) -> Response:
    return render(request, "users.html", {"users": user_service.list_users(db), "tokens": user_service.list_tokens(db),
                                          "roles": ROLES, "min_password": MIN_PASSWORD_CHARS, **extra},
                  user=user)


@router.get("/admin/users")
def users_page(request: Request, user: User = Depends(admins), db: Session = Depends(get_db)) -> Response:
    return _users_page(request, db, user)


def _done(request: Request, db: Session, message: str) -> Response:
    db.commit()
    flash(request, message, "success")
    return RedirectResponse("/admin/users", status_code=303)


def _refused(request: Request, db: Session, exc: ReviewError) -> Response:
    db.rollback()
    flash(request, exc.message, "error")
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users", dependencies=[Depends(require_csrf)])
def create_user(request: Request, username: str = Form(""), full_name: str = Form(""), role: str = Form(""),
                user: User = Depends(admins), db: Session = Depends(get_db)) -> Response:
    """The new user gets a one-time setup link and chooses their own password; the admin never knows it."""
    try:
        created, plain = user_service.invite(db, username=username, role=role, full_name=full_name, actor=user)
    except ReviewError as exc:
        return _refused(request, db, exc)
    db.commit()
    return _setup_shown(request, db, user, created, plain)


def _setup_shown(request: Request, db: Session, admin: User, target: User, plain: str) -> Response:
    # Rendered directly, never put in the (client-side) session cookie: the link is shown once.
    link = f"{str(request.base_url).rstrip('/')}/setup/{plain}"
    return _users_page(request, db, admin, new_setup={"username": target.username, "link": link,
                                                      "hours": user_service.SETUP_HOURS})


def _target(db: Session, user_id: int) -> User:
    target = db.get(User, user_id)
    if target is None:
        raise ReviewError("pengguna tidak ditemukan", "not_found")
    return target


@router.post("/admin/users/{user_id}/role", dependencies=[Depends(require_csrf)])
def change_role(request: Request, user_id: DbId, role: str = Form(""), reason: str = Form(""),
                user: User = Depends(admins), db: Session = Depends(get_db)) -> Response:
    try:
        target = _target(db, user_id)
        user_service.set_role(db, target, role, actor=user, reason=reason)
    except ReviewError as exc:
        return _refused(request, db, exc)
    return _done(request, db, f"Peran {target.username} menjadi {ROLES[role]}.")


@router.post("/admin/users/{user_id}/active", dependencies=[Depends(require_csrf)])
def toggle_active(request: Request, user_id: DbId, active: str = Form(""), user: User = Depends(admins),
                  db: Session = Depends(get_db)) -> Response:
    try:
        target = _target(db, user_id)
        user_service.set_active(db, target, active == "1", actor=user)
    except ReviewError as exc:
        return _refused(request, db, exc)
    return _done(request, db, f"{target.username} {'diaktifkan' if active == '1' else 'dinonaktifkan'}.")


@router.post("/admin/users/{user_id}/reset", dependencies=[Depends(require_csrf)])
def reset_password(request: Request, user_id: DbId, reason: str = Form(""), user: User = Depends(admins),
                   db: Session = Depends(get_db)) -> Response:
    """Forgotten password: the old one stops working and a new setup link is shown once."""
    try:
        target = _target(db, user_id)
        plain = user_service.reset_password(db, target, actor=user, reason=reason)
    except ReviewError as exc:
        return _refused(request, db, exc)
    db.commit()
    return _setup_shown(request, db, user, target, plain)


@router.post("/admin/users/{user_id}/tokens", dependencies=[Depends(require_csrf)])
def new_token(request: Request, user_id: DbId, name: str = Form(""), user: User = Depends(admins),
              db: Session = Depends(get_db)) -> Response:
    try:
        target = _target(db, user_id)
        token, plain = user_service.create_api_token(db, target, name, actor=user)
    except ReviewError as exc:
        return _refused(request, db, exc)
    db.commit()
    # Rendered directly, never put in the (client-side) session cookie: the value is shown once.
    return _users_page(request, db, user, new_token={"value": plain, "name": token.name, "owner": target.username})


@router.post("/admin/tokens/{token_id}/revoke", dependencies=[Depends(require_csrf)])
def revoke_token(request: Request, token_id: DbId, user: User = Depends(admins),
                 db: Session = Depends(get_db)) -> Response:
    try:
        user_service.revoke_api_token(db, token_id, actor=user)
    except ReviewError as exc:
        return _refused(request, db, exc)
    return _done(request, db, "Token dicabut.")


@router.get("/audit")
def audit_page(request: Request, page: PageNo = 1, actor: str = "", action: str = "", check: int = 0,
               user: User = Depends(auditors), db: Session = Depends(get_db)) -> Response:
    stmt = select(AuditRecord)
    if actor:
        stmt = stmt.where(AuditRecord.actor == actor)
    if action:
        stmt = stmt.where(AuditRecord.action.like(f"{action}%"))
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = max(page, 1)
    size = settings_of(request).audit_page_size
    records = list(db.scalars(stmt.order_by(AuditRecord.id.desc()).limit(size)
                              .offset((page - 1) * size)))
    problems = audit.verify_chain(db) if check else None
    return render(request, "audit.html", {
        "records": records, "total": total, "page": page, "pages": max((total + size - 1) // size, 1),
        "actor": actor, "action": action, "problems": problems, "head": audit.head_hash(db), "checked": bool(check),
    }, user=user)
