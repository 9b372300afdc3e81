"""Machine API: push posts and record complaints with a bearer token.

Posts go through ``ingest_records``, the same function file import uses, so the scope rule (roster
authors only; anyone else is refused and not kept) cannot be bypassed by pushing instead of importing.
A request is one transaction: all valid roster posts are stored, or nothing is. Complaints go through
``review.complaints.record``, the service behind the web form and ``netral complaint add``.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from netral.db.schema import User
from netral.pipeline.incoming import MAX_URL_CHARS, IncomingPost
from netral.pipeline.ingest import ingest_records
from netral.review import complaints
from netral.review import users as user_service
from netral.review.errors import ReviewError
from netral.review.roles import PUSH_POSTS, RECORD_COMPLAINT
from netral.serve.deps import get_db, settings_of
from netral.settings import Settings

router = APIRouter(prefix="/api", tags=["api"])
bearer = HTTPBearer(auto_error=False, description="Token API dari halaman Pengguna atau `netral user token`.")


def _posts_schema() -> dict[str, Any]:
    """OpenAPI for the request body: a list of :class:`IncomingPost` (the model file import uses too).

    The route itself reads the body as a list of objects and validates each item with the model, so a
    bad item is reported with its index instead of failing the whole request with one 422.
    """
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "array", "title": "Posts", "items": IncomingPost.model_json_schema(),
        "maxItems": Settings.model_fields["api_max_posts"].default}}}}}


class RejectionOut(BaseModel):
    index: int
    field: str | None
    reason: str


class IngestOut(BaseModel):
    received: int
    stored: int
    duplicates: int
    changed_duplicates: int
    not_on_roster: int
    deactivated: int = Field(description="bagian dari `not_on_roster`: akun di daftar ASN yang dinonaktifkan")
    rejected: int
    rejections: list[RejectionOut]


def bearer_user(credentials: HTTPAuthorizationCredentials | None, db: Session) -> User:
    """The token's owner, or 401 with a Bearer challenge: one check for every token-authenticated route."""
    unauthorized = HTTPException(status_code=401, detail="token API tidak ada atau tidak valid",
                                 headers={"WWW-Authenticate": "Bearer"})
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized
    user = user_service.user_for_token(db, credentials.credentials)
    if user is None:
        raise unauthorized
    return user


def token_user(credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
               db: Session = Depends(get_db)) -> User:
    user = bearer_user(credentials, db)
    if user.role not in PUSH_POSTS:
        raise HTTPException(status_code=403, detail="peran pemilik token tidak boleh mengirim unggahan")
    return user


def complaint_user(credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
                   db: Session = Depends(get_db)) -> User:
    user = bearer_user(credentials, db)
    if user.role not in RECORD_COMPLAINT:
        raise HTTPException(status_code=403, detail="peran pemilik token tidak boleh mencatat pengaduan")
    return user


async def posts_body(request: Request) -> list[dict[str, Any]]:
    """The request body as a list of JSON objects, read only after ``token_user`` passed.

    FastAPI reads a declared ``Body`` before any dependency runs, so an unauthenticated client could
    make the server read and parse a large body; here the route declares the body only in OpenAPI and
    this dependency, listed after the token check, reads it (capped by ``BodySizeLimit``).
    """
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # invalid JSON or UTF-8/16/32, or nesting deep enough to recurse
        raise HTTPException(status_code=422, detail="badan permintaan bukan JSON yang valid") from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise HTTPException(status_code=422, detail="badan permintaan harus berupa daftar objek JSON")
    limit = settings_of(request).api_max_posts
    if len(data) > limit:
        raise HTTPException(status_code=422, detail=f"paling banyak {limit:,} unggahan per permintaan")
    return data


@router.post("/posts", response_model=IngestOut, summary="Kirim unggahan untuk disimpan",
             response_description="Jumlah unggahan yang disimpan, duplikat, di luar daftar ASN (tidak disimpan), dan "
                                  "penolakan per item",
             responses={401: {"description": "Token tidak ada/tidak valid"},
                        403: {"description": "Peran tidak diizinkan"},
                        413: {"description": "Badan permintaan melebihi NETRAL_MAX_BODY_BYTES"},
                        422: {"description": "Badan permintaan bukan daftar objek JSON, atau terlalu banyak unggahan"}},
             openapi_extra=_posts_schema())
def push_posts(request: Request, user: User = Depends(token_user),
               posts: list[dict[str, Any]] = Depends(posts_body), db: Session = Depends(get_db)) -> IngestOut:
    """Menyimpan unggahan dari akun yang ada di daftar ASN. Unggahan dari akun lain ditolak dan tidak disimpan;
    setiap item yang tidak valid dilaporkan dengan indeksnya (mulai dari 1)."""
    result = ingest_records(db, enumerate(posts, start=1), f"api:{user.username}", settings=settings_of(request),
                            actor=user.username)
    db.commit()
    return IngestOut(received=len(posts), stored=result.stored, duplicates=result.duplicates,
                     changed_duplicates=result.changed_duplicates, not_on_roster=result.not_on_roster,
                     deactivated=result.deactivated, rejected=len(result.rejections),
                     rejections=[RejectionOut(index=r.line, field=r.field, reason=r.reason)
                                 for r in result.rejections])


class ComplaintIn(BaseModel):
    """A complaint (pengaduan) about a rostered person; the same fields as the web form."""

    model_config = ConfigDict(extra="forbid", strict=True, title="Pengaduan", json_schema_extra={"examples": [{
        "account": "198503122010011001", "source": "public", "link": "https://twitter.com/budi_s/status/1",
        "text": "Unggahan mengajak memilih pasangan nomor 2", "complainant": "anonim"}]})

    account: str = Field(max_length=64, description="NIP, NI PPPK, atau nomor pegawai non-ASN di daftar ASN")
    source: str = Field(description="sumber pengaduan", json_schema_extra={"enum": list(complaints.SOURCES)})
    text: str = Field(max_length=100_000, description="uraian pengaduan (min. 10 karakter)")
    link: str = Field(default="", max_length=MAX_URL_CHARS, description="tautan http(s) ke unggahan")
    complainant: str = Field(default="", max_length=200, description="nama/kontak pengadu (boleh kosong)")
    posted_at: str | None = Field(default=None, max_length=40, description="waktu unggahan ISO 8601, bila diketahui")
    received_at: str | None = Field(default=None, max_length=40, description="waktu pengaduan diterima, ISO 8601")
    screenshot_base64: str | None = Field(default=None, description="tangkapan layar PNG/JPEG dalam base64")


class ComplaintOut(BaseModel):
    complaint_id: int
    flag_id: int
    status: str
    screenshot_sha256: str | None


async def complaint_body(request: Request) -> ComplaintIn:
    """The body as a :class:`ComplaintIn`, read only after ``complaint_user`` passed (see ``posts_body``)."""
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise HTTPException(status_code=422, detail="badan permintaan bukan JSON yang valid") from None
    if not isinstance(data, dict):
        raise HTTPException(status_code=422, detail="badan permintaan harus berupa objek JSON")
    try:
        return ComplaintIn.model_validate(data)
    except ValidationError as exc:
        detail = [{"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]} for e in exc.errors()]
        raise HTTPException(status_code=422, detail=detail) from None


def _complaint_schema() -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": ComplaintIn.model_json_schema()}}}}


@router.post("/complaints", response_model=ComplaintOut, status_code=201, summary="Catat pengaduan",
             responses={400: {"description": "Pengaduan ditolak (mis. ASN tidak di daftar ASN, tangkapan layar tidak "
                                             "valid)"},
                        401: {"description": "Token tidak ada/tidak valid"},
                        403: {"description": "Peran tidak diizinkan"},
                        413: {"description": "Badan permintaan melebihi NETRAL_MAX_BODY_BYTES"},
                        422: {"description": "Badan permintaan bukan objek JSON pengaduan yang valid"}},
             openapi_extra=_complaint_schema())
def record_complaint(request: Request, user: User = Depends(complaint_user),
                     body: ComplaintIn = Depends(complaint_body), db: Session = Depends(get_db)) -> ComplaintOut:
    """Mencatat pengaduan tentang ASN di daftar ASN; pengaduan masuk antrean tinjauan sebagai indikasi
    berasal "pengaduan" dan melalui tinjauan dua orang yang sama dengan indikasi dari model."""
    settings = settings_of(request)
    screenshot = None
    if body.screenshot_base64:
        try:
            screenshot = base64.b64decode(body.screenshot_base64, validate=True)
        except (binascii.Error, ValueError):
            raise HTTPException(status_code=422, detail="screenshot_base64 bukan base64 yang valid") from None

    try:
        complaint = complaints.record(db, complaints.ComplaintInput(
            account=body.account, source=body.source, text=body.text, link=body.link, complainant=body.complainant,
            screenshot=screenshot, posted_at=complaints.parse_when(body.posted_at, "posted_at", settings),
            received_at=complaints.parse_when(body.received_at, "received_at", settings)), user, settings)
        db.commit()
    except ReviewError:
        db.rollback()
        raise
    return ComplaintOut(complaint_id=complaint.id, flag_id=complaint.flag_id, status=complaint.flag.status,
                        screenshot_sha256=complaint.screenshot_sha256)
