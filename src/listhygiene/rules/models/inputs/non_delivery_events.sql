-- non_delivery_events: the usable events (events) other than deliveries, as one table. Deliveries
-- are most of the logs (92% of the events of the benchmark's data sets) and are read only to
-- lift bounces (last_deliveries, soft_bounce_streaks' resets); every other rule reads an event
-- of some other kind. Read here once, each of those rules reads a small table instead of
-- scanning and shaping the whole event log again (events is a view over the store).

with

final as (
    select *
    from events
    where kind <> 'delivery'
)

select * from final
