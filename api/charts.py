"""Charts for the dashboard, drawn on the server as small inline SVG.

No chart library and no build step: a page is readable before (and without) any script, and a
chart weighs a few kilobytes. Every chart is ``role="img"`` with a title and a description, and
the page puts the same figures in a data table right after it, for screen readers and for anyone
who wants the exact numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from api.i18n import compact_baht

WIDTH = 960


@dataclass(frozen=True)
class Bar:
    label: str
    value: int  # satang, or per-mille for shares
    second: int | None = None  # satang of the darker bar drawn over the first


def _svg(chart_id: str, title: str, description: str, height: int, body: list[str]) -> Markup:
    head = (
        f'<svg class="chart" id="{chart_id}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" preserveAspectRatio="xMinYMin meet">'
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(description)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


def allocation_bars(
    chart_id: str, title: str, bars: Sequence[Bar], lang: str, first_name: str, second_name: str
) -> Markup:
    """One group per row: the allocation as a pale bar, net disbursed as a dark bar inside it."""
    top = 34
    group = 58
    height = top + group * max(1, len(bars)) + 8
    largest = max([b.value for b in bars] + [b.second or 0 for b in bars] + [1])
    usable = WIDTH - 230
    body = [
        f'<rect class="key-a" x="0" y="6" width="14" height="14" rx="3"/>'
        f'<text x="20" y="18">{escape(first_name)}</text>',
        f'<rect class="key-b" x="220" y="6" width="14" height="14" rx="3"/>'
        f'<text x="240" y="18">{escape(second_name)}</text>',
    ]
    description = []
    for index, bar in enumerate(bars):
        y = top + index * group
        first = max(2, round(usable * bar.value / largest)) if bar.value else 0
        second = max(2, round(usable * (bar.second or 0) / largest)) if bar.second else 0
        body.append(f'<text class="bar-label" x="0" y="{y + 14}">{escape(bar.label)}</text>')
        body.append(f'<rect class="bar-a" x="0" y="{y + 22}" width="{first}" height="26" rx="4"/>')
        if second:
            body.append(f'<rect class="bar-b" x="0" y="{y + 28}" width="{second}" height="14" rx="3"/>')
        shown = f"{compact_baht(bar.second or 0, lang)} / {compact_baht(bar.value, lang)}"
        body.append(f'<text class="bar-value" x="{max(first, second) + 8}" y="{y + 40}">{escape(shown)}</text>')
        description.append(
            f"{bar.label}: {second_name} {compact_baht(bar.second or 0, lang)}, "
            f"{first_name} {compact_baht(bar.value, lang)}"
        )
    return _svg(chart_id, title, "; ".join(description), height, body)


def share_bars(chart_id: str, title: str, bars: Sequence[Bar]) -> Markup:
    """Shares (per mille, 0..1000) as bars on a fixed 0-100% scale, with a 100% guide."""
    top = 8
    group = 44
    usable = WIDTH - 90
    height = top + group * max(1, len(bars)) + 8
    body = [f'<line class="guide" x1="{usable}" x2="{usable}" y1="0" y2="{height}"/>']
    description = []
    for index, bar in enumerate(bars):
        y = top + index * group
        width = round(usable * bar.value / 1000)
        tone = "good" if bar.value >= 800 else "warn" if bar.value >= 500 else "bad"
        body.append(f'<text class="bar-label" x="0" y="{y + 12}">{escape(bar.label)}</text>')
        body.append(f'<rect class="bar-track" x="0" y="{y + 18}" width="{usable}" height="16" rx="4"/>')
        body.append(f'<rect class="bar-{tone}" x="0" y="{y + 18}" width="{max(width, 2)}" height="16" rx="4"/>')
        shown = f"{bar.value / 10:.0f}%"
        body.append(f'<text class="bar-value" x="{usable + 8}" y="{y + 31}">{shown}</text>')
        description.append(f"{bar.label}: {shown}")
    return _svg(chart_id, title, "; ".join(description), height, body)


@dataclass(frozen=True)
class Point:
    label: str  # month label
    cumulative: int  # satang


def timeline(chart_id: str, title: str, points: Sequence[Point], allocation: int, lang: str, limit_name: str) -> Markup:
    """Cumulative net disbursed per month as a stepped area, with the allocation as a dashed ceiling."""
    left, right, top, bottom = 86, 16, 16, 40
    height = 300
    plot_w = WIDTH - left - right
    plot_h = height - top - bottom
    ceiling = max([allocation] + [p.cumulative for p in points] + [1])
    body: list[str] = []
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        y = top + plot_h - round(plot_h * fraction)
        body.append(f'<line class="grid" x1="{left}" x2="{WIDTH - right}" y1="{y}" y2="{y}"/>')
        body.append(
            f'<text class="axis" x="{left - 8}" y="{y + 4}" text-anchor="end">'
            f"{escape(compact_baht(round(ceiling * fraction), lang))}</text>"
        )
    count = max(1, len(points))
    step = plot_w / count

    def y_of(value: int) -> float:
        return top + plot_h - plot_h * value / ceiling

    if points:
        path = [f"M{left},{top + plot_h}"]
        for index, point in enumerate(points):
            x0 = left + index * step
            path.append(f"L{x0:.1f},{y_of(point.cumulative):.1f} L{x0 + step:.1f},{y_of(point.cumulative):.1f}")
        path.append(f"L{left + count * step:.1f},{top + plot_h} Z")
        body.append(f'<path class="area" d="{" ".join(path)}"/>')
        every = max(1, count // 8)
        for index, point in enumerate(points):
            if index % every == 0:
                x = left + index * step + step / 2
                body.append(
                    f'<text class="axis" x="{x:.1f}" y="{height - 14}" text-anchor="middle">'
                    f"{escape(point.label)}</text>"
                )
    if allocation:
        y = y_of(allocation)
        body.append(f'<line class="ceiling" x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        body.append(
            f'<text class="axis ceiling-label" x="{WIDTH - right}" y="{y - 6:.1f}" text-anchor="end">'
            f"{escape(limit_name)} {escape(compact_baht(allocation, lang))}</text>"
        )
    description = "; ".join(f"{p.label}: {compact_baht(p.cumulative, lang)}" for p in points)
    return _svg(chart_id, title, description or "—", height, body)
