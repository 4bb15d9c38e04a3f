-- suppression_causes: every event that starts a suppression, with its scope (list_id null =
-- every list of the address), the reason it gives, when, and where it came from.

with

erasures as (
    -- an address erased on request (forget) is kept from all mail, transactional too, until
    -- it gives fresh consent: only its keyed hash is left to recognize it by
    select
        email, null::varchar as list_id, 'forgotten' as reason, occurred_at, origin, source,
        'erased on request, ' || utc_minute(occurred_at) || ' (forget: only its keyed hash is kept)' as detail
    from non_delivery_events
    where kind = 'forget'
),

complaints as (
    -- a spam complaint stops all marketing to the address, whichever list the mail was for
    select email, null::varchar as list_id, 'complaint' as reason, occurred_at, origin, source, event_detail(e) as detail
    from non_delivery_events e
    where kind = 'complaint'
),

hard_bounces as (
    select email, null::varchar as list_id, 'hard_bounce' as reason, occurred_at, origin, source, event_detail(e) as detail
    from non_delivery_events e
    where kind = 'bounce' and bounce_class = 'hard'
),

unsubscribes as (
    -- honoured whoever clicked: a forwarded email's unsubscribe link still speaks for the address
    select
        email,
        list_id,
        case when list_id is null then 'unsubscribed' else 'list_unsubscribed' end as reason,
        occurred_at, origin, source, event_detail(e) as detail
    from non_delivery_events e
    where kind = 'unsubscribe'
),

do_not_contact_events as (
    -- a kill switch over all marketing; it changes no membership
    select email, null::varchar as list_id, 'do_not_contact' as reason, occurred_at, origin, source, event_detail(e) as detail
    from non_delivery_events e
    where kind = 'do_not_contact'
),

external_lists as (
    -- on a do-not-mail list kept elsewhere (external_suppressions): in force while the newest
    -- snapshot of that list holds it, so leaving the list is its only lift (none below)
    select email, list_id, 'external_suppression' as reason, since as occurred_at, origin, source, detail
    from external_suppressions
),

soft_bounce_limits as (
    select s.email, null::varchar as list_id, 'soft_bounce_limit' as reason, s.occurred_at,
           'bounce_log' as origin, s.source, s.detail
    from soft_bounce_streaks s
),

final as (
    select * from erasures
    union all select * from complaints
    union all select * from hard_bounces
    union all select * from unsubscribes
    union all select * from external_lists
    union all select * from do_not_contact_events
    union all select * from soft_bounce_limits
)

select * from final
