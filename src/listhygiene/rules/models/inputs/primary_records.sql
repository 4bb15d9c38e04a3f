-- primary_records: the contact record that speaks for an (address, list) when several records
-- share one address (they are one recipient): a record of the latest export first, then one
-- subscribed there, then the most recently exported, then by source and contact id so that
-- the choice never changes between identical runs (record_rank). list_id null: the address
-- as a whole. The record's attributes are not carried here: sendable.parquet reads them from
-- the store for the rows it writes (file_id, row_number).

with

by_list as (
    -- ranked with the memberships (memberships.speaker)
    select
        email,
        list_id,
        speaker.tier,
        speaker.contact_id,
        speaker.file_id,
        speaker.row_number
    from memberships
),

rows_on_no_list as (
    select
        email,
        null::varchar as list_id,
        record_tier(is_latest, status, record_order) as tier,
        contact_id,
        file_id,
        row_number
    from contact_records
    where list_id is null
),

by_address as (
    -- the best row of an address over all its rows: the best of each list's best and of its
    -- rows on no list. Ranked by a window, which sorts and spills to disk: a min() over the
    -- ranking key (a struct with text) kept every address's best key in memory, and at 20M
    -- contacts ran out of a 2.5 GiB limit. Ordered by record_rank's four keys as plain
    -- columns (tier, contact id, file, row).
    select email, null::varchar as list_id, tier, contact_id, file_id, row_number
    from (
        select * from by_list
        union all
        select * from rows_on_no_list
    )
    qualify row_number() over (partition by email order by tier, contact_id, file_id, row_number) = 1
),

chosen as (
    select * from by_list
    union all
    select * from by_address
),

final as (
    select
        c.email,
        c.list_id,
        c.contact_id,
        f.source,
        c.file_id,
        c.row_number
    from chosen c
    join contact_files f using (file_id)
)

select * from final
