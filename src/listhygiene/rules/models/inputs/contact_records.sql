-- contact_records: the contact rows of every snapshot usable at the as-of time (contact_files),
-- with the file's snapshot time, recency and lineage. A view: each model reads the columns it
-- needs from the store, and lineage text is made only for the rows that show it. A row held for
-- a quarantined row of tonight's export (held_records) counts as the latest export's.

with

final as (
    select
        f.source,
        f.file_name,
        f.snapshot_at,
        case when h.file_id is not null then 1 else f.recency end as recency,
        f.is_latest or h.file_id is not null as is_latest,
        h.file_id is not null as is_held,
        f.record_order,
        c.*,
        f.source || ':' || f.file_name || ' row ' || c.row_number as lineage
    from contact_files f
    join contact_rows c using (file_id)
    left join held_records h on h.file_id = c.file_id and h.row_number = c.row_number
)

select * from final
