-- cited_rows: on an incremental night, each of the citations (a contact row of a snapshot
-- replaced tonight, cited in the previous run's rows), with the same row in tonight's export
-- (cited_now). A new export moves an unchanged row to another file and row number; an
-- address whose every citation has a cited_now keeps its previous rows with the citations
-- rewritten (publish.py), instead of being evaluated again (dirty_addresses).
-- The same row means the same place among the address's rows of the source, in file and row
-- order, with the rows the same in both exports and in that order: the rules break ties
-- between an address's records by that order, so rows in another order may speak otherwise.
-- cited_now is null where that does not hold, where the citation does not move (citations),
-- or where it is of no row of the address.

with

replaced_files as (
    select file_id, source, cited
    from previous_snapshot_files
    where replaced and not ambiguous
),

contact_content as not materialized (
    -- the rows narrowed to their content first, then probed by the cited addresses (the
    -- citations table, whose size DuckDB knows: it builds its hash table on that side)
    select file_id, row_number, email,
           row_content(contact_id, email_raw, email_valid, list_id, status, status_raw,
                       confirmed_at, do_not_contact, attributes) as h
    from contact_rows
),

rows_then as (
    -- the rows of the cited addresses in the replaced export, numbered in file and row order
    -- per source and address (a window: it sorts and spills, where an ordered list would not)
    select f.source, r.email, f.cited || r.row_number as cited, r.h,
           row_number() over (partition by f.source, r.email order by r.file_id, r.row_number) as position
    from contact_content r
    join replaced_files f using (file_id)
    semi join citations c using (email)
),

rows_now as (
    select f.source, r.email, lineage(f.source, f.file_name, r.row_number) as cited, r.h,
           row_number() over (partition by f.source, r.email order by r.file_id, r.row_number) as position
    from contact_content r
    join contact_files f using (file_id)
    semi join citations c using (email)
    where f.is_latest and f.source in (select source from replaced_files)
),

paired as (
    select coalesce(t.source, n.source) as source, coalesce(t.email, n.email) as email,
           t.cited, n.cited as cited_now, coalesce(t.h = n.h, false) as same
    from rows_then t
    full join rows_now n on n.source = t.source and n.email = t.email and n.position = t.position
),

same_rows as (
    -- per (source, address): the same rows, in the same order, in both exports
    select source, email from paired group by source, email having bool_and(same)
),

moved as (
    -- each row moves to the one in its place
    select p.email, p.cited, p.cited_now
    from paired p
    semi join same_rows s on s.source = p.source and s.email = p.email
),

final as (
    select c.email, c.cited, case when c.moves then m.cited_now end as cited_now
    from citations c
    left join moved m on m.email = c.email and m.cited = c.cited
)

select * from final
