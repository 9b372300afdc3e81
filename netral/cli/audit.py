"""``netral audit``: check the hash chain and read the log."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from sqlalchemy import func, select

from netral import audit as audit_log
from netral.atomic import atomic_write_text
from netral.cli.common import console, err_console
from netral.db.engine import session_factory
from netral.db.schema import AuditRecord
from netral.settings import get_settings

app = typer.Typer(help="Log audit: periksa keutuhan, tampilkan catatan.", no_args_is_help=True)


def _read_anchor(path: Path) -> dict[str, object]:
    try:
        anchor = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        err_console.print(f"{path}: tidak dapat dibaca sebagai head audit JSON ({exc})", markup=False)
        raise typer.Exit(1) from None
    if not isinstance(anchor, dict):
        err_console.print(f"{path}: bukan objek JSON head audit", markup=False)
        raise typer.Exit(1)
    return anchor


@app.command("verify")
def verify(
    against: Path | None = typer.Option(None, "--against", help="head yang diekspor sebelumnya "
                                        "(`netral audit head --output`); disimpan di luar basis data"),
) -> None:
    """Periksa keutuhan rantai log audit (dan bahwa log melanjutkan head yang diekspor).

    Keluar dengan kode 0 bila utuh; kode 1 dengan daftar setiap kerusakan.
    """
    anchor = _read_anchor(against) if against is not None else None
    with session_factory(get_settings().db_url)() as session:
        problems = audit_log.verify_chain(session)
        if anchor is not None:
            problems += audit_log.verify_against(session, anchor)
        count = session.scalar(select(func.count()).select_from(AuditRecord)) or 0
        head = audit_log.head_hash(session)
    if problems:
        for p in problems:
            where = f"catatan #{p.record_id}" if p.record_id is not None else "head"
            err_console.print(f"RUSAK {where}: {p.problem}", markup=False)
        err_console.print(f"{len(problems)} masalah dalam {count} catatan.")
        raise typer.Exit(1)
    typer.echo(f"Utuh: {count} catatan, head {head}" + (f", melanjutkan {against}" if against else ""))


@app.command("head")
def head(
    output: Path | None = typer.Option(None, "--output", help="tulis ke berkas ini (bawaan: stdout)"),
) -> None:
    """Ekspor id, jumlah dan sidik (hash) catatan terbaru sebagai JSON, untuk disimpan di luar basis data.

    Pemilik basis data dapat menulis ulang riwayat dan menghitung ulang setiap sidik; head yang disimpan
    di tempat lain (mesin lain, media sekali tulis) menjadi pembanding bagi `verify --against`.
    """
    with session_factory(get_settings().db_url)() as session:
        anchor = audit_log.export_head(session)
    text = json.dumps(anchor, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    atomic_write_text(output, text)
    typer.echo(f"Head audit #{anchor['id']} ({anchor['count']} catatan) ditulis ke {output}")


@app.command("show")
def show(limit: int = typer.Option(20, "--limit", help="jumlah catatan terbaru")) -> None:
    """Tampilkan catatan terbaru (yang paling lama di antaranya lebih dulu)."""
    with session_factory(get_settings().db_url)() as session:
        rows = list(session.scalars(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)))
    for r in reversed(rows):
        change = json.dumps({"before": r.before, "after": r.after}, ensure_ascii=False, default=str)
        console.print(f"#{r.id} {r.at.isoformat(timespec='seconds')} {r.actor} {r.action} {r.entity}:{r.entity_id} "
                      f"{change}" + (f" — {r.reason}" if r.reason else ""), soft_wrap=True, markup=False)
