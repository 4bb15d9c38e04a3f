-- blocked_resubscribes: attempts to mail someone again that change nothing. A resubscribe
-- needs evidence of consent; a complaint needs more than a sign-up form; and an export newer
-- than an active unsubscribe or complaint that still lists the address as subscribed is a
-- re-import, not a resubscription (Integration unsubscribes excepted: they follow the CRM and
-- are lifted, so they never appear here).

with

accepted as (
    select string_agg(evidence, ', ' order by position) as names from accepted_evidence
),

resubscribes as (
    select * from non_delivery_events where kind = 'resubscribe'
),

without_evidence as (
    select
        r.email, r.list_id, r.occurred_at as attempted_at, lineage(r.source, r.file_name, r.row_number) as source, r.evidence,
        case when r.evidence is null
             then 'no evidence of consent; a resubscribe needs one of: ' || a.names
             else 'evidence "' || r.evidence || '" is not accepted; a resubscribe needs one of: ' || a.names
        end as why
    from resubscribes r, accepted a
    where r.evidence is null or r.evidence not in (select evidence from accepted_evidence)
),

weak_evidence_after_complaint as (
    -- a complaint is never lifted by a sign-up form
    select
        r.email, r.list_id, r.occurred_at as attempted_at, lineage(r.source, r.file_name, r.row_number) as source, r.evidence,
        'a sign-up form does not lift the spam complaint of '
            || strftime(c.reason_at::timestamp, '%Y-%m-%dT%H:%MZ')
            || '; it needs confirmed_optin or written_consent' as why
    from resubscribes r
    join active_reasons c
      on c.email = r.email and c.reason = 'complaint'
     and c.list_id is not distinct from r.list_id
     and c.reason_at < r.occurred_at
    where r.evidence in (select evidence from accepted_evidence where not lifts_complaint)
),

export_reimports as (
    select
        r.email, r.list_id, r.snapshot_at as attempted_at, r.lineage as source,
        null::varchar as evidence,
        arg_min(
            'the export lists the address as subscribed after the '
                || case a.reason when 'complaint' then 'spam complaint'
                                 when 'unsubscribed' then 'global unsubscribe'
                                 else 'unsubscribe from ' || a.list_id end
                || ' of '
                || strftime(a.reason_at::timestamp, '%Y-%m-%dT%H:%MZ')
                || '; a re-import does not resubscribe, only evidence of consent does',
            p.precedence) as why
    from contact_records r
    join active_reasons a
      on a.email = r.email and a.list_id = r.list_id
     and a.reason in ('complaint', 'unsubscribed', 'list_unsubscribed')
     and a.reason_at < r.snapshot_at
    join reason_precedence p on p.reason = a.reason
    where r.is_latest and r.status = 'subscribed'
    group by all
),

final as (
    select * from without_evidence
    union all select * from weak_evidence_after_complaint
    union all select * from export_reimports
)

select * from final
