-- memberships: every (address, list) pair that any usable export has listed, with what the
-- latest exports say about it. A pair absent from every latest export but present in an
-- earlier one is a former member (not_in_source).

with

records as (
    select * from contact_records where list_id is not null
),

final as (
    select
        email,
        list_id,
        bool_or(is_latest) as in_latest,
        min(snapshot_at) as first_seen_at,
        max(snapshot_at) as last_seen_at,
        arg_max(lineage, snapshot_at) as last_seen_lineage,
        -- several records of one address may say different things: one pending record is enough
        bool_or(is_latest and status = 'pending') as latest_pending,
        arg_max(lineage, snapshot_at) filter (where is_latest and status = 'pending') as pending_lineage
    from records
    group by email, list_id
)

select * from final
