"""The nightly job's commands: `run` publishes a run, `runs` lists them, `validate` checks the inputs first."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from listhygiene.cli._format import echo_table
from listhygiene.cli._options import as_of_option, config_option, engine_option
from listhygiene.config import load_config
from listhygiene.errors import ConfigError, ValidationFailed

# the work is imported when a command runs, so that `listhygiene --help` and other commands stay quick


@click.command()
@config_option
@engine_option
@as_of_option
@click.option("--force", is_flag=True, help="Publish even if the drop guard trips.")
@click.option(
    "--full",
    is_flag=True,
    help="Evaluate every address (an audit night); nights are incremental by default.",
)
def run(config_path: str, engine: str | None, as_of: datetime | None, force: bool, full: bool) -> None:
    """The nightly job: load new input files, validate, reconcile, publish a run.

    \b
    Example:
        listhygiene run --config pipelines/sample.toml --as-of 2026-11-21T06:00:00Z
    """
    config = load_config(config_path, engine)
    if config.engine.name == "spark":
        from listhygiene.engines.spark.night import run as run_pipeline
    else:
        from listhygiene.pipeline import run as run_pipeline

    result = run_pipeline(config, as_of=as_of, force=force, full=full)
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
    echo_table(["list", "sendable", "previous", "change", "vanished", "vanished by reason"], rows)
    if result.forced:
        click.echo("published with --force: the drop guard was not applied")


@click.command()
@config_option
@engine_option
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
def runs(config_path: str, engine: str | None, as_json: bool) -> None:
    """Table of published runs: id, as-of, status, per-list sendable and vanished counts, rates.

    The rates column names the sender thresholds a run's rates.parquet crosses ([report]).

    \b
    Example:
        listhygiene runs --config pipelines/sample.toml
    """
    from listhygiene.outputs.report import thresholds_crossed

    config = load_config(config_path, engine)
    con = _open_store(config)
    try:
        records = con.execute(
            "select run_id, manifest->>'as_of', status, forced, manifest, path "
            "from runs order by as_of, run_id"
        ).fetchall()
    finally:
        con.close()
    listing = []
    for run_id, as_of, status, forced, manifest, path in records:
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
                # None: the run's folder holds no rates.parquet (pruned, or older than rates)
                "thresholds_crossed": thresholds_crossed(Path(path)),
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
            _rates(r["thresholds_crossed"]),
        ]
        for r in listing
    ]
    echo_table(["run_id", "as_of", "status", "sendable", "vanished", "rates"], rows)


def _rates(crossed: list[str] | None) -> str:
    """The runs table's rates column: the sender thresholds crossed, if any."""
    if crossed is None:
        return "-"
    return "CROSSED " + ", ".join(crossed) if crossed else "ok"


def _open_store(config):
    """The store's runs table, read-only: the DuckDB file, or the warehouse's catalog on Spark."""
    if config.engine.name == "spark":
        from listhygiene.engines.spark.catalog import Warehouse, open_catalog

        con, version = open_catalog(Warehouse(config.warehouse))
        if not version:
            con.close()
            raise ConfigError(f"warehouse {config.warehouse} has no catalog yet: no run has been published.")
        return con
    from listhygiene import store

    if not config.database.exists():
        raise ConfigError(f"store {config.database} does not exist yet: no run has been published.")
    return store.connect(config.database, read_only=True)


def _verdict(check) -> str:
    """A file's verdict in validate's table; a one-message file's quarantine counts with its source's."""
    if check.error:
        return "unusable"
    if check.over_limit:
        return "over the limit"
    return "counted with its source" if check.one_message and check.rows_quarantined else "ok"


@click.command()
@config_option
@engine_option
def validate(config_path: str, engine: str | None) -> None:
    """Read and validate every input without changing the store or publishing.

    Prints per file the rows read, valid and quarantined, the quarantined rows by kind of
    problem with the first examples, and exits 3 if a run would fail on these inputs.

    \b
    Example:
        listhygiene validate --config pipelines/sample.toml
    """
    from listhygiene.ingest.validation import validate_inputs

    config = load_config(config_path, engine)
    if config.engine.name == "spark":
        from listhygiene.engines.spark.session import start
        from listhygiene.engines.spark.validation import check_on_spark

        report = validate_inputs(config, check_on_spark(start(config.engine)))
    else:
        report = validate_inputs(config)
    limit = config.policy.max_quarantine_fraction
    rows = [
        [
            f.source,
            f.path.name,
            f.rows_read,
            f.rows_valid,
            f.rows_quarantined,
            _verdict(f),
        ]
        for f in report.files
    ]
    echo_table(["source", "file", "rows", "valid", "quarantined", "verdict"], rows)
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
