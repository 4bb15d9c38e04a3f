"""Text columns into typed canonical values: statuses, booleans, ISO 8601 times, SMTP codes, snapshot time."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import cast

import polars as pl

from listhygiene.errors import InputError
from listhygiene.ingest.parquet_files import is_typed_time, text_of
from listhygiene.ingest.schemas import KNOWN_EVIDENCE, UTC_MICROS
from listhygiene.sql import memory_connection, sql_literal
from listhygiene.vocabulary import EARLIEST_TIME, LATEST_TIME

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


def _present(column: str) -> pl.Expr:
    """The text as read, null where the file had nothing but blanks."""
    return pl.when(pl.col(column).str.contains(r"\S")).then(pl.col(column))


def _trimmed(column: str) -> pl.Expr:
    """The text without surrounding whitespace, null where blank."""
    return _present(column).str.strip_chars()


def _token(text: pl.Expr) -> pl.Expr:
    """A value as a comparable token: trimmed, lower-case, spaces and hyphens as '_'."""
    return text.str.strip_chars().str.to_lowercase().str.replace_all(r"[\s\-]+", "_")


def _map_values(values: pl.Series, convert: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """convert applied to distinct values only, when they repeat a lot (statuses, codes, export dates)."""
    # polars types approx_n_unique as any scalar; on a Series it is a count.
    if values.len() < 10_000 or cast(int, values.approx_n_unique()) * 4 > values.len():
        return convert(values)
    distinct = values.unique().drop_nulls()
    if distinct.is_empty():
        return convert(values)
    # Each value's position among the distinct values picks its converted value.
    positions = values.cast(pl.Enum(distinct.to_list())).to_physical()
    return convert(distinct).gather(positions).alias(values.name)


def _with_expr(transform: Callable[[pl.Expr], pl.Expr]) -> Callable[[pl.Series], pl.Series]:
    """A Series converter from an expression over the values."""
    return lambda values: values.to_frame("v").select(transform(pl.col("v"))).to_series()


def _canonical_tokens(values: pl.Series, aliases: dict[str, str], default: str | None) -> pl.Series:
    """Canonical spellings: known aliases mapped, unknown values kept as tokens, blanks to default."""
    mapped = _map_values(values, _with_expr(lambda v: _token(v).replace(aliases)))
    return mapped.fill_null(default) if default is not None else mapped


def _evidence_kinds(values: pl.Series) -> pl.Series:
    """Known kinds of consent evidence spelled canonically; others kept lower-cased for the rules to judge."""

    def canonical(v: pl.Expr) -> pl.Expr:
        known = _token(v).is_in(list(KNOWN_EVIDENCE))
        return pl.when(known).then(_token(v)).otherwise(v.str.strip_chars().str.to_lowercase())

    return _map_values(values, _with_expr(canonical))


def _booleans(values: pl.Series) -> pl.Series:
    """true/false, yes/no, 1/0, y/n, t/f in any case; blank is false; anything else null."""
    parsed = _map_values(
        values,
        _with_expr(lambda v: _token(v).replace_strict(BOOLEAN_WORDS, default=None, return_dtype=pl.Boolean)),
    )
    return parsed.fill_null(False).zip_with(values.is_null() | parsed.is_not_null(), parsed)


# A parsed time outside the accepted range is kept just outside it, for the schema's range check
# to quarantine with the text as read: year 10000 itself overflows Python's datetime in reports.
_CLIPPED = (EARLIEST_TIME - timedelta(days=1), LATEST_TIME)


def timestamps(values: pl.Series, time_zone: str = "UTC") -> pl.Series:
    """ISO 8601 text as UTC microsecond timestamps; null where blank or not ISO 8601.

    Text without an offset is a wall-clock time in `time_zone` (UTC unless the source says).
    """
    return _map_values(values, lambda distinct: _parse_iso_8601(distinct, time_zone).clip(*_CLIPPED))


def _parse_iso_8601(values: pl.Series, time_zone: str = "UTC") -> pl.Series:
    """DuckDB's timestamp cast (fast on mixed layouts), kept only where the text has ISO 8601's shape."""
    shaped = values.str.contains(ISO_8601_SHAPE).fill_null(False)
    parsed = _duckdb_timestamps(values, time_zone)
    # DuckDB wants an upper-case T and Z and no space before the offset; fix the few such rows.
    retry = shaped & parsed.is_null()
    if retry.any():
        fixed = values.filter(retry).str.strip_chars().str.to_uppercase().str.replace(r"\s+([+-])", "$1")
        parsed = parsed.scatter(retry.arg_true(), _duckdb_timestamps(fixed, time_zone))
    return parsed.zip_with(shaped, pl.Series([None], dtype=UTC_MICROS)).alias(values.name)


def typed_timestamps(values: pl.Series, time_zone: str = "UTC") -> pl.Series:
    """A Parquet file's Datetime or Date values as the UTC microsecond timestamps their text would parse to.

    The text a CSV would hold (parquet_files.text_of) is never made: a zoned value is its moment
    (its text says Z), a naive value or a date a wall-clock time in `time_zone`, cast by DuckDB
    as it casts such text (the same rule in a DST gap or overlap); sub-microsecond digits are cut
    as the text's cast cuts them. A value whose year, as written, is not 0000-9999 does not have
    ISO 8601's shape: null, as timestamps() makes it. Out of range: clipped as timestamps() clips.
    """
    if isinstance(values.dtype, pl.Datetime) and values.dtype.time_zone is not None:
        written = values.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        moments = written.cast(UTC_MICROS)
    else:
        written = (
            values.cast(pl.Datetime("us")) if values.dtype == pl.Date else values.dt.cast_time_unit("us")
        )
        utc = time_zone == "UTC"
        moments = written.dt.replace_time_zone("UTC") if utc else _duckdb_timestamps(written, time_zone)
    shaped = written.dt.year().is_between(0, 9999).fill_null(False)
    null = pl.Series([None], dtype=UTC_MICROS)
    return moments.clip(*_CLIPPED).zip_with(shaped, null).alias(values.name)


def _duckdb_timestamps(values: pl.Series, time_zone: str = "UTC") -> pl.Series:
    """TRY_CAST(value AS TIMESTAMPTZ) in a session of `time_zone`, the zone of text (or a naive
    TIMESTAMP) without an offset."""
    connection = _scratch_connection(time_zone)
    relation = connection.from_arrow(values.to_frame("value").to_arrow())
    moments = relation.select("TRY_CAST(value AS TIMESTAMPTZ) AS moment").to_arrow_table()
    return pl.DataFrame(moments).to_series().cast(UTC_MICROS)


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


def _times(text: pl.DataFrame, column: str, time_zone: str) -> tuple[pl.Series, pl.Series]:
    """A time column's text as read (null where blank) and its UTC timestamps.

    A Parquet file's typed column (is_typed_time) is converted without its text; the text is
    made only where the value is refused (not a time, or outside the accepted times): where a
    message names it. Where a value is accepted, nothing reads its text.
    """
    values = text.get_column(column)
    if not is_typed_time(values.dtype):
        raw = text.select(_present(column)).to_series().alias(f"{column}_raw")
        return raw, timestamps(raw, time_zone)
    moments = typed_timestamps(values, time_zone)
    accepted = moments.is_between(EARLIEST_TIME, LATEST_TIME, closed="left").fill_null(False)
    refused = values.is_not_null() & ~accepted
    raw = pl.repeat(None, values.len(), dtype=pl.String, eager=True).alias(f"{column}_raw")
    if refused.any():
        raw = raw.scatter(refused.arg_true(), text_of(values.filter(refused)))
    return raw, moments


def _first_match(values: pl.Series, pattern: str, dtype: pl.DataType) -> pl.Series:
    """The first capture of pattern in each value, as dtype; null where there is none."""
    return _map_values(values, _with_expr(lambda v: v.str.extract(pattern, 1).cast(dtype)))


def parse_contacts(text: pl.DataFrame, time_zone: str = "UTC") -> pl.DataFrame:
    """Contacts with typed columns beside the text they came from."""
    confirmed_at_raw, confirmed_at = _times(text, "confirmed_at", time_zone)
    exported_at_raw, exported_at = _times(text, "exported_at", time_zone)
    raw = text.select(
        "row_number",
        _trimmed("contact_id").alias("contact_id"),
        _present("email").alias("email_raw"),
        _trimmed("list_id").alias("list_id"),
        _present("status").alias("status_raw"),
        confirmed_at_raw,
        _present("do_not_contact").alias("do_not_contact_raw"),
        exported_at_raw,
        "attributes",
    )
    return raw.with_columns(
        status=_canonical_tokens(raw["status_raw"], STATUS_ALIASES, "subscribed"),
        confirmed_at=confirmed_at,
        do_not_contact=_booleans(raw["do_not_contact_raw"]),
        exported_at=exported_at,
    )


def parse_unsubscribes(text: pl.DataFrame, time_zone: str = "UTC") -> pl.DataFrame:
    """Unsubscribe-log events with typed columns beside the text they came from."""
    occurred_at_raw, occurred_at = _times(text, "occurred_at", time_zone)
    raw = text.select(
        "row_number",
        _present("email").alias("email_raw"),
        occurred_at_raw,
        _present("event").alias("event_raw"),
        _trimmed("list_id").alias("list_id"),
        _present("source").alias("origin_raw"),
        _trimmed("evidence").alias("evidence"),
        _trimmed("evidence_ref").alias("evidence_ref"),
        _trimmed("campaign_id").alias("campaign_id"),
        _trimmed("reason").alias("reason"),
    )
    return raw.with_columns(
        occurred_at=occurred_at,
        event=_canonical_tokens(raw["event_raw"], {}, "unsubscribe"),
        origin=_canonical_tokens(raw["origin_raw"], {}, "contact"),
        evidence=_evidence_kinds(raw["evidence"]),
    )


def parse_bounces(text: pl.DataFrame, time_zone: str = "UTC") -> pl.DataFrame:
    """Bounce-log events with typed columns beside the text they came from."""
    occurred_at_raw, occurred_at = _times(text, "occurred_at", time_zone)
    raw = text.select(
        "row_number",
        _present("email").alias("email_raw"),
        occurred_at_raw,
        _present("event").alias("event_raw"),
        _trimmed("campaign_id").alias("campaign_id"),
        _present("bounce_type").alias("bounce_type_raw"),
        _present("smtp_code").alias("smtp_code_raw"),
        _present("enhanced_code").alias("enhanced_code_raw"),
        _trimmed("diagnostic").alias("diagnostic"),
    )
    return raw.with_columns(
        occurred_at=occurred_at,
        event=_canonical_tokens(raw["event_raw"], BOUNCE_EVENT_ALIASES, "bounce"),
        bounce_type=_canonical_tokens(raw["bounce_type_raw"], BOUNCE_TYPE_ALIASES, None),
        smtp_code=_first_match(raw["smtp_code_raw"], SMTP_CODE, pl.Int32()),
        enhanced_code=_first_match(raw["enhanced_code_raw"], ENHANCED_CODE, pl.String()),
    )


def parse_suppressions(text: pl.DataFrame, time_zone: str = "UTC") -> pl.DataFrame:
    """Rows of a do-not-mail list: the address as read, or its hash trimmed and lower-cased."""
    occurred_at_raw, occurred_at = _times(text, "occurred_at", time_zone)
    raw = text.select(
        "row_number",
        _present("email").alias("email_raw"),
        _present("email_sha256").alias("email_sha256_raw"),
        _trimmed("list_id").alias("list_id"),
        _trimmed("reason").alias("reason"),
        occurred_at_raw,
    )
    return raw.with_columns(
        email_sha256=pl.col("email_sha256_raw").str.strip_chars().str.to_lowercase(),
        occurred_at=occurred_at,
    )


PARSERS: dict[str, Callable[[pl.DataFrame, str], pl.DataFrame]] = {
    "contacts": parse_contacts,
    "unsubscribes": parse_unsubscribes,
    "bounces": parse_bounces,
    "suppressions": parse_suppressions,
}


def snapshot_of(rows: pl.DataFrame, path: Path) -> datetime | None:
    """When the contacts export was taken: its latest exported_at, else a date in its name, else None."""
    latest = rows.get_column("exported_at").max()
    if isinstance(latest, datetime):
        return latest.astimezone(UTC)
    try:
        return timestamp_in_name(path.name)
    except ValueError as exc:
        raise InputError(
            f"{exc}.",
            file=str(path),
            hint="Rename the file with its real date, or give its rows an exported_at.",
        ) from None


def timestamp_in_name(name: str) -> datetime | None:
    """The first valid ISO date or date-time in a file name (extended or compact form), in UTC.

    ValueError if that date lies outside the times accepted (vocabulary.EARLIEST_TIME..LATEST_TIME).
    """
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
                tzinfo=_utc_offset(offset),
            )
        except ValueError:
            continue
        try:
            utc = moment.astimezone(UTC)
        except OverflowError:  # 9999-12-31T23:00-05:00 is past the last day Python can hold in UTC
            utc = None
        if utc is None or not EARLIEST_TIME <= utc < LATEST_TIME:
            raise ValueError(
                f"the file's name dates it {match.group(0)}, outside the times listhygiene accepts "
                f"(from {EARLIEST_TIME.year} to {LATEST_TIME.year - 1})"
            )
        return utc
    return None


def _utc_offset(text: str | None) -> timezone:
    """'Z', '+01:00' or '+0100' as a timezone; none means UTC."""
    if not text or text.upper() == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))
