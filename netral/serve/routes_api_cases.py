"""Machine API for cases: read them and record a step, with the same bearer tokens as ``/api/posts``.

Every call goes through ``netral.review.cases`` (the web pages and ``netral case`` call the same
functions), so the token owner's role decides what is allowed exactly as in the browser: a token of a
reviewer may record the ASN's response, not a sanction. Attachments are uploaded through the web page
or ``netral case step --attach``; the API lists them with their SHA-256.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from netral.db.schema import Case, User
from netral.review import cases
from netral.serve.deps import DbId, get_db, settings_of
from netral.serve.routes_api import bearer, bearer_user
from netral.vocabulary import CaseBody, CaseStep, Sanction

router = APIRouter(prefix="/api/cases", tags=["kasus"])
STATUS_FILTERS = ("active", "closed", "all", *cases.STATUSES)


class StepIn(BaseModel):
    """One step, as on the case page (without attachments)."""

    model_config = ConfigDict(extra="forbid")
    step: CaseStep
    ref_number: str = Field(default="", max_length=cases.MAX_REF_CHARS,
                            description="nomor surat, BAP atau keputusan (wajib kecuali tanggapan ASN)")
    note: str = Field(default="", max_length=cases.MAX_NOTE_CHARS, description="catatan atau teks tanggapan ASN")
    decided_on: date | None = Field(default=None, description="tanggal surat/keputusan; kosong = hari ini")
    body: CaseBody | None = None
    sanction: Sanction | None = None


class AttachmentOut(BaseModel):
    id: int
    name: str
    media_type: str
    size_bytes: int
    sha256: str
    url: str


class StepOut(BaseModel):
    id: int
    step: str
    label: str
    decided_on: date
    ref_number: str
    body: str | None
    sanction: str | None
    note: str
    recorded_by: str
    recorded_at: datetime
    attachments: list[AttachmentOut]


class DeadlineOut(BaseModel):
    key: str
    label: str
    due: date
    basis: str
    confirmed: bool
    met_on: date | None
    lapsed: bool
    overdue: bool


class CaseOut(BaseModel):
    id: int
    status: str
    status_label: str
    report_id: int
    report_number: str
    nip: str
    name: str
    unit: str
    election: str | None
    law: str
    opened_at: datetime
    overdue: bool
    deadlines: list[DeadlineOut]


class CaseDetailOut(CaseOut):
    steps: list[StepOut]
    allowed_steps: list[str] = Field(description="langkah yang boleh dicatat pemilik token saat ini")


def api_user(credentials: HTTPAuthorizationCredentials | None = Depends(bearer), db: Session = Depends(get_db)) -> User:
    """The token's owner, whatever the role: what each role may do is decided by the service."""
    return bearer_user(credentials, db)


async def step_body(request: Request) -> StepIn:
    """The body, read only after ``api_user`` passed (as ``/api/posts`` does)."""
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise HTTPException(status_code=422, detail="badan permintaan bukan JSON yang valid") from None
    try:
        return StepIn.model_validate(data)
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        raise HTTPException(status_code=422, detail=errors) from None


def _case_out(row: cases.CaseRow) -> dict[str, Any]:
    case = row.case
    return {"id": case.id, "status": case.status, "status_label": cases.STATUSES.get(case.status, case.status),
            "report_id": row.report.id, "report_number": row.report.number, "nip": row.account.nip,
            "name": row.account.name, "unit": row.account.unit, "election": row.report.flag.election,
            "law": row.law, "opened_at": case.opened_at, "overdue": row.overdue,
            "deadlines": [DeadlineOut(key=d.key, label=d.label, due=d.due, basis=d.basis, confirmed=d.confirmed,
                                      met_on=d.met_on, lapsed=d.lapsed, overdue=d.overdue) for d in row.deadlines]}


def _detail(request: Request, case: Case, user: User) -> CaseDetailOut:
    row = cases.row_for(case, cases.clocks(settings_of(request)), cases.today_local())
    steps = [StepOut(id=s.id, step=s.step, label=cases.STEPS.get(s.step, s.step), decided_on=s.decided_on,
                     ref_number=s.ref_number, body=s.body, sanction=s.sanction, note=s.note,
                     recorded_by=s.recorder.username, recorded_at=s.recorded_at,
                     attachments=[AttachmentOut(id=a.id, name=a.original_name, media_type=a.media_type,
                                                size_bytes=a.size_bytes, sha256=a.sha256,
                                                url=f"/cases/{case.id}/attachments/{a.id}")
                                  for a in s.attachments])
             for s in case.steps]
    return CaseDetailOut(**_case_out(row), steps=steps, allowed_steps=cases.allowed_steps(case, user))


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """The model's JSON schema with its ``$defs`` (the enums) written in place.

    The body is declared only in OpenAPI (``step_body`` reads it after the token check), so references
    to ``#/$defs/...`` would point into the OpenAPI document's root, where nothing is defined.
    """
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(dict(defs[ref.removeprefix("#/$defs/")]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)  # type: ignore[no-any-return]


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Token tidak ada/tidak valid"}, 403: {"description": "Peran tidak diizinkan"},
    404: {"description": "Kasus tidak ditemukan"}, 422: {"description": "Parameter tidak valid"}}


@router.get("", response_model=list[CaseOut], summary="Daftar kasus", responses=_ERRORS)
def list_cases(request: Request, status: str = Query("active", max_length=40,
                                                     description=f"salah satu: {', '.join(STATUS_FILTERS)}"),
               unit: str = Query("", max_length=200), overdue: bool = False, user: User = Depends(api_user),
               db: Session = Depends(get_db)) -> list[CaseOut]:
    """Kasus dengan status, batas waktu, dan tanda lewat batas waktu (yang lewat batas di urutan pertama)."""
    if status not in STATUS_FILTERS:
        raise HTTPException(status_code=422, detail=f"status tidak dikenal; pilihan: {', '.join(STATUS_FILTERS)}")
    flt = cases.CaseFilter(status=None if status == "all" else status, unit=unit or None, overdue_only=overdue)
    rows = cases.list_cases(db, user, flt, book=cases.clocks(settings_of(request)))
    return [CaseOut(**_case_out(r)) for r in rows]


@router.get("/{case_id}", response_model=CaseDetailOut, summary="Satu kasus dengan semua langkahnya",
            responses=_ERRORS)
def get_case(request: Request, case_id: DbId, user: User = Depends(api_user),
             db: Session = Depends(get_db)) -> CaseDetailOut:
    return _detail(request, cases.get_case(db, case_id, user), user)


@router.post("/{case_id}/steps", response_model=CaseDetailOut, summary="Catat satu langkah kasus",
             responses={**_ERRORS, 400: {"description": "Isian tidak valid"},
                        409: {"description": "Urutan langkah tidak memungkinkan (mis. sanksi sebelum BAP, kasus "
                                           "sudah ditutup)"},
                        422: {"description": "Badan permintaan bukan JSON atau tidak sesuai skema"}},
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": _inline(StepIn.model_json_schema())}}}})
def add_step(request: Request, case_id: DbId, user: User = Depends(api_user), data: StepIn = Depends(step_body),
             db: Session = Depends(get_db)) -> CaseDetailOut:
    """Mencatat langkah dengan aturan yang sama seperti halaman kasus: peran, urutan, nomor surat, audit."""
    settings = settings_of(request)
    cases.add_step(db, case_id, user, cases.StepInput(
        step=data.step, ref_number=data.ref_number, note=data.note, decided_on=data.decided_on,
        body=data.body.value if data.body else None, sanction=data.sanction.value if data.sanction else None),
        settings=settings)
    db.commit()
    return _detail(request, cases.get_case(db, case_id, user), user)
