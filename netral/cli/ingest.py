"""``netral ingest`` and ``netral fetch``: bring posts in from files and snscrape sources."""

from __future__ import annotations

from pathlib import Path

import typer
from tqdm import tqdm

from netral.cli.common import console, factory, print_rejections
from netral.pipeline.ingest import IngestResult, count_records, ingest_file


def print_summary(label: str, result: IngestResult) -> None:
    console.print(
        f"{label}: {result.stored} disimpan, {result.duplicates} sudah ada (tidak diubah), "
        f"{result.not_on_roster} ditolak karena bukan akun di daftar ASN (tidak disimpan), "
        f"{len(result.rejections)} entri tidak valid"
    )
    if result.deactivated:
        console.print(f"  {result.deactivated} di antaranya dari akun di daftar ASN yang dinonaktifkan "
                      "(tidak disimpan)")
    if result.changed_duplicates:
        console.print(f"  {result.changed_duplicates} unggahan yang sudah ada berbeda isinya; "
                      "salinan lama dipertahankan")
    if result.stored == 0 and result.duplicates and not result.rejections:
        console.print("  Tidak ada yang berubah: semua unggahan sudah tersimpan sebelumnya.")


def ingest(files: list[Path] = typer.Argument(..., help="ekspor JSONL atau CSV")) -> None:
    """Import posts; only authors on the roster are stored, each post once."""
    total = IngestResult()
    for path in files:
        with tqdm(total=count_records(path), desc=path.name, unit="unggahan", leave=False) as bar:
            result = ingest_file(factory(), path, on_progress=bar.update)
        print_summary(str(path), result)
        print_rejections(result.rejections)
        total.merge(result)
    if len(files) > 1:
        print_summary("Total", total)
    if total.rejections:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("ingest", help="Impor unggahan dari ekspor JSONL/CSV; hanya akun di daftar ASN yang disimpan, "
                               "tiap unggahan sekali.")(ingest)
