"""Amazon SES notifications (bare or in SNS envelopes; notifications or event publishing) as bounce-log rows."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from listhygiene.config import Source
from listhygiene.ingest.platforms import run_model
from listhygiene.ingest.platforms.records import json_records

# S3 / Firehose dumps of SNS often hold {"Records": [...]}; SNS HTTP dumps hold envelopes.
PAGE_KEYS = ("Records", "notifications", "items")


def records(path: Path, source: Source) -> pl.DataFrame:
    return json_records(path, PAGE_KEYS)


def convert(records: pl.DataFrame, source: Source) -> pl.DataFrame:
    return run_model("ses", records)
