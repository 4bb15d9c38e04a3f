"""The `clean` command: keep the rows of an audience file that may be sent to, before a send."""

from __future__ import annotations

from pathlib import Path

import click

from listhygiene.cli._format import echo_table
from listhygiene.cli._options import config_option
from listhygiene.config import load_config

# the work is imported when the command runs, so that `listhygiene --help` and other commands stay quick
CATEGORIES = ("marketing", "transactional")


@click.command()
@click.argument("audience", type=click.Path(dir_okay=False, path_type=Path))
@config_option
@click.option("--list", "list_id", metavar="L", help="The list the mail goes to (required for marketing).")
@click.option(
    "--category",
    type=click.Choice(CATEGORIES),
    default="marketing",
    show_default=True,
    help="transactional honours only erasures, hard bounces and invalid addresses.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the rows that may be sent go (.csv or .parquet).",
)
@click.option(
    "--removed",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the other rows go, with reason and detail (default: OUT's name + .removed).",
)
@click.option(
    "--email-column",
    metavar="NAME",
    help="The column holding the addresses (default: the one named email, e-mail, …).",
)
@click.option("--force", is_flag=True, help="Replace --out and --removed if they exist.")
def clean(
    audience: Path,
    config_path: str,
    list_id: str | None,
    category: str,
    out: Path,
    removed: Path | None,
    email_column: str | None,
    force: bool,
) -> None:
    """Keep the rows of AUDIENCE (CSV or Parquet) that may be sent to, per the newest run.

    Every column and the row order are kept. Marketing: a row is kept only if its address is
    sendable on the list and no suppression covers it; transactional: unless the address is
    invalid or hard-bounced. A repeated address is kept once. The rest go to --removed with
    reason and detail.

    \b
    Example:
        listhygiene clean audience.csv --config pipelines/sample.toml --list offers \\
            --out audience_clean.csv
    """
    from listhygiene.outputs.clean import clean as clean_audience

    result = clean_audience(
        load_config(config_path),
        audience,
        list_id=list_id,
        category=category,
        out=out,
        removed=removed,
        email_column=email_column,
        force=force,
    )
    target = f"list {list_id}, {category}" if list_id else category
    click.echo(
        f"cleaned {result.audience} ({target}) against run {result.run_id}; "
        f"addresses from column {result.email_column!r}"
    )
    rows = [["kept", "", result.kept, str(result.out)]]
    rows += [["removed", reason, n, str(result.removed_path)] for reason, n in result.by_reason.items()]
    rows.append(["total", "", result.kept + result.removed, ""])
    echo_table(["rows", "reason", "count", "file"], rows)
