"""``netral elections``: inspect and check the election configs an admin edits by hand.

``validate`` exists so a bad edit is caught before a scan runs with a weakened evidence vocabulary: it names
every broken file with its field and exits 1, which makes it usable in CI and pre-commit hooks. A running
server and the scan skip a broken file and keep using the others (the web page *Pemilu* shows the same list).
"""

from __future__ import annotations

from pathlib import Path

import typer

from netral.elections import Election, ElectionCatalog, read_catalog
from netral.settings import get_settings

app = typer.Typer(help="Konfigurasi pemilu: daftar dan validasi.", no_args_is_help=True)

DirectoryOption = typer.Option(None, "--dir", help="Folder konfigurasi (bawaan: NETRAL_ELECTIONS_DIR).")


def _catalog(directory: Path | None) -> ElectionCatalog:
    return read_catalog(directory if directory is not None else get_settings().elections_dir)


def _row(election: Election) -> list[str]:
    numbered = sum(1 for c in election.contestants if c.ballot_number is not None)
    return [
        election.id,
        election.type,
        election.region,
        f"{election.campaign_start:%d-%m-%Y} s.d. {election.campaign_end:%d-%m-%Y}",
        f"{election.voting_day:%d-%m-%Y}",
        election.timezone,
        f"{len(election.contestants)} ({numbered} bernomor)",
        str(len(election.parties)),
        str(len(election.gestures)),
        str(_unconfirmed_count(election)),
    ]


def _unconfirmed_count(election: Election) -> int:
    nested = [*election.contestants, *election.parties, *election.gestures,
              *(office for c in election.contestants for office in c.offices)]
    return len(election.unconfirmed) + sum(len(item.unconfirmed) for item in nested)


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=False)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _echo_errors(catalog: ElectionCatalog) -> None:
    for error in catalog.errors:
        typer.echo(f"Konfigurasi tidak valid: {error}", err=True)


@app.command("list")
def list_elections(directory: Path | None = DirectoryOption) -> None:
    """Tampilkan pemilu yang dikonfigurasi (kontestan, partai, gestur) dan file yang tidak valid."""
    catalog = _catalog(directory)
    _echo_errors(catalog)
    if catalog.errors:
        typer.echo("File yang tidak valid tidak dipakai untuk bukti, penyamaran kontestan dan pemindaian.", err=True)
    if not catalog.elections:
        typer.echo("Belum ada konfigurasi pemilu yang valid.")
        if catalog.errors:
            raise typer.Exit(1)
        return
    header = ["id", "jenis", "wilayah", "masa kampanye", "pemungutan", "zona", "kontestan", "partai", "gestur",
              "belum terkonfirmasi"]
    typer.echo(_table(header, [_row(e) for e in catalog.elections]))
    if catalog.errors:
        raise typer.Exit(1)


@app.command("validate")
def validate(directory: Path | None = DirectoryOption) -> None:
    """Periksa semua file konfigurasi; keluar dengan kode 1 bila ada yang salah (setiap file dan kolomnya)."""
    catalog = _catalog(directory)
    if catalog.errors:
        _echo_errors(catalog)
        typer.echo(f"{len(catalog.errors)} file tidak valid, {len(catalog.elections)} valid.", err=True)
        raise typer.Exit(1)
    if not catalog.elections:
        typer.echo("Tidak ada file konfigurasi pemilu ditemukan.", err=True)
        raise typer.Exit(1)
    ids = ", ".join(e.id for e in catalog.elections)
    typer.echo(f"OK: {len(catalog.elections)} konfigurasi pemilu valid ({ids}).")
