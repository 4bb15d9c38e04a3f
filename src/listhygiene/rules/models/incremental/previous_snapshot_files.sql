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

previous_latest as (
    -- contact_files holds every file the previous run read: a basis whose input was
    -- re-exported since is no basis (incremental.basis)
    select f.*
    from contact_files f
    semi join previous_inputs p using (file_id)
    where f.snapshot_at <= (select previous_as_of from params)
    qualify f.snapshot_at = max(f.snapshot_at) over (partition by f.source)
),

final as (
    select
        p.file_id,
        p.source,
        p.file_name,
        p.snapshot_at,
        not p.is_latest as replaced,
        lineage(p.source, p.file_name, '') as cited,
        exists (select 1 from contact_files f
                where f.source = p.source and f.file_name = p.file_name and f.file_id <> p.file_id)
            as ambiguous
    from previous_latest p
)

select * from final
