"""`export-suppressions`: a published run's active suppressions as a file to share, addresses hashed or in clear."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from listhygiene.errors import ConfigError
from listhygiene.sql import sql_literal

__all__ = ["HASHES", "SuppressionExport", "export_suppressions"]

HASHES = ("sha256", "none")
FORMATS = {".csv": "(format csv, header true)", ".parquet": "(format parquet, compression zstd)"}

# The shared columns. A hashed file drops `detail`: its words quote what the inputs held (an
# invalid address in clear, a file name), and a hashed list must not carry a single address a
# partner could read. `source` and `origin` name the pipeline file's source and the kind of event.
CLEAR_COLUMNS = "email, scope, reason, since, source, origin, detail"
# sha256() of DuckDB is the lowercase hex digest of the text's UTF-8 bytes: the form suppression
# services and ad platforms match on, of the normalized address (suppressions.email is matched on).
HASHED_COLUMNS = "sha256(email) as email_sha256, scope, reason, since, source, origin"

# In CSV a time is ISO 8601 in UTC, as in the inputs: seconds, or microseconds where it has them.
CSV_SINCE = """case when microsecond(since) % 1000000 = 0 then strftime(since, '%Y-%m-%dT%H:%M:%SZ')
    else strftime(since, '%Y-%m-%dT%H:%M:%S.%fZ') end"""


@dataclass(frozen=True)
class SuppressionExport:
    """What was written: the file, its rows, and the rows per reason."""

    out: Path
    rows: int
    addresses: int
    by_reason: dict[str, int]


def export_suppressions(
    run: Path,
    out: Path,
    *,
    digest: str = "sha256",
    list_id: str | None = None,
    configured_lists: Iterable[str] = (),
    force: bool = False,
) -> SuppressionExport:
    """Write the suppressions of the run folder `run` to `out` (.csv or .parquet), atomically.

    With `list_id` (one of `configured_lists` or a list of the run), only the global
    suppressions and those of that list: what keeps an address off that list's mail. With
    `digest` "sha256" the address column is `email_sha256`; with "none" it is `email`, in clear.
    """
    if digest not in HASHES:
        raise ConfigError(f"--hash {digest!r}: use one of {', '.join(HASHES)}.")
    target_format = _check_target(out, force)
    source = run / "suppressions.parquet"
    if not source.exists():
        raise ConfigError(f"run folder {run} holds no suppressions.parquet: is it a listhygiene run?")
    if list_id is not None:
        _check_list(run, list_id, configured_lists)
    columns = HASHED_COLUMNS if digest == "sha256" else CLEAR_COLUMNS
    if out.suffix.lower() == ".csv":
        columns = columns.replace("since", f"{CSV_SINCE} as since")
    key = "email_sha256" if digest == "sha256" else "email"
    # a forgotten address is known only by its tombstone (a keyed hash no partner can match):
    # it stays out of the file, as does every row of it (docs/privacy.md)
    where = "where not starts_with(email, 'forgotten:')" + (
        "" if list_id is None else " and (scope = 'global' or scope = $list_id)"
    )
    # a total order, so that two exports of one run are the same bytes; hashed, it is the
    # order of the digests, which says nothing of the addresses
    rows = f"from read_parquet({sql_literal(str(source))}, hive_partitioning = false) {where}"
    query = f"select {columns} {rows} order by {key}, scope, reason"
    params = {} if list_id is None else {"list_id": list_id}
    temp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    con = duckdb.connect(":memory:")
    try:
        con.execute("set TimeZone = 'UTC'")  # `since` in CSV as UTC, as every time listhygiene writes
        con.execute(f"copy ({query}) to {sql_literal(str(temp))} {target_format}", params)
        os.replace(temp, out)
        # counted on the run's rows (the addresses, not their digests: as many, hashed once only)
        counted = f"select reason, count(*) {rows} group by reason order by reason"
        by_reason = dict(con.execute(counted, params).fetchall())
        [(addresses,)] = con.execute(f"select count(distinct email) {rows}", params).fetchall()
    finally:
        con.close()
        temp.unlink(missing_ok=True)
    return SuppressionExport(out, sum(by_reason.values()), addresses, by_reason)


def _check_list(run: Path, list_id: str, configured_lists: Iterable[str]) -> None:
    """A list the pipeline file names or the run knows (a typo would export only the global rows)."""
    scopes = pl.scan_parquet(run / "suppressions.parquet").select(pl.col("scope").alias("list_id"))
    members = pl.scan_parquet(run / "contact_status.parquet").select("list_id")
    in_run = pl.concat([scopes, members]).drop_nulls().unique().collect().get_column("list_id").to_list()
    known = sorted((set(in_run) - {"global"}) | set(configured_lists))
    if list_id not in known:
        raise ConfigError(
            f"--list {list_id!r} is not a list of run {run.name.removeprefix('run_id=')}; "
            f"its lists: {', '.join(known) or 'none'}."
        )


def _check_target(out: Path, force: bool) -> str:
    """The COPY options of the format `out`'s suffix names; a usage error if it names none."""
    target_format = FORMATS.get(out.suffix.lower())
    if target_format is None:
        raise ConfigError(f"--out {out}: the name must end in .csv or .parquet (that is the format written).")
    if not out.parent.is_dir():
        raise ConfigError(f"--out {out}: the folder {out.parent} does not exist.")
    if out.exists() and not force:
        raise ConfigError(
            f"--out {out} exists already; nothing was written. Choose another name, or pass --force to replace it."
        )
    return target_format
