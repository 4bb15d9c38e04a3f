"""Pre-send cleaning: keep the rows of an audience file that may be mailed, set the rest aside with reasons."""

from __future__ import annotations

import csv
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from listhygiene.addresses import normalize_addresses
from listhygiene.config import Config
from listhygiene.csv_files import (
    READ_ERRORS,
    SNIFF_BYTES,
    first_line,
    line_style,
    read_csv_header,
    read_csv_table,
    unique_names,
)
from listhygiene.errors import ConfigError, InputError
from listhygiene.outputs.verdicts import DUPLICATE, NOT_ON_LIST, REASON_ORDER, with_verdicts

log = logging.getLogger("listhygiene")

CATEGORIES = ("marketing", "transactional")
# Header names taken for the email column, best first (matched trimmed, case-insensitively).
EMAIL_COLUMN_NAMES = (
    "email",
    "email_address",
    "email address",
    "emailaddress",
    "e-mail",
    "e-mail address",
    "e_mail",
    "mail",
)
OUTPUT_FORMATS = (".csv", ".parquet")


@dataclass
class Audience:
    """An audience file as read: its rows untouched, its header as written, how it was written."""

    path: Path
    frame: pl.DataFrame  # the file's columns (CSV: all text), in file order
    header: list[str]  # column names as written (may repeat in a CSV)
    email_column: int  # position of the email column
    bom: bool = False
    line_terminator: str = "\n"


@dataclass
class CleanResult:
    run_id: str
    audience: Path
    out: Path
    removed_path: Path
    kept: int
    removed: int
    by_reason: dict[str, int]
    email_column: str


def clean(
    config: Config,
    audience_path: Path,
    *,
    list_id: str | None,
    category: str,
    out: Path,
    removed: Path | None = None,
    email_column: str | None = None,
    force: bool = False,
) -> CleanResult:
    """Split an audience into the rows that may be sent and the rest, against the latest run."""
    if category not in CATEGORIES:
        raise ConfigError(f"--category must be one of {', '.join(CATEGORIES)}, got {category!r}.")
    marketing_list = None  # transactional mail goes to any valid address, on a list or not
    if category == "marketing":
        if not list_id:
            raise ConfigError("marketing mail goes to a list: pass --list, e.g. --list newsletter.")
        marketing_list = list_id
    out, removed = Path(out), Path(removed) if removed else default_removed_path(Path(out))
    _check_targets(out, removed, force)
    run = latest_run(config)
    if marketing_list is not None:
        _check_list(run, marketing_list, config)
    audience = read_audience(Path(audience_path), email_column)
    _check_csv_can_hold(audience, out, removed)
    decided = decide(
        audience, run, marketing_list, key_file=config.key_file if config.database_file else None
    )
    kept = decided.filter(pl.col("reason").is_null())
    dropped = decided.filter(pl.col("reason").is_not_null())
    _write_both(audience, kept, dropped, out, removed)
    by_reason = dict(
        sorted(
            dropped.get_column("reason").value_counts().iter_rows(),
            key=lambda kv: (REASON_ORDER.get(kv[0], 99), kv[0]),
        )
    )
    log.info(
        "cleaned %s against run %s: kept %d, removed %d",
        audience.path.name,
        run.name,
        kept.height,
        dropped.height,
    )
    return CleanResult(
        run.name.removeprefix("run_id="),
        audience.path,
        out,
        removed,
        kept.height,
        dropped.height,
        by_reason,
        audience.header[audience.email_column],
    )


def default_removed_path(out: Path) -> Path:
    """Beside --out: audience_clean.csv -> audience_clean.removed.csv."""
    return out.with_name(f"{out.stem}.removed{out.suffix}")


def _check_targets(out: Path, removed: Path, force: bool) -> None:
    for path, option in ((out, "--out"), (removed, "--removed")):
        if path.suffix.lower() not in OUTPUT_FORMATS:
            raise ConfigError(
                f"{option} {path}: the name must end in .csv or .parquet (that is the format written)."
            )
        if not path.parent.is_dir():
            raise ConfigError(f"{option} {path}: the folder {path.parent} does not exist.")
        if path.exists() and not force:
            raise ConfigError(
                f"{option} {path} exists already; nothing was written. "
                "Choose another name, or pass --force to replace it."
            )
    if out.resolve() == removed.resolve():
        raise ConfigError(f"--out and --removed are the same file ({out}); give two names.")


def _check_csv_can_hold(audience: Audience, *targets: Path) -> None:
    """A Parquet audience with list or struct columns can only be written as Parquet."""
    nested = [name for name, dtype in audience.frame.schema.items() if dtype.is_nested()]
    for target in targets:
        if nested and target.suffix.lower() == ".csv":
            raise ConfigError(
                f"{target}: column {nested[0]!r} holds lists or structs, which CSV cannot; "
                "name the output .parquet."
            )


def latest_run(config: Config) -> Path:
    """The folder of the newest published run (what `latest` points at)."""
    latest = config.output / "latest"
    if not (latest / "contact_status.parquet").exists() or not (latest / "suppressions.parquet").exists():
        raise ConfigError(
            f"no published run under {config.output}: run `listhygiene run --config "
            f"{config.path}` first; clean checks an audience against its outputs."
        )
    return latest.resolve()


def _check_list(run: Path, list_id: str, config: Config) -> None:
    """A list the run knows, or one the pipeline file names (it may have no member yet)."""
    if list_id in config.lists:
        return  # named in the pipeline file: the run's lists need not be read
    lists = pl.scan_parquet(run / "contact_status.parquet").select("list_id").unique().collect()
    known = sorted(
        {list_id for list_id in lists.get_column("list_id").to_list() if list_id is not None}
        | set(config.lists)
    )
    if list_id not in known:
        raise ConfigError(
            f"list {list_id!r} is not in run {run.name.removeprefix('run_id=')}; "
            f"its lists: {', '.join(known) or 'none'}."
        )


# --- reading the audience ---------------------------------------------------------------------


def read_audience(path: Path, email_column: str | None) -> Audience:
    """Read a CSV (plain or gzipped) or Parquet audience, every column kept as it is."""
    head = _first_bytes(path)
    if head.startswith(b"PAR1"):
        frame = _read_parquet(path)
        return Audience(path, frame, frame.columns, _email_position(frame.columns, email_column, path))
    _reject_non_csv(path, head)
    compressed = head.startswith(b"\x1f\x8b")
    style = line_style(path, compressed=compressed)
    header = read_csv_header(path, compressed=compressed) or []
    if not header:
        raise InputError(
            "the file holds no header row (it is empty or not a CSV).",
            file=str(path),
            hint="An audience is a CSV with a header row naming its columns, or Parquet.",
        )
    position = _email_position(header, email_column, path)
    frame = _read_csv_rows(path, header, compressed=compressed)
    return Audience(path, frame, header, position, bom=style.bom, line_terminator=style.line_terminator)


def _first_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except FileNotFoundError:
        raise InputError("file not found.", file=str(path)) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file.", file=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror}).", file=str(path)) from None
    if not head:
        raise InputError(
            "the file is empty (zero bytes).",
            file=str(path),
            hint="Export the audience again; it should at least have a header row.",
        )
    return head


def _reject_non_csv(path: Path, head: bytes) -> None:
    """Workbooks, PDFs and other binary files are refused before anything is parsed."""
    if head.startswith(b"PK\x03\x04"):
        raise InputError(
            "the file is a ZIP archive (an Excel .xlsx workbook?), not a CSV.",
            file=str(path),
            hint="Save the sheet as CSV (UTF-8) and clean that file.",
        )
    if head.startswith(b"\x1f\x8b"):
        return  # gzip: read as a compressed CSV
    if b"\x00" in head or head.startswith(b"%PDF"):
        raise InputError(
            "the file is binary, not a CSV.",
            file=str(path),
            hint="An audience is a CSV with a header row, or a Parquet file.",
        )


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except READ_ERRORS as exc:
        raise InputError(
            f"cannot read the Parquet file ({first_line(exc)}).",
            file=str(path),
            hint="The file looks truncated or corrupt; export it again.",
        ) from None


def _read_csv_rows(path: Path, header: list[str], *, compressed: bool) -> pl.DataFrame:
    """Every value as text, exactly as written; a row with more fields than the header is an error."""
    table = read_csv_table(path, header, compressed=compressed)
    overflow = table.frame.select(pl.col("extra_fields").gt(0).arg_true()).to_series()
    if overflow.len():
        raise InputError(
            f"the row has more fields than the header's {len(header)}.",
            file=str(path),
            row=int(overflow[0]) + 1,
            hint="A value holding a comma must be quoted; fix the export and clean it again.",
        )
    return table.frame.select(f"h{i}" for i in range(len(header)))


def _email_position(header: list[str], wanted: str | None, path: Path) -> int:
    """The email column: the one named by --email-column, else the first of EMAIL_COLUMN_NAMES."""
    names = [h.strip().lower() for h in header]
    if wanted is not None:
        candidates = [wanted.strip().lower()]
    else:
        candidates = [n for n in EMAIL_COLUMN_NAMES if n in names]
    for name in candidates:
        positions = [i for i, n in enumerate(names) if n == name]
        if len(positions) > 1:
            raise InputError(
                f"column {header[positions[0]]!r} appears {len(positions)} times; "
                "it is not clear which holds the address.",
                file=str(path),
                column=header[positions[0]],
                hint="Rename one of them, or name the column with --email-column.",
            )
        if positions:
            return positions[0]
    shown = ", ".join(repr(h.strip()[:40]) for h in header[:20]) + (", …" if len(header) > 20 else "")
    if any(not h.isprintable() or "\ufffd" in h for h in header):
        shown = "none readable (the first line holds binary bytes)"
    if wanted is not None:
        raise InputError(
            f"no column named {wanted!r}; columns found: {shown}.",
            file=str(path),
            column=wanted,
            hint="Pass the name of the column holding the addresses.",
        )
    separator = next((s for s in (";", "\t", "|") if any(s in h for h in header)), None)
    hint = (
        f"The header looks separated by {separator!r}; export it comma-separated."
        if separator and len(header) == 1
        else "Name the column holding the addresses with --email-column."
    )
    raise InputError(
        f"no email column (looked for {', '.join(EMAIL_COLUMN_NAMES[:5])}, …); columns found: {shown}.",
        file=str(path),
        hint=hint,
    )


# --- deciding ---------------------------------------------------------------------------------


def decide(
    audience: Audience, run: Path, marketing_list: str | None, key_file: Path | None = None
) -> pl.DataFrame:
    """The audience's rows in file order (row from 1), with reason and detail where not to be sent.

    Marketing mail goes to the members of `marketing_list`; None decides for transactional mail.
    An address erased on request is known to the run only by its tombstone: the audience's
    addresses are hashed with the keyring of `key_file` to recognize it (forgotten_verdicts).
    """
    raw = audience.frame.get_column(audience.frame.columns[audience.email_column]).cast(
        pl.String, strict=False
    )
    addresses = normalize_addresses(raw).with_columns(
        raw=raw,
        row=pl.int_range(1, raw.len() + 1, dtype=pl.Int64, eager=True),
        first=pl.col("email").is_first_distinct(),
    )
    marketing = marketing_list is not None
    no_address = pl.col("email").is_null() | (pl.col("email") == "")
    # transactional mail also goes to addresses the run does not know, if valid and not bounced
    not_member = ~pl.col("member").fill_null(False) if marketing else pl.lit(False)
    judged = with_verdicts(addresses, run, marketing_list, key_file).with_columns(
        pl.when(no_address | ~pl.col("email_valid"))
        .then(pl.lit("invalid_address"))
        .when(pl.col("verdict").is_not_null())
        .then(pl.col("verdict"))
        .when(not_member)
        .then(pl.lit(NOT_ON_LIST))
        # several rows of one address: the first is mailed once, the others not at all
        .when(~pl.col("first"))
        .then(pl.lit(DUPLICATE))
        .alias("reason")
    )
    removed = judged.filter(pl.col("reason").is_not_null())
    return judged.select("row", "reason").join(
        _details(removed, addresses, audience, run, marketing_list),
        on="row",
        how="left",
        maintain_order="left",
    )


def _details(
    removed: pl.DataFrame, addresses: pl.DataFrame, audience: Audience, run: Path, list_id: str | None
) -> pl.DataFrame:
    """Why each removed row was removed, in words (worked out for those rows only)."""
    column = audience.header[audience.email_column].strip()
    repeated = removed.filter(pl.col("reason") == DUPLICATE).select("email").unique()
    first_rows = (
        addresses.filter(pl.col("first"))
        .join(repeated, on="email", how="semi")
        .select("email", first_row="row")
    )
    return removed.join(first_rows, on="email", how="left", maintain_order="left").select(
        "row",
        pl.when(pl.col("email").is_null() | (pl.col("email") == ""))
        .then(pl.lit(f"no address in column {column!r}"))
        .when(pl.col("reason") == "invalid_address")
        .then(pl.format('"{}" is not a valid address', pl.col("raw").str.strip_chars()))
        .when(pl.col("reason") == NOT_ON_LIST)
        .then(pl.lit(f"not a member of {list_id} in run {run.name.removeprefix('run_id=')}"))
        .when(pl.col("reason") == DUPLICATE)
        .then(pl.format("same address as row {}", pl.col("first_row")))
        .otherwise(pl.col("verdict_detail"))
        .alias("detail"),
    )


# --- writing ----------------------------------------------------------------------------------


def _write_both(
    audience: Audience, kept: pl.DataFrame, dropped: pl.DataFrame, out: Path, removed: Path
) -> None:
    """Write both files completely beside their targets, then move them into place."""
    staged = []
    try:
        rows = audience.frame.with_row_index("__row", offset=1)
        kept_rows = rows.join(
            kept.select(pl.col("row").alias("__row")), on="__row", how="semi", maintain_order="left"
        ).drop("__row")
        dropped_rows = rows.join(
            dropped.rename({"row": "__row"}), on="__row", how="inner", maintain_order="left"
        ).drop("__row")
        extra = _extra_names(audience.header)
        staged.append(_write(audience, kept_rows, [], out))
        staged.append(_write(audience, dropped_rows, extra, removed))
        for temp, target in zip(staged, (out, removed)):
            os.replace(temp, target)
    except BaseException:
        for temp in staged:
            temp.unlink(missing_ok=True)
        raise


def _extra_names(header: list[str]) -> list[str]:
    """reason and detail, prefixed should the audience already have such columns."""
    taken = {h.strip().lower() for h in header}
    if {"reason", "detail"} & taken:
        return ["listhygiene_reason", "listhygiene_detail"]
    return ["reason", "detail"]


def _write(audience: Audience, frame: pl.DataFrame, extra: list[str], target: Path) -> Path:
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    header = audience.header + extra
    if target.suffix.lower() == ".parquet":
        frame.columns = unique_names(header)
        frame.write_parquet(temp)
        return temp
    with open(temp, "wb") as handle:
        text = io.StringIO()
        csv.writer(text, lineterminator=audience.line_terminator).writerow(header)
        handle.write((("\ufeff" if audience.bom else "") + text.getvalue()).encode("utf-8"))
        frame.write_csv(handle, include_header=False, line_terminator=audience.line_terminator)
    return temp
