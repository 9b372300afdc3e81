"""``netral report``: issue a report from the console, through the same service as the web app."""

from __future__ import annotations

from pathlib import Path

import typer

from netral.cli.common import console, fail
from netral.db.engine import session_factory
from netral.review import reports
from netral.review import users as user_service
from netral.review.errors import ReviewError
from netral.settings import get_settings

app = typer.Typer(help="Laporan: terbitkan dari indikasi yang telah diverifikasi.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Laporan: terbitkan dari indikasi yang telah dikonfirmasi peninjau dan diverifikasi verifikator."""


@app.command("create")
def create(
    flag_id: int = typer.Argument(..., help="nomor indikasi (harus berstatus terverifikasi)"),
    by: str = typer.Option(..., "--by", help="nama pengguna verifikator yang menerbitkan"),
    out: Path = typer.Option(Path("."), "--out", help="folder untuk berkas HTML dan PDF"),
) -> None:
    """Terbitkan laporan untuk indikasi terverifikasi dan tulis NTR-YYYY-NNNNNN.html/.pdf ke folder OUT."""
    settings = get_settings()
    with session_factory(settings.db_url)() as session:
        user = user_service.get_user(session, by)
        if user is None:
            raise fail(f"pengguna {by!r} tidak ada")
        try:
            rendered = reports.create_report(session, flag_id, user, settings=settings)
        except ReviewError as exc:
            session.rollback()
            raise fail(exc.message) from None
        session.commit()
    rendered = reports.with_pdf(rendered)  # after commit: no lock held while rendering
    try:
        reports.archive(settings, rendered)
    except OSError as exc:
        console.print(f"Peringatan: arsip tidak tertulis ({exc}); dokumen tetap dapat dibuat ulang.")
    html_path, pdf_path = reports.write_files(out, rendered.report.number, rendered.html, rendered.pdf)
    console.print(f"Laporan {rendered.report.number} diterbitkan.")
    console.print(f"HTML: {html_path}\nPDF:  {pdf_path}\nSHA-256 HTML: {rendered.report.content_sha256}")
