"""``netral db``: schema migrations."""

from __future__ import annotations

import typer

from netral.cli.common import console
from netral.db.engine import upgrade
from netral.settings import get_settings

app = typer.Typer(help="Basis data: migrasi skema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd(revision: str = typer.Argument("head", help="target revisi Alembic")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    url = get_settings().db_url
    upgrade(url, revision)
    console.print(f"Skema basis data mutakhir ({revision}) di {url.split('@')[-1]}")
