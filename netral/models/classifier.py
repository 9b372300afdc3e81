"""The partisan classifier at inference time: load a registry version, score texts.

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
from transformers.utils import logging as hf_logging

from netral.models import architecture  # noqa: F401  (registers the mean-pooling classifier)
from netral.models.registry import ModelVersion
from netral.normalise import normalise
from netral.vocabulary import CATEGORIES


@dataclass(frozen=True)
class Prediction:
    partisan_score: float
    partisan: bool
    categories: dict[str, float]


class Classifier:
    def __init__(self, version: ModelVersion, max_length: int = 128, threads: int | None = None,
                 prep: Callable[[str], str] | None = None) -> None:
        """``prep`` is the text preparation the version was trained with (contestant masking, see
        ``netral.pipeline.masking.load_classifier``); a version trained with masking refuses to run
        without it, because unmasked names would be inputs it never saw."""
        if version.meta.get("mask_contestants") and prep is None:
            raise ValueError(f"versi {version.version} dilatih dengan penyamaran kandidat; "
                             "muat lewat netral.pipeline.masking.load_classifier")
        self.prep = prep
        if threads:
            torch.set_num_threads(threads)
        self.version = version
        self.max_length = max_length
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # the tokenizer loader does not know our registered model type
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(version.path)
        finally:
            hf_logging.set_verbosity(verbosity)
        self.model = AutoModelForSequenceClassification.from_pretrained(version.path)
        self.model.eval()
        self.prefix = str(getattr(self.model.config, "text_prefix", ""))
        self.threshold = version.threshold

    @property
    def name(self) -> str:
        return self.version.version

    @torch.inference_mode()
    def probabilities(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Sigmoid outputs, shape (n, 1 + len(CATEGORIES)), in the input order."""
        if not texts:
            return np.zeros((0, 1 + len(CATEGORIES)), dtype=np.float32)
        prep = self.prep or (lambda t: t)
        norm = [self.prefix + normalise(prep(t)) for t in texts]
        enc = self.tokenizer(norm, truncation=True, max_length=self.max_length)["input_ids"]
        order = np.argsort([len(ids) for ids in enc], kind="stable")
        out = np.zeros((len(texts), 1 + len(CATEGORIES)), dtype=np.float32)
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
                       {c: round(float(v), 4) for c, v in zip(CATEGORIES, p[1:], strict=True)})
            for p in probs
        ]
