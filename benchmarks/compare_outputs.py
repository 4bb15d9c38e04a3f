"""Compares two folders of run outputs row by row: same files, same row counts, same rows, same order.

Run: .venv/bin/python benchmarks/compare_outputs.py BEFORE_DIR AFTER_DIR [--mask-rows]

--mask-rows compares lineage text without its row numbers ("file.csv row 123" as "file.csv
row N"): the models before 2026-11-23 picked any of several rows starting at the same time
(arg_min ties), so two runs of them differ there; with it, only such picks may differ.

For each Parquet file of BEFORE_DIR: rows only in one side (EXCEPT ALL both ways, so duplicates
count), and whether the rows come in the same order (the outputs are written sorted). Column
names and types are compared too. Exits 1 when anything differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb


def reader(path: Path, mask_rows: bool, con) -> str:
    source = f"read_parquet('{path}', hive_partitioning = false)"
    if not mask_rows:
        return source
    columns = con.execute(f"describe select * from {source}").fetchall()
    masked = [
        f"regexp_replace(\"{name}\", ' row [0-9]+', ' row N', 'g') as \"{name}\""
        if kind == "VARCHAR"
        else f'"{name}"'
        for name, kind, *_ in columns
    ]
    return f"(select {', '.join(masked)} from {source})"


def compare(before: Path, after: Path, mask_rows: bool = False) -> bool:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    same = True
    names = sorted({p.name for p in before.glob("*.parquet")} | {p.name for p in after.glob("*.parquet")})
    for name in names:
        a, b = before / name, after / name
        if not (a.exists() and b.exists()):
            print(f"{name}: only in {'before' if a.exists() else 'after'}")
            same = False
            continue
        ra, rb = reader(a, mask_rows, con), reader(b, mask_rows, con)
        schema_a = con.execute(f"describe select * from {ra}").fetchall()
        schema_b = con.execute(f"describe select * from {rb}").fetchall()
        [(na,)] = con.execute(f"select count(*) from {ra}").fetchall()
        [(nb,)] = con.execute(f"select count(*) from {rb}").fetchall()
        [(only_a,)] = con.execute(f"select count(*) from (from {ra} except all from {rb})").fetchall()
        [(only_b,)] = con.execute(f"select count(*) from (from {rb} except all from {ra})").fetchall()
        # same order: the rows paired by position are equal
        cols = [c[0] for c in schema_a]
        moved = 0
        if not only_a and not only_b and [c[:2] for c in schema_a] == [c[:2] for c in schema_b]:
            key = ", ".join(f'"{c}"' for c in cols)
            [(moved,)] = con.execute(
                f"""select count(*) from
                    (select row_number() over () as i, ({key}) as r from {ra}) x
                    join (select row_number() over () as i, ({key}) as r from {rb}) y using (i)
                    where x.r is distinct from y.r"""
            ).fetchall()
        ok = (
            na == nb
            and not only_a
            and not only_b
            and not moved
            and [c[:2] for c in schema_a] == [c[:2] for c in schema_b]
        )
        same &= ok
        status = "same" if ok else "DIFFERENT"
        print(
            f"{name:<30} {status:<9} rows {na:>10,} / {nb:>10,}  only before {only_a:,}  "
            f"only after {only_b:,}  out of order {moved:,}"
            + (
                ""
                if [c[:2] for c in schema_a] == [c[:2] for c in schema_b]
                else f"\n    schema {schema_a} != {schema_b}"
            )
        )
    return same


if __name__ == "__main__":
    sys.exit(0 if compare(Path(sys.argv[1]), Path(sys.argv[2]), "--mask-rows" in sys.argv[3:]) else 1)
