"""Time `listhygiene forget` on a published store: the store rebuilt, the runs rewritten, the proof.

Run (not collected by pytest):
  .venv/bin/python benchmarks/bench_forget.py PIPELINE_FILE [--addresses 3] [--in-place]
e.g. on the store `benchmarks/spark_nights.py DATA_SET --engines duckdb --nights 1 --keep` left:
  .venv/bin/python benchmarks/bench_forget.py DATA_SET/bench-duckdb/pipeline.toml

The pipeline's store and output folder are copied to a scratch folder first (unless
--in-place), so the measurement can be repeated. Addresses are drawn from the store's latest
export (a fixed seed); `forget` runs as its own process, timed with its peak memory. The result
goes to benchmarks/results/forget-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
LISTHYGIENE = Path(sys.executable).with_name("listhygiene")


def store_and_output(pipeline: Path) -> tuple[Path, Path]:
    text = pipeline.read_text()
    database = re.search(r'(?m)^database = "(.*)"$', text)
    output = re.search(r'(?m)^output = "(.*)"$', text)
    assert database and output, "the pipeline file needs [store] database and output"
    return (pipeline.parent / database[1]).resolve(), (pipeline.parent / output[1]).resolve()


def scratch_copy(pipeline: Path) -> Path:
    """The pipeline, its store and its output folder under a scratch folder beside it."""
    database, output = store_and_output(pipeline)
    scratch = pipeline.parent / "forget-bench"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    shutil.copy(database, scratch / "store.duckdb")
    shutil.copytree(output, scratch / "out", symlinks=True)
    text = pipeline.read_text()
    text = re.sub(r'(?m)^database = ".*"$', 'database = "store.duckdb"', text)
    text = re.sub(r'(?m)^output = ".*"$', 'output = "out"', text)
    # the inputs' relative paths still resolve: the copy sits one folder below
    text = re.sub(r'(?m)^path = "(?!/)(.*)"$', r'path = "../\1"', text)
    copied = scratch / "pipeline.toml"
    copied.write_text(text)
    return copied


def draw_addresses(database: Path, count: int) -> list[str]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        con.execute("select setseed(0.42)")
        rows = con.execute(
            "select email from (select distinct email from contact_rows where email_valid "
            "and not starts_with(email, 'forgotten:')) order by email limit 100000"
        ).fetchall()
    finally:
        con.close()
    step = max(len(rows) // count, 1)
    return [rows[i * step][0] for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pipeline", type=Path)
    parser.add_argument("--addresses", type=int, default=3)
    parser.add_argument("--in-place", action="store_true")
    args = parser.parse_args()
    pipeline = args.pipeline if args.in_place else scratch_copy(args.pipeline)
    database, output = store_and_output(pipeline)
    addresses = draw_addresses(database, args.addresses)
    size = database.stat().st_size
    runs = len(list((output / "runs").iterdir()))
    started = time.monotonic()
    completed = subprocess.run(
        [
            str(LISTHYGIENE),
            "--log-format",
            "json",
            "forget",
            *addresses,
            "--config",
            str(pipeline),
            "--note",
            "benchmark",
        ],
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    result = {
        "pipeline": str(args.pipeline),
        "addresses": len(addresses),
        "store_bytes_before": size,
        "store_bytes_after": database.stat().st_size,
        "published_runs": runs,
        "seconds": round(seconds, 1),
        "peak_rss_mib": peak >> 20,
        "exit_code": completed.returncode,
        "summary": [line for line in completed.stdout.splitlines() if "rows of the store" in line],
        "stages": {
            e["stage"]: e["seconds"]
            for e in (json.loads(line) for line in completed.stderr.splitlines() if line.startswith("{"))
            if "stage" in e
        },
        "stderr_tail": completed.stderr.splitlines()[-3:],
    }
    print(json.dumps(result, indent=2))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (HERE / "results" / f"forget-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    if not args.in_place:
        shutil.rmtree(pipeline.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
