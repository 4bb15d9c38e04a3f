"""Times each SQL model of the nightly run, and each output, on a copy of a kept store.

Run: .venv/bin/python benchmarks/profile_models.py WORKSPACE --as-of 2026-11-20T06:00:00Z
     [--repeat N] [--outputs DIR] [--models a,b,...] [--explain a,b,...] [--no-copy]
     [--memory-limit 1400MiB] [--rule-files]

WORKSPACE is a folder kept by `benchmarks/run.py --keep` (e.g. benchmarks/data/1m-csv-run/):
its pipeline.toml and store. The store is copied to a scratch folder first (unless --no-copy),
so the kept workspace stays as it was. The as-of picks the night: the store holds every night
loaded so far, and the models ignore what comes after the as-of, so night 1 of a store that
has loaded night 2 evaluates like the first night did (the previous run is looked up as the
run does: the latest published run before the as-of). With --outputs the run's Parquet
outputs are written there, to compare two versions of the models row by row.

--memory-limit with --rule-files (each model written as Parquet, as the nightly run does)
finds the steps that cannot spill: DuckDB's memory a step needs grows with the data unless it
spills, so a 5M store run at a quarter of the default limit stands in for a 20M night at the
default (duplicates failed at 1400MiB on 5M before its lists were capped, as the 20M night
failed at 5.8 GiB). A step that runs out of memory is named, and the script stops (exit 2).

Prints, per model and per output: seconds (best of --repeat), rows, and DuckDB's memory in
use after the step (duckdb_memory(), the buffer manager's view), then the process's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from listhygiene import pipeline, store  # noqa: E402
from listhygiene.config import load_config  # noqa: E402
from listhygiene.errors import OutOfMemory  # noqa: E402
from listhygiene.outputs import publish  # noqa: E402
from listhygiene.rules import evaluation, runner  # noqa: E402
from listhygiene.sql import sql_literal  # noqa: E402

GIB = 1 << 30


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (every DuckDB thread): steadier than wall
    time on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def memory_in_use(con) -> int:
    [(used,)] = con.execute("select coalesce(sum(memory_usage_bytes), 0) from duckdb_memory()").fetchall()
    return int(used)


def table_rows(con, name: str) -> int:
    [(n,)] = con.execute(f'select count(*) from "{name}"').fetchall()
    return n


def print_operators(con, sql: str, top: int = 15) -> None:
    """EXPLAIN ANALYZE of one statement, flattened: the operators that took longest, with what they do.

    The statement is run as the nightly run builds a model: written whole to a Parquet file (a
    count(*) over it would let DuckDB drop the columns, and the joins, nobody counts).
    """
    import json

    profile = Path(tempfile.mkstemp(suffix=".json")[1])
    con.execute("pragma enable_profiling = 'json'")
    con.execute(f"pragma profiling_output = '{profile}'")
    written = profile.with_suffix(".parquet")
    con.execute(f"copy ({sql}) to '{written}' (format parquet, compression snappy)")
    con.execute("pragma disable_profiling")
    written.unlink()
    tree = json.loads(profile.read_text())
    profile.unlink()
    found = []

    def walk(node, depth):
        extra = node.get("extra_info", {})
        text = "; ".join(f"{k}: {v}" for k, v in extra.items() if k != "Estimated Cardinality")
        found.append(
            (
                node.get("timing", 0.0),
                node.get("intermediate_rows", 0),
                node.get("type", "?"),
                depth,
                text.replace("\n", " "),
            )
        )
        for child in node.get("children", []):
            walk(child, depth + 1)

    for root in tree.get("operator", []):
        walk(root, 0)
    print(f"operators total {sum(f[0] for f in found):.2f}s")
    for seconds, rows, name, depth, text in sorted(found, reverse=True)[:top]:
        print(f"{seconds:>7.2f}s {rows:>12,}  {name} (depth {depth}): {text[:260]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--repeat", type=int, default=1, help="build each model N times, keep the best")
    parser.add_argument("--outputs", type=Path, help="write the run's Parquet outputs into this folder")
    parser.add_argument("--models", help="comma-separated subset to time (the others are built untimed)")
    parser.add_argument("--explain", help="comma-separated models to print EXPLAIN ANALYZE of (after timing)")
    parser.add_argument("--no-copy", action="store_true", help="open the kept store itself (read/write)")
    parser.add_argument(
        "--memory-limit", help="DuckDB's memory limit for the models and outputs (e.g. 1400MiB)"
    )
    parser.add_argument(
        "--rule-files",
        action="store_true",
        help="build each model as a Parquet file, as the nightly run does (all kept)",
    )
    args = parser.parse_args()

    config = load_config(args.workspace / "pipeline.toml")
    as_of = datetime.fromisoformat(args.as_of.replace("Z", "+00:00"))
    scratch = Path(tempfile.mkdtemp(prefix="profile-", dir=args.workspace))
    try:
        database = config.database
        if not args.no_copy:
            database = scratch / "store.duckdb"
            shutil.copyfile(config.database, database)
        t = time.perf_counter()
        con = store.connect(database)
        if args.memory_limit:
            con.execute(f"set memory_limit = {sql_literal(args.memory_limit)}")
        settings = con.execute(
            "select name, value from duckdb_settings() where name in "
            "('memory_limit', 'threads', 'temp_directory', 'preserve_insertion_order')"
        ).fetchall()
        print(f"connect {time.perf_counter() - t:.2f}s; " + ", ".join(f"{k}={v}" for k, v in settings))
        previous = pipeline.previous_run(con, as_of)
        print(f"as of {as_of.isoformat()}, previous run: {previous[0] if previous else None}")
        con.begin()
        evaluation.prepare_run_tables(con, config, as_of, previous)
        con.execute(runner.model_sql("_macros"))
        rule_files = None
        if args.rule_files:
            rule_files = scratch / "rules"
            rule_files.mkdir()
        timed = set(args.models.split(",")) if args.models else set(runner.RUN_MODELS)

        rows_out = []
        total = total_cpu = 0.0
        for name in runner.RUN_MODELS:
            best = best_cpu = None
            for _ in range(args.repeat if name in timed else 1):
                t, c = time.perf_counter(), cpu_seconds()
                try:
                    runner.build(con, name, rule_files)
                except (duckdb.OutOfMemoryException, OutOfMemory) as error:
                    sys.exit(
                        f"model {name} ran out of DuckDB memory after "
                        f"{time.perf_counter() - t:.1f}s: {str(error).splitlines()[0]}"
                    )
                elapsed, cpu = time.perf_counter() - t, cpu_seconds() - c
                best = elapsed if best is None else min(best, elapsed)
                best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
            total += best
            total_cpu += best_cpu
            rows_out.append((name, best, best_cpu, table_rows(con, name), memory_in_use(con)))
        print(f"\n{'model':<24}{'seconds':>9}{'cpu s':>9}{'rows':>14}{'mem GiB':>9}")
        for name, seconds, cpu, rows, mem in rows_out:
            print(f"{name:<24}{seconds:>9.2f}{cpu:>9.2f}{rows:>14,}{mem / GIB:>9.2f}")
        print(f"{'evaluating rules':<24}{total:>9.2f}{total_cpu:>9.2f}")
        for name in args.explain.split(",") if args.explain else []:
            print(f"\n--- the slowest operators of {name}")
            print_operators(con, runner.model_sql(name))

        folder = args.outputs or scratch / "outputs"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        print(f"\n{'output':<30}{'seconds':>9}{'cpu s':>9}{'rows':>14}")
        total = total_cpu = 0.0
        steps = [
            (name, lambda target, q=query, o=order: publish._copy(con, q, o, target))
            for name, (query, order) in publish.OUTPUT_QUERIES.items()
        ]
        steps.append(("sendable.parquet", lambda target: publish._write_sendable(con, target)))
        for name, write in steps:
            t, c = time.perf_counter(), cpu_seconds()
            try:
                rows = write(folder / name)
            except (duckdb.OutOfMemoryException, OutOfMemory) as error:
                sys.exit(f"output {name} ran out of DuckDB memory: {str(error).splitlines()[0]}")
            elapsed, cpu = time.perf_counter() - t, cpu_seconds() - c
            total += elapsed
            total_cpu += cpu
            print(f"{name:<30}{elapsed:>9.2f}{cpu:>9.2f}{rows:>14,}")
        print(f"{'writing outputs':<30}{total:>9.2f}{total_cpu:>9.2f}")
        con.rollback()
        con.close()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(f"\npeak RSS {peak / GIB:.2f} GiB")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
