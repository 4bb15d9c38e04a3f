"""The options several commands share, defined once: the pipeline file, the as-of time, the engine."""

from __future__ import annotations

from datetime import UTC, datetime

import click

config_option = click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The pipeline file, e.g. pipelines/sample.toml.",
)


def _parse_as_of(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """The --as-of value as a time."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time; e.g. 2026-11-21 or 2026-11-21T03:00:00Z."
        ) from None
    # without an offset a time is UTC, as everywhere in listhygiene
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


as_of_option = click.option(
    "--as-of",
    "as_of",
    callback=_parse_as_of,
    help="Evaluate as of this time (ISO 8601; default now). Events after it are ignored.",
)


engine_option = click.option(
    "--engine",
    "engine",
    type=click.Choice(["duckdb", "spark"]),
    help="Run on this engine instead of the pipeline file's [engine] name (docs/spark.md).",
)
