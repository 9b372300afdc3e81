"""Write a file so that a reader (or a crash) never sees half of it: a temporary file beside the
target, flushed to disk, then renamed over it (a rename on one filesystem is atomic).

The one place for this pattern: registry markers, checkpoints, dataset files, exports and reports
all go through these functions.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any


def _atomic(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    _atomic(path, lambda fh: fh.write(data))


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_lines(path: Path, lines: Iterable[str]) -> None:
    """Lines (without newlines) written with a newline after each, streamed, not joined in memory."""
    def write(fh: IO[bytes]) -> None:
        for line in lines:
            fh.write(line.encode("utf-8") + b"\n")
    _atomic(path, write)


def atomic_torch_save(obj: Any, path: Path) -> None:
    import torch

    _atomic(path, lambda fh: torch.save(obj, fh))
