"""`export-suppressions`: write a published run's active suppressions, addresses hashed by default."""

from __future__ import annotations

from pathlib import Path

import click

from listhygiene.cli._format import echo_table
from listhygiene.cli._options import config_option
from listhygiene.cli.report import published_run
from listhygiene.config import load_config


@click.command("export-suppressions")
@config_option
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write: .csv or .parquet (the suffix names the format).",
)
@click.option(
    "--hash",
    "digest",
    type=click.Choice(["sha256", "none"]),
    default="sha256",
    show_default=True,
    help="sha256: the column email_sha256, lowercase hex SHA-256 of the normalized address; "
    "none: the column email, in clear, with the detail.",
)
@click.option("--list", "list_id", metavar="L", help="Only the global suppressions and those of list L.")
@click.option("--run", "run_id", help="The run's id, or its unique beginning (default: the latest run).")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
def export_suppressions(
    config_path: str, out: Path, digest: str, list_id: str | None, run_id: str | None, force: bool
) -> None:
    """Write the active suppressions of a published run, with scope and reason, for a partner,
    an affiliate or a suppression service.

    Addresses are hashed unless --hash none: a hashed list lets the receiver match the
    addresses it already has and learn no other. Read from the run's suppressions.parquet;
    the store is not opened, so a nightly run may hold it meanwhile.

    \b
    Example:
        listhygiene export-suppressions --config pipelines/sample.toml --list offers \\
            --out suppressions_offers.csv
    """
    from listhygiene.outputs.suppression_export import export_suppressions as export

    config = load_config(config_path)
    run = published_run(config.output, run_id)
    result = export(run, out, digest=digest, list_id=list_id, configured_lists=config.lists, force=force)
    scope = f"global and list {list_id}" if list_id else "every scope"
    addresses = "hashed (sha256)" if digest == "sha256" else "in clear"
    click.echo(
        f"wrote {result.out}: {result.rows} suppressions of {result.addresses} addresses ({scope}), "
        f"addresses {addresses}, from run {run.name.removeprefix('run_id=')}"
    )
    echo_table(["reason", "suppressions"], [[reason, n] for reason, n in result.by_reason.items()])
