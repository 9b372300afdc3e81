"""Sign-in, sign-out, one's own password, and the one-time setup link of a new account.

Failed logins are throttled per account and per client address in the database, with growing delays
(``netral.review.throttle``); the first delay is written to the audit log (a guessing attack on an
inspector's account is itself worth knowing about). Sessions are
rows in the database (``netral.review.sessions``): logout revokes the row, so a copied cookie dies too.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from netral import audit
from netral.db.schema import User
from netral.review import sessions, throttle
from netral.review import users as user_service
from netral.review.errors import ReviewError
from netral.review.passwords import MIN_PASSWORD_CHARS
from netral.serve.deps import SESSION_TOKEN, current_user, flash, get_db, optional_user, render, safe_next
from netral.serve.security import CSRF_SESSION_KEY, require_csrf
from netral.settings import Settings
from netral.vocabulary import Role

router = APIRouter(include_in_schema=False)

HOME_BY_ROLE = {Role.REVIEWER: "/queue", Role.SUPERVISOR: "/queue", Role.ANALYST: "/dashboard",
                Role.ADMIN: "/admin/users"}


def _client_ip(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return throttle.client_ip(request.client.host if request.client else None,
                              request.headers.get("x-forwarded-for"), settings.trusted_proxies)


def _policy(settings: Settings) -> throttle.Policy:
    return throttle.Policy(account_free=settings.login_max_attempts, ip_free=settings.login_ip_max_attempts,
                           base_delay_seconds=settings.login_base_delay_seconds,
                           max_delay_seconds=settings.login_max_delay_seconds,
                           window_seconds=settings.login_window_seconds)


def _wait_text(seconds: int) -> str:
    return f"{seconds} detik" if seconds < 120 else f"±{round(seconds / 60)} menit"


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
    settings: Settings = request.app.state.settings
    name = username.strip().lower()[:80]
    ip = _client_ip(request)
    ctx = {"next": safe_next(next), "username": name}
    wait = throttle.wait_seconds(db, name, ip)
    if wait > 0:
        # No password check while delayed: the delay must not become a free guessing channel.
        return render(request, "login.html", {**ctx, "error": f"Terlalu banyak percobaan gagal. Coba lagi dalam "
                                                              f"{_wait_text(wait)}."},
                      status_code=429)
    user = user_service.authenticate(db, name, password[:300])
    if user is None:
        outcome = throttle.record_failure(db, name, ip, _policy(settings))
        if outcome.delay_started:
            audit.append(db, actor=name or "(kosong)", action="auth.throttle", entity="login", entity_id=name[:64],
                         after={"ip": ip, "account_failures": outcome.account_failures,
                                "ip_failures": outcome.ip_failures, "delay_seconds": outcome.delay_seconds},
                         reason="percobaan login gagal berulang: jeda bertambah")
        db.commit()
        return render(request, "login.html", {**ctx, "error": "Nama pengguna atau kata sandi salah."},
                      status_code=401)
    throttle.record_success(db, name)
    audit.append(db, actor=user.username, action="auth.login", entity="user", entity_id=user.id, after={"ip": ip})
    _begin_session(request, db, user)
    target = safe_next(next)
    return RedirectResponse(target if target != "/" else HOME_BY_ROLE.get(user.role, "/"), status_code=303)


def _begin_session(request: Request, db: Session, user: User) -> None:
    """A fresh server-side session (and CSRF token), so a session planted before sign-in is useless."""
    token = sessions.start(db, user, ip=_client_ip(request), hours=request.app.state.settings.session_hours)
    db.commit()
    request.session.clear()
    request.session[SESSION_TOKEN] = token
    request.session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request, db: Session = Depends(get_db)) -> Response:
    token = request.session.get(SESSION_TOKEN)
    if isinstance(token, str):
        sessions.revoke(db, token, "logout")
        db.commit()
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


# --- one's own account ------------------------------------------------------------------------------

@router.get("/account")
def account_page(request: Request, user: User = Depends(current_user), db: Session = Depends(get_db)) -> Response:
    return render(request, "account.html", {"min_password": MIN_PASSWORD_CHARS,
                                            "live_sessions": sessions.live_count(db, user.id)}, user=user)


@router.post("/account/password", dependencies=[Depends(require_csrf)])
def change_password(request: Request, current: str = Form(""), new: str = Form(""), repeat: str = Form(""),
                    user: User = Depends(current_user), db: Session = Depends(get_db)) -> Response:
    """Every session of the user ends (a stolen cookie too); this browser gets a new one."""
    try:
        if new != repeat:
            raise ReviewError("kata sandi baru dan ulangannya tidak sama", "invalid")
        user_service.change_password(db, user, current=current[:300], new=new[:300])
    except ReviewError as exc:
        db.rollback()
        return render(request, "account.html", {"min_password": MIN_PASSWORD_CHARS, "error": exc.message,
                                                "live_sessions": sessions.live_count(db, user.id)},
                      user=user, status_code=400)
    _begin_session(request, db, user)
    flash(request, "Kata sandi diganti. Semua sesi lain telah diakhiri.", "success")
    return RedirectResponse("/account", status_code=303)


# --- setup link of a new (or reset) account --------------------------------------------------------

@router.get("/setup/{token}")
def setup_page(request: Request, token: str, db: Session = Depends(get_db)) -> Response:
    target = user_service.user_for_setup(db, token[:200])
    if target is None:
        return render(request, "setup.html", {"invalid": True}, status_code=404)
    return render(request, "setup.html", {"username": target.username, "token": token,
                                          "min_password": MIN_PASSWORD_CHARS})


@router.post("/setup/{token}", dependencies=[Depends(require_csrf)])
def setup_submit(request: Request, token: str, new: str = Form(""), repeat: str = Form(""),
                 db: Session = Depends(get_db)) -> Response:
    target = user_service.user_for_setup(db, token[:200])
    if target is None:
        return render(request, "setup.html", {"invalid": True}, status_code=404)
    try:
        if new != repeat:
            raise ReviewError("kata sandi dan ulangannya tidak sama", "invalid")
        user = user_service.complete_setup(db, token, new[:300])
    except ReviewError as exc:
        db.rollback()
        return render(request, "setup.html", {"username": target.username, "token": token, "error": exc.message,
                                              "min_password": MIN_PASSWORD_CHARS}, status_code=400)
    db.commit()
    flash(request, f"Kata sandi untuk {user.username} telah disimpan. Silakan masuk.", "success")
    return RedirectResponse("/login", status_code=303)
