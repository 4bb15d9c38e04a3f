"""Inline SVG charts for the run report: lines over runs, stacked bars, rates against threshold lines."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

# Okabe-Ito: told apart with every common colour-vision deficiency, and in greyscale print.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000", "#999999")
CROSSED = "#C0392B"
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 40, 14, 44


def colour(position: int) -> str:
    return PALETTE[position % len(PALETTE)]


def _nice_top(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    scale = 10.0 ** len(str(int(value))) / 10 if value >= 1 else 1.0
    while scale > value:
        scale /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * scale >= value:
            return step * scale
    return 10 * scale


def _number(value: float, percent: bool) -> str:
    """An axis label: 0.25%, 750, 7.5k, 1.25M."""
    if percent:
        return f"{value * 100:.3g}%"
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def _frame(chart: str, title: str, top: float, percent: bool, body: list[str], labels: list[str]) -> str:
    """The SVG around a chart's marks: y axis with four gridlines, x labels under the plot."""
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="chart" data-chart="{escape(chart)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_number(top * i / 4, percent)}</text>"
        )
    parts += body
    parts += labels
    parts.append("</svg>")
    return "\n".join(parts)


def _x_labels(names: Sequence[str], centres: Sequence[float]) -> list[str]:
    # as many labels as fit side by side (a dozen at most), the last always
    longest = max((len(n) for n in names), default=1)
    fit = max(1, min(12, int((WIDTH - LEFT - RIGHT) // (longest * 6.5 + 10))))
    every = -(-len(names) // fit)
    return [
        f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{escape(n)}</text>'
        for i, (n, x) in enumerate(zip(names, centres, strict=True))
        if i % every == 0 or i == len(names) - 1
    ]


def line_chart(chart: str, title: str, x: Sequence[str], series: dict[str, list[int | None]]) -> str:
    """One line per series over the x values (runs); a missing value breaks the line."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_top(max((v for values in series.values() for v in values if v is not None), default=0))
    step = plot_w / max(1, len(x) - 1) if len(x) > 1 else 0
    xs = [LEFT + (i * step if len(x) > 1 else plot_w / 2) for i in range(len(x))]
    body = []
    for position, (name, values) in enumerate(series.items()):
        points = [(xs[i], TOP + plot_h - plot_h * v / top, v) for i, v in enumerate(values) if v is not None]
        mark = [f'<g class="series" data-series="{escape(name)}" style="color:{colour(position)}">']
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points)
            mark.append(f'<polyline class="line" points="{path}"/>')
        for (px, py, v), label in zip(
            points, [x[i] for i, v in enumerate(values) if v is not None], strict=True
        ):
            mark.append(
                f'<circle class="point" cx="{px:.1f}" cy="{py:.1f}" r="3.5" data-x="{escape(label)}" '
                f'data-value="{v}"><title>{escape(name)}, {escape(label)}: {v:,}</title></circle>'
            )
        mark.append("</g>")
        body += mark
    return _frame(chart, title, top, False, body, _x_labels(x, xs))


def stacked_bars(chart: str, title: str, x: Sequence[str], series: dict[str, list[int]]) -> str:
    """One bar per x value (a run, a domain), its series stacked; a zero draws no segment."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    totals = [sum(values[i] for values in series.values()) for i in range(len(x))]
    top = _nice_top(max(totals, default=0))
    slot = plot_w / max(1, len(x))
    bar_w = min(48.0, slot * 0.7)
    centres = [LEFT + slot * (i + 0.5) for i in range(len(x))]
    body = []
    base = [0] * len(x)
    for position, (name, values) in enumerate(series.items()):
        body.append(f'<g class="series" data-series="{escape(name)}" fill="{colour(position)}">')
        for i, value in enumerate(values):
            if not value:
                continue
            y = TOP + plot_h - plot_h * (base[i] + value) / top
            h = plot_h * value / top
            body.append(
                f'<rect class="bar" x="{centres[i] - bar_w / 2:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{max(h, 0.5):.1f}" data-x="{escape(x[i])}" data-value="{value}">'
                f"<title>{escape(x[i])}, {escape(name)}: {value:,}</title></rect>"
            )
            base[i] += value
        body.append("</g>")
    return _frame(chart, title, top, False, body, _x_labels(x, centres))


def rate_bars(
    chart: str,
    title: str,
    x: Sequence[str],
    rates: Sequence[float | None],
    crossed: Sequence[bool],
    lines: Sequence[tuple[str, str, float]],
) -> str:
    """One bar per x value (a campaign, a domain), the threshold lines (name, label, rate) across.

    A bar whose rate crosses a threshold (and had the messages to be judged) is drawn in red. The
    axis is capped at twice the highest threshold: a bar beyond it is drawn to the top, marked.
    """
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    cap = 2 * max((rate for _, _, rate in lines), default=0.01)
    top = _nice_top(min(cap, max([r for r in rates if r is not None] + [rate for _, _, rate in lines])))
    slot = plot_w / max(1, len(x))
    bar_w = min(40.0, slot * 0.7)
    centres = [LEFT + slot * (i + 0.5) for i in range(len(x))]
    body = ['<g class="series" data-series="rate">']
    for i, (rate, over) in enumerate(zip(rates, crossed, strict=True)):
        if rate is None:
            continue
        h = plot_h * min(rate, top) / top
        klass = "bar crossed" if over else "bar"
        fill = CROSSED if over else PALETTE[0]
        body.append(
            f'<rect class="{klass}" x="{centres[i] - bar_w / 2:.1f}" y="{TOP + plot_h - h:.1f}" '
            f'width="{bar_w:.1f}" height="{max(h, 0.5):.1f}" fill="{fill}" data-x="{escape(x[i])}" '
            f'data-value="{rate!r}"><title>{escape(x[i])}: {rate * 100:.3g}%'
            f"{' (crosses a threshold)' if over else ''}</title></rect>"
        )
        if rate > top:
            body.append(
                f'<text class="beyond" x="{centres[i]:.1f}" y="{TOP + 10}" text-anchor="middle">▲</text>'
            )
    body.append("</g>")
    at_rate: dict[float, list[tuple[str, str]]] = {}
    for name, label, rate in lines:
        at_rate.setdefault(rate, []).append((name, label))
    for rate, named in sorted(at_rate.items()):
        if rate > top:
            continue
        y = TOP + plot_h - plot_h * rate / top
        names = " ".join(name for name, _ in named)
        text = f"{', '.join(label for _, label in named)} {rate * 100:g}%"
        body.append(
            f'<g class="threshold" data-threshold="{escape(names)}"><line x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/><text x="{WIDTH - RIGHT - 2}" y="{y - 3:.1f}" text-anchor="end">'
            f"{escape(text)}</text></g>"
        )
    return _frame(chart, title, top, True, body, _x_labels(x, centres))


def legend(names: Sequence[str]) -> str:
    """The series' colours in the order the charts give them."""
    items = "".join(
        f'<li><span class="swatch" style="background:{colour(i)}"></span>{escape(n)}</li>'
        for i, n in enumerate(names)
    )
    return f'<ul class="legend">{items}</ul>'
