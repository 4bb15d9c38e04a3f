-- dirty_addresses: on an incremental night, the addresses whose result may differ from the
-- previous run's; only these are re-evaluated, every other address keeps its previous rows
-- (docs/incremental.md). Every rule groups by address, so an address whose inputs did not
-- change keeps its result, except where the rules compare a time with the as-of or with the
-- latest snapshot. Each part below is one such way to change; missing one would publish a
-- stale row (someone who said no, mailed), so when in doubt an address is dirty.
-- Reads the whole store (contact_rows, the logs), never the restricted input views.

with

params as (
    select as_of, previous_as_of from run_params
),

usable_files as (
    -- the files tonight's rules may read (as contact_files and events choose them)
    select f.file_id, f.source, f.kind, coalesce(f.snapshot_at, f.loaded_at) as snapshot_at
    from input_files f
    join run_sources s on s.source = f.source and s.kind = f.kind
),

latest_files as (
    select file_id, source from contact_files where is_latest
),

newly_usable_snapshots as (
    -- contacts files usable tonight and not last night: tonight's export, or a late one
    select u.file_id
    from usable_files u, params p
    where u.kind = 'contacts' and u.snapshot_at <= p.as_of
      and (u.file_id not in (select file_id from previous_inputs) or u.snapshot_at > p.previous_as_of)
),

late_snapshots as (
    -- one that is not tonight's latest (a late export, older than tonight's) rewrites the
    -- history of the addresses it holds (last seen, since when an export says something,
    -- do_not_contact flag changes)
    select file_id from newly_usable_snapshots anti join latest_files using (file_id)
),

row_contents as not materialized (
    -- an address's rows in one snapshot, by content (the row_content macro).
    -- test_every_contact_column_is_in_the_content_hash fails when contact_rows gains a
    -- column not listed here. Not materialized (here and in events): DuckDB would otherwise
    -- hold every stored row once for its readers, each of which keeps a small part; at 5M
    -- that copy spilled.
    select
        r.email,
        f.source,
        f.file_id,
        row_content(r.contact_id, r.email_raw, r.email_valid, r.list_id, r.status, r.status_raw,
                    r.confirmed_at, r.do_not_contact, r.attributes) as h
    from contact_rows r
    join usable_files f using (file_id)
),

previous_rows as (
    select r.source, r.email, sum(r.h) as content
    from row_contents r semi join previous_snapshot_files p using (file_id)
    group by all
),

latest_rows as (
    select r.source, r.email, sum(r.h) as content
    from row_contents r semi join latest_files l using (file_id)
    group by all
),

changed_rows as (
    -- added to, removed from or edited in the latest export (a former member too: its
    -- membership left the rows)
    select coalesce(p.email, l.email) as email
    from previous_rows p
    full join latest_rows l on l.source = p.source and l.email = p.email
    where p.content is distinct from l.content
),

latest_records as not materialized (
    select r.email, hash(r.email, l.source, r.list_id, r.contact_id) as record_list
    from contact_rows r
    join latest_files l using (file_id)
),

repeated_records as (
    -- a record (source, contact id) with several rows for one list, or several on no list, in
    -- tonight's latest export: the rows tie in record_rank up to file and row, so the first
    -- by row number speaks for the membership and gives sendable.parquet its attributes (a
    -- contact listed twice, under two names). The same rows in another order then publish
    -- the other name though the address's rows are unchanged by content (changed_rows sums
    -- them, in no order). Address, record and list are grouped on as one hash, and the
    -- addresses of every hash seen twice are dirty: two that share a hash make an address
    -- dirty for nothing, never the other way (1M: 0.75 s for four keys, 0.44 s for the
    -- address and a hash of three)
    select email
    from latest_records
    where record_list in (
        select record_list from latest_records group by record_list having count(*) > 1
    )
),

events as not materialized (
    select e.file_id, e.email, e.occurred_at, e.event
    from bounce_events e semi join usable_files f using (file_id)
    union all
    select e.file_id, e.email, e.occurred_at, e.event
    from unsubscribe_events e semi join usable_files f using (file_id)
),

changed_events as (
    -- in a file the previous run did not read (a late log: dated before the last as-of);
    -- or dated between the two as-of times (the as-of is a wall: an event of a file loaded
    -- earlier was hidden last night and counts tonight)
    select e.email, e.event from events e anti join previous_inputs p using (file_id)
    union all
    select e.email, e.event from events e, params p
    where e.occurred_at > p.previous_as_of and e.occurred_at <= p.as_of
),

delivered_to as (
    select distinct email from changed_events where event = 'delivered'
),

liftable as (
    -- a delivery changes a result only by lifting a cause (last_deliveries) or ending a
    -- soft-bounce streak, and every cause and streak starts with an event that is not a
    -- delivery: deliveries to other addresses (most of a night's log) change nothing
    select distinct e.email
    from events e semi join delivered_to d using (email)
    where e.event <> 'delivered'
),

new_events as (
    select email from changed_events where event <> 'delivered'
    union all
    select email from liftable
),

crossed_as_of as (
    -- a confirmation dated between the two as-of times
    select r.email from contact_rows r semi join usable_files f using (file_id), params p
    where r.confirmed_at > p.previous_as_of and r.confirmed_at <= p.as_of
),

subscribed_in_latest as (
    select distinct r.email
    from contact_rows r semi join latest_files l using (file_id)
    where r.status = 'subscribed'
),

opted_out as (
    -- a new snapshot moves its time past an unsubscribe or complaint with unchanged rows:
    -- the export listing the address subscribed after it is a blocked resubscribe, or lifts
    -- an integration unsubscribe. So every address of the unsubscribe log, and every
    -- complaint, that tonight's export lists as subscribed is re-evaluated each night (an
    -- address the export stopped listing as subscribed has changed rows)
    select email from (
        select email from unsubscribe_events semi join usable_files f using (file_id)
        union all
        select email from bounce_events semi join usable_files f using (file_id)
        where event = 'complaint'
    )
    semi join subscribed_in_latest using (email)
),

cites_previous_snapshot as (
    -- a previous row naming a contact row of a snapshot replaced tonight, which cited_rows
    -- cannot rewrite to the same row of tonight's export: the row is written anew
    select email from cited_rows where cited_now is null
    -- every duplicates row names a row of the latest export and gives its export time
    union all
    select email from previous_duplicates
),

in_late_snapshots as (
    select r.email from contact_rows r semi join late_snapshots using (file_id)
),

new_snapshot_times as (
    select n.file_id from newly_usable_snapshots n
    where exists (select 1 from contact_rows r where r.file_id = n.file_id)
),

former_members as (
    -- not_in_source's time is the first snapshot with rows after the member was last seen
    -- (an export without rows does not count): a new snapshot can set or move it, whether
    -- or not it holds the address
    select s.email
    from previous_contact_status s
    where list_contains(s.reasons, 'not_in_source')
      and exists (select 1 from new_snapshot_times)
),

quarantined_in_new_snapshots as (
    -- a row of a new export quarantined holds its record's earlier rows (held_records): the
    -- addresses of such records, by the quarantined row's address and by the earlier rows'
    select q.email from quarantine q semi join newly_usable_snapshots using (file_id)
    union all
    select r.email
    from contact_rows r
    join usable_files f using (file_id)
    semi join (
        select u.source, q.contact_id, q.list_id
        from quarantine q
        join usable_files u using (file_id)
        semi join newly_usable_snapshots n using (file_id)
        where q.contact_id is not null
    ) h on h.source = f.source and h.contact_id = r.contact_id and h.list_id is not distinct from r.list_id
),

new_list_files as (
    -- suppressions files usable tonight and not last night: a new snapshot of a list, or a
    -- late one (an older snapshot moves since when an address is listed: external_suppressions)
    select u.file_id, u.source
    from usable_files u, params p
    where u.kind = 'suppressions' and u.snapshot_at <= p.as_of
      and (u.file_id not in (select file_id from previous_inputs) or u.snapshot_at > p.previous_as_of)
),

previous_latest_lists as (
    -- the snapshot of each list in force last night
    select file_id, source
    from (
        select u.file_id, u.source, u.snapshot_at,
               max(u.snapshot_at) over (partition by u.source) as newest
        from usable_files u, params p
        where u.kind = 'suppressions' and u.snapshot_at <= p.previous_as_of
          and u.file_id in (select file_id from previous_inputs)
    )
    where snapshot_at = newest
),

changed_list_files as (
    -- of each list with a new file tonight: the new files, tonight's newest and last night's
    -- newest snapshot. Every address they hold may have joined or left the list, or have its
    -- since moved (a late snapshot without it breaks its run of snapshots)
    select file_id from new_list_files
    union
    select l.file_id from suppression_files l
    where l.is_latest and l.source in (select source from new_list_files)
    union
    select p.file_id from previous_latest_lists p
    where p.source in (select source from new_list_files)
),

changed_list_rows as (
    select s.email, s.email_sha256 from suppression_rows s semi join changed_list_files using (file_id)
    union all
    -- a quarantined row naming its address is on the list all the same (suppression_records)
    select q.email, null as email_sha256 from quarantine q semi join changed_list_files using (file_id)
),

on_changed_lists as (
    select email from changed_list_rows
    union all
    -- a hashed row names a known address (of the exports or the logs): every address new
    -- tonight is dirty by another part, so last night's are all a hash can name anew
    select distinct k.email
    from (
        select email from previous_contact_status
        union all
        select email from previous_suppressions
        union all
        select email from events where event <> 'delivered'
    ) k
    where sha256(k.email) in (select email_sha256 from changed_list_rows where email_sha256 is not null)
),

final as (
    select email from changed_rows
    union select email from on_changed_lists
    union select email from quarantined_in_new_snapshots
    union select email from repeated_records
    union select email from in_late_snapshots
    union select email from former_members
    union select email from new_events
    union select email from crossed_as_of
    union select email from opted_out
    union select email from cites_previous_snapshot
)

select * from final where email is not null
