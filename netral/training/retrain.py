"""Retraining from reviewers' decisions as a background job (started from the web UI).

The job row is the single source of truth for its progress, so any page reload, any analyst, and
a restarted web process see the same state. A finished job never promotes by itself: it reports
how the new version compares with the active one on the frozen test split, and a person decides.
"""

from __future__ import annotations

import time

from sqlalchemy.orm import Session, sessionmaker

from netral import audit
from netral.db.engine import session_factory
from netral.db.schema import TrainJob
from netral.db.types import utcnow
from netral.models.registry import check_promotion
from netral.settings import Settings, get_settings
from netral.training.config import TrainConfig
from netral.training.service import run_training
from netral.vocabulary import TrainRunState


def _update(factory: sessionmaker[Session], job_id: int, **values: object) -> None:
    with factory() as session:
        job = session.get(TrainJob, job_id)
        if job is None:
            return
        for key, value in values.items():
            setattr(job, key, value)
        session.commit()


def run_retrain_job(job_id: int, *, settings: Settings | None = None, config: TrainConfig | None = None,
                    limit_train: int | None = None, limit_eval: int | None = None) -> None:
    settings = settings or get_settings()
    factory = session_factory(settings.db_url)
    _update(factory, job_id, status=TrainRunState.RUNNING, progress=0.01, message="Menyiapkan data dan model dasar")
    last = [0.0]

    def on_progress(fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= 2.0 or fraction >= 1.0:  # at most one row update every 2 s
            last[0] = now
            _update(factory, job_id, progress=round(fraction, 3), message=message)

    try:
        mv = run_training(settings=settings, factory=factory, with_decisions=True, config=config,
                          limit_train=limit_train, limit_eval=limit_eval, progress=False, on_progress=on_progress)
    except Exception as exc:  # the job row must end in a final state whatever happened
        _update(factory, job_id, status=TrainRunState.FAILED, finished_at=utcnow(), message=f"gagal: {exc}")
        raise
    check = check_promotion(settings.registry_dir, mv.version)
    test = mv.meta["metrics"]["test"]["partisan"]
    verdict = "boleh dipromosikan" if check.allowed else "tidak dipromosikan otomatis"
    message = (f"Versi {mv.version}: F1 uji {test['f1']:.3f}, recall {test['recall']:.3f} "
               f"({mv.meta['n_decisions']} keputusan peninjau ditambahkan). Gerbang: {check.reason} — {verdict}.")
    with factory() as session:
        job = session.get(TrainJob, job_id)
        assert job is not None
        audit.append(session, actor=job.started_by, action="model.train", entity="model", entity_id=mv.version,
                     after={"job": job_id, "test_f1": test["f1"], "test_recall": test["recall"],
                            "n_decisions": mv.meta["n_decisions"], "gate": check.reason})
        job.status, job.progress, job.model_version = TrainRunState.DONE, 1.0, mv.version
        job.message, job.finished_at = message, utcnow()
        session.commit()
