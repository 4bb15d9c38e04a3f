"""Mailchimp audience exports (subscribed, unsubscribed, cleaned, nonsubscribed member CSVs) as contact rows and unsubscribe events."""

from __future__ import annotations

import glob
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from listhygiene.config import Source
from listhygiene.csv_files import read_csv_header, read_csv_table, row_has_no_values, unique_names
from listhygiene.errors import InputError
from listhygiene.ingest.columns import missing_column_error
from listhygiene.ingest.parsing import timestamp_in_name
from listhygiene.ingest.platforms import run_model
from listhygiene.ingest.platforms.records import RECORDS_SCHEMA
from listhygiene.ingest.quarantine import ragged_rows, raw_names

# The member files of an unpacked export; the word before `_members_export` is the status.
# The look-behind keeps `unsubscribed` and `nonsubscribed` from reading as `subscribed`.
FILE_STATUS = re.compile(
    r"(?<![a-z])(nonsubscribed|unsubscribed|subscribed|cleaned)_members_export", re.IGNORECASE
)
EXPECTED_NAMES = (
    "subscribed_members_export_<id>.csv, unsubscribed_members_export_<id>.csv, "
    "cleaned_members_export_<id>.csv or nonsubscribed_members_export_<id>.csv "
    "(optionally .csv.gz)"
)

# Keys the reader adds in front of each record's columns (a column of the same name is kept
# as `name#2`): the status the file name gives, and the snapshot time its folder gives.
STATUS_KEY = "_file_status"
EXPORTED_AT_KEY = "_exported_at"
RESERVED_KEYS = (STATUS_KEY, EXPORTED_AT_KEY)
EXTRA_FIELDS_KEY = "_extra_fields"

EMAIL_COLUMN = "Email Address"
# Mailchimp columns the model reads (matched trimmed, case-insensitively; when an export
# repeats a name, the first copy with a value wins).
MEMBER_COLUMNS = {
    "email": EMAIL_COLUMN,
    "leid": "LEID",
    "euid": "EUID",
    "confirm_time": "CONFIRM_TIME",
    "optin_time": "OPTIN_TIME",
    "last_changed": "LAST_CHANGED",
    "unsub_time": "UNSUB_TIME",
    "unsub_campaign_title": "UNSUB_CAMPAIGN_TITLE",
    "unsub_campaign_id": "UNSUB_CAMPAIGN_ID",
    "unsub_reason": "UNSUB_REASON",
    "unsub_reason_other": "UNSUB_REASON_OTHER",
    "clean_time": "CLEAN_TIME",
    "clean_campaign_title": "CLEAN_CAMPAIGN_TITLE",
    "clean_campaign_id": "CLEAN_CAMPAIGN_ID",
}
# Columns that become canonical columns rather than contact attributes: the address, the
# member id, the confirmation time, and the unsubscribe columns (carried by the event).
NOT_ATTRIBUTES = (
    "Email Address",
    "LEID",
    "CONFIRM_TIME",
    "UNSUB_TIME",
    "UNSUB_CAMPAIGN_TITLE",
    "UNSUB_CAMPAIGN_ID",
    "UNSUB_REASON",
    "UNSUB_REASON_OTHER",
)
COPY_SUFFIX = re.compile(r"#\d+$")  # unique_names' mark on a repeated header name


def file_status(path: Path) -> str:
    """subscribed | unsubscribed | cleaned | nonsubscribed, from the file name; else InputError."""
    name = path.name
    match = FILE_STATUS.search(name)
    if match is None or not name.lower().endswith((".csv", ".csv.gz")):
        raise InputError(
            "the file name does not say which members it holds.",
            file=str(path),
            hint=f"A Mailchimp audience export holds {EXPECTED_NAMES}; keep the names the export "
            "gave the files (a date may be added in front), or narrow the source's path.",
        )
    return match.group(1).lower()


def snapshot_at(path: Path, source: Source) -> datetime | None:
    """The export's snapshot time when the file name has none: the date of the nearest dated folder.

    The 3-4 files of one export carry a hash, not a date, and must share one snapshot time,
    so the folder the export was unpacked into names it (`mailchimp/2026-11-21/…`). Only
    folders from the file up to the fixed part of the source's glob count, so a date in the
    install path is not taken for every night's. None: the name has a date (the loader reads
    it) or no folder has one (the loader falls back on the load time).
    """
    try:
        if timestamp_in_name(path.name) is not None:
            return None
        for folder in _export_folders(path, source.path):
            moment = timestamp_in_name(folder.name)
            if moment is not None:
                return moment
    except ValueError as exc:
        raise InputError(
            f"{exc}.", file=str(path), hint="Rename the file or folder with the export's real date."
        ) from None
    return None


def _export_folders(path: Path, pattern: str) -> list[Path]:
    """The folders holding the file, nearest first, up to and including the glob's fixed base."""
    fixed = []
    for part in Path(pattern).parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    base = Path(*fixed).resolve() if fixed else None
    parents = list(path.resolve().parents)
    if base is None or base not in parents:
        return parents[:1]
    return parents[: parents.index(base) + 1]


def records(path: Path, source: Source) -> pl.DataFrame:
    """One record per member row: the row as read (header → text) with the file's status in front."""
    status = file_status(path)
    compressed = path.name.lower().endswith(".gz")
    headers = read_csv_header(path, compressed=compressed)
    if headers is None:  # no bytes once decompressed: no members
        return pl.DataFrame(schema=RECORDS_SCHEMA)
    if not any(h.strip().lower() == EMAIL_COLUMN.lower() for h in headers):
        raise missing_column_error(path, EMAIL_COLUMN, headers, (EMAIL_COLUMN.lower(),))
    table = read_csv_table(path, headers, compressed=compressed)
    moment = snapshot_at(path, source)
    snapshot = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None

    names = unique_names([*RESERVED_KEYS, *raw_names(headers)])[len(RESERVED_KEYS) :]
    fields = [
        pl.lit(status).alias(STATUS_KEY),
        pl.lit(snapshot, dtype=pl.String).alias(EXPORTED_AT_KEY),
        *(pl.col(f"h{i}").fill_null("").alias(name) for i, name in enumerate(names)),
    ]
    overflow_key = unique_names([*RESERVED_KEYS, *names, EXTRA_FIELDS_KEY])[-1]
    overflow = (
        pl.concat_list([pl.col(c) for c in table.frame.columns if c.startswith("x")])
        .list.drop_nulls()
        .list.head(pl.col("extra_fields"))
        .alias(overflow_key)
    )
    record = (
        pl.when(pl.col("extra_fields") > 0)
        .then(pl.struct([*fields, overflow]).struct.json_encode())
        .otherwise(pl.struct(fields).struct.json_encode())
    )

    # A row with more fields than the header cannot be trusted: an unquoted comma shifted it.
    ragged = ragged_rows(table).select(pl.col("index").cast(pl.UInt32), "error")
    frame = (
        table.frame.with_row_index("index")
        .with_columns(
            row_number=pl.col("index").cast(pl.Int64) + 1, record=record, blank=row_has_no_values(table)
        )
        .join(ragged, on="index", how="left", maintain_order="left")
        .filter(~pl.col("blank"))
    )
    return frame.select("row_number", "record", "error").cast(RECORDS_SCHEMA)


def convert(records: pl.DataFrame, source: Source) -> pl.DataFrame:
    """Contact rows (and unsubscribe events) of the valid records, by platforms/mailchimp.sql."""
    # The model reads the decoded columns only; the records themselves need not be parsed again.
    return run_model(
        "mailchimp",
        records.head(0),
        tables={"mailchimp_members": member_columns(records)},
        params={"list_id": source.list_id},
    )


def member_columns(records: pl.DataFrame) -> pl.DataFrame:
    """The columns the model reads, one per Mailchimp column, and the rest as attributes JSON."""
    # Every valid record of a file has the same keys: the file's header.
    keys = list(json.loads(records.get_column("record")[0]))
    decoded = records.select(
        "row_number",
        pl.col("record").str.json_decode(pl.Struct(dict.fromkeys(keys, pl.String))).alias("member"),
    )
    member = pl.col("member")

    def copies(name: str) -> list[str]:
        return [
            k
            for k in keys
            if k not in RESERVED_KEYS and COPY_SUFFIX.sub("", k).strip().lower() == name.lower()
        ]

    def value(name: str) -> pl.Expr:
        found = copies(name)
        if not found:
            return pl.lit(None, dtype=pl.String)
        return pl.coalesce(
            [pl.when(member.struct.field(k).str.contains(r"\S")).then(member.struct.field(k)) for k in found]
        )

    used = {k for name in NOT_ATTRIBUTES for k in copies(name)} | set(RESERVED_KEYS)
    extras = [k for k in keys if k not in used]
    extra_names = unique_names([k.strip() for k in extras])
    attributes = (
        pl.struct(
            [member.struct.field(k).fill_null("").alias(n) for k, n in zip(extras, extra_names)]
        ).struct.json_encode()
        if extras
        else pl.lit("{}")
    )
    return decoded.select(
        "row_number",
        member.struct.field(STATUS_KEY).alias("file_status"),
        member.struct.field(EXPORTED_AT_KEY).alias("exported_at"),
        *(value(name).alias(column) for column, name in MEMBER_COLUMNS.items()),
        attributes.alias("attributes"),
    )
