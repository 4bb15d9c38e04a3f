-- memberships: every (address, list) pair that any usable export has listed, with what the
-- latest exports say about it. A pair absent from every latest export but present in an
-- earlier one is a former member (not_in_source). The row shown is the last one seen (of several
-- records in one snapshot, the last by file and row, so identical runs write identical rows).
-- speaker: the record that speaks for the membership (record_rank, primary_records' ranking),
-- ranked here, in the one pass over the export rows by address and list: its tier
-- (record_tier), contact id, file and row.
-- The aggregates keep fixed-width keys (time, file, row packed in one integer: seen_key and
-- record_key). The rows last seen and seen pending are kept as file and row: active_reasons
-- makes their lineage text for the few memberships that show it (former members, pending
-- ones), where text for every membership was most of what this model wrote.

with

records as (
    select
        email, list_id, is_latest, snapshot_at, status, contact_id, file_id, row_number,
        seen_key(snapshot_at, file_id, row_number) as seen,
        record_tier(is_latest, status, record_order) as tier
    from contact_records
    where list_id is not null
),

keyed as (
    select *, record_key(tier, file_id, row_number) as key from records
),

per_membership as (
    select
        email,
        list_id,
        bool_or(is_latest) as in_latest,
        min(snapshot_at) as first_seen_at,
        max(seen) as last_seen,
        -- several records of one address may say different things: one pending record is enough
        bool_or(is_latest and status = 'pending') as latest_pending,
        max(seen) filter (where is_latest and status = 'pending') as pending_seen,
        min(key) as speaker_key,
        min(record_key_reversed(key)) as speaker_key_reversed,
        arg_min(contact_id, record_tier_row(tier, row_number)) as speaker_contact_id
    from keyed
    group by email, list_id
),

tied_speakers as (
    -- two rows of the membership in one export (two records, or one record listed twice):
    -- the smaller contact id speaks, as record_rank says, whatever order the export lists
    -- them in. A few memberships, ranked in full.
    select
        r.email,
        r.list_id,
        arg_min({key: record_key(record_tier(r.is_latest, r.status, r.record_order), r.file_id, r.row_number),
                 contact_id: r.contact_id},
                record_rank(r.is_latest, r.status, r.record_order, r.contact_id, r.file_id,
                            r.row_number)) as speaker
    from contact_records r
    semi join (
        select email, list_id from per_membership
        where record_key_ties(speaker_key, speaker_key_reversed)
    ) t on t.email = r.email and t.list_id = r.list_id
    group by r.email, r.list_id
),

ranked as (
    select
        m.*,
        coalesce(t.speaker.key, m.speaker_key) as best,
        coalesce(t.speaker.contact_id, m.speaker_contact_id) as best_contact_id
    from per_membership m
    left join tied_speakers t on t.email = m.email and t.list_id = m.list_id
),

final as (
    select
        m.email,
        m.list_id,
        m.in_latest,
        m.first_seen_at,
        seen_at(m.last_seen) as last_seen_at,
        seen_file_id(m.last_seen) as last_seen_file_id,
        seen_row_number(m.last_seen) as last_seen_row_number,
        m.latest_pending,
        seen_file_id(m.pending_seen) as pending_file_id,
        seen_row_number(m.pending_seen) as pending_row_number,
        {
            tier: record_key_tier(m.best),
            contact_id: m.best_contact_id,
            file_id: seen_file_id(m.best),
            row_number: seen_row_number(m.best)
        } as speaker
    from ranked m
)

select * from final
