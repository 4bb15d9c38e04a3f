-- suppression_lifts: the last time each kind of lift happened, per address and scope. A cause
-- is lifted when an applicable lift came after it, so the latest one is all that matters.
-- Scope as for causes: a lift with list_id null applies to every list, one with a list id to
-- that list only. only_origin, when set, restricts the lift to causes of that origin.
-- Only addresses with a cause can have a lift that matters: every input is narrowed to them
-- first (most addresses have deliveries and confirmations, few have causes).

with

cause_addresses as (
    select distinct email from suppression_causes
),

consent as (
    -- resubscribes carrying evidence of consent, and confirmations recorded in the exports
    -- (an export's confirmed_at after an unsubscribe counts as confirmed_optin)
    select e.email, e.list_id, e.occurred_at, e.evidence
    from non_delivery_events e
    semi join cause_addresses a on a.email = e.email
    where e.kind = 'resubscribe' and e.evidence in (select evidence from accepted_evidence)
    union all
    select c.email, c.list_id, c.confirmed_at as occurred_at, 'confirmed_optin' as evidence
    from contact_records c
    semi join cause_addresses a on a.email = c.email
    where c.confirmed_at is not null and c.confirmed_at <= (select as_of from run_params)
),

erasure_lifts as (
    -- an erasure is lifted only by consent given after it: a sign-up, a confirmation, written
    -- consent (the address's earlier history was erased with it)
    select email, list_id, 'forgotten' as reason, occurred_at, null::varchar as only_origin
    from consent
),

complaint_lifts as (
    -- a complaint is never lifted by a sign-up form: only confirmed opt-in or written consent
    select email, list_id, 'complaint' as reason, occurred_at, null::varchar as only_origin
    from consent
    where evidence in (select evidence from accepted_evidence where lifts_complaint)
),

unsubscribe_lifts as (
    -- a resubscribe with evidence lifts the unsubscribe for its own scope: a list-scoped one
    -- re-opens that list only, a global one every list
    select c.email, c.list_id, r.reason, c.occurred_at, null::varchar as only_origin
    from consent c
    cross join (values ('unsubscribed'), ('list_unsubscribed')) as r(reason)
),

integration_unsubscribers as (
    select distinct email from non_delivery_events where kind = 'unsubscribe' and origin = 'integration'
),

subscribed_in_exports as (
    -- the export rows showing an address with an Integration unsubscribe as subscribed
    select c.email, c.list_id, c.snapshot_at
    from contact_records c
    semi join integration_unsubscribers i on i.email = c.email
    where c.status = 'subscribed'
),

crm_follow as (
    -- an Integration unsubscribe follows the CRM: the next export showing the contact subscribed
    -- reverses it (a global one wherever the export lists the address as subscribed, since its
    -- other memberships still follow their own export status; a list one on that list only).
    -- A Contact unsubscribe is never reversed by an export.
    select
        c.email,
        case r.reason when 'unsubscribed' then null else c.list_id end as list_id,
        r.reason,
        c.snapshot_at as occurred_at,
        'integration' as only_origin
    from subscribed_in_exports c
    cross join (values ('unsubscribed'), ('list_unsubscribed')) as r(reason)
    where r.reason = 'unsubscribed' or c.list_id is not null
),

deliverability_lifts as (
    -- a delivery or a confirmed opt-in proves the address works: it lifts hard bounces and
    -- soft-bounce streaks on every list (the latest delivery per address: last_deliveries)
    select e.email, null::varchar as list_id, r.reason, e.occurred_at, null::varchar as only_origin
    from last_deliveries e
    cross join (values ('hard_bounce'), ('soft_bounce_limit')) as r(reason)
    union all
    select c.email, null::varchar as list_id, r.reason, c.occurred_at, null::varchar as only_origin
    from consent c
    cross join (values ('hard_bounce'), ('soft_bounce_limit')) as r(reason)
    where c.evidence = 'confirmed_optin'
),

flagged_addresses as (
    -- only an address the export ever flagged can see its flag cleared
    select distinct source, email from contact_records where do_not_contact
),

flag_history as (
    -- the export's do_not_contact flag per address and snapshot, to see it being cleared
    select c.source, c.email, c.snapshot_at, bool_or(c.do_not_contact) as flagged
    from contact_records c
    semi join flagged_addresses f on f.source = c.source and f.email = c.email
    group by c.source, c.email, c.snapshot_at
),

flag_cleared as (
    select email, snapshot_at as occurred_at
    from (
        select *, lag(flagged) over (partition by source, email order by snapshot_at) as was_flagged
        from flag_history
    )
    where was_flagged and not flagged
),

do_contact_lifts as (
    select email, null::varchar as list_id, 'do_not_contact' as reason, occurred_at, null::varchar as only_origin
    from non_delivery_events
    where kind = 'do_contact'
    union all
    select email, null::varchar as list_id, 'do_not_contact' as reason, occurred_at, null::varchar as only_origin
    from flag_cleared
),

all_lifts as (
    select * from erasure_lifts
    union all select * from complaint_lifts
    union all select * from unsubscribe_lifts
    union all select * from crm_follow
    union all select * from deliverability_lifts
    union all select * from do_contact_lifts
),

final as (
    select email, list_id, reason, only_origin, max(occurred_at) as last_lifted_at
    from all_lifts
    where email in (select email from cause_addresses)
    group by email, list_id, reason, only_origin
)

select * from final
