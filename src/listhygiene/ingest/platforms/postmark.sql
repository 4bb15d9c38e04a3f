-- postmark: Postmark webhooks (Bounce, SpamComplaint, SubscriptionChange, Delivery) and API dumps
-- (a /bounces page, a message stream's suppressions dump) as bounce-log and unsubscribe-log rows,
-- one per record. Bounces are read by their Type name, never by TypeCode: the names are what
-- Postmark documents, and its own examples pair names with the wrong codes. Keys Postmark may
-- add later are ignored; a record or bounce Type we do not know is quarantined, not guessed at.

with

-- input ----------------------------------------------------------------------------------------

shaped as (
    select
        row_number,
        record,
        record ->> '$.RecordType' as record_type,
        record ->> '$.Type' as raw_type,
        record ->> '$.MessageID' as message_id,
        record ->> '$.ID' as bounce_id,
        record ->> '$.TypeCode' as type_code,
        record ->> '$.MessageStream' as message_stream,
        record ->> '$.Origin' as origin,
        record ->> '$.SuppressionReason' as suppression_reason,
        record ->> '$.Tag' as tag,
        case
            when record ->> '$.RecordType' in ('Bounce', 'SpamComplaint') then 'bounce'
            when record ->> '$.RecordType' = 'SubscriptionChange' then 'subscription'
            when record ->> '$.RecordType' = 'Delivery' then 'delivery'
            -- engagement says nothing about whether the address can receive mail
            when record ->> '$.RecordType' in ('Open', 'Click') then 'ignored'
            when record ->> '$.RecordType' is not null then 'unknown'
            -- API dumps carry no RecordType: an entry of a suppressions dump, or of a /bounces page
            when record ->> '$.EmailAddress' is not null
                 and record ->> '$.SuppressionReason' is not null then 'suppression'
            when record ->> '$.Type' is not null and record ->> '$.BouncedAt' is not null then 'bounce'
            else 'none'
        end as shape
    from records
),

-- What each bounce Type means for list hygiene. `hygiene`: bounce (with its bounce_type, the
-- fallback when the receiver's reply in Details says nothing the bounce rules recognise),
-- complaint, unsubscribe (with its source), or ignored (no event: the record says nothing
-- about the address). docs/platforms/postmark.md gives the reason for each line.
bounce_types as (
    select * from (values
        ('hardbounce',              'bounce',      'hard',    null),     -- the address or domain does not exist
        ('bademailaddress',         'bounce',      'hard',    null),     -- not a valid address: Postmark never sent it
        ('softbounce',              'bounce',      'soft',    null),     -- mailbox full, over quota: the recipient's side, temporary
        ('transient',               'bounce',      'soft',    null),     -- delayed, then given up: temporary trouble reaching the receiver
        ('dnserror',                'bounce',      'soft',    null),     -- a temporary DNS failure for the recipient's domain
        ('unknown',                 'bounce',      'unknown', null),     -- a failure Postmark could not classify: the rules read Details
        ('blocked',                 'bounce',      'block',   null),     -- the receiver or ISP refused the sender, not the address
        ('dmarcpolicy',             'bounce',      'block',   null),     -- the sender's domain failed DMARC: sender authentication
        ('spamnotification',        'bounce',      'block',   null),     -- the receiver's filter judged the message: content, not address
        ('virus',                   'bounce',      'block',   null),     -- the receiver flagged the message's content (Virus*)
        ('spamcomplaint',           'complaint',   null,      null),     -- the recipient marked the message as spam
        ('unsubscribe',             'unsubscribe', null,      'contact'),  -- the recipient replied asking to be removed
        ('manuallydeactivated',     'unsubscribe', null,      'admin'),  -- the sender (or Postmark) deactivated the address by hand
        ('autoresponder',           'ignored',     null,      null),     -- out of office: the message was delivered
        ('addresschange',           'ignored',     null,      null),     -- a reply announcing a new address; the old one still answered
        ('challengeverification',   'ignored',     null,      null),     -- a challenge to the sender; the mailbox exists
        ('subscribe',               'ignored',     null,      null),     -- a reply asking to join: not evidence of consent
        ('openrelaytest',           'ignored',     null,      null),     -- a relay probe, not about the recipient
        ('unconfirmed',             'ignored',     null,      null),     -- opt-in state is the CRM export's to say (confirmed_at)
        ('smtpapierror',            'ignored',     null,      null),     -- Postmark refusing a suppressed address: the suppression is its own record
        ('inbounderror',            'ignored',     null,      null),     -- inbound processing, not outbound delivery
        ('templaterenderingfailed', 'ignored',     null,      null)      -- never sent: the sender's template failed
    ) as t(type_key, hygiene, bounce_type, source)
),

-- Postmark's Origin of a suppression change: the recipient (unsubscribe link, complaint, bounce),
-- the customer (the sender, in the UI or API) or a Postmark admin.
origins as (
    select * from (values ('recipient', 'contact'), ('customer', 'admin'), ('admin', 'admin'))
        as o(origin_key, source)
),

-- bounces and complaints ------------------------------------------------------------------------

bounce_records as (
    select
        s.*,
        s.raw_type is not null and t.type_key is null as type_unknown,
        -- the spam complaint webhook is a complaint whatever its Type says
        case when s.record_type = 'SpamComplaint' then 'complaint' else t.hygiene end as hygiene,
        t.bounce_type,
        t.source
    from shaped s
    left join bounce_types t
      on t.type_key = case when lower(s.raw_type) like 'virus%' then 'virus' else lower(s.raw_type) end
    where s.shape = 'bounce'
),

bounce_lineage as (
    select
        *,
        json_object('platform', 'postmark', 'record_type', record_type, 'id', bounce_id,
                    'message_id', message_id, 'type', raw_type, 'type_code', type_code,
                    'message_stream', message_stream, 'description', record ->> '$.Description',
                    'inactive', record -> '$.Inactive', 'can_activate', record -> '$.CanActivate',
                    'server_id', record ->> '$.ServerID')::varchar as platform
    from bounce_records
),

bounces as (
    select
        row_number,
        'bounces' as kind,
        record ->> '$.Email' as email,
        record ->> '$.BouncedAt' as occurred_at,
        hygiene as event,  -- bounce | complaint
        -- Tag is the sender's label for a send: the nearest thing Postmark has to a campaign
        tag as campaign_id,
        bounce_type,
        -- Details holds the receiver's reply; Description is Postmark's generic text for the
        -- Type and would mislead the bounce rules, so it stays in lineage only
        nullif(regexp_extract(record ->> '$.Details', '(?:^|\D)([2-5]\d{2})(?:\D|$)', 1), '') as smtp_code,
        nullif(regexp_extract(record ->> '$.Details', '(?:^|[^\d.])([245]\.\d{1,3}\.\d{1,3})(?:\D|$)', 1), '') as enhanced_code,
        record ->> '$.Details' as diagnostic,
        bounce_id as event_ref,  -- a resent webhook, or the same bounce in a later dump, has the same ID
        platform
    from bounce_lineage
    where hygiene in ('bounce', 'complaint')
),

bounce_unsubscribes as (
    -- a reply asking to be removed, or an address deactivated by hand: stop mailing it (all lists)
    select
        row_number,
        'unsubscribes' as kind,
        record ->> '$.Email' as email,
        record ->> '$.BouncedAt' as occurred_at,
        'unsubscribe' as event,
        source,
        tag as campaign_id,
        'Postmark bounce type ' || raw_type as reason,
        bounce_id as event_ref,
        platform
    from bounce_lineage
    where hygiene = 'unsubscribe'
),

-- suppression list changes (webhook) and suppressions (dump) -------------------------------------

changes as (
    select
        s.*,
        case s.shape when 'subscription' then s.record ->> '$.Recipient'
                     else s.record ->> '$.EmailAddress' end as email,
        case s.shape when 'subscription' then s.record ->> '$.ChangedAt'
                     else s.record ->> '$.CreatedAt' end as occurred_at,
        -- a dump lists addresses currently suppressed; a webhook says which way it changed
        case s.shape when 'suppression' then 'true'
                     else lower(s.record ->> '$.SuppressSending') end as suppress_sending,
        o.source
    from shaped s
    left join origins o on o.origin_key = lower(s.origin)
    where s.shape in ('subscription', 'suppression')
),

change_lineage as (
    select
        *,
        -- Postmark gives a suppression no id: its stream, direction and time identify it
        case shape
            when 'subscription' then 'subscription:' || coalesce(message_stream, '') || ':'
                                     || suppress_sending || ':' || coalesce(occurred_at, '')
            else 'suppression:' || suppression_reason || ':' || coalesce(occurred_at, '')
        end as event_ref,
        json_object('platform', 'postmark', 'record_type', coalesce(record_type, 'SuppressionDump'),
                    'message_id', message_id, 'message_stream', message_stream,
                    'origin', origin, 'suppression_reason', suppression_reason,
                    'suppress_sending', suppress_sending = 'true',
                    'server_id', record ->> '$.ServerID')::varchar as platform
    from changes
),

suppressed_bounces as (
    -- Postmark suppressed the address after a hard bounce or a spam complaint: the event itself
    select
        row_number,
        'bounces' as kind,
        email,
        occurred_at,
        case suppression_reason when 'HardBounce' then 'bounce' else 'complaint' end as event,
        tag as campaign_id,
        case suppression_reason when 'HardBounce' then 'hard' end as bounce_type,
        event_ref,
        platform
    from change_lineage
    where suppress_sending = 'true' and suppression_reason in ('HardBounce', 'SpamComplaint')
),

manual_suppressions as (
    -- an unsubscribe through Postmark's link, or a suppression added by the sender or Postmark.
    -- A message stream is a sending channel (transactional, broadcast), not a mailing list, and
    -- one stream carries several lists: the unsubscribe applies to every list (list_id empty).
    select
        row_number,
        'unsubscribes' as kind,
        email,
        occurred_at,
        'unsubscribe' as event,
        source,
        tag as campaign_id,
        'Postmark ManualSuppression by ' || coalesce(origin, 'unknown origin')
            || coalesce(' on stream ' || message_stream, '') as reason,
        event_ref,
        platform
    from change_lineage
    where suppress_sending = 'true' and suppression_reason = 'ManualSuppression'
),

reactivations as (
    -- Postmark removed the address from the suppression list. Nothing in the record shows the
    -- recipient's consent: a resubscribe without evidence, which the rules report as blocked
    -- and which lifts nothing (a hard bounce is lifted by the next delivery instead).
    select
        row_number,
        'unsubscribes' as kind,
        email,
        occurred_at,
        'resubscribe' as event,
        source,
        'Postmark reactivation by ' || coalesce(origin, 'unknown origin')
            || coalesce(' on stream ' || message_stream, '') as reason,
        event_ref,
        platform
    from change_lineage
    where suppress_sending = 'false'
),

-- deliveries -----------------------------------------------------------------------------------

deliveries as (
    -- a delivery lifts a hard bounce and breaks a run of soft bounces
    select
        row_number,
        'bounces' as kind,
        record ->> '$.Recipient' as email,
        record ->> '$.DeliveredAt' as occurred_at,
        'delivered' as event,
        tag as campaign_id,
        'delivery:' || message_id as event_ref,
        json_object('platform', 'postmark', 'record_type', record_type, 'message_id', message_id,
                    'message_stream', message_stream, 'details', record ->> '$.Details',
                    'server_id', record ->> '$.ServerID')::varchar as platform
    from shaped
    where shape = 'delivery'
),

-- malformed records ----------------------------------------------------------------------------

malformed as (
    select row_number, error, error_column from (
        select
            row_number,
            case shape
                when 'none' then 'no RecordType, and neither a suppression (EmailAddress, '
                                 || 'SuppressionReason) nor a bounce (Type, BouncedAt): not a Postmark record'
                when 'unknown' then 'unknown Postmark RecordType ''' || record_type || ''''
            end as error,
            'RecordType' as error_column
        from shaped
        where shape in ('none', 'unknown')
        union all
        select
            row_number,
            case when raw_type is null then 'Postmark bounce without a Type'
                 else 'unknown Postmark bounce Type ''' || raw_type || '''' end,
            'Type'
        from bounce_records
        -- a spam complaint webhook needs no Type to be a complaint
        where hygiene is null and (raw_type is null or type_unknown)
        union all
        select
            row_number,
            case when record ->> '$.SuppressSending' is null then 'SubscriptionChange without SuppressSending'
                 else 'SuppressSending ''' || (record ->> '$.SuppressSending') || ''' is neither true nor false' end,
            'SuppressSending'
        from changes
        where suppress_sending is null or suppress_sending not in ('true', 'false')
        union all
        select
            row_number,
            case when suppression_reason is null then 'suppression without a SuppressionReason'
                 else 'unknown SuppressionReason ''' || suppression_reason || '''' end,
            'SuppressionReason'
        from changes
        where suppress_sending = 'true'
          and (suppression_reason is null
               or suppression_reason not in ('HardBounce', 'SpamComplaint', 'ManualSuppression'))
    )
),

final as (
    select * from bounces
    union all by name select * from bounce_unsubscribes
    union all by name select * from suppressed_bounces
    union all by name select * from manual_suppressions
    union all by name select * from reactivations
    union all by name select * from deliveries
    union all by name select * from malformed
)

select * from final
order by row_number
