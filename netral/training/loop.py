"""The training loop over cached lower-layer outputs: batches, loss, resume, early stopping.

Kept apart from model building and registration (``finetune``) the way Hugging Face keeps the
``Trainer`` apart from the model: this module knows nothing about where the data came from or where
the result goes. A killed run restarted with the same inputs resumes from its last checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from netral.atomic import atomic_torch_save
from netral.models.architecture import NetralMeanPoolClassifier
from netral.training.config import TrainConfig
from netral.training.frozen import pad_hidden, upper_logits
from netral.training.metrics import head_metrics

ProgressFn = Callable[[float, str], None]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class LoopState:
    step: int = 0
    epoch: int = 0
    best_ap: float = -1.0
    bad_epochs: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


def length_grouped_batches(lengths: list[int], batch_size: int, seed: int, group_batches: int = 50) -> list[list[int]]:
    """Indices in batches of similar length, reproducible from ``seed`` (so a resumed epoch replays it).

    Shuffle, cut into groups of ``group_batches`` batches, sort each group by length, cut it into
    batches, shuffle the batch order: every batch is still a random draw from the data, but padded
    only to a length near its own items'.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    group = batch_size * group_batches
    batches: list[list[int]] = []
    for start in range(0, len(order), group):
        chunk = sorted(order[start:start + group].tolist(), key=lambda i: -lengths[i])
        batches += [chunk[k:k + batch_size] for k in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


@torch.inference_mode()
def cached_probs(model: NetralMeanPoolClassifier, rows: Sequence[torch.Tensor], k: int,
                 batch_size: int = 64) -> np.ndarray:
    """Sigmoid outputs for cached rows, in their order (length-sorted batches inside)."""
    was_training = model.training
    model.eval()
    order = sorted(range(len(rows)), key=lambda i: rows[i].shape[0])
    probs = np.zeros((len(rows), model.config.num_labels), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        hidden, mask = pad_hidden([rows[i] for i in idx])
        probs[idx] = torch.sigmoid(upper_logits(model, hidden, mask, k)).float().numpy()
    model.train(was_training)
    return probs


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    return {k: v.detach().clone() for k, v in model.state_dict().items() if k in names}


def run_loop(model: NetralMeanPoolClassifier, train_rows: Sequence[torch.Tensor], train_targets: np.ndarray,
             dev_rows: Sequence[torch.Tensor], dev_partisan: np.ndarray, config: TrainConfig, run_dir: Path,
             loss_fn: LossFn, optimizer: torch.optim.Optimizer, scheduler: Any, total_steps: int, *,
             progress: bool = True, notify: ProgressFn | None = None) -> LoopState:
    """Train until the epochs run out or dev average precision stops improving; the best state is in
    ``run_dir/best.pt``. Early stopping uses the partisan head's AP, which needs no threshold."""
    notify = notify or (lambda _f, _m: None)
    k = config.frozen_layers
    params = [p for p in model.parameters() if p.requires_grad]
    lengths = [r.shape[0] for r in train_rows]
    steps_per_epoch = max(1, (len(train_rows) + config.batch_size - 1) // config.batch_size)
    state = LoopState()
    ckpt = run_dir / "checkpoint.pt"
    if ckpt.is_file():
        saved = torch.load(ckpt, weights_only=True)
        model.load_state_dict(saved["model"], strict=False)
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        state = LoopState(**saved["state"])
        torch.set_rng_state(saved["torch_rng"])
        print(f"Melanjutkan pelatihan dari langkah {state.step} (epoch {state.epoch + 1}) di {run_dir}")

    def save_checkpoint() -> None:
        atomic_torch_save({"model": trainable_state(model), "optimizer": optimizer.state_dict(),
                           "scheduler": scheduler.state_dict(), "state": asdict(state),
                           "torch_rng": torch.get_rng_state()}, ckpt)

    targets = torch.tensor(train_targets, dtype=torch.float32)
    model.train()
    bar = tqdm(total=total_steps, initial=state.step, desc="fine-tuning", unit="step", disable=not progress)
    stop = False
    while not stop and state.epoch < config.epochs:
        epoch = state.epoch
        batches = length_grouped_batches(lengths, config.batch_size, config.seed + epoch)
        skip = state.step - epoch * steps_per_epoch  # batches of this epoch already done before a resume
        for i, idx in enumerate(batches):
            if i < skip:
                continue
            hidden, mask = pad_hidden([train_rows[j] for j in idx])
            loss = loss_fn(upper_logits(model, hidden, mask, k), targets[idx])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            state.step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", epoch=epoch + 1)
            notify(min(0.9, state.step / total_steps * 0.85), f"langkah {state.step}/{total_steps}")
            if state.step % config.checkpoint_every == 0:
                save_checkpoint()
            if config.max_steps and state.step >= config.max_steps:
                stop = True
                break
        ap = head_metrics(dev_partisan, cached_probs(model, dev_rows, k)[:, 0], 0.5)["average_precision"]
        state.history.append({"epoch": epoch + 1, "step": state.step, "dev_average_precision": ap})
        if ap > state.best_ap:
            state.best_ap, state.bad_epochs = ap, 0
            atomic_torch_save(trainable_state(model), run_dir / "best.pt")
        else:
            state.bad_epochs += 1
        state.epoch = epoch + 1
        save_checkpoint()
        bar.write(f"epoch {epoch + 1}: dev AP partisan = {ap:.4f} (terbaik {state.best_ap:.4f})")
        if state.bad_epochs >= config.patience:
            bar.write("Berhenti dini: dev tidak membaik.")
            break
    bar.close()
    model.load_state_dict(torch.load(run_dir / "best.pt", weights_only=True), strict=False)
    model.eval()
    return state
