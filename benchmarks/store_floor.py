"""The store floor: DuckDB alone copying a night's input files, as read, into a new DuckDB file.

Run: python benchmarks/store_floor.py FOLDER FORMAT STORE.duckdb
(FOLDER holds contacts_*, unsubscribes_* and bounces_* files of FORMAT: csv, csv.gz or parquet;
STORE.duckdb must not exist yet).

A second reference beside the floor, not a replacement for it: the nightly job keeps every
loaded row in its store (SPEC: "the store of all loaded data and runs"), and this is what
that keeping costs the bare engine, with nothing checked, normalized or evaluated. Each kind's
files go into one table by `CREATE TABLE … AS SELECT *` over the floor's own readers, then
the file is closed (checkpointed), so the time includes writing it to disk.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from floor import EXTENSIONS, reader

KINDS = ("contacts", "unsubscribes", "bounces")


def copy_sql(folder: Path, file_format: str) -> list[str]:
    """One CREATE TABLE … AS per kind of input file."""
    return [f"CREATE TABLE {kind} AS SELECT * FROM {reader(folder, kind, file_format)}" for kind in KINDS]


def main() -> None:
    if len(sys.argv) != 4 or sys.argv[2] not in EXTENSIONS or Path(sys.argv[3]).exists():
        sys.exit(__doc__.split("\n\n")[1])
    folder, file_format, store = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    con = duckdb.connect(str(store))
    try:
        for statement in copy_sql(folder, file_format):
            con.execute(statement)
    finally:
        con.close()


if __name__ == "__main__":
    main()
