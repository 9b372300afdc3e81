"""Browser-facing protections: the secret key check, CSRF tokens and security headers.

Post text is hostile input (DESIGN invariant 6). Templates escape it; the Content-Security-Policy
below is the second wall: no inline script may run, so even a missed escape cannot execute.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from fastapi import HTTPException, Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netral.settings import Settings

MIN_SECRET_CHARS = 32
# Keys that were ever published as defaults (in this repository or its docs) are never accepted.
KNOWN_DEFAULT_KEYS = frozenset({"dev-only-change-me", "change-me", "changeme", "secret", "test-secret-key"})
CSRF_SESSION_KEY = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# The issued report is a standalone document with its own inline style sheet (WeasyPrint reads the
# same file); it carries no script at all, and only Netral's own report page may frame it.
REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
              "frame-ancestors 'self'")


class InsecureConfig(RuntimeError):
    """The server refuses to start: the message says what to set (for the operator, in Indonesian)."""


def _dev_key_file(settings: Settings) -> Path:
    return settings.data_dir / "secret_key"


def _load_or_create_dev_key(path: Path) -> str:
    """A random key kept next to the development database, so sessions survive a restart."""
    if path.is_file():
        key = path.read_text(encoding="utf-8").strip()
        if len(key) >= MIN_SECRET_CHARS:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    return key


def resolve_secret_key(settings: Settings) -> str:
    """The key that signs session cookies, or ``InsecureConfig``.

    A public or short key lets anyone forge a session cookie (issue 11, finding 2), so outside the
    explicit development mode the server does not start with one, whatever address it listens on
    (behind a reverse proxy it listens on 127.0.0.1 too).
    """
    key = settings.secret_key.strip()
    weak = not key or key in KNOWN_DEFAULT_KEYS or len(key) < MIN_SECRET_CHARS
    if not weak:
        return key
    if settings.dev_mode:
        return key if key and key not in KNOWN_DEFAULT_KEYS else _load_or_create_dev_key(_dev_key_file(settings))
    raise InsecureConfig(
        f"NETRAL_SECRET_KEY tidak diisi, terlalu pendek (minimal {MIN_SECRET_CHARS} karakter) atau nilai bawaan "
        "publik; server tidak dijalankan. Buat kunci acak, mis. `python -c 'import secrets; "
        "print(secrets.token_urlsafe(48))'`, dan simpan di NETRAL_SECRET_KEY. Untuk pengembangan lokal saja: "
        "NETRAL_DEV_MODE=true.")


def csrf_token(request: Request) -> str:
    """The session's token, created on first use (one per session, rotated at login)."""
    token = request.session.get(CSRF_SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_SESSION_KEY] = token
    return str(token)


async def require_csrf(request: Request) -> None:
    """Dependency for every state-changing form route: 403 unless the form carries the session's token."""
    expected = request.session.get(CSRF_SESSION_KEY)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise HTTPException(status_code=403, detail="Token CSRF tidak ada atau tidak cocok. Muat ulang halaman.")


class SecurityHeaders:
    """Adds the same headers to every response; a route may set its own stricter CSP first.

    A pure ASGI middleware (not ``BaseHTTPMiddleware``): that one runs ``receive`` in a task group,
    which wrapped the body-size refusal in an exception group and turned a 413 into a 500.
    """

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in (("Content-Security-Policy", CSP), ("X-Frame-Options", "DENY")):
                    if name not in headers:
                        headers[name] = value
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
                if path != "/static" and not path.startswith("/static/") and "Cache-Control" not in headers:
                    headers["Cache-Control"] = "no-store"
                if self.hsts:
                    headers["Strict-Transport-Security"] = "max-age=31536000"
            await send(message)

        await self.app(scope, receive, with_headers)


class BodySizeLimit:
    """Pure ASGI middleware: 413 for a body over ``max_bytes``, before it is read.

    A declared ``Content-Length`` over the cap is refused at once; a chunked body is counted as it
    streams and cut off when it passes the cap. Nothing else reads the body earlier (issue 11,
    finding 7: a 95 MB body was read whole before anything was checked).
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, scope: Scope, send: Send, status: int, message: str) -> None:
        body = (f'{{"detail": "{message}"}}' if str(scope.get("path", "")).startswith("/api/") else message)
        ctype = b"application/json" if body.startswith("{") else b"text/plain; charset=utf-8"
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype), (b"content-length", str(len(body.encode())).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body.encode()})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await self._refuse(scope, send, 400, "Content-Length tidak valid")
                return
            if int(declared) > self.max_bytes:
                await self._refuse(scope, send, 413, f"badan permintaan melebihi {self.max_bytes} byte")
                return
        seen = 0

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # Raised into whoever reads the body (the API's body dependency, form parsing):
                    # the app's own handler turns it into the 413 response.
                    raise HTTPException(status_code=413, detail=f"badan permintaan melebihi {self.max_bytes} byte")
            return message

        await self.app(scope, counted_receive, send)
