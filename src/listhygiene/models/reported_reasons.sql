-- reported_reasons: every row contact_status reports (reported_rows) with its reasons
-- (status_reasons). contact_status is built in steps, each statement joining one large table
-- to another: DuckDB cannot spill two wide hash joins (or a join and a sorted aggregate) of
-- one statement at once, and a large night would then fail under the memory limit instead of
-- using the disk (1M contacts, two snapshots: fails at 400 MiB in one statement, completes
-- in steps).

with

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
    from reported_rows k
    left join status_reasons r
      on r.email = k.email and r.list_id is not distinct from k.list_id
)

select * from final
