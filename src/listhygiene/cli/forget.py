"""`forget`: erase addresses from the store and every published run, keeping their tombstones."""

from __future__ import annotations

from pathlib import Path

import click

from listhygiene.cli._options import config_option
from listhygiene.config import load_config
from listhygiene.errors import ConfigError


@click.command("forget")
@click.argument("emails", nargs=-1, metavar="EMAIL...")
@config_option
@click.option(
    "--from",
    "from_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A file of addresses to forget, one per line (blank lines and # comments ignored).",
)
@click.option("--note", help="Kept with each tombstone: a ticket or request id (not a name or an address).")
def forget(emails: tuple[str, ...], config_path: str, from_file: Path | None, note: str | None) -> None:
    """Erase addresses on request (GDPR Art. 17) and keep them suppressed.

    Every row of the store and of every published run that holds the address, in any spelling
    the inputs had, is rewritten: the address becomes its tombstone's pseudonym
    (forgotten:<keyed hash>), its spellings, the export's attributes and free text about it go.
    The store file is rebuilt so no freed block keeps them, and the command proves it with a
    byte scan. A forgotten address stays suppressed (reason `forgotten`, transactional mail
    too): later inputs holding it are stored under the tombstone, until fresh consent after the
    erasure. The key of the keyed hash is [privacy] key_file (created on first use). Input
    files on disk that still hold the address are listed: listhygiene never edits them.

    \b
    Example:
        listhygiene forget tom@example.com --config pipelines/sample.toml --note "DSR-2291"
    """
    from listhygiene.privacy.erasure import forget as erase

    addresses = list(emails)
    if from_file is not None:
        lines = from_file.read_text(encoding="utf-8").splitlines()
        addresses += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not addresses:
        raise ConfigError("forget: give at least one address (EMAIL arguments, or --from FILE).")
    config = load_config(config_path)
    result = erase(config, addresses, note)
    for masked in result.forgotten:
        click.echo(f"forgotten: {masked}")
    for masked in result.already:
        click.echo(f"already forgotten (nothing changed): {masked}")
    if result.forgotten:
        click.echo(
            f"{result.store_rows} rows of the store now under tombstones; "
            f"{len(result.run_files)} published files rewritten; "
            f"proof: no spelling in {result.files_scanned} files scanned (store and output folder); "
            f"{result.seconds:.1f} s"
        )
        for path in result.input_files:
            click.echo(f"still holds a forgotten address (listhygiene never edits inputs): {path}", err=True)
