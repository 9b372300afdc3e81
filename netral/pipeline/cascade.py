"""A cascade for timelines: a cheap first stage decides which posts the full model must read.

An ASN timeline is mostly everyday life (perhaps 1 to 5 partisan posts in 100), and the transformer is the
expensive part of a scan. The first stage passes a post on when the evidence rules find anything in it
(a candidate, pair, ballot number, party, slogan, campaign hashtag or gesture of a configured election) or
when a small character n-gram model (hashed 2-5-grams of the normalised text, logistic regression trained
on the labelled training split) gives it at least the gate probability. Posts the stage stops get a score
row that says so and are never flagged.

The gate is chosen on the dev split: the highest probability at which the cascade loses none of the dev
posts that the full model flags correctly. The cascade is then measured on every evaluation set (in-domain
test, everyday, cross-election) as recall of the full model minus recall of the cascade; ``enabled`` is
true only if that loss is at most 0.5 points on each. With ``settings.cascade = "auto"`` (the default) the
scan uses the cascade only when it is enabled; ``on``/``off`` override. Built by ``netral model export``,
stored in ``<version>/cascade/`` with its own hashes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from netral.atomic import atomic_write_json
from netral.models.optimised import sha256_file
from netral.models.registry import ModelVersion
from netral.normalise import normalise
from netral.pipeline.evidence import EvidenceExtractor
from netral.settings import Settings

CASCADE_DIR = "cascade"
MANIFEST = "cascade.json"
WEIGHTS = "weights.npy"
N_FEATURES = 1 << 18
NGRAMS = (2, 5)
MAX_RECALL_LOSS = 0.005


def _vectorizer() -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(analyzer="char_wb", ngram_range=NGRAMS, n_features=N_FEATURES, alternate_sign=False,
                             norm="l2", lowercase=True)


class CharModel:
    """Logistic regression over hashed character n-grams: thousands of posts a second on one core."""

    def __init__(self, weights: np.ndarray, bias: float, lexicon: dict[str, str] | None = None) -> None:
        self.weights = weights.astype(np.float32)
        self.bias = float(bias)
        self.lexicon = lexicon
        self._vec = _vectorizer()

    @classmethod
    def fit(cls, texts: Sequence[str], labels: Sequence[bool], lexicon: dict[str, str] | None = None,
            c: float = 4.0) -> CharModel:
        from sklearn.linear_model import LogisticRegression

        x = _vectorizer().transform([normalise(t, lexicon) for t in texts])
        reg = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
        reg.fit(x, np.asarray(labels, dtype=bool))
        return cls(reg.coef_[0], float(reg.intercept_[0]), lexicon)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0, dtype=np.float32)
        x = self._vec.transform([normalise(t, self.lexicon) for t in texts])
        return 1.0 / (1.0 + np.exp(-(x @ self.weights + self.bias)))


@dataclass
class Cascade:
    """The first stage (``netral.pipeline.scan.Gate``): evidence rules or the char model above the gate."""

    char: CharModel
    gate: float
    extractor: EvidenceExtractor
    name: str = "cascade"

    def passes(self, texts: Sequence[str]) -> list[bool]:
        probs = self.char.probabilities(texts)
        return [bool(p >= self.gate) or bool(self.extractor.extract(t)) for t, p in zip(texts, probs, strict=True)]


def choose_gate(char_probs: np.ndarray, evidence: np.ndarray, caught: np.ndarray) -> float:
    """The highest gate that keeps every post in ``caught`` (flagged correctly by the full model) passing."""
    need = caught & ~evidence
    if not need.any():
        return float(np.quantile(char_probs, 0.5)) if len(char_probs) else 0.5
    return float(char_probs[need].min())


def cascade_dir(version: ModelVersion) -> Path:
    return version.path / CASCADE_DIR


def save(version: ModelVersion, char: CharModel, gate: float, figures: dict[str, Any], enabled: bool) -> Path:
    path = cascade_dir(version)
    path.mkdir(exist_ok=True)
    np.save(path / WEIGHTS, np.append(char.weights, np.float32(char.bias)))
    atomic_write_json(path / MANIFEST, {
        "version": version.version, "gate": gate, "enabled": enabled, "max_recall_loss": MAX_RECALL_LOSS,
        "features": {"analyzer": "char_wb", "ngrams": list(NGRAMS), "n_features": N_FEATURES},
        "files": {WEIGHTS: sha256_file(path / WEIGHTS)}, "figures": figures})
    return path


def load(version: ModelVersion, settings: Settings) -> tuple[Cascade, dict[str, Any]] | None:
    """The version's cascade and manifest, or None when it has none or its weights do not verify."""
    from netral.normalise import load_lexicon

    path = cascade_dir(version)
    if not (path / MANIFEST).is_file():
        return None
    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("version") != version.version or sha256_file(path / WEIGHTS) != manifest["files"][WEIGHTS]:
        return None
    raw = np.load(path / WEIGHTS)
    char = CharModel(raw[:-1], float(raw[-1]), load_lexicon(settings.slang_lexicon))
    return Cascade(char, float(manifest["gate"]), EvidenceExtractor.from_settings(settings)), manifest


def cascade_for(version: ModelVersion, settings: Settings, mode: str) -> Cascade | None:
    """The cascade a scan uses: ``off`` none; ``on`` the version's if it has one; ``auto`` only if enabled."""
    if mode == "off":
        return None
    found = load(version, settings)
    if found is None:
        return None
    gate, manifest = found
    return gate if mode == "on" or manifest.get("enabled") else None
