"""The proof of an erasure: every spelling searched for in the bytes and values of a folder's files."""

from __future__ import annotations

import gzip
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

from listhygiene.config import Config
from listhygiene.errors import ListHygieneError
from listhygiene.privacy.spellings import bytes_pattern, sql_pattern
from listhygiene.sql import sql_literal


class ErasureIncomplete(ListHygieneError):
    """The proof found an address after the erasure (exit 1): a bug, never expected."""


def prove_erased(
    database: Path, output: Path, spellings: list[str], searched: AbstractSet[Path] = frozenset()
) -> int:
    """Scan the store file and every file under the output folder for any spelling, as bytes
    and (Parquet, whose pages are compressed) as values; raise if one is found.

    `searched`: Parquet files whose values this command searched already and left as they
    were (under the lock, nothing else writes them): only their bytes are scanned again."""
    found = bytes_pattern(spellings)
    files = [database, *sorted(p for p in output.rglob("*") if p.is_file() and not p.is_symlink())]
    parquet = [p for p in files if p.suffix == ".parquet" and p not in searched]
    # The values are searched by DuckDB (which lets go of the GIL) while this thread searches
    # the bytes: the two scans take the time of the longer, not of both.
    with ThreadPoolExecutor(max_workers=1) as worker:
        searching_values = worker.submit(_first_parquet_holding, parquet, spellings)
        try:
            for path in files:
                if holds(path, found):
                    raise _still_held(path)
        finally:
            holding = searching_values.result()
    if holding is not None:
        raise _still_held(holding)
    return len(files)


def _still_held(path: Path) -> ErasureIncomplete:
    return ErasureIncomplete(
        f"after the erasure {path} still holds a forgotten address: please report this "
        "(the store and published runs are otherwise rewritten)."
    )


def _first_parquet_holding(paths: list[Path], spellings: list[str]) -> Path | None:
    """The first Parquet file whose text values hold a spelling, if any (its own connection)."""
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    try:
        return next((path for path in paths if _parquet_holds(con, path, spellings)), None)
    finally:
        con.close()


def holds(path: Path, found, chunk: int = 64 << 20) -> bool:
    """Whether the file's bytes hold a spelling, in any ASCII letter case.

    Read in chunks (each with the tail of the one before), lower-cased, and searched for each
    spelling with bytes.find (memchr-fast); only a find is checked against the pattern's edges.
    """
    needles = sorted({n.lower() for n in found.needles}, key=len)
    if len(needles) > 64:  # many addresses at once: one pass of the pattern instead
        return _holds_by_pattern(path, found.pattern, chunk)
    overlap = max(len(n) for n in needles) + 2
    tail = b""
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            text = (tail + block).lower()
            for needle in needles:
                at = text.find(needle)
                while at >= 0:
                    if found.pattern.search(text, max(at - 1, 0), at + len(needle) + 2):
                        return True
                    at = text.find(needle, at + 1)
            tail = block[-overlap:]
    return False


def _holds_by_pattern(path: Path, pattern, chunk: int, opener=open) -> bool:
    """Search a file's bytes (`opener` gzip.open: its text) in chunks, each with the tail of the one before."""
    tail = b""
    with opener(path, "rb") as handle:
        while block := handle.read(chunk):
            if pattern.search(tail + block):
                return True
            tail = block[-512:]
    return False


def _parquet_holds(con: duckdb.DuckDBPyConnection, path: Path, spellings: list[str]) -> bool:
    source = f"read_parquet({sql_literal(str(path))}, hive_partitioning = false)"
    texts = [
        c
        for c, t in con.execute(
            f"select column_name, column_type from (describe select * from {source})"
        ).fetchall()
        if t == "VARCHAR"
    ]
    if not texts:
        return False
    tests = " or ".join(f'contains("{c}", \'@\') and regexp_matches("{c}", $pattern)' for c in texts)
    [(hits,)] = con.execute(
        f"select count(*) from {source} where {tests}", {"pattern": sql_pattern(spellings)}
    ).fetchall()
    return hits > 0


def input_files_holding(config: Config, spellings: list[str]) -> list[Path]:
    """The pipeline's input files on disk that still hold a spelling (never edited by listhygiene)."""
    found = bytes_pattern(spellings)
    holding = []
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    try:
        for source in config.sources:
            for path in source.files():
                if path.suffix == ".parquet":
                    hit = _parquet_holds(con, path, spellings)
                elif path.suffix == ".gz":
                    hit = _holds_by_pattern(path, found.pattern, 8 << 20, gzip.open)
                else:
                    hit = holds(path, found)
                if hit:
                    holding.append(path)
    finally:
        con.close()
    return holding
