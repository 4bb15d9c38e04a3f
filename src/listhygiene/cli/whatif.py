"""The `whatif` command: who would leave or come back under a changed policy or bounce rules."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from listhygiene.cli._format import echo_table
from listhygiene.cli._options import _parse_as_of, config_option
from listhygiene.config import load_config

# the work is imported when the command runs, so that `listhygiene --help` and other commands stay quick


@click.command()
@config_option
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="A pipeline-file key changed for the what-if (repeatable), e.g. policy.soft_bounce_limit=3.",
)
@click.option(
    "--bounce-rules",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A bounce rules file to classify every stored bounce with instead of the pipeline's.",
)
@click.option(
    "--as-of",
    "as_of",
    metavar="TS",
    callback=_parse_as_of,
    help="Evaluate as of this time instead (ISO 8601), compared with the pipeline file as it is, "
    "evaluated then.",
)
@click.option("--run", "run_id", metavar="ID", help="Compare with this published run (default: the newest).")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for changes.parquet and summary.json (created if missing).",
)
def whatif(
    config_path: str,
    settings: tuple[str, ...],
    bounce_rules: Path | None,
    as_of: datetime | None,
    run_id: str | None,
    out: Path,
) -> None:
    """Evaluate the whole history under a changed policy or bounce rules; say who would leave
    or come back. Changes nothing: the store, the published runs and `latest` stay as they are.

    Compared with the newest published run (or --run ID), as of its as-of; with --as-of TS,
    with the pipeline file as it is, evaluated as of that time.

    \b
    Examples:
        listhygiene whatif --config pipelines/sample.toml --set policy.soft_bounce_limit=5 --out whatif/5
        listhygiene whatif --config pipelines/sample.toml --set lists.newsletter.require_confirmed_optin=false --out whatif/sop
        listhygiene whatif --config pipelines/sample.toml --bounce-rules strict_bounces.toml --out whatif/strict
    """
    from listhygiene.outputs.whatif import whatif as run_whatif
    from listhygiene.overrides import apply_overrides

    config = load_config(config_path)
    changed, overrides = apply_overrides(config, settings)
    summary = run_whatif(
        config, changed, overrides, out, bounce_rules=bounce_rules, run_id=run_id, as_of=as_of
    )
    basis = summary["compared_with"]
    what = ", ".join(
        f"{c['key']} {json.dumps(c['now'])} -> {json.dumps(c['whatif'])}" for c in summary["changes"]
    )
    rules = summary["bounce_rules"]
    if rules["file"]:
        what = ", ".join(
            filter(
                None,
                [
                    what,
                    f"bounce rules {rules['file']} ({rules['bounces_reclassified']} bounces reclassified)",
                ],
            )
        )
    click.echo(f"what-if: {what or 'no change given'}; as of {summary['as_of']}, against {basis}")
    echo_table(
        ["list", "sendable now", "under the change", "leave", "come back", "reason changed"],
        [
            [
                item["list_id"] or "(no list)",
                item["sendable_now"],
                item["sendable_whatif"],
                item["leave"],
                item["come_back"],
                item["reason_changed"],
            ]
            for item in summary["lists"]
            # addresses on no list are never sendable: shown when their reason changes
            if item["list_id"] is not None or item["reason_changed"]
        ],
    )
    for item in summary["lists"]:
        for direction, key in (("leave", "leave_by_reason"), ("come back", "come_back_by_reason")):
            for group in item[key]:
                click.echo(
                    f"  {item['list_id'] or '(no list)'}: {group['n']} {direction}, {group['reason'] or 'no reason'}"
                    f" (e.g. {', '.join(group['examples'])})"
                )
    for warning in summary["warnings"]:
        click.echo(f"warning: {warning}")
    rows = summary["changed_rows"]
    click.echo(
        f"{rows} changed row{'' if rows == 1 else 's'} in {out / 'changes.parquet'}; "
        f"summary in {out / 'summary.json'}"
    )
