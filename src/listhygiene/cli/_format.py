"""How the commands print a table (the one layout, listhygiene.text_table, that explain's text uses too)."""

from __future__ import annotations

from collections.abc import Sequence

import click

from listhygiene.text_table import table


def echo_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print the table on stdout."""
    click.echo("\n".join(table(header, rows)))
