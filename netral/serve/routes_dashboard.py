"""The dashboard: where flags are, by status, unit, category and week, with server-drawn charts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from netral.db.schema import User
from netral.review import dashboard
from netral.review.decisions import CATEGORIES
from netral.review.queue import STATUSES
from netral.review.roles import DASHBOARD
from netral.serve import charts
from netral.serve.deps import get_db, render, require

router = APIRouter(include_in_schema=False)
viewers = require(DASHBOARD)


@router.get("/dashboard")
def dashboard_page(request: Request, election: str = "", user: User = Depends(viewers),
                   db: Session = Depends(get_db)) -> Response:
    data = dashboard.build(db, election=election or None)
    weekly = charts.columns([w.label for w in data.by_week],
                            [charts.Series("Semua indikasi", charts.MUTED, [w.total for w in data.by_week]),
                             charts.Series("Dikonfirmasi peninjau", charts.PRIMARY,
                                           [w.confirmed for w in data.by_week])],
                            title="Indikasi per minggu (menurut waktu unggah)")
    units = charts.hbars([(u.unit, u.total, u.confirmed) for u in data.by_unit[:15]],
                         title="Indikasi per unit kerja", names=("Semua indikasi", "Dikonfirmasi"))
    return render(request, "dashboard.html", {"data": data, "weekly_chart": weekly, "unit_chart": units,
                                              "election": election, "statuses": STATUSES,
                                              "categories": CATEGORIES,
                                              "grants": dashboard.privilege_grants(db)}, user=user)
