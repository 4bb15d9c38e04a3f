-- reported_rows: the rows contact_status reports — every membership, current or former
-- (on_list; a former one has the reason not_in_source), and contacts on no list at all
-- (list_id null) — each with the
-- record that speaks for it (primary_records' choice: contact id, file and row). The speaker
-- of a membership is ranked by memberships itself, so no row is joined to another here: a
-- join of every reported row to primary_records was the costliest step of contact_status on
-- a large night (116 s of 20M contacts' rules, where the disk had to take its hash table).

with

members as (
    select
        email,
        list_id,
        true as on_list,
        speaker.contact_id,
        speaker.file_id,
        speaker.row_number
    from memberships
),

contacts_on_no_list as (
    -- an address of the exports on no list, ever: reported as the address as a whole
    -- (an anti join, not `not in`: Spark runs `not in` over a subquery as a broadcast of the
    -- whole subquery, and memberships at 5M contacts does not fit a 2 GB driver)
    select p.email, p.list_id, false as on_list, p.contact_id, p.file_id, p.row_number
    from primary_records p
    where p.list_id is null
      and not exists (select 1 from memberships m where m.email = p.email)
),

final as (
    select * from members
    union all
    select * from contacts_on_no_list
)

select * from final
