"""Rows into the store's tables: rows of one or many files (addresses normalized, bounces classified) and their quarantine."""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from listhygiene.addresses import normalize_addresses
from listhygiene.ingest.reading import ReadResult
from listhygiene.masking import mask_addresses_in
from listhygiene.privacy.tombstones import NightGuard
from listhygiene.store.reply_classes import CLASSIFIED_BATCH, classify_new_replies

TABLE_OF_KIND = {
    "contacts": "contact_rows",
    "unsubscribes": "unsubscribe_events",
    "bounces": "bounce_events",
    "suppressions": "suppression_rows",
}


def insert_rows(con, kind: str, rows: pl.DataFrame, guard: NightGuard | None = None) -> None:
    """Insert rows of one kind, each naming its file in `file_id` (addresses normalized,
    bounces classified)."""
    addresses = normalize_addresses(rows["email_raw"])
    batch = arrow_of(with_spelling_apart(rows.with_columns(addresses["email"], addresses["email_valid"])))
    # DuckDB reads the batch through this function's local of the name the SQL gives (a
    # replacement scan). A view registered instead would keep every batch in memory until the
    # run's transaction commits: a view dropped in a transaction lives on until then.
    new_rows = batch  # noqa: F841
    batch_sql = "select * from new_rows"
    if kind == "bounces":
        classify_new_replies(con, batch)
        batch_sql = CLASSIFIED_BATCH
    if guard is not None:
        guard.insert(TABLE_OF_KIND[kind], batch_sql, batch)
        return
    con.execute(f"insert into {TABLE_OF_KIND[kind]} by name {batch_sql}")


def insert_quarantine(con, quarantine: pl.DataFrame, guard: NightGuard | None = None) -> None:
    """Insert quarantined rows (ingest.quarantine's columns), each naming its file in `file_id`."""
    if not quarantine.height:
        return
    identified = quarantine.with_columns(email=normalize_addresses(quarantine["email_raw"])["email"])
    new_quarantine = arrow_of(identified)  # read by name: see insert_rows
    if guard is not None:
        guard.hold_quarantine(new_quarantine)
        return
    con.execute(
        'insert into quarantine select file_id, row_number, "column", error, raw, contact_id, list_id, email '
        "from new_quarantine"
    )


def with_spelling_apart(rows: pl.DataFrame) -> pl.DataFrame:
    """The rows as the store keeps them: email_spelling, the input's spelling only where it
    differs from the normalized address (store.database.SPELLING), in place of email_raw."""
    same = pl.col("email_raw") == pl.col("email")
    return rows.with_columns(
        pl.when(same).then(None).otherwise(pl.col("email_raw")).alias("email_raw")
    ).rename({"email_raw": "email_spelling"})


def arrow_of(frame: pl.DataFrame) -> pa.Table:
    """The frame as Arrow without copying its text: DuckDB reads polars' string views as they are."""
    return frame.to_arrow(compat_level=pl.CompatLevel.newest())


def rejection(result: ReadResult, limit: float) -> str:
    """Why a file over the quarantine limit is refused, with its first quarantined rows (masked)."""
    q = result.quarantine
    examples = q.sort("row_number").head(3)
    lines = [
        f"row {r['row_number']}"
        + (f", column {r['column']!r}" if r["column"] else "")
        + f": {mask_addresses_in(r['error'])}"
        for r in examples.iter_rows(named=True)
    ]
    return (
        f"file {result.path} ({result.source}): {q.height} of {result.rows_read} rows quarantined "
        f"({q.height / result.rows_read:.1%}, limit {limit:.1%}); first: " + "; ".join(lines)
    )
