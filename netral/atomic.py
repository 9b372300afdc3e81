"""Write a file so that a reader (or a crash) never sees half of it: a temporary file beside the
target, flushed to disk, then renamed over it (a rename on one filesystem is atomic).

The one place for this pattern: registry markers, checkpoints, dataset files, exports and reports
all go through these functions; whole directories (a model version, the converted base model) are
written beside their target and moved into place with :func:`publish_dir`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any


def _atomic(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; the result should look like any written file
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


def atomic_write_json(path: Path, obj: Any) -> None:
    """``obj`` as indented UTF-8 JSON (non-ASCII kept readable), ending with a newline."""
    import json

    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def publish_dir(staging: Path, target: Path, *, replace: bool = False) -> None:
    """Move a completely written ``staging`` directory to ``target`` with one rename (same filesystem).

    Readers see the old directory or the new one, never a partial one. An existing ``target`` is an
    error unless ``replace``; then it is first renamed aside and removed (a rename cannot replace a
    non-empty directory).
    """
    if target.exists() or target.is_symlink():
        if not replace:
            raise FileExistsError(target)
        graveyard = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(target, graveyard)
        shutil.rmtree(graveyard, ignore_errors=True)
    os.replace(staging, target)
