"""The command line: a thin click layer that turns domain errors into messages and exit codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click
import duckdb

from listhygiene import __version__, logs
from listhygiene.config import load_config
from listhygiene.errors import ConfigError, ListHygieneError, OutOfMemory, ValidationFailed

EXIT_CODES_HELP = """
Exit codes: 0 done; 1 unexpected error; 2 usage or config error; 3 inputs failed validation
(nothing published, store unchanged); 4 the drop guard tripped (nothing published; --force
overrides); 5 another run holds the lock.
"""


def _parse_as_of(ctx, param, value: str | None) -> datetime | None:
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


config_option = click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The pipeline file, e.g. pipelines/sample.toml.",
)


class Commands(click.Group):
    """Turns domain errors into a one-paragraph message and the documented exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ListHygieneError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except duckdb.OutOfMemoryException as exc:
            # Not the user's input, but not a bug to dump a traceback for either. (Steps named by
            # logs.step raise OutOfMemory, which says which step; this catches the others.)
            error = OutOfMemory("running", str(exc).splitlines()[0])
            click.echo(f"error: {error}", err=True)
            ctx.exit(error.exit_code)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="listhygiene")
@click.option("--quiet", "-q", is_flag=True, help="Only warnings and errors on stderr.")
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="Also the time of every step (each file loaded, rule model built, output written).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines on stderr: text (a live display on a terminal), or JSON for collectors.",
)
def cli(quiet: bool, verbose: bool, log_format: str) -> None:
    """Keep email lists clean and lawful, and say why contacts vanished."""
    logs.setup(log_format=log_format, quiet=quiet, verbose=verbose)


@cli.command()
@config_option
@click.option(
    "--as-of",
    "as_of",
    callback=_parse_as_of,
    help="Evaluate as of this time (ISO 8601; default now). Events after it are ignored.",
)
@click.option("--force", is_flag=True, help="Publish even if the drop guard trips.")
@click.option(
    "--full",
    is_flag=True,
    help="Evaluate every address, even with [store] incremental = true (an audit night).",
)
def run(config_path: str, as_of: datetime | None, force: bool, full: bool) -> None:
    """The nightly job: load new input files, validate, reconcile, publish a run.

    \b
    Example:
        listhygiene run --config pipelines/sample.toml --as-of 2026-11-21T06:00:00Z
    """
    from listhygiene.pipeline import run as run_pipeline

    result = run_pipeline(load_config(config_path), as_of=as_of, force=force, full=full)
    click.echo(f"published run {result.run_id} (as of {result.as_of:%Y-%m-%dT%H:%M:%SZ})")
    click.echo(f"outputs: {result.path}")
    rows = [
        [
            c.list_id,
            c.sendable,
            "-" if c.previous is None else c.previous,
            f"{c.sendable - c.previous:+d}" if c.previous is not None else "-",
            c.vanished,
            ", ".join(f"{reason} {n}" for reason, n in c.vanished_by_reason.items()) or "-",
        ]
        for c in result.lists
    ]
    click.echo(_table(["list", "sendable", "previous", "change", "vanished", "vanished by reason"], rows))
    if result.forced:
        click.echo("published with --force: the drop guard was not applied")


@cli.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
def runs(config_path: str, as_json: bool) -> None:
    """Table of published runs: id, as-of, status, per-list sendable and vanished counts.

    \b
    Example:
        listhygiene runs --config pipelines/sample.toml
    """
    from listhygiene import store

    config = load_config(config_path)
    if not config.database.exists():
        raise ConfigError(f"store {config.database} does not exist yet: no run has been published.")
    con = store.connect(config.database, read_only=True)
    try:
        records = con.execute(
            "select run_id, manifest->>'as_of', status, forced, manifest from runs order by as_of, run_id"
        ).fetchall()
    finally:
        con.close()
    listing = []
    for run_id, as_of, status, forced, manifest in records:
        lists = json.loads(manifest)["lists"]
        listing.append(
            {
                "run_id": run_id,
                "as_of": as_of,
                "status": status,
                "forced": forced,
                "lists": {
                    k: {"sendable": v["sendable"], "vanished": v["vanished"]} for k, v in lists.items()
                },
            }
        )
    if as_json:
        click.echo(json.dumps(listing, indent=2))
        return
    if not listing:
        click.echo("no published runs")
        return
    rows = [
        [
            r["run_id"],
            r["as_of"][:19] + "Z",
            r["status"] + (" (forced)" if r["forced"] else ""),
            "  ".join(f"{k}={v['sendable']}" for k, v in r["lists"].items()),
            "  ".join(f"{k}={v['vanished']}" for k, v in r["lists"].items()),
        ]
        for r in listing
    ]
    click.echo(_table(["run_id", "as_of", "status", "sendable", "vanished"], rows))


def _table(header: list[str], rows: list[list]) -> str:
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@cli.command()
@config_option
def validate(config_path: str) -> None:
    """Read and validate every input without changing the store or publishing.

    Prints per file the rows read, valid and quarantined, the quarantined rows by kind of
    problem with the first examples, and exits 3 if a run would fail on these inputs.

    \b
    Example:
        listhygiene validate --config pipelines/sample.toml
    """
    from listhygiene.ingest.validation import validate_inputs

    config = load_config(config_path)
    report = validate_inputs(config)
    limit = config.policy.max_quarantine_fraction
    rows = [
        [
            f.source,
            f.path.name,
            f.rows_read,
            f.rows_valid,
            f.rows_quarantined,
            "unusable" if f.error else ("over the limit" if f.over_limit else "ok"),
        ]
        for f in report.files
    ]
    click.echo(_table(["source", "file", "rows", "valid", "quarantined", "verdict"], rows))
    for f in report.files:
        if f.error:
            click.echo(f"\n{f.source} {f.path.name}: {f.error}")
        elif f.rows_quarantined:
            click.echo(
                f"\n{f.source} {f.path.name}: {f.rows_quarantined} of {f.rows_read} rows "
                f"would be quarantined (limit {limit:.1%})"
            )
            for problem, n in f.by_problem.items():
                click.echo(f"  {n:>8}  {problem}")
            for example in f.examples:
                click.echo(f"  e.g. {example}")
    for warning in report.warnings:
        click.echo(f"\n{warning}")
    if report.failed:
        raise ValidationFailed("inputs failed validation: a run would publish nothing (exit 3).")
    click.echo("\nall inputs would load")


# Commands defined in modules of their own, attached here (one import and one add each).
# --- registered commands ---
from listhygiene.cli.answers import clean, explain  # noqa: E402  (after the group they join)

cli.add_command(explain)
cli.add_command(clean)
from listhygiene.cli.bounces import bounces  # noqa: E402  (after the group it joins)

cli.add_command(bounces)
from listhygiene.cli.synth import synth  # noqa: E402  (after the group it joins)

cli.add_command(synth)
# --- end of registered commands ---


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="listhygiene")


if __name__ == "__main__":
    main()
