"""Time `listhygiene explain` of a few addresses on a published store: seconds, CPU and peak memory.

Run (not collected by pytest):
  .venv/bin/python benchmarks/bench_explain.py PIPELINE_FILE [--addresses 3] [--repeat 3] [--cold]
e.g. on the store `benchmarks/spark_nights.py DATA_SET --engines duckdb --nights 1 --keep` left:
  .venv/bin/python benchmarks/bench_explain.py DATA_SET/bench-duckdb/pipeline.toml

Addresses are drawn from the store's contact rows (opened read-only). `explain` runs as its
own process, from the source tree this script belongs to, timed with its peak RSS and CPU
seconds (`os.wait4`); the load average goes with each figure. With --floor DuckDB alone
selects the address's rows from the store's tables instead: the least explain can cost. With --cold the store file and
the run's contact_status.parquet are dropped from the page cache before each run
(POSIX_FADV_DONTNEED on those two files only). Nothing is written to the store. The result
goes to benchmarks/results/explain-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from bench_clean import SOURCE, store_and_output, timed

HERE = Path(__file__).resolve().parent
# DuckDB alone, in a fresh process: the address's rows of the tables explain reads by address
FLOOR = """
import sys, duckdb
con = duckdb.connect(":memory:")
con.execute("attach ? as store (read_only)", [sys.argv[1]])
for table in ("contact_rows", "unsubscribe_events", "bounce_events"):
    con.execute(f"select * from store.{table} where email = ?", [sys.argv[2]]).fetchall()
"""


def draw_addresses(database: Path, count: int) -> list[str]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        rows = con.execute(
            "select email from contact_rows where email_valid and row_number <= 1000 order by row_number limit ?",
            [count * 7],
        ).fetchall()
    finally:
        con.close()
    return [email for (email,) in rows[:: max(len(rows) // count, 1)][:count]]


def evict(path: Path) -> None:
    """Drop the file's pages from the page cache (a cold read of this file only)."""
    handle = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(handle, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(handle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pipeline", type=Path)
    parser.add_argument("--addresses", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--floor", action="store_true", help="time DuckDB alone finding the address instead")
    parser.add_argument("--label", default="", help="what is measured (e.g. the commit), kept in the result")
    args = parser.parse_args()
    database, output = store_and_output(args.pipeline)
    addresses = draw_addresses(database, args.addresses)
    scratch = Path(tempfile.mkdtemp(prefix="bench-explain-"))
    runs = []
    for attempt in range(args.repeat):
        for number, address in enumerate(addresses):
            if args.cold:
                evict(database)
                evict(output / "latest" / "contact_status.parquet")
            command = [
                sys.executable,
                "-m",
                "listhygiene",
                "explain",
                address,
                "--config",
                str(args.pipeline),
            ]
            if args.floor:
                command = [sys.executable, "-c", FLOOR, str(database), address]
            run = timed(command, scratch)
            runs.append({"address": number, "attempt": attempt, "cold": args.cold} | run)
            print(
                f"address {number} {run['seconds']:6.2f} s {run['cpu_seconds']:6.2f} s cpu "
                f"{run['peak_rss_mib']:5} MiB load {run['load_1min_before']:.2f} exit {run['exit_code']}",
                flush=True,
            )
    shutil.rmtree(scratch, ignore_errors=True)
    seconds = [r["seconds"] for r in runs]
    result = {
        "label": args.label,
        "source": str(SOURCE),
        "pipeline": str(args.pipeline),
        "store_bytes": database.stat().st_size,
        "cold": args.cold,
        "floor": args.floor,
        "cpus": os.cpu_count(),
        "command": FLOOR if args.floor else "python -m listhygiene explain ADDRESS --config PIPELINE",
        "runs": [{k: v for k, v in r.items() if k not in ("summary", "stderr_tail")} for r in runs],
        "seconds_min_median": [min(seconds), round(statistics.median(seconds), 2)],
        "cpu_seconds_median": round(statistics.median(r["cpu_seconds"] for r in runs), 2),
        "peak_rss_mib_max": max(r["peak_rss_mib"] for r in runs),
        "load_1min_median": round(statistics.median(r["load_1min_before"] for r in runs), 2),
    }
    print(json.dumps({k: result[k] for k in list(result)[-4:]}, indent=2))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (HERE / "results" / f"explain-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
