-- held_records: the contact rows that stand in for rows of tonight's export that were
-- quarantined. A quarantined row says nothing reliable about its record (a do_not_contact of
-- "maybe", a byte the file's encoding could not decode), but it does say the record is still
-- in the export: it is not an absence. So the record's rows of the newest earlier snapshot
-- that has them (same source, contact id and list) count as if tonight's export still listed
-- them, unchanged: the membership, its status and flags stay as last seen, and nothing
-- vanishes as not_in_source for a row the export did hold. A record with a good row in the
-- latest snapshot too is not held. A record seen for the first time in a quarantined row has
-- no earlier row to hold: it is not known yet. One row per contact row held.

with

latest_files as (
    select file_id, source, snapshot_at from contact_files where is_latest
),

quarantined as (
    -- the records of tonight's quarantined rows (rows quarantined before store version 5
    -- carry no identity and hold nothing)
    select distinct f.source, q.contact_id, q.list_id
    from quarantine q
    join latest_files f using (file_id)
    where q.contact_id is not null
),

present_tonight as (
    select distinct f.source, c.contact_id, c.list_id
    from contact_rows c
    join latest_files f using (file_id)
    semi join quarantined q
        on q.source = f.source and q.contact_id = c.contact_id and q.list_id is not distinct from c.list_id
),

earlier_rows as (
    select
        c.file_id,
        c.row_number,
        f.source,
        c.contact_id,
        c.list_id,
        f.snapshot_at,
        max(f.snapshot_at) over (partition by f.source, c.contact_id, c.list_id) as newest_at
    from contact_rows c
    join contact_files f using (file_id)
    semi join quarantined q
        on q.source = f.source and q.contact_id = c.contact_id and q.list_id is not distinct from c.list_id
    where not f.is_latest
),

final as (
    select e.file_id, e.row_number, e.source, e.contact_id, e.list_id
    from earlier_rows e
    anti join present_tonight p
        on p.source = e.source and p.contact_id = e.contact_id and p.list_id is not distinct from e.list_id
    where e.snapshot_at = e.newest_at
)

select * from final
