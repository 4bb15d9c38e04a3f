"""Mailgun events (Events API pages, or webhook bodies one per line or as an array) as bounce-log and unsubscribe-log rows."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from listhygiene.config import Source
from listhygiene.ingest.platforms import run_model
from listhygiene.ingest.platforms.records import json_records

# An Events API page holds its events under `items` beside `paging`.
PAGE_KEYS = ("items",)


def records(path: Path, source: Source) -> pl.DataFrame:
    return json_records(path, PAGE_KEYS)


def convert(records: pl.DataFrame, source: Source) -> pl.DataFrame:
    return run_model("mailgun", records)
