"""Time each step of reading one input file (the loader's validation, batch by batch), summed over the file.

Run (not collected by pytest):
  .venv/bin/python benchmarks/profile_loading.py FILE KIND
e.g. `.venv/bin/python benchmarks/profile_loading.py benchmarks/data/1m-parquet/bounces_2026-11-20.parquet bounces`

It wraps the steps `ingest/reading.py` runs on each batch (reading the raw text, the canonical
columns, parsing, the undecodable-bytes and ragged-row scans, pandera's checks, the split of
quarantined rows) and the loader's address normalization, and prints the seconds of each. No
store is written: this is the polars side of loading, what DuckDB's reader would replace.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from listhygiene.addresses import normalize_addresses
from listhygiene.ingest import columns, parsing, quarantine, reading

SECONDS: dict[str, float] = defaultdict(float)


def timed(name: str, step: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return step(*args, **kwargs)
        finally:
            SECONDS[name] += time.perf_counter() - started

    return run


def timed_batches(step: Callable[..., Iterator[pl.DataFrame]]) -> Callable[..., Iterator[pl.DataFrame]]:
    def run(*args: Any) -> Iterator[pl.DataFrame]:
        batches = step(*args)
        while True:
            started = time.perf_counter()
            frame = next(batches, None)
            SECONDS["reading the raw text"] += time.perf_counter() - started
            if frame is None:
                return
            yield frame

    return run


def main() -> None:
    path, kind = Path(sys.argv[1]), sys.argv[2]
    reading._raw_batches = timed_batches(reading._raw_batches)
    reading.canonical_text = timed("canonical columns", columns.canonical_text)
    reading.PARSERS = {k: timed("parsing the text columns", v) for k, v in parsing.PARSERS.items()}
    reading.undecodable_rows = timed("undecodable-bytes scan", quarantine.undecodable_rows)
    reading.ragged_rows = timed("ragged-row scan", quarantine.ragged_rows)
    reading.row_problems = timed("pandera's checks", quarantine.row_problems)
    reading.split_bad_rows = timed("splitting quarantined rows", quarantine.split_bad_rows)
    started, rows = time.perf_counter(), 0
    for batch in reading.read_batches(path, source="profile", kind=kind, sha256=""):
        rows += batch.height
        timed("normalizing addresses", normalize_addresses)(batch["email_raw"])
    print(f"{path.name}: {rows:,} rows in {time.perf_counter() - started:.1f} s")
    for name, seconds in sorted(SECONDS.items(), key=lambda item: -item[1]):
        print(f"  {name:28s} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
