"""Evaluation on the frozen test split, with both baselines measured beside the model.

Writes ``eval/report.md``, ``eval/report.json`` and plots (PR curves, calibration, confusion
matrix) into the model's registry directory and returns the report for the CLI to print.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.metrics import precision_recall_curve  # noqa: E402

from netral.models.classifier import Classifier  # noqa: E402
from netral.models.registry import ModelVersion  # noqa: E402
from netral.training.baselines import GazetteerBaseline, TfidfBaseline  # noqa: E402
from netral.training.data import LABELS, SplitSet, data_hash, source_group  # noqa: E402
from netral.training.metrics import choose_threshold, head_metrics  # noqa: E402


def evaluate(version: ModelVersion, splits: SplitSet, *, max_length: int = 128) -> dict[str, Any]:
    if data_hash(splits.test) != version.meta.get("test_split_hash"):
        raise ValueError("split uji berbeda dari yang dipakai saat model dilatih; evaluasi tidak sebanding")
    clf = Classifier(version, max_length=max_length)
    y_test = np.array([e.targets() for e in splits.test])
    y_dev = np.array([e.targets() for e in splits.dev])
    test_texts = [e.text for e in splits.test]
    probs = clf.probabilities(test_texts)
    model_rows = {lab: head_metrics(y_test[:, j], probs[:, j], version.meta["thresholds"][lab])
                  for j, lab in enumerate(LABELS)}

    target = float(version.meta.get("target_recall", 0.95))
    tfidf = TfidfBaseline().fit(splits.all_train())
    tfidf_dev = tfidf.scores([e.text for e in splits.dev])
    tfidf_test = tfidf.scores(test_texts)
    gaz = GazetteerBaseline()
    gaz_test = gaz.scores(test_texts)
    y = y_test[:, 0]
    baselines = {
        # Same operating rule as the model: threshold chosen on dev for the recall target.
        "tfidf_logreg@recall": head_metrics(y, tfidf_test, choose_threshold(y_dev[:, 0], tfidf_dev, target)),
        # And the baseline at its own default (0.5), which maximises its F1 more often than not.
        "tfidf_logreg@0.5": head_metrics(y, tfidf_test, 0.5),
        "gazetteer_rule": head_metrics(y, gaz_test, GazetteerBaseline.threshold),
    }
    # Per source, at the same thresholds: the pools differ in style (raw tweets, lowercased tweets,
    # headlines, hand-written ASN posts), and an overall figure can hide a source a system fails on.
    tfidf_threshold = baselines["tfidf_logreg@recall"]["threshold"]
    by_source = {}
    for group in sorted({source_group(e) for e in splits.test}):
        idx = np.array([i for i, e in enumerate(splits.test) if source_group(e) == group])
        by_source[group] = {
            "n": int(len(idx)), "partisan": int(y[idx].sum()),
            "model": head_metrics(y[idx], probs[idx, 0], version.meta["thresholds"]["partisan"]),
            "tfidf_logreg@recall": head_metrics(y[idx], tfidf_test[idx], tfidf_threshold),
            "gazetteer_rule": head_metrics(y[idx], gaz_test[idx], GazetteerBaseline.threshold),
        }
    report = {"model_version": version.version, "n_test": len(splits.test), "model": model_rows,
              "baselines": baselines, "by_source": by_source, "target_recall": target}
    out = version.path / "eval"
    out.mkdir(exist_ok=True)
    _plots(out, y, {"model": probs[:, 0], "TF-IDF+LR": tfidf_test, "gazetteer": gaz_test},
           model_rows["partisan"]["confusion"])
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(render_markdown(report), encoding="utf-8")
    return report


def render_markdown(report: dict[str, Any]) -> str:
    lines = [f"# Evaluasi {report['model_version']} (split uji, n={report['n_test']})", "",
             "| sistem | presisi | recall | F1 | AP | ambang |", "|---|---|---|---|---|---|"]
    rows = [("model (partisan)", report["model"]["partisan"])] + list(report["baselines"].items())
    for name, m in rows:
        lines.append(f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | "
                     f"{m['average_precision']:.3f} | {m['threshold']:.3f} |")
    lines += ["", "| kepala (model) | presisi | recall | F1 | dukungan |", "|---|---|---|---|---|"]
    for lab, m in report["model"].items():
        lines.append(f"| {lab} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
    if report.get("by_source"):
        lines += ["", "| sumber | n | partisan | F1 model | F1 TF-IDF | F1 gazetir |", "|---|---|---|---|---|---|"]
        for group, row in report["by_source"].items():
            lines.append(f"| {group} | {row['n']} | {row['partisan']} | {row['model']['f1']:.3f} | "
                         f"{row['tfidf_logreg@recall']['f1']:.3f} | {row['gazetteer_rule']['f1']:.3f} |")
    c = report["model"]["partisan"]["confusion"]
    lines += ["", "Matriks konfusi (partisan): ", "", "| | prediksi ya | prediksi tidak |", "|---|---|---|",
              f"| label ya | {c['tp']} | {c['fn']} |", f"| label tidak | {c['fp']} | {c['tn']} |", ""]
    return "\n".join(lines)


def _plots(out: Path, y: np.ndarray, systems: dict[str, np.ndarray], confusion: dict[str, int]) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for name, scores in systems.items():
        p, r, _ = precision_recall_curve(y, scores)
        axes[0].plot(r, p, label=name)
    axes[0].axvline(0.95, ls="--", c="grey", lw=0.8)
    axes[0].set(title="Kurva presisi-recall (partisan)", xlabel="recall", ylabel="presisi", ylim=(0, 1.02))
    axes[0].legend()
    frac, mean = calibration_curve(y, systems["model"], n_bins=10, strategy="quantile")
    axes[1].plot(mean, frac, "o-", label="model")
    axes[1].plot([0, 1], [0, 1], ls="--", c="grey")
    axes[1].set(title="Kalibrasi (partisan)", xlabel="skor rata-rata", ylabel="proporsi positif")
    mat = np.array([[confusion["tp"], confusion["fn"]], [confusion["fp"], confusion["tn"]]])
    axes[2].imshow(mat, cmap="Blues")
    for (i, j), v in np.ndenumerate(mat):
        axes[2].text(j, i, str(v), ha="center", va="center", fontsize=14)
    axes[2].set(title="Matriks konfusi", xticks=[0, 1], yticks=[0, 1],
                xticklabels=["pred. partisan", "pred. tidak"], yticklabels=["label partisan", "label tidak"])
    fig.tight_layout()
    fig.savefig(out / "evaluation.png", dpi=110)
    plt.close(fig)
