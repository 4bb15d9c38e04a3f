-- external_suppressions: every (address, scope) on a do-not-mail list kept elsewhere (a
-- suppressions source: a partner's, an affiliate's, a suppression service's) at the as-of.
-- An address is on a list while the newest snapshot of that source holds it (SPEC §4,
-- external_suppression): leaving the list lifts it, and nothing else does. list_id null is
-- every list of the address, else that list only. One row per (source, address, list_id).
--
-- A hashed row (email_sha256: SHA-256 of the normalized address, lowercase hex) names an
-- address only if the run knows it (from the exports or the logs): a hash is not reversed,
-- so a hash of an address the run has never seen suppresses nothing and is shown nowhere.
-- since: the row's own occurred_at when the list gives one (never after the snapshot that
-- holds it), else the first snapshot of the current unbroken run of snapshots holding it.

with

known_addresses as (
    -- the addresses the run evaluates (as candidates finds them), which a hash can name
    select email from primary_records where list_id is null
    union
    select email from non_delivery_events
),

listed_hashes as (
    select distinct email_sha256 from suppression_records where email_sha256 is not null
),

hashed_addresses as (
    -- the known addresses whose hash is on some list: each known address is hashed only when
    -- a list holds hashes at all (an empty build side ends the join before it probes)
    select k.email, h.email_sha256
    from known_addresses k
    join listed_hashes h on h.email_sha256 = sha256(k.email)
),

holdings as (
    -- every row of every usable snapshot, by the address it names
    select
        r.email, r.list_id, r.source, r.seq, r.is_latest, r.snapshot_at, r.occurred_at,
        r.reason, r.lineage, r.file_id, r.file_name, r.row_number, false as is_hashed
    from suppression_records r
    where r.email is not null
    union all
    select
        h.email, r.list_id, r.source, r.seq, r.is_latest, r.snapshot_at, r.occurred_at,
        r.reason, r.lineage, r.file_id, r.file_name, r.row_number, true as is_hashed
    from suppression_records r
    join hashed_addresses h on h.email_sha256 = r.email_sha256
),

in_force as (
    -- what the newest snapshot of each source holds; of several rows for one (address, list),
    -- the one dated earliest speaks (then the first in the file)
    select
        source, email, list_id,
        arg_min(
            {occurred_at: occurred_at, snapshot_at: snapshot_at, reason: reason, lineage: lineage,
             is_hashed: is_hashed, file_name: file_name, row_number: row_number},
            -- an undated row last: a null field sorts after every value in a struct
            {occurred_at: occurred_at, file_id: file_id, row_number: row_number}
        ) as cited
    from holdings
    where is_latest
    group by source, email, list_id
),

runs_of_snapshots as (
    -- the snapshots holding each (source, address, list) in force: a gap in the source's
    -- snapshot sequence (a snapshot without it) starts a new run (island)
    select
        h.source, h.email, h.list_id, h.snapshot_at,
        h.seq - dense_rank() over (partition by h.source, h.email, h.list_id order by h.seq) as island
    from (select distinct source, email, list_id, seq, snapshot_at from holdings) h
    semi join in_force f
      on f.source = h.source and f.email = h.email and f.list_id is not distinct from h.list_id
),

listed_since as (
    -- the first snapshot of the run that holds the newest snapshot (the last island)
    select source, email, list_id, min(snapshot_at) as first_listed_at
    from (
        select *, max(island) over (partition by source, email, list_id) as last_island
        from runs_of_snapshots
    )
    where island = last_island
    group by source, email, list_id
),

dated as (
    select
        f.source, f.email, f.list_id, f.cited,
        case when f.cited.occurred_at is not null
             then least(f.cited.occurred_at, f.cited.snapshot_at)  -- least() would skip a null
             else s.first_listed_at end as since
    from in_force f
    join listed_since s
      on s.source = f.source and s.email = f.email and s.list_id is not distinct from f.list_id
),

final as (
    select
        email,
        list_id,
        'external_suppression' as reason,
        since,
        'suppression_list' as origin,
        source,
        concat_ws(' ',
            'on suppression list "' || source || '"',
            'for ' || list_id,
            '(' || nullif(concat_ws(', ',
                'reason "' || left(cited.reason, 80) || case when length(cited.reason) > 80 then '…' else '' end || '"',
                case when cited.is_hashed then 'matched by SHA-256' end
            ), '') || ')',
            'since ' || utc_minute(since)
        ) || ' (' || cited.lineage || ')' as detail,
        -- the row cited, for explain's timeline
        cited.file_name,
        cited.row_number,
        cited.reason as list_reason
    from dated
)

select * from final
