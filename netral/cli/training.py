"""``netral train``, ``netral evaluate`` and ``netral predict``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import typer

from netral.atomic import atomic_write_lines
from netral.cli.common import console, err_console, factory, fail
from netral.models.base import BaseModelError
from netral.models.registry import RegistryError, active_version, resolve, set_active
from netral.settings import get_settings
from netral.training.config import TrainConfig
from netral.training.data import LabelledDataError


def train_cmd(
    base_model: str | None = typer.Option(None, "--base-model", help="folder model dasar lokal format "
                                                                     "Hugging Face (mis. IndoBERTweet)"),
    with_decisions: bool = typer.Option(False, help="tambahkan keputusan peninjau ke data latih"),
    epochs: int | None = typer.Option(None, help="epoch maksimum (berhenti dini pada set dev); bawaan: resep"),
    batch_size: int | None = typer.Option(None, help="ukuran batch; bawaan: resep"),
    max_steps: int | None = typer.Option(None, help="batasi langkah (uji cepat)"),
    limit_train: int | None = typer.Option(None, help="pakai sebagian data latih (uji cepat)"),
    frozen_layers: int | None = typer.Option(None, help="jumlah lapisan bawah yang dibekukan; bawaan: resep"),
    mask_contestants: bool | None = typer.Option(None, "--mask/--no-mask",
                                                 help="samarkan nama calon/nomor urut/partai; bawaan: resep"),
    style_augment: float | None = typer.Option(None, help="bagian unggahan latih yang juga masuk dalam gaya huruf "
                                                         "kecil tanpa tanda baca (0-1); bawaan: resep"),
    learning_rate: float | None = typer.Option(None, help="laju belajar encoder; bawaan: resep"),
    head_learning_rate: float | None = typer.Option(None, help="laju belajar kepala klasifikasi; bawaan: resep"),
    seed: int | None = typer.Option(None, help="benih acak; bawaan: resep"),
) -> None:
    """Fine-tune a new version; it becomes active only if none is active yet (else use `model promote`)."""
    from netral.training.service import run_training

    settings = get_settings()
    config = TrainConfig().override(
        epochs=epochs, batch_size=batch_size, max_steps=max_steps, seed=seed, frozen_layers=frozen_layers,
        mask_contestants=mask_contestants, threads=settings.torch_threads, learning_rate=learning_rate,
        style_augment=style_augment,
        head_learning_rate=head_learning_rate)
    try:
        mv = run_training(settings=settings, base_model=base_model, factory=factory() if with_decisions else None,
                          with_decisions=with_decisions, config=config, limit_train=limit_train)
    except (BaseModelError, LabelledDataError, RegistryError) as exc:
        raise fail(str(exc)) from None
    test = mv.meta["metrics"]["test"]["partisan"]
    console.print(f"Versi baru {mv.version}: F1 uji {test['f1']:.3f}, recall {test['recall']:.3f}, "
                  f"presisi {test['precision']:.3f} pada ambang {mv.threshold:.3f}")
    if active_version(settings.registry_dir) is None:
        set_active(settings.registry_dir, mv.version)
        console.print("Belum ada model aktif: versi ini dijadikan aktif.")
    else:
        console.print(f"Bandingkan dan aktifkan dengan: netral model promote {mv.version}")


def evaluate_cmd(model: str | None = typer.Option(None, help="versi model; bawaan: yang aktif")) -> None:
    """Measure a version on every frozen set beside the TF-IDF and gazetteer baselines."""
    from netral.training.data import load_splits
    from netral.training.evaluate import evaluate, render_markdown

    settings = get_settings()
    try:
        mv = resolve(settings.registry_dir, model)
        report = evaluate(mv, load_splits(settings.labelled_dir), settings)
    except (RegistryError, LabelledDataError, ValueError) as exc:
        raise fail(str(exc)) from None
    console.print(render_markdown(report))
    console.print(f"Plot dan laporan: {mv.path / 'eval'}")


def predict_cmd(
    input: Path = typer.Option(..., "--input", help="JSONL: {\"id\", \"text\"} per baris"),
    output: Path = typer.Option(..., "--output", help="JSONL hasil"),
    model: str | None = typer.Option(None, help="versi model; bawaan: yang aktif"),
    evidence: bool = typer.Option(True, help="sertakan bukti (span) dari konfigurasi pemilu"),
) -> None:
    """Score texts with a registered model. Needs no database."""
    from netral.pipeline.evidence import EvidenceExtractor
    from netral.pipeline.masking import load_classifier

    settings = get_settings()
    try:
        mv = resolve(settings.registry_dir, model)
    except RegistryError as exc:
        raise fail(str(exc)) from None
    if not input.is_file():
        raise fail(f"berkas masukan tidak ditemukan: {input}")
    items, problems = [], []
    with input.open(encoding="utf-8", errors="strict") as fh:
        try:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    problems.append(f"{input}:{n}: JSON tidak valid ({exc.msg})")
                    continue
                if not isinstance(rec, dict) or not isinstance(rec.get("text"), str) or "id" not in rec:
                    problems.append(f"{input}:{n}: perlu objek dengan 'id' dan 'text' (string)")
                    continue
                items.append(rec)
        except UnicodeDecodeError:
            problems.append(f"{input}:{n}: bukan UTF-8 yang valid")
    clf = load_classifier(mv, settings)
    extractor = EvidenceExtractor.from_settings(settings) if evidence else None
    preds = clf.predict([r["text"] for r in items], batch_size=settings.scan_batch_size)

    def rows() -> Iterator[str]:
        for rec, pred in zip(items, preds, strict=True):
            row = {"id": rec["id"], "partisan_score": round(pred.partisan_score, 4), "partisan": pred.partisan,
                   "categories": pred.categories, "model_version": mv.version}
            if extractor is not None:
                row["evidence"] = [s.to_dict() for s in extractor.extract(rec["text"])]
            yield json.dumps(row, ensure_ascii=False)

    atomic_write_lines(output, rows())
    console.print(f"{len(items)} teks dinilai dengan {mv.version} → {output}; "
                  f"{sum(p.partisan for p in preds)} partisan pada ambang {mv.threshold:.3f}")
    for p in problems:
        err_console.print(f"DITOLAK {p}")
    if problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("train", help="Latih versi model baru (penyetelan lanjut) dan daftarkan di registri.")(train_cmd)
    app.command("evaluate", help="Ukur versi model pada semua set beku (uji, sehari-hari, lintas pemilu), "
                                 "di samping dua pembanding dasar (baseline).")(evaluate_cmd)
    app.command("predict", help="Nilai teks JSONL dengan model terdaftar (tanpa basis data).")(predict_cmd)
