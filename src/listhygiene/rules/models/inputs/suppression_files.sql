-- suppression_files: the files of suppressions sources (do-not-mail lists kept elsewhere)
-- usable at the as-of time, one row per file. Each file is the whole list as of its snapshot
-- time (a date in its name, else when it was loaded), as a contacts export is; for each source
-- the newest snapshot at or before the as-of is the list in force (is_latest). seq numbers a
-- source's snapshots oldest first, so that external_suppressions can tell an unbroken run of
-- snapshots holding an address from one with a gap (removed, then listed again).

with

params as (
    select as_of from run_params
),

list_files as (
    select
        f.file_id,
        f.source,
        regexp_extract(f.path, '[^/\\]+$') as file_name,
        coalesce(f.snapshot_at, f.loaded_at) as snapshot_at
    from input_files f
    join run_sources s on s.source = f.source and s.kind = f.kind
    where f.kind = 'suppressions'
    -- a re-sent file (same name, new content) replaces its earlier versions
    qualify f.file_id = max(f.file_id) over (partition by f.source, f.path)
),

usable as (
    select l.*
    from list_files l, params p
    where l.snapshot_at <= p.as_of
),

ranked as (
    -- files of one source sharing a snapshot time are one snapshot split over several files
    select
        *,
        dense_rank() over (partition by source order by snapshot_at) as seq,
        dense_rank() over (partition by source order by snapshot_at desc) as recency
    from usable
),

final as (
    select file_id, source, file_name, snapshot_at, seq, recency = 1 as is_latest
    from ranked
)

select * from final
