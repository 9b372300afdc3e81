"""The optimised inference artefact of a registry version: trimmed vocabulary, ONNX graph, int8 weights.

Why each part:

- **Trimmed vocabulary.** e5-small's word-embedding matrix has 250,037 rows (about 384 MB in fp32, 80 % of
  the parameters) and its tokenizer 250,002 pieces (about 320 MB of RSS once loaded); Indonesian posts use
  a few tens of thousands of them. The artefact keeps the pieces seen in the corpus it is built from (the
  shared pools and the labelled data, prepared as the model sees them), every single-character piece and
  the special tokens, with a renumbered tokenizer and the matching embedding rows (``trim_tokenizer``: the
  same ids on the corpus, and a tested fallback for unseen pieces).
- **ONNX Runtime graph.** Exported from the fp32 model, then optimised by ONNX Runtime's transformer
  optimiser (fused attention, skip-layer-norm and GELU), which is faster than eager PyTorch on 2 cores.
- **int8 weights, per channel, only where they are tolerated.** Dynamic quantisation of every MatMul
  changed 3 % of dev decisions of v20261206-045533 (5 % of the bench posts, 8 % on the unseen election);
  one layer's FFN output projection alone accounts for most of it. So the encoder layers are ranked by
  their sensitivity on calibration texts (each quantised alone), and returned to fp32 in that order until
  the candidate passes the quality checks (``choose_exclusions``): decisions agreeing with fp32 on the
  bench posts, F1 kept on each evaluation set.

The artefact lives in ``<version>/int8/`` beside the weights it was made from, with ``artefact.json``
(the sha256 of every file, the source weights' sha256, the kept layers, the measured agreement).
``load_artefact`` verifies the hashes, so a changed or half-copied file is never used silently.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from netral.atomic import atomic_write_json, publish_dir
from netral.models.registry import ModelVersion

ARTEFACT_DIR = "int8"
MANIFEST = "artefact.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
FORMAT = 1
SPACE = "\u2581"  # SentencePiece's word-start mark


log = logging.getLogger(__name__)


class ArtefactError(RuntimeError):
    pass


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def single_character_ids(vocab: dict[str, int]) -> set[int]:
    """Ids of the pieces that are one character, with or without the word-start mark (and the mark alone)."""
    return {i for piece, i in vocab.items() if len(piece) == 1 or (len(piece) == 2 and piece[0] == SPACE)}


def kept_ids(vocab: dict[str, int], special_ids: Iterable[int], seen: Iterable[Iterable[int]]) -> np.ndarray:
    """Sorted old ids the trimmed vocabulary keeps: specials, single characters and every id ``seen``."""
    keep = set(special_ids) | single_character_ids(vocab)
    for ids in seen:
        keep.update(ids)
    return np.array(sorted(keep), dtype=np.int64)


def trim_tokenizer(spec: dict[str, Any], keep: np.ndarray) -> dict[str, Any]:
    """The tokenizer.json ``spec`` with only the pieces ``keep`` (sorted old ids), renumbered 0..len(keep)-1.

    A Unigram tokenizer picks the most probable segmentation among its pieces. Every piece of the full
    tokenizer's segmentation of a corpus text is kept, and a subset's segmentations are a subset of the full
    set's, so on the corpus the trimmed tokenizer picks the same pieces: the same ids after renumbering
    (tested on the pools). A text with a piece that was not kept is segmented into kept pieces (shorter
    ones, at worst single characters, all of which are kept); only a character the full vocabulary did not
    know either becomes ``<unk>``, as before.
    """
    import copy

    out = copy.deepcopy(spec)
    new_id = {int(old): n for n, old in enumerate(keep.tolist())}
    model = out["model"]
    if model.get("type") != "Unigram":
        raise ArtefactError(f"hanya tokenizer Unigram yang dapat dipangkas, bukan {model.get('type')}")
    model["vocab"] = [spec["model"]["vocab"][old] for old in keep.tolist()]
    model["unk_id"] = new_id[int(spec["model"]["unk_id"])]
    for token in out.get("added_tokens", []):
        token["id"] = new_id[int(token["id"])]
    for special in (out.get("post_processor") or {}).get("special_tokens", {}).values():
        special["ids"] = [new_id[int(i)] for i in special["ids"]]
    out["truncation"], out["padding"] = None, None
    return out


def load_tokenizer(path: Path, max_length: int) -> Any:
    """A ``tokenizers.Tokenizer`` that truncates like ``AutoTokenizer(truncation=True, max_length=...)``."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    tok.enable_truncation(max_length)
    tok.no_padding()
    return tok


@dataclass(frozen=True)
class Artefact:
    path: Path
    manifest: dict[str, Any]

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def tokenizer_path(self) -> Path:
        return self.path / TOKENIZER_FILE


def artefact_dir(version: ModelVersion) -> Path:
    return version.path / ARTEFACT_DIR


def weights_hash(version: ModelVersion) -> str:
    return sha256_file(version.path / "model.safetensors")


def load_artefact(version: ModelVersion, *, verify: bool = True) -> Artefact | None:
    """The version's artefact, or None when it has none; an error when it exists but does not verify."""
    path = artefact_dir(version)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        return None
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT or manifest.get("version") != version.version:
        raise ArtefactError(f"{manifest_path}: artefak bukan untuk versi {version.version} (format {FORMAT})")
    if verify:
        for name, digest in manifest["files"].items():
            if not (path / name).is_file() or sha256_file(path / name) != digest:
                raise ArtefactError(f"{path / name}: hash tidak cocok dengan {MANIFEST}; jalankan ulang "
                                    f"`netral model export {version.version}`")
    return Artefact(path, manifest)


# --- building ---------------------------------------------------------------------------------------------

def _export_onnx(version: ModelVersion, keep: np.ndarray, out: Path) -> None:
    """fp32 ONNX of the classifier with the trimmed embedding: (input_ids rows, attention_mask) -> logits."""
    import torch
    from torch import nn
    from transformers import AutoModelForSequenceClassification

    from netral.models import architecture  # noqa: F401  (registers the classifier)

    model = AutoModelForSequenceClassification.from_pretrained(version.path, attn_implementation="eager")
    model.eval()
    emb = model.get_input_embeddings()
    trimmed = nn.Embedding(len(keep), emb.weight.shape[1])
    trimmed.weight.data = emb.weight.data[torch.from_numpy(keep)].clone()
    model.encoder.embeddings.word_embeddings = trimmed

    class Logits(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits

    ids = torch.ones((2, 12), dtype=torch.long)
    mask = torch.ones((2, 12), dtype=torch.long)
    mask[1, 8:] = 0  # a padded row: an all-ones mask lets the tracer drop the masking altogether
    with torch.no_grad():
        torch.onnx.export(Logits().eval(), (ids, mask), str(out), dynamo=False, opset_version=17,
                          input_names=["input_ids", "attention_mask"], output_names=["logits"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                                        "logits": {0: "batch"}})


def _optimise(src: Path, dst: Path, num_heads: int, hidden: int) -> None:
    from onnxruntime.transformers.optimizer import optimize_model

    optimised = optimize_model(str(src), model_type="bert", num_heads=num_heads, hidden_size=hidden, opt_level=1)
    optimised.save_model_to_file(str(dst))


def layer_groups(model_path: Path) -> dict[str, list[str]]:
    """Quantisable nodes (MatMul, fused Attention) grouped by encoder layer ("layer.3"), and the "head"."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    groups: dict[str, list[str]] = {}
    for node in graph.node:
        if node.op_type not in ("MatMul", "Attention"):
            continue
        names = " ".join([node.name, *node.input, *node.output])
        layer = next((f"layer.{n}" for n in range(64) if f"layer.{n}." in names or f"layer.{n}/" in names), None)
        groups.setdefault(layer or "head", []).append(node.name)
    return groups


def _quantise(src: Path, dst: Path, exclude: Sequence[str]) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Fused nodes (com.microsoft domain) defeat shape inference; their outputs are float.
    quantize_dynamic(str(src), str(dst), op_types_to_quantize=["MatMul", "Attention"], per_channel=True,
                     weight_type=QuantType.QInt8, nodes_to_exclude=list(exclude),
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


@dataclass
class Measured:
    agreement: float
    max_abs_diff: float
    mean_abs_diff: float


def measure(reference: np.ndarray, scores: np.ndarray, threshold: float) -> Measured:
    """Agreement of decisions at ``threshold`` and score differences, partisan output only."""
    ref, got = reference[:, 0], scores[:, 0]
    diff = np.abs(ref - got)
    return Measured(float(np.mean((ref >= threshold) == (got >= threshold))) if len(ref) else 1.0,
                    float(diff.max()) if len(ref) else 0.0, float(diff.mean()) if len(ref) else 0.0)


@dataclass(frozen=True)
class CheckSet:
    """Texts (prepared as the model sees them) an int8 candidate must score like fp32: with ``labels``, F1 at
    the version's threshold may drop at most ``MAX_F1_LOSS``; without, decisions must agree on at least
    ``MIN_AGREEMENT`` of the texts."""

    name: str
    texts: Sequence[str]
    reference: np.ndarray  # fp32 partisan scores
    labels: np.ndarray | None = None


MIN_AGREEMENT = 0.99
MAX_F1_LOSS = 0.005


def f1_score(y: np.ndarray, pred: np.ndarray) -> float:
    tp = float(np.sum(pred & y))
    fp, fn = float(np.sum(pred & ~y)), float(np.sum(~pred & y))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def judge(check: CheckSet, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """One check set's figures for a candidate and whether they pass."""
    ref, got = check.reference >= threshold, scores >= threshold
    row: dict[str, Any] = {"n": len(scores), "agreement": round(float(np.mean(ref == got)) if len(ref) else 1.0, 4)}
    if check.labels is None:
        row["passed"] = row["agreement"] >= MIN_AGREEMENT
    else:
        row["f1_loss"] = round(f1_score(check.labels, ref) - f1_score(check.labels, got), 4)
        row["passed"] = row["f1_loss"] <= MAX_F1_LOSS
    return row


def choose_exclusions(groups: dict[str, list[str]], sensitivity: dict[str, float],
                      accept: Callable[[list[str]], tuple[bool, dict[str, Any]]], max_steps: int = 8
                      ) -> tuple[list[str], list[dict[str, Any]], bool]:
    """Layer groups to keep in fp32: the most sensitive first, until ``accept(excluded)`` passes.

    ``sensitivity`` is each group's mean score change when it alone is quantised (measured on calibration
    texts, never on the sets ``accept`` judges), so the order is fixed before any check is run and the
    checks only decide where to stop. Returns the groups, the trail of measurements (written to the
    manifest) and whether the last candidate passed.
    """
    order = sorted(groups, key=lambda g: -sensitivity.get(g, 0.0))
    excluded: list[str] = []
    trail: list[dict[str, Any]] = []
    for step in range(max_steps + 1):
        passed, figures = accept(excluded)
        trail.append({"excluded": list(excluded), "passed": passed, **figures})
        if passed or step == max_steps or len(excluded) == len(order):
            return excluded, trail, passed
        excluded.append(order[len(excluded)])
    return excluded, trail, False


def export_artefact(version: ModelVersion, corpus_ids: Iterable[Sequence[int]], calibration: Sequence[str],
                    reference: np.ndarray, *, max_length: int, threads: int | None = None,
                    checks: Sequence[CheckSet] = (), target_agreement: float = 0.995, max_steps: int = 8,
                    corpus_note: str = "") -> Artefact:
    """Build and publish ``<version>/int8`` (replacing an older one) and return it.

    ``corpus_ids`` are the version tokenizer's ids of the texts whose pieces the vocabulary must keep;
    ``calibration`` the prepared texts on which each layer's sensitivity is measured, whose fp32 sigmoid
    outputs are ``reference``; ``checks`` the sets a candidate must pass (see ``CheckSet``). Without checks,
    a candidate passes when its decisions agree with fp32 on ``target_agreement`` of the calibration texts.
    """
    import onnx

    spec = json.loads((version.path / TOKENIZER_FILE).read_text(encoding="utf-8"))
    vocab = {piece: n for n, (piece, _) in enumerate(spec["model"]["vocab"])}
    specials = [int(t["id"]) for t in spec.get("added_tokens", [])] + [int(spec["model"]["unk_id"])]
    keep = kept_ids(vocab, specials, corpus_ids)
    with tempfile.TemporaryDirectory(prefix=".int8-", dir=version.path) as tmp_str:
        tmp = Path(tmp_str)
        staging = tmp / "stage"
        staging.mkdir()
        atomic_write_json(staging / TOKENIZER_FILE, trim_tokenizer(spec, keep))
        tok = load_tokenizer(staging / TOKENIZER_FILE, max_length)

        def rows(texts: Sequence[str]) -> list[list[int]]:
            return [e.ids for e in tok.encode_batch(list(texts))]

        calib_rows = rows(calibration)
        check_rows = [rows(c.texts) for c in checks]
        _export_onnx(version, keep, tmp / "fp32.onnx")
        config = json.loads((version.path / "config.json").read_text(encoding="utf-8"))["encoder"]
        _optimise(tmp / "fp32.onnx", tmp / "opt.onnx", config["num_attention_heads"], config["hidden_size"])
        onnx.checker.check_model(str(tmp / "opt.onnx"))
        groups = layer_groups(tmp / "opt.onnx")
        log.info("layer groups: %s", {k: len(v) for k, v in groups.items()})
        threshold = version.threshold
        fp32_meas = measure(reference, OnnxScorer(tmp / "opt.onnx", threads).run(calib_rows), threshold)

        def quantised(excluded: Sequence[str]) -> OnnxScorer:
            _quantise(tmp / "opt.onnx", tmp / "q.onnx", [n for g in excluded for n in groups[g]])
            return OnnxScorer(tmp / "q.onnx", threads)

        sensitivity = {}
        for name in groups:
            alone = [g for g in groups if g != name]
            sensitivity[name] = measure(reference, quantised(alone).run(calib_rows), threshold).mean_abs_diff
        log.info("layer sensitivity: %s", sensitivity)

        def accept(excluded: list[str]) -> tuple[bool, dict[str, Any]]:
            scorer = quantised(excluded)
            calib = measure(reference, scorer.run(calib_rows), threshold)
            figures: dict[str, Any] = {"calibration_agreement": round(calib.agreement, 4)}
            if not checks:
                return calib.agreement >= target_agreement, figures
            for check, r in zip(checks, check_rows, strict=True):
                figures[check.name] = judge(check, scorer.run(r)[:, 0], threshold)
            return all(figures[c.name]["passed"] for c in checks), figures

        excluded, trail, passed = choose_exclusions(groups, sensitivity, accept, max_steps)
        log.info("quantisation trail: %s", trail)
        _quantise(tmp / "opt.onnx", tmp / "q.onnx", [n for g in excluded for n in groups[g]])
        shutil.move(str(tmp / "q.onnx"), staging / MODEL_FILE)
        manifest = {
            "format": FORMAT, "version": version.version, "source_weights_sha256": weights_hash(version),
            "files": {MODEL_FILE: sha256_file(staging / MODEL_FILE),
                      TOKENIZER_FILE: sha256_file(staging / TOKENIZER_FILE)},
            "vocabulary": {"original": len(vocab), "kept": int(len(keep)), "corpus": corpus_note},
            "quantisation": {"method": "onnxruntime dynamic int8, per-channel weights, optimised bert graph",
                             "fp32_layers": excluded, "search_passed": passed,
                             "sensitivity": {k: round(v, 5) for k, v in sensitivity.items()}, "trail": trail,
                             "calibration_texts": len(calibration), "checks": [c.name for c in checks],
                             "trimmed_fp32_onnx_vs_torch": fp32_meas.__dict__},
            "max_length": max_length,
        }
        atomic_write_json(staging / MANIFEST, manifest)
        publish_dir(staging, artefact_dir(version), replace=True)
    loaded = load_artefact(version)
    assert loaded is not None
    return loaded


# --- running ----------------------------------------------------------------------------------------------

class OnnxScorer:
    """An ONNX Runtime session over padded batches of vocabulary rows; returns sigmoid outputs."""

    def __init__(self, model_path: Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])

    def logits(self, rows: Sequence[Sequence[int]]) -> np.ndarray:
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for n, r in enumerate(rows):
            ids[n, :len(r)] = r
            mask[n, :len(r)] = 1
        return self.session.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0]

    def run(self, rows: Sequence[Sequence[int]], batch_size: int = 32) -> np.ndarray:
        """Sigmoid outputs in the order of ``rows``; batches of similar length (dynamic padding)."""
        order = np.argsort([len(r) for r in rows], kind="stable")
        out: np.ndarray | None = None
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            probs = 1.0 / (1.0 + np.exp(-self.logits([rows[i] for i in idx])))
            if out is None:
                out = np.zeros((len(rows), probs.shape[1]), dtype=np.float32)
            out[idx] = probs
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)
