"""The `synth` command: write a realistic synthetic data set and its pipeline file, for demos and benchmarks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

# the generator (numpy, pyarrow) is imported when the command runs, so `listhygiene --help` stays quick
FORMAT_CHOICES = ("csv", "csv.gz", "parquet")


def _parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; e.g. 2026-11-01.") from None


@click.command()
@click.option(
    "--contacts",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Contact records in every nightly export (rows: one per record and list).",
)
@click.option(
    "--events",
    type=click.IntRange(min=0),
    default=60_000,
    show_default=True,
    help="Log rows in all, unsubscribe log and bounce log together, over all nights.",
)
@click.option(
    "--lists",
    type=click.IntRange(1, 100),
    default=3,
    show_default=True,
    help="Mailing lists; the first is double opt-in.",
)
@click.option(
    "--nights",
    type=click.IntRange(1, 90),
    default=2,
    show_default=True,
    help="Nightly snapshots; the first night's logs hold 90 days of history, later ones a day each.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    default=1,
    show_default=True,
    help="Same seed and arguments, same bytes.",
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(FORMAT_CHOICES),
    default="csv",
    show_default=True,
    help="File format of every input file.",
)
@click.option(
    "--start",
    callback=_parse_date,
    metavar="DATE",
    help="Date of the first night [default: the last night is 2026-11-21].",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A new or empty folder to write into.",
)
def synth(
    contacts: int,
    events: int,
    lists: int,
    nights: int,
    seed: int,
    file_format: str,
    start: date | None,
    out: Path,
) -> None:
    """Write a realistic synthetic data set: nightly contacts exports, an unsubscribe log and a
    bounce log split per night, with a pipeline.toml to run them and SYNTH.md describing them.

    Addresses come with capitals, spaces and display names, a few are unusable, some records
    are duplicates; contacts are on several lists, join and leave the export, unsubscribe,
    resubscribe (with and without evidence), complain, bounce hard, and bounce soft in streaks,
    with the replies real receivers send. Files are written in blocks, so sizes of tens of
    millions of rows need little memory.

    \b
    Examples:
        listhygiene synth --contacts 2000 --events 10000 --out demo
        listhygiene run --config demo/pipeline.toml --as-of 2026-11-20T06:00:00Z
        listhygiene run --config demo/pipeline.toml --as-of 2026-11-21T06:00:00Z
        listhygiene synth --contacts 1000000 --events 6000000 --lists 5 --format parquet --out big
    """
    from listhygiene.synth import SynthSpec, generate

    spec = SynthSpec(
        contacts=contacts,
        events=events,
        lists=lists,
        nights=nights,
        seed=seed,
        file_format=file_format,
        start=start,
    )
    written = generate(spec, out, progress=lambda line: click.echo(line, err=True))
    click.echo(f"wrote {len(written)} night(s) into {out}: see {out / 'SYNTH.md'}")
    click.echo("run them in order:")
    for night in written:
        click.echo(f"  listhygiene run --config {out / 'pipeline.toml'} --as-of {night.as_of}")
