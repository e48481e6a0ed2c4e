"""Charts as SVG drawn on the server, in plain Python: no JavaScript, no CDN, nothing to
vendor. Each chart is an `<svg role="img">` with a `<title>` and `<desc>` (read out by
screen readers), axis labels that name their units, and a `viewBox`, so it scales to the
width of the page (360 px phones included) without losing its proportions.

Every mark carries its number in `data-value` (and a `<title>` tooltip), so a test can
read the chart's numbers back and compare them with the API's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 480  # user units; the page scales it (about 600 px wide on a desktop, 310 on a phone)
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9")  # Okabe-Ito
FONT = 14


def number(value: float) -> str:
    """12,345 or 0.0011 (thousands separated, at most 4 decimals; the tables' form too)."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def short(value: float) -> str:
    """An axis tick: 1.2M, 350k, 12."""
    size = abs(value)
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if size >= scale:
            return f"{value / scale:.3g}{unit}"
    return f"{value:.3g}"


def ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 times a power of ten)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step)
    values = [first * step]
    while values[-1] < high:  # multiples of the step: no drift from adding floats
        values.append((first + len(values)) * step)
    return values


@dataclass(frozen=True)
class Series:
    """One named series of numbers, drawn in one colour."""

    name: str
    values: Sequence[float]


def _frame(chart_id: str, title: str, desc: str, height: int, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-labelledby="{chart_id}-t {chart_id}-d" class="chart" '
        f'id="{chart_id}" font-size="{FONT}" font-family="system-ui, sans-serif">'
        f'<title id="{chart_id}-t">{escape(title)}</title>'
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>' + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "middle", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _legend(series: Sequence[Series], x: float, y: float) -> list[str]:
    parts = []
    for i, s in enumerate(series):
        left = x + i * 130
        parts.append(
            f'<rect x="{left:.1f}" y="{y - 10:.1f}" width="12" height="12" '
            f'fill="{COLOURS[i % len(COLOURS)]}"/>'
        )
        parts.append(_text(left + 17, y, s.name, "start"))
    return parts


def _mark(tag: str, series: str, label: str, value: float, attrs: str) -> str:
    tip = escape(f"{label}, {series}: {number(value)}")
    return (
        f'<{tag} {attrs} data-series="{escape(series)}" data-label="{escape(label)}" '
        f'data-value="{value:g}"><title>{tip}</title></{tag}>'
    )


def columns(
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    lines: bool = False,
) -> str:
    """Vertical bars per label, side by side per series (or lines with dots, `lines`)."""
    height, left, right, top, bottom = 300, 56, 10, 34, 72
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    values = [v for s in series for v in s.values] or [0]
    low = min(0.0, min(values))
    scale = ticks(low, max(max(values), 1))
    y0, y1 = scale[0], scale[-1]

    def y(v: float) -> float:
        return top + plot_h - (v - y0) / (y1 - y0) * plot_h

    body = _legend(series, left, 18)
    for t in scale:
        body.append(
            f'<line x1="{left}" x2="{WIDTH - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
            'stroke="#ddd"/>'
        )
        body.append(_text(left - 6, y(t) + 4, short(t), "end"))
    slot = plot_w / max(1, len(labels))
    bar = slot * 0.8 / max(1, len(series))
    for i, label in enumerate(labels):
        centre = left + slot * (i + 0.5)
        if len(labels) <= 12 or i % 2 == 0:
            body.append(
                _text(
                    centre,
                    top + plot_h + 16,
                    label,
                    "end",
                    f' transform="rotate(-40 {centre:.1f} {top + plot_h + 16:.1f})"',
                )
            )
    for k, s in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        if lines:
            points = [(left + slot * (i + 0.5), y(v)) for i, v in enumerate(s.values)]
            # Dashes tell apart lines that coincide (JKK and JKM are both mandatory).
            dash = ("", ' stroke-dasharray="8 5"', ' stroke-dasharray="2 4"')[k % 3]
            body.append(
                f'<polyline fill="none" stroke-width="2.5" stroke="{colour}"{dash} '
                'points="' + " ".join(f"{a:.1f},{b:.1f}" for a, b in points) + '"/>'
            )
            body += [
                _mark(
                    "circle",
                    s.name,
                    labels[i],
                    v,
                    f'cx="{a:.1f}" cy="{b:.1f}" r="3.5" fill="{colour}"',
                )
                for i, ((a, b), v) in enumerate(zip(points, s.values, strict=True))
            ]
        else:
            for i, v in enumerate(s.values):
                x = left + slot * i + slot * 0.1 + bar * k
                top_y, base = min(y(v), y(0)), max(y(v), y(0))
                body.append(
                    _mark(
                        "rect",
                        s.name,
                        labels[i],
                        v,
                        f'x="{x:.1f}" y="{top_y:.1f}" width="{bar:.1f}" '
                        f'height="{max(base - top_y, 0.5):.1f}" fill="{colour}"',
                    )
                )
    body.append(
        f'<line x1="{left}" x2="{WIDTH - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#333"/>'
    )
    body.append(_text(left + plot_w / 2, height - 4, x_label))
    body.append(
        _text(
            14,
            top + plot_h / 2,
            y_label,
            "middle",
            f' transform="rotate(-90 14 {top + plot_h / 2:.1f})"',
        )
    )
    return _frame(chart_id, title, desc, height, body)


def bars(
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    x_label: str,
    links: Sequence[str | None] | None = None,
    value_text: Callable[[float], str] = number,
) -> str:
    """Horizontal bars, one row per label (grouped per series), negative values to the
    left of zero; a label with a link is a link (to narrow the page to that region)."""
    left, right, top = 150, 58, 34
    row = 15 * len(series) + 10
    plot_w = WIDTH - left - right
    height = top + row * max(1, len(labels)) + 44
    values = [v for s in series for v in s.values] or [0]
    scale = ticks(min(0.0, min(values)), max(max(values), 0.0) or 1)
    x0, x1 = scale[0], scale[-1]

    def x(v: float) -> float:
        return left + (v - x0) / (x1 - x0) * plot_w

    plot_bottom = top + row * max(1, len(labels))
    body = _legend(series, left, 18) if len(series) > 1 else []
    for t in scale:
        body.append(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{plot_bottom}" stroke="#ddd"/>'
        )
        body.append(_text(x(t), plot_bottom + 15, short(t)))
    for i, label in enumerate(labels):
        middle = top + row * i + row / 2
        name = label if len(label) <= 20 else label[:19] + "…"
        text = _text(left - 6, middle + 4, name, "end", ' font-size="12"')
        href = links[i] if links else None
        body.append(f'<a href="{escape(href)}">{text}</a>' if href else text)
        for k, s in enumerate(series):
            v = s.values[i]
            y = top + row * i + 5 + 15 * k
            start, end = min(x(v), x(0)), max(x(v), x(0))
            body.append(
                _mark(
                    "rect",
                    s.name,
                    label,
                    v,
                    f'x="{start:.1f}" y="{y:.1f}" width="{max(end - start, 0.5):.1f}" '
                    f'height="13" fill="{COLOURS[k % len(COLOURS)]}"',
                )
            )
            body.append(
                _text(
                    end + 4 if v >= 0 else start - 4,
                    y + 10,
                    value_text(v),
                    "start" if v >= 0 else "end",
                    ' font-size="11"',
                )
            )
    body.append(
        f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top}" y2="{plot_bottom}" stroke="#333"/>'
    )
    body.append(_text(left + plot_w / 2, height - 6, x_label))
    return _frame(chart_id, title, desc, height, body)
