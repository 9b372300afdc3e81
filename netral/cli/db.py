"""``netral db``: schema migrations."""

from __future__ import annotations

import typer

from netral import audit
from netral.cli.common import console, fail
from netral.db.engine import session_factory, upgrade
from netral.db.schema import DbPolicy
from netral.settings import get_settings

app = typer.Typer(help="Basis data: migrasi skema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd(revision: str = typer.Argument("head", help="target revisi Alembic")) -> None:
    """Terapkan migrasi sampai REVISION (bawaan: yang terbaru)."""
    url = get_settings().db_url
    upgrade(url, revision)
    console.print(f"Skema basis data mutakhir ({revision}) di {url.split('@')[-1]}")


@app.command("four-eyes")
def four_eyes(
    state: str = typer.Argument(..., help="on | off"),
    reason: str = typer.Option(..., "--reason", help="alasan (masuk log audit)"),
) -> None:
    """Nyalakan/matikan prinsip empat mata untuk laporan di basis data (dicatat di log audit).

    Pemicu (trigger) laporan membaca baris ini, sehingga `NETRAL_REQUIRE_SECOND_REVIEW=false` saja tidak
    membuat satu orang dapat menerbitkan laporan: pemilik basis data juga harus mematikannya di sini.
    Peran basis data aplikasi sebaiknya hanya boleh SELECT pada `db_policy` (daftar periksa di README).
    """
    if state not in ("on", "off"):
        raise fail("STATE harus on atau off")
    if len(reason.strip()) < 10:
        raise fail("alasan minimal 10 karakter")
    enabled = state == "on"
    with session_factory(get_settings().db_url)() as session:
        policy = session.get(DbPolicy, "four_eyes")
        if policy is None:
            raise fail("tabel db_policy tidak ada; jalankan `netral db upgrade` dulu")
        before = policy.enabled
        policy.enabled = enabled
        session.flush()
        audit.append(session, actor="cli", action="policy.four_eyes", entity="db_policy", entity_id="four_eyes",
                     before={"enabled": before}, after={"enabled": enabled}, reason=reason.strip())
        session.commit()
    console.print(f"Prinsip empat mata untuk laporan: {'aktif' if enabled else 'nonaktif'}")
