"""The partisan classifier at inference time: load a registry version, score texts.

The outputs are named by the version's own saved config (``id2label``), not by the code's current
category list, so a version trained before a category was added still reports what it was trained on.
Texts go through the same ``normalise`` as in training. Batches are formed from length-sorted
texts and padded only to their longest member (dynamic padding), which is where most of the
speed-up over a one-at-a-time, pad-to-128 pipeline comes from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from netral.models import architecture  # noqa: F401  (registers the mean-pooling classifier)
from netral.models.registry import ModelVersion
from netral.normalise import normalise
from netral.vocabulary import PARTISAN


@dataclass(frozen=True)
class Prediction:
    partisan_score: float
    partisan: bool
    categories: dict[str, float]


class Classifier:
    def __init__(self, version: ModelVersion, max_length: int = 128, threads: int | None = None,
                 prep: Callable[[str], str] | None = None, lexicon: dict[str, str] | None = None) -> None:
        """``prep`` is the text preparation the version was trained with (contestant masking, see
        ``netral.pipeline.masking.load_classifier``); a version trained with masking refuses to run
        without it, because unmasked names would be inputs it never saw. ``lexicon`` is the slang lexicon
        (``load_lexicon(settings.slang_lexicon)``); None uses the one shipped with the code."""
        if version.meta.get("mask_contestants") and prep is None:
            raise ValueError(f"versi {version.version} dilatih dengan penyamaran kandidat; "
                             "muat lewat netral.pipeline.masking.load_classifier")
        self.prep = prep
        if threads:
            torch.set_num_threads(threads)
        self.version = version
        self.max_length = max_length
        self.lexicon = lexicon
        self.tokenizer = AutoTokenizer.from_pretrained(version.path)
        self.model = AutoModelForSequenceClassification.from_pretrained(version.path)
        self.model.eval()
        config = self.model.config
        self.labels: tuple[str, ...] = tuple(config.id2label[i] for i in range(config.num_labels))
        if not self.labels or self.labels[0] != PARTISAN:
            raise ValueError(f"versi {version.version}: keluaran pertama harus {PARTISAN!r}, "
                             f"config berisi {list(self.labels)}")
        self.categories: tuple[str, ...] = self.labels[1:]
        self.prefix = str(getattr(self.model.config, "text_prefix", ""))
        self.threshold = version.threshold

    @property
    def name(self) -> str:
        return self.version.version

    def prepare(self, text: str) -> str:
        """The model's input for a post: the version's preparation, normalisation and text prefix."""
        prepared = self.prep(text) if self.prep else text
        return self.prefix + normalise(prepared, self.lexicon)

    @torch.inference_mode()
    def probabilities(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Sigmoid outputs, shape (n, len(self.labels)): partisan first, then ``self.categories``."""
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        norm = [self.prepare(t) for t in texts]
        enc = self.tokenizer(norm, truncation=True, max_length=self.max_length)["input_ids"]
        order = np.argsort([len(ids) for ids in enc], kind="stable")
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            batch = self.tokenizer.pad({"input_ids": [enc[i] for i in idx]}, return_tensors="pt")
            logits = self.model(**batch).logits
            out[idx] = torch.sigmoid(logits).float().numpy()
        return out

    def predict(self, texts: Sequence[str], batch_size: int = 32) -> list[Prediction]:
        probs = self.probabilities(texts, batch_size)
        return [
            Prediction(float(p[0]), bool(p[0] >= self.threshold),
                       {c: round(float(v), 4) for c, v in zip(self.categories, p[1:], strict=True)})
            for p in probs
        ]
