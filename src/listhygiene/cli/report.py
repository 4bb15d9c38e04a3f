"""`report`: write the self-contained HTML report of a published run again (every run folder holds one)."""

from __future__ import annotations

from pathlib import Path

import click

from listhygiene.cli._options import config_option
from listhygiene.config import load_config
from listhygiene.errors import ConfigError


@click.command()
@config_option
@click.option("--run", "run_id", help="The run's id, or its unique beginning (default: the latest run).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report here instead of the run folder's report.html.",
)
@click.option(
    "--show-addresses",
    is_flag=True,
    help="Show addresses in clear (masked otherwise, as in the logs); needs --out.",
)
def report(config_path: str, run_id: str | None, out: Path | None, show_addresses: bool) -> None:
    """Write the HTML report of a published run: list health, why contacts left, sender rates.

    One file that opens offline (an e-mail attachment, a browser with no network). Without
    --out it replaces the run folder's report.html.

    \b
    Example:
        listhygiene report --config pipelines/sample.toml --out night.html
    """
    from listhygiene.outputs.report import write_report

    if show_addresses and out is None:
        # a published run folder is read by many; addresses in clear go only where asked
        raise click.UsageError("--show-addresses writes addresses in clear: give the file with --out.")
    config = load_config(config_path)
    folder = published_run(config.output, run_id)
    written = write_report(
        folder,
        config.output,
        settings=config.report,
        drop_limit=config.policy.max_list_drop_fraction,
        show_addresses=show_addresses,
        out=out,
    )
    click.echo(f"wrote {written} ({written.stat().st_size / 1024:,.0f} KiB)")


def published_run(output: Path, run_id: str | None) -> Path:
    """The folder of the run named by `run_id` (or its unique beginning), else of the latest run."""
    runs = output / "runs"
    if run_id is None:
        latest = output / "latest"
        if not latest.exists():
            raise ConfigError(f"no run is published under {output} yet: run `listhygiene run` first.")
        return latest.resolve()
    matches = sorted(runs.glob(f"run_id={glob_escape(run_id)}*")) if runs.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ConfigError(
            f"no published run {run_id!r} under {runs}; `listhygiene runs --config FILE` lists them."
        )
    names = ", ".join(m.name.removeprefix("run_id=") for m in matches[:5])
    raise ConfigError(f"--run {run_id!r} names {len(matches)} runs ({names}, …): give more of the id.")


def glob_escape(text: str) -> str:
    """`text` matched literally by a glob ([, * and ? in brackets)."""
    return "".join(f"[{c}]" if c in "[]*?" else c for c in text)
