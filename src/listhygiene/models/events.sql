-- events: every log event usable at the as-of time, in one shape, with its lineage and a
-- sentence describing it. Both logs feed it: a complaint may come from the sending platform's
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
),

usable as (
    select l.*
    from (select * from unsubscribe_log union all by name select * from bounce_log) l, params p
    -- the as-of time is a wall: what happened after it does not exist for this run
    where l.occurred_at <= p.as_of
),

described as (
    select
        *,
        -- the reply without the codes already shown before it: 550 5.1.1 "user unknown"
        regexp_replace(diagnostic, '^\s*(smtp;\s*)?\d{3}[ -]?(\d\.\d{1,3}\.\d{1,3}\s*)?', '') as reply_text,
        source || ':' || file_name || ' row ' || row_number as lineage,
        concat_ws(' ',
            case
                when kind = 'bounce' then coalesce(bounce_class, 'unclassified') || ' bounce'
                when kind = 'unsubscribe' and list_id is null then 'global unsubscribe'
                when kind = 'unsubscribe' then 'unsubscribe from ' || list_id
                when kind = 'resubscribe' then 'resubscribe to ' || coalesce(list_id, 'all lists')
                when kind = 'complaint' then 'spam complaint'
                when kind = 'do_not_contact' then 'do-not-contact switched on'
                when kind = 'do_contact' then 'do-not-contact switched off'
                else kind
            end,
            case when kind in ('unsubscribe', 'resubscribe', 'do_not_contact', 'do_contact')
                 then '(' || origin || ')' end,
            case when kind = 'bounce' then nullif(concat_ws(' ', smtp_code::varchar, enhanced_code), '') end,
            case when kind = 'bounce' and diagnostic is not null
                 then '"' || left(reply_text, 80) || case when length(reply_text) > 80 then '…' else '' end || '"' end,
            case when evidence is not null then 'with evidence ' || evidence end,
            case when campaign_id is not null then 'on campaign ' || campaign_id end
        ) || ', ' || strftime(occurred_at::timestamp, '%Y-%m-%dT%H:%MZ')
          || ' (' || source || ':' || file_name || ' row ' || row_number || ')' as detail
    from usable
),

final as (
    select * exclude (reply_text) from described
)

select * from final
