"""What the newest run says of an audience's addresses, for `clean`: the reason each may not be mailed."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from listhygiene.privacy.recognition import forgotten_verdicts
from listhygiene.rules.reasons import PRECEDENCE, REASONS

# Reasons of clean beyond the rules' own: a row of an address already kept above it, and an
# address that is not a member of the list.
NOT_ON_LIST, DUPLICATE = "not_on_list", "duplicate"
REASON_ORDER = {**PRECEDENCE, NOT_ON_LIST: len(PRECEDENCE) + 1, DUPLICATE: len(PRECEDENCE) + 2}
TRANSACTIONAL_BLOCKERS = tuple(r.name for r in REASONS if r.blocks_transactional)
VERDICT_SCHEMA = {"email": pl.String, "verdict": pl.String, "verdict_detail": pl.String, "member": pl.Boolean}


def with_verdicts(
    addresses: pl.DataFrame, run: Path, marketing_list: str | None, key_file: Path | None
) -> pl.DataFrame:
    """`addresses` with the run's verdict on each: verdict, verdict_detail, member."""
    if marketing_list is not None:
        judged = _with_marketing_verdicts(addresses, run, marketing_list)
    else:
        judged = addresses.join(_transactional_verdicts(run), on="email", how="left", maintain_order="left")
    no_verdicts = pl.DataFrame(schema=VERDICT_SCHEMA)
    forgotten = forgotten_verdicts(run, addresses, no_verdicts, key_file)
    if not forgotten.height:
        return judged
    # known to the run by a tombstone only, never in clear: no verdict above
    return judged.join(forgotten, on="email", how="left", maintain_order="left", suffix="_forgotten").select(
        *addresses.columns,
        verdict=pl.coalesce("verdict", "verdict_forgotten"),
        verdict_detail=pl.coalesce("verdict_detail", "verdict_detail_forgotten"),
        member=pl.col("member").fill_null(False) | pl.col("member_forgotten").fill_null(False),
    )


def _with_marketing_verdicts(addresses: pl.DataFrame, run: Path, list_id: str) -> pl.DataFrame:
    """`addresses` with why each may not get marketing mail on the list, and membership.

    Any active suppression of the address, global or for the list, wins (it also covers
    addresses seen only in the logs); then the list's own status (unconfirmed, not_in_source);
    an address with no status on the list is no member and is never mailed. Each is joined to
    the audience on its own (a full join of the two, then the audience, took twice as long).
    """
    suppressed = _first_by_precedence(
        pl.scan_parquet(run / "suppressions.parquet")
        .filter(pl.col("scope").is_in(["global", list_id]))
        .select("email", "reason", "detail")
    ).select("email", suppression_reason="reason", suppression_detail="detail")
    status = (
        pl.scan_parquet(run / "contact_status.parquet")
        .filter(pl.col("list_id") == list_id)
        .select("email", "sendable", status_reason="reason", status_detail="detail")
        .collect()
    )
    not_sendable = ~pl.col("sendable")
    return (
        addresses.join(suppressed, on="email", how="left", maintain_order="left")
        .join(status, on="email", how="left", maintain_order="left")
        .select(
            *addresses.columns,
            verdict=pl.coalesce("suppression_reason", pl.when(not_sendable).then("status_reason")),
            verdict_detail=pl.coalesce("suppression_detail", pl.when(not_sendable).then("status_detail")),
            member=pl.col("sendable").is_not_null(),
        )
    )


def _transactional_verdicts(run: Path) -> pl.DataFrame:
    """Per address: why it may not get transactional mail (only a hard bounce or an invalid address)."""
    suppressed = (
        pl.scan_parquet(run / "suppressions.parquet")
        .filter(pl.col("reason").is_in(TRANSACTIONAL_BLOCKERS))
        .select("email", "reason", "detail")
    )
    # the same from contact_status, a fail-safe should a blocking reason lack a suppression row
    blocked = (
        pl.scan_parquet(run / "contact_status.parquet")
        .filter(~pl.col("transactional_ok"))
        .select(
            "email",
            reason=pl.col("reasons").list.filter(pl.element().is_in(TRANSACTIONAL_BLOCKERS)).list.first(),
            detail="detail",
        )
    )
    return _first_by_precedence(
        pl.concat([suppressed, blocked.join(suppressed, on="email", how="anti")])
    ).select("email", verdict="reason", verdict_detail="detail", member=pl.lit(True))


def _first_by_precedence(rows: pl.LazyFrame) -> pl.DataFrame:
    """One row per address: its reason first in SPEC precedence, with that reason's detail.

    Most addresses have one row: only the rows of the others are ranked (a sort by reason and
    detail of every row was most of the time of a large audience)."""
    frame = rows.collect()
    repeated = frame.get_column("email").is_duplicated()
    ranked = (
        frame.filter(repeated)
        .with_columns(rank=pl.col("reason").replace_strict(REASON_ORDER, default=99, return_dtype=pl.Int32))
        .sort("rank", "detail")
        .unique("email", keep="first", maintain_order=True)
        .drop("rank")
    )
    return pl.concat([frame.filter(~repeated), ranked])
