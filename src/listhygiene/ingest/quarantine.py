"""Rows set aside: what is wrong with each bad row, and the row as it was read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from listhygiene.csv_files import REPLACED_BYTES, SPARE_FIELDS, RawTable, unique_names
from listhygiene.errors import InputError
from listhygiene.ingest.columns import ENCODING_HINT
from listhygiene.ingest.parquet_files import text_expr
from listhygiene.ingest.schemas import SCHEMAS, describe_failures, find_failures
from listhygiene.vocabulary import KINDS

# A quarantined row keeps, as read, what identifies its record where the row had it: the
# contact id, list and address of a contacts row (so a quarantined row of tonight's export is
# never taken for an absence: rules model held_records), the address of an event (for explain).
IDENTITY_COLUMNS = ("contact_id", "list_id", "email_raw")
QUARANTINE_SCHEMA = pl.Schema(
    {
        "row_number": pl.Int64,
        "column": pl.String,
        "error": pl.String,
        "raw": pl.String,
        **dict.fromkeys(IDENTITY_COLUMNS, pl.String),
    }
)


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
    return rows, _quarantine_rows(problems, parsed, raw_of)


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
    # the few ragged rows first, then their message: no text is made for the other rows
    ragged = table.frame.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("index"), overflow).filter(
        overflow > 0
    )
    return ragged.select(
        "index",
        pl.lit(None, dtype=pl.String).alias("column"),
        pl.format("row has {}{} fields, header has {}", at_least, overflow + width, pl.lit(width)).alias(
            "error"
        ),
        pl.lit(-1, dtype=pl.Int64).alias("rank"),
    )


def undecodable_rows(table: RawTable) -> pl.DataFrame:
    """Rows with bytes the file's encoding could not decode: their values would change silently.

    The reader replaces such bytes with U+FFFD so the rest of the file reads; the row is set
    aside naming its first damaged column, and the run's quarantine limit decides the file.
    """
    fields = [f"h{i}" for i in range(len(table.headers))] + [
        c for c in table.frame.columns if c.startswith("x") and c[1:].isdigit()
    ]
    names = [
        *raw_names(table.headers),
        *(f"field {len(table.headers) + i + 1}" for i in range(len(fields) - len(table.headers))),
    ]
    # a Parquet file's typed times (not text) hold no replaced bytes
    text_columns = [(c, name) for c, name in zip(fields, names) if table.frame.schema[c] == pl.String]
    if not text_columns:
        return pl.DataFrame(
            schema={"index": pl.Int64, "column": pl.String, "error": pl.String, "rank": pl.Int64}
        )
    first_damaged = pl.coalesce(
        pl.when(pl.col(c).str.contains(REPLACED_BYTES, literal=True).fill_null(False)).then(pl.lit(name))
        for c, name in text_columns
    )
    return table.frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("index"),
        first_damaged.alias("column"),
        pl.format(
            "bytes that are not valid in the file's encoding (in column {}) were replaced; {}",
            first_damaged,
            pl.lit(ENCODING_HINT),
        ).alias("error"),
        pl.lit(-2, dtype=pl.Int64).alias("rank"),
    ).filter(pl.col("column").is_not_null())


def _quarantine_rows(
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
    identity = {
        name: parsed.get_column(name).gather(indexes) if name in parsed.columns else None
        for name in IDENTITY_COLUMNS
    }
    return pl.DataFrame(
        {
            "row_number": parsed.get_column("row_number").gather(indexes),
            "column": per_row.get_column("column"),
            "error": per_row.get_column("error"),
            "raw": raw,
            **identity,
        },
        schema=QUARANTINE_SCHEMA,
    )


def raw_json(table: RawTable) -> pl.Expr:
    """The row as read, as a JSON object of header name to text; overflowing fields under _extra_fields."""
    names = raw_names(table.headers)
    fields = [
        _text(table.frame.schema[f"h{i}"], f"h{i}").fill_null("").alias(name) for i, name in enumerate(names)
    ]
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


def _text(dtype: pl.DataType, column: str) -> pl.Expr:
    """A field as text: a Parquet file's typed time as the text a CSV export would hold."""
    return pl.col(column) if dtype == pl.String else text_expr(pl.col(column), dtype)


def raw_names(headers: list[str]) -> list[str]:
    """Header names as read, made unique so each can key the raw JSON of a row."""
    return unique_names([h if h.strip() else f"column_{p + 1}" for p, h in enumerate(headers)])
