-- contact_files: the contacts files usable at the as-of time, one row per file. For each
-- contacts source the newest snapshot at or before the as-of is the current truth
-- (is_latest); older snapshots tell who used to be a member (not_in_source) and when an
-- export started saying something (reason_at). Read by contact_records, and by models that
-- give a row's lineage from its file_id.

with

params as (
    select as_of from run_params
),

snapshot_files as (
    select
        f.file_id,
        f.source,
        regexp_extract(f.path, '[^/\\]+$') as file_name,
        -- a file with neither exported_at nor a date in its name is as new as its loading
        coalesce(f.snapshot_at, f.loaded_at) as snapshot_at
    from input_files f
    join run_sources s on s.source = f.source and s.kind = f.kind
    where f.kind = 'contacts'
    -- a re-exported file (same name, new content) replaces its earlier versions
    qualify f.file_id = max(f.file_id) over (partition by f.source, f.path)
),

usable as (
    select s.*
    from snapshot_files s, params p
    where s.snapshot_at <= p.as_of
),

ranked as (
    -- files of one source sharing a snapshot time are one snapshot split over several files
    select *, dense_rank() over (partition by source order by snapshot_at desc) as recency,
        -- the files' order in record_rank (newest snapshot first, then by source) as one
        -- number, which record_tier packs with a row's other ranking keys
        dense_rank() over (order by snapshot_at desc, source) as record_order
    from usable
),

final as (
    select
        file_id,
        source,
        file_name,
        snapshot_at,
        recency,
        recency = 1 as is_latest,
        record_order
    from ranked
)

select * from final
