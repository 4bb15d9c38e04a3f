-- last_deliveries: the latest delivery to each address with a suppression cause. A delivery
-- proves the address works, so it lifts hard bounces and soft-bounce streaks
-- (suppression_lifts); only the latest one can be the latest lift, and only an address with a
-- cause can have a lift that matters (most addresses have deliveries, few have causes).
-- Its own model because it is the widest step of the lifts: deliveries are most of the bounce
-- log, and grouped in the same statement as the lifts' other joins DuckDB could not spill it
-- (5M contacts over two snapshots ran out of memory at a 2500 MiB limit; apart, both fit).

with

cause_addresses as (
    select distinct email from suppression_causes
),

deliveries as (
    select e.email, e.occurred_at
    from events e
    semi join cause_addresses a on a.email = e.email
    where e.kind = 'delivery'
),

final as (
    select email, max(occurred_at) as occurred_at
    from deliveries
    group by email
)

select * from final
