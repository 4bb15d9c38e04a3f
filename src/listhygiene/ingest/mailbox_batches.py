"""A bounce mailbox's files read many at a time: one conversion and one validation for thousands of messages."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from listhygiene.config import Source
from listhygiene.ingest.platforms import PlatformRows, dsn, platform_rows
from listhygiene.ingest.platforms.records import RECORDS_SCHEMA

# A Maildir holds one file per message: read one by one, each file cost ~0.1 s of fixed work
# (a validation, an insert and its classification, a catalog row), so 100,000 messages took
# hours. A batch pays that once: at 5,000 files, ~20 microseconds a message (parsing one costs
# ~100), and a batch of typical bounces (2-10 KiB each) stays tens of MiB. The byte bound keeps
# a batch of large messages (returned attachments) or mbox files from growing past ~64 MiB read
# at once (a larger file is a batch of its own). LISTHYGIENE_MAILBOX_BATCH_FILES overrides the
# count (tests set it tiny).
BATCH_FILES = 5_000
BATCH_BYTES = 64 << 20


def batch_files() -> int:
    """Files per batch: LISTHYGIENE_MAILBOX_BATCH_FILES when set, else BATCH_FILES."""
    configured = os.environ.get("LISTHYGIENE_MAILBOX_BATCH_FILES")
    return max(int(configured), 1) if configured else BATCH_FILES


@dataclass
class MessagesRead:
    """A batch's messages read: the rows per kind and the quarantine, each row with its message's
    position in its file (row_number) and the file's index in the batch (file)."""

    rows: PlatformRows  # row numbers counting the batch's messages
    by_kind: dict[str, pl.DataFrame]
    quarantine: pl.DataFrame
    records_file: pl.Series  # the file of each message, by the message's number in the batch - 1


def read_messages(source: Source, paths: list[Path], contents: list[bytes]) -> MessagesRead:
    """Every file's messages (as dsn.records reads them: row_number = position in the file),
    numbered across the batch from 1, converted and validated at once, then given back their
    own numbers. An empty file holds no message."""
    options = dsn.options_of(source)
    texts: list[str] = []
    errors: list[str | None] = []
    positions: list[int] = []
    files: list[int] = []
    for k, (path, data) in enumerate(zip(paths, contents, strict=True)):
        if not data:
            continue
        read = dsn.message_records(path, options, data)
        for position, (text, error) in enumerate(read, start=1):
            texts.append(text)
            errors.append(error)
            positions.append(position)
            files.append(k)
    numbered = pl.DataFrame(
        {"row_number": range(1, len(texts) + 1), "record": texts, "error": errors}, schema=RECORDS_SCHEMA
    )
    at_position = pl.Series("row_number", positions, dtype=pl.Int64)
    of_file = pl.Series("file", files, dtype=pl.Int64)
    rows = platform_rows(dsn, numbered, source, paths[0])

    def placed(frame: pl.DataFrame) -> pl.DataFrame:
        at = frame["row_number"] - 1
        return frame.with_columns(at_position.gather(at), of_file.gather(at))

    return MessagesRead(
        rows=rows,
        by_kind={kind: placed(frame) for kind, frame in rows.by_kind.items()},
        quarantine=placed(rows.quarantine),
        records_file=of_file,
    )


def per_file(files: pl.Series, n: int) -> list[int]:
    """How many of the values are each file's index, for files 0..n-1."""
    counts = [0] * n
    for k, count in files.value_counts().iter_rows():
        counts[k] = count
    return counts
