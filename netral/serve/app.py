"""FastAPI application factory for the Netral web UI and API."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import sessionmaker
from starlette.middleware.sessions import SessionMiddleware

from netral.db.engine import make_engine
from netral.serve import (
    errors,
    routes_admin,
    routes_api,
    routes_api_cases,
    routes_auth,
    routes_cases,
    routes_complaints,
    routes_dashboard,
    routes_docs,
    routes_elections,
    routes_privacy,
    routes_reports,
    routes_review,
    routes_roster,
    routes_training,
)
from netral.serve.deps import make_templates
from netral.serve.security import BodySizeLimit, SecurityHeaders, resolve_secret_key
from netral.settings import Settings, get_settings

STATIC_DIR = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None, *,
               retrain_runner: Callable[[int], None] | None = None) -> FastAPI:
    """Build the app for one database; tests pass their own settings (and a fake retraining runner).

    Raises ``InsecureConfig`` without a strong secret key (unless ``dev_mode``): whatever runs the
    app (``netral serve``, another ASGI server) then fails at start instead of serving forgeable cookies.
    """
    settings = settings or get_settings()
    secret_key = resolve_secret_key(settings)
    app = FastAPI(title="Netral API", version="1", docs_url=None, redoc_url=None, openapi_url="/openapi.json",
                  description="Antarmuka mesin Netral: kirim unggahan dari akun ASN yang terdaftar di daftar ASN.")
    engine = make_engine(settings.db_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessionmaker(engine, expire_on_commit=False)
    app.state.templates = make_templates()
    app.state.retrain_runner = retrain_runner or partial(routes_training.default_runner, settings=settings)
    app.state.train_threads = {}

    # Order matters: the session middleware must wrap the routes; security headers wrap everything.
    # The signed cookie carries only the server-side session token, the CSRF token and flash messages.
    app.add_middleware(SessionMiddleware, secret_key=secret_key, session_cookie="netral_session",
                       max_age=settings.session_hours * 3600, same_site="lax", https_only=settings.secure_cookies)
    app.add_middleware(SecurityHeaders, hsts=settings.secure_cookies)
    # Outermost: an oversized body is refused before any other layer (or route) could read it.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (routes_auth, routes_review, routes_reports, routes_cases, routes_dashboard, routes_admin,
                   routes_privacy, routes_elections, routes_training, routes_roster, routes_complaints, routes_api,
                   routes_api_cases, routes_docs):
        app.include_router(module.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
