-- cited_rows: on an incremental night, each citation of a contact row of a replaced snapshot
-- (previous_snapshot_files) in the previous run's rows, per address, and the same row in
-- tonight's export (cited_now). A new export moves an unchanged row to another file and row
-- number; an address whose every citation has a cited_now keeps its previous rows with the
-- citations rewritten (publish.py), instead of being evaluated again (dirty_addresses).
-- Only a citation of the row the latest export holds moves: an export's claim (unsubscribed,
-- cleaned, do not contact) and a pending status cite the latest export's row, as does what
-- a CRM update is shown in. Others name a row for its history (the first export to hold an
-- invalid address, the export that resubscribed someone): that row stays the one named
-- while it is the replaced export's, which a rewrite would lose.
-- The same row means the same place in the address's rows of the source, in file and row
-- order, with the rows the same in both exports and in that order: the rules break ties
-- between an address's records by that order, so rows in another order may speak otherwise.
-- cited_now is null where that does not hold, where the citation does not move, or where it
-- is of no row of the address.
-- The columns read here are publish.CITING_COLUMNS: a citation anywhere else is not seen.

with

replaced_files as (
    select file_id, source, cited
    from previous_snapshot_files
    where replaced and not ambiguous
),

latest_row_reasons as (
    select unnest(['source_unsubscribed', 'source_cleaned', 'do_not_contact', 'unconfirmed']) as reason
),

citations as (
    -- replaced_citations (incremental.py): the citations of the replaced snapshots' rows
    select email, unnest(replaced_citations(detail)) as cited,
           reason in (select reason from latest_row_reasons) as moves
    from previous_contact_status
    union all
    select email, unnest(replaced_citations(detail)) as cited,
           reason in (select reason from latest_row_reasons) as moves
    from previous_suppressions
    union all
    select email, unnest(replaced_citations(source)) as cited, false as moves
    from previous_blocked_resubscribes
    union all
    select email, unnest(replaced_citations(shown_in)) as cited, true as moves
    from previous_crm_updates
    union all
    select email, unnest(replaced_citations(evidence)) as cited, false as moves
    from previous_crm_updates
),

cited as (
    select email, cited, bool_and(moves) as moves
    from citations
    group by email, cited
),

rows_then as (
    select
        f.source, r.email, f.cited || r.row_number as cited,
        row_content(r.contact_id, r.email_raw, r.email_valid, r.list_id, r.status, r.status_raw,
                    r.confirmed_at, r.do_not_contact, r.attributes) as h,
        row_number() over (partition by f.source, r.email order by r.file_id, r.row_number) as position
    from contact_rows r
    join replaced_files f using (file_id)
    semi join cited c using (email)
),

rows_now as (
    select
        f.source, r.email, lineage(f.source, f.file_name, r.row_number) as cited,
        row_content(r.contact_id, r.email_raw, r.email_valid, r.list_id, r.status, r.status_raw,
                    r.confirmed_at, r.do_not_contact, r.attributes) as h,
        row_number() over (partition by f.source, r.email order by r.file_id, r.row_number) as position
    from contact_rows r
    join contact_files f using (file_id)
    semi join cited c using (email)
    where f.is_latest and f.source in (select source from replaced_files)
),

same_rows as (
    -- per (source, address): the same rows, in the same order, in both exports
    select t.source, t.email
    from (select source, email, list(h order by position) as rows from rows_then group by all) t
    join (select source, email, list(h order by position) as rows from rows_now group by all) n
      on n.source = t.source and n.email = t.email
    where t.rows = n.rows
),

moved as (
    select t.email, t.cited, n.cited as cited_now
    from rows_then t
    join rows_now n on n.source = t.source and n.email = t.email and n.position = t.position
    semi join same_rows s on s.source = t.source and s.email = t.email
),

final as (
    select c.email, c.cited, case when c.moves then m.cited_now end as cited_now
    from cited c
    left join moved m on m.email = c.email and m.cited = c.cited
)

select * from final
