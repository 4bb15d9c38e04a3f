"""One address's rows of the store, copied from the run's input files into explain's own tables."""

from __future__ import annotations

import duckdb

# The store, attached read-only to an in-memory database that holds one address's rows.
STORE_ALIAS = "store"
# An export's first stored row is looked for among its first rows: a bound on row_number lets
# DuckDB skip every row group past the start of each file (its zonemaps); a file whose first
# FIRST_ROW_WITHIN rows were all quarantined is looked up without the bound.
FIRST_ROW_WITHIN = 4096


def copy_address(con: duckdb.DuckDBPyConnection, email: str, inputs: list[tuple[str, str, str]]) -> None:
    """The store's rows of one address, from the run's input files only, as the rules' tables.

    Every rule is per address except one: the snapshot times a former member was absent from
    come from the whole export, so the first row of each contacts file comes along too. Any
    other table a model reads is found in the store (the search path falls back to it).

    Filters on constants (address, file ids, a row-number bound) run inside DuckDB's scans: a
    join against a table read every column of every row (docs/performance.md, "explain")."""
    con.execute("create table pinned (source varchar, sha256 varchar, path varchar)")
    if inputs:
        con.executemany("insert into pinned values (?, ?, ?)", [list(i) for i in inputs])
    con.execute(f"""create table input_files as
                    select f.* from {STORE_ALIAS}.input_files f semi join pinned p using (source, sha256, path)""")
    files = [file_id for (file_id,) in con.execute("select file_id from input_files").fetchall()]
    params = {"email": email, "files": files}
    _first_rows(con, files)
    [(last_first_row,)] = con.execute("select coalesce(max(row_number), 0) from first_rows").fetchall()
    con.execute(
        f"""create table contact_rows as
            select * from {STORE_ALIAS}.contact_rows
            where email = $email and list_contains($files, file_id)
            union all
            select c.* from {STORE_ALIAS}.contact_rows c semi join first_rows f using (file_id, row_number)
            where c.row_number <= $last_first_row and c.email <> $email""",
        params | {"last_first_row": last_first_row},
    )
    for table in ("unsubscribe_events", "bounce_events"):
        con.execute(
            f"""create table {table} as select e.* from {STORE_ALIAS}.{table} e
                where e.email = $email and list_contains($files, e.file_id)""",
            params,
        )
    # a suppression list's rows naming the address, in clear or by its hash
    con.execute(
        f"""create table suppression_rows as select s.* from {STORE_ALIAS}.suppression_rows s
            where (s.email = $email or s.email_sha256 = sha256($email))
              and list_contains($files, s.file_id)""",
        params,
    )
    con.execute(f"set search_path = 'memory,{STORE_ALIAS}'")


def _first_rows(con: duckdb.DuckDBPyConnection, files: list[int]) -> None:
    """first_rows: each contacts file's first stored row (file_id, row_number), found once.

    Rows are stored file by file in row order, so the bounded look skips all but the first row
    group of each export; a file not found there (no contact rows at all, as a log's, or its
    first rows quarantined) is looked up whole, which its zonemaps keep to its own row groups."""
    first = f"""select file_id, min(row_number) as row_number from {STORE_ALIAS}.contact_rows
                where list_contains($files, file_id) {{bound}} group by file_id"""
    con.execute(
        "create table first_rows as " + first.format(bound="and row_number <= $within"),
        {"files": files, "within": FIRST_ROW_WITHIN},
    )
    found = {file_id for (file_id,) in con.execute("select file_id from first_rows").fetchall()}
    rest = [file_id for file_id in files if file_id not in found]
    if rest:
        con.execute("insert into first_rows " + first.format(bound=""), {"files": rest})
