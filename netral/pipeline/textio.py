"""Reading operator-supplied files without ever crashing on them.

Exports come from many tools: UTF-8 with or without BOM, UTF-16 from Excel, or a stray Latin-1
line. Each physical line is decoded on its own so one bad line is reported with its number while
the rest of the file is still processed, and files are streamed: memory stays bounded by the
longest accepted line, whatever the file size.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Rejection:
    """One record that was not stored, and exactly where and why."""

    source: str
    line: int
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" + (f" [{self.field}]" if self.field else "")
        return f"{where}: {self.reason}"


# A line longer than this is refused without being held in memory: no valid record comes close
# (a post is at most NETRAL_MAX_TEXT_CHARS characters, 6 bytes each when JSON-escaped).
MAX_LINE_BYTES = 1 << 20
_CHUNK = 1 << 16
_BAD = "\udcff"  # what undecodable UTF-16 becomes; strict UTF-16 decoding never yields a lone surrogate


def _mark_undecodable(exc: UnicodeError) -> tuple[str, int]:
    if isinstance(exc, UnicodeDecodeError):
        return _BAD, exc.end
    raise exc


codecs.register_error("netral-mark", _mark_undecodable)


def _skip_rest_of_line(readline: Callable[[int], Any], first: bytes | str) -> None:
    """Consume an overlong line to its end in bounded pieces (``readline`` stops at the newline)."""
    newline: bytes | str = b"\n" if isinstance(first, bytes) else "\n"
    piece = first
    while piece and not piece.endswith(newline):  # type: ignore[arg-type]
        piece = readline(_CHUNK)


def iter_text_lines(path: Path, rejections: list[Rejection], *,
                    max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, str]]:
    """Stream (line number, decoded line with its newline), never holding more than one line.

    UTF-8 (with or without BOM) is decoded line by line, so one bad line is reported with its number
    and the rest is still read. UTF-16 (Excel) is recognised by its BOM; undecodable bytes there
    become a lone surrogate, which valid UTF-16 never produces, so those lines are refused instead of
    crashing the whole import. Problems are appended to ``rejections``.
    """
    source = str(path)
    with path.open("rb") as raw:
        head = raw.read(4)
        raw.seek(0)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = io.TextIOWrapper(raw, encoding="utf-16", errors="netral-mark", newline="")
            limit = max_line_bytes // 2
            number = 0
            while True:
                try:
                    line = text.readline(limit + 1)
                except UnicodeError as exc:  # a truncated final code unit
                    rejections.append(Rejection(source, number + 1, None, f"bukan UTF-16 yang valid ({exc.reason})"))
                    return
                if not line:
                    return
                number += 1
                if len(line) > limit and not line.endswith("\n"):
                    _skip_rest_of_line(text.readline, line)
                    rejections.append(Rejection(source, number, None, f"baris terlalu panjang (> {limit:,} karakter)"))
                    continue
                if _BAD in line:
                    rejections.append(Rejection(source, number, None, "bukan UTF-16 yang valid; simpan ulang file "
                                                                      "sebagai UTF-8"))
                    continue
                yield number, line.lstrip("\ufeff") if number == 1 else line
            return
        if head.startswith(codecs.BOM_UTF8):
            raw.seek(len(codecs.BOM_UTF8))
        number = 0
        while True:
            data = raw.readline(max_line_bytes + 1)
            if not data:
                return
            number += 1
            if len(data) > max_line_bytes and not data.endswith(b"\n"):
                _skip_rest_of_line(raw.readline, data)
                rejections.append(Rejection(source, number, None, f"baris terlalu panjang (> {max_line_bytes:,} byte)"))
                continue
            try:
                yield number, data.decode("utf-8")
            except UnicodeDecodeError as exc:
                rejections.append(Rejection(source, number, None, f"bukan UTF-8 yang valid (byte {exc.start}); "
                                                                  "simpan ulang file sebagai UTF-8"))


def read_text_lines(path: Path) -> tuple[list[tuple[int, str]], list[Rejection]]:
    """All lines at once, for small files (the roster); see ``iter_text_lines``."""
    rejections: list[Rejection] = []
    lines = list(iter_text_lines(path, rejections))
    return lines, rejections
