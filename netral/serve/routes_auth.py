"""Sign-in and sign-out.

Failed logins are throttled per username and client address; reaching the limit is written to the
audit log (a guessing attack on an inspector's account is itself worth knowing about).
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from netral import audit
from netral.db.schema import User
from netral.review import users as user_service
from netral.serve.deps import SESSION_USER, get_db, optional_user, render, safe_next
from netral.serve.security import CSRF_SESSION_KEY, LoginThrottle, require_csrf
from netral.vocabulary import Role

router = APIRouter(include_in_schema=False)

HOME_BY_ROLE = {Role.REVIEWER: "/queue", Role.SUPERVISOR: "/queue", Role.ANALYST: "/dashboard",
                Role.ADMIN: "/admin/users"}


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/")
def home(user: User | None = Depends(optional_user)) -> Response:
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(HOME_BY_ROLE.get(user.role, "/dashboard"), status_code=303)


@router.get("/login")
def login_page(request: Request, next: str = "/", user: User | None = Depends(optional_user)) -> Response:
    if user is not None:
        target = safe_next(next)
        return RedirectResponse(target if target != "/" else HOME_BY_ROLE.get(user.role, "/"), 303)
    return render(request, "login.html", {"next": safe_next(next)})


@router.post("/login", dependencies=[Depends(require_csrf)])
def login_submit(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/"),
                 db: Session = Depends(get_db)) -> Response:
    throttle: LoginThrottle = request.app.state.login_throttle
    name = username.strip().lower()[:80]
    ip = _client_ip(request)
    ctx = {"next": safe_next(next), "username": name}
    if throttle.locked(name, ip):
        minutes = max(1, round(throttle.retry_after(name, ip) / 60))
        return render(request, "login.html", {**ctx, "error": f"Terlalu banyak percobaan gagal. Akun dikunci "
                                                              f"sementara; coba lagi dalam ±{minutes} menit."},
                      status_code=429)
    user = user_service.authenticate(db, name, password)
    if user is None:
        if throttle.fail(name, ip):
            audit.append(db, actor=name or "(kosong)", action="auth.lockout", entity="login", entity_id=name[:64],
                         after={"ip": ip, "failures": throttle.max_attempts, "window_seconds": throttle.window},
                         reason="batas percobaan login tercapai")
            db.commit()
            return render(request, "login.html", {**ctx, "error": "Terlalu banyak percobaan gagal. Akun dikunci "
                                                                  "sementara untuk alamat ini."}, status_code=429)
        return render(request, "login.html", {**ctx, "error": "Nama pengguna atau kata sandi salah."},
                      status_code=401)
    throttle.reset(name, ip)
    audit.append(db, actor=user.username, action="auth.login", entity="user", entity_id=user.id, after={"ip": ip})
    db.commit()
    # A fresh session (and CSRF token) at login, so a session planted before sign-in is useless.
    request.session.clear()
    request.session[SESSION_USER] = user.id
    request.session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)
    target = safe_next(next)
    return RedirectResponse(target if target != "/" else HOME_BY_ROLE.get(user.role, "/"), status_code=303)


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
