-- primary_records: the contact record that speaks for an (address, list) when several records
-- share one address (they are one recipient): a record of the latest export first, then one
-- subscribed there, then the most recently exported, then by source and contact id so that
-- the choice never changes between identical runs. list_id null: the address as a whole.

with

ranked_by_list as (
    select
        email, list_id, contact_id, source, file_id, row_number, attributes, lineage,
        row_number() over (
            partition by email, list_id
            order by is_latest desc, (status = 'subscribed') desc, snapshot_at desc,
                     source, contact_id, file_id, row_number
        ) as pick
    from contact_records
    where list_id is not null
),

ranked_by_address as (
    select
        email, null::varchar as list_id, contact_id, source, file_id, row_number, attributes, lineage,
        row_number() over (
            partition by email
            order by is_latest desc, (status = 'subscribed') desc, snapshot_at desc,
                     source, contact_id, file_id, row_number
        ) as pick
    from contact_records
),

final as (
    select * exclude (pick) from ranked_by_list where pick = 1
    union all
    select * exclude (pick) from ranked_by_address where pick = 1
)

select * from final
