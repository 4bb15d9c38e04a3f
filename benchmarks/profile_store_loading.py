"""Time loading one input file into a fresh store, stage by stage, beside DuckDB's own time for the same file.

Run (not collected by pytest):
  .venv/bin/python benchmarks/profile_store_loading.py FILE KIND PART [--cprofile N]
PART is one of:
  real     the loader's path as a night runs it (batches read while the last is inserted)
  stages   the same work one stage after another, each timed: wall, CPU of the main thread
           (Python holds the GIL there, or native code runs on it) and of the whole process
  engine   DuckDB alone: the file copied into a table; then the loader's classification SQL
           over the file read by DuckDB (the engine's floor for that part)
Each PART runs in its own process so its peak RSS is its own. The store is made in a temporary
folder and removed. `--cprofile N` prints the N functions of most own time (stages only).
"""

from __future__ import annotations

import cProfile
import os
import pstats
import resource
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from listhygiene import addresses
from listhygiene.ingest import columns, parsing, quarantine, reading
from listhygiene.rules import bounces
from listhygiene.store import database, inserting, loading

STAGES: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])  # wall, main-thread CPU, process CPU


def clocks() -> tuple[float, float, float]:
    return time.perf_counter(), time.thread_time(), time.process_time()


def timed(name: str, step: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        before = clocks()
        try:
            return step(*args, **kwargs)
        finally:
            for i, (b, a) in enumerate(zip(before, clocks())):
                STAGES[name][i] += a - b

    return run


def timed_iterator(name: str, step: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any) -> Any:
        items = step(*args)
        while True:
            before = clocks()
            item = next(items, None)
            for i, (b, a) in enumerate(zip(before, clocks())):
                STAGES[name][i] += a - b
            if item is None:
                return
            yield item

    return run


def fresh_store(folder: Path):
    con = database.connect(folder / "store.duckdb")
    con.begin()
    bounces.install_rules(con, bounces.load_ruleset(None))
    return con


def rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20)


def part_real(path: Path, kind: str, folder: Path) -> None:
    con = fresh_store(folder)
    before = clocks()
    batches = reading.read_batches(path, source="profile", kind=kind, sha256="")
    loaded, _ = loading.insert_batches(con, ((kind, rows) for rows in batches), 1)
    wall, _, cpu = (a - b for a, b in zip(clocks(), before))
    result = batches.result
    print(
        f"real: {result.rows_read:,} rows read, {sum(loaded.values()):,} loaded, "
        f"{result.quarantine.height:,} quarantined in {wall:.1f} s wall, {cpu:.1f} s CPU, "
        f"peak RSS {rss_gib():.2f} GiB"
    )
    commit = time.perf_counter()
    con.commit()
    print(f"  commit {time.perf_counter() - commit:.1f} s")


def part_stages(path: Path, kind: str, folder: Path, top: int) -> None:
    from listhygiene.store import reply_classes  # not in the code before 2026-12-04: `real` runs there too

    con = fresh_store(folder)
    reading._raw_batches = timed_iterator("reading the file as text", reading._raw_batches)
    reading.canonical_text = timed("canonical columns", columns.canonical_text)
    parsing.timestamps = timed("parsing: ISO 8601 times", parsing.timestamps)
    if hasattr(parsing, "typed_timestamps"):  # since 2026-12-05: a Parquet file's typed times
        parsing.typed_timestamps = timed("parsing: typed times", parsing.typed_timestamps)
    parsing._canonical_tokens = timed("parsing: tokens", parsing._canonical_tokens)
    parsing._first_match = timed("parsing: SMTP codes", parsing._first_match)
    reading.PARSERS = {k: timed("parsing (all)", v) for k, v in parsing.PARSERS.items()}
    reading.undecodable_rows = timed("undecodable-bytes scan", quarantine.undecodable_rows)
    reading.ragged_rows = timed("ragged-row scan", quarantine.ragged_rows)
    reading.row_problems = timed("pandera's checks", quarantine.row_problems)
    reading.split_bad_rows = timed("splitting quarantined rows", quarantine.split_bad_rows)
    normalize = timed("normalizing addresses", addresses.normalize_addresses)
    to_arrow = timed("to Arrow", inserting.arrow_of)
    classify_sql = reply_classes.CLASSIFIED_BATCH if kind == "bounces" else "select * from new_rows"
    classify = timed("classifying new replies (DuckDB)", reply_classes.classify_new_replies)

    def insert_sql(arrow: Any) -> None:
        new_rows = new_bounces = arrow  # noqa: F841  (read by name by the SQL)
        con.execute(f"insert into {table} by name {classify_sql}")

    insert = timed("inserting, classes joined (DuckDB)", insert_sql)
    table = inserting.TABLE_OF_KIND[kind]
    profiler = cProfile.Profile() if top else None
    started, rows = clocks(), 0
    if profiler:
        profiler.enable()
    for batch in reading.read_batches(path, source="profile", kind=kind, sha256=""):
        rows += batch.height
        found = normalize(batch["email_raw"])
        spelled = inserting.with_spelling_apart(batch.with_columns(found["email"], found["email_valid"]))
        arrow = to_arrow(spelled.with_columns(file_id=pl.lit(1)))
        if kind == "bounces":
            classify(con, arrow)
        insert(arrow)
    if profiler:
        profiler.disable()
    wall, main_cpu, cpu = (a - b for a, b in zip(clocks(), started))
    print(
        f"stages: {rows:,} rows in {wall:.1f} s wall, main thread {main_cpu:.1f} s CPU, process {cpu:.1f} s CPU"
    )
    print(f"  {'stage':38s} {'wall':>7s} {'main CPU':>9s} {'all CPU':>8s}")
    for name, (w, m, c) in sorted(STAGES.items(), key=lambda item: -item[1][0]):
        print(f"  {name:38s} {w:6.2f}s {m:8.2f}s {c:7.2f}s")
    print(f"  peak RSS {rss_gib():.2f} GiB")
    if profiler:
        print(f"\ncProfile, the {top} functions of most own time (Python and the C calls it makes):")
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("tottime").print_stats(top)


def part_engine(path: Path, kind: str, folder: Path) -> None:
    con = fresh_store(folder)
    reader = (
        f"read_parquet({_literal(path)})"
        if path.suffix == ".parquet"
        else (f"read_csv({_literal(path)}, all_varchar = true)")
    )
    before = clocks()
    con.execute(f"create table copied as select * from {reader}")
    wall, _, cpu = (a - b for a, b in zip(clocks(), before))
    print(
        f"engine: the file copied into a table (create table as select *): {wall:.1f} s wall, {cpu:.1f} s CPU"
    )
    if kind == "bounces":
        con.execute(
            f"""create or replace temp view new_bounces as
                select 1 as file_id, row_number() over () as row_number, email as email_raw,
                       lower(trim(email)) as email, true as email_valid, occurred_at::timestamptz as occurred_at,
                       event, campaign_id, bounce_type, try_cast(smtp_code as integer) as smtp_code,
                       enhanced_code, diagnostic
                from {reader} where occurred_at is not null"""
        )
        before = clocks()
        con.execute(f"insert into bounce_events by name {bounces.classified_bounces_sql(con)}")
        wall, _, cpu = (a - b for a, b in zip(clocks(), before))
        print(
            "engine: insert into bounce_events by name <the loader's classification SQL> over the "
            f"file (lower(trim(email)), casts): {wall:.1f} s wall, {cpu:.1f} s CPU"
        )
    print(f"  peak RSS {rss_gib():.2f} GiB")


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def main() -> None:
    path, kind, part = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    top = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--cprofile" else 0
    print(f"{path} ({kind}), load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory(prefix="profile-load-") as folder:
        if part == "real":
            part_real(path, kind, Path(folder))
        elif part == "stages":
            part_stages(path, kind, Path(folder), top)
        else:
            part_engine(path, kind, Path(folder))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)


if __name__ == "__main__":
    main()
