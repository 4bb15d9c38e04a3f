-- candidates: every (address, list) the run evaluates: each membership ever exported; each
-- address of the exports, of an event other than a delivery or of a suppression list on its
-- own (list_id null: the address as a whole, for suppressions and for contacts on no list); and pairs a list
-- unsubscribe names for an address not on that list, so that the suppression is kept even
-- before the address joins.

with

members as (
    select email, list_id, true as on_list from memberships
),

addresses as (
    -- primary_records has every address of the exports once (list_id null): fewer rows to
    -- deduplicate than every export row
    select email from primary_records where list_id is null
    union
    -- a delivery causes no reason (it only lifts a bounce, whose address is here by that
    -- bounce): an address seen only in deliveries has nothing to evaluate. Deliveries are most
    -- of the events, which this union would otherwise deduplicate (5M contacts: 30M rows)
    select email from non_delivery_events
    union
    -- an address on a do-not-mail list in clear, even one the exports and logs never named:
    -- its suppression is kept before it joins a list
    select email from external_suppressions
),

list_causes_of_non_members as (
    select distinct c.email, c.list_id, false as on_list
    from suppression_causes c
    where c.list_id is not null
      and not exists (
          select 1 from memberships m where m.email = c.email and m.list_id = c.list_id
      )
),

final as (
    select * from members
    union all
    select email, null::varchar as list_id, false as on_list from addresses
    union all
    select * from list_causes_of_non_members
)

select * from final
