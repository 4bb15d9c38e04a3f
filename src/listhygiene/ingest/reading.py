"""Read a contacts export, unsubscribe log, bounce log or suppression list, batch by batch, into canonical and quarantined rows."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import polars as pl

from listhygiene.config import Mapping
from listhygiene.csv_files import (
    READ_ERRORS,
    RawTable,
    csv_batches,
    csv_schema,
    read_csv_header,
    row_has_no_values,
    with_extra_fields,
)
from listhygiene.errors import InputError
from listhygiene.ingest.columns import canonical_text, match_columns, renamed, with_value_maps
from listhygiene.ingest.parquet_files import parquet_batches, unreadable_parquet
from listhygiene.ingest.parsing import PARSERS, snapshot_of
from listhygiene.ingest.quarantine import (
    QUARANTINE_SCHEMA,
    ragged_rows,
    raw_json,
    row_problems,
    split_bad_rows,
    undecodable_rows,
)
from listhygiene.ingest.schemas import UTC_MICROS
from listhygiene.vocabulary import KINDS

ACCEPTED_FORMATS = (".csv", ".csv.gz", ".parquet")
# The canonical columns parsed as times (parsing.timestamps).
TIME_COLUMNS = ("confirmed_at", "exported_at", "occurred_at")
HASH_CHUNK = 1 << 20
# Rows read, validated and handed to the loader at a time: what bounds the memory of loading a
# file whatever its size. Measured on bounce logs: ~1.5 GiB at most on the polars side (the
# batch read ahead, the one validated, the one being inserted), ~0.1 GiB per 100,000 rows.
# The environment's LISTHYGIENE_BATCH_ROWS overrides it (see batch_rows).
BATCH_ROWS = 500_000


@dataclass
class ReadResult:
    """One input file read: its valid canonical rows, its quarantined rows, and what was read."""

    path: Path
    source: str
    kind: str
    sha256: str
    size: int
    rows_read: int
    rows: pl.DataFrame
    quarantine: pl.DataFrame
    snapshot_at: datetime | None
    warnings: list[str] = field(default_factory=list)
    # A platform file may also hold rows of other kinds (a SendGrid dump: bounces and unsubscribes).
    other_rows: dict[str, pl.DataFrame] = field(default_factory=dict)
    records_read: int | None = None  # platform files: records (objects, lines) read
    records_ignored: int = 0  # platform files: records that say nothing about hygiene (opens, clicks)
    mtime_ns: int | None = None  # the file's modification time when it was read (set by the loader)

    @property
    def rows_by_kind(self) -> dict[str, pl.DataFrame]:
        return {self.kind: self.rows, **self.other_rows}

    @property
    def rows_loaded(self) -> int:
        return sum(rows.height for rows in self.rows_by_kind.values())


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of the file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def batch_rows() -> int:
    """Rows per batch: LISTHYGIENE_BATCH_ROWS when set (tests set it tiny), else BATCH_ROWS.

    A CSV's first batch holds its header record too, so one record less.
    """
    configured = os.environ.get("LISTHYGIENE_BATCH_ROWS")
    return max(int(configured), 1) if configured else BATCH_ROWS


def read_input(
    path: Path, *, source: str, kind: str, sha256: str | None = None, mapping: Mapping | None = None
) -> ReadResult:
    """Read one input file of the given kind into canonical typed rows and quarantined rows.

    Pass `sha256` when the caller has already hashed the file (the loader does, to skip known
    files); otherwise it is computed while the file is read. `mapping` renames the file's
    columns and words into canonical ones (a CRM's own export). The whole file's rows are held:
    the loader reads big files batch by batch instead (`read_batches`).
    """
    if sha256 is not None:
        return _read_whole(read_batches(path, source=source, kind=kind, sha256=sha256, mapping=mapping))
    # Hashing and parsing both release the GIL: hash in a thread while the file is read.
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(file_sha256, Path(path))
        result = _read_whole(read_batches(path, source=source, kind=kind, sha256="", mapping=mapping))
        return replace(result, sha256=digest.result())


def _read_whole(batches: InputBatches) -> ReadResult:
    """Every batch of the file read, its good rows gathered into the result."""
    rows = list(batches)
    result = batches.result
    return replace(result, rows=pl.concat(rows) if rows else result.rows)


def read_batches(
    path: Path, *, source: str, kind: str, sha256: str, mapping: Mapping | None = None
) -> InputBatches:
    """Open one input file of the given kind to read it batch by batch (see InputBatches).

    Raises InputError here for a file that cannot be used at all (missing, a format not
    accepted, a required column missing, an empty contacts export); a file whose records turn
    out unreadable raises it while the batches are read.
    """
    path = Path(path)
    if kind not in KINDS:
        raise ValueError(f"unknown input kind {kind!r}; expected one of {', '.join(KINDS)}")
    file_format = _file_format_of(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError("file not found.", file=str(path)) from None
    return InputBatches(
        path,
        source=source,
        kind=kind,
        sha256=sha256,
        file_format=file_format,
        size=size,
        mapping=mapping or Mapping(),
    )


class InputBatches:
    """One canonical input file (CSV, CSV.gz, Parquet) read and validated batch_rows() rows at a time.

    Iterate it once: each item is a batch's good rows in the kind's output columns, numbered by
    their record's position in the file, for the caller to use and drop (only quarantined rows,
    few, are kept). Once the iteration is over, `result` tells what the whole file held:
    rows_read, quarantine, warnings and snapshot_at. Its `rows` is empty: the batches held them.
    """

    def __init__(
        self,
        path: Path,
        *,
        source: str,
        kind: str,
        sha256: str,
        file_format: str,
        size: int,
        mapping: Mapping,
    ):
        self.file_format, self.mapping = file_format, mapping
        self.headers = None if size == 0 else _read_header(path, file_format, mapping)
        if self.headers is None:
            self.result = _empty_result(
                path, source=source, kind=kind, sha256=sha256, size=size, zero_bytes=size == 0
            )
            return
        self.result = ReadResult(
            path=path,
            source=source,
            kind=kind,
            sha256=sha256,
            size=size,
            rows_read=0,
            rows=pl.DataFrame(),
            snapshot_at=None,
            quarantine=pl.DataFrame(schema=QUARANTINE_SCHEMA),
        )
        self.positions, self.extras = match_columns(
            renamed(self.headers, mapping), kind, path, self.result.warnings
        )
        # A Parquet file's typed times are parsed as they are (no value map rewrites their words).
        self.typed = frozenset(
            position
            for name, position in self.positions.items()
            if name in TIME_COLUMNS and name not in mapping.values
        )

    def __iter__(self) -> Iterator[pl.DataFrame]:
        if self.headers is None:
            return
        path, kind = self.result.path, self.result.kind
        records = rows_read = blank_rows = 0
        quarantined = [self.result.quarantine]
        latest = []  # contacts: each batch's latest exported_at
        for frame in _raw_batches(path, self.file_format, self.headers, self.mapping, self.typed):
            rows, quarantine, blank = _validate_batch(
                RawTable(self.headers, frame),
                kind,
                self.positions,
                self.extras,
                self.mapping,
                path,
                first_row=records + 1,
            )
            records += frame.height
            rows_read += frame.height - blank
            blank_rows += blank
            if quarantine.height:
                quarantined.append(compacted(quarantine))
            if kind == "contacts":
                latest.append(rows.select(pl.col("exported_at").max()))
            if rows.height:
                yield rows
        warnings = self.result.warnings
        if blank_rows:
            warnings.append(f"skipped {blank_rows} empty row(s) (no value in any column)")
        self.result = replace(
            self.result,
            rows_read=rows_read,
            rows=rows.clear(),
            quarantine=pl.concat(quarantined),
            snapshot_at=_snapshot_at(kind, latest, path),
            warnings=warnings,
        )


def compacted(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame's values copied out of the buffers they share with the batch they came from.

    A few rows taken from a batch keep the whole batch's text alive (polars' string views point
    into its buffers; shrink_to_fit does not let them go): kept for the whole file, a bounce log's
    quarantined rows held ~40 bytes of every row read, 4.3 GiB by the end of a 20M-contact
    night's 118M-row log. Arrow's plain strings are a copy.
    """
    return pl.from_arrow(frame.to_arrow(compat_level=pl.CompatLevel.oldest()))  # type: ignore[return-value]


def _snapshot_at(kind: str, latest: list[pl.DataFrame], path: Path) -> datetime | None:
    """A snapshot file's time: a contacts export's (exported_at, else its name), a suppression
    list's (the date in its name; rows' occurred_at say since when, not when the list was taken).
    None for logs, and for a snapshot file whose time is its loading."""
    if kind == "contacts":
        return snapshot_of(pl.concat(latest), path)
    if kind == "suppressions":
        return snapshot_of(pl.DataFrame({"exported_at": []}, schema={"exported_at": UTC_MICROS}), path)
    return None


def _validate_batch(
    table: RawTable,
    kind: str,
    positions: dict[str, int],
    extras: list[tuple[int, str]],
    mapping: Mapping,
    path: Path,
    *,
    first_row: int,
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """A batch's good rows, its quarantined rows, and how many of its records were blank.

    Records are numbered from first_row, the position of the batch's first record in the file;
    blank records keep their numbers but are left out.
    """
    blank = table.frame.select(row_has_no_values(table)).to_series()
    text = with_value_maps(canonical_text(table, positions, extras, kind, first_row=first_row), mapping)
    if blank.any():
        table = RawTable(table.headers, table.frame.filter(~blank))
        text = text.filter(~blank)
    parsed = PARSERS[kind](text, mapping.time_zone)
    problems = pl.concat([undecodable_rows(table), ragged_rows(table), row_problems(kind, parsed, path)])
    rows, quarantine = split_bad_rows(
        kind, parsed, problems, lambda indexes: table.frame[indexes].select(raw_json(table)).to_series()
    )
    return rows, quarantine, int(blank.sum())


def _file_format_of(path: Path) -> str:
    """The accepted format the file name announces, or InputError."""
    name = path.name.lower()
    for suffix in sorted(ACCEPTED_FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    raise InputError(
        f"unsupported file format; accepted formats: {', '.join(ACCEPTED_FORMATS)}.",
        file=str(path),
        hint="Export the file as CSV (optionally gzipped) or Parquet.",
    )


def _empty_result(
    path: Path, *, source: str, kind: str, sha256: str, size: int, zero_bytes: bool
) -> ReadResult:
    """A file with no bytes (or no decompressed bytes): fatal for contacts, an empty log otherwise."""
    what = "zero-byte" if zero_bytes else "empty (once decompressed)"
    if kind == "contacts":
        raise InputError(
            f"a {what} contacts export would make every contact vanish; refusing to use it.",
            file=str(path),
            hint="Check that the export finished, then re-run the export.",
        )
    if kind == "suppressions":
        # the newest file of a list is the whole list: an empty one would lift every address on it
        raise InputError(
            f"a {what} suppression list would lift every suppression of its source; refusing to use it.",
            file=str(path),
            hint="Check that the file arrived whole; a list that is really empty is a file with "
            "its header row and no rows.",
        )
    label = "unsubscribe log" if kind == "unsubscribes" else "bounce log"
    table = RawTable([], pl.DataFrame(schema={"extra_fields": pl.Int32}))
    parsed = PARSERS[kind](canonical_text(table, {}, [], kind), "UTC")
    return ReadResult(
        path=path,
        source=source,
        kind=kind,
        sha256=sha256,
        size=size,
        rows_read=0,
        rows=parsed.select(KINDS[kind].output),
        quarantine=pl.DataFrame(schema=QUARANTINE_SCHEMA),
        snapshot_at=None,
        warnings=[f"{what} {label} holds no events"],
    )


def _read_header(path: Path, file_format: str, mapping: Mapping | None = None) -> list[str] | None:
    """The file's column names as written; None when it holds no bytes (once decompressed)."""
    mapping = mapping or Mapping()
    if file_format == ".parquet":
        try:
            return list(pl.read_parquet_schema(path))
        except READ_ERRORS as exc:
            raise unreadable_parquet(path, exc) from exc
    return read_csv_header(
        path, compressed=file_format == ".csv.gz", delimiter=mapping.delimiter, encoding=mapping.encoding
    )


def _raw_batches(
    path: Path, file_format: str, headers: list[str], mapping: Mapping, typed: frozenset[int] = frozenset()
) -> Iterator[pl.DataFrame]:
    """The file's records as text (RawTable frames), batch_rows() at a time; at least one, maybe empty.

    A Parquet file's typed times at the positions in `typed` stay typed (parquet_batches).
    """
    if file_format == ".parquet":
        batches = parquet_batches(path, batch_rows(), typed)
        empty = pl.DataFrame(
            schema={f"h{i}": pl.String for i in range(len(headers))} | {"extra_fields": pl.Int32}
        )
    else:
        batches = csv_batches(
            path,
            headers,
            compressed=file_format == ".csv.gz",
            delimiter=mapping.delimiter,
            encoding=mapping.encoding,
            rows=batch_rows(),
        )
        empty = with_extra_fields(pl.DataFrame(schema=csv_schema(headers)))
    any_batch = False
    for frame in batches:
        any_batch = True
        yield frame
    if not any_batch:
        yield empty
