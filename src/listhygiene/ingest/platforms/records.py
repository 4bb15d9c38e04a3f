"""A platform file's records: JSON documents (array, page, object) and JSON lines, numbered from 1."""

from __future__ import annotations

import gzip
import tempfile
import zlib
from pathlib import Path

import duckdb
import polars as pl

from listhygiene.errors import InputError
from listhygiene.sql import memory_connection

JSON_SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
LINES_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
# One record may be large (a Mailgun page of 300 events with their headers); a document can
# be one page of a million records, read as a single value before it is split.
LARGEST_DOCUMENT = (1 << 31) - 1

RECORDS_SCHEMA = pl.Schema({"row_number": pl.Int64, "record": pl.String, "error": pl.String})


def json_suffix(path: Path) -> str | None:
    name = path.name.lower()
    return next((s for s in sorted(JSON_SUFFIXES, key=len, reverse=True) if name.endswith(s)), None)


def json_records(path: Path, page_keys: tuple[str, ...] = ()) -> pl.DataFrame:
    """Every record of a JSON file: row_number, record (JSON text), error (why it is not a record).

    `.jsonl` / `.ndjson`: one object per line; row_number is the line number, blank lines are
    skipped, a line that is not JSON is kept with an error (the rest of the file still loads).
    `.json`: an array of objects, one object, several objects one after another, or a page:
    an object holding the records in an array under one of `page_keys` (Mailgun's `items`).
    row_number counts records from 1. A document that is not JSON cannot be split into
    records, so it stops the run with the position of the fault.
    """
    suffix = json_suffix(path)
    if suffix is None:
        raise InputError("not a JSON file; expected .json or .jsonl (optionally .gz).", file=str(path))
    if suffix in LINES_SUFFIXES:
        return _lines(path, suffix.endswith(".gz"))
    return _document(path, page_keys)


def _text(path: Path, compressed: bool) -> str:
    """The file as text; bytes that are not UTF-8 become U+FFFD (the record is kept, not lost)."""
    try:
        data = gzip.decompress(path.read_bytes()) if compressed else path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(
            f"cannot read the file ({exc}).",
            file=str(path),
            hint="The gzip data is truncated or corrupt; re-download the file.",
        ) from None
    return data.decode("utf-8-sig", errors="replace")


def _lines(path: Path, compressed: bool) -> pl.DataFrame:
    lines = pl.Series("record", _text(path, compressed).split("\n"), dtype=pl.String)
    frame = (
        lines.to_frame()
        .with_row_index("row_number", offset=1)
        .with_columns(pl.col("row_number").cast(pl.Int64), pl.col("record").str.strip_chars())
        .filter(pl.col("record") != "")
    )
    with memory_connection() as con:
        con.register("lines", frame.to_arrow())
        checked = con.sql("""
            select row_number, record,
                   case when not json_valid(record) then 'line is not valid JSON'
                        when json_type(record::json) <> 'OBJECT' then 'line is JSON but not an object'
                   end as error
            from lines order by row_number""").pl()
    return checked.cast(RECORDS_SCHEMA)


def _document(path: Path, page_keys: tuple[str, ...]) -> pl.DataFrame:
    with memory_connection() as con:
        try:
            values = _read_objects(con, path)
        except duckdb.InvalidInputException as exc:
            if "UTF-8" not in str(exc):
                raise _malformed(path, exc) from None
            # Bad bytes inside strings: read the text with replacement characters instead.
            with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8") as copy:
                copy.write(_text(path, path.name.lower().endswith(".gz")))
                copy.flush()
                try:
                    values = _read_objects(con, Path(copy.name))
                except duckdb.InvalidInputException as again:
                    raise _malformed(path, again) from None
        con.register("document_values", values.to_arrow())
        records = con.sql(
            """
            with values_ as (
                select value::json as value, nth from document_values
            ),
            -- a page: the records sit in an array under a known key
            paged as (
                select nth, list_filter($page_keys::varchar[], lambda k: json_type(value, '$.' || k) = 'ARRAY') as keys, value
                from values_
            ),
            arrays as (
                select nth,
                       case when json_type(value) = 'ARRAY' then value
                            when len(keys) > 0 then json_extract(value, '$.' || keys[1])
                            else json_array(value)
                       end as items
                from paged
            ),
            items as (
                select nth, unnest(json_extract(items, '$[*]')) as record,
                       unnest(range(json_array_length(items)::bigint)) as position
                from arrays
            )
            select row_number() over (order by nth, position) as row_number,
                   record::varchar as record,
                   case when json_type(record) <> 'OBJECT' then 'record is JSON but not an object' end as error
            from items
            order by row_number""",
            params={"page_keys": list(page_keys)},
        ).pl()
    return records.cast(RECORDS_SCHEMA)


def _read_objects(con: duckdb.DuckDBPyConnection, path: Path) -> pl.DataFrame:
    return con.sql(
        "select json::varchar as value, row_number() over () as nth "
        "from read_json_objects(?, format = 'auto', maximum_object_size = ?)",
        params=[str(path), LARGEST_DOCUMENT],
    ).pl()


def _malformed(path: Path, exc: Exception) -> InputError:
    detail = str(exc).splitlines()[0].replace("Invalid Input Error: ", "")
    detail = detail.replace(f'in file "{path}", ', "")
    return InputError(
        f"not valid JSON: {detail}",
        file=str(path),
        hint="A JSON document must be complete to be split into records; re-download "
        "or re-export it. Files with one object per line should be named .jsonl.",
    )
