-- citations: on an incremental night, each citation of a contact row of a snapshot replaced
-- tonight (previous_snapshot_files) in the previous run's rows, per address, found by the
-- macro replaced_citations (incremental.py). moves: the citation names the row the latest
-- export holds, and may move to the same row of tonight's export (cited_rows): an export's
-- claim (unsubscribed, cleaned, do not contact) and a pending status cite the latest
-- export's row, as does what a CRM update is shown in. Others name a row for its history (the
-- first export to hold an invalid address, the export that resubscribed someone): that row
-- stays the one named while it is the replaced export's, which a rewrite would lose.
-- The columns read are publish.CITING_COLUMNS (which the outputs rewrite) and the two that
-- cite a row for its history: a citation anywhere else is not seen.

with

latest_row_reasons as (
    select unnest(['source_unsubscribed', 'source_cleaned', 'do_not_contact', 'unconfirmed']) as reason
),

citations as (
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

final as (
    select email, cited, bool_and(moves) as moves
    from citations
    group by email, cited
)

select * from final

