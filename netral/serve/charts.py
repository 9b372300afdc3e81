"""Server-side SVG charts: no JavaScript and no CDN, and they print.

Labels (unit names come from the roster) are XML-escaped here because the result is inserted into
the page as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

PRIMARY = "#1f3a5f"
ACCENT = "#c8102e"
MUTED = "#9fb3c8"


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    values: Sequence[int]


def _scale(value: int, max_ticks: int = 5) -> tuple[int, int]:
    """(axis top, tick step): whole numbers (flags are counted), at most ``max_ticks`` intervals."""
    value = max(value, 1)
    magnitude = 1
    while True:
        for step in (magnitude, 2 * magnitude, 5 * magnitude):
            intervals = -(-value // step)
            if intervals <= max_ticks:
                return step * intervals, step
        magnitude *= 10


def columns(labels: Sequence[str], series: Sequence[Series], *, title: str, width: int = 960,
            height: int = 260) -> Markup:
    """Grouped columns over a time axis (weeks); the first series is drawn behind the second."""
    left, right, top, bottom = 40, 10, 28, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value, step = _scale(max((max(s.values, default=0) for s in series), default=0))
    n = max(len(labels), 1)
    slot = plot_w / n
    bar_w = max(min(slot * 0.7 / max(len(series), 1), 28), 2)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}">', f"<title>{escape(title)}</title>"]
    for value in range(0, top_value + 1, step):
        y = top + plot_h - plot_h * value / top_value
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e3e8ef"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#5b6b7f">'
                     f"{value}</text>")
    for i, label in enumerate(labels):
        x0 = left + slot * i + (slot - bar_w * len(series)) / 2
        for j, s in enumerate(series):
            v = s.values[i] if i < len(s.values) else 0
            h = plot_h * v / top_value if top_value else 0
            x = x0 + j * bar_w
            parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" '
                         f'fill="{s.color}"><title>{escape(label)} — {escape(s.name)}: {v}</title></rect>')
        if n <= 16 or i % 2 == 0:
            parts.append(f'<text x="{left + slot * i + slot / 2:.1f}" y="{height - bottom + 16}" '
                         f'text-anchor="middle" font-size="11" fill="#5b6b7f">{escape(label)}</text>')
    lx = left
    for s in series:
        parts.append(f'<rect x="{lx}" y="6" width="12" height="12" fill="{s.color}"/>')
        parts.append(f'<text x="{lx + 17}" y="16" font-size="12" fill="#1b2a3a">{escape(s.name)}</text>')
        lx += 30 + 7 * len(s.name)
    parts.append("</svg>")
    return Markup("".join(parts))


def hbars(rows: Sequence[tuple[str, int, int]], *, title: str, names: tuple[str, str], width: int = 560) -> Markup:
    """Horizontal bars per label: total (light) with the confirmed part (dark) on top."""
    label_w, right, row_h, top = 220, 40, 24, 28
    height = top + row_h * max(len(rows), 1) + 8
    plot_w = width - label_w - right
    top_value, _ = _scale(max((r[1] for r in rows), default=0))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}">', f"<title>{escape(title)}</title>",
             f'<rect x="{label_w}" y="6" width="12" height="12" fill="{MUTED}"/>',
             f'<text x="{label_w + 17}" y="16" font-size="12" fill="#1b2a3a">{escape(names[0])}</text>',
             f'<rect x="{label_w + 120}" y="6" width="12" height="12" fill="{PRIMARY}"/>',
             f'<text x="{label_w + 137}" y="16" font-size="12" fill="#1b2a3a">{escape(names[1])}</text>']
    for i, (label, total, part) in enumerate(rows):
        y = top + i * row_h
        short = label if len(label) <= 28 else label[:27] + "…"
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" font-size="12" fill="#1b2a3a">'
                     f"<title>{escape(label)}</title>{escape(short)}</text>")
        w_total = plot_w * total / top_value if top_value else 0
        w_part = plot_w * part / top_value if top_value else 0
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w_total:.1f}" height="16" fill="{MUTED}"/>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w_part:.1f}" height="16" fill="{PRIMARY}"/>')
        parts.append(f'<text x="{label_w + w_total + 6:.1f}" y="{y + 15}" font-size="11" fill="#5b6b7f">'
                     f"{part}/{total}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))
