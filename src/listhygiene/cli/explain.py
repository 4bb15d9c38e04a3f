"""The `explain` command: why one address is or is not sendable, for support and privacy requests."""

from __future__ import annotations

import json

import click

from listhygiene.cli._options import config_option, engine_option
from listhygiene.config import load_config

# the work is imported when the command runs, so that `listhygiene --help` and other commands stay quick


@click.command()
@click.argument("email")
@config_option
@engine_option
@click.option("--list", "list_id", metavar="L", help="Only this list (and events for all lists).")
@click.option(
    "--run",
    "run_id",
    metavar="ID",
    help="Explain as of this published run (default: the newest); see `listhygiene runs`.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON (see README).")
def explain(
    email: str, config_path: str, engine: str | None, list_id: str | None, run_id: str | None, as_json: bool
) -> None:
    """Why EMAIL is or is not sendable on each list, what would lift each reason, and its timeline.

    EMAIL may be pasted as written anywhere: capitals, spaces, a display name, mailto:. The
    store is only read; a run that is going on must finish first (exit 5).

    \b
    Examples:
        listhygiene explain 'Tom Baker <Tom.Baker@ACME.example>' --config pipelines/sample.toml
        listhygiene explain priya@acme.example --config pipelines/sample.toml --list staff-news --json
    """
    from listhygiene.outputs.explain import as_text
    from listhygiene.outputs.explain import explain as explain_address

    config = load_config(config_path, engine)
    open_store = None
    if config.engine.name == "spark":
        from listhygiene.engines.spark.catalog import explain_store

        def open_store():
            return explain_store(config)

    answer = explain_address(config, email, list_id=list_id, run_id=run_id, open_store=open_store)
    click.echo(json.dumps(answer, indent=2, ensure_ascii=False) if as_json else as_text(answer))
