"""Style augmentation: the same post lowercased and without punctuation.

One pool (capres2023) was published lowercased and stripped of punctuation, and ordinary timelines
mix styles; a decision that flips when only the style changes is a shortcut (evaluation's style
check on dev). Training on a share of posts in both styles teaches that the style carries no label.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import replace

from netral.training.data import Example

_PUNCT = re.compile(r"[^\w\s#@]+")


def style_stripped(text: str) -> str:
    """Lower case without punctuation (the style of the lowercased 2023 pool), digits kept.

    Digits are kept on purpose: "coblos 02" without its number no longer names a contestant, so
    removing them would change the content, not only the style. ``#`` and ``@`` are kept too.
    """
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def with_style_copies(examples: Sequence[Example], fraction: float, seed: int) -> list[Example]:
    """The examples plus a style-stripped copy of a seeded ``fraction`` of those whose text changes."""
    if fraction <= 0:
        return list(examples)
    rng = random.Random(seed)
    copies = []
    for ex in examples:
        stripped = style_stripped(ex.text)
        if stripped != ex.text and rng.random() < fraction:
            copies.append(replace(ex, id=f"{ex.id}#style", text=stripped))
    return [*examples, *copies]
