-- previous_snapshot_files: on an incremental night, per contacts source, the files of the
-- snapshot the previous run used as its latest export: its newest file at or before the
-- previous as-of (all files of that snapshot time: one snapshot split over files).
-- replaced: tonight's rules no longer read it as the latest (a newer export came); the
-- previous run's rows cite its rows as `cited` || row number (the lineage macro's text).
-- ambiguous: another usable file of the source has the same name (exports dated by folder,
-- each named contacts.csv), so a citation of its rows cannot be told from one of the other's.

with

params as (
    select previous_as_of from run_params
),

usable_files as (
    -- the contacts files tonight's rules may read (as contact_files chooses them)
    select f.file_id, f.source, regexp_extract(f.path, '[^/\\]+$') as file_name,
           coalesce(f.snapshot_at, f.loaded_at) as snapshot_at
    from input_files f
    join run_sources s on s.source = f.source and s.kind = f.kind
    where f.kind = 'contacts'
),

previous_latest as (
    select u.*
    from usable_files u
    semi join previous_inputs p using (file_id)
    where u.snapshot_at <= (select previous_as_of from params)
    qualify u.snapshot_at = max(u.snapshot_at) over (partition by u.source)
),

final as (
    select
        p.file_id,
        p.source,
        p.file_name,
        p.snapshot_at,
        p.file_id not in (select file_id from contact_files where is_latest) as replaced,
        lineage(p.source, p.file_name, '') as cited,
        exists (select 1 from usable_files u
                where u.source = p.source and u.file_name = p.file_name and u.file_id <> p.file_id)
            as ambiguous
    from previous_latest p
)

select * from final
