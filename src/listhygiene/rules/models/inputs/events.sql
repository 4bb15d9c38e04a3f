-- events: every log event usable at the as-of time, in one shape, with its lineage
-- (source, file_name, row_number; described in words by the event_detail macro). Both logs feed it: a complaint may come from the sending platform's
-- feedback loop (bounce log) or from the preference centre (unsubscribe log); it means the same.

with

params as (
    select as_of from run_params
),

files as (
    select f.file_id, f.source, regexp_extract(f.path, '[^/\\]+$') as file_name
    from input_files f
    join run_sources s on s.source = f.source and s.kind = f.kind
),

unsubscribe_log as (
    select
        e.email,
        e.occurred_at,
        -- an unsubscribe whose source is the feedback loop is a complaint, whatever its event says
        case when e.event = 'unsubscribe' and e.origin = 'complaint' then 'complaint' else e.event end as kind,
        e.list_id,
        e.origin,
        e.evidence,
        e.evidence_ref,
        e.campaign_id,
        null::varchar as bounce_class,
        null::varchar as bounce_reason,
        null::varchar as bounce_rule,
        null::integer as smtp_code,
        null::varchar as enhanced_code,
        null::varchar as diagnostic,
        e.reason as note,
        f.source,
        f.file_name,
        e.row_number
    from unsubscribe_events e
    join files f using (file_id)
    where not e.is_duplicate  -- a resent event counts once
),

bounce_log as (
    select
        e.email,
        e.occurred_at,
        case e.event when 'delivered' then 'delivery' else e.event end as kind,
        null::varchar as list_id,
        case e.event when 'complaint' then 'complaint' else 'bounce_log' end as origin,
        null::varchar as evidence,
        null::varchar as evidence_ref,
        e.campaign_id,
        e.bounce_class,
        e.bounce_reason,
        e.bounce_rule,
        e.smtp_code,
        e.enhanced_code,
        e.diagnostic,
        null::varchar as note,
        f.source,
        f.file_name,
        e.row_number
    from bounce_events e
    join files f using (file_id)
    where not e.is_duplicate
),

erasures as (
    -- forget: an erased address is known only by its tombstone, whose pseudonym its rows carry
    -- ('forgotten:' || keyed hash); an erased address that gave fresh consent since is in clear
    -- again, and its erasure still stands before that consent
    select
        'forgotten:' || t.email_hmac as email,
        t.forgotten_at as occurred_at
    from tombstones t
    union all
    select r.email, r.forgotten_at
    from reconsented r
),

erasure_log as (
    select
        e.email,
        e.occurred_at,
        'forget' as kind,
        null::varchar as list_id,
        'erasure' as origin,
        null::varchar as evidence,
        null::varchar as evidence_ref,
        null::varchar as campaign_id,
        null::varchar as bounce_class,
        null::varchar as bounce_reason,
        null::varchar as bounce_rule,
        null::integer as smtp_code,
        null::varchar as enhanced_code,
        null::varchar as diagnostic,
        null::varchar as note,
        'forget' as source,
        null::varchar as file_name,
        null::bigint as row_number
    from erasures e
),

usable as (
    select l.*
    from (
        select * from unsubscribe_log
        union all by name select * from bounce_log
        union all by name select * from erasure_log
    ) l, params p
    -- the as-of time is a wall: what happened after it does not exist for this run
    where l.occurred_at <= p.as_of
),

final as (
    select * from usable
)

select * from final
