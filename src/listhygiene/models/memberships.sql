-- memberships: every (address, list) pair that any usable export has listed, with what the
-- latest exports say about it. A pair absent from every latest export but present in an
-- earlier one is a former member (not_in_source). The row shown is the last one seen (of several
-- records in one snapshot, the last by file and row, so identical runs write identical rows).
-- speaker: the ranking key of the record that speaks for the membership, read by
-- primary_records (ranked here, in the one pass over the export rows by address and list).
-- The aggregates keep fixed-width keys (time, file, row packed in one integer: seen_key);
-- lineage text is made per membership.

with

records as (
    select
        email, list_id, is_latest, snapshot_at, status,
        seen_key(snapshot_at, file_id, row_number) as seen,
        -- primary_records' ranking of the record (see the macro)
        record_rank(is_latest, status, snapshot_at, source, contact_id, file_id, row_number) as rank_key
    from contact_records
    where list_id is not null
),

per_membership as (
    select
        email,
        list_id,
        bool_or(is_latest) as in_latest,
        min(snapshot_at) as first_seen_at,
        max(seen) as last_seen,
        -- several records of one address may say different things: one pending record is enough
        bool_or(is_latest and status = 'pending') as latest_pending,
        max(seen) filter (where is_latest and status = 'pending') as pending_seen,
        min(rank_key) as speaker
    from records
    group by email, list_id
),

final as (
    select
        m.email,
        m.list_id,
        m.in_latest,
        m.first_seen_at,
        seen_at(m.last_seen) as last_seen_at,
        lineage(l.source, l.file_name, seen_row_number(m.last_seen)) as last_seen_lineage,
        m.latest_pending,
        lineage(p.source, p.file_name, seen_row_number(m.pending_seen)) as pending_lineage,
        m.speaker
    from per_membership m
    join contact_files l on l.file_id = seen_file_id(m.last_seen)
    left join contact_files p on p.file_id = seen_file_id(m.pending_seen)
)

select * from final
