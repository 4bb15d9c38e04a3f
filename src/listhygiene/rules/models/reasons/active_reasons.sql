-- active_reasons: every reason active at the as-of time, per candidate (address, list).
-- Event reasons are active while some cause has no applicable lift after it; their reason_at
-- is the first cause since the last lift. Export reasons follow the latest export.
-- is_global marks reasons that hold for the address as a whole. Where two causes start at the
-- same time, the one whose detail sorts first is shown, so identical runs write identical rows.

with

params as (
    select as_of from run_params
),

event_reasons as (
    -- each unlifted cause as it is: final takes each reason's first cause, over these and
    -- the export's causes at once
    select email, list_id, reason, occurred_at as reason_at, detail, origin, source, is_global
    from unlifted_causes
),

latest_assertions as (
    -- the (source, address, list) whose latest export asserts something: only these can give
    -- an export reason, and they are a few percent of the rows
    select distinct source, email, list_id
    from contact_records
    where is_latest and (status in ('unsubscribed', 'cleaned') or do_not_contact)
),

export_observations as (
    -- what each usable snapshot says per (source, address, list) of those: status and flag
    select
        r.source, r.email, r.list_id, r.snapshot_at, r.is_latest,
        bool_or(r.status = 'unsubscribed') as says_unsubscribed,
        bool_or(r.status = 'cleaned') as says_cleaned,
        bool_or(r.do_not_contact) as says_do_not_contact,
        arg_min(r.lineage, {row_number: r.row_number, file_id: r.file_id}) as lineage,
        arg_min(r.status_raw, {row_number: r.row_number, file_id: r.file_id}) filter (where r.status in ('unsubscribed', 'cleaned')) as status_raw
    from contact_records r
    semi join latest_assertions a
      on a.source = r.source and a.email = r.email and a.list_id is not distinct from r.list_id
    group by r.source, r.email, r.list_id, r.snapshot_at, r.is_latest
),

export_claims as (
    -- the three things an export can assert about an (address, list)
    select o.*, c.reason,
        case c.reason when 'source_unsubscribed' then o.says_unsubscribed
                      when 'source_cleaned' then o.says_cleaned
                      else o.says_do_not_contact end as asserted
    from export_observations o
    cross join (values ('source_unsubscribed'), ('source_cleaned'), ('do_not_contact')) as c(reason)
),

asserted_now as (
    select source, email, list_id, reason, lineage, status_raw
    from export_claims
    where is_latest and asserted
),

claim_history as (
    -- earlier snapshots of only those claims, to date each one
    select h.*
    from export_claims h
    semi join asserted_now a
      on a.source = h.source and a.email = h.email and a.reason = h.reason
     and a.list_id is not distinct from h.list_id
),

export_states as (
    -- since: the first snapshot of the current unbroken run of snapshots asserting it
    select a.source, a.email, a.list_id, a.reason, a.lineage, a.status_raw,
        min(h.snapshot_at) filter (
            where h.asserted and (h.last_denied_at is null or h.snapshot_at > h.last_denied_at)
        ) as since
    from asserted_now a
    join (
        -- null: no snapshot ever denied it
        select *, max(snapshot_at) filter (where not asserted)
                over (partition by source, email, list_id, reason) as last_denied_at
        from claim_history
    ) h
      on h.source = a.source and h.email = a.email and h.reason = a.reason
     and h.list_id is not distinct from a.list_id
    group by all
),

export_details as (
    select
        *,
        case when reason = 'do_not_contact'
             then 'do_not_contact flag set in the export'
             else 'export status "' || coalesce(status_raw, reason) || '"' end
        || ' since ' || strftime(since::timestamp, '%Y-%m-%dT%H:%MZ') || ' (' || lineage || ')' as detail
    from export_states
),

export_reasons as (
    -- each export cause on each candidate it covers, as it is (final takes each reason's
    -- first cause): a row with no list speaks for the address as a whole (e.g. Bulk Email:
    -- Do Not Allow), and the do_not_contact flag always does
    select
        k.email, k.list_id, e.reason,
        e.since as reason_at, e.detail, 'export' as origin, e.source,
        e.list_id is null or e.reason = 'do_not_contact' as is_global
    from export_details e
    join candidates k
      on k.email = e.email
     and (e.list_id is null or e.reason = 'do_not_contact' or e.list_id = k.list_id)
),

invalid_addresses as (
    select
        k.email, k.list_id, 'invalid_address' as reason,
        min(r.snapshot_at) as reason_at,
        arg_min('"' || r.email_raw || '" is not a valid address (' || r.lineage || ')',
                {starts: r.snapshot_at, file_id: r.file_id, row_number: r.row_number}) as detail,
        'export' as origin,
        arg_min(r.source, {starts: r.snapshot_at, file_id: r.file_id, row_number: r.row_number}) as source,
        true as is_global
    from contact_records r
    join candidates k on k.email = r.email
    where not r.email_valid
    group by k.email, k.list_id
),

confirmations as (
    -- for one list, or (list_id null) for every list of the address; only whether one exists
    -- counts, so none is deduplicated
    select email, list_id from contact_records
    where confirmed_at is not null and confirmed_at <= (select as_of from params)
    union all
    select email, list_id from non_delivery_events where kind = 'resubscribe' and evidence = 'confirmed_optin'
),

list_confirmations as (
    select email, list_id from confirmations where list_id is not null
),

address_confirmations as (
    select email from confirmations where list_id is null
),

unconfirmed as (
    -- double opt-in lists need a recorded confirmation; an export saying pending needs one too
    select
        m.email, m.list_id, 'unconfirmed' as reason,
        m.first_seen_at as reason_at,
        case when m.latest_pending
             then 'export status pending, no confirmation recorded ('
                  || lineage(p.source, p.file_name, m.pending_row_number) || ')'
             else 'list ' || m.list_id || ' requires confirmed opt-in; none recorded'
        end as detail,
        'export' as origin,
        null::varchar as source,
        false as is_global
    from memberships m
    left join list_settings s on s.list_id = m.list_id
    left join contact_files p on p.file_id = m.pending_file_id
    where m.in_latest
      and (coalesce(s.require_confirmed_optin, false) or m.latest_pending)
      -- two anti joins on equalities: one exists() with an `or` in it was a dependent join
      -- over every membership that needs a confirmation
      and not exists (
          select 1 from list_confirmations c where c.email = m.email and c.list_id = m.list_id
      )
      and not exists (select 1 from address_confirmations c where c.email = m.email)
),

snapshot_times as (
    -- the snapshots that hold rows, from the files (not from contact_records, which an
    -- incremental night restricts to some addresses)
    select distinct f.snapshot_at
    from contact_files f
    where exists (select 1 from contact_rows r where r.file_id = f.file_id)
),

not_in_source as (
    select
        m.email, m.list_id, 'not_in_source' as reason,
        -- the first snapshot that no longer had it
        (select min(t.snapshot_at) from snapshot_times t where t.snapshot_at > m.last_seen_at) as reason_at,
        'absent from the latest export; last seen ' || strftime(m.last_seen_at::timestamp, '%Y-%m-%dT%H:%MZ')
            || ' (' || lineage(l.source, l.file_name, m.last_seen_row_number) || ')' as detail,
        'export' as origin,
        null::varchar as source,
        false as is_global
    from memberships m
    join contact_files l on l.file_id = m.last_seen_file_id
    where not m.in_latest
),

all_reasons as (
    select * from event_reasons
    union all by name select * from export_reasons
    union all by name select * from invalid_addresses
    union all by name select * from unconfirmed
    union all by name select * from not_in_source
),

final as (
    -- one reason can hold for two causes at once (a do_not_contact event and the export's
    -- flag): it is one reason, active since the earlier of them (the first cause's start:
    -- first_cause ranks causes without a time last, as min(reason_at) skips them)
    select email, list_id, reason, first.starts as reason_at, first.detail, first.origin,
           first.source, is_global
    from (
        select
            email, list_id, reason,
            first_cause(reason_at, detail, origin, source) as first,
            bool_or(is_global) as is_global
        from all_reasons
        group by email, list_id, reason
    )
)

select * from final
