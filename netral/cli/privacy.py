"""``netral privacy``: retention purge and a person's data export (UU PDP 27/2022).

Both commands call the services the web app uses (``netral.review.retention``, ``netral.review.privacy``);
this module only reads options, takes the job lock and prints.
"""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy.orm import Session

from netral.atomic import atomic_write_bytes
from netral.cli.common import console, fail
from netral.db.engine import get_engine, session_factory
from netral.db.schema import User
from netral.elections import ElectionConfigError, load_elections
from netral.pipeline.joblock import JobBusy, exclusive
from netral.review import privacy, retention
from netral.review import users as user_service
from netral.review.errors import ReviewError
from netral.settings import get_settings
from netral.vocabulary import FlagStatus, RetentionBasis, RetentionClass

app = typer.Typer(help="Pelindungan data pribadi: retensi unggahan dan ekspor data seseorang.",
                  no_args_is_help=True)

ByOption = typer.Option(None, "--by", help="nama pengguna administrator yang menjalankan (dicatat di log audit); "
                                           "bawaan: operator lokal 'cli'")


def _user(session: Session, username: str | None) -> User | None:
    if username is None:
        return None
    user = user_service.get_user(session, username)
    if user is None:
        raise fail(f"pengguna {username!r} tidak ada")
    return user


@app.command("purge")
def purge(
    dry_run: bool = typer.Option(False, "--dry-run", help="hanya hitung yang akan dihapus; tidak mengubah apa pun"),
    by: str | None = ByOption,
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, max=10_000,
                                          help="unggahan per transaksi (bawaan: NETRAL_RETENTION_BATCH_SIZE)"),
    wait: bool = typer.Option(False, "--wait", help="bila pemindaian sedang berjalan, tunggu (bawaan: berhenti)"),
) -> None:
    """Hapus unggahan yang melewati masa simpan (aturan di README, "Perlindungan data pribadi").

    Setiap unggahan yang dihapus dicatat di log audit beserta sha256-nya, dalam transaksi yang sama;
    dihentikan di tengah jalan, menjalankan ulang melanjutkan sisanya.
    """
    settings = get_settings()
    try:
        elections = load_elections(settings.elections_dir)
    except ElectionConfigError as exc:
        raise fail(f"konfigurasi pemilu tidak valid, retensi tidak dapat dihitung: {exc}") from None
    factory = session_factory(settings.db_url)
    with factory() as session:
        actor = _user(session, by)
    try:
        # The scan reads unscored posts and writes scores for them: the two never run side by side.
        with exclusive(get_engine(settings.db_url), "scan", wait=wait):
            result = retention.purge(factory, settings, elections, actor=actor, dry_run=dry_run,
                                     batch_size=batch_size)
    except JobBusy:
        raise fail("pemindaian sedang berjalan pada basis data ini; jalankan retensi setelah selesai "
                   "atau dengan --wait") from None
    except ReviewError as exc:
        raise fail(exc.message) from None
    _print_purge(result)


def _print_purge(result: retention.PurgeResult) -> None:
    verb = "akan dihapus" if result.dry_run else "dihapus"
    if result.dry_run:
        console.print("Uji coba (--dry-run): tidak ada yang diubah.")
    classes = "; ".join(f"{RetentionClass(k).label.split(':')[0].lower()}: {v}"
                        for k, v in sorted(result.by_class.items()))
    bases = "; ".join(f"{RetentionBasis(k).label.lower()}: {v}" for k, v in sorted(result.by_basis.items()) if k)
    console.print(f"Diperiksa {result.examined} unggahan yang cukup lama; {verb} {result.purged}"
                  + (f" ({classes})" if classes else "") + f"; belum jatuh tempo {result.not_yet_due}.")
    if bases:
        console.print(f"Dasar perhitungan: {bases}.")
    if result.kept_by_status:
        kept = ", ".join(f"{FlagStatus.label_of(s)} {n}" for s, n in sorted(result.kept_by_status.items()))
        console.print(f"Disimpan sebagai bukti indikasi (tidak dihapus oleh retensi): {kept}.")


@app.command("export")
def export(
    nip: str = typer.Argument(..., help="NIP ASN yang datanya diekspor"),
    reason: str = typer.Option(..., "--reason", help="alasan/dasar permintaan (dicatat di audit), mis. nomor surat"),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="berkas JSON (bawaan: netral-data-pribadi-NIP.json di folder ini)"),
    by: str | None = ByOption,
) -> None:
    """Ekspor semua data yang disimpan Netral tentang satu ASN ke berkas JSON (ditulis atomik, diaudit)."""
    settings = get_settings()
    with session_factory(settings.db_url)() as session:
        actor = _user(session, by)
        try:
            made = privacy.export_person(session, nip, actor=actor, reason=reason)
        except ReviewError as exc:
            session.rollback()
            raise fail(exc.message) from None
        path = output or Path(made.filename)
        try:
            atomic_write_bytes(path, made.content)
        except OSError as exc:
            session.rollback()  # no audit record for an export that was not written
            raise fail(f"{path}: tidak dapat ditulis ({exc})") from None
        try:
            session.commit()
        except Exception:
            path.unlink(missing_ok=True)  # no document without its audit record
            raise
    counts = ", ".join(f"{k} {v}" for k, v in made.counts.items())
    console.print(f"Data NIP {made.nip} ditulis ke {path} ({counts}); sha256 {made.sha256}.")
