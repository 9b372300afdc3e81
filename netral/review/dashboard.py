"""Figures for the supervisors' dashboard: where the flags are and what people made of them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from netral.db.schema import AuditRecord, Flag, User
from netral.db.types import utcnow
from netral.review import recap
from netral.review.queue import STATUSES, top_category
from netral.review.zones import ZoneBook
from netral.vocabulary import OPEN_STATUSES, FlagStatus

# A flag counts as "confirmed by people" once a reviewer confirmed it, whatever happened after.
HUMAN_CONFIRMED = (FlagStatus.CONFIRMED, FlagStatus.VERIFIED, FlagStatus.REPORTED)


@dataclass
class UnitRow:
    unit: str
    total: int = 0
    open: int = 0
    confirmed: int = 0


@dataclass
class WeekRow:
    week_start: date
    total: int = 0
    confirmed: int = 0

    @property
    def label(self) -> str:
        return self.week_start.strftime("%d/%m")


@dataclass
class Dashboard:
    by_status: dict[str, int]
    by_unit: list[UnitRow]
    by_category: dict[str, int]
    by_week: list[WeekRow]
    total: int = 0
    elections: list[str] = field(default_factory=list)


def build(session: Session, *, election: str | None = None, weeks: int = 12, flt: recap.RecapFilter | None = None,
          zones: ZoneBook | None = None) -> Dashboard:
    """All counts from one pass over the flags (thousands, not millions, per election).

    ``flt`` is the dashboard's filter (the same one its download buttons export); weeks are counted on the
    clock of each flag's election (``zones``; WIB without one).
    """
    flt = flt or recap.RecapFilter(election=election)
    zones = zones or ZoneBook({}, "Asia/Jakarta")
    by_status: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    units: dict[str, UnitRow] = {}
    week_rows: dict[date, WeekRow] = {}
    total = 0
    for flag, _post, account, local_time in recap.matching(session, flt, zones):
        unit = account.unit
        total += 1
        by_status[flag.status] += 1
        row = units.setdefault(unit, UnitRow(unit))
        row.total += 1
        row.open += flag.status in OPEN_STATUSES
        confirmed = flag.status in HUMAN_CONFIRMED
        row.confirmed += confirmed
        if confirmed:
            by_category[top_category(flag) or "—"] += 1
        local = local_time.date()
        monday = local - timedelta(days=local.weekday())
        week = week_rows.setdefault(monday, WeekRow(monday))
        week.total += 1
        week.confirmed += confirmed
    ordered_weeks = sorted(week_rows.values(), key=lambda w: w.week_start)[-weeks:]
    # Fill empty weeks so the chart's time axis is honest.
    if ordered_weeks:
        filled: list[WeekRow] = []
        cursor = ordered_weeks[0].week_start
        while cursor <= ordered_weeks[-1].week_start:
            filled.append(week_rows.get(cursor, WeekRow(cursor)))
            cursor += timedelta(days=7)
        ordered_weeks = filled[-weeks:]
    elections = sorted(e for e in session.scalars(select(Flag.election).distinct()) if e)
    return Dashboard(
        by_status={s: by_status.get(s, 0) for s in STATUSES},
        by_unit=sorted(units.values(), key=lambda r: (-r.total, r.unit)),
        by_category=dict(by_category.most_common()),
        by_week=ordered_weeks,
        total=total,
        elections=elections,
    )


@dataclass(frozen=True)
class PrivilegeGrant:
    at: datetime
    actor: str
    username: str
    role: str
    action: str


PRIVILEGED_ROLES = ("supervisor", "admin")


def privilege_grants(session: Session, *, days: int = 30, now: datetime | None = None) -> list[PrivilegeGrant]:
    """Accounts that received the supervisor or admin role lately, newest first, from the audit log.

    A supervisor verifies cases; one admin could otherwise invite a second identity and verify alone
    (issue 11, finding 3). Shown on everyone's dashboard so a new supervisor is noticed by colleagues.
    """
    since = (now or utcnow()) - timedelta(days=days)
    rows = session.scalars(select(AuditRecord).where(AuditRecord.at >= since,
                                                     AuditRecord.action.in_(("user.create", "user.role_change")))
                           .order_by(AuditRecord.id.desc()).limit(200))
    grants: list[PrivilegeGrant] = []
    for rec in rows:
        after = rec.after or {}
        role = str(after.get("role", ""))
        if role not in PRIVILEGED_ROLES:
            continue
        username = str(after.get("username") or "")
        if not username:
            user = session.get(User, int(rec.entity_id)) if rec.entity_id.isdigit() else None
            username = user.username if user is not None else f"#{rec.entity_id}"
        grants.append(PrivilegeGrant(rec.at, rec.actor, username, role, rec.action))
    return grants
