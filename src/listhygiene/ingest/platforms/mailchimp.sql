-- mailchimp: the member files of a Mailchimp audience export as contact rows, one per member,
-- and an unsubscribe event per unsubscribed member. One audience is one list ($list_id, the
-- source's list_id); the file a member sits in says its status. The reader (mailchimp.py)
-- hands over one column per Mailchimp column read here (`mailchimp_members`); the other
-- columns (merge fields, MEMBER_RATING, OPTIN_*, CLEAN_*, TAGS, …) are the attributes.
-- Timestamps stay as Mailchimp writes them (naive, in the source's time_zone).

with

members as (
    select * from mailchimp_members
),

contacts as (
    select
        row_number,
        'contacts' as kind,
        -- LEID is the member's id in the audience and survives an address change; EUID names
        -- the address across Mailchimp. A file trimmed of both falls back on Mailchimp's
        -- subscriber hash (MD5 of the lower-cased address), the API's id of the member.
        coalesce(leid, euid, md5(lower(trim(email)))) as contact_id,
        email,
        -- nonsubscribed members are transactional contacts who never joined the audience:
        -- a known address on no list, with no membership to give a status to
        case when file_status <> 'nonsubscribed' then $list_id end as list_id,
        case when file_status <> 'nonsubscribed' then file_status end as status,
        -- CONFIRM_TIME is when Mailchimp recorded the opt-in (the double opt-in confirmation,
        -- or the time an admin or import added the member); OPTIN_TIME, the signup form's
        -- time, stays an attribute
        confirm_time as confirmed_at,
        -- set only when the export's folder, not its file name, carries the date
        exported_at,
        attributes,
        json_object('platform', 'mailchimp', 'file_status', file_status, 'leid', leid,
                    'euid', euid, 'optin_time', optin_time, 'last_changed', last_changed,
                    'clean_time', clean_time, 'clean_campaign_id', clean_campaign_id,
                    'clean_campaign_title', clean_campaign_title)::varchar as platform
    from members
),

unsubscribes as (
    -- the member left this audience: a list unsubscribe at UNSUB_TIME, made by the member
    -- (link or preference centre). The same unsubscribe in the next night's export has the
    -- same address, time, list and campaign, so the loader counts it once.
    select
        row_number,
        'unsubscribes' as kind,
        email,
        unsub_time as occurred_at,
        'unsubscribe' as event,
        $list_id as list_id,
        'contact' as source,
        unsub_campaign_id as campaign_id,
        nullif(concat_ws(': ', unsub_reason, unsub_reason_other), '') as reason,
        json_object('platform', 'mailchimp', 'file_status', file_status, 'leid', leid,
                    'euid', euid, 'campaign_title', unsub_campaign_title,
                    'unsub_reason', unsub_reason, 'unsub_reason_other', unsub_reason_other)::varchar
            as platform
    from members
    where file_status = 'unsubscribed'
      -- without a time there is no event to date; the member's status still says unsubscribed
      and unsub_time is not null
),

final as (
    select * from contacts
    union all by name select * from unsubscribes
)

select * from final
order by row_number, kind
