"""Presentation helpers shared by the web pages and the report document.

Nothing here produces markup: templates escape every piece, so hostile post text stays text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any
from urllib.parse import urlsplit

from netral.localtime import abbreviation, to_local
from netral.pipeline.evidence import highlight_segments
from netral.vocabulary import EvidenceLabel

_MONTHS = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
           "November", "Desember"]

EVIDENCE_LABELS: dict[str, str] = EvidenceLabel.labels()


def fmt_dt(value: datetime | None, *, seconds: bool = False, tz: str | tzinfo | None = None) -> str:
    """Local time the way inspectorate staff write it: ``12 Februari 2024 14.05 WIB``.

    ``tz`` is the zone of the election the case belongs to (a name such as ``Asia/Makassar`` gives WITA);
    without one, WIB.
    """
    if value is None:
        return "—"
    local = to_local(value, tz)
    clock = local.strftime("%H.%M.%S" if seconds else "%H.%M")
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year} {clock} {abbreviation(local)}"


def fmt_date(value: datetime | None, *, tz: str | tzinfo | None = None) -> str:
    if value is None:
        return "—"
    local = to_local(value, tz)
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}"


def month_label(year: int, month: int) -> str:
    """``November 2024``: a recap's period row."""
    return f"{_MONTHS[month - 1]} {year}"


def fmt_day(value: date | None) -> str:
    """A calendar date (an election's day, a letter's date, a deadline): ``27 November 2024``."""
    if value is None:
        return "—"
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def safe_url(url: str | None) -> str | None:
    """The URL if it may become a link (http/https with a host), else None so it is shown as text only."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return None
    return url.strip()


def _span_fields(span: Any) -> tuple[str | None, int, int]:
    if isinstance(span, Mapping):
        return span.get("label"), int(span.get("start", 0)), int(span.get("end", 0))
    return getattr(span, "label", None), int(span.start), int(span.end)


def _fallback_segments(text: str, spans: Iterable[Any]) -> list[tuple[str, str | None]]:
    """Split text into (piece, label-or-None); overlapping or out-of-range spans are skipped."""
    out: list[tuple[str, str | None]] = []
    pos = 0
    for label, start, end in sorted((_span_fields(s) for s in spans), key=lambda t: (t[1], -t[2])):
        if start < pos or end <= start or end > len(text):
            continue
        if start > pos:
            out.append((text[pos:start], None))
        out.append((text[start:end], label or "EVIDENCE"))
        pos = end
    if pos < len(text):
        out.append((text[pos:], None))
    return out


@dataclass(frozen=True)
class _Span:
    label: str | None
    start: int
    end: int


def segments(text: str, spans: Iterable[Any] | None) -> list[tuple[str, str | None]]:
    """Post text cut into plain and highlighted pieces by the pipeline's function (review sits above pipeline).

    Flags store spans as JSON dicts; they are turned into objects with ``label/start/end`` first.
    """
    try:
        objs = [_Span(*_span_fields(s)) for s in (spans or [])]
    except (TypeError, ValueError, AttributeError):
        objs = []
    try:
        return list(highlight_segments(text, objs))  # type: ignore[arg-type]
    except (TypeError, ValueError, KeyError, IndexError, AttributeError):
        # Evidence from an older pipeline version must never make a case unreadable.
        return _fallback_segments(text, objs)


def span_matches(span: Any) -> list[dict[str, str | None]]:
    """Every (election, contestant) an evidence span may mean, for the flag page and the report.

    Flags written since shared ballot numbers and gestures are kept ambiguous store ``matches``; older flags
    have one ``election_id``/``contestant`` pair. Either way the reviewer sees all candidates, never a guess.
    """
    if not isinstance(span, Mapping):
        return []
    found = span.get("matches")
    rows = found if isinstance(found, list) and found else [span]
    out = []
    for row in rows:
        if isinstance(row, Mapping):
            election, contestant = row.get("election_id"), row.get("contestant")
            if election is not None or contestant is not None:
                out.append({"election_id": None if election is None else str(election),
                            "contestant": None if contestant is None else str(contestant)})
    return out


def css_token(label: str | None) -> str:
    """A label reduced to characters that are safe in a CSS class name."""
    return "".join(c for c in (label or "").lower() if c.isalnum() or c in "-_")[:40] or "evidence"


def evidence_label(label: str | None) -> str:
    return EVIDENCE_LABELS.get((label or "").upper(), label or "Bukti")
