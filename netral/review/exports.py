"""XLSX and CSV exports of a recap: the files an inspectorate forwards and files away.

The dashboard's download buttons and ``netral export recap`` call :func:`export_recap`, so both produce
the same file for the same filter. Three things matter beyond the numbers:

* **Post text is hostile.** A spreadsheet evaluates a cell that starts with ``=``, ``+``, ``-`` or ``@``
  (and tab or carriage return) as a formula, so a post reading ``=HYPERLINK(...)`` would run in the
  reader's Excel (CSV/formula injection). In CSV such a cell gets a leading apostrophe; in XLSX it is
  written as a text cell with Excel's quote prefix, which shows the text as written and never evaluates
  it. Characters XLSX cannot hold (control characters) are replaced, not allowed to break the file.
* **Excel reads it as intended.** CSV is UTF-8 with a byte-order mark (without it Excel reads UTF-8 as
  the local code page); XLSX has a header row, frozen panes, column widths and a totals row.
* **Personal data leaves the system.** Every export is recorded in the audit log (who, filter, size),
  and a file written by the CLI appears whole or not at all (``atomic_write_bytes``).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from netral import audit
from netral.atomic import atomic_write_bytes
from netral.db.schema import User
from netral.db.types import utcnow
from netral.localtime import abbreviation, to_local
from netral.review import recap
from netral.review.roles import EXPORT, require_role
from netral.review.zones import zone_book
from netral.settings import Settings
from netral.vocabulary import FlagStatus, RecapGroup

ExportFormat = Literal["xlsx", "csv"]
FORMATS: tuple[ExportFormat, ...] = ("xlsx", "csv")
MEDIA_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "csv": "text/csv; charset=utf-8"}

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_CELL = 32_767  # Excel's limit on characters in one cell
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
MAX_WIDTH = 60

DETAIL_HEADER = ("No. indikasi", "Status", "Pemilu/Pilkada", "Unit kerja", "NIP", "Nama", "Jabatan", "Platform",
                 "URL unggahan", "Waktu unggah", "Zona", "Kategori", "Skor model", "Nomor laporan", "Teks unggahan")


def escape_formula(value: str) -> str:
    """A CSV cell that a spreadsheet will show as text, never evaluate."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _recap_header(group: RecapGroup) -> list[str]:
    return [group.label, "Total indikasi", *FlagStatus.labels().values()]


def _recap_values(row: recap.RecapRow) -> list[Any]:
    return [row.label, row.total, *(row.counts.get(s, 0) for s in FlagStatus.values())]


def _detail_values(row: recap.FlagRow) -> list[Any]:
    return [row.flag_id, FlagStatus.label_of(row.status), row.election, row.unit, row.nip, row.name, row.position,
            row.platform, row.url, row.posted_local, row.zone, row.category, round(row.score, 4), row.report_number,
            row.text]


# --- CSV -----------------------------------------------------------------------------------------------

def _csv_cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, str):
        return escape_formula(value)
    return value


def render_csv(data: recap.Recap, *, detail: bool = False, delimiter: str = ",") -> bytes:
    """The recap table with its totals row (or, with ``detail``, one row per flag), UTF-8 with BOM."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    if detail:
        writer.writerow(DETAIL_HEADER)
        writer.writerows([_csv_cell(v) for v in _detail_values(r)] for r in data.detail)
    else:
        writer.writerow(_csv_cell(v) for v in _recap_header(data.group))
        writer.writerows([_csv_cell(v) for v in _recap_values(r)] for r in data.rows)
        writer.writerow(_csv_cell(v) for v in _recap_values(data.totals))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


# --- XLSX ----------------------------------------------------------------------------------------------

_BOLD = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="DCE4EE")
_TOP = Border(top=Side(style="thin"))


def _xlsx_text(value: str) -> str:
    return _XLSX_ILLEGAL.sub("\ufffd", value)[:XLSX_MAX_CELL]


def _put(ws: Any, row: int, col: int, value: Any) -> Any:
    """Write one cell; a string is always a text cell (never a formula), quote-prefixed when it would
    otherwise look like one."""
    if isinstance(value, str):
        text = _xlsx_text(value)
        cell = ws.cell(row=row, column=col)
        cell.value = text
        cell.data_type = "s"  # openpyxl would make "=..." a formula
        if text.startswith(FORMULA_START):
            cell.quotePrefix = True
        return cell
    cell = ws.cell(row=row, column=col, value=value)
    if isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    return cell


def _header(ws: Any, names: list[str] | tuple[str, ...]) -> None:
    for col, name in enumerate(names, start=1):
        cell = _put(ws, 1, col, name)
        cell.font = _BOLD
        cell.fill = _HEAD_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)


def _widths(ws: Any, columns: list[list[Any]]) -> None:
    for col, values in enumerate(columns, start=1):
        longest = max((len(v.strftime("%Y-%m-%d %H:%M")) if isinstance(v, datetime) else len(str(v))
                       for v in values if v is not None), default=8)
        ws.column_dimensions[get_column_letter(col)].width = min(max(longest + 2, 8), MAX_WIDTH)


def render_xlsx(data: recap.Recap, *, generated_at: datetime, generated_by: str, tz: str) -> bytes:
    """Three sheets: *Rekap* (the grouped counts and a totals row), *Rincian* (one row per flag) and
    *Keterangan* (filter, period, time zones, who made the file and when)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Rekap"
    header = _recap_header(data.group)
    _header(ws, header)
    body = [_recap_values(r) for r in data.rows]
    for r, values in enumerate(body, start=2):
        for c, value in enumerate(values, start=1):
            _put(ws, r, c, value)
    total_row = len(body) + 2
    for c, value in enumerate(_recap_values(data.totals), start=1):
        cell = _put(ws, total_row, c, value)
        cell.font = _BOLD
        cell.border = _TOP
    ws.freeze_panes = "B2"
    _widths(ws, [list(col) for col in zip(header, *body, _recap_values(data.totals), strict=True)])

    ws2 = wb.create_sheet("Rincian")
    _header(ws2, DETAIL_HEADER)
    rows = [_detail_values(r) for r in data.detail]
    for r, values in enumerate(rows, start=2):
        for c, value in enumerate(values, start=1):
            cell = _put(ws2, r, c, value)
            if c == len(DETAIL_HEADER):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws2.freeze_panes = "A2"
    ws2.auto_filter.ref = f"A1:{get_column_letter(len(DETAIL_HEADER))}{max(len(rows) + 1, 1)}"
    _widths(ws2, [list(col) for col in zip(DETAIL_HEADER, *rows, strict=True)])

    ws3 = wb.create_sheet("Keterangan")
    local = to_local(generated_at, tz)
    notes: list[tuple[str, str]] = [
        ("Rekap indikasi Netral", ""),
        ("Dikelompokkan menurut", data.group.label),
        *data.flt.describe(),
        ("Jumlah indikasi", str(data.totals.total)),
        ("Dibuat", f"{local.strftime('%Y-%m-%d %H:%M')} {abbreviation(local)}"),
        ("Dibuat oleh", generated_by),
        ("Waktu", "Tanggal dan jam unggahan menurut zona waktu pemilu/pilkada masing-masing (kolom Zona)."),
        ("Kategori", "Kategori yang dipilih peninjau; sebelum ditinjau, kategori dengan skor model tertinggi."),
        ("Teks", "Sel yang diawali = + - @ disimpan sebagai teks dan tidak pernah dihitung sebagai rumus."),
    ]
    for r, (label, value) in enumerate(notes, start=1):
        _put(ws3, r, 1, label).font = _BOLD
        _put(ws3, r, 2, value)
    ws3.column_dimensions["A"].width = 24
    ws3.column_dimensions["B"].width = 90

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- the service ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExportFile:
    filename: str
    media_type: str
    data: bytes
    flags: int


def export_recap(session: Session, settings: Settings, *, user: User | None, flt: recap.RecapFilter,
                 group: RecapGroup, fmt: ExportFormat, detail: bool = False,
                 delimiter: str | None = None) -> ExportFile:
    """The export file for ``flt`` grouped by ``group``; audited in the caller's transaction (commit it).

    ``user`` is the signed-in person (supervisor or admin); ``None`` is the local operator at the console,
    who holds the database anyway (recorded as ``cli``).
    """
    if user is not None:
        require_role(user, EXPORT, "mengunduh rekap")
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    zones = zone_book(settings.elections_dir, settings.default_timezone)
    data = recap.build(session, flt, group, zones)
    now = utcnow()
    actor = user.username if user is not None else "cli"
    if fmt == "xlsx":
        payload = render_xlsx(data, generated_at=now, generated_by=actor, tz=settings.default_timezone)
    else:
        payload = render_csv(data, detail=detail, delimiter=delimiter or settings.export_csv_delimiter)
    stamp = to_local(now, settings.default_timezone).strftime("%Y%m%d-%H%M")
    kind = "rincian" if detail and fmt == "csv" else "rekap"
    name = f"netral-{kind}-{group.value}-{stamp}.{fmt}"
    audit.append(session, actor=actor, action="export.recap", entity="export", entity_id=group.value,
                 after={"format": fmt, "group": group.value, "detail": detail or fmt == "xlsx",
                        "filter": data.flt.as_dict(), "flags": data.totals.total, "bytes": len(payload)})
    return ExportFile(name, MEDIA_TYPES[fmt], payload, data.totals.total)


def write_export(path: Path, export: ExportFile) -> Path:
    """Write the file whole or not at all (a crash leaves the old file or none, never half a file)."""
    atomic_write_bytes(path, export.data)
    return path
