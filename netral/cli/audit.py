"""``netral audit``: check the hash chain and read the log."""

from __future__ import annotations

import json

import typer
from sqlalchemy import func, select

from netral import audit as audit_log
from netral.cli.common import console, err_console
from netral.db.engine import session_factory
from netral.db.schema import AuditRecord
from netral.settings import get_settings

app = typer.Typer(help="Log audit: periksa keutuhan, tampilkan catatan.", no_args_is_help=True)


@app.command("verify")
def verify() -> None:
    """Exit 0 if the chain is intact, 1 listing every break (edited, removed or reordered records)."""
    with session_factory(get_settings().db_url)() as session:
        problems = audit_log.verify_chain(session)
        count = session.scalar(select(func.count()).select_from(AuditRecord)) or 0
        head = audit_log.head_hash(session)
    if problems:
        for p in problems:
            err_console.print(f"RUSAK catatan #{p.record_id}: {p.problem}")
        err_console.print(f"{len(problems)} masalah dalam {count} catatan.")
        raise typer.Exit(1)
    typer.echo(f"OK, {count} records, head {head}")


@app.command("show")
def show(limit: int = typer.Option(20, "--limit", help="jumlah catatan terbaru")) -> None:
    """The newest records, oldest of them first."""
    with session_factory(get_settings().db_url)() as session:
        rows = list(session.scalars(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)))
    for r in reversed(rows):
        change = json.dumps({"before": r.before, "after": r.after}, ensure_ascii=False, default=str)
        console.print(f"#{r.id} {r.at.isoformat(timespec='seconds')} {r.actor} {r.action} {r.entity}:{r.entity_id} "
                      f"{change}" + (f" — {r.reason}" if r.reason else ""), soft_wrap=True, markup=False)
