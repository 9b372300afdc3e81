"""Which words drove a score: gradient × input over the word embeddings.

For each flagged post, one forward and one backward pass give every token's contribution to the
partisan logit (gradient times embedding, summed over dimensions); sub-word pieces are summed into
the words of the normalised text. It costs about three forward passes per post, so it runs on every
flag; occlusion (removing each word in turn) was 10–30 times dearer on real posts. Read a driver
"+0.8" as "this word pushed the partisan logit up by about 0.8": it explains the model, not the law.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from netral.models.classifier import Classifier

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Driver:
    text: str
    delta: float

    def to_dict(self) -> dict[str, object]:
        return {"text": self.text, "delta": round(self.delta, 4)}


@torch.enable_grad()  # callers may be inside inference or no-grad scopes
def gradient_x_input(clf: Classifier, texts: Sequence[str], top_k: int = 5, batch_size: int = 16
                     ) -> list[list[Driver]]:
    """Top words per text by positive contribution to the partisan logit."""
    out: list[list[Driver]] = []
    model, tok = clf.model, clf.tokenizer
    embeddings = model.get_input_embeddings()
    for start in range(0, len(texts), batch_size):
        # The model's input, exactly as scored: masked placeholders are drivers too.
        prepared = [clf.prepare(t) for t in texts[start:start + batch_size]]
        enc = tok(prepared, truncation=True, max_length=clf.max_length, padding=True, return_tensors="pt",
                  return_offsets_mapping=True)
        offsets = enc.pop("offset_mapping")
        embeds = embeddings(enc["input_ids"]).detach().requires_grad_(True)
        logits = model(inputs_embeds=embeds, attention_mask=enc["attention_mask"]).logits
        logits[:, 0].sum().backward()
        scores = (embeds.grad * embeds).sum(-1).detach()
        for row, text in enumerate(prepared):
            # Which whitespace-separated word each character belongs to (-1 for spaces).
            word_of = [-1] * len(text)
            words = []
            for n, m in enumerate(_WORD.finditer(text)):
                words.append(m.group())
                word_of[m.start():m.end()] = [n] * (m.end() - m.start())
            totals: dict[int, float] = {}
            for pos, (a, b) in enumerate(offsets[row].tolist()):
                wid = word_of[b - 1] if b > a else -1
                if wid >= 0:
                    totals[wid] = totals.get(wid, 0.0) + float(scores[row, pos])
            n_prefix = len(clf.prefix.split())
            ranked = sorted(((v, w) for w, v in totals.items() if w >= n_prefix), reverse=True)
            out.append([Driver(words[w], v) for v, w in ranked[:top_k] if v > 0.0])
        model.zero_grad(set_to_none=True)
    return out

