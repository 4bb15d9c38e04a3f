-- ses: Amazon SES notifications as bounce-log rows, one per recipient. Accepts SNS envelopes
-- (the notification as a JSON string in `Message`) and bare notifications, in either SES
-- shape: notifications (`notificationType`) or event publishing (`eventType`). Keys SES may
-- add later are ignored; a record of a type we do not know is quarantined, not guessed at.

with

envelopes as (
    select
        row_number,
        record ->> '$.Type' as sns_type,
        record ->> '$.MessageId' as sns_message_id,
        -- SNS carries the notification as text; a bare notification is the record itself
        case when json_type(record, '$.Message') = 'VARCHAR' then record ->> '$.Message'
             else record::varchar end as body
    from records
),

notifications as (
    select
        row_number,
        sns_type,
        sns_message_id,
        json_valid(body) as body_is_json,
        -- parsed once into the fields we use (unknown keys are dropped here)
        case when json_valid(body) then from_json(body, '{
            "notificationType": "VARCHAR", "eventType": "VARCHAR",
            "mail": {"messageId": "VARCHAR", "tags": {"campaign_id": ["VARCHAR"], "campaign": ["VARCHAR"]}},
            "bounce": {"bounceType": "VARCHAR", "bounceSubType": "VARCHAR", "timestamp": "VARCHAR",
                       "feedbackId": "VARCHAR",
                       "bouncedRecipients": [{"emailAddress": "VARCHAR", "status": "VARCHAR",
                                              "diagnosticCode": "VARCHAR"}]},
            "complaint": {"timestamp": "VARCHAR", "feedbackId": "VARCHAR",
                          "complaintFeedbackType": "VARCHAR", "complaintSubType": "VARCHAR",
                          "complainedRecipients": [{"emailAddress": "VARCHAR"}]},
            "delivery": {"timestamp": "VARCHAR", "recipients": ["VARCHAR"], "smtpResponse": "VARCHAR"}
        }') end as n
    from envelopes
),

typed as materialized (
    select
        *,
        coalesce(n.notificationType, n.eventType) as raw_type,
        n.mail.messageId as message_id,
        -- a campaign, if the sender tags its messages with one (event publishing carries tags)
        coalesce(n.mail.tags.campaign_id[1], n.mail.tags.campaign[1]) as campaign_id
    from notifications
),

-- SNS's own messages and events that say nothing about an address's deliverability
ignored_types as (
    select unnest(['Send', 'Reject', 'Open', 'Click', 'Rendering Failure', 'DeliveryDelay',
                   'Subscription', 'AmazonSnsSubscriptionSucceeded']) as raw_type
),

malformed as (
    select
        row_number,
        case
            when not body_is_json then 'SNS Message is not a JSON notification'
            when raw_type is null then 'neither notificationType nor eventType: not an SES notification'
            else 'unknown SES notification type ''' || raw_type || ''''
        end as error,
        case when not body_is_json then 'Message'
             when raw_type is null then 'notificationType' else 'notificationType' end as error_column
    from typed
    where coalesce(sns_type, 'Notification') = 'Notification'
      and (not body_is_json or raw_type is null
           or raw_type not in ('Bounce', 'Complaint', 'Delivery')
              and raw_type not in (select raw_type from ignored_types))
),

bounced as (
    select
        t.*,
        unnest(t.n.bounce.bouncedRecipients) as recipient
    from typed t
    where t.raw_type = 'Bounce'
),

bounces as (
    select
        row_number,
        'bounces' as kind,
        recipient.emailAddress as email,
        n.bounce.timestamp as occurred_at,
        'bounce' as event,
        campaign_id,
        case
            -- the receiver refused the message for what it held, not for who it was sent to
            when n.bounce.bounceSubType in ('ContentRejected', 'AttachmentRejected',
                                         'MessageTooLarge') then 'block'
            else n.bounce.bounceType  -- Permanent | Transient | Undetermined
        end as bounce_type,
        nullif(regexp_extract(recipient.diagnosticCode, '(?:^|\D)([2-5]\d{2})(?:\D|$)', 1), '') as smtp_code,
        nullif(regexp_extract(recipient.status, '([245]\.\d{1,3}\.\d{1,3})', 1), '') as enhanced_code,
        recipient.diagnosticCode as diagnostic,
        n.bounce.feedbackId as event_ref,
        json_object('platform', 'ses', 'raw_type', raw_type,
                    'bounce_type', n.bounce.bounceType,
                    'bounce_subtype', n.bounce.bounceSubType,
                    'message_id', message_id, 'feedback_id', n.bounce.feedbackId,
                    'sns_message_id', sns_message_id)::varchar as platform
    from bounced
),

complained as (
    select
        t.*,
        unnest(t.n.complaint.complainedRecipients) as recipient
    from typed t
    where t.raw_type = 'Complaint'
      -- a receiver's report that the message is *not* spam is no complaint
      and coalesce(lower(t.n.complaint.complaintFeedbackType), '') <> 'not-spam'
),

complaints as (
    select
        row_number,
        'bounces' as kind,
        recipient.emailAddress as email,
        n.complaint.timestamp as occurred_at,
        'complaint' as event,
        campaign_id,
        n.complaint.feedbackId as event_ref,
        json_object('platform', 'ses', 'raw_type', raw_type,
                    'feedback_type', n.complaint.complaintFeedbackType,
                    'complaint_subtype', n.complaint.complaintSubType,
                    'message_id', message_id, 'feedback_id', n.complaint.feedbackId,
                    'sns_message_id', sns_message_id)::varchar as platform
    from complained
),

delivered as (
    select
        t.*,
        unnest(t.n.delivery.recipients) as recipient
    from typed t
    where t.raw_type = 'Delivery'
),

deliveries as (
    select
        row_number,
        'bounces' as kind,
        recipient as email,
        n.delivery.timestamp as occurred_at,
        'delivered' as event,
        campaign_id,
        'delivery:' || message_id as event_ref,
        json_object('platform', 'ses', 'raw_type', raw_type, 'message_id', message_id,
                    'smtp_response', n.delivery.smtpResponse,
                    'sns_message_id', sns_message_id)::varchar as platform
    from delivered
),

final as (
    select * from bounces
    union all by name select * from complaints
    union all by name select * from deliveries
    union all by name select * from malformed
)

select * from final
order by row_number
