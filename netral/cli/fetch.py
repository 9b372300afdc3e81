"""``netral fetch``: scrape one roster account's public posts and ingest them like a file import.

Only Telegram channels and Mastodon profiles can still be scraped (see
:mod:`netral.pipeline.sources.snscrape_source`); for the other platforms the command refuses up front
and points to ``netral ingest``, instead of letting a dead scraper fail somewhere inside snscrape.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from sqlalchemy import select
from tqdm import tqdm

from netral.cli.common import console, err_console, factory, fail, print_rejections
from netral.cli.ingest import print_summary  # same wording as `netral ingest`, on purpose
from netral.db.schema import Account, Handle
from netral.pipeline.roster import PLATFORM_ALIASES
from netral.pipeline.sources import ingest_source
from netral.pipeline.sources.snscrape_source import (
    DEAD_PLATFORMS,
    SUPPORTED_PLATFORMS,
    MastodonProfileSource,
    TelegramChannelSource,
)
from netral.settings import get_settings


def _since(value: str | None) -> datetime | None:
    """A bare date means midnight local (WIB by default), the way operators think about a campaign start."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"bukan tanggal ISO: {value!r} (contoh: 2024-01-01)", param_hint="--since") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=ZoneInfo(get_settings().default_timezone))


def fetch(
    platform: str = typer.Argument(..., help="telegram atau mastodon"),
    target: str = typer.Argument(..., help="kanal Telegram (nama atau t.me/nama) atau akun Mastodon (@nama@instans)"),
    limit: int | None = typer.Option(None, "--limit", min=1,
                                     help="paling banyak sekian unggahan (terbaru dulu); "
                                          "bawaan NETRAL_FETCH_LIMIT (200)"),
    since: str | None = typer.Option(None, "--since", help="hanya unggahan sejak tanggal ini (YYYY-MM-DD, WIB)"),
) -> None:
    """Scrape public posts of a roster account and store them; only roster authors are kept."""
    name = PLATFORM_ALIASES.get(platform.strip().lower(), platform.strip().lower())
    if name in DEAD_PLATFORMS:
        raise fail(f"pengambil data {name} di snscrape 0.7 sudah mati di proyek asalnya ({DEAD_PLATFORMS[name]}). "
                   f"Unduh/ekspor datanya dengan cara resmi lalu impor dengan `netral ingest FILE`.", code=2)
    if name not in SUPPORTED_PLATFORMS:
        raise fail(f"platform {platform!r} tidak bisa diambil otomatis (pilihan: {', '.join(SUPPORTED_PLATFORMS)}); "
                   "gunakan `netral ingest FILE` untuk ekspor.", code=2)
    when = _since(since)
    limit = limit or get_settings().fetch_limit
    try:
        source = (TelegramChannelSource(target, limit, when) if name == "telegram"
                  else MastodonProfileSource(target, limit, when))
    except ValueError as exc:
        raise fail(str(exc), code=2) from None

    sessions = factory()
    # Scraping a non-roster account is already processing out of scope (UU PDP), so refuse before any request.
    with sessions() as s:
        listed = s.scalar(select(Account.active).join(Handle, Handle.account_id == Account.id)
                          .where(Handle.platform == name, Handle.handle == source.target))
    if listed is None:
        raise fail(f"{name}:{source.target} tidak ada di daftar ASN; Netral hanya mengambil akun ASN terdaftar "
                   "(tambahkan lewat `netral roster import`).", code=2)
    if not listed:
        raise fail(f"{name}:{source.target} milik akun di daftar ASN yang dinonaktifkan; unggahan barunya tidak "
                   "diambil.", code=2)

    with tqdm(total=limit, desc=source.name, unit="unggahan", leave=False) as bar:
        run = ingest_source(sessions, source, on_record=lambda _: bar.update(1))
    print_summary(source.name, run.result)
    if source.skipped:
        console.print(f"  {source.skipped} unggahan tanpa teks dilewati (hanya media atau pesan layanan)")
    print_rejections(run.result.rejections)
    if run.error is not None:
        err_console.print(f"[red]Galat:[/red] pengambilan berhenti: {escape(str(run.error))}", markup=True)
        err_console.print("  Unggahan yang terbaca sebelum galat tetap diproses (lihat ringkasan di atas).",
                          soft_wrap=True)
        raise typer.Exit(1)
    if run.result.rejections:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("fetch", help="Ambil unggahan publik akun di daftar ASN dari Telegram atau Mastodon (snscrape).")(fetch)
