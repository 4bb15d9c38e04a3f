"""The command line: a thin click layer that turns domain errors into messages and exit codes."""

from __future__ import annotations

from typing import Any

import click
import duckdb

from listhygiene import __version__, logs
from listhygiene.cli.bounces import bounces
from listhygiene.cli.clean import clean
from listhygiene.cli.explain import explain
from listhygiene.cli.export_suppressions import export_suppressions
from listhygiene.cli.forget import forget
from listhygiene.cli.report import report
from listhygiene.cli.run import run, runs, validate
from listhygiene.cli.synth import synth
from listhygiene.cli.whatif import whatif
from listhygiene.errors import ListHygieneError, OutOfMemory, environment_problem
from listhygiene.masking import mask_addresses_in

__all__ = ["cli", "main"]

EXIT_CODES_HELP = """
Exit codes: 0 done; 1 the machine stopped the command (permissions, disk, memory: the message
says what to do) or a bug; 2 usage or config error; 3 inputs failed validation
(nothing published, store unchanged); 4 the drop guard tripped (nothing published; --force
overrides); 5 another run holds the lock.
"""


class Commands(click.Group):
    """Turns domain errors into a one-paragraph message and the documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ListHygieneError as exc:
            # a message may quote what it read (a parser's complaint about a line): never a whole
            # address of the data, as in the logs
            click.echo(f"error: {mask_addresses_in(str(exc))}", err=True)
            ctx.exit(exc.exit_code)
        except duckdb.OutOfMemoryException as exc:
            # Not the user's input, but not a bug to dump a traceback for either. (Steps named by
            # logs.step raise OutOfMemory, which says which step; this catches the others.)
            error = OutOfMemory("running", str(exc).splitlines()[0])
            click.echo(f"error: {error}", err=True)
            ctx.exit(error.exit_code)
        except (OSError, duckdb.IOException) as exc:
            # The last line of defence for a failure of the machine met where no step named it
            # (each step that writes says what it was doing): still one paragraph, no traceback.
            problem = environment_problem(
                exc,
                f"listhygiene {ctx.invoked_subcommand or ''}".strip(),
                outcome="Nothing half-done is visible: a run publishes only after its commit, and the next "
                "run finishes or undoes what a stopped one left.",
            )
            click.echo(f"error: {problem}", err=True)
            ctx.exit(problem.exit_code)


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


cli.add_command(run)
cli.add_command(runs)
cli.add_command(validate)
cli.add_command(explain)
cli.add_command(clean)
cli.add_command(bounces)
cli.add_command(synth)
cli.add_command(whatif)
cli.add_command(report)
cli.add_command(export_suppressions)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="listhygiene")


if __name__ == "__main__":
    main()
cli.add_command(forget)
