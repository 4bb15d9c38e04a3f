-- suppressions: every active suppression, including addresses on no list and addresses seen
-- only in the logs. A reason that holds for the address as a whole is one row with scope
-- 'global'; a list reason is one row per list. Membership states (unconfirmed,
-- not_in_source) are not suppressions.

with

final as (
    select
        email,
        coalesce(list_id, 'global') as scope,
        reason,
        reason_at as since,
        source,
        origin,
        detail
    from active_reasons
    where reason not in ('unconfirmed', 'not_in_source')
      and (list_id is null or not is_global)
)

select * from final
