-- sendgrid: SendGrid Event Webhook events as bounce-log and unsubscribe-log rows. SendGrid
-- posts one event per recipient, so a record gives at most one row. Event names are compared
-- case-insensitively; keys SendGrid may add later (and custom arguments) are ignored; a
-- record whose event we do not know is quarantined, not guessed at.
-- Extra table: `groups` (group_id, list_id), the source's `groups` key: ASM group -> list.

with

-- input ------------------------------------------------------------------------------------

events as (
    select
        row_number,
        record,
        record ->> '$.event' as raw_event,
        lower(trim(record ->> '$.event')) as event_name,
        record ->> '$.email' as email,
        record ->> '$.sg_event_id' as sg_event_id,
        record ->> '$.sg_message_id' as sg_message_id,
        record ->> '$.reason' as reason,
        record ->> '$.asm_group_id' as asm_group_id
    from records
),

group_lists as (
    select group_id, list_id from groups
),

-- logic ------------------------------------------------------------------------------------

typed as (
    select
        e.*,
        -- epoch seconds; anything else goes through as text and is quarantined by the schema
        case when try_cast(record ->> '$.timestamp' as double) is not null
             then strftime(to_timestamp((record ->> '$.timestamp')::double), '%Y-%m-%dT%H:%M:%S.%fZ')
             else record ->> '$.timestamp' end as occurred_at,
        -- a campaign is one send: a `campaign_id` custom argument set by the sender, else the
        -- Marketing Campaigns single send, else a legacy marketing campaign. Categories are
        -- labels reused across sends (they stay in lineage): as campaign ids they would fold
        -- many sends into one and hide a streak of soft bounces.
        coalesce(nullif(trim(record ->> '$.campaign_id'), ''),
                 nullif(trim(record ->> '$.singlesend_id'), ''),
                 nullif(trim(record ->> '$.marketing_campaign_id'), '')) as campaign_id,
        g.list_id as group_list_id,
        -- a drop is SendGrid not even trying; only its reason says something about the address
        case when e.event_name = 'dropped' then
            case lower(trim(e.reason))
                when 'bounced address' then 'bounced'   -- on SendGrid's bounce list
                when 'bounced' then 'bounced'           -- older spelling of the same reason
                when 'invalid' then 'invalid'           -- on SendGrid's invalid-address list
                when 'unsubscribed address' then 'unsubscribed'
                when 'spam reporting address' then 'spam_reported'
                -- spam content, invalid SMTPAPI header, quota, duplicate: the sender's side
                else 'sender_side'
            end
        end as drop_kind
    from events e
    left join group_lists g on g.group_id = e.asm_group_id
),

lineage as (
    select
        *,
        json_object(
            'platform', 'sendgrid',
            'raw_event', raw_event,
            'sg_event_id', sg_event_id,
            'sg_message_id', sg_message_id,
            'smtp_id', record ->> '$."smtp-id"',
            'type', record ->> '$.type',
            'bounce_classification', record ->> '$.bounce_classification',
            'reason', reason,
            'status', record ->> '$.status',
            'response', record ->> '$.response',
            'asm_group_id', asm_group_id,
            'category', record -> '$.category',
            'singlesend_id', record ->> '$.singlesend_id',
            'marketing_campaign_id', record ->> '$.marketing_campaign_id'
        )::varchar as platform
    from typed
),

-- engagement and in-flight events say nothing about consent or deliverability. A deferral is
-- a receiver asking SendGrid to come back later; SendGrid retries for up to 72 hours and then
-- posts the outcome (delivered, or a bounce / block), so counting the deferral too would count
-- one message's trouble several times against the recipient.
ignored_events as (
    select unnest(['processed', 'deferred', 'open', 'click', 'account_status_change']) as event_name
),

malformed as (
    select
        row_number,
        case
            when event_name is null or event_name = '' then 'no event name: not a SendGrid event'
            when event_name in ('group_unsubscribe', 'group_resubscribe') and asm_group_id is null
                then event_name || ' without asm_group_id'
            when event_name in ('group_unsubscribe', 'group_resubscribe')
                then 'SendGrid unsubscribe group ' || asm_group_id || ' is not mapped to a list; add it '
                     || 'to the source''s groups (groups = { "' || asm_group_id || '" = "<list id>" })'
            else 'unknown SendGrid event ''' || raw_event || ''''
        end as error,
        case when event_name in ('group_unsubscribe', 'group_resubscribe') then 'asm_group_id'
             else 'event' end as error_column
    from typed
    where event_name is null or event_name = ''
       or (event_name in ('group_unsubscribe', 'group_resubscribe') and group_list_id is null)
       or (event_name not in ('bounce', 'dropped', 'delivered', 'spamreport', 'unsubscribe',
                              'group_unsubscribe', 'group_resubscribe')
           and event_name not in (select event_name from ignored_events))
),

bounces as (
    select
        row_number,
        'bounces' as kind,
        email,
        occurred_at,
        'bounce' as event,
        campaign_id,
        -- the platform's verdict, a fallback behind the reply's codes and text
        case
            -- a block is the receiver refusing the sender (reputation, content, rate), not the address
            when lower(record ->> '$.type') = 'blocked' then 'block'
            when record ->> '$.bounce_classification' in ('Reputation', 'Content',
                                                          'Frequency or Volume Too High') then 'block'
            when record ->> '$.bounce_classification' = 'Invalid Address' then 'hard'
            when record ->> '$.bounce_classification' in ('Mailbox Unavailable', 'Technical',
                                                          'Technical Failure') then 'soft'
            when lower(record ->> '$.type') = 'bounce' then 'hard'
            when lower(record ->> '$.type') = 'expired' then 'soft'
            else 'unknown'
        end as bounce_type,
        nullif(regexp_extract(reason, '(?:^|\D)([2-5]\d{2})(?:\D|$)', 1), '') as smtp_code,
        coalesce(nullif(regexp_extract(record ->> '$.status', '([245]\.\d{1,3}\.\d{1,3})', 1), ''),
                 nullif(regexp_extract(reason, '(?:^|[^\d.])([245]\.\d{1,3}\.\d{1,3})(?:\D|$)', 1), '')) as enhanced_code,
        reason as diagnostic,
        sg_event_id as event_ref,
        platform
    from lineage
    where event_name = 'bounce'
),

-- SendGrid dropped the message because the address is on its bounce or invalid-address list:
-- the address is undeliverable through SendGrid until someone removes it there.
dropped_bounces as (
    select
        row_number,
        'bounces' as kind,
        email,
        occurred_at,
        'bounce' as event,
        campaign_id,
        'hard' as bounce_type,
        'SendGrid dropped the message: ' || reason as diagnostic,
        sg_event_id as event_ref,
        platform
    from lineage
    where drop_kind in ('bounced', 'invalid')
),

deliveries as (
    select
        row_number,
        'bounces' as kind,
        email,
        occurred_at,
        'delivered' as event,
        campaign_id,
        sg_event_id as event_ref,
        platform
    from lineage
    where event_name = 'delivered'
),

-- a spam report, or a drop because the address is on SendGrid's spam-report list: the
-- recipient complained, whether or not the original report is in these logs
complaints as (
    select
        row_number,
        'bounces' as kind,
        email,
        occurred_at,
        'complaint' as event,
        campaign_id,
        case when drop_kind is not null then 'SendGrid dropped the message: ' || reason end as diagnostic,
        sg_event_id as event_ref,
        platform
    from lineage
    where event_name = 'spamreport' or drop_kind = 'spam_reported'
),

-- the recipient's global unsubscribe (SendGrid's link or List-Unsubscribe; SendGrid does not
-- say which), or a drop because the address is on SendGrid's global unsubscribe list: fail-safe,
-- the platform still holds the address as unsubscribed, so consent is not there
global_unsubscribes as (
    select
        row_number,
        'unsubscribes' as kind,
        email,
        occurred_at,
        'unsubscribe' as event,
        null::varchar as list_id,
        'contact' as source,
        campaign_id,
        case when drop_kind is not null then 'SendGrid dropped the message: ' || reason
             else 'SendGrid global unsubscribe' end as reason,
        sg_event_id as event_ref,
        platform
    from lineage
    where event_name = 'unsubscribe' or drop_kind = 'unsubscribed'
),

-- an unsubscribe group is one of the sender's lists (mapped in the source's groups table)
group_unsubscribes as (
    select
        row_number,
        'unsubscribes' as kind,
        email,
        occurred_at,
        'unsubscribe' as event,
        group_list_id as list_id,
        'contact' as source,
        campaign_id,
        'SendGrid group unsubscribe (group ' || asm_group_id || ')' as reason,
        sg_event_id as event_ref,
        platform
    from lineage
    where event_name = 'group_unsubscribe' and group_list_id is not null
),

-- the recipient opting back in on SendGrid's preference page, from a link in a message sent
-- to that address: the recipient's own act, like a sign-up form, but with no confirmation
-- round trip, so it is not confirmed opt-in (it lifts an unsubscribe, not a complaint)
group_resubscribes as (
    select
        row_number,
        'unsubscribes' as kind,
        email,
        occurred_at,
        'resubscribe' as event,
        group_list_id as list_id,
        'contact' as source,
        'signup_form' as evidence,
        'SendGrid preference centre, event ' || coalesce(sg_event_id, '(no sg_event_id)') as evidence_ref,
        campaign_id,
        'SendGrid group resubscribe (group ' || asm_group_id || ')' as reason,
        sg_event_id as event_ref,
        platform
    from lineage
    where event_name = 'group_resubscribe' and group_list_id is not null
),

final as (
    select * from bounces
    union all by name select * from dropped_bounces
    union all by name select * from deliveries
    union all by name select * from complaints
    union all by name select * from global_unsubscribes
    union all by name select * from group_unsubscribes
    union all by name select * from group_resubscribes
    union all by name select * from malformed
)

select * from final
order by row_number
