-- vanished: (list, address) pairs sendable in the previous run and not now. The previous run
-- had no reason for them (that is what sendable means), so every reason active now became
-- active since then; the first by precedence is the one reported.

with

previous as (
    select list_id, email, contact_id
    from previous_status
    where sendable and list_id is not null
),

final as (
    select
        p.list_id,
        p.email,
        coalesce(c.contact_id, p.contact_id) as contact_id,
        (select previous_run_id from run_params) as previous_run_id,
        coalesce(c.reason, 'not_in_source') as reason,
        coalesce(c.reasons, ['not_in_source']) as reasons,
        c.reason_at,
        coalesce(c.detail, 'no longer in any export') as detail
    from previous p
    left join contact_status c on c.email = p.email and c.list_id = p.list_id
    where not coalesce(c.sendable, false)
)

select * from final
