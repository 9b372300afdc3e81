"""Reading operator-supplied files without ever crashing on them.

Exports come from many tools: UTF-8 with or without BOM, UTF-16 from Excel, or a stray Latin-1
line. Each physical line is decoded on its own so one bad line is reported with its number while
the rest of the file is still processed.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path


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


def read_text_lines(path: Path) -> tuple[list[tuple[int, str]], list[Rejection]]:
    """Return (line number, decoded line with its newline) pairs and one rejection per undecodable line."""
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        data = data.decode("utf-16").encode("utf-8")
    elif data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    lines: list[tuple[int, str]] = []
    rejections: list[Rejection] = []
    for number, raw in enumerate(data.splitlines(keepends=True), start=1):
        try:
            lines.append((number, raw.decode("utf-8")))
        except UnicodeDecodeError as exc:
            rejections.append(Rejection(str(path), number, None,
                                        f"bukan UTF-8 yang valid (byte {exc.start}); simpan ulang file sebagai UTF-8"))
    return lines, rejections
