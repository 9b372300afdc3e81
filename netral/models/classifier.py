"""The partisan classifier at inference time: load a registry version, score texts.

The outputs are named by the version's own saved config (``id2label``), not by the code's current
category list, so a version trained before a category was added still reports what it was trained on.
Texts go through the same ``normalise`` as in training. Batches are formed from length-sorted
texts and padded only to their longest member (dynamic padding), which is where most of the
speed-up over a one-at-a-time, pad-to-128 pipeline comes from.

Two backends run the same prepared text: ``fp32`` (the PyTorch weights) and ``int8`` (the version's
optimised artefact, ``netral.models.optimised``: trimmed vocabulary, ONNX Runtime, int8 weights where
measured to be harmless). ``auto`` takes the artefact when the version has one and fp32 otherwise. The
fp32 model is loaded only when used (drivers need its gradients), so int8 scoring stays small in memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from netral.models.optimised import OnnxScorer, load_artefact, load_tokenizer
from netral.models.registry import ModelVersion
from netral.normalise import normalise
from netral.vocabulary import PARTISAN

Backend = Literal["auto", "int8", "fp32"]


@dataclass(frozen=True)
class Prediction:
    partisan_score: float
    partisan: bool
    categories: dict[str, float]


class Classifier:
    def __init__(self, version: ModelVersion, max_length: int = 128, threads: int | None = None,
                 prep: Callable[[str], str] | None = None, lexicon: dict[str, str] | None = None,
                 backend: Backend = "auto") -> None:
        """``prep`` is the text preparation the version was trained with (contestant masking, see
        ``netral.pipeline.masking.load_classifier``); a version trained with masking refuses to run
        without it, because unmasked names would be inputs it never saw. ``lexicon`` is the slang lexicon
        (``load_lexicon(settings.slang_lexicon)``); None uses the one shipped with the code. ``backend``:
        ``fp32``, ``int8`` (the version must have an artefact: ``netral model export``) or ``auto`` (the
        artefact only if it passed its quality checks, else fp32).

        The int8 backend imports neither torch nor transformers (about 550 MB of RSS with the full
        tokenizer); they load on first use of ``model`` or ``tokenizer`` (drivers, export)."""
        if version.meta.get("mask_contestants") and prep is None:
            raise ValueError(f"versi {version.version} dilatih dengan penyamaran kandidat; "
                             "muat lewat netral.pipeline.masking.load_classifier")
        self.prep = prep
        self.version = version
        self.max_length = max_length
        self.lexicon = lexicon
        self.threads = threads
        self._model: Any = None
        self._tokenizer: Any = None
        config = json.loads((version.path / "config.json").read_text(encoding="utf-8"))
        id2label = {int(k): v for k, v in config["id2label"].items()}
        self.labels: tuple[str, ...] = tuple(id2label[i] for i in range(len(id2label)))
        if not self.labels or self.labels[0] != PARTISAN:
            raise ValueError(f"versi {version.version}: keluaran pertama harus {PARTISAN!r}, "
                             f"config berisi {list(self.labels)}")
        self.categories: tuple[str, ...] = self.labels[1:]
        self.prefix = str(config.get("text_prefix", ""))
        self.threshold = version.threshold
        artefact = load_artefact(version) if backend in ("auto", "int8") else None
        if backend == "auto" and artefact is not None and not artefact.manifest.get("quality", {}).get("passed"):
            artefact = None  # auto takes only an artefact that passed its quality checks against fp32
        if backend == "int8" and artefact is None:
            raise ValueError(f"versi {version.version} belum punya artefak int8; jalankan "
                             f"`netral model export {version.version}`")
        self.backend: Backend = "int8" if artefact is not None else "fp32"
        self._onnx: OnnxScorer | None = None
        self._fast: Any = None
        if artefact is not None:
            self._onnx = OnnxScorer(artefact.model_path, threads)
            self._fast = load_tokenizer(artefact.tokenizer_path, max_length)
        else:
            self._load_model()

    def _load_model(self) -> Any:
        if self._model is None:
            import torch
            from transformers import AutoModelForSequenceClassification

            from netral.models import architecture  # noqa: F401  (registers the mean-pooling classifier)

            if self.threads:
                torch.set_num_threads(self.threads)
            self._model = AutoModelForSequenceClassification.from_pretrained(self.version.path)
            self._model.eval()
        return self._model

    @property
    def model(self) -> Any:
        """The fp32 PyTorch model (loaded on first use with the int8 backend: drivers need gradients)."""
        return self._load_model()

    @property
    def tokenizer(self) -> Any:
        """The version's full Hugging Face tokenizer (fp32 model, drivers, export)."""
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.version.path)
        return self._tokenizer

    @property
    def name(self) -> str:
        return self.version.version

    def prepare(self, text: str) -> str:
        """The model's input for a post: the version's preparation, normalisation and text prefix."""
        prepared = self.prep(text) if self.prep else text
        return self.prefix + normalise(prepared, self.lexicon)

    def probabilities(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Sigmoid outputs, shape (n, len(self.labels)): partisan first, then ``self.categories``."""
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        norm = [self.prepare(t) for t in texts]
        if self._onnx is not None:
            return self._onnx.run([e.ids for e in self._fast.encode_batch(norm)], batch_size)
        return self._fp32_probabilities(norm, batch_size)

    def _fp32_probabilities(self, norm: list[str], batch_size: int) -> np.ndarray:
        import torch

        enc = self.tokenizer(norm, truncation=True, max_length=self.max_length)["input_ids"]
        order = np.argsort([len(ids) for ids in enc], kind="stable")
        out = np.zeros((len(norm), len(self.labels)), dtype=np.float32)
        model = self.model
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                batch = self.tokenizer.pad({"input_ids": [enc[i] for i in idx]}, return_tensors="pt")
                logits = model(**batch).logits
                out[idx] = torch.sigmoid(logits).float().numpy()
        return out

    def predict(self, texts: Sequence[str], batch_size: int = 32) -> list[Prediction]:
        probs = self.probabilities(texts, batch_size)
        return [
            Prediction(float(p[0]), bool(p[0] >= self.threshold),
                       {c: round(float(v), 4) for c, v in zip(self.categories, p[1:], strict=True)})
            for p in probs
        ]
