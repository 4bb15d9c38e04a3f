"""Readers of the sending platforms' own files, turning each record into canonical rows.

Each format is a module here (`ses.py`, `sendgrid.py`, …) with a SQL model beside it
(`ses.sql`, …) that reads the table `records` (row_number, record JSON) and returns platform
rows: `row_number`, `kind` (contacts | unsubscribes | bounces), canonical columns as text,
`event_ref` (the platform's id of the event, by which resent events are counted once),
`platform` (a JSON object of the platform's own fields kept for lineage) and `error` (set
when the record is malformed: it is quarantined whole). A record may yield several rows (one
per recipient) or none (opens, clicks: counted as ignored). The rows then go through the
same parsing and pandera schemas as canonical files. `dsn.py` (a bounce mailbox: `.eml`,
mbox, Maildir) has no model: the standard library's email package reads each message into a
JSON record and polars turns the records into the same platform rows.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

import polars as pl

from listhygiene.config import Source
from listhygiene.errors import InputError
from listhygiene.ingest.parsing import PARSERS, snapshot_of
from listhygiene.ingest.quarantine import IDENTITY_COLUMNS, QUARANTINE_SCHEMA, row_problems, split_bad_rows
from listhygiene.ingest.reading import ReadResult, file_sha256, read_batches
from listhygiene.sql import memory_connection
from listhygiene.vocabulary import KINDS

__all__ = [
    "PlatformFormat",
    "PlatformRows",
    "format_module",
    "platform_rows",
    "read_platform",
    "read_source_batches",
    "run_model",
]

# Columns a format's SQL may return; missing ones are null.
LINEAGE_COLUMNS = ("event_ref", "platform")
TEXT_COLUMNS = tuple(
    dict.fromkeys(name for spec in KINDS.values() for name in spec.required + spec.optional + ("attributes",))
)
ROW_COLUMNS = ("row_number", "kind", "error", "error_column", *LINEAGE_COLUMNS, *TEXT_COLUMNS)


class PlatformFormat(Protocol):
    """What a format module provides."""

    def records(self, path: Path, source: Source) -> pl.DataFrame:
        """row_number, record (text), error: the file's records, before conversion."""

    def convert(self, records: pl.DataFrame, source: Source) -> pl.DataFrame:
        """Platform rows (ROW_COLUMNS, any subset) from the valid records."""


def format_module(name: str) -> PlatformFormat:
    return importlib.import_module(f"{__name__}.{name}")


def model_sql(name: str) -> str:
    """The SQL of one format's model (platforms/<name>.sql)."""
    return resources.files(__name__).joinpath(f"{name}.sql").read_text("utf-8")


def run_model(
    name: str,
    records: pl.DataFrame,
    *,
    tables: dict[str, pl.DataFrame] | None = None,
    params: dict | None = None,
) -> pl.DataFrame:
    """Run platforms/<name>.sql over `records` (record as JSON) and any extra tables, in DuckDB."""
    with memory_connection() as con:
        con.register("records_text", records.select("row_number", "record").to_arrow())
        con.execute(
            "create temp table records as select row_number, record::json as record from records_text"
        )
        for table_name, frame in (tables or {}).items():
            con.register(table_name, frame.to_arrow())
        return con.sql(model_sql(name), params=params or None).pl()


def read_source_batches(
    path: Path, source: Source, *, sha256: str = ""
) -> tuple[Iterator[tuple[str, pl.DataFrame]], Callable[[], ReadResult]]:
    """One file of a source as (kind, rows) batches, and what the whole file held once they are read.

    Canonical and mapped files are read ingest.batch_rows() rows at a time, so memory does not
    grow with the file; a platform's own files (JSON, webhook exports) are read whole.
    """
    if source.is_platform:
        result = read_platform(path, source, sha256=sha256 or None)
        return iter(result.rows_by_kind.items()), lambda: result
    kind = source.file_kind  # a canonical or mapped source names its kind
    batches = read_batches(path, source=source.name, kind=kind, sha256=sha256, mapping=source.mapping)
    return ((kind, rows) for rows in batches), lambda: batches.result


def read_platform(path: Path, source: Source, *, sha256: str | None = None) -> ReadResult:
    """Read one file of a platform format into canonical rows per kind and quarantined rows."""
    if source.format is None:
        raise ValueError(f"source {source.name!r} is not of a platform format; read it with read_batches")
    fmt = format_module(source.format)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError("file not found.", file=str(path)) from None
    records = (
        fmt.records(path, source)
        if size
        else pl.DataFrame(schema={"row_number": pl.Int64, "record": pl.String, "error": pl.String})
    )
    rows = platform_rows(fmt, records, source, path)
    by_kind = dict(rows.by_kind)
    primary = by_kind.pop(source.file_kind)
    result = ReadResult(
        path=path,
        source=source.name,
        kind=source.file_kind,
        sha256=sha256 or file_sha256(path),
        size=size,
        rows_read=primary.height + sum(f.height for f in by_kind.values()) + rows.quarantine.height,
        rows=primary,
        quarantine=rows.quarantine,
        other_rows=by_kind,
        snapshot_at=_snapshot_time(fmt, primary, path, source) if source.file_kind == "contacts" else None,
        records_read=records.height,
        records_ignored=records.height - rows.used.len(),
        warnings=[] if size else ["zero-byte file holds no records"],
    )
    return result


@dataclass
class PlatformRows:
    """What records became: good rows per kind (the source's own kind always present), the
    quarantined rows (sorted by row_number), and the row numbers of the records that gave a row
    or were quarantined (the others said nothing about hygiene)."""

    by_kind: dict[str, pl.DataFrame]
    quarantine: pl.DataFrame
    used: pl.Series


def platform_rows(fmt: PlatformFormat, records: pl.DataFrame, source: Source, path: Path) -> PlatformRows:
    """Convert, parse and validate records (row_number, record, error), each row keeping the
    row_number of its record. The records may be one file's or many files' with a working
    number (a mailbox's messages, store.mailbox): one conversion and one validation for all.
    `path` names the file in an error that refuses the whole read."""
    valid = records.filter(pl.col("error").is_null())
    rows = _complete(fmt.convert(valid, source) if valid.height else pl.DataFrame())

    def raw_of(numbers: pl.Series) -> pl.Series:
        """The whole record each of these rows came from (for quarantine: only bad rows ask)."""
        return (
            numbers.alias("row_number")
            .to_frame()
            .join(records.select("row_number", "record"), on="row_number", how="left", maintain_order="left")
            .get_column("record")
            .alias("raw")
        )

    bad_records = pl.concat(
        [
            records.filter(pl.col("error").is_not_null()).select(
                "row_number", pl.lit(None, dtype=pl.String).alias("column"), "error"
            ),
            rows.filter(pl.col("error").is_not_null()).select(
                "row_number", pl.col("error_column").alias("column"), "error"
            ),
        ]
    )
    quarantine = [
        bad_records.with_columns(raw=raw_of(bad_records["row_number"]))
        .with_columns(pl.lit(None, dtype=pl.String).alias(name) for name in IDENTITY_COLUMNS)
        .select(list(QUARANTINE_SCHEMA))
        .cast(QUARANTINE_SCHEMA)
    ]
    rows = rows.filter(pl.col("error").is_null())

    by_kind: dict[str, pl.DataFrame] = {}
    for kind in KINDS:
        text = rows.filter(pl.col("kind") == kind)
        if not text.height and kind != source.file_kind:
            continue
        # events keep the platform's id and fields; a contact row's lineage is its file and row
        lineage = LINEAGE_COLUMNS if kind != "contacts" else ()
        parsed = PARSERS[kind](text, source.mapping.time_zone).with_columns(text.select(lineage))
        problems = row_problems(kind, parsed, path)

        def raw_of_rows(indexes: pl.Series, numbers: pl.Series = parsed["row_number"]) -> pl.Series:
            return raw_of(numbers.gather(indexes))

        good, bad = split_bad_rows(kind, parsed, problems, raw_of_rows, keep=lineage)
        by_kind[kind] = good
        quarantine.append(bad)
    used = pl.concat(
        [rows.filter(pl.col("kind").is_not_null())["row_number"], bad_records["row_number"]]
    ).unique()
    return PlatformRows(by_kind, pl.concat(quarantine).sort("row_number", maintain_order=True), used)


def _snapshot_time(fmt, rows: pl.DataFrame, path: Path, source: Source):
    """The snapshot a contacts file belongs to: its rows or name say, else the format may
    (a Mailchimp file with no rows still belongs to the export in its dated folder)."""
    found = snapshot_of(rows, path)
    if found is None and hasattr(fmt, "snapshot_at"):
        found = fmt.snapshot_at(path, source)
    return found


def _complete(rows: pl.DataFrame) -> pl.DataFrame:
    """All ROW_COLUMNS, as text (row_number as Int64), whatever subset the model returned."""
    if not rows.width:  # no valid record: selecting literals from no columns would make one row
        rows = pl.DataFrame(schema={"row_number": pl.Int64})
    return rows.select(
        (pl.col(name) if name in rows.columns else pl.lit(None))
        .cast(pl.Int64 if name == "row_number" else pl.String)
        .alias(name)
        for name in ROW_COLUMNS
    )
