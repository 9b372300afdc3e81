"""Request-scoped dependencies: database session, signed-in user, role checks and page rendering."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from jinja2 import Environment, FileSystemLoader
from sqlalchemy.orm import Session
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from netral.db.schema import User
from netral.review import present, sessions
from netral.review.queue import STATUSES
from netral.review.roles import ROLES
from netral.serve.security import csrf_token
from netral.settings import Settings
from netral.vocabulary import Category, ComplaintSource, EmploymentType, FlagSource, PostKind, TrainRunState

TEMPLATES_DIR = Path(__file__).parent / "templates"
# Ids and page numbers are bounded before they reach the database: an integer wider than the column
# raised OverflowError (SQLite) or NumericValueOutOfRange (PostgreSQL), a 500 (issue 11, finding 15).
MAX_DB_ID = 2**31 - 1
MAX_PAGE = 100_000
DbId = Annotated[int, PathParam(ge=1, le=MAX_DB_ID)]
PageNo = Annotated[int, Query(ge=1, le=MAX_PAGE)]

SESSION_TOKEN = "sid"  # the server-side session token (netral.review.sessions)


class LoginRequired(Exception):
    """Raised by ``current_user``; the app turns it into a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def make_templates() -> Jinja2Templates:
    # Autoescape on for every template, whatever its extension: post text is hostile.
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True)
    env.filters.update(dt=present.fmt_dt, date=present.fmt_date, safe_url=present.safe_url,
                       css_token=present.css_token, evidence_label=present.evidence_label,
                       span_matches=present.span_matches, day=present.fmt_day,
                       status_label=lambda s: STATUSES.get(s, s), role_label=lambda r: ROLES.get(r, r),
                       # Stored codes (SUPPORT, share, running) are English identifiers; pages show labels.
                       category_label=Category.label_of, kind_label=PostKind.label_of,
                       train_state_label=TrainRunState.label_of,
                       employment_label=EmploymentType.label_of, flag_source_label=FlagSource.label_of,
                       complaint_source_label=ComplaintSource.label_of)
    return Jinja2Templates(env=env)


def settings_of(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_db(request: Request) -> Iterator[Session]:
    """One session per request; routes commit explicitly, anything uncommitted is rolled back."""
    session: Session = request.app.state.sessions()
    try:
        yield session
    finally:
        session.close()


def optional_user(request: Request, db: Session = Depends(get_db)) -> User | None:
    token = request.session.get(SESSION_TOKEN)
    if not isinstance(token, str):
        return None
    # Checked against the database on every request, so logout, a password change or deactivation
    # ends the session at once, even for a copied cookie.
    return sessions.user_for(db, token)


def current_user(request: Request, user: User | None = Depends(optional_user)) -> User:
    if user is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path if request.method == "GET" else "/")
    return user


def require(roles: frozenset[str]) -> Callable[..., User]:
    """Dependency factory: the signed-in user if their role is allowed, else 403."""

    def dependency(user: User = Depends(current_user)) -> User:
        if user.role not in roles:
            raise HTTPException(status_code=403, detail="Peran Anda tidak memiliki akses ke halaman ini.")
        return user

    return dependency


def flash(request: Request, message: str, kind: str = "info") -> None:
    messages = list(request.session.get("flash", []))
    messages.append({"kind": kind, "text": message})
    request.session["flash"] = messages[-5:]


def render(request: Request, name: str, context: dict[str, Any] | None = None, *, user: User | None = None,
           status_code: int = 200) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    ctx: dict[str, Any] = {"user": user, "csrf_token": csrf_token(request),
                           "flashes": request.session.pop("flash", []), "path": request.url.path}
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


def safe_next(value: str | None) -> str:
    """Only same-site paths, so the login form cannot be used as an open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value
