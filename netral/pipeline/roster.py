"""The roster: who is in scope, and how each person is identified.

Only posts by handles on the roster are ever stored, so the roster is the legal boundary of the
processing (UU PDP: purpose limitation). Numbers are validated structurally because a mistyped number
would attach a report to the wrong person, and each employment type has its own number:

* **PNS**: the 18-digit NIP (Peraturan Kepala BKN 22/2007 and 43/2007): birth date ``YYYYMMDD``,
  TMT CPNS ``YYYYMM``, sex (1 male, 2 female), a 3-digit serial.
* **PPPK**: the 18-digit NI PPPK. BKN (Kantor Regional I Yogyakarta, 2022, under Peraturan BKN 1/2019)
  lists its content as birth date, year of first appointment as calon PPPK, "jumlah perjanjian kerja",
  sex and serial; examples published in the press and by PPPK applicants put them at digits 1-8
  (``YYYYMMDD``), 9-12 (``YYYY``), 13-14 (a code, seen as 21, and 24 for part-time PPPK: *not* a month),
  15 (1/2) and 16-18.
  Belum terkonfirmasi: the digit positions come from those examples and secondary sources, not from the
  BKN regulation's text; what the values of digits 13-14 mean (the "jumlah perjanjian kerja"; 24 said to
  mark part-time PPPK) is not confirmed, so any two digits are accepted there. An appointment year before
  2018 is refused: PPPK exist since PP 49/2018.
* **Non-ASN** (honorer/PPNPN, bound by SE MenPANRB 01/2023): no national number. They are identified by
  the institution's own staff number (``employee_number``), never by a NIK (data minimisation, UU PDP).

Deactivated accounts stay on the roster with their stored posts; ingestion refuses their new posts like
those of someone not on the roster (``netral.pipeline.ingest``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from netral import audit
from netral.db.schema import Account, Handle
from netral.db.types import utcnow
from netral.pipeline.textio import Rejection, read_text_lines
from netral.vocabulary import EmploymentType

PLATFORMS = {"twitter", "facebook", "instagram", "tiktok", "telegram", "mastodon", "youtube", "threads"}
PLATFORM_ALIASES = {"x": "twitter", "fb": "facebook", "ig": "instagram", "tg": "telegram"}
# The header must name these, and ``nip`` or ``employee_number`` (a roster of non-ASN staff has no NIPs).
REQUIRED_COLUMNS = ("name", "unit", "handles")
ID_COLUMNS = ("nip", "employee_number")
OPTIONAL_COLUMNS = ("position", "employment_type", "rank_grade", "superior_nip", "ppk")
# Spellings an export may use for the employment type, besides the values themselves.
EMPLOYMENT_ALIASES = {"cpns": EmploymentType.PNS, "p3k": EmploymentType.PPPK, "non-asn": EmploymentType.NON_ASN,
                      "non asn": EmploymentType.NON_ASN, "nonasn": EmploymentType.NON_ASN,
                      "honorer": EmploymentType.NON_ASN, "ppnpn": EmploymentType.NON_ASN,
                      "thl": EmploymentType.NON_ASN}
PPPK_FIRST_YEAR = 2018  # PP 49/2018 created PPPK; no NI PPPK can carry an earlier appointment year
MAX_LENGTHS = {"name": 200, "unit": 200, "position": 200, "rank_grade": 100, "ppk": 200, "employee_number": 64}
_EMPLOYEE_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9./_-]*")


class NipError(ValueError):
    pass


@dataclass(frozen=True)
class NumberInfo:
    """What an 18-digit NIP or NI PPPK says about its holder."""

    employment_type: EmploymentType
    birth: date
    appointed: date  # PNS: first day of the TMT month; PPPK: 1 January of the appointment year
    sex: str  # "1" male, "2" female
    serial: str
    code: str | None = None  # NI PPPK digits 13-14


def _digits(number: str, what: str) -> None:
    if not re.fullmatch(r"\d{18}", number):
        raise NipError(f"{what} harus 18 digit angka (dapat {len(number)} karakter)")


def _birth(number: str, what: str) -> date:
    try:
        return date(int(number[0:4]), int(number[4:6]), int(number[6:8]))
    except ValueError:
        raise NipError(f"tanggal lahir dalam {what} tidak valid: {number[0:8]}") from None


def _sex(number: str, what: str) -> str:
    if number[14] not in "12":
        raise NipError(f"digit jenis kelamin dalam {what} harus 1 atau 2, bukan {number[14]}")
    return number[14]


def parse_pns_nip(nip: str) -> NumberInfo:
    """A PNS NIP: ``YYYYMMDD`` birth, ``YYYYMM`` TMT CPNS, sex (1/2), 3-digit serial."""
    _digits(nip, "NIP")
    birth = _birth(nip, "NIP")
    try:
        appointed = date(int(nip[8:12]), int(nip[12:14]), 1)
    except ValueError:
        hint = ("" if 1 <= int(nip[12:14]) <= 12 else
                "; digit 13-14 bukan bulan: bila ini NI PPPK, isi kolom employment_type dengan pppk")
        raise NipError(f"TMT pengangkatan dalam NIP tidak valid: {nip[8:14]}{hint}") from None
    sex = _sex(nip, "NIP")
    if appointed <= birth:
        raise NipError("TMT pengangkatan dalam NIP tidak boleh sebelum tanggal lahir")
    return NumberInfo(EmploymentType.PNS, birth, appointed, sex, nip[15:18])


def parse_nip(nip: str) -> tuple[date, date]:
    """Check an 18-digit PNS NIP and return its (birth date, appointment month)."""
    info = parse_pns_nip(nip)
    return info.birth, info.appointed


def parse_ni_pppk(ni: str, *, today: date | None = None) -> NumberInfo:
    """An NI PPPK: ``YYYYMMDD`` birth, ``YYYY`` appointment year, a 2-digit code, sex (1/2), 3-digit serial.

    Digits 13-14 are not read as a month (see the module docstring: their meaning is belum terkonfirmasi).
    """
    _digits(ni, "NI PPPK")
    birth = _birth(ni, "NI PPPK")
    year = int(ni[8:12])
    latest = (today or date.today()).year + 1
    if not PPPK_FIRST_YEAR <= year <= latest:
        raise NipError(f"tahun pengangkatan dalam NI PPPK tidak valid: {ni[8:12]} (PPPK ada sejak PP 49/2018; "
                       f"harus {PPPK_FIRST_YEAR}–{latest}); bila ini NIP PNS, isi kolom employment_type dengan pns")
    if year <= birth.year:
        raise NipError("tahun pengangkatan dalam NI PPPK tidak boleh sebelum tahun lahir")
    sex = _sex(ni, "NI PPPK")
    return NumberInfo(EmploymentType.PPPK, birth, date(year, 1, 1), sex, ni[15:18], code=ni[12:14])


def parse_asn_number(number: str, employment_type: str) -> NumberInfo:
    """The NIP or NI PPPK read the way its holder's employment type says; non-ASN staff have none."""
    kind = EmploymentType(employment_type)
    if kind is EmploymentType.PPPK:
        return parse_ni_pppk(number)
    if kind is EmploymentType.PNS:
        return parse_pns_nip(number)
    raise NipError("pegawai non-ASN (honorer/PPNPN) tidak memiliki NIP; gunakan nomor pegawai (employee_number)")


def parse_superior_nip(nip: str) -> str:
    """A direct superior's number: a valid NIP or NI PPPK (the roster does not say which)."""
    nip = nip.strip()
    try:
        parse_pns_nip(nip)
    except NipError as pns_error:
        try:
            parse_ni_pppk(nip)
        except NipError:
            raise NipError(f"bukan NIP/NI PPPK yang valid: {pns_error}") from None
    return nip


def parse_employment_type(value: str) -> EmploymentType:
    text = value.strip().lower()
    if not text:
        return EmploymentType.PNS  # rosters written before the column existed list PNS only
    if text in EmploymentType.values():
        return EmploymentType(text)
    if text in EMPLOYMENT_ALIASES:
        return EMPLOYMENT_ALIASES[text]
    raise ValueError(f"jenis kepegawaian tidak dikenal: {value.strip()!r} "
                     f"(pilihan: {', '.join(EmploymentType.values())}; juga honorer, ppnpn, p3k)")


def parse_employee_number(value: str) -> str:
    """The institution's staff number for someone without a NIP; refused if it looks like a NIK."""
    text = value.strip()
    if len(text) > MAX_LENGTHS["employee_number"]:
        raise ValueError(f"terlalu panjang ({len(text)} > {MAX_LENGTHS['employee_number']} karakter)")
    if not _EMPLOYEE_NUMBER.fullmatch(text):
        raise ValueError("hanya huruf, angka, titik, garis miring, garis bawah dan tanda hubung")
    if re.fullmatch(r"\d{16}", text):
        raise ValueError("16 digit angka menyerupai NIK; Netral tidak menyimpan NIK (UU PDP), gunakan nomor "
                         "pegawai dari instansi")
    return text


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
    """One person as a roster file lists them (the first eight fields in the order they always had)."""

    line: int
    nip: str | None
    name: str
    unit: str
    position: str
    handles: list[tuple[str, str]]
    birth: date | None
    appointed: date | None
    employee_number: str | None = None
    employment_type: EmploymentType = EmploymentType.PNS
    rank_grade: str = ""
    superior_nip: str | None = None
    ppk: str = ""

    @property
    def key(self) -> str:
        return self.nip or f"no. pegawai {self.employee_number}"


@dataclass
class RosterResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejections


class _FieldError(Exception):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


def _text(raw: dict[str, str | None], column: str, *, required: bool = False) -> str:
    value = (raw.get(column) or "").strip()
    if required and not value:
        raise _FieldError(column, "wajib diisi")
    if "\x00" in value:
        raise _FieldError(column, "mengandung karakter NUL")
    limit = MAX_LENGTHS.get(column)
    if limit is not None and len(value) > limit:
        raise _FieldError(column, f"terlalu panjang ({len(value)} > {limit} karakter)")
    return value


def parse_row(raw: dict[str, str | None], line: int) -> RosterRow:
    """One CSV row checked field by field; ``_FieldError`` names the first field at fault."""
    try:
        kind = parse_employment_type(raw.get("employment_type") or "")
    except ValueError as exc:
        raise _FieldError("employment_type", str(exc)) from None
    nip = _text(raw, "nip") or None
    employee_number = _text(raw, "employee_number") or None
    birth = appointed = None
    if kind is EmploymentType.NON_ASN:
        if nip:
            raise _FieldError("nip", "pegawai non-ASN (honorer/PPNPN) tidak memiliki NIP; kosongkan kolom nip dan "
                                     "isi employee_number")
        if not employee_number:
            raise _FieldError("employee_number", "wajib diisi untuk non-ASN: nomor pegawai dari instansi (bukan NIK)")
    else:
        if not nip:
            number = "NI PPPK" if kind is EmploymentType.PPPK else "NIP"
            raise _FieldError("nip", f"wajib diisi untuk {kind.label} ({number})")
        try:
            info = parse_asn_number(nip, kind)
        except NipError as exc:
            raise _FieldError("nip", str(exc)) from None
        birth, appointed = info.birth, info.appointed
    if employee_number:
        try:
            employee_number = parse_employee_number(employee_number)
        except ValueError as exc:
            raise _FieldError("employee_number", str(exc)) from None
    name = _text(raw, "name", required=True)
    unit = _text(raw, "unit", required=True)
    position = _text(raw, "position")
    rank_grade = _text(raw, "rank_grade")
    ppk = _text(raw, "ppk")
    superior = _text(raw, "superior_nip") or None
    if superior:
        try:
            superior = parse_superior_nip(superior)
        except NipError as exc:
            raise _FieldError("superior_nip", str(exc)) from None
        if superior == nip:
            raise _FieldError("superior_nip", "atasan langsung tidak boleh orang yang sama")
    try:
        handles = parse_handles(raw.get("handles") or "")
    except ValueError as exc:
        raise _FieldError("handles", str(exc)) from None
    return RosterRow(line, nip, name, unit, position, handles, birth, appointed, employee_number=employee_number,
                     employment_type=kind, rank_grade=rank_grade, superior_nip=superior, ppk=ppk)


def parse_roster_csv(path: Path) -> tuple[list[RosterRow], list[Rejection]]:
    """Rows of a roster CSV. Columns: ``nip,name,unit,position,handles`` as before, plus the optional
    ``employment_type`` (pns/pppk/non_asn; empty = pns), ``employee_number``, ``rank_grade``,
    ``superior_nip`` and ``ppk``. A bad row is rejected with its line and field; the others are kept."""
    lines, rejections = read_text_lines(path)
    text = "".join(line for _, line in lines)
    line_numbers = [n for n, _ in lines]
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lstrip("\ufeff") for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if not any(c in header for c in ID_COLUMNS):
        missing.insert(0, "/".join(ID_COLUMNS))
    if missing:
        return [], [*rejections, Rejection(str(path), 1, ",".join(missing), "kolom wajib tidak ada di header")]
    rows: list[RosterRow] = []
    seen: dict[tuple[str, str], int] = {}
    for raw in reader:
        line = line_numbers[min(reader.line_num, len(line_numbers)) - 1] if line_numbers else reader.line_num
        if not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
            continue
        try:
            if any((v or "").strip() for v in raw.get(None) or []):  # type: ignore[call-overload]
                raise _FieldError("handles", "jumlah kolom lebih banyak dari header (pisahkan handle dengan ';')")
            row = parse_row(raw, line)
            for column, value in (("nip", row.nip), ("employee_number", row.employee_number)):
                if value and (column, value) in seen:
                    raise _FieldError(column, f"{value} ganda, sudah ada di baris {seen[(column, value)]}")
        except _FieldError as exc:
            rejections.append(Rejection(str(path), line, exc.field, exc.reason))
            continue
        for column, value in (("nip", row.nip), ("employee_number", row.employee_number)):
            if value:
                seen[(column, value)] = line
        rows.append(row)
    return rows, rejections


def _find(session: Session, row: RosterRow) -> Account | None:
    stmt = select(Account).options(selectinload(Account.handles))
    if row.nip:
        return session.scalars(stmt.where(Account.nip == row.nip)).first()
    return session.scalars(stmt.where(Account.employee_number == row.employee_number)).first()


_FIELDS = ("employee_number", "employment_type", "name", "unit", "position", "rank_grade", "superior_nip", "ppk")


def upsert_roster(session: Session, rows: Iterable[RosterRow], source: str) -> RosterResult:
    """Create or update accounts by NIP / NI PPPK, or by staff number for non-ASN staff.

    A handle or staff number claimed by another account rejects the row rather than moving it silently,
    since that would re-attribute stored posts to a different person. A deactivated account is updated
    but stays deactivated: only ``set_active`` changes that, with a reason.
    """
    result = RosterResult()
    for row in rows:
        acc = _find(session, row)
        conflict: tuple[str, str] | None = None
        for platform, handle in row.handles:
            existing = session.scalars(select(Handle).where(Handle.platform == platform,
                                                            Handle.handle == handle)).first()
            if existing is not None and (acc is None or existing.account_id != acc.id):
                conflict = ("handles", f"{platform}:{handle} sudah terdaftar untuk {existing.account.identifier}")
                break
        if conflict is None and row.employee_number:
            other = session.scalars(select(Account).where(Account.employee_number == row.employee_number)).first()
            if other is not None and (acc is None or other.id != acc.id):
                conflict = ("employee_number", f"nomor pegawai {row.employee_number} sudah dipakai {other.identifier}")
        if conflict:
            result.rejections.append(Rejection(source, row.line, *conflict))
            continue
        wanted = set(row.handles)
        values = {name: getattr(row, name) for name in _FIELDS}
        if acc is None:
            acc = Account(nip=row.nip, birth_date=row.birth, appointed=row.appointed, **values)
            acc.handles = [Handle(platform=p, handle=h) for p, h in sorted(wanted)]
            session.add(acc)
            result.created += 1
        else:
            have = {(h.platform, h.handle) for h in acc.handles}
            current = {name: getattr(acc, name) for name in _FIELDS}
            if row.employee_number is None:
                values["employee_number"] = current["employee_number"]  # an empty cell does not erase it
            if current == values and have == wanted and (acc.birth_date, acc.appointed) == (row.birth, row.appointed):
                result.unchanged += 1
                continue
            for name, value in values.items():
                setattr(acc, name, value)
            acc.birth_date, acc.appointed = row.birth, row.appointed
            acc.handles = [h for h in acc.handles if (h.platform, h.handle) in wanted]
            acc.handles += [Handle(platform=p, handle=h) for p, h in sorted(wanted - have)]
            result.updated += 1
        session.flush()
    return result


def import_roster(session: Session, path: Path, *, actor: str = "cli") -> RosterResult:
    """Parse and upsert one roster file; the import is audited (the roster decides who is monitored).
    The caller commits."""
    rows, rejections = parse_roster_csv(path)
    result = upsert_roster(session, rows, str(path))
    result.rejections = rejections + result.rejections
    audit.append(session, actor=actor, action="roster.import", entity="roster", entity_id=path.name[:64],
                 after={"source": str(path), "created": result.created, "updated": result.updated,
                        "unchanged": result.unchanged, "rejected": len(result.rejections)})
    return result


def list_accounts(session: Session, unit: str | None = None, *, active: bool | None = None) -> list[Account]:
    stmt = select(Account).options(selectinload(Account.handles)).order_by(Account.unit, Account.name)
    if unit:
        stmt = stmt.where(Account.unit == unit)
    if active is not None:
        stmt = stmt.where(Account.active.is_(active))
    return list(session.scalars(stmt))


def find_accounts(session: Session, ref: str) -> list[Account]:
    """Accounts whose NIP / NI PPPK or staff number is ``ref`` (two only if a staff number equals a NIP)."""
    ref = ref.strip()
    if not ref:
        return []
    return list(session.scalars(select(Account).options(selectinload(Account.handles))
                                .where(or_(Account.nip == ref, Account.employee_number == ref))
                                .order_by(Account.id)))


def set_active(session: Session, account: Account, active: bool, *, reason: str, actor: str) -> bool:
    """Deactivate or reactivate an account, audited; False if it already was in that state.

    Its stored posts are kept either way (deleting them is the retention rules' business); while
    deactivated, ingestion refuses its new posts and no complaint can be recorded about it.
    """
    if account.active == active:
        return False
    before = {"active": account.active, "deactivated_at": account.deactivated_at.isoformat()
              if account.deactivated_at else None}
    account.active = active
    account.deactivated_at = None if active else utcnow()
    account.deactivation_reason = None if active else reason
    session.flush()
    audit.append(session, actor=actor, action="account.reactivate" if active else "account.deactivate",
                 entity="account", entity_id=account.id, before=before,
                 after={"active": active, "identifier": account.identifier,
                        "employment_type": account.employment_type}, reason=reason)
    return True
