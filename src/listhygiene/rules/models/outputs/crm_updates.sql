-- crm_updates: what the CRM should be told so that the two systems agree (seeds 001 ActivePipe,
-- 002 ClickDimensions). A contact record of the latest export that shows the contact as
-- subscribed (or without its do_not_contact flag) while listhygiene holds an active suppression
-- the contact asked for. One row per (source, contact_id, list_id, field); list_id null means the
-- contact as a whole (the CRM's global field, e.g. Bulk Email: Do Not Allow).
--
-- Pushed back: unsubscribes, complaints and do-not-contact requests whose origin is the contact
-- (link, preference centre), a one-click List-Unsubscribe, a feedback-loop complaint, or an
-- administrator of the sending platform (who records a contact's request made by phone or mail).
-- Never pushed back: an Integration unsubscribe (it came from the CRM: telling the CRM its own
-- change would loop), an import (bulk data, no person's request behind it that listhygiene can
-- vouch for), and the export's own states (the CRM already says so). Bounce-based suppressions
-- (hard bounce, soft-bounce limit) are a delivery fact kept in the sending platform, not a
-- request: pushed as status=cleaned only with [writeback] include_bounces = true (seed 001).

with

settings as (
    -- read by name, so that the model binds whether or not the run passes the setting (absent: false)
    select coalesce((to_json(p)->>'writeback_include_bounces')::boolean, false) as include_bounces
    from run_params p
),

pushed_causes as (
    -- the causes still in force (unlifted_causes) that are pushed back, with the field and
    -- value the CRM should get
    select
        u.email, u.list_id, u.is_global, u.reason, u.occurred_at, u.origin, u.detail,
        case when u.reason = 'do_not_contact' then 'do_not_contact' else 'status' end as field,
        case when u.reason = 'do_not_contact' then 'true'
             when u.reason in ('hard_bounce', 'soft_bounce_limit') then 'cleaned'
             else 'unsubscribed' end as value
    from unlifted_causes u, settings s
    where (u.reason in ('complaint', 'unsubscribed', 'list_unsubscribed', 'do_not_contact')
           and u.origin in ('contact', 'list_unsubscribe', 'complaint', 'admin'))
       or (u.reason in ('hard_bounce', 'soft_bounce_limit') and s.include_bounces)
),

latest_rows as (
    -- the latest export's rows of the addresses with something to push back, picked before
    -- anything else reads them: a few percent of the export (the whole export, kept to be
    -- read twice, was this model's cost on a large night)
    select source, contact_id, email, list_id, status, do_not_contact, lineage, row_number
    from contact_records
    where is_latest
      and email in (select email from pushed_causes)
),

active as (
    -- the pushed causes on the rows of the latest export they cover. A list resubscribe lifts
    -- a global unsubscribe on that list only, so a global cause may be in force on some rows
    -- of a record and not on others.
    select
        r.source, r.contact_id, r.email, r.list_id as row_list_id, r.status, r.do_not_contact,
        r.lineage, r.row_number, u.is_global, u.reason, u.occurred_at, u.origin, u.detail,
        u.field, u.value
    from pushed_causes u
    join latest_rows r on r.email = u.email and r.list_id is not distinct from u.list_id
),

contact_rows_latest as (
    -- what each contact record with something to tell says as a whole in its latest export
    select
        r.source, r.contact_id, r.email,
        count(distinct coalesce(r.list_id, '')) as lists,
        bool_or(r.status = 'subscribed') as subscribed_anywhere,
        bool_or(r.list_id is null and r.status = 'unsubscribed') as globally_unsubscribed,
        bool_or(r.do_not_contact) as flagged,
        arg_min(r.lineage, r.row_number) filter (where r.status = 'subscribed') as subscribed_lineage,
        arg_min(r.lineage, r.row_number) as first_lineage
    from latest_rows r
    semi join (select distinct source, contact_id, email from active) a
      on a.source = r.source and a.contact_id = r.contact_id and a.email = r.email
    group by r.source, r.contact_id, r.email
),

global_in_force as (
    -- a global cause is told as one change to the whole contact when it holds on every row of
    -- the record; when a resubscribe for one list lifted it there, the other lists are told
    -- one by one instead (a global opt-out in the CRM would also stop the list they rejoined)
    select source, contact_id, email, reason, occurred_at, origin, detail, field, value,
           count(distinct coalesce(row_list_id, '')) as rows_in_force
    from active
    where is_global
    group by all
),

contact_level as (
    select g.source, g.contact_id, g.email, null::varchar as list_id, g.field, g.value, g.reason,
           g.occurred_at, g.detail,
           case when g.field = 'do_not_contact' then c.first_lineage else c.subscribed_lineage end as shown_in,
           0 as shown_row
    from global_in_force g
    join contact_rows_latest c using (source, contact_id, email)
    where g.rows_in_force = c.lists
      and case when g.field = 'do_not_contact' then not c.flagged
               else c.subscribed_anywhere and not c.globally_unsubscribed end
),

list_level as (
    -- list causes, and global causes lifted on some other list of the record, on each list
    -- the export still shows subscribed; needless where the whole contact is told the same
    -- change, or where the CRM's own global opt-out already covers a global cause
    select a.source, a.contact_id, a.email, a.row_list_id as list_id, a.field, a.value, a.reason,
           a.occurred_at, a.detail, a.lineage as shown_in, a.row_number as shown_row
    from active a
    where a.field = 'status' and a.status = 'subscribed' and a.row_list_id is not null
      and not exists (
          select 1 from contact_level c
          where c.source = a.source and c.contact_id = a.contact_id and c.email = a.email
            and c.field = a.field and c.value = a.value)
      and (not a.is_global or not exists (
          select 1 from contact_rows_latest c
          where c.source = a.source and c.contact_id = a.contact_id and c.email = a.email
            and c.globally_unsubscribed))
),

changes as (
    select * from contact_level
    union all
    select * from list_level
),

final as (
    -- several causes asking for one change: a withdrawal of consent is told before a delivery
    -- state, then by reason precedence; since and evidence are those of the earliest cause of
    -- the reason told (ties broken by text and row, so identical runs write identical rows)
    -- (one arg_min() of all five: one per column compared every row's key five times)
    select source, contact_id, email, list_id, field, told.*
    from (
        select
            c.source,
            c.contact_id,
            c.email,
            c.list_id,
            c.field,
            arg_min({value: c.value, reason: c.reason, since: c.occurred_at, evidence: c.detail,
                     shown_in: c.shown_in}, c.rank) as told
        from (
            select c.*, {'cleaned': c.value = 'cleaned', 'precedence': p.precedence, 'at': c.occurred_at,
                         'detail': c.detail, 'row': c.shown_row} as rank
            from changes c
            join reason_precedence p using (reason)
        ) c
        group by c.source, c.contact_id, c.email, c.list_id, c.field
    )
)

select * from final
