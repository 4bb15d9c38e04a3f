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
    -- per (source, address) cited: its rows' citations and contents, in file and row order
    select f.source, r.email,
           list(f.cited || r.row_number order by r.file_id, r.row_number) as cites,
           list(r.h order by r.file_id, r.row_number) as contents
    from contact_content r
    join replaced_files f using (file_id)
    semi join citations c using (email)
    group by f.source, r.email
),

rows_now as (
    select f.source, r.email,
           list(lineage(f.source, f.file_name, r.row_number) order by r.file_id, r.row_number) as cites,
           list(r.h order by r.file_id, r.row_number) as contents
    from contact_content r
    join contact_files f using (file_id)
    semi join citations c using (email)
    where f.is_latest and f.source in (select source from replaced_files)
    group by f.source, r.email
),

moved as (
    -- the same rows, in the same order, in both exports: each row moves to the one in its place
    select t.email, unnest(t.cites) as cited, unnest(n.cites) as cited_now
    from rows_then t
    join rows_now n on n.source = t.source and n.email = t.email
    where t.contents = n.contents
),

final as (
    select c.email, c.cited, case when c.moves then m.cited_now end as cited_now
    from citations c
    left join moved m on m.email = c.email and m.cited = c.cited
)

select * from final
