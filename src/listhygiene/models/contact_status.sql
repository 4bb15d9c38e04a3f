-- contact_status: one row per (address, list) known to the run (reported_reasons), with the
-- contact id of the record speaking for it (and that record's file_id and row_number, where
-- sendable.parquet finds its attributes). Sendable for marketing when the address is a
-- member and no reason is active; transactional mail only honours invalid_address and
-- hard_bounce.

with

final as (
    select
        s.email,
        s.list_id,
        p.contact_id,
        s.on_list and s.reason is null as sendable,
        not coalesce(s.blocks_transactional, false) as transactional_ok,
        s.reason,
        coalesce(s.reasons, []::varchar[]) as reasons,
        s.reason_at,
        s.detail,
        p.file_id,
        p.row_number
    from reported_reasons s
    left join primary_records p
      on p.email = s.email and p.list_id is not distinct from s.list_id
)

select * from final
