"""Metrics shared by training, evaluation and the baselines, so every number is computed one way."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_fscore_support


def choose_threshold(y: np.ndarray, scores: np.ndarray, target_recall: float) -> float:
    """Highest threshold whose recall on ``y`` is at least ``target_recall``.

    Missing a violation costs more than a false flag (people review every flag), so the operating
    point is set by recall, and precision is whatever that leaves.
    """
    pos = np.sort(scores[y.astype(bool)])
    if len(pos) == 0:
        return 0.5
    k = int(np.floor((1.0 - target_recall) * len(pos)))  # positives we may miss
    return float(pos[k]) if k < len(pos) else float(pos[-1])


def head_metrics(y: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    y = y.astype(int)
    pred = (scores >= threshold).astype(int)
    p, r, f, _ = precision_recall_fscore_support(y, pred, average="binary", zero_division=0)
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    tn = int(((pred == 0) & (y == 0)).sum())
    ap = float(average_precision_score(y, scores)) if 0 < y.sum() < len(y) else float("nan")
    # The share of negatives flagged: on everyday posts it is what a timeline's review queue feels.
    false_flag_rate = round(fp / (fp + tn), 4) if fp + tn else None
    return {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4),
            "average_precision": round(ap, 4), "threshold": round(float(threshold), 4),
            "false_flag_rate": false_flag_rate, "support": int(y.sum()), "n": int(len(y)),
            "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": tn}}
