-- primary_records: the contact record that speaks for an (address, list) when several records
-- share one address (they are one recipient): a record of the latest export first, then one
-- subscribed there, then the most recently exported, then by source and contact id so that
-- the choice never changes between identical runs. list_id null: the address as a whole.
-- The record's attributes are not carried here: sendable.parquet reads them from the store
-- for the rows it writes (file_id, row_number).

with

by_list as (
    -- ranked with the memberships (memberships.speaker: the smallest ranking key wins)
    select email, list_id, speaker as pick
    from memberships
),

rows_on_no_list as (
    select
        email,
        record_rank(is_latest, status, snapshot_at, source, contact_id, file_id, row_number) as pick
    from contact_records
    where list_id is null
),

by_address as (
    -- the best row of an address over all its rows: the best of each list's best and of its
    -- rows on no list. Ranked by a window, which sorts and spills to disk: a min() over the
    -- ranking key (a struct with text) kept every address's best key in memory, and at 20M
    -- contacts ran out of a 2.5 GiB limit.
    select email, null::varchar as list_id, pick
    from (
        select email, pick from by_list
        union all
        select email, pick from rows_on_no_list
    )
    qualify row_number() over (partition by email order by pick) = 1
),

chosen as (
    select * from by_list
    union all
    select * from by_address
),

final as (
    select
        email,
        list_id,
        pick.contact_id,
        pick.source,
        pick.file_id,
        pick.row_number
    from chosen
)

select * from final
