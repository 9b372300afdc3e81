"""``netral case``: list cases, show one, record a step, through the same service as the web pages."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from netral.cli.common import console, fail
from netral.db.engine import session_factory
from netral.review import attachments, cases, present
from netral.review import users as user_service
from netral.review.errors import ReviewError
from netral.settings import get_settings
from netral.vocabulary import CaseBody, CaseStep, Sanction

app = typer.Typer(help="Kasus: tindak lanjut laporan (penerusan, tanggapan ASN, BAP, sanksi, penutupan).",
                  no_args_is_help=True)

STATUS_CHOICES = ("active", "closed", "all", *cases.STATUSES)


def _sessions():  # type: ignore[no-untyped-def]
    return session_factory(get_settings().db_url)


@app.command("list")
def list_cases(
    status: str = typer.Option("active", "--status", help=f"status: {', '.join(STATUS_CHOICES)}"),
    unit: str = typer.Option("", "--unit", help="hanya unit kerja ini"),
    overdue: bool = typer.Option(False, "--overdue", help="hanya kasus yang lewat batas waktu"),
) -> None:
    """Daftar kasus dengan status dan batas waktu berikutnya; yang lewat batas waktu di atas, bertanda LEWAT BATAS."""
    if status not in STATUS_CHOICES:
        raise fail(f"status tidak dikenal: {status!r} (pilihan: {', '.join(STATUS_CHOICES)})")
    settings = get_settings()
    flt = cases.CaseFilter(status=None if status == "all" else status, unit=unit or None, overdue_only=overdue)
    with _sessions()() as session:
        rows = cases.list_cases(session, None, flt, book=cases.clocks(settings))
        for row in rows:
            d = row.current_deadline
            due = f"{d.label}: {present.fmt_day(d.due)}" if d else "-"
            mark = "LEWAT BATAS " if row.overdue else ""
            console.print(f"#{row.case.id:<5} {cases.STATUSES.get(row.case.status, row.case.status):<26} "
                          f"{mark}{due} | {row.account.name} ({row.account.unit}) | {row.report.number}")
        console.print(f"{len(rows)} kasus.")


@app.command("show")
def show(case_id: int = typer.Argument(..., help="nomor kasus")) -> None:
    """Riwayat lengkap satu kasus: indikasi, kedua tinjauan, laporan, setiap langkah, dan batas waktunya."""
    settings = get_settings()
    with _sessions()() as session:
        try:
            case = cases.get_case(session, case_id, None)
        except ReviewError as exc:
            raise fail(exc.message) from None
        row = cases.row_for(case, cases.clocks(settings), cases.today_local())
        console.print(f"Kasus #{case.id}: {cases.STATUSES.get(case.status, case.status)}"
                      f"{' (LEWAT BATAS WAKTU)' if row.overdue else ''}")
        console.print(f"ASN: {row.account.name}, NIP {row.account.nip}, {row.account.unit}")
        console.print(f"Laporan: {row.report.number}; dasar batas waktu: {row.law.label}")
        for d in row.deadlines:
            state = (f"terpenuhi {present.fmt_day(d.met_on)}" if d.met_on else "tidak berlaku lagi" if d.lapsed
                     else "LEWAT BATAS" if d.overdue else "berjalan")
            console.print(f"  Batas {d.label}: {present.fmt_day(d.due)} ({state})"
                          f"{'' if d.confirmed else ' [belum terkonfirmasi]'}")
        console.print("Riwayat:")
        for entry in cases.timeline(session, case):
            when = present.fmt_day(entry.day) if entry.day else present.fmt_dt(entry.at)
            ref = f" No. {entry.ref}" if entry.ref else ""
            who = f" ({entry.actor})" if entry.actor else ""
            console.print(f"- {when}: {entry.title}{ref}{who}")
            for key, value in entry.details:
                console.print(f"    {key}: {value}")
            if entry.text:
                console.print("    " + entry.text.replace("\n", "\n    "))
            for a in entry.attachments:
                console.print(f"    lampiran #{a.id} {a.original_name} ({a.media_type}, {a.size_bytes} B, "
                              f"sha256 {a.sha256})")


def _read_upload(path: Path, limit: int) -> attachments.Upload:
    """At most one byte over the limit is read, so a huge file is refused without loading it."""
    try:
        with path.open("rb") as fh:
            return attachments.Upload(path.name, fh.read(limit + 1))
    except OSError as exc:
        raise fail(f"lampiran {str(path)!r} tidak dapat dibaca: {exc.strerror or exc}") from None


@app.command("step")
def step(
    case_id: int = typer.Argument(..., help="nomor kasus"),
    step_type: str = typer.Option(..., "--type", help=f"jenis langkah: {', '.join(CaseStep.values())}"),
    by: str = typer.Option(..., "--by", help="nama pengguna yang mencatat (peran menentukan langkah yang boleh)"),
    ref: str = typer.Option("", "--ref", help="nomor surat/BAP/keputusan (wajib kecuali asn_response)"),
    note: str = typer.Option("", "--note", help="catatan, atau teks tanggapan ASN"),
    note_file: Path | None = typer.Option(None, "--note-file", help="baca catatan/tanggapan dari berkas UTF-8"),
    attach: list[Path] = typer.Option([], "--attach", help="lampiran PDF/PNG/JPEG (boleh diulang)"),
    decided_on: str = typer.Option("", "--date", help="tanggal surat/keputusan TTTT-BB-HH (bawaan: hari ini)"),
    body: str = typer.Option("", "--body", help=f"instansi: {', '.join(CaseBody.values())}"),
    sanction: str = typer.Option("", "--sanction", help=f"sanksi: {', '.join(Sanction.values())}"),
) -> None:
    """Catat satu langkah kasus (masuk log audit; ditolak dengan alasan bila peran atau urutan tidak memungkinkan)."""
    settings = get_settings()
    day: date | None = None
    if decided_on:
        try:
            day = date.fromisoformat(decided_on)
        except ValueError:
            raise fail(f"--date tidak valid: {decided_on!r} (format TTTT-BB-HH)") from None
    text = note
    if note_file is not None:
        try:
            text = note_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise fail(f"--note-file {str(note_file)!r} tidak dapat dibaca sebagai UTF-8: {exc}") from None
    uploads = [_read_upload(p, settings.attachment_max_bytes) for p in attach]
    with _sessions()() as session:
        user = user_service.get_user(session, by)
        if user is None:
            raise fail(f"pengguna {by!r} tidak ada")
        data = cases.StepInput(step=step_type, ref_number=ref, note=text, decided_on=day, body=body or None,
                               sanction=sanction or None)
        try:
            record = cases.add_step(session, case_id, user, data, uploads=uploads, settings=settings)
        except ReviewError as exc:
            session.rollback()
            raise fail(exc.message) from None
        session.commit()
        status = cases.STATUSES.get(record.case.status, record.case.status)
        console.print(f"Langkah #{record.id} ({cases.STEPS[record.step]}) dicatat pada kasus #{case_id}; "
                      f"status kasus: {status}.")
        for a in record.attachments:
            console.print(f"Lampiran #{a.id}: {a.original_name} ({a.media_type}), sha256 {a.sha256}")


@app.command("open-missing")
def open_missing(by: str = typer.Option(..., "--by", help="verifikator yang membuka kasus")) -> None:
    """Buka kasus untuk setiap laporan yang terbit sebelum fitur kasus ada (aman diulang, masuk log audit)."""
    with _sessions()() as session:
        user = user_service.get_user(session, by)
        if user is None:
            raise fail(f"pengguna {by!r} tidak ada")
        try:
            opened = cases.open_missing(session, user)
        except ReviewError as exc:
            session.rollback()
            raise fail(exc.message) from None
        session.commit()
        console.print(f"{len(opened)} kasus dibuka.")
