-- status_reasons: the rows contact_status reports — every membership, current or former, and
-- contacts on no list at all (list_id null) — each with its active reasons in precedence
-- order; the first is the one shown. Built apart from contact_status so that each statement
-- joins one large table to another: two wide hash joins in one statement cannot both spill,
-- and a large night then fails under the memory limit instead of using the disk.

with

contact_addresses as (
    -- every address of the exports, once (primary_records speaks for each as a whole)
    select email from primary_records where list_id is null
),

rows_reported as (
    select k.email, k.list_id, k.on_list
    from candidates k
    where k.on_list
    union all
    select k.email, k.list_id, false as on_list
    from candidates k
    where k.list_id is null
      and k.email in (select email from contact_addresses)
      and k.email not in (select email from memberships)
),

ranked_reasons as (
    select a.*, p.precedence, p.blocks_transactional
    from active_reasons a
    join reason_precedence p using (reason)
),

reasons_per_row as (
    select
        email, list_id,
        list(reason order by precedence) as reasons,
        arg_min(reason, precedence) as reason,
        arg_min(reason_at, precedence) as reason_at,
        arg_min(detail, precedence) as detail,
        bool_or(blocks_transactional) as blocks_transactional
    from ranked_reasons
    group by email, list_id
),

final as (
    select
        k.email,
        k.list_id,
        k.on_list,
        r.reason,
        r.reasons,
        r.reason_at,
        r.detail,
        r.blocks_transactional
    from rows_reported k
    left join reasons_per_row r
      on r.email = k.email and r.list_id is not distinct from k.list_id
)

select * from final
