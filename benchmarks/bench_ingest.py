"""Time reading input files (read_input on generated logs) or loading a night's files into a fresh store.

Run (not collected by pytest):
  .venv/bin/python benchmarks/bench_ingest.py [WORKDIR] [BOUNCE_ROWS] [CONTACT_ROWS]
      read_input on a generated bounce log and contacts export (generated into WORKDIR once, reused).
  .venv/bin/python benchmarks/bench_ingest.py load DATA_SET DAY [KIND ...]
      the files of DATA_SET (a `listhygiene synth` folder with pipeline.toml) named *_DAY.*,
      each kind loaded into a fresh store by the loader (load_sources, in a transaction, then
      committed) in a child process of its own: wall time and peak RSS per kind, e.g.
      `bench_ingest.py load benchmarks/data/1m-csv 2026-11-20 bounces contacts`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from listhygiene.ingest.reading import read_input

GIB = 1 << 30


def bounce_log(rows: int) -> pl.DataFrame:
    """A bounce log mixing timestamp layouts, event spellings and codes, with one bad row in a thousand."""
    i = pl.int_range(rows, dtype=pl.Int64)
    seconds = (i * 7) % (30 * 86_400)
    stamp = pl.lit(1_780_000_000_000_000, dtype=pl.Int64) + seconds * 1_000_000
    moment = stamp.cast(pl.Datetime("us", "UTC"))
    return pl.select(
        email=pl.format("user{}@example{}.com", i, i % 97),
        occurred_at=pl.when(i % 1000 == 999)
        .then(pl.lit("yesterday"))
        .when(i % 3 == 0)
        .then(moment.dt.to_string("%Y-%m-%dT%H:%M:%SZ"))
        .when(i % 3 == 1)
        .then(moment.dt.to_string("%Y-%m-%d %H:%M:%S"))
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
        status=pl.when(i % 1000 == 999)
        .then(pl.lit("zombie"))
        .when(i % 7 == 0)
        .then(pl.lit("Opted Out"))
        .otherwise(pl.lit("active")),
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
    print(
        f"{kind}: {path.stat().st_size / 1e6:.0f} MB, {result.rows_read} rows read, "
        f"{result.rows.height} valid, {result.quarantine.height} quarantined in {elapsed:.2f} s"
    )


def read_bench(args: list[str]) -> None:
    workdir = Path(args[0]) if args else Path(tempfile.mkdtemp())
    bounce_rows = int(args[1]) if len(args) > 1 else 5_000_000
    contact_rows = int(args[2]) if len(args) > 2 else 1_000_000
    bounces, contacts = workdir / "bounces.csv", workdir / "contacts.csv"
    if not bounces.exists():
        bounce_log(bounce_rows).write_csv(bounces)
    if not contacts.exists():
        contacts_export(contact_rows).write_csv(contacts)
    timed(bounces, "bounces")
    timed(contacts, "contacts")


# --- loading into a store ----------------------------------------------------------------------


def load_bench(data_set: Path, day: str, kinds: list[str]) -> None:
    """Load each kind's file of the day into a fresh store in a child process; print time and peak RSS."""
    kinds = kinds or ["contacts", "unsubscribes", "bounces"]
    for kind in kinds:
        files = sorted(data_set.glob(f"{kind}_{day}.*"))
        if not files:
            print(f"{kind}: no file {kind}_{day}.* in {data_set}")
            continue
        size = sum(f.stat().st_size for f in files)
        with tempfile.TemporaryDirectory(prefix="bench-load-") as workspace:
            shutil.copy(data_set / "pipeline.toml", Path(workspace) / "pipeline.toml")
            for file in files:
                (Path(workspace) / file.name).symlink_to(file.resolve())
            start = time.perf_counter()
            child = subprocess.Popen([sys.executable, __file__, "_load_one", workspace, kind])
            _, status, usage = os.wait4(child.pid, 0)
            seconds = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        print(
            f"{kind}: {size / 1e6:,.0f} MB loaded in {seconds:.1f} s, peak RSS "
            f"{usage.ru_maxrss * 1024 / GIB:.2f} GiB" + (f" (exit {code})" if code else ""),
            flush=True,
        )


def load_one(workspace: Path, kind: str) -> None:
    """In the child: load the workspace's files of one kind the way a night does."""
    from listhygiene import store
    from listhygiene.config import load_config
    from listhygiene.store.loading import load_sources

    config = load_config(workspace / "pipeline.toml")
    config = replace(config, sources=tuple(s for s in config.sources if s.kind == kind))
    con = store.connect(config.database)
    try:
        con.begin()
        report = load_sources(con, config, datetime.now(UTC))
        con.commit()
    finally:
        con.close()
    for file in report.files:
        print(
            f"  {file.path.name}: {file.rows_read:,} read, {file.rows_loaded:,} loaded, "
            f"{file.rows_quarantined:,} quarantined ({file.status})",
            flush=True,
        )


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["load"]:
        load_bench(Path(args[1]), args[2], args[3:])
    elif args[:1] == ["_load_one"]:
        load_one(Path(args[1]), args[2])
    else:
        read_bench(args)


if __name__ == "__main__":
    main()
