-- suppression_records: the rows of every usable suppressions file (suppression_files), each
-- with its file's snapshot and lineage (a view). A row names its address in clear (email,
-- normalized) or hashed (email_sha256). A quarantined row that still names its address in
-- clear (its occurred_at did not parse) is on the list all the same: a quarantined row is not
-- an absence (as held_records is for the exports), so it counts with no since of its own.

with

files as (
    select file_id, source, file_name, snapshot_at, seq, is_latest from suppression_files
),

listed as (
    select
        s.file_id, s.row_number, s.email, s.email_sha256, s.list_id, s.reason, s.occurred_at,
        false as is_held
    from suppression_rows s
    semi join files f using (file_id)
),

held as (
    select
        q.file_id, q.row_number, q.email, null::varchar as email_sha256, q.list_id,
        null::varchar as reason, null::timestamptz as occurred_at, true as is_held
    from quarantine q
    semi join files f using (file_id)
    where q.email is not null
),

final as (
    select
        r.*,
        f.source, f.file_name, f.snapshot_at, f.seq, f.is_latest,
        lineage(f.source, f.file_name, r.row_number) as lineage
    from (select * from listed union all select * from held) r
    join files f using (file_id)
)

select * from final
