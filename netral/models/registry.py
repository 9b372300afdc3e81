"""Model registry: versioned model directories on disk, one of them active.

A version directory holds the Hugging Face weights and tokenizer plus ``netral.json`` (base
model, data hash, normaliser version, thresholds, metrics on the frozen test split). Prediction
reads only this directory, so it needs no database. Promotion compares a candidate with the active
version on the same frozen test split and refuses a worse one unless forced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netral.atomic import atomic_write_json, atomic_write_text, publish_dir

META_FILE = "netral.json"
ACTIVE_FILE = "ACTIVE"


class RegistryError(RuntimeError):
    pass


@dataclass(frozen=True)
class ModelVersion:
    version: str
    path: Path
    meta: dict[str, Any]

    @property
    def threshold(self) -> float:
        return float(self.meta["thresholds"]["partisan"])

    @property
    def test_f1(self) -> float | None:
        metrics = self.meta.get("metrics", {}).get("test", {})
        value = metrics.get("partisan", {}).get("f1")
        return None if value is None else float(value)


def list_versions(registry: Path) -> list[ModelVersion]:
    if not registry.is_dir():
        return []
    out = []
    for child in sorted(registry.iterdir()):
        meta_path = child / META_FILE
        if child.is_dir() and not child.name.startswith((".", "_")) and meta_path.is_file():
            out.append(ModelVersion(child.name, child, json.loads(meta_path.read_text(encoding="utf-8"))))
    return out


def get_version(registry: Path, version: str) -> ModelVersion:
    for mv in list_versions(registry):
        if mv.version == version:
            return mv
    known = ", ".join(v.version for v in list_versions(registry)) or "(kosong)"
    raise RegistryError(f"versi model {version!r} tidak ada di {registry}; yang ada: {known}")


def active_version(registry: Path) -> ModelVersion | None:
    marker = registry / ACTIVE_FILE
    if not marker.is_file():
        return None
    return get_version(registry, marker.read_text(encoding="utf-8").strip())


def resolve(registry: Path, version: str | None) -> ModelVersion:
    """The named version, or the active one; a clear error when there is none."""
    if version:
        path = Path(version)
        if (path / META_FILE).is_file():
            return ModelVersion(path.name, path, json.loads((path / META_FILE).read_text(encoding="utf-8")))
        return get_version(registry, version)
    active = active_version(registry)
    if active is None:
        raise RegistryError(f"belum ada model aktif di {registry}; jalankan `netral train` dulu")
    return active


def save_version(registry: Path, version: str, staging: Path, meta: dict[str, Any]) -> ModelVersion:
    """Move a fully written staging directory into place atomically (rename on one filesystem)."""
    registry.mkdir(parents=True, exist_ok=True)
    atomic_write_json(staging / META_FILE, meta)
    target = registry / version
    try:
        publish_dir(staging, target)
    except FileExistsError:
        raise RegistryError(f"versi {version} sudah ada") from None
    return ModelVersion(version, target, meta)


@dataclass(frozen=True)
class PromotionCheck:
    allowed: bool
    reason: str
    candidate_f1: float | None
    active_f1: float | None


# The gate's tolerances (README, "Retraining"): what an ASN timeline feels is the everyday false-flag
# rate (at 2 % prevalence, +1 point of FFR adds half as many wrong flags as there are right ones) and
# the recall on an election the model has not seen; the in-domain F1 may move a little when the
# training data is rebalanced toward timelines.
MAX_EVERYDAY_FFR_RISE = 0.005
MAX_TEST_F1_DROP = 0.01


def _set_metric(mv: ModelVersion, name: str, key: str) -> float | None:
    value = mv.meta.get("metrics", {}).get(name, {}).get("partisan", {}).get(key)
    return None if value is None else float(value)


def _same_set(a: ModelVersion, b: ModelVersion, name: str) -> bool:
    ha, hb = a.meta.get("held_out_hashes", {}).get(name), b.meta.get("held_out_hashes", {}).get(name)
    return ha is not None and ha == hb


def check_promotion(registry: Path, version: str) -> PromotionCheck:
    """May ``version`` replace the active model? Compared on every frozen set both were measured on.

    Refused when the in-domain test F1 drops by more than ``MAX_TEST_F1_DROP``, the everyday
    false-flag rate rises by more than ``MAX_EVERYDAY_FFR_RISE``, or the cross-election recall drops.
    """
    cand = get_version(registry, version)
    active = active_version(registry)
    if active is None:
        return PromotionCheck(True, "belum ada model aktif", cand.test_f1, None)
    if active.version == cand.version:
        return PromotionCheck(False, "versi ini sudah aktif", cand.test_f1, active.test_f1)
    if cand.meta.get("test_split_hash") != active.meta.get("test_split_hash"):
        return PromotionCheck(False, "split uji berbeda: skor tidak dapat dibandingkan",
                              cand.test_f1, active.test_f1)
    if cand.test_f1 is None or active.test_f1 is None:
        return PromotionCheck(False, "metrik uji tidak lengkap", cand.test_f1, active.test_f1)
    problems, notes = [], [f"F1 uji {cand.test_f1:.3f} vs {active.test_f1:.3f}"]
    if cand.test_f1 < active.test_f1 - MAX_TEST_F1_DROP:
        problems.append(f"F1 partisan lebih buruk ({cand.test_f1:.3f} < {active.test_f1:.3f})")
    if _same_set(cand, active, "everyday"):
        c, a = _set_metric(cand, "everyday", "false_flag_rate"), _set_metric(active, "everyday", "false_flag_rate")
        if c is not None and a is not None:
            notes.append(f"indikasi keliru sehari-hari {c:.1%} vs {a:.1%}")
            if c > a + MAX_EVERYDAY_FFR_RISE:
                problems.append(f"indikasi keliru pada unggahan sehari-hari naik ({c:.1%} > {a:.1%} + 0,5 poin)")
    if _same_set(cand, active, "cross_election"):
        c, a = _set_metric(cand, "cross_election", "recall"), _set_metric(active, "cross_election", "recall")
        if c is not None and a is not None:
            notes.append(f"recall lintas pemilu {c:.3f} vs {a:.3f}")
            if c < a:
                problems.append(f"recall lintas pemilu turun ({c:.3f} < {a:.3f})")
    if problems:
        return PromotionCheck(False, "; ".join(problems), cand.test_f1, active.test_f1)
    return PromotionCheck(True, "; ".join(notes), cand.test_f1, active.test_f1)


def set_active(registry: Path, version: str) -> None:
    get_version(registry, version)
    atomic_write_text(registry / ACTIVE_FILE, version + "\n")

