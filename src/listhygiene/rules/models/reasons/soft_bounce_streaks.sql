-- soft_bounce_streaks: when an address reached soft_bounce_limit consecutive distinct campaigns
-- with a soft bounce and no delivery between. A bounce without a campaign id is a campaign of
-- its own; several bounces on one campaign (retries) count once; blocks are the sender's fault
-- (blocklists, reputation, authentication, rate, content: the same for every recipient at that
-- receiver) and neither count nor reset; unknown bounces count as soft, so one unreadable reply
-- never removes an address but a run of them does. Classes come from bounce_rules.toml (see
-- bounce_classes.sql); a hard bounce is a suppression of its own. A delivery or a confirmed opt-in
-- starts a new streak. With soft_bounce_window_days > 0 the limit must be reached within that
-- many days (first to last campaign of the streak).

with

params as (
    select soft_bounce_limit as bounce_limit, soft_bounce_window_days as window_days from run_params
),

soft_bounces as (
    select
        e.email,
        coalesce(e.campaign_id, 'row:' || lineage(e.source, e.file_name, e.row_number)) as campaign,
        e.occurred_at,
        e.source,
        e
    from non_delivery_events e
    where e.kind = 'bounce' and e.bounce_class in ('soft', 'unknown')
),

candidates_for_limit as (
    -- only an address with enough soft-bounced campaigns in all can have a streak that long
    select email
    from soft_bounces
    group by email
    having count(distinct campaign) >= (select bounce_limit from params)
),

resets as (
    select email, occurred_at from events where kind = 'delivery'
    union all
    select email, occurred_at from non_delivery_events where kind = 'resubscribe' and evidence = 'confirmed_optin'
    union all
    select email, confirmed_at as occurred_at from contact_records where confirmed_at is not null
),

resets_of_candidates as (
    select * from resets where email in (select email from candidates_for_limit)
),

campaigns as (
    -- one row per (address, campaign): the campaign's first soft bounce
    select email, campaign, min(occurred_at) as occurred_at, arg_min(e, occurred_at) as first_bounce,
           arg_min(source, occurred_at) as source
    from soft_bounces
    where email in (select email from candidates_for_limit)
    group by email, campaign
),

campaigns_after_reset as (
    -- each campaign belongs to the streak that began at the last reset before it
    select c.*, r.occurred_at as last_reset_at
    from campaigns c
    asof left join resets_of_candidates r on r.email = c.email and c.occurred_at >= r.occurred_at
),

streaks as (
    select
        *,
        row_number() over (partition by email, last_reset_at order by occurred_at, campaign) as position
    from campaigns_after_reset
),

streak_windows as (
    -- when the window is on, the limit counts only if its first and last campaign are close enough
    select s.*, first_of_limit.occurred_at as limit_started_at
    from streaks s, params p
    left join streaks first_of_limit
        on first_of_limit.email = s.email
       and first_of_limit.last_reset_at is not distinct from s.last_reset_at
       and first_of_limit.position = s.position - p.bounce_limit + 1
    where s.position >= p.bounce_limit
),

final as (
    select
        w.email,
        w.occurred_at,
        w.position,
        w.source,
        'soft bounces on ' || w.position || ' consecutive campaigns, the last: '
            || event_detail(w.first_bounce) as detail
    from streak_windows w, params p
    where p.window_days = 0
       or w.occurred_at - w.limit_started_at <= to_days(p.window_days)
)

select * from final
