-- reported_rows: the rows contact_status reports — every membership, current or former
-- (on_list: a member now), and contacts on no list at all (list_id null).

with

contact_addresses as (
    -- every address of the exports, once (primary_records speaks for each as a whole)
    select email from primary_records where list_id is null
),

final as (
    select k.email, k.list_id, k.on_list
    from candidates k
    where k.on_list
    union all
    select k.email, k.list_id, false as on_list
    from candidates k
    where k.list_id is null
      and k.email in (select email from contact_addresses)
      and k.email not in (select email from memberships)
)

select * from final
