"""``netral roster``: load and list the ASN accounts that are in scope."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from netral.cli.common import console, factory, print_rejections
from netral.pipeline.roster import import_roster, list_accounts

app = typer.Typer(help="Daftar ASN yang dipantau: impor dan tampilkan.", no_args_is_help=True)


@app.command("import")
def import_cmd(path: Path = typer.Argument(..., help="CSV dengan kolom `nip,name,unit,position,handles`")) -> None:
    """Buat atau perbarui akun ASN menurut NIP; baris yang salah didaftar, yang benar tetap disimpan."""
    if not path.is_file():
        raise typer.BadParameter(f"berkas tidak ditemukan: {path}")
    with factory()() as session:
        result = import_roster(session, path)
        session.commit()
    console.print(f"Daftar ASN {path.name}: {result.created} baru, {result.updated} diperbarui, "
                  f"{result.unchanged} tidak berubah, {len(result.rejections)} ditolak")
    print_rejections(result.rejections)
    if not result.ok:
        raise typer.Exit(1)


@app.command("list")
def list_cmd(unit: str | None = typer.Option(None, help="hanya unit kerja ini")) -> None:
    """Tampilkan ASN di daftar beserta unit kerja dan akun media sosialnya."""
    with factory()() as session:
        accounts = list_accounts(session, unit)
        table = Table(title=f"Daftar ASN ({len(accounts)})")
        table.add_column("NIP", no_wrap=True, min_width=18)
        for header in ("Nama", "Unit kerja", "Jabatan", "Akun"):
            table.add_column(header)
        for acc in accounts:
            handles = ", ".join(f"{h.platform}:@{h.handle}" for h in acc.handles)
            table.add_row(acc.nip, acc.name, acc.unit, acc.position, handles)
    console.print(table)
