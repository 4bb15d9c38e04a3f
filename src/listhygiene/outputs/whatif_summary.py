"""What a what-if changes: changes.parquet, and per list who would leave and come back, by reason."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import polars as pl

from listhygiene.masking import mask_email_expr
from listhygiene.sql import sql_literal

CHANGES = "changes.parquet"
EXAMPLES = 3  # masked addresses shown per list, direction and reason

# Every (address, list) whose sendable flag or reason differs between the statuses now
# (status_as_is) and under the change (the rules' contact_status). An (address, list) known on
# one side only is not sendable on the other. `change`: leaves (sendable now, not under the
# change), comes_back (the other way), reason (not sendable either way, for another reason).
CHANGED_ROWS = """
    select
        coalesce(w.list_id, n.list_id) as list_id,
        coalesce(w.email, n.email) as email,
        coalesce(w.contact_id, n.contact_id) as contact_id,
        coalesce(n.sendable, false) as sendable_now,
        coalesce(w.sendable, false) as sendable_whatif,
        n.reason as reason_now,
        w.reason as reason_whatif,
        w.detail as detail_whatif,
        case
            when coalesce(n.sendable, false) and not coalesce(w.sendable, false) then 'leaves'
            when coalesce(w.sendable, false) and not coalesce(n.sendable, false) then 'comes_back'
            else 'reason'
        end as change
    from status_as_is n
    full join contact_status w
      on w.email = n.email and w.list_id is not distinct from n.list_id
    where coalesce(n.sendable, false) <> coalesce(w.sendable, false)
       or n.reason is distinct from w.reason
"""

PER_LIST = """
    with lists as (
        select list_id from status_as_is union select list_id from contact_status
    ),
    now_sendable as (select list_id, count(*) filter (sendable) as n from status_as_is group by list_id),
    whatif_sendable as (select list_id, count(*) filter (sendable) as n from contact_status group by list_id),
    moved as (
        select list_id,
               count(*) filter (change = 'leaves') as leaves,
               count(*) filter (change = 'comes_back') as comes_back,
               count(*) filter (change = 'reason') as reason_changed
        from changes group by list_id
    )
    select l.list_id, coalesce(n.n, 0), coalesce(w.n, 0),
           coalesce(m.leaves, 0), coalesce(m.comes_back, 0), coalesce(m.reason_changed, 0)
    from lists l
    left join now_sendable n on n.list_id is not distinct from l.list_id
    left join whatif_sendable w on w.list_id is not distinct from l.list_id
    left join moved m on m.list_id is not distinct from l.list_id
    order by l.list_id nulls first
"""

# Per list and direction, by reason: those who leave by the reason they would have, those who
# come back by the reason they have now (what the change lifts); a few addresses of each.
BY_REASON = f"""
    select list_id, change, reason, count(*) as n,
           list(email order by email)[1:{EXAMPLES}] as examples
    from (
        select list_id, change, email,
               case change when 'comes_back' then reason_now else reason_whatif end as reason
        from changes
        where change <> 'reason'
    )
    group by list_id, change, reason
    order by list_id nulls first, change desc, n desc, reason nulls first
"""


def summarize(con: duckdb.DuckDBPyConnection, target: Path, scratch: Path) -> dict:
    """Write `target` (changes.parquet) from status_as_is and contact_status; the counts per list."""
    con.execute(f"create or replace temp table changes as {CHANGED_ROWS}")
    written = scratch / CHANGES
    con.execute(
        f"copy (select * from changes order by list_id nulls first, email) "
        f"to {sql_literal(str(written))} (format parquet, compression zstd)"
    )
    os.replace(written, target)
    by_reason = con.sql(BY_REASON).pl()
    by_reason = by_reason.with_columns(pl.col("examples").list.eval(mask_email_expr(pl.element())))
    lists = []
    for list_id, now, whatif, leaves, comes_back, reason_changed in con.execute(PER_LIST).fetchall():
        mine = by_reason.filter(
            pl.col("list_id").is_null() if list_id is None else pl.col("list_id") == list_id
        )
        lists.append(
            {
                "list_id": list_id,
                "sendable_now": now,
                "sendable_whatif": whatif,
                "leave": leaves,
                "come_back": comes_back,
                "reason_changed": reason_changed,
                "leave_by_reason": _by_reason(mine, "leaves"),
                "come_back_by_reason": _by_reason(mine, "comes_back"),
            }
        )
    [(total,)] = con.execute("select count(*) from changes").fetchall()
    return {
        "changed_rows": total,
        "leave": sum(item["leave"] for item in lists),
        "come_back": sum(item["come_back"] for item in lists),
        "lists": lists,
    }


def _by_reason(frame: pl.DataFrame, change: str) -> list[dict]:
    """Reasons with their count and a few masked addresses, most frequent first."""
    rows = frame.filter(pl.col("change") == change).select("reason", "n", "examples")
    return rows.to_dicts()
