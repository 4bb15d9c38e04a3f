"""The store floor: DuckDB alone keeping a night's input files in a DuckDB file, then the floor's statement over them.

Run: python benchmarks/store_floor.py FOLDER FORMAT STORE.duckdb OUT.parquet
(FOLDER holds contacts_*, unsubscribes_* and bounces_* files of FORMAT: csv, csv.gz or parquet;
STORE.duckdb must not exist yet).

A second reference beside the floor, not a replacement for it. The nightly job keeps every
loaded row in its store (SPEC: "the store of all loaded data and runs") and evaluates from
there; this is the least of that for the bare engine, with nothing checked, normalized or
classified: each kind's files go into one table by `CREATE TABLE … AS SELECT *` over the
floor's own readers, the floor's statement runs over those tables instead of the files, and
the file is closed (checkpointed), so the time includes writing the store to disk.
Prints the seconds of the two parts.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb

from floor import EXTENSIONS, FLOOR_SQL, reader

KINDS = ("contacts", "unsubscribes", "bounces")


def copy_sql(folder: Path, file_format: str) -> list[str]:
    """One CREATE TABLE … AS per kind of input file."""
    return [f"CREATE TABLE {kind} AS SELECT * FROM {reader(folder, kind, file_format)}" for kind in KINDS]


def floor_over_tables(out: Path) -> str:
    """The floor's statement, reading the stored tables instead of the files."""
    return FLOOR_SQL.format(**{kind: kind for kind in KINDS}, out=str(out).replace("'", "''"))


def main() -> None:
    if len(sys.argv) != 5 or sys.argv[2] not in EXTENSIONS or Path(sys.argv[3]).exists():
        sys.exit(__doc__.split("\n\n")[1])
    folder, file_format, store, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
    started = time.perf_counter()
    con = duckdb.connect(str(store))
    try:
        for statement in copy_sql(folder, file_format):
            con.execute(statement)
        stored = time.perf_counter()
        con.execute(floor_over_tables(out))
    finally:
        con.close()
    finished = time.perf_counter()
    print(
        f"keeping the files: {stored - started:.2f} s; the floor's statement over the tables and "
        f"closing: {finished - stored:.2f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
