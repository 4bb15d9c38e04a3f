-- contact_status: one row per (address, list) known to the run (reported_rows), with the
-- contact id of the record speaking for it (and that record's file_id and row_number, where
-- sendable.parquet finds its attributes), and its reasons (status_reasons). Sendable for
-- marketing when the address is a member and no reason is active; transactional mail only
-- honours invalid_address and hard_bounce.

with

final as (
    select
        k.email,
        k.list_id,
        k.contact_id,
        k.on_list and r.reason is null as sendable,
        not coalesce(r.blocks_transactional, false) as transactional_ok,
        r.reason,
        coalesce(r.reasons, []::varchar[]) as reasons,
        r.reason_at,
        r.detail,
        k.file_id,
        k.row_number
    from reported_rows k
    -- the one join of this statement: a large table spills its side of it to disk when
    -- memory is short, where two wide joins in one statement could not
    left join status_reasons r
      on r.email = k.email and r.list_id is not distinct from k.list_id
)

select * from final
