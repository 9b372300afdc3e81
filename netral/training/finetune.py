"""Fine-tuning: a six-output multi-label sequence classifier (partisan + five categories).

The steps are separate units, the way Hugging Face separates model, ``Trainer`` and arguments:
``build_model`` (base weights, fresh head, frozen lower layers), ``encode`` (texts → token ids),
``netral.training.loop.run_loop`` (batches, loss, resume, early stopping), ``choose_thresholds`` (on
dev only), ``measure_held_out`` (the frozen sets, never used for a choice) and ``register``. ``train``
only wires them together.

Choices that matter:
- mean pooling over the encoder's tokens (``netral.models.architecture``), as e5 was trained;
- embeddings and the lowest layers frozen, their outputs computed once (``netral.training.frozen``);
- batches of similar length (``length_grouped_batches``);
- early stopping on dev average precision of the partisan head (threshold-free, so the decision
  threshold can be chosen afterwards for the recall target);
- optional contestant masking (``netral.pipeline.masking``), applied identically at inference;
- checkpoints in a run directory keyed by data and configuration, so a killed run resumes;
- the result is written to a staging directory and moved into the registry in one rename.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoTokenizer, get_linear_schedule_with_warmup, set_seed

from netral.models.architecture import NetralMeanPoolClassifier
from netral.models.registry import ModelVersion, save_version
from netral.normalise import NORMALISER_VERSION, normalise
from netral.training.augment import with_style_copies
from netral.training.config import TrainConfig
from netral.training.data import CATEGORIES, LABELS, Example, SplitSet, data_hash
from netral.training.frozen import freeze_lower, lower_outputs
from netral.training.loop import ProgressFn, cached_probs, length_grouped_batches, run_loop
from netral.training.metrics import choose_threshold, head_metrics

__all__ = ["ProgressFn", "TrainConfig", "length_grouped_batches", "train"]

Prep = Callable[[str], str]


def _identity(text: str) -> str:
    return text


def build_model(base_path: Path, config: TrainConfig, text_prefix: str) -> NetralMeanPoolClassifier:
    """Base encoder, fresh head, embeddings and the lowest ``config.frozen_layers`` layers frozen."""
    model = NetralMeanPoolClassifier.from_base(base_path, labels=list(LABELS), text_prefix=text_prefix)
    model.config.mask_contestants = config.mask_contestants
    freeze_lower(model, config.frozen_layers)
    return model


def encode(tokenizer: Any, texts: Sequence[str], max_length: int, prefix: str, prep: Prep) -> list[list[int]]:
    """Token ids of ``prefix + normalise(prep(text))``: the same preparation as at inference."""
    prepared = [prefix + normalise(prep(t)) for t in texts]
    return tokenizer(prepared, truncation=True, max_length=max_length)["input_ids"]  # type: ignore[no-any-return]


def make_loss(train_examples: Sequence[Example], config: TrainConfig) -> Callable[[torch.Tensor, torch.Tensor],
                                                                                 torch.Tensor]:
    """Weighted multi-label BCE: rarer category heads get a larger positive weight so SUPPORT does not
    drown them; the partisan head is calibrated on the data as it is (its threshold is chosen later)."""
    targets = np.array([e.targets() for e in train_examples], dtype=np.float32)
    pos = targets.sum(0).clip(min=1)
    pos_weight = torch.tensor(((len(targets) - pos) / pos).clip(0.5, 5.0), dtype=torch.float32)
    pos_weight[0] = 1.0
    head_weight = torch.tensor([1.0] + [config.category_loss_weight] * len(CATEGORIES))
    bce = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="none")

    def loss_fn(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return (bce(logits, labels) * head_weight).sum(1).mean() / head_weight.sum()

    return loss_fn


def make_optimizer(model: NetralMeanPoolClassifier, config: TrainConfig,
                   total_steps: int) -> tuple[torch.optim.Optimizer, Any]:
    """AdamW with a separate (larger) learning rate for the fresh head, linear warm-up and decay."""
    head_ids = {id(p) for p in model.classifier.parameters()}
    encoder = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    optimizer = torch.optim.AdamW(
        [{"params": encoder, "lr": config.learning_rate},
         {"params": list(model.classifier.parameters()), "lr": config.head_learning_rate}],
        weight_decay=config.weight_decay)
    warmup = max(1, int(total_steps * config.warmup_ratio))
    return optimizer, get_linear_schedule_with_warmup(optimizer, warmup, total_steps)


@torch.inference_mode()
def predict_probs(model: NetralMeanPoolClassifier, tokenizer: Any, ids: Sequence[Sequence[int]],
                  batch_size: int = 64) -> np.ndarray:
    """Sigmoid outputs of the full model for token ids, in their order (length-sorted batches)."""
    model.eval()
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    probs = np.zeros((len(ids), len(LABELS)), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        batch = tokenizer.pad({"input_ids": [ids[i] for i in idx]}, return_tensors="pt")
        probs[idx] = torch.sigmoid(model(**batch).logits).float().numpy()
    return probs


def choose_thresholds(dev: Sequence[Example], dev_probs: np.ndarray, target_recall: float) -> dict[str, float]:
    """The partisan threshold for the recall target on dev; category heads describe and do not gate."""
    y = np.array([e.partisan for e in dev], dtype=float)
    return {"partisan": choose_threshold(y, dev_probs[:, 0], target_recall), **{c: 0.5 for c in CATEGORIES}}


def set_metrics(examples: Sequence[Example], probs: np.ndarray, thresholds: dict[str, float]) -> dict[str, Any]:
    y = np.array([e.targets() for e in examples])
    return {lab: head_metrics(y[:, j], probs[:, j], thresholds[lab]) for j, lab in enumerate(LABELS)}


def measure_held_out(model: NetralMeanPoolClassifier, tokenizer: Any, splits: SplitSet, max_length: int,
                     prefix: str, prep_for: Callable[[str], Prep]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Scores on every frozen set (in-domain test, everyday, cross-election) with the full model."""
    probs, hashes = {}, {}
    for name, examples in splits.held_out().items():
        ids = encode(tokenizer, [e.text for e in examples], max_length, prefix, prep_for(name))
        probs[name] = predict_probs(model, tokenizer, ids) if ids else np.zeros((0, len(LABELS)), np.float32)
        hashes[name] = data_hash(examples)
    return probs, hashes


def train(
    splits: SplitSet,
    base_path: Path,
    base_name: str,
    registry: Path,
    config: TrainConfig | None = None,
    *,
    text_prefix: str = "",
    prep_for: Callable[[str], Prep] | None = None,
    eval_max_length: int = 128,
    progress: bool = True,
    on_progress: ProgressFn | None = None,
) -> ModelVersion:
    """Fine-tune, choose thresholds on dev, measure on the frozen sets, register a version.

    ``prep_for(set_name)`` gives the text preparation (contestant masking) for training data
    (``"train"``) and for each frozen set; the cross-election set is masked with its own election's
    config, as an analyst would configure it before scanning.
    """
    config = config or TrainConfig()
    prep_for = prep_for or (lambda _name: _identity)
    if config.threads:
        torch.set_num_threads(config.threads)
    set_seed(config.seed)
    notify = on_progress or (lambda _f, _m: None)
    train_examples = with_style_copies(splits.all_train(), config.style_augment, config.seed)
    dhash = splits.hash()
    run_dir = registry / "_runs" / config.key(dhash, base_name)
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()

    tokenizer = AutoTokenizer.from_pretrained(base_path)
    model = build_model(base_path, config, text_prefix)
    prep = prep_for("train")
    notify(0.02, "menyiapkan teks dan lapisan bawah")
    train_ids = encode(tokenizer, [e.text for e in train_examples], config.max_length, text_prefix, prep)
    dev_ids = encode(tokenizer, [e.text for e in splits.dev], config.max_length, text_prefix, prep)
    k = config.frozen_layers
    train_rows = lower_outputs(model, train_ids, k, progress=progress)
    dev_rows = lower_outputs(model, dev_ids, k, progress=progress)

    steps_per_epoch = max(1, (len(train_rows) + config.batch_size - 1) // config.batch_size)
    total_steps = config.max_steps or steps_per_epoch * config.epochs
    optimizer, scheduler = make_optimizer(model, config, total_steps)
    state = run_loop(model, train_rows, np.array([e.targets() for e in train_examples], dtype=np.float32),
                     dev_rows, np.array([e.partisan for e in splits.dev], dtype=float), config, run_dir,
                     make_loss(train_examples, config), optimizer, scheduler, total_steps,
                     progress=progress, notify=notify)

    notify(0.9, "memilih ambang (dev) dan mengukur pada set beku")
    dev_probs = cached_probs(model, dev_rows, k)
    thresholds = choose_thresholds(splits.dev, dev_probs, config.target_recall)
    held_probs, held_hashes = measure_held_out(model, tokenizer, splits, eval_max_length, text_prefix, prep_for)
    metrics = {"dev": set_metrics(splits.dev, dev_probs, thresholds),
               **{name: set_metrics(ex, held_probs[name], thresholds) for name, ex in splits.held_out().items()}}
    meta = {
        "base_model": base_name, "data_hash": dhash, "test_split_hash": held_hashes["test"],
        "held_out_hashes": held_hashes, "normaliser_version": NORMALISER_VERSION, "labels": list(LABELS),
        "text_prefix": text_prefix, "pooling": "mean", "thresholds": thresholds,
        "target_recall": config.target_recall, "mask_contestants": config.mask_contestants,
        "mask_history": list(config.mask_history) if config.mask_contestants else [],
        "eval_max_length": eval_max_length, "metrics": metrics, "config": asdict(config),
        "history": state.history, "n_train": len(train_examples),
        "n_style_copies": len(train_examples) - len(splits.all_train()), "n_decisions": len(splits.extra_train),
        "n_dev": len(splits.dev), "n_test": len(splits.test),
        "n_held_out": {name: len(ex) for name, ex in splits.held_out().items()},
        "train_seconds": round(time.time() - started, 1),
    }
    mv = register(registry, model, tokenizer, dhash, meta, held_probs)
    import shutil

    shutil.rmtree(run_dir, ignore_errors=True)
    notify(1.0, f"selesai: {mv.version}")
    return mv


def register(registry: Path, model: NetralMeanPoolClassifier, tokenizer: Any, dhash: str, meta: dict[str, Any],
             held_probs: dict[str, np.ndarray]) -> ModelVersion:
    """Weights, tokenizer, scores on the frozen sets and metadata, moved into the registry in one rename."""
    version = f"v{datetime.now(UTC):%Y%m%d-%H%M%S}-{dhash[:6]}"
    staging = registry / f".staging-{version}"
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    np.save(staging / "test_probs.npy", held_probs["test"])
    for name, probs in held_probs.items():
        if name != "test":
            np.save(staging / f"{name}_probs.npy", probs)
    return save_version(registry, version, staging,
                        {"version": version, "created_at": datetime.now(UTC).isoformat(), **meta})
