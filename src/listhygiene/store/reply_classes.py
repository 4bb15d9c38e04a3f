"""The classes of the bounces being loaded: each distinct reply classified once, by the rules' own SQL."""

from __future__ import annotations

import pyarrow as pa

from listhygiene.rules import bounces

# The replies of the bounces loaded so far on this connection, with their classes under the
# rules installed (named by `rules`, a digest of the table `bounce_rules`). A log repeats a few
# thousand replies in every batch; the rules (rules/models/reasons/bounce_classes.sql) give a
# bounce its class from its reply alone (codes, type, diagnostic), so each reply is classified
# once, not once per batch: at 5M bounce rows that was 60 times.
REPLY_CLASSES = """
create temp table if not exists loading_reply_classes (
    rules varchar, enhanced_code varchar, smtp_code integer, bounce_type varchar,
    diagnostic varchar, bounce_class varchar, bounce_reason varchar, bounce_rule varchar
)"""
# Every column of the installed rules, in their order: the macro the model calls is made from them.
RULES_DIGEST = "select md5(coalesce(string_agg(r::varchar, '|' order by position), '')) from bounce_rules r"
_SAME_REPLY = " and ".join(
    f"r.{c} is not distinct from k.{c}" for c in ("enhanced_code", "smtp_code", "bounce_type", "diagnostic")
)
# The batch's rows with the class of their reply, joined as bounce_classes.sql joins them (the
# table holds the replies of the rules installed only: see classify_new_replies).
CLASSIFIED_BATCH = f"""
select r.*, k.bounce_class, k.bounce_reason, k.bounce_rule
from new_rows r
left join loading_reply_classes k on r.event = 'bounce' and {_SAME_REPLY}
"""


def classify_new_replies(con, batch: pa.Table) -> None:
    """Classify the batch's replies not yet classified under the rules installed, by the rules'
    own SQL (replies classified under other rules are dropped first)."""
    new_rows = batch  # noqa: F841  (read by name by the SQL)
    classified_sql = bounces.classified_bounces_sql(con)  # installs the rules when none are
    con.execute(REPLY_CLASSES)
    [(rules,)] = con.execute(RULES_DIGEST).fetchall()
    con.execute("delete from loading_reply_classes where rules <> ?", [rules])
    con.execute(
        f"""insert into loading_reply_classes
            with new_bounces as (
                select distinct 'bounce' as event, enhanced_code, smtp_code, bounce_type, diagnostic
                from new_rows r
                where event = 'bounce'
                  and not exists (select 1 from loading_reply_classes k where {_SAME_REPLY})
            )
            select ?, enhanced_code, smtp_code, bounce_type, diagnostic,
                   bounce_class, bounce_reason, bounce_rule
            from ({classified_sql})""",
        [rules],
    )
