"""Small inline-SVG charts for the HTML report: line charts and grouped horizontal bars.

Hand-made so the report needs no plotting library and renders the same everywhere. Every text
that reaches the SVG (titles, legend entries, category names from data) is escaped here, and
the result is returned as :class:`markupsafe.Markup` for a Jinja2 template with autoescape on.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

#: Colour-blind-safe palette (Okabe-Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
WIDTH, HEIGHT = 560, 320
LEFT, RIGHT, TOP, BOTTOM = 64, 180, 34, 46


@dataclass(frozen=True)
class Series:
    """One line: a name for the legend and its points."""

    name: str
    x: Sequence[float]
    y: Sequence[float]


def _fmt(value: float) -> str:
    if value == 0 or 0.01 <= abs(value) < 10_000:
        return f"{value:.3g}"
    return f"{value:.2g}"


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    step = (high - low) / (count - 1)
    return [low + i * step for i in range(count)]


def _text(x: float, y: float, text: object, anchor: str = "middle", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {extra}>{escape(str(text))}</text>'


def _frame(title: str, x_label: str, y_label: str, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" role="img" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        _text(WIDTH / 2, 18, title, extra='font-size="13" font-weight="bold"'),
        _text(LEFT + (WIDTH - LEFT - RIGHT) / 2, height - 8, x_label),
        _text(
            14,
            TOP + (height - TOP - BOTTOM) / 2,
            y_label,
            extra=f'transform="rotate(-90 14 {TOP + (height - TOP - BOTTOM) / 2:.1f})"',
        ),
    ]


def _legend(names: Sequence[str]) -> list[str]:
    out = []
    for i, name in enumerate(names):
        y = TOP + 14 * i
        colour = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{WIDTH - RIGHT + 10}" y="{y}" width="10" height="10" fill="{colour}"/>')
        out.append(_text(WIDTH - RIGHT + 24, y + 9, name[:28], anchor="start", extra='font-size="10"'))
    return out


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    y_range: tuple[float, float] | None = None,
    x_log: bool = False,
    steps: bool = False,
    x_format: Callable[[float], str] | None = None,
    marker_x: float | None = None,
    x_ticks: Sequence[float] | None = None,
) -> Markup:
    """Lines (or step lines) with axes, ticks and a legend.

    ``x_log`` for thresholds spanning decades, ``x_format`` to label x ticks (e.g. dates as
    ordinals), ``x_ticks`` to place them (default: five evenly spaced), ``marker_x`` draws a
    dashed vertical line (e.g. the current threshold).
    """
    height = HEIGHT
    xs = [float(v) for s in series for v in s.x if not x_log or v > 0]
    ys = [float(v) for s in series for v in s.y]
    parts = _frame(title, x_label, y_label, height)
    if not xs or not ys:
        parts.append(_text(WIDTH / 2, height / 2, "no data"))
        return Markup("".join([*parts, "</svg>"]))
    fx = math.log10 if x_log else float
    x0, x1 = fx(min(xs)), fx(max(xs))
    x1 = x1 if x1 > x0 else x0 + 1
    low = min(0.0, *ys)
    y0, y1 = y_range or (low, max(ys) if max(ys) > low else low + 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, height - TOP - BOTTOM

    def px(v: float) -> float:
        return LEFT + (fx(v) - x0) / (x1 - x0) * plot_w

    def py(v: float) -> float:
        return TOP + plot_h - (v - y0) / (y1 - y0) * plot_h

    parts.append(f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>')
    for t in _ticks(y0, y1):
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{py(t):.1f}" y2="{py(t):.1f}" stroke="#eee"/>'
        )
        parts.append(_text(LEFT - 4, py(t) + 4, _fmt(t), anchor="end"))
    for t in [fx(v) for v in x_ticks] if x_ticks else _ticks(x0, x1):
        value = 10**t if x_log else t
        label = x_format(value) if x_format else _fmt(value)
        parts.append(_text(LEFT + (t - x0) / (x1 - x0) * plot_w, TOP + plot_h + 14, label))
    if marker_x is not None and (not x_log or marker_x > 0):
        x = px(marker_x)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#555" '
            'stroke-dasharray="4 3"/>'
        )
    for i, s in enumerate(series):
        points = [(px(float(x)), py(float(y))) for x, y in zip(s.x, s.y, strict=True) if not x_log or x > 0]
        if steps:
            points = [p for a, b in itertools.pairwise(points) for p in (a, (b[0], a[1]))] + points[-1:]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        colour = PALETTE[i % len(PALETTE)]
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.8"/>')
        if len(points) <= 40:
            parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>' for x, y in points)
    parts.extend(_legend([s.name for s in series]))
    return Markup("".join([*parts, "</svg>"]))


def bar_chart(
    categories: Sequence[str],
    groups: dict[str, Sequence[float]],
    *,
    title: str,
    x_label: str,
    x_max: float = 1.0,
) -> Markup:
    """Horizontal bars, one row per category and one bar per group (e.g. recall per run)."""
    bar, gap = 8, 6
    row = bar * max(1, len(groups)) + gap
    height = TOP + BOTTOM + row * max(1, len(categories))
    parts = _frame(title, x_label, "", height)
    plot_w = WIDTH - LEFT - RIGHT - 40
    left = LEFT + 40
    parts.append(f'<line x1="{left}" x2="{left}" y1="{TOP}" y2="{height - BOTTOM}" stroke="#999"/>')
    for t in _ticks(0.0, x_max):
        x = left + t / x_max * plot_w
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{height - BOTTOM}" stroke="#eee"/>')
        parts.append(_text(x, height - BOTTOM + 14, _fmt(t)))
    for c, name in enumerate(categories):
        y = TOP + c * row
        parts.append(_text(left - 4, y + row / 2 + 2, name[:22], anchor="end"))
        for g, values in enumerate(groups.values()):
            value = float(values[c]) if values[c] is not None else 0.0
            w = max(0.0, min(value, x_max)) / x_max * plot_w
            colour = PALETTE[g % len(PALETTE)]
            parts.append(
                f'<rect x="{left}" y="{y + g * bar}" width="{w:.1f}" height="{bar - 1}" fill="{colour}">'
                f"<title>{escape(name)}: {_fmt(value)}</title></rect>"
            )
    parts.extend(_legend(list(groups)))
    return Markup("".join([*parts, "</svg>"]))
