"""CSV files as text, the one reader of ingest and clean: header, UTF-8, records, fields past the header."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from listhygiene.errors import InputError

# Columns read beyond the header's width: a row that fills any of them has more fields
# than the header, which almost always means an unquoted separator shifted its values.
SPARE_FIELDS = 8
TRANSCODE_CHUNK = 8 << 20
# Bytes read from a file's start to see how its first line is written.
SNIFF_BYTES = 8192


@dataclass
class RawTable:
    """A file's rows as text: h0..hN one column per header field, plus how many fields overflowed."""

    headers: list[str]
    frame: pl.DataFrame  # h{i} String columns, extra_fields Int32, spare x{i} String columns (CSV)


# What a byte that is not valid in the file's encoding becomes when read (U+FFFD): a row holding
# it is quarantined (quarantine.undecodable_rows), never loaded with its bytes changed.
REPLACED_BYTES = "\ufffd"


# What reading a file can raise when the file, not the code, is at fault: a parser's error, a
# failed read, a truncated or corrupt gzip stream, and a panic of polars' Rust reader on bytes it
# does not expect (a BaseException, which no `except Exception` sees).
READ_ERRORS: tuple[type[BaseException], ...] = (
    pl.exceptions.PolarsError,
    pl.exceptions.PanicException,
    OSError,
    EOFError,
    zlib.error,
)


def csv_schema(headers: list[str]) -> dict[str, pl.DataType]:
    """Every field as text: h{i} per header field, then spare x{i} columns for overflowing fields."""
    schema: dict[str, pl.DataType] = {f"h{i}": pl.String() for i in range(len(headers))}
    return schema | {f"x{i}": pl.String() for i in range(SPARE_FIELDS)}


def _csv_options(headers: list[str], delimiter: str) -> dict:
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


def row_has_no_values(table: RawTable) -> pl.Expr:
    """True for rows with no value in any field: blank lines and lines of bare separators."""
    fields = [pl.col(f"h{i}").is_null() for i in range(len(table.headers))]
    if not fields:
        return pl.lit(False)
    return pl.all_horizontal(fields) & (pl.col("extra_fields") == 0)


def csv_batches(
    path: Path, headers: list[str], *, compressed: bool, delimiter: str, encoding: str, rows: int
) -> Iterator[pl.DataFrame]:
    """A CSV's records after the header as text, `rows` at a time, overflowing fields in spare columns.

    polars reads the file ahead in its own threads (gzip included), holding a few batches only.
    """
    with _utf8_source(path, compressed, encoding) as source:
        try:
            batches = pl.scan_csv(source, **_csv_options(headers, delimiter)).collect_batches(chunk_size=rows)
            for frame in _records_after_header(batches):
                yield with_extra_fields(frame)
        except READ_ERRORS as exc:
            raise _unreadable(path, compressed, exc) from exc


def read_csv_table(
    path: Path, headers: list[str], *, compressed: bool, delimiter: str = ",", encoding: str = "utf-8"
) -> RawTable:
    """Read a whole CSV with every value as text, keeping overflowing fields in spare columns."""
    with _utf8_source(path, compressed, encoding) as source:
        try:
            frame = pl.read_csv(source, **_csv_options(headers, delimiter))
        except READ_ERRORS as exc:
            raise _unreadable(path, compressed, exc) from exc
    return RawTable(headers, with_extra_fields(pl.concat([*_records_after_header([frame])], how="vertical")))


def _records_after_header(frames: Iterable[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """The records after the header: blank lines before it are not records either.

    The header is the first record with a value (as read_csv_header finds it); a file whose
    first lines are blank would otherwise have its header read as data row 1 and every row
    number shifted.
    """
    seen_header = False
    for frame in frames:
        if not seen_header:
            header = _first_with_value(frame)
            if header is None:
                yield frame.clear()
                continue
            frame, seen_header = frame.slice(header + 1), True
        yield frame


def _first_with_value(frame: pl.DataFrame, near: int = 64) -> int | None:
    """The position of the frame's first record with a value: sought in its first `near` records,
    then in all (blank lines before a header are few; every field of every record was stripped)."""
    has_value = pl.any_horizontal(pl.all().str.strip_chars().fill_null("") != "")
    for part in (frame.head(near), frame):
        with_value = part.select(has_value.arg_true()).to_series()
        if not with_value.is_empty():
            return int(with_value[0])
        if part.height == frame.height:
            break
    return None


@contextmanager
def _utf8_source(path: Path, compressed: bool, encoding: str) -> Iterator[Path]:
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
            raise _unreadable(path, compressed, exc) from exc
        yield copy


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
                if any(field.strip() for field in record):  # blank lines and bare separators before it
                    return record
            return []
    except csv.Error:
        return []  # not CSV at all: reported as missing columns, with a hint saying so
    except (OSError, EOFError, zlib.error) as exc:
        raise _unreadable(path, compressed, exc) from exc


@dataclass(frozen=True)
class LineStyle:
    """How a CSV's lines are written, for a copy written back the same way."""

    bom: bool  # starts with a UTF-8 byte-order mark
    line_terminator: str  # the first line's ending: "\r\n" or "\n"


def line_style(path: Path, *, compressed: bool) -> LineStyle:
    """The byte-order mark and line ending of the file's first line (decompressed when gzipped)."""
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as raw:
            head = raw.read(SNIFF_BYTES)
    except (OSError, EOFError, zlib.error) as exc:
        raise _unreadable(path, compressed, exc) from exc
    line_end = head.find(b"\n")
    crlf = line_end > 0 and head[line_end - 1 : line_end] == b"\r"
    return LineStyle(bom=head.startswith(codecs.BOM_UTF8), line_terminator="\r\n" if crlf else "\n")


def unique_names(names: list[str]) -> list[str]:
    """The names with later repeats suffixed #2, #3, … (JSON keys, struct fields, Parquet columns)."""
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


def _unreadable(path: Path, compressed: bool, exc: BaseException) -> InputError:
    """The error for a file whose bytes cannot be decoded at all."""
    if compressed:
        hint = "The gzip data is truncated or corrupt; re-download or re-export the file."
    else:
        hint = "The file cannot be parsed as CSV; check that it is a complete CSV export."
    return InputError(f"cannot read the file ({first_line(exc)}).", file=str(path), hint=hint)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, without library noise."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
