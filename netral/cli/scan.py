"""``netral scan``: score unscored posts with the active model and create flags."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from tqdm import tqdm

from netral.cli.common import console, factory, fail
from netral.models.registry import RegistryError, resolve
from netral.pipeline.scan import ScanFilter, pending_posts, scan
from netral.settings import get_settings


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"--since harus tanggal ISO (YYYY-MM-DD), dapat {value!r}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def scan_cmd(
    since: str | None = typer.Option(None, help="hanya post sejak tanggal ini (YYYY-MM-DD)"),
    unit: str | None = typer.Option(None, help="hanya unit kerja ini"),
    platform: str | None = typer.Option(None, help="hanya platform ini"),
    limit: int | None = typer.Option(None, help="paling banyak N post"),
    model: str | None = typer.Option(None, help="versi model; default yang aktif"),
    explain: bool = typer.Option(True, help="hitung kata pendorong skor untuk post yang ditandai"),
    wait: bool = typer.Option(False, "--wait", help="bila scan lain sedang berjalan, tunggu (bawaan: berhenti)"),
) -> None:
    """Resumable: re-running continues with posts not yet scored by this model version.

    One scan at a time per database: a second one stops with a message (or waits, with ``--wait``).
    """
    from netral.db.engine import get_engine
    from netral.pipeline.joblock import JobBusy, exclusive

    try:
        with exclusive(get_engine(get_settings().db_url), "scan", wait=wait):
            _scan(since, unit, platform, limit, model, explain)
    except JobBusy as exc:
        raise fail(str(exc)) from None


def _scan(since: str | None, unit: str | None, platform: str | None, limit: int | None, model: str | None,
          explain: bool) -> None:
    from netral.pipeline.masking import load_classifier

    settings = get_settings()
    try:
        mv = resolve(settings.registry_dir, model)
    except RegistryError as exc:
        raise fail(str(exc)) from None
    filt = ScanFilter(_parse_since(since), unit, platform, limit)
    with factory()() as session:
        total = len(pending_posts(session, mv.version, filt))
    if total == 0:
        console.print(f"Tidak ada post baru untuk dipindai oleh {mv.version}.")
        return
    clf = load_classifier(mv, settings)
    with tqdm(total=total, desc=f"scan {mv.version}", unit="post") as bar:
        result = scan(
            factory(), clf, filt, batch_size=settings.scan_batch_size, explain=explain, on_progress=bar.update,
            settings=settings,
        )
    console.print(
        f"{result.scanned} post dipindai ({result.posts_per_second:.1f} post/detik), "
        f"{result.flagged} tanda baru, {result.updated_flags} tanda tertunda diperbarui "
        f"(ambang {mv.threshold:.3f})."
    )


def register(app: typer.Typer) -> None:
    app.command("scan", help="Pindai post yang belum dinilai model aktif dan buat tanda (flag); dapat dilanjutkan.")(
        scan_cmd
    )
