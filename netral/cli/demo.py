"""``netral demo``: the whole flow on the embedded defaults, for a fresh machine.

It only strings together the same service functions the other commands use, so a green demo is
evidence that those commands work together.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from netral.cli.common import console, factory, print_rejections
from netral.cli.demo_steps import run_model_and_review_steps
from netral.db.engine import upgrade
from netral.db.schema import Post
from netral.pipeline.ingest import ingest_file
from netral.pipeline.roster import import_roster, list_accounts
from netral.settings import REPO_ROOT, get_settings

SAMPLES = REPO_ROOT / "data" / "samples"


def demo(
    samples: Path = typer.Option(SAMPLES, help="folder berisi `roster.csv` (daftar ASN) dan `posts.jsonl` (unggahan)"),
    serve: bool = typer.Option(True, help="jalankan aplikasi web di akhir"),
    epochs: int | None = typer.Option(None, help="jumlah epoch pelatihan bila belum ada model terdaftar "
                                                 "(bawaan: sesuai resep; 1: lebih cepat, lebih lemah)"),
) -> None:
    """Set up the database, load the sample roster and posts, and show what happened."""
    settings = get_settings()
    console.rule("1. Basis data")
    upgrade(settings.db_url)
    console.print(f"SQLite/URL: {settings.db_url}")

    console.rule("2. Daftar ASN")
    with factory()() as session:
        roster = import_roster(session, samples / "roster.csv")
        session.commit()
        print_rejections(roster.rejections)
        for acc in list_accounts(session):
            handles = ", ".join(f"{h.platform}:@{h.handle}" for h in acc.handles)
            console.print(f"  {acc.identifier:<18}  {acc.name:<16} {acc.unit:<45} {handles}")
    console.print(f"Daftar ASN: {roster.created} baru, {roster.updated} diperbarui, {roster.unchanged} tetap")

    console.rule("3. Impor unggahan contoh")
    result = ingest_file(factory(), samples / "posts.jsonl", actor="demo")
    print_rejections(result.rejections)
    console.print(
        f"Unggahan disimpan: {result.stored}, sudah ada: {result.duplicates}, "
        f"ditolak (bukan akun di daftar ASN, tidak disimpan): {result.not_on_roster}"
    )
    with factory()() as session:
        posts = session.scalars(select(Post).options(selectinload(Post.account)).order_by(Post.created_at)).all()
        table = Table("waktu (UTC)", "ASN", "platform", "teks", title=f"Unggahan tersimpan ({len(posts)})")
        for p in posts:
            text = p.text if len(p.text) <= 80 else p.text[:79] + "…"
            table.add_row(f"{p.created_at:%Y-%m-%d %H:%M}", p.account.name, p.platform, text)
    console.print(table)
    run_model_and_review_steps(serve, epochs)


def register(app: typer.Typer) -> None:
    app.command("demo", help="Jalankan seluruh alur pada contoh: basis data, daftar ASN, unggahan, model, "
                             "pemindaian, web.")(demo)
