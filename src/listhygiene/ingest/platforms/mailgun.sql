-- mailgun: Mailgun events as bounce-log and unsubscribe-log rows, one per event (an event
-- tracks one recipient). Accepts Events API items (pages are split into items before this
-- model) and webhook bodies, whose event sits under `event-data` beside the `signature`. Keys
-- Mailgun may add later are ignored; a record whose event we do not know is quarantined.

with

-- input ------------------------------------------------------------------------------------

bodies as (
    select
        row_number,
        -- a webhook body carries the event under event-data; an Events API item is the event
        case when json_type(record, '$."event-data"') = 'OBJECT' then record -> '$."event-data"'
             else record end as e,
        coalesce(json_type(record, '$."event-data"') = 'OBJECT', false) as is_webhook
    from records
),

events as (
    select
        row_number,
        e,
        is_webhook,
        e ->> '$.event' as raw_event,
        lower(trim(e ->> '$.event')) as event_name,
        e ->> '$.id' as event_id,
        e ->> '$.recipient' as email,
        lower(trim(e ->> '$.severity')) as severity,
        lower(trim(e ->> '$.reason')) as reason,
        e ->> '$."delivery-status".code' as status_code,
        nullif(trim(e ->> '$."delivery-status".message'), '') as status_message,
        nullif(trim(e ->> '$."delivery-status".description'), '') as status_description,
        e ->> '$."delivery-status"."enhanced-code"' as status_enhanced_code,
        e ->> '$.message.headers."message-id"' as message_id
    from bodies
),

-- logic ------------------------------------------------------------------------------------

typed as (
    select
        *,
        -- epoch seconds with a fraction; anything else goes through as text and is quarantined
        -- by the schema
        case when try_cast(e ->> '$.timestamp' as double) is not null
             then strftime(to_timestamp((e ->> '$.timestamp')::double), '%Y-%m-%dT%H:%M:%S.%fZ')
             else e ->> '$.timestamp' end as occurred_at,
        -- a campaign is one send: a campaign_id (or campaign) user variable set by the sender,
        -- else Mailgun's legacy campaign. Tags are labels reused across sends (they stay in
        -- lineage): as campaign ids they would fold many sends into one and hide a streak of
        -- soft bounces.
        coalesce(nullif(trim(e ->> '$."user-variables".campaign_id'), ''),
                 nullif(trim(e ->> '$."user-variables".campaign'), ''),
                 nullif(trim(e ->> '$.campaigns[0].id'), '')) as campaign_id,
        -- Mailgun's own codes (605 suppressed, 498/499 internal) are no SMTP replies
        case when try_cast(status_code as integer) between 200 and 599 then status_code end as smtp_code,
        -- the receiver's reply if Mailgun got one, else Mailgun's own explanation
        coalesce(status_message, status_description) as diagnostic
    from events
),

lineage as (
    select
        *,
        -- Mailgun guarantees an event id unique only within a day: with the event's time
        -- (to the microsecond) it names the event wherever it is resent
        event_id || '@' || occurred_at as event_ref,
        json_object(
            'platform', 'mailgun',
            'raw_event', raw_event,
            'event_id', event_id,
            'message_id', message_id,
            'severity', e ->> '$.severity',
            'reason', e ->> '$.reason',
            'delivery_status_code', status_code,
            'delivery_status_description', status_description,
            'log_level', e ->> '$."log-level"',
            'tags', e -> '$.tags',
            'mailing_list', e ->> '$."mailing-list".address',
            'webhook', is_webhook
        )::varchar as platform
    from typed
),

-- Events that say nothing about the recipient's consent or deliverability: the API accepting
-- a message, opens, clicks, inbound storage, Mailgun refusing the API request, list uploads.
ignored_events as (
    select unnest(['accepted', 'opened', 'clicked', 'stored', 'rejected', 'list_member_uploaded',
                   'list_member_upload_error', 'list_uploaded']) as event_name
),

malformed as (
    select
        row_number,
        case
            when event_name is null or event_name = '' then 'no event name: not a Mailgun event'
            when event_name = 'failed' and severity is null
                then 'failed event without severity (permanent or temporary)'
            when event_name = 'failed' then 'unknown Mailgun failure severity ''' || (e ->> '$.severity') || ''''
            else 'unknown Mailgun event ''' || raw_event || ''''
        end as error,
        case when event_name = 'failed' then 'severity' else 'event' end as error_column
    from lineage
    where event_name is null or event_name = ''
       or (event_name = 'failed' and coalesce(severity, '') not in ('permanent', 'temporary'))
       or (event_name not in ('failed', 'delivered', 'complained', 'unsubscribed')
           and event_name not in (select event_name from ignored_events))
),

-- A temporary failure is Mailgun retrying: it posts the outcome later (delivered, or a
-- permanent failure once it gives up), so a temporary failure yields no row; counted as well,
-- one message's retries would count several times against the recipient.
permanent_failures as (
    select * from lineage
    where event_name = 'failed' and severity = 'permanent'
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
            -- an ESP block is the receiver refusing the sender, not the address
            when reason = 'espblock' then 'block'
            -- Mailgun gave up after retrying a temporary trouble: still temporary evidence
            when reason = 'old' then 'soft'
            -- bounce, delayed-bounce, suppress-bounce (the address is on Mailgun's bounce
            -- list), generic: Mailgun calls it permanent
            else 'hard'
        end as bounce_type,
        smtp_code,
        coalesce(nullif(regexp_extract(status_enhanced_code, '([245]\.\d{1,3}\.\d{1,3})', 1), ''),
                 nullif(regexp_extract(status_message, '(?:^|[^\d.])([245]\.\d{1,3}\.\d{1,3})(?:\D|$)', 1), '')) as enhanced_code,
        diagnostic,
        event_ref,
        platform
    from permanent_failures
    where coalesce(reason, '') not in ('suppress-unsubscribe', 'suppress-complaint')
),

deliveries as (
    select
        row_number,
        'bounces' as kind,
        email,
        occurred_at,
        'delivered' as event,
        campaign_id,
        event_ref,
        platform
    from lineage
    where event_name = 'delivered'
),

-- a spam complaint, or a message Mailgun did not send because the address is on its
-- complaints list: the recipient complained, whether or not the complaint is in these logs
complaints as (
    select
        row_number,
        'bounces' as kind,
        email,
        occurred_at,
        'complaint' as event,
        campaign_id,
        case when event_name = 'failed' then diagnostic end as diagnostic,
        event_ref,
        platform
    from lineage
    where event_name = 'complained'
       or (event_name = 'failed' and severity = 'permanent' and reason = 'suppress-complaint')
),

-- An unsubscribe (Mailgun's link, all mail from the domain, a tag or a mailing list), or a
-- message not sent because the address is on Mailgun's unsubscribe list. Mailgun's tags and
-- mailing lists are not the sender's list ids, so every one is global: fail-safe, the
-- recipient asked to stop at least part of the mail and which part cannot be told.
unsubscribes as (
    select
        row_number,
        'unsubscribes' as kind,
        email,
        occurred_at,
        'unsubscribe' as event,
        null::varchar as list_id,
        'contact' as source,
        campaign_id,
        case when event_name = 'failed'
             then 'Mailgun did not send: ' || coalesce(diagnostic, 'address on the unsubscribe list')
             else 'Mailgun unsubscribe' end as reason,
        event_ref,
        platform
    from lineage
    where event_name = 'unsubscribed'
       or (event_name = 'failed' and severity = 'permanent' and reason = 'suppress-unsubscribe')
),

final as (
    select * from bounces
    union all by name select * from deliveries
    union all by name select * from complaints
    union all by name select * from unsubscribes
    union all by name select * from malformed
)

select * from final
order by row_number
