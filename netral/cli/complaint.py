"""``netral complaint``: record a complaint (pengaduan) from the console, through the web form's service."""

from __future__ import annotations

from pathlib import Path

import typer

from netral.cli.common import console, fail
from netral.db.engine import session_factory
from netral.review import complaints
from netral.review import users as user_service
from netral.review.errors import ReviewError
from netral.settings import get_settings

app = typer.Typer(help="Pengaduan: catat pengaduan tentang ASN di daftar ASN; masuk antrean tinjauan.",
                  no_args_is_help=True)


@app.command("add")
def add(
    account: str = typer.Option(..., "--account", help="NIP, NI PPPK, atau nomor pegawai non-ASN yang diadukan"),
    source: str = typer.Option(..., "--source", help=f"sumber pengaduan: {', '.join(complaints.SOURCES)}"),
    text: str = typer.Option(..., "--text", help="uraian pengaduan (min. 10 karakter)"),
    by: str = typer.Option(..., "--by", help="nama pengguna yang mencatat (peninjau, verifikator, atau administrator)"),
    link: str = typer.Option("", "--link", help="tautan http(s) ke unggahan"),
    screenshot: Path | None = typer.Option(None, "--screenshot", help="tangkapan layar PNG atau JPEG"),
    complainant: str = typer.Option("", "--complainant", help="nama/kontak pengadu (boleh kosong)"),
    posted_at: str = typer.Option("", "--posted-at", help="waktu unggahan, ISO 8601 (mis. 2024-11-10T14:30)"),
    received_at: str = typer.Option("", "--received-at", help="waktu pengaduan diterima (kosong: sekarang)"),
) -> None:
    """Catat pengaduan dari masyarakat, Bawaslu, atau atasan; pengaduan masuk antrean tinjauan sebagai
    indikasi berasal "pengaduan" dan melalui tinjauan dua orang seperti indikasi dari model."""
    settings = get_settings()
    data = None
    if screenshot is not None:
        try:
            with screenshot.open("rb") as fh:
                data = fh.read(settings.attachment_max_bytes + 1)  # one byte over the limit is enough to refuse
        except OSError as exc:
            raise fail(f"tangkapan layar tidak dapat dibaca: {screenshot}: {exc.strerror or exc}") from None
    with session_factory(settings.db_url)() as session:
        user = user_service.get_user(session, by)
        if user is None:
            raise fail(f"pengguna {by!r} tidak ada")
        try:
            complaint = complaints.record(session, complaints.ComplaintInput(
                account=account, source=source, text=text, link=link, complainant=complainant, screenshot=data,
                posted_at=complaints.parse_when(posted_at, "--posted-at", settings),
                received_at=complaints.parse_when(received_at, "--received-at", settings)), user, settings)
        except ReviewError as exc:
            session.rollback()
            raise fail(exc.message) from None
        session.commit()
        console.print(f"Pengaduan #{complaint.id} dicatat: indikasi #{complaint.flag_id} menunggu tinjauan "
                      f"({complaint.post.account.name}, {complaint.post.account.identifier}).")
        if complaint.screenshot_sha256:
            console.print(f"Tangkapan layar SHA-256: {complaint.screenshot_sha256}")


@app.command("list")
def list_cmd(by: str = typer.Option(..., "--by", help="nama pengguna yang membaca")) -> None:
    """Pengaduan terakhir dengan status indikasinya."""
    settings = get_settings()
    with session_factory(settings.db_url)() as session:
        user = user_service.get_user(session, by)
        if user is None:
            raise fail(f"pengguna {by!r} tidak ada")
        try:
            rows = complaints.list_complaints(session, user)
        except ReviewError as exc:
            raise fail(exc.message) from None
        for c in rows:
            console.print(f"#{c.id:<5} indikasi #{c.flag_id:<6} {c.flag.status:<11} {c.source:<9} "
                          f"{c.post.account.identifier:<20} {c.post.account.name}")
