"""Time `listhygiene clean` of a large audience against a published run: seconds and peak memory.

Run (not collected by pytest):
  .venv/bin/python benchmarks/bench_clean.py PIPELINE_FILE [--rows 1000000] [--repeat 3]
e.g. on the store `benchmarks/spark_nights.py DATA_SET --engines duckdb --nights 1 --keep` left:
  .venv/bin/python benchmarks/bench_clean.py DATA_SET/bench-duckdb/pipeline.toml

The audience is drawn from the store's contact rows (opened read-only; a fixed seed): the
addresses as exported (`email_raw`: capitals, spaces, display names) with a contact id and a
segment column, plus a share of addresses the run does not know. It is written as CSV and as
Parquet to a scratch folder (removed afterwards). `clean` runs as its own process, from the
source tree this script belongs to, once per format and category, each `--repeat` times, timed
with its peak RSS (`os.wait4`); the load average goes with the figures, since other work on
the cores shows up in them. Nothing is written to the store or the output folder. The result
goes to benchmarks/results/clean-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from bench_forget import store_and_output

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "src"


def write_audience(database: Path, rows: int, unknown: float, folder: Path) -> None:
    """An audience of `rows` rows as CSV and Parquet: known contacts' rows and unknown addresses."""
    known = rows - int(rows * unknown)
    con = duckdb.connect(":memory:")
    try:
        con.execute("set enable_progress_bar = false")
        con.execute("attach ? as store (read_only)", [str(database)])
        con.execute("select setseed(0.27)")
        con.execute(
            """create table audience as
               select email_raw as email, contact_id, coalesce(list_id, 'none') as segment
               from (select * from store.contact_rows where email_raw is not null
                     order by hash(file_id, row_number) limit $known)
               union all
               select 'unknown' || i || '@nowhere.example', 'U' || i, 'imported'
               from range($unknown) t(i)""",
            {"known": known, "unknown": rows - known},
        )
        con.execute("create table shuffled as select * from audience order by hash(contact_id, email)")
        paths = {"csv": folder / "audience.csv", "parquet": folder / "audience.parquet"}
        con.execute(f"copy shuffled to '{paths['csv']}' (header, delimiter ',')")
        con.execute(f"copy shuffled to '{paths['parquet']}' (format parquet)")
    finally:
        con.close()


def first_list(output: Path) -> str:
    """The first list of the run (by name), from the Parquet file's statistics."""
    con = duckdb.connect(":memory:")
    try:
        [(list_id,)] = con.execute(
            "select min(stats_min_value) from parquet_metadata(?) where path_in_schema = 'list_id'",
            [str(output / "latest" / "contact_status.parquet")],
        ).fetchall()
    finally:
        con.close()
    return list_id


def timed(command: list[str], scratch: Path) -> dict:
    """One run of `command`: wall seconds, peak RSS, exit code, the summary it printed."""
    environment = os.environ | {"PYTHONPATH": str(SOURCE)}
    load = os.getloadavg()[0]
    with open(scratch / "stdout", "w+") as stdout, open(scratch / "stderr", "w+") as stderr:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=environment)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        stdout.seek(0)
        stderr.seek(0)
        printed, logged = stdout.read(), stderr.read()
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mib": usage.ru_maxrss >> 10,
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),  # less swayed by other work than wall
        "load_1min_before": round(load, 2),
        "exit_code": os.waitstatus_to_exitcode(status),
        "summary": [
            line.strip() for line in printed.splitlines() if line.strip().startswith(("kept", "total"))
        ],
        "stderr_tail": logged.splitlines()[-2:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pipeline", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--unknown", type=float, default=0.05, help="share of addresses the run does not know"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--list", dest="list_id", help="the list of the marketing runs (default: the first)")
    parser.add_argument("--label", default="", help="what is measured (e.g. the commit), kept in the result")
    args = parser.parse_args()
    database, output = store_and_output(args.pipeline)
    list_id = args.list_id or first_list(output)
    scratch = Path(tempfile.mkdtemp(prefix="bench-clean-"))
    try:
        made = time.monotonic()
        # in a process of its own: a child's peak RSS starts from its parent's (kept across exec)
        writer = multiprocessing.get_context("spawn").Process(
            target=write_audience, args=(database, args.rows, args.unknown, scratch)
        )
        writer.start()
        writer.join()
        assert writer.exitcode == 0, "the audience could not be written"
        audiences = {"csv": scratch / "audience.csv", "parquet": scratch / "audience.parquet"}
        made = time.monotonic() - made
        runs = []
        for fmt, audience in audiences.items():
            for category in ("marketing", "transactional"):
                out = scratch / f"clean.{fmt}"
                command = [sys.executable, "-m", "listhygiene", "clean", str(audience)]
                command += ["--config", str(args.pipeline), "--out", str(out), "--force"]
                command += ["--category", category] + (["--list", list_id] if category == "marketing" else [])
                for attempt in range(args.repeat):
                    run = timed(command, scratch)
                    shown = " ".join(command[1:]).replace(str(scratch), "SCRATCH")
                    runs.append(
                        {"format": fmt, "category": category, "attempt": attempt, "command": shown} | run
                    )
                    print(
                        f"{fmt:8} {category:13} {run['seconds']:6.2f} s {run['cpu_seconds']:6.2f} s cpu {run['peak_rss_mib']:5} MiB "
                        f"load {run['load_1min_before']:.2f} exit {run['exit_code']}",
                        flush=True,
                    )
        result = {
            "label": args.label,
            "pipeline": str(args.pipeline),
            "rows": args.rows,
            "unknown_share": args.unknown,
            "list": list_id,
            "audience_bytes": {fmt: path.stat().st_size for fmt, path in audiences.items()},
            "audience_written_seconds": round(made, 1),
            "cpus": os.cpu_count(),
            "runs": runs,
            "best_seconds": {
                f"{fmt} {category}": min(
                    r["seconds"] for r in runs if (r["format"], r["category"]) == (fmt, category)
                )
                for fmt in audiences
                for category in ("marketing", "transactional")
            },
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result["best_seconds"], indent=2))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (HERE / "results" / f"clean-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
