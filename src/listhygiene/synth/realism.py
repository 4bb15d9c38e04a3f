"""How much of what a synthetic data set holds, and why: the fractions that make it look like production."""

# The first night's logs hold a quarter of sending history (a platform's usual export window);
# every later night adds one day. With two nights the second brings ~1% new events.
HISTORY_DAYS = 90
# The unsubscribe log: one row per 20 contacts over the history. A few percent of a list
# unsubscribes in a quarter; some of them complain, resubscribe or ask not to be contacted.
# The rest of --events is the bounce log (deliveries and bounces), capped so both logs exist.
UNSUBSCRIBE_ROWS_PER_CONTACT = 0.05
# Contacts leave the export (deleted in the CRM) and new ones join: 0.3% of the export a night,
# as many joining as leaving, so every snapshot holds exactly --contacts records. Nightly
# changes here run a few times faster than a real list's (which loses 20-30% a year) so that
# even two nights of a small data set show every kind of change.
CHURN_PER_NIGHT = 0.003
# 2% of records duplicate an earlier record's person (a second import, another spelling).
DUPLICATE_RECORDS = 0.02
# 0.4% of people have an address no mail can reach: typos and placeholders from web forms.
INVALID_ADDRESSES = 0.004
# 4% of contacts are on no list (the CRM's contacts without a subscription).
ON_NO_LIST = 0.04
# Membership of list k: the first lists are the big ones (newsletter, offers), later ones niche.
LIST_REACH_TOP, LIST_REACH_DECAY = 0.65, 0.7
# Double opt-in: 12% of its members never confirmed; of those 60% are exported as pending,
# and 5% a night confirm after all (most who will click the link did so long ago).
UNCONFIRMED, PENDING_OF_UNCONFIRMED, CONFIRMS_PER_NIGHT = 0.12, 0.6, 0.05
CONFIRMED_ON_SINGLE_OPTIN = 0.2  # platforms record confirmations on ordinary lists too
# The export's own statuses: a CRM unsubscribes and cleans members by itself (sync, hygiene).
BASE_STATUS_WEIGHTS = {"subscribed": 0.978, "unsubscribed": 0.015, "cleaned": 0.007}
STATUS_CHANGES_PER_NIGHT = 0.004  # memberships whose export status flips on a given night
DO_NOT_CONTACT, DO_NOT_CONTACT_FLIPS_PER_NIGHT = 0.003, 0.001
# The bounce log's people: 2.5% of addresses die during the history (hard bounces from then on),
# 3% have a mailbox-full episode of two weeks to three months (soft bounces in streaks; a few
# deliveries slip through, resetting the streak), and 2% of a day's campaign to one receiver is
# blocked for the sender's reputation (blocks: never the recipient's fault).
DEAD_ADDRESSES, FULL_MAILBOXES, BLOCKED_CAMPAIGN_DOMAINS = 0.025, 0.03, 0.02
FULL_EPISODE_DAYS = (14, 90)
DELIVERED_IN_FULL_EPISODE, BLOCKED_IN_BLOCKED_CAMPAIGN = 0.08, 0.85
# A healthy address: mostly delivered; a transient soft bounce, a stray block, a complaint
# (0.1%, the industry's alarm threshold) and an unreadable reply now and then.
HEALTHY_OUTCOMES = {
    "delivered": 0.975,
    "soft_transient": 0.011,
    "block": 0.01,
    "complaint": 0.001,
    "odd": 0.003,
}
LOG_ONLY_BOUNCES, LOG_ONLY_UNSUBSCRIBES = 0.01, 0.03  # addresses no export carries (old lists)
LOG_SPELLINGS = {"plain": 0.97, "upper": 0.015, "display": 0.01, "spaced": 0.005}
EXPORT_SPELLINGS = {
    "plain": 0.875,
    "title": 0.05,
    "upper": 0.02,
    "spaced": 0.02,
    "display": 0.02,
    "quoted_display": 0.01,
    "mailto": 0.005,
}
MALFORMED_ROWS = 1 / 50_000  # a broken timestamp now and then: quarantined, well under 1%
MISSING_REPORTED_TYPE, CODES_ONLY_IN_TEXT = 0.1, 0.15  # platforms leave columns empty
MISSING_FIRST_NAME = 0.07
