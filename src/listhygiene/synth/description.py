"""What a synthetic data set says about itself: the files written, its pipeline.toml and SYNTH.md."""

from __future__ import annotations

from dataclasses import dataclass

from listhygiene.synth.realism import (
    BLOCKED_CAMPAIGN_DOMAINS,
    CHURN_PER_NIGHT,
    CODES_ONLY_IN_TEXT,
    CONFIRMS_PER_NIGHT,
    DEAD_ADDRESSES,
    DO_NOT_CONTACT,
    DO_NOT_CONTACT_FLIPS_PER_NIGHT,
    DUPLICATE_RECORDS,
    EXPORT_SPELLINGS,
    FULL_EPISODE_DAYS,
    FULL_MAILBOXES,
    HISTORY_DAYS,
    INVALID_ADDRESSES,
    LOG_ONLY_BOUNCES,
    LOG_ONLY_UNSUBSCRIBES,
    MISSING_FIRST_NAME,
    MISSING_REPORTED_TYPE,
    ON_NO_LIST,
    STATUS_CHANGES_PER_NIGHT,
    UNCONFIRMED,
)
from listhygiene.synth.spec import DOUBLE_OPT_IN_LIST, GENERATOR_VERSION, SynthSpec
from listhygiene.synth.world import World


@dataclass
class WrittenFile:
    kind: str
    name: str
    rows: int


@dataclass
class Night:
    night: int
    date: str
    as_of: str
    files: list[WrittenFile]


def pipeline_toml(spec: SynthSpec) -> str:
    """The pipeline file beside the data: the three sources, the lists and a demo-friendly policy."""
    ext = spec.extension
    lists = "\n".join(
        f"[lists.{list_id}]\nrequire_confirmed_optin = {'true' if k == DOUBLE_OPT_IN_LIST else 'false'}"
        + ("   # double opt-in: a member needs a recorded confirmation" if k == DOUBLE_OPT_IN_LIST else "")
        + "\n"
        for k, list_id in enumerate(spec.list_ids)
    )
    return f"""# Written by `listhygiene synth` ({_command(spec)}); SYNTH.md says what is in the files.
# Run the nights in order: listhygiene run --config pipeline.toml --as-of <night>T06:00:00Z

[store]
database = "state/store.duckdb"
output = "out"

[[sources]]
name = "crm"
kind = "contacts"
path = "contacts_*{ext}"

[[sources]]
name = "platform_unsubscribes"
kind = "unsubscribes"
path = "unsubscribes_*{ext}"

[[sources]]
name = "platform_bounces"
kind = "bounces"
path = "bounces_*{ext}"

{lists}
[policy]
soft_bounce_limit = 4
soft_bounce_window_days = 0
max_quarantine_fraction = 0.01   # the logs hold one malformed row in 50,000
# Synthetic churn (leavers, status flips, new bounces and unsubscribes) moves a list by a few
# percent a night, but a small list in a small data set can move more: 0.5 keeps the drop
# guard from stopping demo runs. A production pipeline keeps the default, 0.20.
max_list_drop_fraction = 0.5
"""


def _command(spec: SynthSpec) -> str:
    a = spec.arguments()
    return (
        f"--contacts {a['contacts']} --events {a['events']} --lists {a['lists']} "
        f"--nights {a['nights']} --seed {a['seed']} --format {a['format']} --start {a['start']}"
    )


def synth_md(spec: SynthSpec, world: World, nights: list[Night]) -> str:
    """SYNTH.md: what was generated, how to run it, and why the fractions are what they are."""
    rows = "\n".join(
        f"| {n.night} | {n.date} | `{n.as_of}` | " + " | ".join(f"{f.rows:,}" for f in n.files) + " |"
        for n in nights
    )
    runs = "\n".join(f"listhygiene run --config pipeline.toml --as-of {n.as_of}" for n in nights)
    return f"""# Synthetic data set

Written by `listhygiene synth {_command(spec)}` (generator version {GENERATOR_VERSION}).
The same arguments always write the same bytes. Nothing here is about real people: names are
drawn from lists, domains end in `.example`, sender IPs are documentation addresses.

| night | date | run as of | contact rows | unsubscribe-log rows | bounce-log rows |
| --- | --- | --- | --- | --- | --- |
{rows}

Run the nights in order (the store is `state/store.duckdb`, outputs go to `out/`):

```sh
{runs}
```

## What is in it, and why these fractions

- **Contacts** (`contacts_<night>{spec.extension}`): one CRM export a night, exported at 02:00 UTC,
  exactly {spec.contacts:,} contact records each, one row per (record, list), or one row without a
  list for the {ON_NO_LIST:.0%} on no list. Lists: {", ".join(spec.list_ids)}; the first lists are the
  big ones, each record is on its home list and on the others with falling chances.
  `{spec.list_ids[DOUBLE_OPT_IN_LIST]}` is double opt-in: {UNCONFIRMED:.0%} of its members never
  confirmed (most exported as `pending`), and {CONFIRMS_PER_NIGHT:.0%} of those confirm each later night.
  Each night {CHURN_PER_NIGHT:.1%} of the records ({world.churn:,}) leave the export and as many new
  ones join; {STATUS_CHANGES_PER_NIGHT:.1%} of memberships a night change their export status
  (unsubscribed, cleaned, or re-added); {DO_NOT_CONTACT:.1%} carry the do-not-contact flag and
  {DO_NOT_CONTACT_FLIPS_PER_NIGHT:.1%} a night switch it. Attributes: first_name (missing for
  {MISSING_FIRST_NAME:.0%}), last_name, country.
- **Addresses**: patterns people use (`ana.souza`, `asouza12`, `souza.ana`, …) at consumer
  providers and company domains, one internationalized (`bücher.example`), one dead company
  domain. Exports spell {1 - EXPORT_SPELLINGS["plain"]:.1%} of them differently (capitals, spaces,
  display names, `mailto:`); {DUPLICATE_RECORDS:.0%} of records duplicate an earlier record's person;
  {INVALID_ADDRESSES:.1%} of people have an unusable address (`ana@gmail`, `n/a`, …).
- **Unsubscribe log** (`unsubscribes_<night>{spec.extension}`): one row per 20 contacts over the
  history: global link unsubscribes, one-click List-Unsubscribe per list, preference-centre and
  CRM-sync (`integration`) unsubscribes, admin removals, an imported suppression list, spam
  complaints and do-not-contact requests. About 12% are followed by a resubscribe of the same
  person, with evidence (sign-up form, double opt-in, written consent) or without (a CSV
  re-import: blocked); after a complaint a sign-up form is not enough; 30% of do-not-contact
  requests are switched back. {LOG_ONLY_UNSUBSCRIBES:.0%} concern addresses no export carries.
- **Bounce log** (`bounces_<night>{spec.extension}`): the rest of the events: every list sends a
  daily campaign (`offers-20261119`); {DEAD_ADDRESSES:.1%} of addresses die during the history
  (hard bounces from then on), {FULL_MAILBOXES:.0%} have a mailbox-full episode of
  {FULL_EPISODE_DAYS[0]}–{FULL_EPISODE_DAYS[1]} days (soft bounces on consecutive campaigns, so
  the soft-bounce limit fires for some), {BLOCKED_CAMPAIGN_DOMAINS:.0%} of a day's campaign to one
  domain is blocked (blocklists, DMARC, reputation: never the recipient's fault). Replies are
  worded as Gmail, Microsoft, Yahoo, Postfix, Exim and sendmail word them, with the platform's
  own verdict (`bounce_type`, often `hard` for blocks and full mailboxes, empty for
  {MISSING_REPORTED_TYPE:.0%}) and codes left out of their columns for {CODES_ONLY_IN_TEXT:.0%}.
  {LOG_ONLY_BOUNCES:.0%} of events concern addresses no export carries.
- **Nights**: the first night's logs hold {HISTORY_DAYS} days of history; each later night adds one
  day of events (about 1 / {HISTORY_DAYS + 1} of them) and a new snapshot. One log row in 50,000
  has a broken timestamp (quarantined).
"""
