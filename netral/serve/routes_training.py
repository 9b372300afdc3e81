"""Retraining from the browser: an analyst starts a job, the page polls its progress.

The job runs in a background thread of the web process; ``run_retrain_job`` records progress and the
outcome in the ``train_jobs`` row itself, so a page reload (or another analyst) sees the same state.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import Response

from netral import audit
from netral.db.schema import TrainJob, User
from netral.db.types import utcnow
from netral.models.promotion import PromotionRefused, promote
from netral.models.registry import RegistryError, active_version, check_promotion, list_versions
from netral.review.roles import TRAINING
from netral.serve.deps import DbId, flash, get_db, render, require
from netral.serve.security import require_csrf
from netral.settings import Settings
from netral.vocabulary import ACTIVE_TRAIN_STATES, TrainRunState

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
analysts = require(TRAINING)
ACTIVE = ACTIVE_TRAIN_STATES


def default_runner(job_id: int, *, settings: Settings | None = None) -> None:
    from netral.training.retrain import run_retrain_job

    run_retrain_job(job_id, settings=settings)


def _fail(sessions: sessionmaker[Session], job_id: int, message: str) -> None:
    with sessions() as s:
        job = s.get(TrainJob, job_id)
        if job is not None and job.status in ACTIVE:
            job.status = TrainRunState.FAILED
            job.message = message[:2000]
            job.finished_at = utcnow()
            s.commit()


def start_in_background(runner: Callable[[int], None], sessions: sessionmaker[Session],
                        job_id: int) -> threading.Thread:
    def work() -> None:
        try:
            runner(job_id)
        except ModuleNotFoundError as exc:
            _fail(sessions, job_id, f"modul pelatihan ulang belum tersedia ({exc.name})")
        except Exception as exc:  # noqa: BLE001 - any crash must end as a visible failed job
            log.exception("retraining job %s crashed", job_id)
            _fail(sessions, job_id, f"gagal: {exc}")
        else:
            # A runner that returned without finishing the row leaves no job stuck as "running".
            _fail(sessions, job_id, "pelatihan berhenti tanpa status akhir")

    thread = threading.Thread(target=work, name=f"retrain-{job_id}", daemon=True)
    thread.start()
    return thread


@router.get("/training")
def training_page(request: Request, user: User = Depends(analysts), db: Session = Depends(get_db)) -> Response:
    jobs = list(db.scalars(select(TrainJob).order_by(TrainJob.id.desc()).limit(20)))
    running = next((j for j in jobs if j.status in ACTIVE), None)
    registry = request.app.state.settings.registry_dir
    active = active_version(registry)
    versions = [{"mv": mv, "active": active is not None and mv.version == active.version,
                 "gate": check_promotion(registry, mv.version)} for mv in reversed(list_versions(registry))]
    return render(request, "training.html", {"jobs": jobs, "running": running, "versions": versions}, user=user)


@router.post("/training/promote", dependencies=[Depends(require_csrf)])
def promote_version(request: Request, version: str = Form(...), reason: str = Form(""), force: bool = Form(False),
                    user: User = Depends(analysts)) -> Response:
    """Same gate as `netral model promote`: a worse version needs force and a written reason (audited)."""
    try:
        check = promote(request.app.state.settings.registry_dir, version, request.app.state.sessions,
                        actor=user.username, force=force, reason=reason)
    except (PromotionRefused, RegistryError) as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, f"Model aktif sekarang {version} ({check.reason}).", "success")
    return RedirectResponse("/training", status_code=303)


def _close_orphans(db: Session, live: dict[int, threading.Thread], actor: str) -> None:
    """Jobs left "running" by a web process that has since stopped would block retraining forever."""
    for job in db.scalars(select(TrainJob).where(TrainJob.status.in_(ACTIVE))):
        thread = live.get(job.id)
        if thread is None or not thread.is_alive():
            before = {"status": job.status, "progress": job.progress}
            job.status, job.finished_at = TrainRunState.FAILED, utcnow()
            job.message = "terputus: proses web berhenti sebelum pelatihan selesai; jalankan ulang"
            audit.append(db, actor=actor, action="train.orphaned", entity="train_job", entity_id=job.id,
                         before=before, after={"status": TrainRunState.FAILED}, reason=job.message)


@router.post("/training/start", dependencies=[Depends(require_csrf)])
def start(request: Request, user: User = Depends(analysts), db: Session = Depends(get_db)) -> Response:
    live: dict[int, threading.Thread] = request.app.state.train_threads
    _close_orphans(db, live, user.username)
    if db.scalars(select(TrainJob).where(TrainJob.status.in_(ACTIVE))).first() is not None:
        db.commit()
        flash(request, "Masih ada pelatihan ulang yang berjalan; tunggu sampai selesai.", "error")
        return RedirectResponse("/training", status_code=303)
    job = TrainJob(started_by=user.username, status=TrainRunState.QUEUED, progress=0.0, message="Menunggu giliran")
    db.add(job)
    db.flush()
    audit.append(db, actor=user.username, action="train.start", entity="train_job", entity_id=job.id,
                 after={"status": TrainRunState.QUEUED})
    db.commit()
    live[job.id] = start_in_background(request.app.state.retrain_runner, request.app.state.sessions, job.id)
    flash(request, f"Pelatihan ulang #{job.id} dimulai.", "success")
    return RedirectResponse("/training", status_code=303)


@router.get("/training/jobs/{job_id}.json")
def job_status(job_id: DbId, user: User = Depends(analysts), db: Session = Depends(get_db)) -> Response:
    job = db.get(TrainJob, job_id)
    if job is None:
        raise HTTPException(status_code=404, detail="pelatihan tidak ditemukan")
    return JSONResponse({"id": job.id, "status": job.status, "status_label": TrainRunState.label_of(job.status),
                         "progress": job.progress, "message": job.message,
                         "model_version": job.model_version, "done": job.status not in ACTIVE})
