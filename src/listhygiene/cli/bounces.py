"""The `bounces` commands: classify a bounce log with the pipeline's rules, for people tuning them."""

from __future__ import annotations

import json
from pathlib import Path

import click
import polars as pl

from listhygiene.config import load_config
from listhygiene.masking import mask_addresses_in, mask_email_expr

COLUMNS = ("row", "email", "event", "smtp_code", "enhanced_code", "class", "reason", "rule")


@click.group()
def bounces() -> None:
    """Read bounce logs the way the nightly run does."""


@bounces.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Also apply this pipeline's [bounces] rules (default: the package's rules only).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="How to print the rows.",
)
def classify(file: Path, config_path: str | None, output_format: str) -> None:
    """Print the class, reason and matching rule of every row of a bounce log FILE.

    FILE is read like a bounce source of a pipeline (CSV, .csv.gz or Parquet with the columns
    of SPEC §3); nothing is stored. The codes shown are those the rules read: parsed from the
    diagnostic where the columns are empty. Addresses are masked. Rows that fail validation
    are listed on stderr. A summary by class and rule follows the table on stderr.

    \b
    Examples:
        listhygiene bounces classify data/sample/bounces.csv
        listhygiene bounces classify bounces.csv --config pipelines/sample.toml --format csv
    """
    rules_path = load_config(config_path).bounce_rules if config_path else None
    # imported here so that `listhygiene --help` does not load pandera and the rules
    from listhygiene.ingest.reading import read_input
    from listhygiene.rules.bounces import classify_frame, load_ruleset

    ruleset = load_ruleset(rules_path)
    result = read_input(file, source="classify", kind="bounces")
    _report_quarantine(result.quarantine)
    rows = _printable(classify_frame(result.rows, ruleset)) if result.rows.height else _empty()
    if output_format == "json":
        click.echo(json.dumps(rows.to_dicts(), indent=2, ensure_ascii=False))
    elif output_format == "csv":
        click.echo(rows.write_csv(), nl=False)
    else:
        click.echo(_table(rows))
        click.echo(_summary(rows, ruleset.version), err=True)


def _printable(classified: pl.DataFrame) -> pl.DataFrame:
    return classified.select(
        pl.col("row_number").alias("row"),
        mask_email_expr(pl.col("email_raw")).alias("email"),
        pl.col("event"),
        pl.coalesce("reply_smtp_code", "smtp_code").alias("smtp_code"),
        pl.coalesce("reply_enhanced_code", "enhanced_code").alias("enhanced_code"),
        pl.col("bounce_class").alias("class"),
        pl.col("bounce_reason").alias("reason"),
        pl.col("bounce_rule").alias("rule"),
    )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={c: pl.Int64 if c in ("row", "smtp_code") else pl.String for c in COLUMNS})


def _report_quarantine(quarantine: pl.DataFrame) -> None:
    if not quarantine.height:
        return
    click.echo(f"{quarantine.height} row(s) failed validation and are not classified:", err=True)
    for row in quarantine.sort("row_number").head(20).iter_rows(named=True):
        column = f", column {row['column']!r}" if row["column"] else ""
        click.echo(f"  row {row['row_number']}{column}: {mask_addresses_in(row['error'])}", err=True)


def _table(rows: pl.DataFrame) -> str:
    """Aligned columns, formatted column-wise (a log may have millions of rows)."""
    text = rows.select(pl.all().cast(pl.String).fill_null("-"))
    longest = text.select(pl.all().str.len_chars().max()).row(0) if text.height else (0,) * text.width
    widths = {c: max(len(c), n or 0) for c, n in zip(text.columns, longest)}
    header = [
        "  ".join(c.ljust(widths[c]) for c in text.columns).rstrip(),
        "  ".join("-" * widths[c] for c in text.columns),
    ]
    body = text.select(
        pl.concat_str(
            [pl.col(c).str.pad_end(widths[c]) for c in text.columns], separator="  "
        ).str.strip_chars_end()
    ).to_series()
    return "\n".join(header + body.to_list())


def _summary(rows: pl.DataFrame, version: str) -> str:
    counted = (
        rows.filter(pl.col("class").is_not_null())
        .group_by("class", "rule")
        .len()
        .sort(["len", "class", "rule"], descending=[True, False, False])
    )
    by_class = counted.group_by("class").agg(pl.col("len").sum()).sort("len", descending=True)
    classes = ", ".join(f"{c} {n}" for c, n in by_class.iter_rows())
    top = ", ".join(f"{r} {n}" for _, r, n in counted.head(8).iter_rows())
    return f"{rows.height} rows, rules {version}: {classes or 'no bounces'}" + (
        f"\nmost used rules: {top}" if top else ""
    )
