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

usable as (
    select l.*
    from (select * from unsubscribe_log union all by name select * from bounce_log) l, params p
    -- the as-of time is a wall: what happened after it does not exist for this run
    where l.occurred_at <= p.as_of
),

final as (
    select * from usable
)

select * from final
