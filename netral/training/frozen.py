"""Training with the lowest encoder layers frozen and their outputs computed once.

On two CPU cores a full fine-tuning step on the 384-wide, 12-layer e5-small costs about 2.6 s for 16
posts, and the enlarged labelled data would take close to an hour for three epochs. Freezing the
embeddings and the lowest ``k`` layers and caching what they output per text means every epoch runs
only the upper layers, forward and backward. The cached path is exact: in eval mode it gives the same
logits as the full model (``tests/test_model_pipeline.py``), and the saved model is the ordinary full
classifier, so inference does not know how it was trained.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from tqdm import tqdm
from transformers.masking_utils import create_bidirectional_mask

from netral.models.architecture import NetralMeanPoolClassifier


def _layers(model: NetralMeanPoolClassifier) -> nn.ModuleList:
    return model.encoder.encoder.layer  # type: ignore[no-any-return]


def freeze_lower(model: NetralMeanPoolClassifier, k: int) -> None:
    """No gradients for the embeddings and the lowest ``k`` layers."""
    for p in model.encoder.embeddings.parameters():
        p.requires_grad_(False)
    for layer in _layers(model)[:k]:
        for p in layer.parameters():
            p.requires_grad_(False)


def _run(model: NetralMeanPoolClassifier, layers: Sequence[nn.Module], hidden: torch.Tensor,
         attention_mask: torch.Tensor) -> torch.Tensor:
    mask = create_bidirectional_mask(config=model.encoder.config, inputs_embeds=hidden, attention_mask=attention_mask)
    for layer in layers:
        hidden = layer(hidden, mask)
    return hidden


@torch.inference_mode()
def lower_outputs(model: NetralMeanPoolClassifier, input_ids: Sequence[Sequence[int]], k: int,
                  batch_size: int = 64, progress: bool = False) -> list[torch.Tensor]:
    """For each text, the hidden states after the embeddings and the lowest ``k`` layers, ``[len, hidden]``.

    Computed in eval mode (no dropout) on length-sorted batches; each row is cut back to its own length.
    """
    was_training = model.training
    model.eval()
    order = sorted(range(len(input_ids)), key=lambda i: len(input_ids[i]))
    out: list[torch.Tensor | None] = [None] * len(input_ids)
    for start in tqdm(range(0, len(order), batch_size), desc=f"lapisan bawah (k={k})", unit="batch",
                      disable=not progress):
        idx = order[start:start + batch_size]
        width = max(len(input_ids[i]) for i in idx)
        ids = torch.zeros((len(idx), width), dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for row, i in enumerate(idx):
            ids[row, :len(input_ids[i])] = torch.tensor(input_ids[i])
            mask[row, :len(input_ids[i])] = 1
        hidden = _run(model, _layers(model)[:k], model.encoder.embeddings(input_ids=ids), mask)
        for row, i in enumerate(idx):
            out[i] = hidden[row, :len(input_ids[i])].clone()
    model.train(was_training)
    return [t for t in out if t is not None]


def pad_hidden(rows: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of cached rows padded to its longest member, and the attention mask."""
    width = max(r.shape[0] for r in rows)
    hidden = torch.zeros((len(rows), width, rows[0].shape[1]), dtype=rows[0].dtype)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        hidden[i, :r.shape[0]] = r
        mask[i, :r.shape[0]] = 1
    return hidden, mask


def upper_logits(model: NetralMeanPoolClassifier, hidden: torch.Tensor, attention_mask: torch.Tensor,
                 k: int) -> torch.Tensor:
    """Logits from cached lower outputs: the upper layers, mean pooling and the head."""
    return model.pool_and_classify(_run(model, _layers(model)[k:], hidden, attention_mask), attention_mask)
