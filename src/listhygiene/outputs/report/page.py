"""The report's HTML around its sections: inline style for screen and print, and the tables of numbers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from html import escape
from typing import Any

import polars as pl

# System fonts only: the page must open with no network at all (an e-mail attachment, offline).
STYLE = """
:root { --ink: #1d2430; --muted: #5b6472; --rule: #d9dee5; --bad: #C0392B; --ok: #1e7f4f; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); margin: 0 auto; padding: 24px 28px 48px; max-width: 1180px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 34px 0 8px; padding-top: 10px; border-top: 2px solid var(--ink); }
h3 { font-size: 15px; margin: 20px 0 6px; }
p.lead, .meta { color: var(--muted); margin: 2px 0; }
.note { color: var(--muted); font-size: 12.5px; }
.figure { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 18px; align-items: start;
          margin: 8px 0 14px; break-inside: avoid; }
.figure.wide { grid-template-columns: 1fr; }
.figure.wide svg.chart { max-width: 760px; }
.figure.even { grid-template-columns: 1fr 1fr; }
.scroll { overflow-x: auto; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart .grid { stroke: #e6e9ee; stroke-width: 1; }
svg.chart .axis { fill: var(--muted); font-size: 11px; }
svg.chart .line { fill: none; stroke: currentColor; stroke-width: 2.2; }
svg.chart .point { fill: currentColor; }
svg.chart .threshold line { stroke: var(--bad); stroke-width: 1.2; stroke-dasharray: 5 4; }
svg.chart .threshold text { fill: var(--bad); font-size: 10.5px; }
svg.chart .beyond { fill: var(--bad); font-size: 11px; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--rule); padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f3f5f8; font-weight: 600; }
td.n, th.n { text-align: right; white-space: nowrap; }
td.text { overflow-wrap: break-word; }
td:first-child { white-space: nowrap; }
tr.crossed td { background: #fbe9e7; }
.crossing { color: var(--bad); font-weight: 600; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 14px 0 4px; }
.card { border: 1px solid var(--rule); border-radius: 6px; padding: 8px 12px; min-width: 150px; }
.card b { display: block; font-size: 20px; }
.card .down { color: var(--bad); } .card .up { color: var(--ok); }
.banner { border-left: 6px solid var(--bad); background: #fbe9e7; padding: 10px 14px; margin: 14px 0; }
.banner.calm { border-left-color: var(--ok); background: #eaf6ef; }
ul.legend { list-style: none; padding: 0; margin: 4px 0 0; display: flex; flex-wrap: wrap; gap: 4px 14px;
            font-size: 12px; }
.swatch { display: inline-block; width: 11px; height: 11px; margin-right: 5px; vertical-align: -1px;
          border-radius: 2px; }
nav.toc { font-size: 13px; margin: 10px 0; } nav.toc a { margin-right: 12px; color: #0b5cad; }
@media (max-width: 860px) { .figure { grid-template-columns: 1fr; } }
@media print {
  body { padding: 0; max-width: none; font-size: 11px; }
  nav.toc { display: none; }
  h2 { break-before: auto; break-after: avoid; }
  .figure, table, .card { break-inside: avoid; }
  .figure { grid-template-columns: 1fr 1fr; }
  th { background: #eee !important; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  tr.crossed td, .banner { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f}%"


def count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def moment(value: datetime | str | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value[:16].replace("T", " ") + " UTC"


def plain(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


Formatter = Callable[[Any], str]
NUMERIC = {count, percent}


def table(
    name: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    formats: Sequence[Formatter],
    crossed: Sequence[bool] | None = None,
    caption: str = "",
) -> str:
    """A table of numbers (`name` lets a reader, or a test, find it); `crossed` marks rows in red."""
    head = "".join(
        f'<th class="{"n" if f in NUMERIC else "text"}" scope="col">{escape(h)}</th>'
        for h, f in zip(headers, formats, strict=True)
    )
    body = []
    for i, row in enumerate(rows):
        klass = ' class="crossed"' if crossed and crossed[i] else ""
        cells = "".join(
            f'<td class="{"n" if f in NUMERIC else "text"}">{escape(f(v))}</td>'
            for v, f in zip(row, formats, strict=True)
        )
        body.append(f"<tr{klass}>{cells}</tr>")
    caption_html = f"<caption class='note'>{escape(caption)}</caption>" if caption else ""
    return (
        f'<table data-table="{escape(name)}">{caption_html}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def frame_table(
    name: str,
    frame: pl.DataFrame,
    formats: dict[str, Formatter],
    headers: dict[str, str] | None = None,
    crossed: Sequence[bool] | None = None,
    caption: str = "",
) -> str:
    """`frame`'s columns named in `formats`, in that order, as a table."""
    columns = list(formats)
    names = [(headers or {}).get(c, c.replace("_", " ")) for c in columns]
    rows = frame.select(columns).rows()
    return table(name, names, rows, [formats[c] for c in columns], crossed, caption)


def figure(chart: str, beside: str, wide: bool = False) -> str:
    """A chart with its table of numbers beside it (under it on a narrow screen, or when wide)."""
    return f'<div class="figure{" wide" if wide else ""}"><div>{chart}</div><div class="scroll">{beside}</div></div>'


def section(anchor: str, title: str, *parts: str) -> str:
    return f'<section id="{escape(anchor)}"><h2>{escape(title)}</h2>{"".join(parts)}</section>'


def document(title: str, header: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """The whole page: `sections` are (anchor, title, html); no script, no link, no font to fetch."""
    toc = "".join(f'<a href="#{escape(a)}">{escape(t)}</a>' for a, t, _ in sections)
    body = "".join(html for _, _, html in sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # nothing on this page may be fetched: the policy makes a browser refuse any request
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f'{header}<nav class="toc">{toc}</nav>{body}</body></html>\n'
    )
