"""The ASN roster: who is in scope.

Only posts by handles on the roster are ever stored, so the roster is the legal boundary of the
processing (UU PDP: purpose limitation). NIPs are validated structurally because a mistyped NIP
would attach a report to the wrong person.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from netral.db.schema import Account, Handle
from netral.pipeline.textio import Rejection, read_text_lines

PLATFORMS = {"twitter", "facebook", "instagram", "tiktok", "telegram", "mastodon", "youtube", "threads"}
PLATFORM_ALIASES = {"x": "twitter", "fb": "facebook", "ig": "instagram", "tg": "telegram"}
REQUIRED_COLUMNS = ("nip", "name", "unit", "position", "handles")


class NipError(ValueError):
    pass


def parse_nip(nip: str) -> tuple[date, date]:
    """Check an 18-digit NIP and return its (birth date, appointment month).

    Layout: YYYYMMDD birth, YYYYMM appointment (TMT CPNS), 1 digit sex (1/2), 3 digit serial.
    """
    if not re.fullmatch(r"\d{18}", nip):
        raise NipError(f"NIP harus 18 digit angka (dapat {len(nip)} karakter)")
    try:
        birth = date(int(nip[0:4]), int(nip[4:6]), int(nip[6:8]))
    except ValueError:
        raise NipError(f"tanggal lahir dalam NIP tidak valid: {nip[0:8]}") from None
    try:
        appointed = date(int(nip[8:12]), int(nip[12:14]), 1)
    except ValueError:
        raise NipError(f"TMT pengangkatan dalam NIP tidak valid: {nip[8:14]}") from None
    if nip[14] not in "12":
        raise NipError(f"digit jenis kelamin dalam NIP harus 1 atau 2, bukan {nip[14]}")
    if appointed <= birth:
        raise NipError("TMT pengangkatan dalam NIP tidak boleh sebelum tanggal lahir")
    return birth, appointed


def normalise_platform(platform: str) -> str:
    p = platform.strip().lower()
    p = PLATFORM_ALIASES.get(p, p)
    if p not in PLATFORMS:
        raise ValueError(f"platform tidak dikenal: {platform!r} (pilihan: {', '.join(sorted(PLATFORMS))})")
    return p


def normalise_handle(handle: str) -> str:
    """Handles compare case-insensitively and without the leading '@' most exports add."""
    h = handle.strip().lstrip("@").lower()
    if not h or any(c.isspace() for c in h):
        raise ValueError(f"handle tidak valid: {handle!r}")
    return h


def parse_handles(value: str) -> list[tuple[str, str]]:
    """``twitter:@budi; instagram:budi.s`` → [("twitter", "budi"), ("instagram", "budi.s")]."""
    out: list[tuple[str, str]] = []
    for part in value.split(";"):
        if not part.strip():
            continue
        if ":" not in part:
            raise ValueError(f"handle harus berbentuk platform:nama, dapat {part.strip()!r}")
        platform, handle = part.split(":", 1)
        out.append((normalise_platform(platform), normalise_handle(handle)))
    if not out:
        raise ValueError("minimal satu handle media sosial")
    return out


@dataclass
class RosterRow:
    line: int
    nip: str
    name: str
    unit: str
    position: str
    handles: list[tuple[str, str]]
    birth: date
    appointed: date


@dataclass
class RosterResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejections


def parse_roster_csv(path: Path) -> tuple[list[RosterRow], list[Rejection]]:
    lines, rejections = read_text_lines(path)
    text = "".join(line for _, line in lines)
    line_numbers = [n for n, _ in lines]
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        return [], [*rejections, Rejection(str(path), 1, ",".join(missing), "kolom wajib tidak ada di header")]
    rows: list[RosterRow] = []
    seen_nip: dict[str, int] = {}
    for raw in reader:
        line = line_numbers[min(reader.line_num, len(line_numbers)) - 1] if line_numbers else reader.line_num
        try:
            nip = (raw.get("nip") or "").strip()
            try:
                birth, appointed = parse_nip(nip)
            except NipError as exc:
                raise _FieldError("nip", str(exc)) from None
            if nip in seen_nip:
                raise _FieldError("nip", f"NIP ganda, sudah ada di baris {seen_nip[nip]}")
            for col in ("name", "unit"):
                if not (raw.get(col) or "").strip():
                    raise _FieldError(col, "wajib diisi")
            try:
                handles = parse_handles(raw.get("handles") or "")
            except ValueError as exc:
                raise _FieldError("handles", str(exc)) from None
        except _FieldError as exc:
            rejections.append(Rejection(str(path), line, exc.field, exc.reason))
            continue
        seen_nip[nip] = line
        rows.append(RosterRow(line, nip, raw["name"].strip(), raw["unit"].strip(),
                              (raw.get("position") or "").strip(), handles, birth, appointed))
    return rows, rejections


class _FieldError(Exception):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


def upsert_roster(session: Session, rows: Iterable[RosterRow], source: str) -> RosterResult:
    """Create or update accounts by NIP; a handle may belong to one account only.

    A handle claimed by another NIP rejects the row rather than moving the handle silently, since
    that would re-attribute stored posts to a different person.
    """
    result = RosterResult()
    for row in rows:
        owner_conflict = None
        for platform, handle in row.handles:
            existing = session.scalars(select(Handle).where(Handle.platform == platform,
                                                            Handle.handle == handle)).first()
            if existing is not None and existing.account.nip != row.nip:
                owner_conflict = f"{platform}:{handle} sudah terdaftar untuk NIP {existing.account.nip}"
                break
        if owner_conflict:
            result.rejections.append(Rejection(source, row.line, "handles", owner_conflict))
            continue
        acc = session.scalars(select(Account).options(selectinload(Account.handles))
                              .where(Account.nip == row.nip)).first()
        wanted = set(row.handles)
        if acc is None:
            acc = Account(nip=row.nip, name=row.name, unit=row.unit, position=row.position,
                          birth_date=row.birth, appointed=row.appointed)
            acc.handles = [Handle(platform=p, handle=h) for p, h in sorted(wanted)]
            session.add(acc)
            result.created += 1
        else:
            have = {(h.platform, h.handle) for h in acc.handles}
            fields_same = (acc.name, acc.unit, acc.position) == (row.name, row.unit, row.position)
            if fields_same and have == wanted:
                result.unchanged += 1
                continue
            acc.name, acc.unit, acc.position = row.name, row.unit, row.position
            acc.handles = [h for h in acc.handles if (h.platform, h.handle) in wanted]
            acc.handles += [Handle(platform=p, handle=h) for p, h in sorted(wanted - have)]
            result.updated += 1
        session.flush()
    return result


def import_roster(session: Session, path: Path) -> RosterResult:
    rows, rejections = parse_roster_csv(path)
    result = upsert_roster(session, rows, str(path))
    result.rejections = rejections + result.rejections
    return result


def list_accounts(session: Session, unit: str | None = None) -> list[Account]:
    stmt = select(Account).options(selectinload(Account.handles)).order_by(Account.unit, Account.name)
    if unit:
        stmt = stmt.where(Account.unit == unit)
    return list(session.scalars(stmt))
