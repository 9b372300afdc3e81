"""Evaluation that looks like the job: every frozen set, the baselines beside the model, the queue's
expected precision on a real timeline, and a check that style alone does not decide.

Sets (``SplitSet.held_out``): the in-domain test split; ``everyday`` (random posts from four everyday
pools: the false-flag rate an ASN timeline will see); ``cross_election`` (Pilpres 2019, an election
none of whose posts is in training, masked with its own config as if configured after training).
None of them chose a threshold, a version or a training variant.

Expected precision of the queue at prevalence p (share of partisan posts on a timeline):
``recall·p / (recall·p + FFR_everyday·(1 − p))``, with the set's recall and the everyday false-flag
rate, because a timeline's negatives are everyday posts.

Writes ``eval/report.md``, ``eval/report.json`` and plots into the model's registry directory.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.metrics import precision_recall_curve  # noqa: E402

from netral.atomic import atomic_write_text  # noqa: E402
from netral.elections import load_elections  # noqa: E402
from netral.models.registry import ModelVersion  # noqa: E402
from netral.pipeline.evidence import EvidenceExtractor  # noqa: E402
from netral.pipeline.masking import history_elections, load_classifier  # noqa: E402
from netral.settings import Settings  # noqa: E402
from netral.training.augment import style_stripped  # noqa: E402
from netral.training.baselines import GazetteerBaseline, TfidfBaseline  # noqa: E402
from netral.training.data import CROSS_ELECTION_HISTORY, LABELS, Example, SplitSet, data_hash, source_group  # noqa: E402
from netral.training.metrics import choose_threshold, head_metrics  # noqa: E402

PREVALENCES = (0.01, 0.05)
SET_NAMES_ID = {"test": "uji (in-domain)", "everyday": "sehari-hari", "cross_election": "lintas pemilu (2019)"}


def expected_precision(recall: float, false_flag_rate: float, prevalence: float) -> float | None:
    flagged = recall * prevalence + false_flag_rate * (1 - prevalence)
    return round(recall * prevalence / flagged, 4) if flagged > 0 else None


def evaluate(version: ModelVersion, splits: SplitSet, settings: Settings, *, max_length: int | None = None
             ) -> dict[str, Any]:
    """Measure ``version`` on every frozen set beside TF-IDF + LR and the gazetteer rule."""
    max_length = max_length or int(version.meta.get("eval_max_length", settings.max_length))
    if data_hash(splits.test) != version.meta.get("test_split_hash"):
        raise ValueError("split uji berbeda dari yang dipakai saat model dilatih; evaluasi tidak sebanding")
    recorded = version.meta.get("held_out_hashes", {})
    for name, examples in splits.evals.items():
        if name in recorded and recorded[name] != data_hash(examples):
            raise ValueError(f"set evaluasi {name!r} berbeda dari yang diukur saat model dilatih")
    clf = load_classifier(version, settings, max_length=max_length)
    cross_clf = load_classifier(version, settings, extra_history=CROSS_ELECTION_HISTORY, max_length=max_length)
    threshold = version.threshold
    target = float(version.meta.get("target_recall", 0.95))

    tfidf = TfidfBaseline().fit(splits.all_train())
    tfidf_threshold = choose_threshold(np.array([e.partisan for e in splits.dev], dtype=float),
                                       tfidf.scores([e.text for e in splits.dev]), target)
    gaz = GazetteerBaseline()
    gaz_cross = GazetteerBaseline(EvidenceExtractor([
        *load_elections(settings.elections_dir),
        *history_elections(settings.history_elections_dir, CROSS_ELECTION_HISTORY)]))

    sets: dict[str, Any] = {}
    scores: dict[str, dict[str, np.ndarray]] = {}
    for name, examples in splits.held_out().items():
        texts = [e.text for e in examples]
        y = np.array([e.targets() for e in examples])
        probs = (cross_clf if name == "cross_election" else clf).probabilities(texts)
        systems = {"model": probs[:, 0], "tfidf_logreg": tfidf.scores(texts),
                   "gazetteer_rule": (gaz_cross if name == "cross_election" else gaz).scores(texts)}
        scores[name] = systems
        rows = {
            "model": head_metrics(y[:, 0], systems["model"], threshold),
            "tfidf_logreg@recall": head_metrics(y[:, 0], systems["tfidf_logreg"], tfidf_threshold),
            "tfidf_logreg@0.5": head_metrics(y[:, 0], systems["tfidf_logreg"], 0.5),
            "gazetteer_rule": head_metrics(y[:, 0], systems["gazetteer_rule"], GazetteerBaseline.threshold),
        }
        sets[name] = {"n": len(examples), "partisan": int(y[:, 0].sum()), "systems": rows,
                      "heads": {lab: head_metrics(y[:, j], probs[:, j], version.meta["thresholds"][lab])
                                for j, lab in enumerate(LABELS)},
                      "by_source": _by_source(examples, y[:, 0], systems, threshold, tfidf_threshold)}
    _queue_precision(sets)
    style = _style_check(clf, splits.dev, threshold)
    report = {"model_version": version.version, "threshold": threshold, "tfidf_threshold": tfidf_threshold,
              "target_recall": target, "mask_contestants": bool(version.meta.get("mask_contestants")),
              "sets": sets, "style_check_dev": style,
              # kept for earlier readers of report.json: the in-domain test split's rows
              "model": sets["test"]["heads"], "n_test": sets["test"]["n"],
              "baselines": {k: v for k, v in sets["test"]["systems"].items() if k != "model"},
              "by_source": sets["test"]["by_source"]}
    out = version.path / "eval"
    out.mkdir(exist_ok=True)
    _plots(out, splits, scores, threshold)
    atomic_write_text(out / "report.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(out / "report.md", render_markdown(report))
    return report


def _by_source(examples: Sequence[Example], y: np.ndarray, systems: dict[str, np.ndarray], threshold: float,
               tfidf_threshold: float) -> dict[str, Any]:
    out = {}
    for group in sorted({source_group(e) for e in examples}):
        idx = np.array([i for i, e in enumerate(examples) if source_group(e) == group])
        out[group] = {
            "n": int(len(idx)), "partisan": int(y[idx].sum()),
            "model": head_metrics(y[idx], systems["model"][idx], threshold),
            "tfidf_logreg@recall": head_metrics(y[idx], systems["tfidf_logreg"][idx], tfidf_threshold),
            "gazetteer_rule": head_metrics(y[idx], systems["gazetteer_rule"][idx], GazetteerBaseline.threshold),
        }
    return out


def _queue_precision(sets: dict[str, Any]) -> None:
    """Expected queue precision per set and system, from the set's recall and the everyday FFR."""
    if "everyday" not in sets:
        return
    for data in sets.values():
        for system, row in data["systems"].items():
            ffr = sets["everyday"]["systems"][system]["false_flag_rate"] or 0.0
            row["expected_precision"] = {f"{p:.0%}": expected_precision(row["recall"], ffr, p) for p in PREVALENCES}


def _style_check(clf: Any, dev: Sequence[Example], threshold: float) -> dict[str, Any]:
    """How many dev decisions flip when posts are lowercased and stripped of punctuation."""
    texts = [e.text for e in dev]
    before = clf.probabilities(texts)[:, 0] >= threshold
    after = clf.probabilities([style_stripped(t) for t in texts])[:, 0] >= threshold
    flips = int((before != after).sum())
    return {"n": len(texts), "flipped": flips, "flip_rate": round(flips / max(1, len(texts)), 4),
            "to_partisan": int((~before & after).sum()), "to_not_partisan": int((before & ~after).sum())}


def _fmt(v: float | None) -> str:
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.3f}"


def render_markdown(report: dict[str, Any]) -> str:
    lines = [f"# Evaluasi {report['model_version']}", "",
             f"Ambang model {report['threshold']:.3f} (dipilih pada dev untuk recall {report['target_recall']:.2f}); "
             f"TF-IDF {report['tfidf_threshold']:.3f} dengan aturan yang sama. "
             f"Penyamaran kandidat: {'ya' if report['mask_contestants'] else 'tidak'}.", ""]
    for name, data in report["sets"].items():
        lines += [f"## Set {SET_NAMES_ID.get(name, name)} (n={data['n']}, partisan {data['partisan']})", "",
                  "| sistem | presisi | recall | F1 | AP | indikasi keliru | presisi antrean @1% | @5% |",
                  "|---|---|---|---|---|---|---|---|"]
        for system, m in data["systems"].items():
            ep = m.get("expected_precision", {})
            lines.append(f"| {system} | {_fmt(m['precision'])} | {_fmt(m['recall'])} | {_fmt(m['f1'])} | "
                         f"{_fmt(m['average_precision'])} | {_fmt(m['false_flag_rate'])} | "
                         f"{_fmt(ep.get('1%'))} | {_fmt(ep.get('5%'))} |")
        lines += ["", "| sumber | n | partisan | F1 model | indikasi keliru model | F1 TF-IDF | F1 gazetir |",
                  "|---|---|---|---|---|---|---|"]
        for group, row in data["by_source"].items():
            lines.append(f"| {group} | {row['n']} | {row['partisan']} | {_fmt(row['model']['f1'])} | "
                         f"{_fmt(row['model']['false_flag_rate'])} | {_fmt(row['tfidf_logreg@recall']['f1'])} | "
                         f"{_fmt(row['gazetteer_rule']['f1'])} |")
        lines.append("")
    test = report["sets"]["test"]
    lines += ["## Kepala kategori (set uji)", "", "| kepala | presisi | recall | F1 | dukungan |",
              "|---|---|---|---|---|"]
    for lab, m in test["heads"].items():
        lines.append(f"| {lab} | {_fmt(m['precision'])} | {_fmt(m['recall'])} | {_fmt(m['f1'])} | {m['support']} |")
    s = report["style_check_dev"]
    c = test["systems"]["model"]["confusion"]
    lines += ["", f"Uji gaya (dev, huruf kecil tanpa tanda baca): {s['flipped']} dari {s['n']} keputusan "
              f"berubah ({s['flip_rate']:.1%}; {s['to_partisan']} menjadi partisan, "
              f"{s['to_not_partisan']} sebaliknya).",
              "", "Matriks konfusi (partisan, set uji): ", "", "| | prediksi ya | prediksi tidak |", "|---|---|---|",
              f"| label ya | {c['tp']} | {c['fn']} |", f"| label tidak | {c['fp']} | {c['tn']} |", ""]
    return "\n".join(lines)


def _plots(out: Path, splits: SplitSet, scores: dict[str, dict[str, np.ndarray]], threshold: float) -> None:
    held = splits.held_out()
    fig, axes = plt.subplots(1, len(held) + 1, figsize=(5 * (len(held) + 1), 4.5))
    for ax, (name, examples) in zip(axes, held.items(), strict=False):
        y = np.array([e.partisan for e in examples], dtype=int)
        if 0 < y.sum() < len(y):
            for system, s in scores[name].items():
                p, r, _ = precision_recall_curve(y, s)
                ax.plot(r, p, label=system)
        ax.axvline(0.95, ls="--", c="grey", lw=0.8)
        ax.set(title=f"Presisi-recall: {SET_NAMES_ID.get(name, name)}", xlabel="recall", ylabel="presisi",
               ylim=(0, 1.02))
        ax.legend(fontsize=8)
    y = np.array([e.partisan for e in splits.test], dtype=int)
    ax = axes[-1]
    if 0 < y.sum() < len(y):
        frac, mean = calibration_curve(y, scores["test"]["model"], n_bins=10, strategy="quantile")
        ax.plot(mean, frac, "o-", label="model")
    ax.plot([0, 1], [0, 1], ls="--", c="grey")
    ax.set(title="Kalibrasi (set uji)", xlabel="skor rata-rata", ylabel="proporsi positif")
    fig.tight_layout()
    fig.savefig(out / "evaluation.png", dpi=110)
    plt.close(fig)
    _score_distribution(out, held, scores, threshold)


def _score_distribution(out: Path, held: dict[str, list[Example]], scores: dict[str, dict[str, np.ndarray]],
                        threshold: float) -> None:
    """Model scores of NON-partisan posts per source: a style shortcut shows as one source sitting high."""
    groups: dict[str, list[float]] = {}
    for name, examples in held.items():
        for e, s in zip(examples, scores[name]["model"], strict=True):
            if not e.partisan:
                groups.setdefault(f"{source_group(e)} ({name})", []).append(float(s))
    if not groups:
        return
    names = sorted(groups)
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(names) + 1.5))
    ax.boxplot([groups[n] for n in names], orientation="horizontal", showfliers=True, flierprops={"markersize": 2})
    ax.set_yticks(range(1, len(names) + 1), [f"{n}  n={len(groups[n])}" for n in names], fontsize=8)
    ax.axvline(threshold, ls="--", c="red", lw=1, label=f"ambang {threshold:.2f}")
    ax.set(title="Skor model pada post TIDAK partisan, per sumber", xlabel="skor partisan", xlim=(0, 1))
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "nonpartisan_scores.png", dpi=110)
    plt.close(fig)
