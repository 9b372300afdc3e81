"""Error pages: HTML for people, JSON for the API, and the login redirect."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from netral.db.schema import User
from netral.review.errors import ReviewError
from netral.serve.deps import LoginRequired, optional_user, render

STATUS_BY_KIND = {"forbidden": 403, "not_found": 404, "conflict": 409, "invalid": 400}
TITLES = {400: "Permintaan tidak valid", 401: "Perlu masuk", 403: "Akses ditolak", 404: "Tidak ditemukan",
          405: "Metode tidak diizinkan", 409: "Konflik", 413: "Permintaan terlalu besar", 422: "Data tidak valid",
          429: "Terlalu banyak permintaan"}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_page(request: Request, status: int, message: str, user: User | None = None) -> Response:
    return render(request, "error.html", {"status": status, "title": TITLES.get(status, "Galat"),
                                          "message": message}, user=user, status_code=status)


def review_error_response(request: Request, exc: ReviewError, user: User | None) -> Response:
    return error_page(request, STATUS_BY_KIND.get(exc.kind, 400), exc.message, user)


def _page_user(request: Request) -> User | None:
    """Best effort: show the navigation on error pages when someone is signed in."""
    session = request.app.state.sessions()
    try:
        user = optional_user(request, session)
        if user is not None:
            session.expunge(user)
        return user
    finally:
        session.close()


def install(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "perlu masuk"}, status_code=401)
        return RedirectResponse(f"/login?next={quote(exc.next_path, safe='/')}", status_code=303)

    @app.exception_handler(ReviewError)
    async def _review(request: Request, exc: ReviewError) -> Response:
        status = STATUS_BY_KIND.get(exc.kind, 400)
        if _is_api(request):
            return JSONResponse({"detail": exc.message}, status_code=status)
        return error_page(request, status, exc.message, _page_user(request))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request) or request.url.path in ("/openapi.json",):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        message = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Galat")
        if exc.status_code == 404 and message == "Not Found":
            message = "Halaman yang Anda cari tidak ada."
        if exc.status_code == 405:
            message = "Metode tidak diizinkan untuk alamat ini."
        return error_page(request, exc.status_code, message, _page_user(request))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)
        return error_page(request, 422, "Isian formulir tidak lengkap atau tidak valid.", _page_user(request))
