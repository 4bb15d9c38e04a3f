"""Time read_input on a generated 5M-row bounce log and 1M-row contacts export (not collected by pytest).

Run: .venv/bin/python benchmarks/bench_ingest.py [WORKDIR] [BOUNCE_ROWS] [CONTACT_ROWS]
(the files are generated into WORKDIR once and reused).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from listhygiene.ingest import read_input


def bounce_log(rows: int) -> pl.DataFrame:
    """A bounce log mixing timestamp layouts, event spellings and codes, with one bad row in a thousand."""
    i = pl.int_range(rows, dtype=pl.Int64)
    seconds = (i * 7) % (30 * 86_400)
    stamp = pl.lit(1_780_000_000_000_000, dtype=pl.Int64) + seconds * 1_000_000
    moment = stamp.cast(pl.Datetime("us", "UTC"))
    return pl.select(
        email=pl.format("user{}@example{}.com", i, i % 97),
        occurred_at=pl.when(i % 1000 == 999).then(pl.lit("yesterday"))
        .when(i % 3 == 0).then(moment.dt.to_string("%Y-%m-%dT%H:%M:%SZ"))
        .when(i % 3 == 1).then(moment.dt.to_string("%Y-%m-%d %H:%M:%S"))
        .otherwise(moment.dt.to_string("%Y-%m-%dT%H:%M:%S%.3f+00:00")),
        event=pl.when(i % 10 == 0).then(pl.lit("Delivered")).otherwise(pl.lit("bounce")),
        campaign_id=pl.format("c{}", i % 500),
        bounce_type=pl.when(i % 4 == 0).then(pl.lit("Permanent")).otherwise(pl.lit("soft")),
        smtp_code=pl.when(i % 4 == 0).then(pl.lit("550")).otherwise(pl.lit("421")),
        enhanced_code=pl.when(i % 4 == 0).then(pl.lit("5.1.1")).otherwise(pl.lit("4.7.0")),
        diagnostic=pl.format("smtp; {} mailbox unavailable", i % 1000),
    )


def contacts_export(rows: int) -> pl.DataFrame:
    """A contacts export with attributes and one bad row in a thousand."""
    i = pl.int_range(rows, dtype=pl.Int64)
    return pl.select(
        contact_id=pl.format("C{}", i),
        email=pl.format("user{}@example.com", i),
        list_id=pl.format("L{}", i % 5),
        status=pl.when(i % 1000 == 999).then(pl.lit("zombie"))
        .when(i % 7 == 0).then(pl.lit("Opted Out")).otherwise(pl.lit("active")),
        confirmed_at=pl.lit("2025-03-04T05:06:07Z"),
        do_not_contact=pl.when(i % 11 == 0).then(pl.lit("yes")).otherwise(pl.lit("0")),
        exported_at=pl.lit("2026-11-21T03:00:00Z"),
        first_name=pl.format("Name{}", i),
        country=pl.lit("FR"),
    )


def timed(path: Path, kind: str) -> None:
    """Read the file once and print the time and counts."""
    start = time.perf_counter()
    result = read_input(path, source="bench", kind=kind)
    elapsed = time.perf_counter() - start
    print(f"{kind}: {path.stat().st_size / 1e6:.0f} MB, {result.rows_read} rows read, "
          f"{result.rows.height} valid, {result.quarantine.height} quarantined in {elapsed:.2f} s")


def main() -> None:
    workdir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    bounce_rows = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000_000
    contact_rows = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
    bounces, contacts = workdir / "bounces.csv", workdir / "contacts.csv"
    if not bounces.exists():
        bounce_log(bounce_rows).write_csv(bounces)
    if not contacts.exists():
        contacts_export(contact_rows).write_csv(contacts)
    timed(bounces, "bounces")
    timed(contacts, "contacts")


if __name__ == "__main__":
    main()
