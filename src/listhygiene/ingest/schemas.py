"""Pandera schemas of each input kind's canonical rows, and a plain-words report of their failures."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData
from pandera.config import ValidationDepth, config_context
from pandera.errors import SchemaErrors

from listhygiene.vocabulary import EARLIEST_TIME, LATEST_TIME

UTC_MICROS = pl.Datetime("us", "UTC")

CONTACT_STATUSES = ("subscribed", "unsubscribed", "pending", "cleaned")
UNSUBSCRIBE_EVENTS = ("unsubscribe", "resubscribe", "complaint", "do_not_contact", "do_contact")
UNSUBSCRIBE_ORIGINS = ("contact", "list_unsubscribe", "complaint", "admin", "integration", "import")
# Evidence is not checked here: an unknown kind of evidence is the rules' business
# (they refuse a resubscribe that rests on it), not a broken row.
KNOWN_EVIDENCE = ("signup_form", "confirmed_optin", "written_consent")
BOUNCE_EVENTS = ("bounce", "delivered", "complaint")
BOUNCE_TYPES = ("hard", "soft", "block", "unknown")

# What each check's failure means, in the words a person fixing the file needs.
# {column} is the column as named in the file, {value} the text as read there.
FAILURE_TEXT = {
    "not_nullable": "{column} is empty",
    "iso8601_timestamp": "{column} {value} is not an ISO 8601 timestamp",
    "time_in_range": "{column} {value} is outside the times listhygiene accepts (from 1970 to 2099)",
    "boolean": "{column} {value} is not a boolean (expected true/false, yes/no, 1/0, y/n or t/f)",
    "isin": "unknown {column} {value} (expected one of {allowed})",
    "smtp_code": "{column} {value} holds no SMTP reply code (expected a 3-digit code 2xx-5xx)",
    "enhanced_code": "{column} {value} holds no enhanced status code (expected one like 5.1.1)",
    "in_range": "{column} {value} is not an SMTP reply code (expected 200-599)",
    "sha256_hex": "{column} {value} is not a SHA-256 in hex (expected 64 characters 0-9, a-f)",
    "one_address": "the row holds no address: email and email_sha256 are both empty",
    "not_both": "the row holds both email and email_sha256; give one of them per row",
}
# A hashed address: SHA-256 of the normalized address as lowercase hex (after trim and lower-case).
SHA256_HEX = r"^[0-9a-f]{64}$"
LONGEST_VALUE_SHOWN = 80


def parsed_where_present(raw_column: str, *, name: str) -> pa.Check:
    """A check that the column holds a parsed value wherever the file had text in raw_column."""

    def parsed_or_absent(data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_not_null() | pl.col(raw_column).is_null())

    return pa.Check(parsed_or_absent, name=name)


def time_in_range(*, name: str) -> pa.Check:
    """A check that a parsed time lies in the range every time is held to (vocabulary.EARLIEST_TIME..)."""

    def within_accepted_times(data: PolarsData) -> pl.LazyFrame:
        moment = pl.col(data.key)
        return data.lazyframe.select(moment.is_null() | ((moment >= EARLIEST_TIME) & (moment < LATEST_TIME)))

    return pa.Check(within_accepted_times, name=name)


def one_of(values: tuple[str, ...]) -> pa.Check:
    """A check that the column holds one of the canonical values (nulls are nullability's business)."""
    return pa.Check.isin(list(values))


def text_column(
    *,
    nullable: bool = True,
    checks: list[pa.Check] | None = None,
    raw: str | None = None,
    file_column: str | None = None,
) -> pa.Column:
    """A String column; raw names the column with the text as read, file_column the name for messages."""
    return pa.Column(
        pl.String, nullable=nullable, checks=checks, metadata={"raw": raw, "file_column": file_column}
    )


def timestamp_column(raw: str, *, nullable: bool, file_column: str | None = None) -> pa.Column:
    """A UTC timestamp parsed from the ISO 8601 text kept in raw."""
    return pa.Column(
        UTC_MICROS,
        nullable=nullable,
        checks=[parsed_where_present(raw, name="iso8601_timestamp"), time_in_range(name="time_in_range")],
        metadata={"raw": raw, "file_column": file_column},
    )


def raw_text_column() -> pa.Column:
    """The text of a parsed column as read from the file (null when empty), kept for messages."""
    return pa.Column(pl.String, nullable=True)


CONTACTS = pa.DataFrameSchema(
    {
        "row_number": pa.Column(pl.Int64, nullable=False),
        "contact_id": text_column(nullable=False),
        "email_raw": text_column(nullable=False, file_column="email"),
        "list_id": text_column(),
        "status": text_column(
            nullable=False, checks=[one_of(CONTACT_STATUSES)], raw="status_raw", file_column="status"
        ),
        "status_raw": raw_text_column(),
        "confirmed_at": timestamp_column("confirmed_at_raw", nullable=True),
        "do_not_contact": pa.Column(
            pl.Boolean,
            nullable=False,
            checks=[parsed_where_present("do_not_contact_raw", name="boolean")],
            metadata={"raw": "do_not_contact_raw", "file_column": None},
        ),
        "exported_at": timestamp_column("exported_at_raw", nullable=True),
        "attributes": text_column(nullable=False),
        "confirmed_at_raw": raw_text_column(),
        "do_not_contact_raw": raw_text_column(),
        "exported_at_raw": raw_text_column(),
    },
    name="contacts",
)

UNSUBSCRIBES = pa.DataFrameSchema(
    {
        "row_number": pa.Column(pl.Int64, nullable=False),
        "email_raw": text_column(nullable=False, file_column="email"),
        "occurred_at": timestamp_column("occurred_at_raw", nullable=False),
        "event": text_column(nullable=False, checks=[one_of(UNSUBSCRIBE_EVENTS)], raw="event_raw"),
        "list_id": text_column(),
        # `source` in the file; renamed because `source` names the pipeline's input elsewhere.
        "origin": text_column(
            nullable=False, checks=[one_of(UNSUBSCRIBE_ORIGINS)], raw="origin_raw", file_column="source"
        ),
        "evidence": text_column(),
        "evidence_ref": text_column(),
        "campaign_id": text_column(),
        "reason": text_column(),
        "occurred_at_raw": raw_text_column(),
        "event_raw": raw_text_column(),
        "origin_raw": raw_text_column(),
    },
    name="unsubscribes",
)

BOUNCES = pa.DataFrameSchema(
    {
        "row_number": pa.Column(pl.Int64, nullable=False),
        "email_raw": text_column(nullable=False, file_column="email"),
        "occurred_at": timestamp_column("occurred_at_raw", nullable=False),
        "event": text_column(nullable=False, checks=[one_of(BOUNCE_EVENTS)], raw="event_raw"),
        "campaign_id": text_column(),
        "bounce_type": text_column(checks=[one_of(BOUNCE_TYPES)], raw="bounce_type_raw"),
        "smtp_code": pa.Column(
            pl.Int32,
            nullable=True,
            checks=[parsed_where_present("smtp_code_raw", name="smtp_code"), pa.Check.in_range(200, 599)],
            metadata={"raw": "smtp_code_raw", "file_column": None},
        ),
        "enhanced_code": text_column(
            checks=[parsed_where_present("enhanced_code_raw", name="enhanced_code")], raw="enhanced_code_raw"
        ),
        "diagnostic": text_column(),
        "occurred_at_raw": raw_text_column(),
        "event_raw": raw_text_column(),
        "bounce_type_raw": raw_text_column(),
        "smtp_code_raw": raw_text_column(),
        "enhanced_code_raw": raw_text_column(),
    },
    name="bounces",
)


def sha256_hex(*, name: str) -> pa.Check:
    """A check that a hashed address is 64 lowercase hex characters (nulls are another check's)."""

    def hex_digest(data: PolarsData) -> pl.LazyFrame:
        digest = pl.col(data.key)
        return data.lazyframe.select(digest.is_null() | digest.str.contains(SHA256_HEX))

    return pa.Check(hex_digest, name=name)


def one_address(*, name: str) -> pa.Check:
    """A check that a suppression row names its address in clear or hashed: one of them."""

    def either(data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col("email_raw").is_not_null() | pl.col("email_sha256_raw").is_not_null()
        )

    return pa.Check(either, name=name)


def not_both(*, name: str) -> pa.Check:
    """A check that a suppression row does not name its address both ways (which one is meant?)."""

    def not_both_ways(data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("email_raw").is_null() | pl.col("email_sha256_raw").is_null())

    return pa.Check(not_both_ways, name=name)


SUPPRESSIONS = pa.DataFrameSchema(
    {
        "row_number": pa.Column(pl.Int64, nullable=False),
        # one of email and email_sha256 per row: the checks on email_raw say which is missing
        "email_raw": text_column(
            checks=[one_address(name="one_address"), not_both(name="not_both")], file_column="email"
        ),
        "email_sha256": text_column(checks=[sha256_hex(name="sha256_hex")], raw="email_sha256_raw"),
        "list_id": text_column(),
        "reason": text_column(),
        "occurred_at": timestamp_column("occurred_at_raw", nullable=True),
        "email_sha256_raw": raw_text_column(),
        "occurred_at_raw": raw_text_column(),
    },
    name="suppressions",
)

SCHEMAS = {
    "contacts": CONTACTS,
    "unsubscribes": UNSUBSCRIBES,
    "bounces": BOUNCES,
    "suppressions": SUPPRESSIONS,
}

FAILURE_CASE_COLUMNS = {
    "index": pl.Int64,
    "column": pl.String,
    "check": pl.String,
    "check_number": pl.Int32,
    "failure_case": pl.String,
}


def find_failures(schema: pa.DataFrameSchema, frame: pl.DataFrame) -> pl.DataFrame:
    """Run every check of the schema over the frame and return pandera's failure cases (empty if none).

    Columns: index (row position in frame; null for failures not tied to a row), column, check,
    check_number, failure_case.
    """
    # Data checks must run whatever PANDERA_VALIDATION_* says: quarantine depends on them.
    with config_context(validation_enabled=True, validation_depth=ValidationDepth.SCHEMA_AND_DATA):
        try:
            schema.validate(frame, lazy=True)
        except SchemaErrors as errors:
            return errors.failure_cases.select(
                pl.col(name).cast(dtype) for name, dtype in FAILURE_CASE_COLUMNS.items()
            )
    return pl.DataFrame(schema=FAILURE_CASE_COLUMNS)


def describe_failures(
    schema: pa.DataFrameSchema, frame: pl.DataFrame, failures: pl.DataFrame
) -> pl.DataFrame:
    """Turn row-level failure cases into one message each, naming the file's column and its value.

    Returns index, column (as named in the file), error and rank (schema order of the failing
    column, then check order), one row per failure. A column that fails a specific check
    (say, an unparsable timestamp) is not also reported as empty for the same row.
    """
    failures = failures.filter(pl.col("index").is_not_null())
    described = [
        _describe_failures_of_one_check(schema, frame, column, check, check_number, group)
        for (column, check, check_number), group in failures.group_by(
            ["column", "check", "check_number"], maintain_order=True
        )
    ]
    if not described:
        return pl.DataFrame(
            schema={"index": pl.Int64, "column": pl.String, "error": pl.String, "rank": pl.Int64}
        )
    messages = pl.concat(described)
    specific = messages.filter(~pl.col("is_emptiness")).select("index", "column")
    emptiness = messages.filter(pl.col("is_emptiness")).join(specific, on=["index", "column"], how="anti")
    return (
        pl.concat([messages.filter(~pl.col("is_emptiness")), emptiness])
        .drop("is_emptiness")
        .sort("index", "rank")
    )


def _describe_failures_of_one_check(
    schema: pa.DataFrameSchema,
    frame: pl.DataFrame,
    column: str,
    check: str,
    check_number: int | None,
    group: pl.DataFrame,
) -> pl.DataFrame:
    """Messages for every row that failed one check of one column."""
    spec = schema.columns[column]
    metadata = spec.metadata or {}
    file_column = metadata.get("file_column") or column
    raw_column = metadata.get("raw") or column
    if check_number is None:  # pandera's own checks (not_nullable) carry no number
        check_name, allowed = check, ()
    else:
        check_name = spec.checks[check_number].name
        allowed = tuple(spec.checks[check_number].statistics.get("allowed_values", ()))
    template = FAILURE_TEXT.get(check_name, "{column} {value} fails the check " + str(check_name))
    rows = group.select(pl.col("index").cast(pl.Int64))
    # The text as read when the frame kept it, else the value itself (frames built by hand).
    failing = frame.select(*dict.fromkeys([column, raw_column]))[rows.get_column("index")]
    rows = rows.with_columns(
        value=failing.select(
            pl.coalesce(pl.col(raw_column).cast(pl.String), pl.col(column).cast(pl.String))
        ).to_series()
    )
    column_rank = list(schema.columns).index(column) * 100 + (-1 if check_number is None else check_number)
    return rows.with_columns(
        column=pl.lit(file_column),
        error=_message(template, file_column, allowed, pl.col("value")),
        rank=pl.lit(column_rank, dtype=pl.Int64),
        is_emptiness=pl.lit(check_name == "not_nullable"),
    ).drop("value")


def _message(template: str, file_column: str, allowed: tuple, value: pl.Expr) -> pl.Expr:
    """Fill the template for every failing value; values are quoted and cut to a readable length."""
    text = template.replace("{column}", file_column).replace("{allowed}", ", ".join(map(str, allowed)))
    if "{value}" not in text:
        return pl.lit(text)
    before, after = text.split("{value}", 1)
    shown = (
        pl.when(value.str.len_chars() > LONGEST_VALUE_SHOWN)
        .then(value.str.head(LONGEST_VALUE_SHOWN) + "…")
        .otherwise(value)
    )
    return pl.concat_str([pl.lit(before), pl.lit("'"), shown.fill_null(""), pl.lit("'"), pl.lit(after)])
