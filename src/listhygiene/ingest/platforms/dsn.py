"""A bounce mailbox (`.eml`, mbox, Maildir) as bounce-log rows: one row per failed recipient, complaints from abuse reports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl

from listhygiene.config import Source
from listhygiene.errors import ConfigError, InputError
from listhygiene.ingest.dsn import NotABounce, Options, is_maildir_tmp, raw_text, read_message, split_messages
from listhygiene.ingest.platforms.records import RECORDS_SCHEMA

# The JSON of one message's report, as convert() decodes it in one pass over all records
_RECIPIENT = pl.Struct(
    {
        "email": pl.String,
        "action": pl.String,
        "status": pl.String,
        "smtp_code": pl.String,
        "diagnostic": pl.String,
        "remote_mta": pl.String,
        "occurred_at": pl.String,
    }
)
_REPORT = pl.Struct(
    {
        "type": pl.String,
        "message_id": pl.String,
        "date": pl.String,
        "campaign_id": pl.String,
        "reporting_mta": pl.String,
        "feedback_type": pl.String,
        "recipients": pl.List(_RECIPIENT),
    }
)
# What each recipient's action becomes: a failure is a bounce, an abuse report a complaint, a
# success DSN a delivery; `delayed` (still being retried), `relayed` and `expanded` say nothing
# final about the address and yield no row.
_EVENTS = {"failed": "bounce", "complaint": "complaint", "delivered": "delivered"}


def options_of(source: Source) -> Options:
    verp = None
    if source.campaign_verp:
        try:
            verp = re.compile(source.campaign_verp)
        except re.error as exc:
            raise ConfigError(
                f"source {source.name!r}: campaign_verp is not a valid regular expression: {exc}."
            ) from None
        if not verp.groups:
            raise ConfigError(
                f"source {source.name!r}: campaign_verp needs a group (…) around the campaign id."
            )
    return Options(campaign_header=source.campaign_header, campaign_verp=verp)


def records(path: Path, source: Source) -> pl.DataFrame:
    """One record per message (its position in the file from 1): the report as JSON, or the
    start of the message and why it is not a bounce, a feedback report or an auto-reply."""
    read = message_records(path, options_of(source))
    return pl.DataFrame(
        {
            "row_number": range(1, len(read) + 1),
            "record": [r for r, _ in read],
            "error": [e for _, e in read],
        },
        schema=RECORDS_SCHEMA,
    )


def message_records(path: Path, options: Options, data: bytes | None = None) -> list[tuple[str, str | None]]:
    """Each message of the file in order, as records() makes it: (the report as JSON, None) or
    (the message's start, why it is not read); nothing for a file in a Maildir's tmp/. For a
    caller reading many files (store.mailbox): plain lists, no frame per file, and the file's
    bytes if it has them already."""
    if is_maildir_tmp(path):
        return []
    if data is None:
        data = read_file(path)
    read: list[tuple[str, str | None]] = []
    for message in split_messages(data):
        try:
            read.append((json.dumps(read_message(message, options)), None))
        except NotABounce as exc:
            read.append((raw_text(message), str(exc)))
    return read


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror}).", file=str(path)) from None


def convert(records: pl.DataFrame, source: Source) -> pl.DataFrame:
    """Platform rows from the reports, all at once: one per recipient whose action is final."""
    reports = records.select("row_number", pl.col("record").str.json_decode(_REPORT).alias("r")).unnest("r")
    rows = (
        reports.with_row_index("message")
        .explode("recipients")
        .filter(pl.col("recipients").is_not_null())
        .with_columns(pl.col("recipients").struct.unnest())
        .filter(pl.col("action").is_in(list(_EVENTS)))
        .with_columns(recipient=pl.int_range(pl.len()).over("message"))
    )
    return rows.select(
        "row_number",
        pl.lit("bounces").alias("kind"),
        pl.col("email"),
        pl.coalesce("occurred_at", "date").alias("occurred_at"),
        pl.col("action").replace_strict(_EVENTS).alias("event"),
        "campaign_id",
        "smtp_code",
        pl.col("status").alias("enhanced_code"),
        "diagnostic",
        pl.concat_str("message_id", pl.lit("#"), pl.col("recipient").cast(pl.String)).alias("event_ref"),
        pl.struct(
            pl.lit("dsn").alias("platform"),
            pl.col("type").alias("message_type"),
            "message_id",
            "reporting_mta",
            "remote_mta",
            "action",
            "feedback_type",
        )
        .struct.json_encode()
        .alias("platform"),
    )
