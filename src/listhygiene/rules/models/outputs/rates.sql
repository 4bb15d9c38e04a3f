-- rates: per (campaign, receiver domain), the delivery outcomes and complaints of every logged
-- event up to the as-of, their rates, and the sender thresholds ([report], report_thresholds)
-- they cross. It reads the store's event tables, never the events model: an incremental night
-- restricts that to the addresses it re-evaluates, and a rate is over all the mail sent.
-- Rates: hard, soft and block over the messages the logs account for (deliveries and bounces);
-- complaints and unsubscribes over deliveries, as Gmail counts the spam rate. A rate over fewer
-- than min_messages messages is shown, never judged.

with

params as (
    select as_of from run_params
),

limits as (
    select * from report_thresholds
),

files as (
    select f.file_id
    from input_files f
    join run_sources s on s.source = f.source and s.kind = f.kind
),

outcomes as (
    -- each event's outcome, counted per receiver domain and campaign (millions of events become
    -- a few thousand rows before any other work)
    select
        receiver_domain(b.email) as address_domain,
        b.campaign_id,
        case
            when b.event = 'delivered' then 'delivery'
            when b.event = 'complaint' then 'complaint'
            when b.bounce_class = 'hard' then 'hard'
            when b.bounce_class = 'block' then 'block'
            -- an unclassified bounce counts as soft, as in the rules
            else 'soft'
        end as outcome,
        count(*) as n
    from bounce_events b
    join files f on f.file_id = b.file_id
    where not b.is_duplicate
      and b.occurred_at <= (select as_of from params)
    group by 1, 2, 3
),

opt_outs as (
    select
        receiver_domain(u.email) as address_domain,
        u.campaign_id,
        -- an unsubscribe from the feedback loop is a complaint, as in the events model
        case when u.event = 'complaint' or u.origin = 'complaint' then 'complaint' else 'unsubscribe' end
            as outcome,
        count(*) as n
    from unsubscribe_events u
    join files f on f.file_id = u.file_id
    where not u.is_duplicate
      and u.event in ('unsubscribe', 'complaint')
      and u.occurred_at <= (select as_of from params)
    group by 1, 2, 3
),

tallied as (
    select
        -- the mailbox provider receiving the mail: a provider's other consumer domains count
        -- as its main one (the receiver applying the thresholds is the same)
        case
            when address_domain in ('googlemail.com') then 'gmail.com'
            when address_domain in ('hotmail.com', 'live.com', 'msn.com') then 'outlook.com'
            when address_domain in ('ymail.com', 'rocketmail.com') then 'yahoo.com'
            when address_domain = '' then 'other'
            else address_domain
        end as receiver,
        campaign_id,
        outcome,
        n
    from (select * from outcomes union all select * from opt_outs)
),

ranked as (
    -- the receivers with the most mail keep their name; the long tail is "other"
    select
        receiver,
        row_number() over (order by sum(n) desc, receiver) <= (select domains from limits) as named
    from tallied
    where receiver <> 'other'
    group by receiver
),

counts as (
    select
        t.campaign_id,
        case when r.named then t.receiver else 'other' end as domain,
        sum(case when t.outcome = 'delivery' then t.n else 0 end) as deliveries,
        sum(case when t.outcome = 'hard' then t.n else 0 end) as hard,
        sum(case when t.outcome = 'soft' then t.n else 0 end) as soft,
        sum(case when t.outcome = 'block' then t.n else 0 end) as block,
        sum(case when t.outcome = 'complaint' then t.n else 0 end) as complaints,
        sum(case when t.outcome = 'unsubscribe' then t.n else 0 end) as unsubscribes
    from tallied t
    left join ranked r on r.receiver = t.receiver
    group by 1, 2
),

rated as (
    select
        *,
        deliveries + hard + soft + block as messages,
        cast(hard as double) / nullif(deliveries + hard + soft + block, 0) as hard_rate,
        cast(soft as double) / nullif(deliveries + hard + soft + block, 0) as soft_rate,
        cast(block as double) / nullif(deliveries + hard + soft + block, 0) as block_rate,
        cast(complaints as double) / nullif(deliveries, 0) as complaint_rate,
        cast(unsubscribes as double) / nullif(deliveries, 0) as unsubscribe_rate,
        deliveries + hard + soft + block >= (select min_messages from limits) as judged
    from counts
),

final as (
    select
        r.campaign_id,
        r.domain,
        cast(r.messages as bigint) as messages,
        cast(r.deliveries as bigint) as deliveries,
        cast(r.hard as bigint) as hard,
        cast(r.soft as bigint) as soft,
        cast(r.block as bigint) as block,
        cast(r.complaints as bigint) as complaints,
        cast(r.unsubscribes as bigint) as unsubscribes,
        r.hard_rate,
        r.soft_rate,
        r.block_rate,
        r.complaint_rate,
        r.unsubscribe_rate,
        -- in thresholds.THRESHOLDS' order
        list_filter([
            case when r.judged and r.complaint_rate >= l.spam_rate_target then 'spam_rate_target' end,
            case when r.judged and r.complaint_rate >= l.spam_rate_limit then 'spam_rate_limit' end,
            case when r.judged and r.complaint_rate >= l.complaint_rate_review then 'complaint_rate_review' end,
            case when r.judged and r.complaint_rate >= l.complaint_rate_pause then 'complaint_rate_pause' end,
            case when r.judged and r.hard_rate >= l.bounce_rate_review then 'bounce_rate_review' end,
            case when r.judged and r.hard_rate >= l.bounce_rate_pause then 'bounce_rate_pause' end
        ], lambda x: x is not null) as thresholds_crossed
    from rated r
    cross join limits l
)

select * from final
