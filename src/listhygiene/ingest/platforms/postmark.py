"""Postmark webhooks (bounces, spam complaints, subscription changes, deliveries) and API dumps as bounce- and unsubscribe-log rows."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from listhygiene.config import Source
from listhygiene.ingest.platforms import run_model
from listhygiene.ingest.platforms.records import json_records

# API dumps: GET /message-streams/{stream}/suppressions/dump answers {"Suppressions": [...]},
# GET /bounces answers {"TotalCount": n, "Bounces": [...]}.
PAGE_KEYS = ("Suppressions", "Bounces")


def records(path: Path, source: Source) -> pl.DataFrame:
    return json_records(path, PAGE_KEYS)


def convert(records: pl.DataFrame, source: Source) -> pl.DataFrame:
    return run_model("postmark", records)
