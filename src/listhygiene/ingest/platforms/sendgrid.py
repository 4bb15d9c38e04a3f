"""SendGrid Event Webhook events (a posted JSON array, or one event per line) as bounce-log and unsubscribe-log rows."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from listhygiene.config import Source
from listhygiene.ingest.platforms import run_model
from listhygiene.ingest.platforms.records import json_records


def records(path: Path, source: Source) -> pl.DataFrame:
    # a webhook POST body is a bare array of events; a log of them is one event per line
    return json_records(path)


def convert(records: pl.DataFrame, source: Source) -> pl.DataFrame:
    groups = pl.DataFrame(
        {
            "group_id": [str(k).strip() for k in source.groups],
            "list_id": [str(v).strip() for v in source.groups.values()],
        },
        schema={"group_id": pl.String, "list_id": pl.String},
    )
    return run_model("sendgrid", records, tables={"groups": groups})
