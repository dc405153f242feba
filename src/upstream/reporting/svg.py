"""Small inline SVG charts for the agent pages and the index's first screen: text only, no external
resource, every label escaped. Each function returns markup (``markupsafe.Markup``) for a template."""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from markupsafe import Markup, escape

INK, MUTED, RULE = "#1b1f24", "#57606a", "#d0d7de"
GOOD, BAD, NEUTRAL, HIGHLIGHT, SHADE = "#1b7837", "#b2182b", "#4d4d4d", "#1f6feb", "#eef2f6"


def _span(values: Sequence[float], pad: float = 0.08) -> tuple[float, float]:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))] or [0.0]
    return _padded(min(finite + [0.0]), max(finite + [0.0]), pad)


def _padded(lo: float, hi: float, pad: float = 0.08) -> tuple[float, float]:
    width = (hi - lo) or 1.0
    return lo - pad * width, hi + pad * width


def _scale(lo: float, hi: float, left: float, right: float):
    return lambda v: left + (float(v) - lo) / (hi - lo) * (right - left)


def _svg(width: int, height: int, label: str, body: list[str]) -> Markup:
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
                  f'width="{width}" height="{height}" aria-label="{escape(label)}" class="chart">'
                  f"<title>{escape(label)}</title>{''.join(body)}</svg>")


def interval_chart(effect: float, lower: float, upper: float, margin: float, label: str, unit: str = "points",
                   width: int = 520) -> Markup:
    """One estimate with its interval on an axis through 0, the band ±`margin` (too small to matter) shaded."""
    lo, hi = _span([lower, upper, -margin, margin], pad=0.15)
    x = _scale(lo, hi, 20, width - 20)
    body = [f'<rect x="{x(-margin):.1f}" y="8" width="{x(margin) - x(-margin):.1f}" height="34" fill="{SHADE}"/>',
            f'<line x1="{x(0):.1f}" y1="4" x2="{x(0):.1f}" y2="46" stroke="{MUTED}" stroke-dasharray="3 3"/>',
            f'<line x1="{x(lower):.1f}" y1="25" x2="{x(upper):.1f}" y2="25" stroke="{INK}" stroke-width="3"/>',
            f'<circle cx="{x(effect):.1f}" cy="25" r="6" fill="{HIGHLIGHT}"/>',
            f'<text x="{x(0):.1f}" y="60" font-size="11" text-anchor="middle" fill="{MUTED}">'
            "0 = the average agent</text>",
            f'<text x="{x(lower):.1f}" y="16" font-size="11" text-anchor="middle">{lower:+.2f}</text>',
            f'<text x="{x(upper):.1f}" y="16" font-size="11" text-anchor="middle">{upper:+.2f}</text>']
    return _svg(width, 66, label, body)


def waterfall(steps: Sequence[tuple[str, float, str]], start: tuple[str, float], end: tuple[str, float],
              label: str, width: int = 620) -> Markup:
    """A waterfall: `start` (label, level), each step (label, change, kind: 'mix' or 'own') added in turn, `end`
    (label, level). Mix steps are grey ("not yours"), the agent's own step blue; levels are bars from the axis."""
    row, top, left = 24, 6, 190
    levels, running = [], start[1]
    for _, change, _ in steps:
        levels.append((running, running + change))
        running += change
    values = [start[1], end[1]] + [v for pair in levels for v in pair]
    finite = [v for v in values if math.isfinite(v)]
    lo, hi = min(finite), max(finite)
    pad = (hi - lo) * 0.15 or 0.1
    x = _scale(lo - pad, hi + pad, left, width - 60)
    body = []
    rows = [(start[0], x(lo - pad), x(start[1]), INK, f"{start[1]:.2f}")]
    for (name, change, kind), (a, b) in zip(steps, levels):
        colour = "#8c959f" if kind == "mix" else HIGHLIGHT
        rows.append((name, x(min(a, b)), x(max(a, b)), colour, f"{change:+.2f}"))
    rows.append((end[0], x(lo - pad), x(end[1]), INK, f"{end[1]:.2f}"))
    for i, (name, x0, x1, colour, text) in enumerate(rows):
        y = top + i * row
        body.append(f'<text x="{left - 8}" y="{y + 15}" font-size="12" text-anchor="end">{escape(name)}</text>')
        body.append(f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 1.5):.1f}" height="{row - 8}" '
                    f'fill="{colour}"/>')
        body.append(f'<text x="{max(x0, x1) + 5:.1f}" y="{y + 15}" font-size="11" fill="{MUTED}">{escape(text)}</text>')
    return _svg(width, top + len(rows) * row + 4, label, body)


#: Opacity of one tick of `strip`; n ticks drawn over each other show as 1 − (1 − TICK_OPACITY)ⁿ.
TICK_OPACITY = 0.6


class StripChart:
    """Every value as a faint tick on one axis (nobody named), a mark as a blue dot; 0 dashed. Values that fall on
    the same pixel are one tick as dark as their overlapping ticks would be, so the chart's size is bounded by its
    width, not by the number of agents (20,000 at scale). The ticks are counted once per axis span, so drawing the
    same values with a different mark on every agent's page costs the same at 150 agents as at 20,000."""

    def __init__(self, values: Sequence[float], label: str, width: int = 520):
        self.values = [float(v) for v in values if v is not None and math.isfinite(float(v))]
        self.label, self.width = label, width
        self.low, self.high = min(self.values + [0.0]), max(self.values + [0.0])
        self.ticks: dict[tuple[float, float], list[str]] = {}

    def draw(self, mark: float | None) -> Markup:
        """The strip with `mark` (None: no dot); the axis spans the values, 0 and the mark."""
        marked = mark is not None and math.isfinite(mark)
        lo, hi = _padded(min(self.low, mark) if marked else self.low, max(self.high, mark) if marked else self.high)
        x = _scale(lo, hi, 15, self.width - 15)
        if (lo, hi) not in self.ticks:
            pixels = Counter(round(x(v)) for v in self.values)
            self.ticks[lo, hi] = [f'<line x1="{px}" y1="12" x2="{px}" y2="32" stroke="#8c959f" stroke-opacity='
                                  f'"{1 - (1 - TICK_OPACITY) ** n:.3g}"/>' for px, n in sorted(pixels.items())]
        body = [f'<line x1="{x(0):.1f}" y1="4" x2="{x(0):.1f}" y2="40" stroke="{MUTED}" stroke-dasharray="3 3"/>',
                *self.ticks[lo, hi]]
        if marked:
            body.append(f'<circle cx="{x(mark):.1f}" cy="22" r="6" fill="{HIGHLIGHT}"/>')
        body.append(f'<text x="15" y="54" font-size="11" fill="{MUTED}">{lo:+.2f}</text>')
        body.append(f'<text x="{self.width - 15}" y="54" font-size="11" fill="{MUTED}" text-anchor="end">{hi:+.2f}'
                    '</text>')
        return _svg(self.width, 60, self.label, body)


def strip(values: Sequence[float], mark: float | None, label: str, width: int = 520) -> Markup:
    """`StripChart` of `values` drawn once with `mark`."""
    return StripChart(values, label, width).draw(mark)


def forest(rows: Sequence[tuple[str, float, float, float]], highlight: str | None, label: str,
           width: int = 560) -> Markup:
    """Estimates with intervals, one row each (name, effect, lower, upper), 0 dashed; `highlight` in colour."""
    row, left = 20, 170
    lo, hi = _span([v for _, e, a, b in rows for v in (e, a, b)])
    x = _scale(lo, hi, left, width - 15)
    height = len(rows) * row + 22
    body = [f'<line x1="{x(0):.1f}" y1="2" x2="{x(0):.1f}" y2="{height - 18}" stroke="{MUTED}" '
            'stroke-dasharray="3 3"/>']
    for i, (name, effect, lower, upper) in enumerate(rows):
        y = 4 + i * row
        colour = (BAD if effect < 0 else GOOD) if name == highlight else "#8c959f"
        shown = name if len(name) <= 26 else name[:25] + "…"
        body.append(f'<text x="{left - 8}" y="{y + 12}" font-size="11" text-anchor="end">{escape(shown)}</text>')
        if math.isfinite(lower) and math.isfinite(upper):
            body.append(f'<line x1="{x(lower):.1f}" y1="{y + 8}" x2="{x(upper):.1f}" y2="{y + 8}" stroke="{colour}" '
                        'stroke-width="2"/>')
        body.append(f'<circle cx="{x(effect):.1f}" cy="{y + 8}" r="4" fill="{colour}"/>')
    body.append(f'<text x="{left}" y="{height - 4}" font-size="11" fill="{MUTED}">{lo:+.2f}</text>')
    body.append(f'<text x="{width - 15}" y="{height - 4}" font-size="11" fill="{MUTED}" text-anchor="end">'
                f'{hi:+.2f}</text>')
    return _svg(width, height, label, body)


def share_bar(part: int, whole: int, label: str, part_text: str, rest_text: str, width: int = 560) -> Markup:
    """One bar split into `part` (orange) and the rest of `whole`."""
    share = part / whole if whole else 0.0
    split = 10 + share * (width - 20)
    body = [f'<rect x="10" y="8" width="{split - 10:.1f}" height="26" fill="#e08214"/>',
            f'<rect x="{split:.1f}" y="8" width="{width - 10 - split:.1f}" height="26" fill="{RULE}"/>',
            f'<text x="10" y="50" font-size="12">{escape(part_text)}</text>',
            f'<text x="{width - 10}" y="50" font-size="12" text-anchor="end" fill="{MUTED}">{escape(rest_text)}</text>']
    return _svg(width, 56, label, body)


def _axis_labels(y, lo: float, hi: float) -> list[tuple[float, str]]:
    """(y, text) of the top, bottom and 0 labels of a vertical axis; an end label within a line's height of the 0
    label is left out (they would print over each other)."""
    zero = y(0) + 4
    ends = [(y(hi) + 10, f"{hi:+.2f}"), (y(lo), f"{lo:+.2f}")]
    return [(where, text) for where, text in ends if abs(where - zero) >= 12] + [(zero, "0")]


def monthly_chart(rows: Sequence[tuple[str, float, float, float]], margin: float, label: str,
                  width: int = 520) -> Markup:
    """Estimates over time, one column each (month, effect, lower, upper): the interval as a vertical line, the
    estimate as a dot, 0 dashed, the band ±`margin` (too small to matter) shaded, the months below."""
    top, bottom, left = 8, 92, 48
    lo, hi = _span([v for _, e, a, b in rows for v in (e, a, b)] + [-margin, margin], pad=0.1)
    y = _scale(lo, hi, bottom, top)
    step = (width - left - 10) / max(len(rows), 1)
    body = [f'<rect x="{left}" y="{y(margin):.1f}" width="{width - left - 10}" height="{y(-margin) - y(margin):.1f}" '
            f'fill="{SHADE}"/>',
            f'<line x1="{left}" y1="{y(0):.1f}" x2="{width - 10}" y2="{y(0):.1f}" stroke="{MUTED}" '
            'stroke-dasharray="3 3"/>',
            *(f'<text x="{left - 6}" y="{where:.1f}" font-size="11" text-anchor="end" fill="{MUTED}">{text}</text>'
              for where, text in _axis_labels(y, lo, hi))]
    for i, (name, effect, lower, upper) in enumerate(rows):
        x = left + step * (i + 0.5)
        if math.isfinite(lower) and math.isfinite(upper):
            body.append(f'<line x1="{x:.1f}" y1="{y(lower):.1f}" x2="{x:.1f}" y2="{y(upper):.1f}" stroke="{INK}" '
                        'stroke-width="2"/>')
        body.append(f'<circle cx="{x:.1f}" cy="{y(effect):.1f}" r="5" fill="{HIGHLIGHT}"/>')
        body.append(f'<text x="{x:.1f}" y="{bottom + 16}" font-size="11" text-anchor="middle">{escape(name)}</text>')
    return _svg(width, bottom + 22, label, body)
