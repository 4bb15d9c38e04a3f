"""Read a contacts export, unsubscribe log or bounce log, batch by batch, into canonical and quarantined rows."""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import os
import re
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import polars as pl

from listhygiene.config import Mapping
from listhygiene.errors import InputError
from listhygiene.ingest.schemas import KNOWN_EVIDENCE, SCHEMAS, UTC_MICROS, describe_failures, find_failures
from listhygiene.sql import memory_connection, sql_literal
from listhygiene.vocabulary import KINDS

ACCEPTED_FORMATS = (".csv", ".csv.gz", ".parquet")
# Columns read beyond the header's width: a row that fills any of them has more fields
# than the header, which almost always means an unquoted separator shifted its values.
SPARE_FIELDS = 8
HASH_CHUNK = 1 << 20
TRANSCODE_CHUNK = 8 << 20
# Rows read, validated and handed to the loader at a time: what bounds the memory of loading a
# file whatever its size. Measured on bounce logs: ~1.5 GiB at most on the polars side (the
# batch read ahead, the one validated, the one being inserted), ~0.1 GiB per 100,000 rows.
# The environment's LISTHYGIENE_BATCH_ROWS overrides it (see batch_rows).
BATCH_ROWS = 500_000


# Spellings seen in real exports, keyed by the value lower-cased with spaces and hyphens as "_".
STATUS_ALIASES = {
    "subscribed": "subscribed",
    "active": "subscribed",
    "opted_in": "subscribed",
    "unsubscribed": "unsubscribed",
    "opted_out": "unsubscribed",
    "do_not_allow": "unsubscribed",
    "pending": "pending",
    "unconfirmed": "pending",
    "cleaned": "cleaned",
    "bounced": "cleaned",
}
BOUNCE_EVENT_ALIASES = {"delivery": "delivered"}
BOUNCE_TYPE_ALIASES = {
    "permanent": "hard",
    "transient": "soft",
    "undetermined": "unknown",
    "blocked": "block",
}
BOOLEAN_WORDS = {
    "true": True,
    "false": False,
    "yes": True,
    "no": False,
    "1": True,
    "0": False,
    "y": True,
    "n": False,
    "t": True,
    "f": False,
}

# ISO 8601 as exports write it: date, optional time ('T' or space, minutes or seconds, fraction)
# and optional offset (Z, +01:00, +0100, +01). DuckDB's cast alone is more lenient ('epoch',
# 'infinity', one-digit months, zone names), so values must also have this shape.
ISO_8601_SHAPE = (
    r"^\s*\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"
    r" ?(?:[Zz]|[+-][01]\d(?::?\d{2})?)?\s*$"
)
# The reply code and the enhanced status code (RFC 3463), wherever they sit in the text.
SMTP_CODE = r"(?:^|\D)([2-5]\d{2})(?:\D|$)"
ENHANCED_CODE = r"(?:^|[^\d.])([245]\.\d{1,3}\.\d{1,3})(?:\D|$)"

# Dates in file names: 2026-11-21, 20261121, optionally followed by a time such as
# T03:00Z, T0300Z, T030000Z or T03:00:00+01:00.
NAME_TIMESTAMP = re.compile(
    r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)"
    r"(?:T(\d{2}):?(\d{2})(?::?(\d{2}))?(?!\d)(Z|[+-]\d{2}:?\d{2})?)?",
    re.IGNORECASE,
)


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


@dataclass
class RawTable:
    """A file's rows as text: h0..hN one column per header field, plus how many fields overflowed."""

    headers: list[str]
    frame: pl.DataFrame  # h{i} String columns, extra_fields Int32, spare x{i} String columns (CSV)


QUARANTINE_SCHEMA = {"row_number": pl.Int64, "column": pl.String, "error": pl.String, "raw": pl.String}


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
        return read_whole(read_batches(path, source=source, kind=kind, sha256=sha256, mapping=mapping))
    # Hashing and parsing both release the GIL: hash in a thread while the file is read.
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(file_sha256, Path(path))
        result = read_whole(read_batches(path, source=source, kind=kind, sha256="", mapping=mapping))
        return replace(result, sha256=digest.result())


def read_whole(batches: InputBatches) -> ReadResult:
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
    file_format = file_format_of(path)
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
        self.headers = None if size == 0 else read_header(path, file_format, mapping)
        if self.headers is None:
            self.result = empty_result(
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

    def __iter__(self) -> Iterator[pl.DataFrame]:
        if self.headers is None:
            return
        path, kind = self.result.path, self.result.kind
        records = rows_read = blank_rows = 0
        quarantined = [self.result.quarantine]
        latest = []  # contacts: each batch's latest exported_at
        for frame in raw_batches(path, self.file_format, self.headers, self.mapping):
            rows, quarantine, blank = validate_batch(
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
                quarantined.append(quarantine)
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
            snapshot_at=snapshot_of(pl.concat(latest), path) if kind == "contacts" else None,
            warnings=warnings,
        )


def validate_batch(
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
    problems = pl.concat([ragged_rows(table), row_problems(kind, parsed, path)])
    rows, quarantine = split_bad_rows(
        kind, parsed, problems, lambda indexes: table.frame[indexes].select(raw_json(table)).to_series()
    )
    return rows, quarantine, int(blank.sum())


def split_bad_rows(
    kind: str,
    parsed: pl.DataFrame,
    problems: pl.DataFrame,
    raw_of: Callable[[pl.Series], pl.Series],
    keep: tuple[str, ...] = (),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The good rows in the kind's output columns (plus `keep`), and one quarantine row per bad row."""
    problems = problems.sort("index", "rank", maintain_order=True)
    rows = parsed.select(*KINDS[kind].output, *keep)
    if not problems.is_empty():
        bad = problems.get_column("index").unique()
        is_bad = pl.repeat(False, parsed.height, eager=True).scatter(bad, True)
        rows = rows.filter(~is_bad)
    return rows, quarantine_rows(problems, parsed, raw_of)


def file_format_of(path: Path) -> str:
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


def empty_result(
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


# --- reading files into text ------------------------------------------------------------------


def read_header(path: Path, file_format: str, mapping: Mapping | None = None) -> list[str] | None:
    """The file's column names as written; None when it holds no bytes (once decompressed)."""
    mapping = mapping or Mapping()
    if file_format == ".parquet":
        try:
            return list(pl.read_parquet_schema(path))
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise unreadable_parquet(path, exc) from exc
    return read_csv_header(
        path, compressed=file_format == ".csv.gz", delimiter=mapping.delimiter, encoding=mapping.encoding
    )


def raw_batches(path: Path, file_format: str, headers: list[str], mapping: Mapping) -> Iterator[pl.DataFrame]:
    """The file's records as text (RawTable frames), batch_rows() at a time; at least one, maybe empty."""
    if file_format == ".parquet":
        batches = parquet_batches(path, batch_rows())
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


def csv_schema(headers: list[str]) -> dict[str, pl.DataType]:
    """Every field as text: h{i} per header field, then spare x{i} columns for overflowing fields."""
    schema = {f"h{i}": pl.String for i in range(len(headers))}
    return schema | {f"x{i}": pl.String for i in range(SPARE_FIELDS)}


def csv_options(headers: list[str], delimiter: str) -> dict:
    """How polars reads our CSVs: records (the header too) as text, invalid UTF-8 as U+FFFD."""
    return dict(
        has_header=False,
        schema=csv_schema(headers),
        truncate_ragged_lines=True,
        missing_columns="insert",
        encoding="utf8-lossy",
        separator=delimiter,
    )


def with_extra_fields(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with extra_fields: how many spare columns a record filled (0 for most)."""
    spares = [pl.when(pl.col(f"x{i}").is_not_null()).then(i + 1) for i in range(SPARE_FIELDS)]
    return frame.with_columns(extra_fields=pl.max_horizontal(spares).fill_null(0).cast(pl.Int32))


def csv_batches(
    path: Path, headers: list[str], *, compressed: bool, delimiter: str, encoding: str, rows: int
) -> Iterator[pl.DataFrame]:
    """A CSV's records after the header as text, `rows` at a time, overflowing fields in spare columns.

    polars reads the file ahead in its own threads (gzip included), holding a few batches only.
    """
    with utf8_source(path, compressed, encoding) as source:
        try:
            batches = pl.scan_csv(source, **csv_options(headers, delimiter)).collect_batches(chunk_size=rows)
            for number, frame in enumerate(batches):
                yield with_extra_fields(frame.slice(1) if number == 0 else frame)  # less the header
        except (pl.exceptions.PolarsError, OSError, EOFError, zlib.error) as exc:
            raise unreadable(path, compressed, exc) from exc


def read_csv_table(
    path: Path, headers: list[str], *, compressed: bool, delimiter: str = ",", encoding: str = "utf-8"
) -> RawTable:
    """Read a whole CSV with every value as text, keeping overflowing fields in spare columns."""
    with utf8_source(path, compressed, encoding) as source:
        try:
            frame = pl.read_csv(source, **csv_options(headers, delimiter))
        except (pl.exceptions.PolarsError, OSError, EOFError, zlib.error) as exc:
            raise unreadable(path, compressed, exc) from exc
    return RawTable(headers, with_extra_fields(frame.slice(1)))


@contextmanager
def utf8_source(path: Path, compressed: bool, encoding: str) -> Iterator[Path]:
    """The file itself when it is UTF-8 (polars reads it, gzipped or not); else a UTF-8 copy of its text.

    Exports in another encoding (Windows-1252 from Excel and older CRMs) are decoded a chunk at
    a time into a temporary file, removed afterwards.
    """
    if encoding in ("utf-8", "utf-8-sig"):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="listhygiene-") as folder:
        copy = Path(folder) / "utf-8.csv"
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        try:
            with (gzip.open if compressed else open)(path, "rb") as raw, open(copy, "wb") as text:
                while chunk := raw.read(TRANSCODE_CHUNK):
                    text.write(decoder.decode(chunk).encode("utf-8"))
                text.write(decoder.decode(b"", final=True).encode("utf-8"))
        except (OSError, EOFError, zlib.error) as exc:
            raise unreadable(path, compressed, exc) from exc
        yield copy


def parquet_batches(path: Path, rows: int) -> Iterator[pl.DataFrame]:
    """A Parquet file's rows, `rows` at a time, every column turned into the text a CSV export would hold."""
    try:
        scan = pl.scan_parquet(path)
        hex_columns = binary_columns_not_utf8(scan)
        batches = scan.collect_batches(chunk_size=rows)
        frame = next(batches, None)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise unreadable_parquet(path, exc) from exc
    while frame is not None:
        text = pl.DataFrame(
            [
                as_text(column, hex_binary=column.name in hex_columns).alias(f"h{i}")
                for i, column in enumerate(frame.iter_columns())
            ]
        )
        yield text.with_columns(extra_fields=pl.lit(0, dtype=pl.Int32))
        try:
            frame = next(batches, None)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise unreadable_parquet(path, exc) from exc


def binary_columns_not_utf8(scan: pl.LazyFrame) -> set[str]:
    """The Binary columns holding bytes that are not UTF-8 anywhere in the file (shown as hex)."""
    binary = [name for name, dtype in scan.collect_schema().items() if isinstance(dtype, pl.Binary)]
    not_utf8: set[str] = set()
    if binary:
        for frame in scan.select(binary).collect_batches():
            for column in frame.iter_columns():
                if column.name not in not_utf8:
                    try:
                        column.cast(pl.String)
                    except pl.exceptions.ComputeError:
                        not_utf8.add(column.name)
    return not_utf8


def as_text(values: pl.Series, *, hex_binary: bool = False) -> pl.Series:
    """A typed Parquet column as the text our parsers read back losslessly.

    Old writers store text as plain bytes: Binary is read as UTF-8, or shown as hex when any
    value in the file's column is not UTF-8 (hex_binary).
    """
    if isinstance(values.dtype, pl.Binary):
        return values.bin.encode("hex") if hex_binary else values.cast(pl.String)
    return values.to_frame("v").select(text_expr(pl.col("v"), values.dtype)).to_series()


def read_csv_header(
    path: Path, *, compressed: bool, delimiter: str = ",", encoding: str = "utf-8"
) -> list[str] | None:
    """The first record's fields; None if the (decompressed) file has no bytes; [] if unreadable."""
    opener = gzip.open if compressed else open
    if encoding == "utf-8":
        encoding = "utf-8-sig"  # a byte-order mark is not part of the first column's name
    try:
        with opener(path, "rb") as raw:
            if not raw.peek(1):
                return None
            text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
            for record in csv.reader(text, delimiter=delimiter):
                if record:
                    return record
            return []
    except csv.Error:
        return []  # not CSV at all: reported as missing columns, with a hint saying so
    except (OSError, EOFError, zlib.error) as exc:
        raise unreadable(path, compressed, exc) from exc


def text_expr(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Text of a typed column; naive timestamps stay without offset, which our parser reads as UTC."""
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return column.dt.to_string("%Y-%m-%dT%H:%M:%S%.f")
        return column.dt.convert_time_zone("UTC").dt.to_string("%Y-%m-%dT%H:%M:%S%.fZ")
    if isinstance(dtype, pl.Date):
        return column.dt.to_string("%Y-%m-%d")
    if isinstance(dtype, pl.Duration):
        return column.dt.to_string("iso")
    if isinstance(dtype, (pl.List, pl.Array, pl.Struct)):
        return pl.when(column.is_not_null()).then(
            pl.struct(column.alias("v")).struct.json_encode().str.slice(5).str.head(-1)
        )
    return column.cast(pl.String)


def unreadable(path: Path, compressed: bool, exc: BaseException) -> InputError:
    """The error for a file whose bytes cannot be decoded at all."""
    if compressed:
        hint = "The gzip data is truncated or corrupt; re-download or re-export the file."
    else:
        hint = "The file cannot be parsed as CSV; check that it is a complete CSV export."
    return InputError(f"cannot read the file ({first_line(exc)}).", file=str(path), hint=hint)


def unreadable_parquet(path: Path, exc: BaseException) -> InputError:
    """The error for a Parquet file that cannot be decoded."""
    return InputError(
        f"cannot read the Parquet file ({first_line(exc)}).",
        file=str(path),
        hint="The file looks truncated or corrupt; re-export or re-download it.",
    )


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, without library noise."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# --- header matching ------------------------------------------------------------------------


def renamed(headers: list[str], mapping: Mapping) -> list[str]:
    """Headers with the pipeline file's renames applied (matched trimmed, case-insensitively)."""
    if not mapping.columns:
        return headers
    return [mapping.columns.get(h.strip().lower(), h) for h in headers]


def with_value_maps(text: pl.DataFrame, mapping: Mapping) -> pl.DataFrame:
    """The pipeline file's own words replaced by canonical ones (matched trimmed, case-insensitively).

    Words not in the map are left as they are, for the schema to accept or quarantine.
    """
    if not mapping.values:
        return text
    return text.with_columns(
        pl.col(column)
        .str.strip_chars()
        .str.to_lowercase()
        .replace_strict(words, default=pl.col(column), return_dtype=pl.String)
        .alias(column)
        for column, words in mapping.values.items()
        if column in text.columns
    )


def match_columns(
    headers: list[str], kind: str, path: Path, warnings: list[str]
) -> tuple[dict[str, int], list[tuple[int, str]]]:
    """Map canonical column names to header positions; return the extra columns with their names."""
    spec = KINDS[kind]
    known = spec.required + spec.optional
    found: dict[str, list[int]] = {}
    for position, header in enumerate(headers):
        found.setdefault(header.strip().lower(), []).append(position)
    for name in known:
        if len(found.get(name, ())) > 1:
            spellings = ", ".join(repr(headers[p]) for p in found[name])
            raise InputError(
                f"column {name!r} appears {len(found[name])} times ({spellings}).",
                file=str(path),
                column=name,
                hint="Keep one of them so it is clear which holds the data.",
            )
    missing = [name for name in spec.required if name not in found]
    if missing:
        raise missing_column_error(path, missing[0], headers, known)
    positions = {name: found[name][0] for name in known if name in found}
    extras = attribute_names(headers, set(positions.values()), path, warnings, kind)
    return positions, extras


def missing_column_error(path: Path, column: str, headers: list[str], known: tuple[str, ...]) -> InputError:
    """InputError naming the missing column and the columns found, with a hint about why."""
    shown = [repr(h.strip()[:40]) for h in headers[:20]] + (["…"] if len(headers) > 20 else [])
    found = ", ".join(shown) if shown else "none"
    if any(not h.isprintable() or "\ufffd" in h for h in headers):
        found = "none readable (the first line holds binary bytes)"
    lowered = {h.strip().lower() for h in headers}
    separator = next(
        (
            sep
            for sep in (";", "\t", "|")
            if any(part.strip().lower() in known for h in headers if sep in h for part in h.split(sep))
        ),
        None,
    )
    if separator is not None:
        hint = f"The header looks separated by {separator!r}, not commas; export it comma-separated."
    elif not lowered & set(known):
        hint = (
            "The file does not look like a CSV with a header row: its first line names none of "
            f"the expected columns ({', '.join(known)})."
        )
    else:
        hint = (
            "Add the column to the export (names are matched case-insensitively, "
            "ignoring surrounding spaces)."
        )
    return InputError(
        f"required column {column!r} is missing; columns found: {found}.",
        file=str(path),
        column=column,
        hint=hint,
    )


def attribute_names(
    headers: list[str], used: set[int], path: Path, warnings: list[str], kind: str
) -> list[tuple[int, str]]:
    """Extra columns as (position, trimmed name); unnamed ones are column_N, repeated names get #2, #3."""
    positions = [p for p in range(len(headers)) if p not in used]
    wanted = [headers[p].strip() or f"column_{p + 1}" for p in positions]
    names = unique_names(wanted)
    if KINDS[kind].keeps_extra_columns:
        for position, name, unique in zip(positions, wanted, names):
            if unique != name:
                warnings.append(
                    f"column {name!r} appears more than once; attributes keep the copy "
                    f"in column {position + 1} as {unique!r}"
                )
    return list(zip(positions, names))


def raw_names(headers: list[str]) -> list[str]:
    """Header names as read, made unique so each can key the raw JSON of a row."""
    return unique_names([h if h.strip() else f"column_{p + 1}" for p, h in enumerate(headers)])


def unique_names(names: list[str]) -> list[str]:
    """The names with later repeats suffixed #2, #3, … (JSON keys and struct fields must be unique)."""
    unique: list[str] = []
    seen: set[str] = set()
    taken = set(names)
    for name in names:
        if name in seen:
            copy = 2
            while f"{name}#{copy}" in taken:
                copy += 1
            name = f"{name}#{copy}"
            taken.add(name)
        seen.add(name)
        unique.append(name)
    return unique


def row_has_no_values(table: RawTable) -> pl.Expr:
    """True for rows with no value in any field: blank lines and lines of bare separators."""
    fields = [pl.col(f"h{i}").is_null() for i in range(len(table.headers))]
    if not fields:
        return pl.lit(False)
    return pl.all_horizontal(fields) & (pl.col("extra_fields") == 0)


def canonical_text(
    table: RawTable,
    positions: dict[str, int],
    extras: list[tuple[int, str]],
    kind: str,
    *,
    first_row: int = 1,
) -> pl.DataFrame:
    """One String column per canonical column (null when the file lacks it), plus row_number.

    Rows are numbered from first_row: the position in the file of the table's first record.
    """
    spec = KINDS[kind]
    columns = [pl.int_range(first_row, pl.len() + first_row, dtype=pl.Int64).alias("row_number")]
    for name in spec.required + spec.optional:
        if name in positions:
            columns.append(pl.col(f"h{positions[name]}").alias(name))
        else:
            columns.append(pl.lit(None, dtype=pl.String).alias(name))
    if spec.keeps_extra_columns:
        columns.append(attributes_json(extras))
    return table.frame.select(columns)


def attributes_json(extras: list[tuple[int, str]]) -> pl.Expr:
    """The extra columns of a contact as a JSON object, in header order; empty cells are ""."""
    if not extras:
        return pl.lit("{}").alias("attributes")
    fields = [pl.col(f"h{position}").fill_null("").alias(name) for position, name in extras]
    return pl.struct(fields).struct.json_encode().alias("attributes")


# --- value parsing -------------------------------------------------------------------------


def present(column: str) -> pl.Expr:
    """The text as read, null where the file had nothing but blanks."""
    return pl.when(pl.col(column).str.contains(r"\S")).then(pl.col(column))


def trimmed(column: str) -> pl.Expr:
    """The text without surrounding whitespace, null where blank."""
    return present(column).str.strip_chars()


def token(text: pl.Expr) -> pl.Expr:
    """A value as a comparable token: trimmed, lower-case, spaces and hyphens as '_'."""
    return text.str.strip_chars().str.to_lowercase().str.replace_all(r"[\s\-]+", "_")


def map_values(values: pl.Series, convert: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """convert applied to distinct values only, when they repeat a lot (statuses, codes, export dates)."""
    if values.len() < 10_000 or values.approx_n_unique() * 4 > values.len():
        return convert(values)
    distinct = values.unique().drop_nulls()
    if distinct.is_empty():
        return convert(values)
    # Each value's position among the distinct values picks its converted value.
    positions = values.cast(pl.Enum(distinct.to_list())).to_physical()
    return convert(distinct).gather(positions).alias(values.name)


def with_expr(transform: Callable[[pl.Expr], pl.Expr]) -> Callable[[pl.Series], pl.Series]:
    """A Series converter from an expression over the values."""
    return lambda values: values.to_frame("v").select(transform(pl.col("v"))).to_series()


def canonical_tokens(values: pl.Series, aliases: dict[str, str], default: str | None) -> pl.Series:
    """Canonical spellings: known aliases mapped, unknown values kept as tokens, blanks to default."""
    mapped = map_values(values, with_expr(lambda v: token(v).replace(aliases)))
    return mapped.fill_null(default) if default is not None else mapped


def evidence_kinds(values: pl.Series) -> pl.Series:
    """Known kinds of consent evidence spelled canonically; others kept lower-cased for the rules to judge."""

    def canonical(v: pl.Expr) -> pl.Expr:
        known = token(v).is_in(list(KNOWN_EVIDENCE))
        return pl.when(known).then(token(v)).otherwise(v.str.strip_chars().str.to_lowercase())

    return map_values(values, with_expr(canonical))


def booleans(values: pl.Series) -> pl.Series:
    """true/false, yes/no, 1/0, y/n, t/f in any case; blank is false; anything else null."""
    parsed = map_values(
        values,
        with_expr(lambda v: token(v).replace_strict(BOOLEAN_WORDS, default=None, return_dtype=pl.Boolean)),
    )
    return parsed.fill_null(False).zip_with(values.is_null() | parsed.is_not_null(), parsed)


def timestamps(values: pl.Series, time_zone: str = "UTC") -> pl.Series:
    """ISO 8601 text as UTC microsecond timestamps; null where blank or not ISO 8601.

    Text without an offset is a wall-clock time in `time_zone` (UTC unless the source says).
    """
    return map_values(values, lambda distinct: parse_iso_8601(distinct, time_zone))


def parse_iso_8601(values: pl.Series, time_zone: str = "UTC") -> pl.Series:
    """DuckDB's timestamp cast (fast on mixed layouts), kept only where the text has ISO 8601's shape."""
    shaped = values.str.contains(ISO_8601_SHAPE).fill_null(False)
    parsed = duckdb_timestamps(values, time_zone)
    # DuckDB wants an upper-case T and Z and no space before the offset; fix the few such rows.
    retry = shaped & parsed.is_null()
    if retry.any():
        fixed = values.filter(retry).str.strip_chars().str.to_uppercase().str.replace(r"\s+([+-])", "$1")
        parsed = parsed.scatter(retry.arg_true(), duckdb_timestamps(fixed, time_zone))
    return parsed.zip_with(shaped, pl.Series([None], dtype=UTC_MICROS)).alias(values.name)


def duckdb_timestamps(values: pl.Series, time_zone: str = "UTC") -> pl.Series:
    """TRY_CAST(text AS TIMESTAMPTZ) in a session of `time_zone`, the zone of text without an offset."""
    connection = _scratch_connection(time_zone)
    relation = connection.from_arrow(values.to_frame("text").to_arrow())
    cast = relation.select("TRY_CAST(text AS TIMESTAMPTZ) AS moment").to_arrow_table()
    return pl.from_arrow(cast).to_series().cast(UTC_MICROS)


_scratch = threading.local()


def _scratch_connection(time_zone: str):
    """This thread's in-memory DuckDB for casts, set to `time_zone`. Kept for the process: opening
    one takes ~40 ms, and a file is read in hundreds of batches with a cast or two each."""
    connection = getattr(_scratch, "connection", None)
    if connection is None:
        connection = _scratch.connection = memory_connection()
        _scratch.time_zone = "UTC"
    if _scratch.time_zone != time_zone:
        # SET takes no parameters; the zone name was checked against the IANA database.
        connection.execute(f"set TimeZone = {sql_literal(time_zone)}")
        _scratch.time_zone = time_zone
    return connection


def first_match(values: pl.Series, pattern: str, dtype: pl.DataType) -> pl.Series:
    """The first capture of pattern in each value, as dtype; null where there is none."""
    return map_values(values, with_expr(lambda v: v.str.extract(pattern, 1).cast(dtype)))


def parse_contacts(text: pl.DataFrame, time_zone: str = "UTC") -> pl.DataFrame:
    """Contacts with typed columns beside the text they came from."""
    raw = text.select(
        "row_number",
        trimmed("contact_id").alias("contact_id"),
        present("email").alias("email_raw"),
        trimmed("list_id").alias("list_id"),
        present("status").alias("status_raw"),
        present("confirmed_at").alias("confirmed_at_raw"),
        present("do_not_contact").alias("do_not_contact_raw"),
        present("exported_at").alias("exported_at_raw"),
        "attributes",
    )
    return raw.with_columns(
        status=canonical_tokens(raw["status_raw"], STATUS_ALIASES, "subscribed"),
        confirmed_at=timestamps(raw["confirmed_at_raw"], time_zone),
        do_not_contact=booleans(raw["do_not_contact_raw"]),
        exported_at=timestamps(raw["exported_at_raw"], time_zone),
    )


def parse_unsubscribes(text: pl.DataFrame, time_zone: str = "UTC") -> pl.DataFrame:
    """Unsubscribe-log events with typed columns beside the text they came from."""
    raw = text.select(
        "row_number",
        present("email").alias("email_raw"),
        present("occurred_at").alias("occurred_at_raw"),
        present("event").alias("event_raw"),
        trimmed("list_id").alias("list_id"),
        present("source").alias("origin_raw"),
        trimmed("evidence").alias("evidence"),
        trimmed("evidence_ref").alias("evidence_ref"),
        trimmed("campaign_id").alias("campaign_id"),
        trimmed("reason").alias("reason"),
    )
    return raw.with_columns(
        occurred_at=timestamps(raw["occurred_at_raw"], time_zone),
        event=canonical_tokens(raw["event_raw"], {}, "unsubscribe"),
        origin=canonical_tokens(raw["origin_raw"], {}, "contact"),
        evidence=evidence_kinds(raw["evidence"]),
    )


def parse_bounces(text: pl.DataFrame, time_zone: str = "UTC") -> pl.DataFrame:
    """Bounce-log events with typed columns beside the text they came from."""
    raw = text.select(
        "row_number",
        present("email").alias("email_raw"),
        present("occurred_at").alias("occurred_at_raw"),
        present("event").alias("event_raw"),
        trimmed("campaign_id").alias("campaign_id"),
        present("bounce_type").alias("bounce_type_raw"),
        present("smtp_code").alias("smtp_code_raw"),
        present("enhanced_code").alias("enhanced_code_raw"),
        trimmed("diagnostic").alias("diagnostic"),
    )
    return raw.with_columns(
        occurred_at=timestamps(raw["occurred_at_raw"], time_zone),
        event=canonical_tokens(raw["event_raw"], BOUNCE_EVENT_ALIASES, "bounce"),
        bounce_type=canonical_tokens(raw["bounce_type_raw"], BOUNCE_TYPE_ALIASES, None),
        smtp_code=first_match(raw["smtp_code_raw"], SMTP_CODE, pl.Int32),
        enhanced_code=first_match(raw["enhanced_code_raw"], ENHANCED_CODE, pl.String),
    )


PARSERS: dict[str, Callable[[pl.DataFrame, str], pl.DataFrame]] = {
    "contacts": parse_contacts,
    "unsubscribes": parse_unsubscribes,
    "bounces": parse_bounces,
}


# --- validation and quarantine -------------------------------------------------------------


def row_problems(kind: str, parsed: pl.DataFrame, path: Path) -> pl.DataFrame:
    """Every schema problem of every bad row (index = row position, column, error, rank)."""
    schema = SCHEMAS[kind]
    failures = find_failures(schema, parsed)
    # A failure without a row (wrong column type, a check that crashed) cannot be quarantined;
    # dropping it would let unchecked rows through, so the whole file is refused instead.
    not_row_level = failures.filter(pl.col("index").is_null())
    if not_row_level.height:
        first = not_row_level.row(0, named=True)
        detail = (first["failure_case"] or "").strip().splitlines()[:1]
        raise InputError(
            f"the {kind} rows fail a check that applies to the whole column: "
            f"{first['check']} ({detail[0] if detail else 'no detail'}).",
            file=str(path),
            column=first["column"],
            hint="This is a bug in reading the file, not in the file; please report it with the file.",
        )
    return describe_failures(schema, parsed, failures)


def ragged_rows(table: RawTable) -> pl.DataFrame:
    """Rows with more fields than the header: their values cannot be trusted to sit in the right columns."""
    width = len(table.headers)
    overflow = pl.col("extra_fields")
    # Past the spare columns the reader drops fields, so the count is a lower bound there.
    at_least = pl.when(overflow >= SPARE_FIELDS).then(pl.lit("at least ")).otherwise(pl.lit(""))
    return (
        table.frame.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("index"),
            pl.lit(None, dtype=pl.String).alias("column"),
            pl.format("row has {}{} fields, header has {}", at_least, overflow + width, pl.lit(width)).alias(
                "error"
            ),
            pl.lit(-1, dtype=pl.Int64).alias("rank"),
            overflow,
        )
        .filter(overflow > 0)
        .drop("extra_fields")
    )


def quarantine_rows(
    problems: pl.DataFrame, parsed: pl.DataFrame, raw_of: Callable[[pl.Series], pl.Series]
) -> pl.DataFrame:
    """One quarantined row per bad input row: its problems joined, its first bad column, its raw text.

    raw_of gives the raw text of the rows at the given positions (computed for bad rows only).
    """
    if problems.is_empty():
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    per_row = problems.group_by("index", maintain_order=True).agg(
        pl.col("column").drop_nulls().first().alias("column"),
        pl.col("error").str.join("; ").alias("error"),
    )
    indexes = per_row.get_column("index")
    raw = raw_of(indexes)
    return pl.DataFrame(
        {
            "row_number": parsed.get_column("row_number").gather(indexes),
            "column": per_row.get_column("column"),
            "error": per_row.get_column("error"),
            "raw": raw,
        },
        schema=QUARANTINE_SCHEMA,
    )


def raw_json(table: RawTable) -> pl.Expr:
    """The row as read, as a JSON object of header name to text; overflowing fields under _extra_fields."""
    names = raw_names(table.headers)
    fields = [pl.col(f"h{i}").fill_null("").alias(name) for i, name in enumerate(names)]
    plain = pl.struct(fields).struct.json_encode() if fields else pl.lit("{}")
    if "x0" not in table.frame.columns:
        return plain.alias("raw")
    overflow_key = unique_names([*names, "_extra_fields"])[-1]
    overflow = (
        pl.concat_list([pl.col(f"x{i}").fill_null("") for i in range(SPARE_FIELDS)])
        .list.head(pl.col("extra_fields"))
        .alias(overflow_key)
    )
    with_overflow = pl.struct([*fields, overflow]).struct.json_encode()
    return pl.when(pl.col("extra_fields") > 0).then(with_overflow).otherwise(plain).alias("raw")


# --- snapshot time -------------------------------------------------------------------------


def snapshot_of(rows: pl.DataFrame, path: Path) -> datetime | None:
    """When the contacts export was taken: its latest exported_at, else a date in its name, else None."""
    latest = rows.get_column("exported_at").max()
    if latest is not None:
        return latest.astimezone(UTC)
    return timestamp_in_name(path.name)


def timestamp_in_name(name: str) -> datetime | None:
    """The first valid ISO date or date-time in a file name (extended or compact form), in UTC."""
    for match in NAME_TIMESTAMP.finditer(name):
        year, month, day, hour, minute, second, offset = match.groups()
        try:
            moment = datetime(
                int(year),
                int(month),
                int(day),
                int(hour or 0),
                int(minute or 0),
                int(second or 0),
                tzinfo=utc_offset(offset),
            )
        except ValueError:
            continue
        return moment.astimezone(UTC)
    return None


def utc_offset(text: str | None) -> timezone:
    """'Z', '+01:00' or '+0100' as a timezone; none means UTC."""
    if not text or text.upper() == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))
