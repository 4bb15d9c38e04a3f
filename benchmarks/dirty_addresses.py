"""Counts the addresses a night would have to re-evaluate if the rules ran incrementally.

Run: .venv/bin/python benchmarks/dirty_addresses.py STORE [--write DIRTY.parquet]

STORE is a store that has published at least two runs (e.g. a workspace kept by
`benchmarks/run.py --keep`: benchmarks/data/1m-csv-run/state/store.duckdb). Opened read-only.

Measures the design in docs/incremental.md on real data: of the addresses the latest run knew,
how many had something change since the run before it (the previous run, R, against the latest
run, L). An address is dirty when
  - its rows in the latest snapshot of a contacts source differ from its rows in the snapshot R
    used (content: every column but the row's position and the file's exported_at), or it is
    in only one of them;
  - it has an event in a file loaded after R was published;
  - it has an event or a confirmed_at whose time falls in (R's as-of, L's as-of]: what an as-of
    wall let through tonight and not last night;
  - it has ever had an unsubscribe or complaint: a new snapshot changes whether the export is
    newer than such an event (a blocked resubscribe, an integration unsubscribe lifted), so
    those addresses are re-evaluated every night (a superset, kept simple).
Prints each set's size and the union's share of all addresses; --write saves the dirty
addresses (one column, email) to compare two nights' outputs for the clean ones.
"""

from __future__ import annotations

import sys
import time

import duckdb

QUERY = """
with

runs_ordered as (
    select as_of, finished_at, row_number() over (order by as_of desc, run_id desc) as recency
    from runs where status = 'published'
),
previous as (select as_of, finished_at from runs_ordered where recency = 2),
latest as (select as_of from runs_ordered where recency = 1),

snapshots as (
    -- per contacts source, the snapshot each run used (the newest at or before its as-of)
    select f.source, f.snapshot_at, p.as_of < f.snapshot_at as only_latest
    from input_files f, previous p, latest l
    where f.kind = 'contacts' and coalesce(f.snapshot_at, f.loaded_at) <= l.as_of
),
used as (
    select source,
           max(snapshot_at) filter (where not only_latest) as previous_at,
           max(snapshot_at) as latest_at
    from snapshots group by source
),
row_content as (
    select f.source, f.snapshot_at, c.email,
           hash(c.contact_id, c.email_raw, c.list_id, c.status, c.status_raw, c.confirmed_at,
                c.do_not_contact, c.attributes) as h
    from contact_rows c join input_files f using (file_id)
),
previous_rows as (
    select r.email, r.source, sum(r.h) as h from row_content r join used u
        on u.source = r.source and r.snapshot_at = u.previous_at group by all
),
latest_rows as (
    select r.email, r.source, sum(r.h) as h from row_content r join used u
        on u.source = r.source and r.snapshot_at = u.latest_at group by all
),
changed_rows as (
    select coalesce(p.email, l.email) as email
    from previous_rows p full join latest_rows l on l.email = p.email and l.source = p.source
    where p.h is distinct from l.h
),

events as (
    select e.email, e.occurred_at, e.event, f.loaded_at
    from bounce_events e join input_files f using (file_id)
    union all
    select e.email, e.occurred_at, e.event, f.loaded_at
    from unsubscribe_events e join input_files f using (file_id)
),
new_events as (
    select email from events, previous p where loaded_at > p.finished_at
),
crossed_as_of as (
    select email from events, previous p, latest l
    where occurred_at > p.as_of and occurred_at <= l.as_of
    union all
    select email from contact_rows, previous p, latest l
    where confirmed_at > p.as_of and confirmed_at <= l.as_of
),
ever_opted_out as (
    select email from events where event in ('unsubscribe', 'complaint')
),

addresses as (
    select email from latest_rows union select email from previous_rows
),

dirty as (
    select email from changed_rows union select email from new_events
    union select email from crossed_as_of union select email from ever_opted_out
)

select
    (select count(*) from addresses) as addresses,
    (select count(distinct email) from changed_rows) as changed_rows,
    (select count(distinct email) from new_events) as new_events,
    (select count(distinct email) from crossed_as_of) as crossed_as_of,
    (select count(distinct email) from ever_opted_out) as ever_opted_out,
    (select count(*) from dirty) as dirty
"""


def main() -> None:
    args = sys.argv[1:]
    if len(args) not in (1, 3) or (len(args) == 3 and args[1] != "--write"):
        sys.exit(__doc__)
    con = duckdb.connect(args[0], read_only=True)
    runs = con.execute("select count(*) from runs where status = 'published'").fetchone()[0]
    if runs < 2:
        sys.exit(f"{args[0]}: {runs} published run(s); two are needed")
    start = time.perf_counter()
    row = con.execute(QUERY).fetchone()
    names = [d[0] for d in con.description]
    counts = dict(zip(names, row))
    total = counts["addresses"]
    for name, count in counts.items():
        share = f"  {count / total:6.1%}" if total and name != "addresses" else ""
        print(f"{name:>16} {count:>12,}{share}")
    print(f"measured in {time.perf_counter() - start:.1f} s")
    if len(args) == 3:
        dirty = QUERY[:QUERY.rindex("select\n")] + "select email from dirty"
        con.execute(f"copy ({dirty}) to {sql_text(args[2])} (format parquet)")
        print(f"dirty addresses written to {args[2]}")


def sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


if __name__ == "__main__":
    main()
