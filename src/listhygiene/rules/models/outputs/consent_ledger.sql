-- consent_ledger: every grant and withdrawal of consent per (address, list) known to the run, with
-- the file and row it came from: what shows a regulator that consent was given (GDPR Art. 7(1))
-- and when it was taken back. list_id null = every list of the address.
-- Grants: resubscribes carrying accepted evidence (sign-up form, confirmed opt-in, written
-- consent, with its evidence_ref), an export's confirmed_at, and do_contact (event, or the
-- export's flag cleared). Withdrawals: unsubscribes, complaints (either log), do_not_contact
-- (event, or the export's flag set), and erasure on request (forget: the tombstone's pseudonym,
-- or the address in clear once fresh consent brought it back). A resubscribe without accepted
-- evidence is no consent: blocked_resubscribes lists it.

with

params as (
    select as_of from run_params
),

logged as (
    select
        email,
        list_id,
        occurred_at,
        case kind when 'forget' then 'erasure' else kind end as kind,
        case when kind in ('resubscribe', 'do_contact') then 'grant' else 'withdrawal' end as effect,
        evidence,
        evidence_ref,
        origin,
        source,
        file_name as file,
        row_number
    from non_delivery_events
    where kind in ('unsubscribe', 'complaint', 'do_not_contact', 'do_contact', 'forget')
       or (kind = 'resubscribe' and evidence in (select evidence from accepted_evidence))
),

confirmations as (
    -- each export repeats a confirmation: it is recorded once, from the first snapshot showing it
    select
        c.email,
        c.list_id,
        c.confirmed_at as occurred_at,
        'confirmation' as kind,
        'grant' as effect,
        'confirmed_optin' as evidence,
        null::varchar as evidence_ref,
        'export' as origin,
        c.source,
        c.file_name as file,
        c.row_number
    from contact_records c
    where c.confirmed_at is not null and c.confirmed_at <= (select as_of from params)
    qualify row_number() over (
        partition by c.email, c.list_id, c.confirmed_at
        order by c.snapshot_at, c.source, c.file_name, c.row_number
    ) = 1
),

flagged_addresses as (
    -- only an address the export ever flagged has a flag to set or clear
    select distinct source, email from contact_records where do_not_contact
),

flag_rows as (
    -- per export snapshot, whether it flags the address, and the row that says so (a flagged
    -- row first: one flagged record is enough)
    select c.source, c.email, c.snapshot_at, c.do_not_contact as flagged, c.file_name, c.row_number
    from contact_records c
    semi join flagged_addresses f on f.source = c.source and f.email = c.email
    qualify row_number() over (
        partition by c.source, c.email, c.snapshot_at
        order by c.do_not_contact desc, c.file_name, c.row_number
    ) = 1
),

flag_changes as (
    -- the snapshots where the flag changes: set in the first that flags it, cleared in the first
    -- that no longer does
    select
        email,
        null::varchar as list_id,
        snapshot_at as occurred_at,
        case when flagged then 'do_not_contact' else 'do_contact' end as kind,
        case when flagged then 'withdrawal' else 'grant' end as effect,
        null::varchar as evidence,
        null::varchar as evidence_ref,
        'export' as origin,
        source,
        file_name as file,
        row_number
    from (
        select *, lag(flagged) over (partition by source, email order by snapshot_at) as was_flagged
        from flag_rows
    )
    where flagged <> coalesce(was_flagged, false)
),

final as (
    select * from logged
    union all select * from confirmations
    union all select * from flag_changes
)

select * from final
