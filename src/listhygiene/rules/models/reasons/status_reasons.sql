-- status_reasons: per (address, list) with an active reason, its reasons in precedence order;
-- the first is the one contact_status shows. blocks_transactional: one of them stops
-- transactional mail too.

with

ranked_reasons as (
    select a.*, p.precedence, p.blocks_transactional
    from active_reasons a
    join reason_precedence p using (reason)
),

final as (
    select
        email, list_id,
        -- sorted after grouping: an ordered aggregate (list(... order by ...)) keeps each
        -- group's rows where DuckDB cannot spill them (10M groups failed under a 400 MB
        -- limit, where this form and a plain list() pass)
        list_transform(list_sort(list({precedence: precedence, reason: reason})), lambda r: r.reason) as reasons,
        arg_min(reason, precedence) as reason,
        arg_min(reason_at, precedence) as reason_at,
        arg_min(detail, precedence) as detail,
        bool_or(blocks_transactional) as blocks_transactional
    from ranked_reasons
    group by email, list_id
)

select * from final
