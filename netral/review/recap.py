"""Recaps (rekap): flags counted by unit, election, category, status or month, for a filter and period.

One function selects the flags and one groups them, so the dashboard, the XLSX/CSV export and the CLI
count the same way. Dates are the post's date on the clock of the election it belongs to (a post made at
23.30 WIB on 31 October is a 1 November post in a WITA election), which is why the period filter cannot
be a plain SQL range: the query selects a range one day wider on each side and the exact local date
decides here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from netral.db.schema import Account, Flag, Post, Report
from netral.localtime import abbreviation, to_local
from netral.review.present import month_label
from netral.review.queue import top_category
from netral.review.zones import ZoneBook
from netral.vocabulary import Category, FlagStatus, RecapGroup

NO_ELECTION = "(tanpa pemilu)"
NO_CATEGORY = "(tanpa kategori)"


@dataclass(frozen=True)
class RecapFilter:
    """What a recap covers; ``None`` means any. Dates are inclusive, on the election's own clock."""

    election: str | None = None
    unit: str | None = None
    status: str | None = None
    category: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def describe(self) -> list[tuple[str, str]]:
        """(label, value) pairs for the export's notes sheet and the CLI."""
        return [("Pemilu/Pilkada", self.election or "semua"), ("Unit kerja", self.unit or "semua"),
                ("Status", FlagStatus.label_of(self.status, "semua") if self.status else "semua"),
                ("Kategori", self.category or "semua"),
                ("Dari tanggal", self.date_from.isoformat() if self.date_from else "—"),
                ("Sampai tanggal", self.date_to.isoformat() if self.date_to else "—")]

    def as_dict(self) -> dict[str, str | None]:
        return {"election": self.election, "unit": self.unit, "status": self.status, "category": self.category,
                "date_from": self.date_from.isoformat() if self.date_from else None,
                "date_to": self.date_to.isoformat() if self.date_to else None}


@dataclass(frozen=True)
class FlagRow:
    """One flag as the detail sheet shows it; ``posted_local`` is naive, on the clock named by ``zone``."""

    flag_id: int
    status: str
    election: str
    unit: str
    nip: str
    name: str
    position: str
    platform: str
    url: str
    posted_local: datetime
    zone: str
    category: str
    score: float
    report_number: str
    text: str

    @property
    def local_date(self) -> date:
        return self.posted_local.date()


@dataclass
class RecapRow:
    key: str
    label: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FlagStatus.values(), 0))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Recap:
    group: RecapGroup
    flt: RecapFilter
    rows: list[RecapRow]
    totals: RecapRow
    detail: list[FlagRow]


def matching(session: Session, flt: RecapFilter, zones: ZoneBook) -> list[tuple[Flag, Post, Account, datetime]]:
    """Flags in the filter with their post, account and the post time on their election's clock."""
    stmt = (select(Flag, Post, Account).join(Post, Flag.post_id == Post.id).join(Account, Post.account_id == Account.id)
            .options(selectinload(Flag.reviews)).order_by(Flag.id))
    if flt.election:
        stmt = stmt.where(Flag.election == flt.election)
    if flt.unit:
        stmt = stmt.where(Account.unit == flt.unit)
    if flt.status:
        stmt = stmt.where(Flag.status == flt.status)
    # One day of slack either side covers every zone from UTC-12 to UTC+14; the local date decides below.
    if flt.date_from:
        stmt = stmt.where(Post.created_at >= datetime.combine(flt.date_from - timedelta(days=1), time.min, UTC))
    if flt.date_to:
        stmt = stmt.where(Post.created_at < datetime.combine(flt.date_to + timedelta(days=2), time.min, UTC))
    out = []
    for flag, post, account in session.execute(stmt).unique():
        local = to_local(post.created_at, zones.timezone(flag.election))
        day = local.date()
        if (flt.date_from and day < flt.date_from) or (flt.date_to and day > flt.date_to):
            continue
        if flt.category and top_category(flag) != flt.category:
            continue
        out.append((flag, post, account, local))
    return out


def _key(group: RecapGroup, flag: Flag, account: Account, local: datetime) -> tuple[str, str]:
    """(sort key, label) of the recap row a flag counts in."""
    if group is RecapGroup.UNIT:
        return account.unit, account.unit
    if group is RecapGroup.ELECTION:
        return flag.election or "", flag.election or NO_ELECTION
    if group is RecapGroup.CATEGORY:
        category = top_category(flag)
        if not category:
            return "", NO_CATEGORY
        return category, f"{category} — {Category.label_of(category)}"
    if group is RecapGroup.STATUS:
        return flag.status, FlagStatus.label_of(flag.status)
    return f"{local.year:04d}-{local.month:02d}", month_label(local.year, local.month)


def _order(group: RecapGroup, rows: Iterable[RecapRow]) -> list[RecapRow]:
    if group is RecapGroup.STATUS:
        rank = {s: i for i, s in enumerate(FlagStatus.values())}
        return sorted(rows, key=lambda r: (rank.get(r.key, len(rank)), r.key))
    if group is RecapGroup.CATEGORY:
        rank = {c: i for i, c in enumerate(Category.values())}
        return sorted(rows, key=lambda r: (rank.get(r.key, len(rank)), r.key))
    return sorted(rows, key=lambda r: r.key)  # units and elections alphabetically, months in time order


def build(session: Session, flt: RecapFilter, group: RecapGroup, zones: ZoneBook) -> Recap:
    """The recap rows, their totals and the detail rows (one per flag) for ``flt`` grouped by ``group``."""
    found = matching(session, flt, zones)
    numbers = dict(session.execute(select(Report.flag_id, Report.number)
                                   .where(Report.flag_id.in_([f.id for f, *_ in found]))).all()) if found else {}
    rows: dict[str, RecapRow] = {}
    totals = RecapRow("", "Jumlah")
    detail: list[FlagRow] = []
    for flag, post, account, local in found:
        key, label = _key(group, flag, account, local)
        row = rows.setdefault(key, RecapRow(key, label))
        row.counts[flag.status] = row.counts.get(flag.status, 0) + 1
        totals.counts[flag.status] = totals.counts.get(flag.status, 0) + 1
        detail.append(FlagRow(
            flag_id=flag.id, status=flag.status, election=flag.election or "", unit=account.unit, nip=account.nip,
            name=account.name, position=account.position or "", platform=post.platform, url=post.url or "",
            posted_local=local.replace(tzinfo=None), zone=abbreviation(local), category=top_category(flag) or "",
            score=float(flag.partisan_score), report_number=numbers.get(flag.id, ""), text=post.text))
    return Recap(group, flt, _order(group, rows.values()), totals, detail)
