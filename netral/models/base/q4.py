"""Job 2 of the base-model conversion: Q4_0 dequantisation, exactly as ``e5.c``'s ``deq_row``.

A Q4_0 block is 32 weights: an fp16 scale and 16 bytes; byte ``j`` holds weight ``j`` in its low nibble
and weight ``j + 16`` in its high nibble; ``weight = (nibble - 8) * scale``. Products of a 4-bit integer
and an fp16 scale are exact in float32, so nothing is lost relative to the 4-bit file.
"""

from __future__ import annotations

import numpy as np

from netral.models.base.e5file import DTYPE_F32, DTYPE_Q4, E5_FILENAME, QK, BaseModelError, TensorEntry

Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # packed: 18 bytes, as in e5.c's block_q4_0
_DEQUANT_CHUNK = 1 << 18  # blocks per numpy step: bounds peak memory while staying vectorised


def dequantize_q4(data: bytes, offset: int, count: int) -> np.ndarray:
    """Q4_0 -> float32, vectorised: weight = (nibble - 8) * fp16 scale, low nibbles first (e5.c: deq_row)."""
    n_blocks = count // QK
    blocks = np.frombuffer(data, dtype=Q4_BLOCK, count=n_blocks, offset=offset)
    out = np.empty((n_blocks, QK), dtype=np.float32)
    for start in range(0, n_blocks, _DEQUANT_CHUNK):
        chunk = blocks[start : start + _DEQUANT_CHUNK]
        scale = chunk["d"].astype(np.float32)[:, None]
        qs = chunk["qs"]
        stop = start + len(chunk)
        out[start:stop, :16] = ((qs & 0x0F).astype(np.int8) - 8) * scale
        out[start:stop, 16:] = ((qs >> 4).astype(np.int8) - 8) * scale
    return out.reshape(-1)


def read_tensor(data: bytes, entry: TensorEntry, shape: tuple[int, ...]) -> np.ndarray:
    expected = int(np.prod(shape))
    if entry.count != expected:
        raise BaseModelError(f"{E5_FILENAME}: tensor {entry.name} has {entry.count} values, expected {shape}")
    if entry.dtype == DTYPE_F32:
        if entry.nbytes != 4 * expected:
            raise BaseModelError(f"{E5_FILENAME}: tensor {entry.name} has a wrong byte size")
        flat = np.frombuffer(data, dtype="<f4", count=expected, offset=entry.offset).astype(np.float32)
    elif entry.dtype == DTYPE_Q4:
        if expected % QK or entry.nbytes != expected // QK * Q4_BLOCK.itemsize:
            raise BaseModelError(f"{E5_FILENAME}: tensor {entry.name} has a wrong Q4_0 byte size")
        flat = dequantize_q4(data, entry.offset, expected)
    else:
        raise BaseModelError(f"{E5_FILENAME}: tensor {entry.name} has unknown dtype {entry.dtype}")
    return np.ascontiguousarray(flat.reshape(shape))
