-- contact_records: the contact rows of every snapshot usable at the as-of time (contact_files),
-- with the file's snapshot time, recency and lineage. A view: each model reads the columns it
-- needs from the store, and lineage text is made only for the rows that show it.

with

final as (
    select
        f.source,
        f.file_name,
        f.snapshot_at,
        f.recency,
        f.is_latest,
        f.record_order,
        c.*,
        f.source || ':' || f.file_name || ' row ' || c.row_number as lineage
    from contact_files f
    join contact_rows c using (file_id)
)

select * from final
