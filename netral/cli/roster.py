"""``netral roster``: load, list, deactivate and reactivate the accounts that are in scope."""

from __future__ import annotations

from pathlib import Path

import typer

from netral.cli.common import console, factory, fail, print_rejections
from netral.pipeline.roster import import_roster, list_accounts
from netral.review import accounts
from netral.review.errors import ReviewError

app = typer.Typer(help="Daftar ASN yang dipantau: impor, tampilkan, nonaktifkan, aktifkan kembali.",
                  no_args_is_help=True)


@app.command("import")
def import_cmd(path: Path = typer.Argument(..., help="CSV dengan kolom `nip,name,unit,position,handles`; opsional "
                                                     "`employment_type,employee_number,rank_grade,superior_nip,ppk`")
               ) -> None:
    """Buat atau perbarui akun menurut NIP / NI PPPK (non-ASN: nomor pegawai); baris yang salah didaftar, yang
    benar tetap disimpan."""
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
    """Akun dengan jenis kepegawaian, pangkat/golongan, unit, atasan langsung, PPK, akun media sosial dan status."""
    with factory()() as session:
        found = list_accounts(session, unit)
        superiors = accounts.superiors(session, found)
        console.print(f"Daftar ASN ({len(found)} akun)")
        for acc in found:
            d = accounts.describe(acc)
            status = d["status"] if acc.active else f"{d['status']} ({acc.deactivation_reason or ''})"
            superior = d["superior_nip"]
            if acc.superior_nip in superiors:
                superior = f"{superiors[acc.superior_nip].name} ({superior})"
            handles = ", ".join(f"{h.platform}:@{h.handle}" for h in acc.handles) or "—"
            console.print(f"{d['number']:<18}  {acc.name}  [{d['employment_type']}]  {d['rank_grade']}  {status}")
            console.print(f"    {acc.unit} · {acc.position or '—'}")
            console.print(f"    atasan langsung: {superior} · PPK: {d['ppk']}")
            console.print(f"    akun: {handles}")


def _set(ref: str, active: bool, reason: str) -> None:
    with factory()() as session:
        try:
            account = accounts.resolve(session, ref)
            change = accounts.reactivate if active else accounts.deactivate
            changed = change(session, account, reason=reason, actor=None)
        except ReviewError as exc:
            raise fail(exc.message) from None
        session.commit()
        state = "diaktifkan kembali" if active else "dinonaktifkan"
        if changed:
            console.print(f"{account.name} ({account.identifier}) {state}; tercatat di log audit.")
        else:
            console.print(f"{account.name} ({account.identifier}) sudah {state} sebelumnya; tidak ada perubahan.")


@app.command("deactivate")
def deactivate(ref: str = typer.Argument(..., help="NIP, NI PPPK, atau nomor pegawai non-ASN"),
               reason: str = typer.Option(..., "--reason", help="alasan tertulis (masuk log audit), min. 10 karakter")
               ) -> None:
    """Keluarkan akun dari pemantauan: unggahan barunya ditolak saat impor, unggahan yang sudah tersimpan tetap ada."""
    _set(ref, False, reason)


@app.command("reactivate")
def reactivate(ref: str = typer.Argument(..., help="NIP, NI PPPK, atau nomor pegawai non-ASN"),
               reason: str = typer.Option(..., "--reason", help="alasan tertulis (masuk log audit), min. 10 karakter")
               ) -> None:
    """Pantau kembali akun yang pernah dinonaktifkan."""
    _set(ref, True, reason)
