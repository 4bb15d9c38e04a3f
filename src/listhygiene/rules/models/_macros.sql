-- Shared SQL macros of the models: how an event is named and described in words. Kept lazy:
-- only causes and reports that are shown to people get a sentence, never all events.

create or replace temp macro utc_minute(t) as strftime(t::timestamp, '%Y-%m-%dT%H:%MZ');

create or replace temp macro lineage(source, file_name, row_number) as
    source || ':' || file_name || ' row ' || row_number;

-- a contact row by content: every column but its position (file and row number), the file's
-- export time and the address (what it is grouped on). An incremental night compares the
-- replaced export with tonight's by it (dirty_addresses, cited_rows).
create or replace temp macro row_content(contact_id, email_raw, email_valid, list_id, status,
                                         status_raw, confirmed_at, do_not_contact, attributes) as
    hash(contact_id, email_raw, email_valid, list_id, status, status_raw, confirmed_at,
         do_not_contact, attributes);

-- the first of several causes of one reason, with its detail, origin and source: the
-- earliest, then by detail, so identical runs write identical rows (an aggregate). One min()
-- over one struct: three arg_min()s over the same key compared every row's key three times
-- (5M contacts: active_reasons' grouping of events, 3.7 → 1.6 s).
create or replace temp macro first_cause(starts, detail, origin, source) as
    min({starts: starts, detail: detail, origin: origin, source: source});

-- which contact record speaks for an (address, list): a record of the latest export first,
-- then subscribed, then most recently exported, then source, contact id, file and row (unique:
-- no ties). record_tier is the keys up to the contact id as one integer: latest, subscribed,
-- then record_order (contact_files: the file's snapshot time, newest first, then its source;
-- below 2^22). Rows of one address on one tier are rows of one export: one record on several
-- lists, or several records.
create or replace temp macro record_tier(is_latest, status, record_order) as
    ((not is_latest)::bigint << 23) | ((status <> 'subscribed')::bigint << 22) | record_order;

-- the rule as one sortable key (the smallest wins). duplicates ranks by it, and memberships
-- where two rows share a tier; primary_records' window orders by the same four columns.
create or replace temp macro record_rank(is_latest, status, record_order, contact_id, file_id, row_number) as
    {
        tier: record_tier(is_latest, status, record_order),
        contact_id: contact_id,
        file_id: file_id,
        row_number: row_number
    };

-- a row by its tier, file and row (file and row as seen_key packs them: seen_file_id and
-- seen_row_number read them back). A min() of it is an integer min: one over record_rank's
-- struct, with its text, made memberships' grouping three times slower (5M contacts: 12.3
-- against 4.1 s). It ranks as record_rank does unless two rows share the best tier; the
-- min() of record_key_reversed finds those (it is the last row of the best tier, where
-- record_key's is the first), and record_key_ties says whether the two differ.
create or replace temp macro record_key(tier, file_id, row_number) as
    (tier::uhugeint << 64) | (file_id::uhugeint << 40) | row_number::uhugeint;
create or replace temp macro record_key_reversed(key) as xor(key, 18446744073709551615::uhugeint);
-- the tier of a record_key (the high 64 bits)
create or replace temp macro record_key_tier(key) as (key >> 64)::bigint;
create or replace temp macro record_key_ties(best, best_reversed) as
    best_reversed <> record_key_reversed(best);
-- the tier and row number in 64 bits, to take the best row's contact id with arg_min():
-- twice as fast over a ubigint as over record_key (5M: 6.7 against 10.5 s for the grouping).
-- Rows of two files of one tier can share it, so it is right only where the tier has one row
-- (no tie).
create or replace temp macro record_tier_row(tier, row_number) as
    (tier::ubigint << 40) | row_number::ubigint;

-- where a contact row was seen, as one integer that sorts as (snapshot_at, file_id, row_number):
-- the time's microseconds (offset by 2^63, so times before 1970 sort first too) in the high 64
-- bits, the file id in the next 24, the row number in the low 40 (ids and row numbers stay far
-- below 16M files and 1T rows). max() over it is a plain integer max, where a struct of the
-- three made memberships' grouping ~20% slower.
create or replace temp macro seen_key(snapshot_at, file_id, row_number) as
    ((epoch_us(snapshot_at)::hugeint + 9223372036854775808)::uhugeint << 64)
    | (file_id::uhugeint << 40) | row_number::uhugeint;
create or replace temp macro seen_at(key) as
    make_timestamptz(((key >> 64)::hugeint - 9223372036854775808)::bigint);
create or replace temp macro seen_file_id(key) as ((key >> 40) & 16777215)::integer;
create or replace temp macro seen_row_number(key) as (key & 1099511627775)::bigint;

-- the part of an address after its last '@' ('' when it has none): the receiving domain. An
-- address has one '@' but for a few malformed ones; for it, the text after the first '@' is
-- the same and costs a third of split_part()'s list (rates, over every logged event).
create or replace temp macro receiver_domain(email) as
    case when email like '%@%@%' then split_part(email, '@', -1)
         when email like '%@%' then substr(email, instr(email, '@') + 1)
         else '' end;

-- the receiver's reply without the codes already shown before it: 550 5.1.1 "user unknown"
create or replace temp macro reply_text(diagnostic) as
    regexp_replace(diagnostic, '^\s*(smtp;\s*)?\d{3}[ -]?(\d\.\d{1,3}\.\d{1,3}\s*)?', '');

-- the reply as shown in a detail: whole when no code column precedes it (codes parsed from the
-- text by the classifier stay visible), else without the codes already shown
create or replace temp macro shown_reply(e) as
    case when e.smtp_code is null and e.enhanced_code is null then e.diagnostic
         else reply_text(e.diagnostic) end;

create or replace temp macro event_detail(e) as
    concat_ws(' ',
        case
            when e.kind = 'bounce' then coalesce(e.bounce_class, 'unclassified') || ' bounce'
            when e.kind = 'unsubscribe' and e.list_id is null then 'global unsubscribe'
            when e.kind = 'unsubscribe' then 'unsubscribe from ' || e.list_id
            when e.kind = 'resubscribe' then 'resubscribe to ' || coalesce(e.list_id, 'all lists')
            when e.kind = 'complaint' then 'spam complaint'
            when e.kind = 'do_not_contact' then 'do-not-contact switched on'
            when e.kind = 'do_contact' then 'do-not-contact switched off'
            else e.kind
        end,
        case when e.kind in ('unsubscribe', 'resubscribe', 'do_not_contact', 'do_contact')
             then '(' || e.origin || ')' end,
        case when e.kind = 'bounce' then nullif(concat_ws(' ', e.smtp_code::varchar, e.enhanced_code), '') end,
        case when e.kind = 'bounce' and e.diagnostic is not null
             then '"' || left(shown_reply(e), 80)
                  || case when length(shown_reply(e)) > 80 then '…' else '' end || '"' end,
        -- how the classifier read it: (user_unknown, rule user-unknown); see bounce_rules.toml
        case when e.kind = 'bounce' and e.bounce_reason is not null
             then '(' || e.bounce_reason || coalesce(', rule ' || e.bounce_rule, '') || ')' end,
        case when e.evidence is not null then 'with evidence ' || e.evidence end,
        case when e.campaign_id is not null then 'on campaign ' || e.campaign_id end
    ) || ', ' || utc_minute(e.occurred_at) || ' (' || lineage(e.source, e.file_name, e.row_number) || ')';
