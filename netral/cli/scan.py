"""``netral scan``: score unscored posts with the active model and create flags."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from tqdm import tqdm

from netral.cli.common import console, factory, fail
from netral.models.registry import RegistryError, resolve
from netral.pipeline.scan import ScanFilter, Shard, count_pending, scan
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
    since: str | None = typer.Option(None, help="hanya unggahan sejak tanggal ini (YYYY-MM-DD)"),
    unit: str | None = typer.Option(None, help="hanya unit kerja ini"),
    platform: str | None = typer.Option(None, help="hanya platform ini"),
    limit: int | None = typer.Option(None, help="paling banyak N unggahan"),
    model: str | None = typer.Option(None, help="versi model; bawaan: yang aktif"),
    explain: bool = typer.Option(False, help="hitung kata pendorong skor saat memindai (bawaan: saat indikasi "
                                 "pertama kali dibuka, atau `netral explain`)"),
    wait: bool = typer.Option(False, "--wait", help="bila pemindaian lain sedang berjalan, tunggu (bawaan: berhenti)"),
    shard: str | None = typer.Option(None, help="i/n: hanya bagian i dari n; jalankan n proses paralel "
                                     "(PostgreSQL), jangan bersamaan dengan pemindaian tanpa --shard"),
    cascade: str | None = typer.Option(None, help="on/off: tahap murah dulu (kaskade); bawaan dari pengaturan"),
) -> None:
    """Dapat dilanjutkan: menjalankan ulang meneruskan unggahan yang belum dinilai versi model ini.

    Satu pemindaian pada satu waktu per basis data dan bagian: yang kedua berhenti dengan pesan (atau
    menunggu, dengan `--wait`). Bagian tidak saling tumpang tindih, jadi `--shard 0/4` .. `--shard 3/4`
    dapat berjalan berdampingan.
    """
    try:
        part = Shard.parse(shard) if shard else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if cascade not in (None, "on", "off"):
        raise typer.BadParameter(f"--cascade harus on atau off, dapat {cascade!r}")
    run_scan(since=since, unit=unit, platform=platform, limit=limit, model=model, explain=explain, wait=wait,
             part=part, cascade=cascade)


def run_scan(*, since: str | None = None, unit: str | None = None, platform: str | None = None,
             limit: int | None = None, model: str | None = None, explain: bool = False, wait: bool = False,
             part: Shard | None = None, cascade: str | None = None) -> None:
    """The scan with plain Python defaults, for callers other than Typer (``netral demo``).

    Calling ``scan_cmd`` from Python hands every parameter left out its ``typer.Option`` object instead of
    its default, which once broke the demo's scan step.
    """
    from netral.db.engine import get_engine
    from netral.pipeline.joblock import JobBusy, exclusive

    lock = f"scan-shard-{part.index}-of-{part.count}" if part else "scan"
    try:
        with exclusive(get_engine(get_settings().db_url), lock, wait=wait):
            _scan(since, unit, platform, limit, model, explain, part, cascade)
    except JobBusy as exc:
        raise fail(str(exc)) from None


def _scan(since: str | None, unit: str | None, platform: str | None, limit: int | None, model: str | None,
          explain: bool, part: Shard | None, cascade: str | None) -> None:
    from netral.pipeline.cascade import cascade_for
    from netral.pipeline.masking import load_classifier

    settings = get_settings()
    try:
        mv = resolve(settings.registry_dir, model)
    except RegistryError as exc:
        raise fail(str(exc)) from None
    filt = ScanFilter(_parse_since(since), unit, platform, limit, part)
    with factory()() as session:
        total = count_pending(session, mv.version, filt)
    if total == 0:
        console.print(f"Tidak ada unggahan baru untuk dipindai oleh {mv.version}.")
        return
    clf = load_classifier(mv, settings)
    gate = cascade_for(mv, settings, cascade or settings.cascade)
    with tqdm(total=total, desc=f"pindai {mv.version}", unit="unggahan") as bar:
        result = scan(
            factory(), clf, filt, batch_size=settings.scan_batch_size, explain=explain, on_progress=bar.update,
            settings=settings, cascade=gate,
        )
    skipped = f", kaskade: {result.cascade_skipped} tidak perlu model penuh" if gate else ""
    console.print(
        f"{result.scanned} unggahan dipindai ({result.posts_per_second:.1f} unggahan/detik, {clf.backend}{skipped}), "
        f"{result.flagged} indikasi baru, {result.updated_flags} indikasi yang menunggu tinjauan diperbarui "
        f"(ambang {mv.threshold:.3f})."
    )


def explain_cmd(
    all_statuses: bool = typer.Option(False, "--all", help="juga indikasi yang sudah diputuskan"),
) -> None:
    """Tugas latar: hitung kata pendorong skor untuk indikasi yang belum memilikinya untuk versi modelnya."""
    from netral.review.drivers import explain_pending, registry_loader
    from netral.vocabulary import OPEN_STATUSES, FlagStatus

    settings = get_settings()
    statuses = tuple(FlagStatus) if all_statuses else OPEN_STATUSES
    with tqdm(desc="kata pendorong", unit="indikasi") as bar:
        done = explain_pending(factory(), registry_loader(settings), statuses=statuses, on_progress=bar.update)
    console.print(f"Kata pendorong dihitung untuk {done} indikasi.")


def register(app: typer.Typer) -> None:
    app.command("scan", help="Pindai unggahan yang belum dinilai model aktif dan buat indikasi; dapat dilanjutkan.")(
        scan_cmd
    )
    app.command("explain", help="Hitung kata pendorong skor untuk indikasi yang belum memilikinya (tugas latar).")(
        explain_cmd
    )
