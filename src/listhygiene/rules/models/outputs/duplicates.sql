-- duplicates: addresses held by more than one contact record (source, contact_id) in the latest
-- exports. To listhygiene they are one recipient (SPEC §4: a suppression of the address covers
-- every record, the fail-safe of seed 002); to the CRM they are several records, often the same
-- address in two spellings. One row per record and list it is on (list_id null: its row on no
-- list), saying whether it is the record that speaks for that (address, list) in contact_status
-- and sendable (primary_records), and why: a record of the latest export, subscribed there,
-- most recently exported, then by source and contact id so the choice is stable across runs.

with

shared_addresses as (
    -- addresses held by two records or more (source, contact_id) in the latest exports: a
    -- contact on several lists has several rows but one record, so rows alone do not count.
    -- (Distinct records, then a count: a min and max of (source, contact_id) per address
    -- did the same; the whole model went from 7.8 to 5.0 s at 1M contacts.)
    select email
    from (select distinct email, source, contact_id from contact_records where is_latest)
    group by email
    having count(*) > 1
),

latest as (
    select r.email, r.list_id, r.source, r.contact_id, r.status, r.status_raw, r.snapshot_at,
           r.record_order, r.file_id, r.row_number, r.email_raw, r.lineage
    from contact_records r
    semi join shared_addresses s on s.email = r.email
    where r.is_latest
),

duplicated as (
    select email, count(distinct (source, contact_id)) as record_count,
           -- the first ten records by source and contact id. The list is repeated on every row of
           -- the address, so all of them would grow the file with the square of the records: a
           -- placeholder such as "n/a" held by 7,765 records of 5M contacts made 4 GiB of lists
           list_sort(list(distinct source || ':' || contact_id))[1:10] as records
    from latest
    group by email
    having count(distinct (source, contact_id)) > 1
),

record_on_list as (
    -- one row per record and list: its row there that ranks first, as primary_records ranks rows
    select *
    from (
        select l.*, row_number() over (
            partition by l.email, l.list_id, l.source, l.contact_id
            order by (l.status = 'subscribed') desc, l.snapshot_at desc, l.file_id, l.row_number
        ) as pick
        from latest l
        semi join duplicated d on d.email = l.email
    )
    where pick = 1
),

used as (
    -- the record primary_records chose for each (address, list), with the row it chose: the
    -- best by record_rank, the ranking primary_records uses. Only pairs with a row in the
    -- latest exports are compared, and those rows rank first, so the choice for a list (or for
    -- the address as a whole: list_id null) is the best of the address's latest rows there.
    -- Looked up in primary_records instead, the join over every contact row needed a 1 GiB
    -- hash table at 5M contacts.
    select
        email, list_id,
        arg_min({source: source, contact_id: contact_id, status: status, status_raw: status_raw,
                 snapshot_at: snapshot_at}, rank) as row
    from (
        select *, record_rank(true, status, record_order, contact_id, file_id, row_number) as rank
        from latest
    )
    group by grouping sets ((email, list_id), (email))
    -- per list, and per address as a whole; not the rows on no list by themselves
    having grouping(list_id) = 1 or list_id is not null
),

others_on_list as (
    select email, list_id, count(*) as n
    from record_on_list
    group by email, list_id
),

compared as (
    select
        x.*,
        u.row.source || ':' || u.row.contact_id as used_record,
        x.source = u.row.source and x.contact_id = u.row.contact_id as is_used,
        n.n as records_on_list,
        -- the first ranking key on which the record used beats this one (both are in the
        -- latest export: primary_records prefers those)
        case
            when u.row.status = 'subscribed' and x.status <> 'subscribed'
                then 'is subscribed there, ' || x.contact_id || ' says ' || coalesce(x.status_raw, x.status)
            when u.row.snapshot_at > x.snapshot_at
                then 'was exported more recently (' || strftime(u.row.snapshot_at::timestamp, '%Y-%m-%dT%H:%MZ') || ')'
            else 'ranks equal; the first by source and contact id is used, so the choice is stable across runs'
        end as edge
    from record_on_list x
    join used u on u.email = x.email and u.list_id is not distinct from x.list_id
    join others_on_list n on n.email = x.email and n.list_id is not distinct from x.list_id
),

runner_up as (
    -- for the record used: the best of the others on that list, to say what it was preferred over
    select email, list_id, contact_id, edge
    from (
        select *, row_number() over (
            partition by email, list_id
            order by (status = 'subscribed') desc, snapshot_at desc, source, contact_id
        ) as rank
        from compared
        where not is_used
    )
    where rank = 1
),

on_a_list as (
    select distinct email from latest where list_id is not null
),

final as (
    select
        c.email,
        d.record_count,
        d.records,
        c.list_id,
        c.source,
        c.contact_id,
        c.email_raw,
        c.status,
        c.snapshot_at,
        c.lineage,
        c.is_used and not (c.list_id is null and c.email in (select email from on_a_list)) as used,
        case
            -- a row on no list speaks for the address only while it is on no list at all
            when c.list_id is null and c.email in (select email from on_a_list)
                then 'on no list; each list of the address uses its own record'
            when c.is_used and c.records_on_list = 1 and c.list_id is null
                then 'the only record of this address on no list'
            when c.is_used and c.records_on_list = 1
                then 'the only record of this address on ' || c.list_id
            when c.is_used
                then 'used for ' || coalesce(c.list_id, 'the address as a whole') || ' over '
                     || r.contact_id || ': it ' || r.edge
            else coalesce(c.list_id, 'the address as a whole') || ' uses ' || c.used_record
                 || ', which ' || c.edge
        end as why
    from compared c
    join duplicated d on d.email = c.email
    left join runner_up r on r.email = c.email and r.list_id is not distinct from c.list_id
)

select * from final
