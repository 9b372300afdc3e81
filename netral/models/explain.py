"""Which words drove a score: occlusion over words.

Each word is removed in turn and the partisan score recomputed; the drop is that word's
contribution. It costs one extra batch per explained post, so it is computed for flagged posts
only. Read it as "without this word the score would fall by X", not as a probability.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from netral.models.classifier import Classifier

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Driver:
    text: str
    start: int
    end: int
    delta: float

    def to_dict(self) -> dict[str, object]:
        return {"text": self.text, "start": self.start, "end": self.end, "delta": round(self.delta, 4)}


def occlusion(clf: Classifier, text: str, top_k: int = 5, max_words: int = 80) -> list[Driver]:
    words = list(_WORD.finditer(text))[:max_words]
    if not words:
        return []
    variants = [text[: m.start()] + text[m.end():] for m in words]
    probs = clf.probabilities([text, *variants])[:, 0]
    base = float(probs[0])
    drivers = [Driver(m.group(), m.start(), m.end(), base - float(p)) for m, p in zip(words, probs[1:], strict=True)]
    drivers.sort(key=lambda d: d.delta, reverse=True)
    return [d for d in drivers[:top_k] if d.delta > 0.0]
