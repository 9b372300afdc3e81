"""Combining independent annotations into one label, and measuring how far annotators agree.

Every post was labelled twice, blind (the first labeller of its batch, then a second labeller who
saw neither the first label nor any model output). Where the two disagree on ``partisan``
(yes / no / unclear), a third blind label decides by majority. The rule is fixed in code so the
dataset can be rebuilt and audited, and so that nobody picks labels after seeing model errors.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sklearn.metrics import cohen_kappa_score

from netral.vocabulary import CATEGORIES

Vote = tuple[bool | None, list[str]]  # (partisan or None for unclear, categories)


@dataclass(frozen=True)
class Combined:
    partisan: bool | None
    categories: list[str]
    adjudicated: bool  # a third label was needed


def combine(votes: Sequence[Vote]) -> Combined:
    """Majority of the ``partisan`` votes; no majority (e.g. yes / no / unclear) means unclear.

    Categories of a partisan post: each category chosen by at least half of the annotators who
    called it partisan (two agreeing annotators: the union, since the guideline says "all that
    apply"; three: at least two of them, or all of one when they split evenly).
    """
    if not votes:
        raise ValueError("no annotations")
    counts = Counter(v[0] for v in votes)
    top, n = counts.most_common(1)[0]
    tied = sum(1 for c in counts.values() if c == n) > 1
    adjudicated = len(votes) > 2
    if tied or n * 2 <= len(votes):
        return Combined(None, [], adjudicated)
    if top is not True:
        return Combined(top, [], adjudicated)
    yes = [set(v[1]) for v in votes if v[0] is True]
    chosen = [c for c in CATEGORIES if sum(c in cats for cats in yes) * 2 >= len(yes)]
    if not chosen:  # three yes-voters who share no category: keep the first one's
        chosen = [c for c in CATEGORIES if c in yes[0]]
    return Combined(True, chosen, adjudicated)


def needs_third(first: Vote, second: Vote) -> bool:
    return first[0] != second[0]


def _code(v: bool | None) -> str:
    return {True: "yes", False: "no", None: "unclear"}[v]


def agreement(first: Sequence[Vote], second: Sequence[Vote]) -> dict[str, Any]:
    """Raw agreement and Cohen's kappa between two annotation rounds over the same posts."""
    if len(first) != len(second) or not first:
        raise ValueError("agreement needs two equally long, non-empty rounds")
    a = [_code(v[0]) for v in first]
    b = [_code(v[0]) for v in second]
    decided = [(x, y) for x, y in zip(a, b, strict=True) if "unclear" not in (x, y)]
    both_yes = [(f[1], s[1]) for f, s in zip(first, second, strict=True) if f[0] is True and s[0] is True]
    per_category = {}
    for cat in CATEGORIES:
        x = [cat in f for f, _ in both_yes]
        y = [cat in s for _, s in both_yes]
        per_category[cat] = round(float(cohen_kappa_score(x, y)), 3) if len(set(x + y)) > 1 else None
    return {
        "n": len(a),
        "partisan_3way_agreement": round(sum(x == y for x, y in zip(a, b, strict=True)) / len(a), 4),
        "partisan_3way_kappa": round(float(cohen_kappa_score(a, b)), 4),
        "decided_by_both": len(decided),
        "partisan_yes_no_agreement": round(sum(x == y for x, y in decided) / max(1, len(decided)), 4),
        "partisan_yes_no_kappa": round(float(cohen_kappa_score([x for x, _ in decided], [y for _, y in decided])), 4),
        "category_kappa_where_both_partisan": per_category,
        "confusion": {f"{x}/{y}": n for (x, y), n in sorted(Counter(zip(a, b, strict=True)).items())},
    }
