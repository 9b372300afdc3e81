"""The dashboard: where flags are, by status, unit, category and week, with server-drawn charts, and the
recap downloads (XLSX/CSV) for the filter shown."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from netral.db.schema import User
from netral.review import dashboard, exports, queue, recap
from netral.review.decisions import CATEGORIES
from netral.review.errors import ReviewError
from netral.review.queue import STATUSES
from netral.review.roles import DASHBOARD, EXPORT
from netral.review.zones import zone_book
from netral.serve import charts
from netral.serve.deps import get_db, render, require, settings_of
from netral.serve.errors import review_error_response
from netral.vocabulary import Category, FlagStatus, RecapGroup

router = APIRouter(include_in_schema=False)
viewers = require(DASHBOARD)
exporters = require(EXPORT)


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _filter(election: str, unit: str, status: str, category: str, date_from: str, date_to: str) -> recap.RecapFilter:
    """The query's filter; unknown statuses and categories are ignored rather than matching nothing."""
    return recap.RecapFilter(election=election or None, unit=unit or None,
                             status=status if status in FlagStatus.values() else None,
                             category=category if category in Category.values() else None,
                             date_from=_date(date_from), date_to=_date(date_to))


@router.get("/dashboard")
def dashboard_page(request: Request, election: str = "", unit: str = "", status: str = "", category: str = "",
                   date_from: str = "", date_to: str = "", by: str = RecapGroup.UNIT.value,
                   user: User = Depends(viewers), db: Session = Depends(get_db)) -> Response:
    settings = settings_of(request)
    flt = _filter(election, unit, status, category, date_from, date_to)
    data = dashboard.build(db, flt=flt, zones=zone_book(settings.elections_dir, settings.default_timezone))
    weekly = charts.columns([w.label for w in data.by_week],
                            [charts.Series("Semua indikasi", charts.MUTED, [w.total for w in data.by_week]),
                             charts.Series("Dikonfirmasi peninjau", charts.PRIMARY,
                                           [w.confirmed for w in data.by_week])],
                            title="Indikasi per minggu (menurut waktu unggah)")
    units = charts.hbars([(u.unit, u.total, u.confirmed) for u in data.by_unit[:15]],
                         title="Indikasi per unit kerja", names=("Semua indikasi", "Dikonfirmasi"))
    filters = {"election": election, "unit": unit, "status": flt.status or "", "category": flt.category or "",
               "date_from": flt.date_from.isoformat() if flt.date_from else "",
               "date_to": flt.date_to.isoformat() if flt.date_to else "",
               "by": by if by in RecapGroup.values() else RecapGroup.UNIT.value}
    return render(request, "dashboard.html", {"data": data, "weekly_chart": weekly, "unit_chart": units,
                                              "election": election, "filters": filters, "statuses": STATUSES,
                                              "categories": CATEGORIES, "groups": RecapGroup.labels(),
                                              "units": queue.facets(db).units, "can_export": user.role in EXPORT,
                                              "grants": dashboard.privilege_grants(db)}, user=user)


@router.get("/dashboard/export")
def export(request: Request, format: str = "xlsx", by: str = RecapGroup.UNIT.value, election: str = "",
           unit: str = "", status: str = "", category: str = "", date_from: str = "", date_to: str = "",
           detail: bool = False, user: User = Depends(exporters), db: Session = Depends(get_db)) -> Response:
    """The recap file for the dashboard's current filter (the same service as ``netral export recap``)."""
    if format not in exports.FORMATS or by not in RecapGroup.values():
        return review_error_response(request, ReviewError("format atau pengelompokan rekap tidak dikenal"), user)
    flt = _filter(election, unit, status, category, date_from, date_to)
    try:
        made = exports.export_recap(db, settings_of(request), user=user, flt=flt, group=RecapGroup(by),
                                    fmt=format, detail=detail)  # type: ignore[arg-type]
        db.commit()
    except ReviewError as exc:
        db.rollback()
        return review_error_response(request, exc, user)
    return Response(made.data, media_type=made.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{made.filename}"',
                             "Cache-Control": "no-store"})
