"""``netral elections``: inspect and check the election configs an admin edits by hand.

``validate`` exists so a bad edit is caught before a scan runs with a weakened evidence vocabulary; it exits 1
with the file and field in the message, which makes it usable in CI and pre-commit hooks.
"""

from __future__ import annotations

from pathlib import Path

import typer

from netral.elections import Election, ElectionConfigError, load_elections

app = typer.Typer(help="Konfigurasi pemilu: daftar dan validasi.", no_args_is_help=True)

DirectoryOption = typer.Option(None, "--dir", help="Folder konfigurasi (bawaan: NETRAL_ELECTIONS_DIR).")


def _row(election: Election) -> list[str]:
    numbered = sum(1 for c in election.contestants if c.ballot_number is not None)
    return [
        election.id,
        election.type,
        election.region,
        f"{election.campaign_start:%d-%m-%Y} s.d. {election.campaign_end:%d-%m-%Y}",
        f"{election.voting_day:%d-%m-%Y}",
        f"{len(election.contestants)} ({numbered} bernomor)",
        str(len(election.parties)),
        str(len(election.gestures)),
        str(_unconfirmed_count(election)),
    ]


def _unconfirmed_count(election: Election) -> int:
    nested = [*election.contestants, *election.parties, *election.gestures]
    return len(election.unconfirmed) + sum(len(item.unconfirmed) for item in nested)


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=False)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


@app.command("list")
def list_elections(directory: Path | None = DirectoryOption) -> None:
    """Tampilkan semua pemilu yang dikonfigurasi beserta jumlah kontestan, partai dan gestur."""
    try:
        elections = load_elections(directory)
    except ElectionConfigError as exc:
        typer.echo(f"Konfigurasi tidak valid: {exc}", err=True)
        raise typer.Exit(1) from exc
    if not elections:
        typer.echo("Belum ada konfigurasi pemilu.")
        return
    header = ["id", "jenis", "wilayah", "masa kampanye", "pemungutan", "kontestan", "partai", "gestur",
              "belum terkonfirmasi"]
    typer.echo(_table(header, [_row(e) for e in elections]))


@app.command("validate")
def validate(directory: Path | None = DirectoryOption) -> None:
    """Periksa semua file konfigurasi; keluar dengan kode 1 bila ada yang salah."""
    try:
        elections = load_elections(directory)
    except ElectionConfigError as exc:
        typer.echo(f"Konfigurasi tidak valid: {exc}", err=True)
        raise typer.Exit(1) from exc
    if not elections:
        typer.echo("Tidak ada file konfigurasi pemilu ditemukan.", err=True)
        raise typer.Exit(1)
    typer.echo(f"OK: {len(elections)} konfigurasi pemilu valid ({', '.join(e.id for e in elections)}).")
