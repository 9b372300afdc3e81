"""``netral model export``: build a version's optimised int8 artefact and check that it keeps quality.

The artefact itself is built in ``netral.models.optimised``; this service supplies what needs the
pipeline: texts prepared exactly as the model sees them (``Classifier.prepare``: contestant masking for a
version trained with it, normalisation, text prefix), the corpus whose pieces the trimmed vocabulary keeps
(the shared pools and the labelled data), the calibration texts for the choice of fp32 layers (the dev
split), and the quality checks the artefact must pass against fp32: decision agreement on the bench posts
and F1 on each evaluation set. The checks are written to the artefact's manifest and printed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from netral.atomic import atomic_write_json
from netral.models.classifier import Classifier
from netral.models.optimised import (
    MANIFEST,
    MAX_F1_LOSS,
    MIN_AGREEMENT,
    Artefact,
    CheckSet,
    export_artefact,
    f1_score,
    sha256_file,
)
from netral.models.registry import ModelVersion
from netral.pipeline.masking import load_classifier
from netral.settings import Settings

BENCH_POOL = "pemilu2024_tweets.jsonl"
EVAL_SETS = {"test": ("splits", "test.jsonl"), "everyday": ("eval", "everyday.jsonl"),
             "cross_election": ("eval", "cross_election.jsonl")}


def _texts(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("text"), str):
                yield rec["text"]


def corpus_files(settings: Settings) -> list[Path]:
    """Every JSONL of the shared pools and of the labelled data (files without texts add nothing)."""
    pools = sorted(settings.pools_dir.glob("*.jsonl")) if settings.pools_dir.is_dir() else []
    return [*pools, *sorted(settings.labelled_dir.rglob("*.jsonl"))]


def corpus_texts(files: Iterable[Path]) -> Iterator[str]:
    seen: set[int] = set()
    for path in files:
        for text in _texts(path):
            key = hash(text)
            if key not in seen:
                seen.add(key)
                yield text


def tokenised(clf: Classifier, texts: Iterable[str], *, prepared: bool, batch: int = 512) -> Iterator[list[int]]:
    """Tokenizer ids of each text: as the model sees it (``prepared``: masking, normalisation, prefix) or
    normalised only (the prefix kept), which costs no evidence extraction."""
    from netral.normalise import normalise

    chunk: list[str] = []

    def flush() -> Iterator[list[int]]:
        inputs = [clf.prepare(t) if prepared else clf.prefix + normalise(t, clf.lexicon) for t in chunk]
        yield from clf.tokenizer(inputs, truncation=True, max_length=clf.max_length)["input_ids"]
        chunk.clear()

    for text in texts:
        chunk.append(text)
        if len(chunk) >= batch:
            yield from flush()
    if chunk:
        yield from flush()


def bench_posts(settings: Settings, n: int = 1000) -> list[str]:
    """The posts ``make bench`` scores for its election set: the first ``n`` of the 2024 election pool."""
    out: list[str] = []
    for text in _texts(settings.pools_dir / BENCH_POOL):
        out.append(text)
        if len(out) >= n:
            break
    return out


def labelled_set(settings: Settings, name: str) -> tuple[list[str], np.ndarray]:
    folder, file = EVAL_SETS[name]
    return _labelled(settings.labelled_dir / folder / file)


def f1(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """(F1, recall) of the positive class; F1 as the int8 search judges it (``optimised.f1_score``)."""
    tp, fn = float(np.sum(pred & y)), float(np.sum(~pred & y))
    return f1_score(y, pred), (tp / (tp + fn) if tp + fn else 0.0)


@dataclass
class QualityCheck:
    agreement: float
    max_abs_diff: float
    sets: dict[str, dict[str, float]]

    @property
    def passed(self) -> bool:
        return self.agreement >= MIN_AGREEMENT and all(s["f1_loss"] <= MAX_F1_LOSS for s in self.sets.values())

    def to_dict(self) -> dict[str, Any]:
        return {"bench_agreement": self.agreement, "bench_max_abs_diff": self.max_abs_diff, "sets": self.sets,
                "passed": self.passed, "min_agreement": MIN_AGREEMENT, "max_f1_loss": MAX_F1_LOSS}


def _fp32_scores(version: ModelVersion, name: str, texts: list[str], fp32: Classifier) -> np.ndarray:
    """The fp32 partisan scores of an evaluation set: the ones training saved (``<set>_probs.npy``) when they
    are for these texts (same length, and the first 16 re-scored agree), else computed."""
    saved_path = version.path / f"{name}_probs.npy"
    if saved_path.is_file():
        saved = np.load(saved_path)[:, 0]
        if len(saved) == len(texts):
            probe = fp32.probabilities(texts[:16])[:, 0]
            if np.allclose(probe, saved[:16], atol=1e-3):
                return saved
    return fp32.probabilities(texts)[:, 0]


def check_quality(version: ModelVersion, settings: Settings, *, cross_history: Sequence[str] = (),
                  bench_n: int = 1000) -> QualityCheck:
    """int8 against fp32: decisions on the bench posts, F1 (at the version's threshold) on each set."""
    pairs: dict[str, tuple[Classifier, Classifier]] = {}

    def classifiers(extra: Sequence[str]) -> tuple[Classifier, Classifier]:
        key = ",".join(extra)
        if key not in pairs:
            pairs.clear()
            pairs[key] = (load_classifier(version, settings, backend="fp32", extra_history=extra),
                          load_classifier(version, settings, backend="int8", extra_history=extra))
        return pairs[key]

    fp32, int8 = classifiers(())
    posts = bench_posts(settings, bench_n)
    a, b = fp32.probabilities(posts)[:, 0], int8.probabilities(posts)[:, 0]
    t = version.threshold
    agreement = float(np.mean((a >= t) == (b >= t)))
    sets: dict[str, dict[str, float]] = {}
    for name in EVAL_SETS:
        texts, y = labelled_set(settings, name)
        ref, opt = classifiers(tuple(cross_history) if name == "cross_election" else ())
        f_ref, r_ref = f1(y, _fp32_scores(version, name, texts, ref) >= t)
        f_opt, r_opt = f1(y, opt.probabilities(texts)[:, 0] >= t)
        sets[name] = {"n": len(texts), "f1_fp32": round(f_ref, 4), "f1_int8": round(f_opt, 4),
                      "f1_loss": round(f_ref - f_opt, 4), "recall_fp32": round(r_ref, 4),
                      "recall_int8": round(r_opt, 4)}
    return QualityCheck(agreement, float(np.abs(a - b).max()), sets)


def check_sets(version: ModelVersion, settings: Settings, *, cross_history: Sequence[str] = (),
               bench_n: int = 1000, fp32: Classifier | None = None) -> list[CheckSet]:
    """What an int8 candidate must score like fp32: the bench posts (decisions) and each evaluation set (F1),
    prepared as the model sees them (the cross-election set with its own election's masking). ``fp32`` is the
    caller's fp32 classifier of ``version``, if it has one loaded already."""
    fp32 = fp32 or load_classifier(version, settings, backend="fp32")
    posts = bench_posts(settings, bench_n)
    checks = [CheckSet("bench", [fp32.prepare(t) for t in posts], fp32.probabilities(posts)[:, 0])]
    for name in EVAL_SETS:
        texts, y = labelled_set(settings, name)
        clf = fp32 if name != "cross_election" else load_classifier(version, settings, backend="fp32",
                                                                    extra_history=tuple(cross_history))
        checks.append(CheckSet(name, [clf.prepare(t) for t in texts], _fp32_scores(version, name, texts, clf), y))
    return checks


def export_version(version: ModelVersion, settings: Settings, *, calibration_n: int = 600,
                   corpus_limit: int | None = None, cross_history: Sequence[str] = (), max_steps: int = 8
                   ) -> Artefact:
    """Build ``<version>/int8`` from the corpus and the dev split (see the module docstring).

    The layers' sensitivity is measured on dev texts; the search stops at the first candidate that passes
    the checks of ``check_sets`` (``netral.models.optimised.choose_exclusions``).
    """
    import itertools

    from netral.pipeline.masking import PLACEHOLDERS

    clf = load_classifier(version, settings, backend="fp32")
    files = corpus_files(settings)
    texts = corpus_texts(files)
    if corpus_limit is not None:
        texts = itertools.islice(texts, corpus_limit)
    # Every text normalised (cheap), and the labelled sets also masked as the model saw them in training and
    # evaluation (masking runs the evidence rules: too slow for the 90,000 pool posts on two cores), plus the
    # placeholders themselves.
    labelled = [p for p in files if p.is_relative_to(settings.labelled_dir / "splits")
                or p.is_relative_to(settings.labelled_dir / "eval")]
    corpus_ids = itertools.chain(
        tokenised(clf, texts, prepared=False),
        tokenised(clf, corpus_texts(labelled), prepared=bool(clf.prep)),
        tokenised(clf, [" ".join(PLACEHOLDERS.values()), "[BUKTI]"], prepared=False))
    dev_path = settings.labelled_dir / "splits" / "dev.jsonl"
    calibration = list(itertools.islice(_texts(dev_path), calibration_n)) if dev_path.is_file() else []
    calibration = calibration or bench_posts(settings, calibration_n)
    reference = clf.probabilities(calibration)
    note = f"{len(files)} file: pools ({settings.pools_dir.name}) + data berlabel"
    checks = check_sets(version, settings, cross_history=cross_history, fp32=clf)
    return export_artefact(version, corpus_ids, [clf.prepare(t) for t in calibration], reference,
                           max_length=clf.max_length, threads=settings.torch_threads, corpus_note=note,
                           checks=checks, max_steps=max_steps)


# Unlabelled pool posts the cascade's char model learns the full model's decisions on: (pool, posts skipped at
# its start, at most this many). The skipped posts are the ones ``make bench`` measures (its election set and
# timeline mix), so the bench's pass rate is not measured on the distillation texts; the 2018 and 2019 pools are
# left out because they are the era of the cross-election set; every text of the labelled test, dev and
# evaluation sets is excluded too.
DISTILL_POOLS: tuple[tuple[str, int, int], ...] = (
    ("everyday_tweets_indolem_2020.jsonl", 6500, 9000), ("everyday_tweets_idsa_lowercased.jsonl", 6500, 9000),
    ("pemilu2024_tweets.jsonl", 1500, 3000), ("capres2023_tweets_lowercased.jsonl", 500, 3000),
    ("pilkada_dki2017_campaign_tweets.jsonl", 500, 3000), ("pemilu2024_headlines.jsonl", 0, 3000))
DISTILL_MARGIN = 0.5  # a pool post counts as "flagged" from half the threshold up: the gate errs on passing
DISTILL_C = 16.0  # weaker regularisation than for labels alone: chosen on dev pass rates (README)


def distillation_texts(settings: Settings, lexicon: dict[str, str] | None = None, seed: int = 7) -> list[str]:
    """The pool posts of ``DISTILL_POOLS`` (a seeded sample of each), minus every held-out labelled text."""
    import hashlib
    import random

    from netral.normalise import normalise

    def key(text: str) -> str:
        return hashlib.sha1(normalise(text, lexicon).lower().encode("utf-8")).hexdigest()

    held = {key(t) for folder in ("eval", "splits") for path in sorted((settings.labelled_dir / folder).glob("*.jsonl"))
            if path.name != "train.jsonl" for t in _texts(path)}
    rng = random.Random(seed)
    out: list[str] = []
    for name, skip, cap in DISTILL_POOLS:
        path = settings.pools_dir / name
        if not path.is_file():
            continue
        found = [t for n, t in enumerate(_texts(path)) if n >= skip and t.strip() and key(t) not in held]
        rng.shuffle(found)
        out.extend(found[:cap])
    return out


def build_cascade(version: ModelVersion, settings: Settings, *, cross_history: Sequence[str] = ()
                  ) -> dict[str, Any]:
    """Train the cascade's char model, choose its gate on dev, measure its recall loss on every set, save it.

    The full model here is the one the scan uses (``settings.inference_backend``). Returns the manifest.
    """
    from netral.normalise import load_lexicon
    from netral.pipeline.cascade import MAX_RECALL_LOSS, CharModel, choose_gate, save
    from netral.pipeline.evidence import EvidenceExtractor

    lexicon = load_lexicon(settings.slang_lexicon)
    train_texts, train_y = _labelled(settings.labelled_dir / "splits" / "train.jsonl")
    clf = load_classifier(version, settings)
    # Distillation: the first stage must pass what the full model flags, so besides the labelled training
    # split it learns the full model's own decisions (with a margin) on unlabelled pool posts.
    distill = distillation_texts(settings, lexicon)
    distill_y = clf.probabilities(distill)[:, 0] >= version.threshold * DISTILL_MARGIN if distill else np.zeros(0, bool)
    char = CharModel.fit([*train_texts, *distill], [*train_y.tolist(), *distill_y.tolist()], lexicon, c=DISTILL_C)
    from netral.elections import load_elections
    from netral.pipeline.evidence import load_words
    from netral.pipeline.masking import history_elections

    extractor = EvidenceExtractor.from_settings(settings)
    # The unseen election is measured as it would run once configured: its contestants are in the evidence
    # rules of the first stage, as they are in the model's masking.
    cross_extractor = EvidenceExtractor(
        [*load_elections(settings.elections_dir), *history_elections(settings.history_elections_dir, cross_history)],
        load_words(settings.evidence_words))
    t = version.threshold

    def stage(texts: list[str], rules: EvidenceExtractor | None = None) -> tuple[np.ndarray, np.ndarray]:
        rules = rules or extractor
        return char.probabilities(texts), np.array([bool(rules.extract(x)) for x in texts])

    dev_texts, dev_y = _labelled(settings.labelled_dir / "splits" / "dev.jsonl")
    dev_full = clf.probabilities(dev_texts)[:, 0] >= t
    dev_char, dev_ev = stage(dev_texts)
    gate = choose_gate(dev_char, dev_ev, dev_full & dev_y)
    figures: dict[str, Any] = {"dev": {"n": len(dev_texts), "gate": gate},
                               "distillation": {"n": len(distill), "model_positive": int(distill_y.sum()),
                                                "pools": {n: [skip, cap] for n, skip, cap in DISTILL_POOLS},
                                                "margin": DISTILL_MARGIN}}
    for name in EVAL_SETS:
        texts, y = labelled_set(settings, name)
        model = clf if name != "cross_election" else load_classifier(version, settings, extra_history=cross_history)
        full = model.probabilities(texts)[:, 0] >= t
        probs, ev = stage(texts, cross_extractor if name == "cross_election" else None)
        passed = (probs >= gate) | ev
        _, r_full = f1(y, full)
        _, r_casc = f1(y, full & passed)
        figures[name] = {"n": len(texts), "recall_full": round(r_full, 4), "recall_cascade": round(r_casc, 4),
                         "recall_loss": round(r_full - r_casc, 4), "to_full_model": round(float(passed.mean()), 4)}
    enabled = all(figures[name]["recall_loss"] <= MAX_RECALL_LOSS for name in EVAL_SETS)
    save(version, char, gate, figures, enabled)
    return {"gate": gate, "enabled": enabled, "figures": figures}


def _labelled(path: Path) -> tuple[list[str], np.ndarray]:
    texts, labels = [], []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                texts.append(rec["text"])
                labels.append(bool(rec["partisan"]))
    return texts, np.array(labels, dtype=bool)


def record_quality(artefact: Artefact, check: QualityCheck) -> None:
    """Add the quality check to the manifest (the files' hashes are unchanged, so it still verifies)."""
    manifest = dict(artefact.manifest)
    manifest["quality"] = check.to_dict()
    atomic_write_json(artefact.path / MANIFEST, manifest)


__all__ = ["QualityCheck", "build_cascade", "check_quality", "check_sets", "export_version", "record_quality",
           "sha256_file"]
