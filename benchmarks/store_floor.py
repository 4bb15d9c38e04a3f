"""The store floor: DuckDB alone keeping a night's input files in a DuckDB file, then the floor's statement over them.

Run: python benchmarks/store_floor.py FOLDER FORMAT STORE.duckdb OUT.parquet
     python benchmarks/store_floor.py FOLDER FORMAT STORE.duckdb OUT.parquet --next FILE...
(FOLDER holds contacts_*, unsubscribes_* and bounces_* files of FORMAT: csv, csv.gz or parquet;
STORE.duckdb must not exist yet, except with --next).

A second reference beside the floor, not a replacement for it. The nightly job keeps every
loaded row in its store (SPEC: "the store of all loaded data and runs") and evaluates from
there; this is the least of that for the bare engine, with nothing checked, normalized or
classified: each kind's files go into one table by `CREATE TABLE … AS SELECT *` over the
floor's own readers, the floor's statement runs over those tables instead of the files, and
the file is closed (checkpointed), so the time includes writing the store to disk.
Prints the seconds of the two parts.

`--next FILE...` is the floor of a later night (issue 27: "the floor of that night's files"):
STORE.duckdb is the store the first call made, FILE... are tonight's files in FOLDER. Tonight's
log files are appended to their tables, tonight's export is kept as a table of its own (a
snapshot replaces the last one, as it does for the job), and the floor's statement runs over
that snapshot and every event kept.
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


def floor_over_tables(out: Path, contacts: str = "contacts") -> str:
    """The floor's statement, reading the stored tables instead of the files."""
    tables = {kind: kind for kind in KINDS} | {"contacts": contacts}
    return FLOOR_SQL.format(**tables, out=str(out).replace("'", "''"))


def next_night_sql(folder: Path, names: list[str]) -> list[str]:
    """Tonight's files kept: its export as the table `tonight_contacts`, its events appended."""
    statements = []
    for kind in KINDS:
        files = [str(folder / name).replace("'", "''") for name in names if name.startswith(f"{kind}_")]
        if not files:
            continue
        listed = ", ".join(f"'{f}'" for f in files)
        source = (
            f"read_parquet([{listed}])"
            if files[0].endswith(".parquet")
            else f"read_csv([{listed}], all_varchar = true)"
        )
        if kind == "contacts":
            statements.append(f"CREATE OR REPLACE TABLE tonight_contacts AS SELECT * FROM {source}")
        else:
            statements.append(f"INSERT INTO {kind} SELECT * FROM {source}")
    return statements


def main() -> None:
    arguments = sys.argv[1:]
    tonight = arguments[arguments.index("--next") + 1 :] if "--next" in arguments else None
    arguments = arguments[: arguments.index("--next")] if tonight is not None else arguments
    if (
        len(arguments) != 4
        or arguments[1] not in EXTENSIONS
        or Path(arguments[2]).exists() == (tonight is None)
        or tonight == []
    ):
        sys.exit(__doc__.split("\n\n")[1])
    folder, file_format, store, out = Path(arguments[0]), arguments[1], Path(arguments[2]), Path(arguments[3])
    started = time.perf_counter()
    con = duckdb.connect(str(store))
    try:
        if tonight is None:
            for statement in copy_sql(folder, file_format):
                con.execute(statement)
        else:
            for statement in next_night_sql(folder, tonight):
                con.execute(statement)
        stored = time.perf_counter()
        snapshot = tonight is not None and any(name.startswith("contacts_") for name in tonight)
        con.execute(floor_over_tables(out, "tonight_contacts" if snapshot else "contacts"))
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
