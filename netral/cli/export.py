"""``netral export``: recap files (XLSX/CSV) through the same service as the dashboard's download buttons."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from netral.cli.common import console, fail
from netral.db.engine import session_factory
from netral.review import exports, recap
from netral.settings import get_settings
from netral.vocabulary import Category, FlagStatus, RecapGroup

app = typer.Typer(help="Ekspor: rekap indikasi dalam XLSX atau CSV.", no_args_is_help=True)

GROUP_CHOICES = ", ".join(f"`{value}` ({label.lower()})" for value, label in RecapGroup.labels().items())
STATUS_CHOICES = ", ".join(f"`{value}` ({label.lower()})" for value, label in FlagStatus.labels().items())
CATEGORY_CHOICES = ", ".join(f"`{value}` ({label.lower()})" for value, label in Category.labels().items())


@app.callback()
def _group() -> None:
    """Ekspor: rekap indikasi dalam XLSX atau CSV (filter dan periode seperti di dasbor)."""


def _day(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option}: tanggal harus berbentuk YYYY-MM-DD, tertulis {value!r}") from None


def _choice(value: str | None, allowed: tuple[str, ...], option: str) -> str | None:
    if value and value not in allowed:
        raise fail(f"{option}: {value!r} tidak dikenal (pilihan: {', '.join(allowed)})")
    return value or None


@app.command("recap")
def recap_command(
    out: Path = typer.Option(..., "--out", help="berkas keluaran (.xlsx/.csv), ditulis utuh atau tidak sama sekali"),
    fmt: str = typer.Option("", "--format", help="`xlsx` atau `csv` (bawaan: dari akhiran `--out`)"),
    by: str = typer.Option(RecapGroup.UNIT.value, "--by", help="kelompok rekap: " + GROUP_CHOICES),
    date_from: str | None = typer.Option(None, "--from", help="tanggal unggah paling awal (YYYY-MM-DD, zona pemilu)"),
    date_to: str | None = typer.Option(None, "--to", help="tanggal unggah paling akhir (YYYY-MM-DD, zona pemilu)"),
    election: str | None = typer.Option(None, "--election", help="id pemilu/pilkada"),
    unit: str | None = typer.Option(None, "--unit", help="unit kerja"),
    status: str | None = typer.Option(None, "--status", help="status indikasi: " + STATUS_CHOICES),
    category: str | None = typer.Option(None, "--category", help="kategori: " + CATEGORY_CHOICES),
    detail: bool = typer.Option(False, "--detail", help="CSV: satu baris per indikasi, bukan rekap"),
    delimiter: str | None = typer.Option(None, "--delimiter", help="pemisah CSV: `,` atau `;` (bawaan dari "
                                         "`NETRAL_EXPORT_CSV_DELIMITER`)"),
) -> None:
    """Tulis rekap indikasi (per unit, pemilu, kategori, status, atau bulan) ke OUT dan catat di log audit."""
    kind = (fmt or out.suffix.lstrip(".")).lower()
    if kind not in exports.FORMATS:
        raise fail(f"--format: pilih xlsx atau csv (tertulis {kind or 'kosong'!r})")
    group = _choice(by, RecapGroup.values(), "--by")
    if delimiter is not None and delimiter not in (",", ";"):
        raise fail(f"--delimiter: pilih ',' atau ';' (tertulis {delimiter!r})")
    flt = recap.RecapFilter(election=election or None, unit=unit or None,
                            status=_choice(status, FlagStatus.values(), "--status"),
                            category=_choice(category, Category.values(), "--category"),
                            date_from=_day(date_from, "--from"), date_to=_day(date_to, "--to"))
    if flt.date_from and flt.date_to and flt.date_from > flt.date_to:
        raise fail("--from jatuh setelah --to")
    settings = get_settings()
    with session_factory(settings.db_url)() as session:
        made = exports.export_recap(session, settings, user=None, flt=flt, group=RecapGroup(group),
                                    fmt=kind,  # type: ignore[arg-type]
                                    detail=detail, delimiter=delimiter)
        try:
            exports.write_export(out, made)
        except OSError as exc:
            session.rollback()
            raise fail(f"{out}: tidak dapat ditulis ({exc.strerror or exc})") from None
        try:
            session.commit()  # the audit record of the export
        except BaseException:
            out.unlink(missing_ok=True)  # no file leaves without its audit record
            raise
    console.print(f"{made.flags} indikasi direkap menurut {RecapGroup(group).label.lower()} -> {out}")
