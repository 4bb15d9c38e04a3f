"""Reading a run report's tables of numbers back from its HTML (the stdlib parser: no browser needed)."""

from __future__ import annotations

from html.parser import HTMLParser


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._name: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._crossed = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "table":
            self._name = attributes.get("data-table")
            self.tables[self._name or ""] = []
        elif tag == "tr" and self._name is not None:
            self._row = []
            self._crossed = "crossed" in (attributes.get("class") or "")
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._name is not None:
            self.tables[self._name].append([*self._row, "yes" if self._crossed else ""])
            self._row = None
        elif tag == "table":
            self._name = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def report_tables(html: str) -> dict[str, list[dict[str, str]]]:
    """Each table of the page by its data-table name: its rows as {header: cell text}, and under
    the key CROSSED "yes" for a row marked as crossing a threshold."""
    parser = _Tables()
    parser.feed(html)
    return {
        name: [dict(zip([*rows[0][:-1], CROSSED], row, strict=True)) for row in rows[1:]]
        for name, rows in parser.tables.items()
    }


CROSSED = "(crossed)"


def number(text: str) -> int:
    """A count as the report prints it ("1,234"; "-" for none)."""
    return 0 if text == "-" else int(text.replace(",", ""))


def percent(value: float | None) -> str:
    """A rate as the report prints it."""
    return "-" if value is None else f"{value * 100:.2f}%"
