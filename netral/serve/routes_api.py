"""Machine API: push posts with a bearer token.

Posts go through ``ingest_records``, the same function file import uses, so the scope rule (roster
authors only; anyone else is refused and not kept) cannot be bypassed by pushing instead of importing.
A request is one transaction: all valid roster posts are stored, or nothing is.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.orm import Session

from netral.db.schema import User
from netral.pipeline.incoming import IncomingPost
from netral.pipeline.ingest import ingest_records
from netral.review import users as user_service
from netral.review.roles import PUSH_POSTS
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
    rejected: int
    rejections: list[RejectionOut]


def token_user(credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
               db: Session = Depends(get_db)) -> User:
    unauthorized = HTTPException(status_code=401, detail="token API tidak ada atau tidak valid",
                                 headers={"WWW-Authenticate": "Bearer"})
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized
    user = user_service.user_for_token(db, credentials.credentials)
    if user is None:
        raise unauthorized
    if user.role not in PUSH_POSTS:
        raise HTTPException(status_code=403, detail="peran pemilik token tidak boleh mengirim unggahan")
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
                     rejected=len(result.rejections),
                     rejections=[RejectionOut(index=r.line, field=r.field, reason=r.reason)
                                 for r in result.rejections])
