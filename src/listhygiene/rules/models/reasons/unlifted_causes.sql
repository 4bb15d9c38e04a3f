-- unlifted_causes: every cause still in force at the as-of, placed on each candidate
-- (address, list) it covers. A global cause covers every candidate of the address, a list
-- cause the candidate of that list. A cause is lifted when a lift came after it that is for
-- the same reason, whose scope covers the row (global, or that list), and which is meant for
-- causes of its origin (a later export lifts only Integration unsubscribes). The latest such
-- lift is all that matters (suppression_lifts keeps only it).
--
-- One rule, read by active_reasons (the reasons), crm_updates (what to tell the CRM) and
-- explain (what would lift each reason).

with

placed_causes as (
    -- a cause with list_id null covers every candidate of the address
    select k.email, k.list_id, c.reason, c.occurred_at, c.origin, c.source, c.detail, c.list_id is null as is_global
    from suppression_causes c
    join candidates k on k.email = c.email and (c.list_id is null or c.list_id = k.list_id)
),

lifted_at as (
    -- the latest lift that applies to each placed cause (its scope covers the row, and it is
    -- meant for causes of that origin)
    select p.email, p.list_id, p.reason, p.origin, max(l.last_lifted_at) as lifted_at
    from (select distinct email, list_id, reason, origin from placed_causes) p
    join suppression_lifts l
      on l.email = p.email
     and l.reason = p.reason
     and (l.list_id is null or l.list_id = p.list_id)
     and (l.only_origin is null or l.only_origin = p.origin)
    group by all
),

final as (
    select p.*
    from placed_causes p
    left join lifted_at l
      on l.email = p.email and l.reason = p.reason and l.origin = p.origin
     and l.list_id is not distinct from p.list_id
    where l.lifted_at is null or l.lifted_at <= p.occurred_at
)

select * from final
