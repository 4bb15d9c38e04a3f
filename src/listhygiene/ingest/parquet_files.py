"""Parquet files as the text a CSV export would hold, batch by batch.

A typed time column (Datetime, Date) that the reader parses as a time is kept typed: the parser
converts its values directly (parsing.typed_timestamps), and its text is made only for the
rows that need it (a quarantined row's raw text, a message naming the value): `text_of`.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from listhygiene.csv_files import READ_ERRORS, first_line
from listhygiene.errors import InputError


def parquet_batches(path: Path, rows: int, typed: frozenset[int] = frozenset()) -> Iterator[pl.DataFrame]:
    """A Parquet file's rows, `rows` at a time, every column turned into the text a CSV export would hold.

    The columns at the positions in `typed` are kept as they are when they hold times (is_typed_time).
    """
    try:
        scan = pl.scan_parquet(path)
        hex_columns = _binary_columns_not_utf8(scan)
        total = scan.select(pl.len()).collect().item()
    except READ_ERRORS as exc:
        raise unreadable_parquet(path, exc) from exc
    for frame in _slices(path, scan, total, rows):
        text = pl.DataFrame(
            [
                (
                    column
                    if i in typed and is_typed_time(column.dtype)
                    else _as_text(column, hex_binary=column.name in hex_columns)
                ).alias(f"h{i}")
                for i, column in enumerate(frame.iter_columns())
            ]
        )
        yield text.with_columns(extra_fields=pl.lit(0, dtype=pl.Int32))


def _slices(path: Path, scan: pl.LazyFrame, total: int, rows: int) -> Iterator[pl.DataFrame]:
    """The file's rows `rows` at a time, the next slice read (in a thread) while this one is used.

    One slice read ahead, not more: polars' own batches (collect_batches) read ~0.6 GiB ahead of
    a consumer slower than the reader (a 30M-row bounce log: 0.95 GiB against 0.39 GiB). A
    slice reads only the row groups it needs.
    """

    def read(offset: int) -> pl.DataFrame:
        try:
            return scan.slice(offset, rows).collect()
        except READ_ERRORS as exc:
            raise unreadable_parquet(path, exc) from exc

    with ThreadPoolExecutor(max_workers=1) as reader:
        ahead = reader.submit(read, 0) if total else None
        for offset in range(rows, total + rows, rows):
            assert ahead is not None
            frame = ahead.result()
            ahead = reader.submit(read, offset) if offset < total else None
            yield frame


def _binary_columns_not_utf8(scan: pl.LazyFrame) -> set[str]:
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


def is_typed_time(dtype: pl.DataType) -> bool:
    """A column of times the parser converts without their text: Datetime (naive or zoned) or Date."""
    return isinstance(dtype, (pl.Datetime, pl.Date))


def text_of(values: pl.Series) -> pl.Series:
    """A typed column's values as the text a CSV export would hold (as the reader writes them)."""
    return _as_text(values)


def _as_text(values: pl.Series, *, hex_binary: bool = False) -> pl.Series:
    """A typed Parquet column as the text our parsers read back losslessly.

    Old writers store text as plain bytes: Binary is read as UTF-8, or shown as hex when any
    value in the file's column is not UTF-8 (hex_binary).
    """
    if isinstance(values.dtype, pl.Binary):
        return values.bin.encode("hex") if hex_binary else values.cast(pl.String)
    return values.to_frame("v").select(text_expr(pl.col("v"), values.dtype)).to_series().alias(values.name)


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


def unreadable_parquet(path: Path, exc: BaseException) -> InputError:
    """The error for a Parquet file that cannot be decoded."""
    return InputError(
        f"cannot read the Parquet file ({first_line(exc)}).",
        file=str(path),
        hint="The file looks truncated or corrupt; re-export or re-download it.",
    )
