"""Deterministic synthetic inputs for demos and benchmarks: nightly contacts exports, event logs, a pipeline file."""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from listhygiene.errors import ConfigError

# Bump when the same arguments would write different bytes: benchmarks cache data sets by it.
GENERATOR_VERSION = "1"
FORMATS = {"csv": ".csv", "csv.gz": ".csv.gz", "parquet": ".parquet"}
LAST_NIGHT = date(2026, 11, 21)  # fixed, not today: the same arguments write the same files forever
BLOCK_ROWS = 500_000  # rows generated and written at a time: memory stays flat at any size
MAX_LISTS = 100
MAX_NIGHTS = 90

# --- realism: how much of what, and why ---------------------------------------------------------

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

# --- vocabulary ------------------------------------------------------------------------------------

LIST_NAMES = (
    "newsletter",
    "offers",
    "product-updates",
    "events",
    "webinars",
    "partner-news",
    "staff-news",
    "weekly-digest",
    "early-access",
    "surveys",
    "local-stores",
    "b2b-insights",
)
DOUBLE_OPT_IN_LIST = 0  # the newsletter: require_confirmed_optin = true

FIRST_NAMES = (
    ("Ana", "ana"),
    ("Ben", "ben"),
    ("Chen", "chen"),
    ("Dana", "dana"),
    ("Elif", "elif"),
    ("Farah", "farah"),
    ("Giulia", "giulia"),
    ("Hana", "hana"),
    ("Igor", "igor"),
    ("José", "jose"),
    ("Kwame", "kwame"),
    ("Lea", "lea"),
    ("Mateo", "mateo"),
    ("Nadia", "nadia"),
    ("Oliver", "oliver"),
    ("Priya", "priya"),
    ("Quentin", "quentin"),
    ("Rosa", "rosa"),
    ("Sven", "sven"),
    ("Tomás", "tomas"),
    ("Uma", "uma"),
    ("Victor", "victor"),
    ("Wei", "wei"),
    ("Ximena", "ximena"),
    ("Yusuf", "yusuf"),
    ("Zoë", "zoe"),
    ("Amara", "amara"),
    ("Bjørn", "bjorn"),
    ("Camille", "camille"),
    ("Dmitri", "dmitri"),
    ("Emma", "emma"),
    ("Fatima", "fatima"),
    ("Gabriel", "gabriel"),
    ("Hiroshi", "hiroshi"),
    ("Ingrid", "ingrid"),
    ("Jamal", "jamal"),
    ("Katarzyna", "katarzyna"),
    ("Luca", "luca"),
    ("Mei", "mei"),
    ("Noah", "noah"),
    ("Olga", "olga"),
    ("Pablo", "pablo"),
    ("Rahul", "rahul"),
    ("Sofia", "sofia"),
    ("Thabo", "thabo"),
    ("Ursula", "ursula"),
    ("Valentina", "valentina"),
    ("William", "william"),
    ("Yara", "yara"),
    ("Zeynep", "zeynep"),
    ("Aiden", "aiden"),
    ("Chloé", "chloe"),
    ("Diego", "diego"),
    ("Eitan", "eitan"),
    ("Freya", "freya"),
    ("Grace", "grace"),
    ("Hugo", "hugo"),
    ("Isabel", "isabel"),
    ("Jonas", "jonas"),
    ("Kenji", "kenji"),
    ("Lina", "lina"),
    ("Marta", "marta"),
    ("Nikhil", "nikhil"),
    ("Omar", "omar"),
)
LAST_NAMES = (
    ("Souza", "souza"),
    ("Baker", "baker"),
    ("Müller", "mueller"),
    ("Nguyen", "nguyen"),
    ("García", "garcia"),
    ("Kowalski", "kowalski"),
    ("Okafor", "okafor"),
    ("Rossi", "rossi"),
    ("Dubois", "dubois"),
    ("Jensen", "jensen"),
    ("Tanaka", "tanaka"),
    ("Singh", "singh"),
    ("Haddad", "haddad"),
    ("Novak", "novak"),
    ("O'Brien", "obrien"),
    ("Smith", "smith"),
    ("Johnson", "johnson"),
    ("Petrov", "petrov"),
    ("Larsen", "larsen"),
    ("Fernández", "fernandez"),
    ("Kim", "kim"),
    ("Wang", "wang"),
    ("Mensah", "mensah"),
    ("Schneider", "schneider"),
    ("Yilmaz", "yilmaz"),
    ("Costa", "costa"),
    ("Ivanova", "ivanova"),
    ("Kaur", "kaur"),
    ("Lindqvist", "lindqvist"),
    ("Moreau", "moreau"),
    ("Nakamura", "nakamura"),
    ("Osei", "osei"),
    ("Park", "park"),
    ("Quispe", "quispe"),
    ("Rahman", "rahman"),
    ("Santos", "santos"),
    ("Takahashi", "takahashi"),
    ("Van Dijk", "vandijk"),
    ("Weber", "weber"),
    ("Xu", "xu"),
    ("Young", "young"),
    ("Zhang", "zhang"),
    ("Andersson", "andersson"),
    ("Brown", "brown"),
    ("Cohen", "cohen"),
    ("Da Silva", "dasilva"),
    ("Eriksen", "eriksen"),
    ("Fischer", "fischer"),
    ("Gomez", "gomez"),
    ("Hoffmann", "hoffmann"),
    ("Ibrahim", "ibrahim"),
    ("Jovanović", "jovanovic"),
    ("Khan", "khan"),
    ("Lopez", "lopez"),
    ("Martin", "martin"),
    ("Nowak", "nowak"),
    ("Oliveira", "oliveira"),
    ("Patel", "patel"),
    ("Richter", "richter"),
    ("Schmidt", "schmidt"),
    ("Torres", "torres"),
    ("Usman", "usman"),
    ("Vargas", "vargas"),
    ("Wilson", "wilson"),
)
COUNTRIES = {
    "US": 0.28,
    "GB": 0.1,
    "DE": 0.1,
    "FR": 0.07,
    "BR": 0.07,
    "IN": 0.07,
    "ES": 0.05,
    "NL": 0.04,
    "CA": 0.04,
    "AU": 0.03,
    "JP": 0.03,
    "MX": 0.03,
    "IT": 0.03,
    "PL": 0.02,
    "SE": 0.02,
    "NG": 0.02,
}

FAMILIES = ("google", "microsoft", "yahoo", "other")  # receivers word their replies differently


@dataclass(frozen=True)
class Domain:
    name: str
    weight: float
    family: str
    dead: bool = False  # no MX any more: every bounce is "domain not found"


# Consumer mailbox providers dominate a B2C list; company domains make up a fifth; one domain is
# internationalized (normalized to xn--), one belongs to a company that has shut down.
DOMAINS = (
    Domain("gmail.example", 30, "google"),
    Domain("outlook.example", 11, "microsoft"),
    Domain("hotmail.example", 7, "microsoft"),
    Domain("yahoo.example", 8, "yahoo"),
    Domain("aol.example", 2, "yahoo"),
    Domain("icloud.example", 5, "other"),
    Domain("gmx.example", 4, "other"),
    Domain("web.example", 3, "other"),
    Domain("proton.example", 2, "other"),
    Domain("t-online.example", 2, "other"),
    Domain("orange.example", 2, "other"),
    Domain("free.example", 1, "other"),
    Domain("acme.example", 5, "microsoft"),
    Domain("globex.example", 4, "google"),
    Domain("initech.example", 3, "microsoft"),
    Domain("umbrella.example", 3, "other"),
    Domain("northwind.example", 3, "microsoft"),
    Domain("contoso.example", 2, "microsoft"),
    Domain("uni-campus.example", 2, "other"),
    Domain("bücher.example", 0.5, "other"),
    Domain("defunct-startup.example", 0.5, "other", dead=True),
)

# Address patterns people choose. {n} is a serial that keeps addresses unique at any size;
# {m} numbers make the initial- and year-like forms unique.
ADDRESS_PATTERNS = {
    "first.last": 0.35,
    "firstlast": 0.15,
    "first_last": 0.05,
    "flast": 0.2,
    "last.first": 0.1,
    "first-number": 0.15,
}
INVALID_FORMS = ("no_tld", "double_at", "space", "comma", "no_at", "placeholder")

# Bounce outcomes, in the order of the template table below.
OUTCOMES = ("hard_user", "hard_domain", "hard_syntax", "soft_full", "soft_transient", "block", "odd")
DELIVERED, COMPLAINT = -1, -2


@dataclass(frozen=True)
class Reply:
    """A receiver's reply as a platform logs it: its verdict, the codes, and the text."""

    outcome: str
    family: str  # one of FAMILIES, or "any"
    weight: float
    bounce_type: str | None  # what the platform reports; blocks are often reported "hard"
    smtp_code: str | None
    enhanced_code: str | None
    text: str  # {addr}, {domain} and {ip} are filled in per row


SENDER = "news.acme-shop.example"
SENDER_IPS = ("203.0.113.7", "203.0.113.21", "198.51.100.44")

# Real receivers' wording (Gmail, Microsoft 365, Yahoo, Postfix, Exim, sendmail, MTAs that give
# up), so that the bounce classifier has the same work as in production: 5xx for full mailboxes
# and blocks, 4xx for unknown users, codes only in the text, verdicts that contradict the text.
REPLIES = (
    Reply(
        "hard_user",
        "google",
        3,
        "hard",
        "550",
        "5.1.1",
        "550-5.1.1 The email account that you tried to reach does not exist. Please try "
        "double-checking the recipient's email address for typos or unnecessary spaces. For more "
        "information, go to https://support.google.com/mail/?p=NoSuchUser",
    ),
    Reply(
        "hard_user",
        "microsoft",
        2,
        "hard",
        "550",
        "5.1.10",
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient {addr} not found by SMTP address lookup",
    ),
    Reply(
        "hard_user",
        "microsoft",
        1,
        "hard",
        "550",
        "5.4.1",
        "550 5.4.1 Recipient address rejected: Access denied. AS(201806281) "
        "[DB5PEPF00014B9E.eurprd02.prod.outlook.com]",
    ),
    Reply(
        "hard_user",
        "microsoft",
        1,
        "hard",
        "550",
        "5.5.0",
        "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302)",
    ),
    Reply(
        "hard_user",
        "yahoo",
        3,
        "hard",
        "554",
        None,
        "554 delivery error: dd This user doesn't have a {domain} account ({addr}) [0] - "
        "mta1278.mail.gq1.yahoo.com",
    ),
    Reply(
        "hard_user",
        "any",
        2,
        "hard",
        "550",
        "5.1.1",
        "550 5.1.1 <{addr}>: Recipient address rejected: User unknown in virtual mailbox table",
    ),
    Reply("hard_user", "any", 1, "hard", "550", None, "550 {addr}: No such user here"),
    Reply("hard_user", "any", 1, "unknown", "550", "5.1.1", "550 5.1.1 {addr}... User unknown"),
    Reply(
        "hard_user",
        "any",
        0.5,
        "soft",
        "450",
        "4.1.1",
        "450 4.1.1 <{addr}>: Recipient address rejected: User unknown in local recipient table",
    ),
    Reply(
        "hard_user",
        "any",
        0.5,
        "hard",
        "551",
        "5.1.6",
        "551 5.1.6 Recipient address is no longer valid: the user has moved",
    ),
    Reply(
        "hard_domain",
        "any",
        2,
        "hard",
        None,
        "5.1.2",
        "Host or domain name not found. Name service error for name={domain} type=MX: Host not found",
    ),
    Reply(
        "hard_domain",
        "any",
        1,
        "hard",
        "550",
        "5.1.2",
        "550 5.1.2 Bad destination host 'DNS Hard Error looking up {domain} (MX): NXDomain'",
    ),
    Reply("hard_domain", "any", 1, "unknown", None, "5.4.4", "5.4.4 Unrouteable address"),
    Reply(
        "hard_syntax",
        "any",
        1,
        "hard",
        "553",
        "5.1.3",
        "553 5.1.3 The recipient address <{addr}> is not a valid RFC-5321 address",
    ),
    Reply("hard_syntax", "any", 1, "hard", "501", "5.1.3", "501 5.1.3 Bad recipient address syntax"),
    Reply(
        "soft_full",
        "google",
        3,
        "soft",
        "452",
        "4.2.2",
        "452-4.2.2 The recipient's inbox is out of storage space. Please direct the recipient to "
        "https://support.google.com/mail/?p=OverQuotaTemp",
    ),
    Reply(
        "soft_full",
        "google",
        1,
        "hard",
        "552",
        "5.2.2",
        "552-5.2.2 The email account that you tried to reach is over quota. Please direct the "
        "recipient to https://support.google.com/mail/?p=OverQuotaPerm",
    ),
    Reply(
        "soft_full",
        "microsoft",
        2,
        "hard",
        "554",
        "5.2.2",
        "554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException."
        "MapiExceptionShutoffQuotaExceeded",
    ),
    Reply("soft_full", "yahoo", 2, "soft", "452", "4.2.2", "452 4.2.2 Over quota"),
    Reply(
        "soft_full",
        "any",
        2,
        "soft",
        "452",
        "4.2.2",
        "452 4.2.2 <{addr}>: Recipient address rejected: Mailbox full",
    ),
    Reply("soft_full", "any", 1, "hard", "552", "5.2.2", "552 5.2.2 {addr}... Mailbox full"),
    Reply("soft_full", "any", 1, "soft", None, "4.2.2", "Mailbox quota exceeded"),
    Reply(
        "soft_transient",
        "google",
        2,
        "soft",
        "421",
        "4.7.0",
        "421-4.7.0 Try again later, closing connection. (EHLO) For more information, go to "
        "https://support.google.com/a/answer/3221692",
    ),
    Reply(
        "soft_transient",
        "microsoft",
        2,
        "soft",
        "451",
        "4.7.500",
        "451 4.7.500 Server busy. Please try again later from [{ip}]. (S77714)",
    ),
    Reply("soft_transient", "yahoo", 2, "soft", "451", "4.3.2", "451 4.3.2 Please try again later"),
    Reply(
        "soft_transient",
        "any",
        2,
        "soft",
        "450",
        "4.7.1",
        "450 4.7.1 <{addr}>: Recipient address rejected: Greylisted, see "
        "http://postgrey.schweikert.ch/help/{domain}.html",
    ),
    Reply(
        "soft_transient",
        "any",
        1,
        "soft",
        "451",
        "4.3.0",
        "451 4.3.0 Temporary local problem - please try later",
    ),
    Reply(
        "soft_transient",
        "any",
        1,
        "unknown",
        None,
        "4.4.7",
        "4.4.7 Delivery expired (message too old) 'timeout'",
    ),
    Reply(
        "soft_transient", "any", 1, "soft", "421", "4.4.2", "421 4.4.2 mx1.{domain} Error: timeout exceeded"
    ),
    Reply("soft_transient", "any", 0.5, "hard", "552", "5.3.4", "552 5.3.4 Message size exceeds fixed limit"),
    Reply(
        "block",
        "google",
        2,
        "hard",
        "550",
        "5.7.26",
        "550-5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail "
        "requires all senders to authenticate with either SPF or DKIM. Authentication results: "
        "DKIM = did not pass SPF [" + SENDER + "] with ip: [{ip}] = did not pass",
    ),
    Reply(
        "block",
        "google",
        1,
        "soft",
        "421",
        "4.7.28",
        "421-4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your "
        "DKIM domain [" + SENDER + "]. To protect our users from spam, mail sent from your domain "
        "has been temporarily rate limited.",
    ),
    Reply(
        "block",
        "google",
        1,
        "hard",
        "550",
        "5.7.1",
        "550-5.7.1 [{ip}] Our system has detected that this message is likely unsolicited mail. "
        "To reduce the amount of spam sent to Gmail, this message has been blocked.",
    ),
    Reply(
        "block",
        "microsoft",
        2,
        "hard",
        "550",
        "5.7.1",
        "550 5.7.1 Service unavailable, Client host [{ip}] blocked using Spamhaus. To request "
        "removal from this list see https://www.spamhaus.org/query/ip/{ip} (AS3130)",
    ),
    Reply(
        "block",
        "microsoft",
        1,
        "hard",
        "550",
        "5.7.509",
        "550 5.7.509 Access denied, sending domain " + SENDER + " does not pass DMARC "
        "verification and has a DMARC policy of reject.",
    ),
    Reply(
        "block",
        "microsoft",
        1,
        "soft",
        "451",
        "4.7.650",
        "451 4.7.650 The mail server [{ip}] has been temporarily rate limited due to IP reputation.",
    ),
    Reply(
        "block",
        "yahoo",
        2,
        "soft",
        "421",
        "4.7.0",
        "421 4.7.0 [TSS04] Messages from {ip} temporarily deferred due to unexpected volume or "
        "user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
    ),
    Reply(
        "block",
        "yahoo",
        1,
        "hard",
        "553",
        "5.7.1",
        "553 5.7.1 [BL21] Connections will not be accepted from {ip}, because the ip is in "
        "Spamhaus's list; see https://postmaster.yahooinc.com/error-codes",
    ),
    Reply(
        "block",
        "any",
        2,
        "hard",
        "554",
        "5.7.1",
        "554 5.7.1 Service unavailable; Client host [{ip}] blocked using zen.spamhaus.org; "
        "https://www.spamhaus.org/query/ip/{ip}",
    ),
    Reply(
        "block",
        "any",
        1,
        "hard",
        "550",
        "5.7.1",
        "550 5.7.1 Unauthenticated email from " + SENDER + " is not accepted due to domain's "
        "DMARC policy. Please contact the administrator of " + SENDER + " domain if this was a "
        "legitimate mail.",
    ),
    Reply(
        "block", "any", 1, "block", "550", "5.7.1", "550 5.7.1 Message rejected as spam by Content Filtering."
    ),
    Reply("odd", "any", 2, "unknown", "550", None, "550 Requested action not taken: mailbox unavailable"),
    Reply("odd", "any", 1, "hard", "554", "5.0.0", "554 5.0.0 Service unavailable"),
    Reply("odd", "any", 1, None, None, None, "smtp; 550 Administrative prohibition"),
    Reply("odd", "any", 1, "unknown", None, "5.0.0", "Delivery failed"),
)


# Unsubscribe-log episodes: a first event, and with some chance a follow-up by the same person
# (a resubscribe, with or without evidence; a do_contact after a do_not_contact).
@dataclass(frozen=True)
class Episode:
    name: str
    weight: float
    event: str
    source: str
    scope: str  # "global", "list", or "either" (integration: 40% global)
    with_campaign: bool
    reasons: tuple[str, ...]
    follow_up: float  # chance of a follow-up event by the same person later


EPISODES = (
    Episode(
        "link",
        0.34,
        "unsubscribe",
        "contact",
        "global",
        True,
        ("clicked unsubscribe", "too many emails", "no longer interested", "never signed up", ""),
        0.12,
    ),
    Episode(
        "one_click",
        0.26,
        "unsubscribe",
        "list_unsubscribe",
        "list",
        True,
        ("one-click List-Unsubscribe header",),
        0.12,
    ),
    Episode(
        "preference_centre",
        0.10,
        "unsubscribe",
        "contact",
        "list",
        False,
        ("preference centre: topic switched off", "preference centre"),
        0.12,
    ),
    Episode(
        "integration",
        0.07,
        "unsubscribe",
        "integration",
        "either",
        False,
        ("CRM sync: marked unsubscribed by sales", "CRM sync: opted out in the CRM"),
        0.0,
    ),
    Episode(
        "admin",
        0.03,
        "unsubscribe",
        "admin",
        "global",
        False,
        ("removed on request by support", "asked by phone to be removed"),
        0.12,
    ),
    Episode(
        "suppression_import",
        0.03,
        "unsubscribe",
        "import",
        "global",
        False,
        ("imported from the old platform's suppression list",),
        0.12,
    ),
    Episode(
        "complaint",
        0.12,
        "complaint",
        "complaint",
        "global",
        True,
        ("spam complaint (feedback loop)", "abuse report via ARF"),
        0.10,
    ),
    Episode(
        "do_not_contact",
        0.05,
        "do_not_contact",
        "contact",
        "global",
        False,
        ("asked never to be contacted (GDPR objection)", "legal hold: do not contact"),
        0.3,
    ),
)
# Evidence of a resubscribe: a sign-up form, a double opt-in, written consent, or none at all
# (a CSV re-import: blocked, the most common support story).
RESUBSCRIBE_EVIDENCE = {"signup_form": 0.40, "confirmed_optin": 0.25, "written_consent": 0.05, None: 0.30}
COMPLAINT_RESUBSCRIBE_EVIDENCE = {"signup_form": 0.6, "confirmed_optin": 0.4}  # a form is not enough


# --- the arguments --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SynthSpec:
    """What to generate: the command's arguments, checked."""

    contacts: int
    events: int
    lists: int = 3
    nights: int = 2
    seed: int = 1
    file_format: str = "csv"
    start: date | None = None  # the first night; default: the last night is LAST_NIGHT

    def __post_init__(self) -> None:
        check_spec(self)

    @property
    def first_night(self) -> date:
        return self.start or LAST_NIGHT - timedelta(days=self.nights - 1)

    @property
    def night_dates(self) -> list[date]:
        return [self.first_night + timedelta(days=n) for n in range(self.nights)]

    @property
    def extension(self) -> str:
        return FORMATS[self.file_format]

    @property
    def list_ids(self) -> list[str]:
        return list_ids(self.lists)

    def arguments(self) -> dict:
        """The arguments as the command line spells them, start resolved."""
        return {
            "contacts": self.contacts,
            "events": self.events,
            "lists": self.lists,
            "nights": self.nights,
            "seed": self.seed,
            "format": self.file_format,
            "start": self.first_night.isoformat(),
        }

    def fingerprint(self) -> str:
        """Same fingerprint, same bytes: the generator's version and the resolved arguments."""
        text = json.dumps({"version": GENERATOR_VERSION, **self.arguments()}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_spec(spec: SynthSpec) -> None:
    """Refuse arguments the generator cannot honour, saying what would work (exit 2)."""
    whole = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
    if not whole(spec.contacts) or spec.contacts < 1:
        raise ConfigError(f"--contacts must be a whole number ≥ 1, got {spec.contacts!r}.")
    if not whole(spec.events) or spec.events < 0:
        raise ConfigError(f"--events must be a whole number ≥ 0, got {spec.events!r}.")
    if not whole(spec.lists) or not 1 <= spec.lists <= MAX_LISTS:
        raise ConfigError(f"--lists must be between 1 and {MAX_LISTS}, got {spec.lists!r}.")
    if not whole(spec.nights) or not 1 <= spec.nights <= MAX_NIGHTS:
        raise ConfigError(f"--nights must be between 1 and {MAX_NIGHTS}, got {spec.nights!r}.")
    if not whole(spec.seed) or not 0 <= spec.seed < 2**63:
        raise ConfigError(f"--seed must be a whole number ≥ 0, got {spec.seed!r}.")
    if spec.file_format not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {spec.file_format!r}.")


def list_ids(count: int) -> list[str]:
    """Realistic list names first, numbered ones beyond them."""
    return [LIST_NAMES[k] if k < len(LIST_NAMES) else f"list-{k + 1:02d}" for k in range(count)]


# --- counter-based random numbers -----------------------------------------------------------------

_MASK = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer over a uint64 array (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _MIX_1
    x ^= x >> np.uint64(27)
    x *= _MIX_2
    x ^= x >> np.uint64(31)
    return x


class Draws:
    """Random numbers that are a pure function of (seed, stream, index).

    Any row can be generated on its own, in any block, in any order, and come out the same:
    that is what makes chunked writing deterministic, and lets every night see the same people.
    """

    def __init__(self, seed: int):
        self.seed = seed
        self._keys: dict[str, np.uint64] = {}

    def key(self, stream: str) -> np.uint64:
        if stream not in self._keys:
            mixed = (
                self.seed * 0x9E3779B97F4A7C15 + zlib.crc32(stream.encode()) * 0xD6E8FEB86659FD93
            ) & _MASK
            self._keys[stream] = _mix64(np.array([mixed], dtype=np.uint64))[0]
        return self._keys[stream]

    def uniform(self, stream: str, index: np.ndarray) -> np.ndarray:
        """Floats in [0, 1), one per index."""
        bits = _mix64(np.asarray(index).astype(np.uint64) * _GOLDEN + self.key(stream))
        return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))

    def below(self, stream: str, index: np.ndarray, high: int | np.ndarray) -> np.ndarray:
        """Whole numbers in [0, high), one per index."""
        return np.minimum((self.uniform(stream, index) * high).astype(np.int64), np.asarray(high) - 1)

    def choice(self, stream: str, index: np.ndarray, weights) -> np.ndarray:
        """Positions in weights, drawn in proportion to them."""
        cumulative = np.cumsum(np.asarray(list(weights), dtype=np.float64))
        cumulative /= cumulative[-1]
        picked = np.searchsorted(cumulative, self.uniform(stream, index), side="right")
        return np.minimum(picked, len(cumulative) - 1)


def where(keep, values: pl.Series, otherwise: pl.Series | None = None) -> pl.Series:
    """values where keep is true, else otherwise (null by default)."""
    chosen = pl.when(pl.lit(pl.Series(keep))).then(pl.lit(values))
    if otherwise is not None:
        chosen = chosen.otherwise(pl.lit(otherwise))
    return pl.select(chosen.alias(values.name)).to_series()


def pick(values, positions: np.ndarray, dtype=pl.String) -> pl.Series:
    """values[positions] as a Series (None in values gives null)."""
    return pl.Series(list(values), dtype=dtype).gather(pl.Series(positions, dtype=pl.UInt32))


# --- the people and their addresses -------------------------------------------------------------------


@dataclass
class World:
    """Everything every night shares: who is in which export, who they are, when things happen."""

    spec: SynthSpec
    draws: Draws
    churn: int  # contacts leaving (and joining) the export each night
    leave_night: np.ndarray  # int16 per initial contact: the night it is gone from (nights = never)
    list_reach: np.ndarray
    history_start: int  # epoch seconds
    night_starts: list[int] = field(default_factory=list)  # epoch seconds of each night's date

    @property
    def records(self) -> int:
        """Contact records ever exported: the first night's plus every night's joiners."""
        return self.spec.contacts + self.churn * (self.spec.nights - 1)

    def pool(self, night: int) -> int:
        """Contact indexes [0, pool) have been exported by this night (leavers included)."""
        return self.spec.contacts + self.churn * night

    def window(self, night: int) -> tuple[int, int]:
        """The span of time whose events the night's log files hold."""
        start = self.history_start if night == 0 else self.night_starts[night - 1]
        return start, self.night_starts[night]


def build_world(spec: SynthSpec) -> World:
    """The shared state of a data set: who leaves the export on which night, list reach, dates."""
    draws = Draws(spec.seed)
    churn = int(spec.contacts * CHURN_PER_NIGHT)
    leave_night = np.full(spec.contacts, spec.nights, dtype=np.int16)
    leavers = churn * (spec.nights - 1)
    if leavers:
        # the contacts with the smallest draws leave first, churn of them a night
        order = draws.uniform("leave", np.arange(spec.contacts))
        chosen = np.argpartition(order, leavers - 1)[:leavers]
        chosen = chosen[np.argsort(order[chosen], kind="stable")]
        leave_night[chosen] = 1 + np.arange(leavers) // churn
    reach = LIST_REACH_TOP / (1.0 + np.arange(spec.lists)) ** LIST_REACH_DECAY
    nights = [_epoch(datetime.combine(d, datetime.min.time(), UTC)) for d in spec.night_dates]
    return World(spec, draws, churn, leave_night, reach, nights[0] - HISTORY_DAYS * 86_400, nights)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def person_of(world: World, records: np.ndarray) -> np.ndarray:
    """The person behind each contact record: itself, or for a duplicate an earlier record's person."""
    draws = world.draws
    duplicate = draws.uniform("duplicate", records) < DUPLICATE_RECORDS
    original = draws.below("duplicate-of", records, np.maximum(records, 1))
    original_is_duplicate = draws.uniform("duplicate", original) < DUPLICATE_RECORDS
    return np.where(duplicate & ~original_is_duplicate & (records > 0), original, records)


def recipients(world: World, key: np.ndarray, pool: int, stream: str) -> np.ndarray:
    """Records picked at random for events; platforms refuse unusable addresses, so a record
    with one is picked again (once: the rare second miss stays, and bounces as bad syntax)."""
    records = world.draws.below(stream, key, pool)
    again = world.draws.below(stream + "-again", key, pool)
    return np.where(is_invalid(world, person_of(world, records)), again, records)


def is_invalid(world: World, people: np.ndarray) -> np.ndarray:
    """People whose address is unusable (INVALID_ADDRESSES of them)."""
    return world.draws.uniform("invalid", people) < INVALID_ADDRESSES


def log_only_people(world: World, index: np.ndarray, stream: str) -> np.ndarray:
    """People no export carries (left before the history, or from another platform's list)."""
    return world.records + world.draws.below(stream, index, max(1, world.records // 10))


def identities(world: World, people: np.ndarray) -> pl.DataFrame:
    """Names, the canonical address, its domain and receiver family, per person."""
    draws = world.draws
    # an odd multiplier permutes the 64 x 64 name pairs: neighbours get unrelated names, and
    # (pair, serial) stays unique per person, so addresses do not collide at any size
    names = len(FIRST_NAMES) * len(LAST_NAMES)
    pair = (people * 2_654_435_761 + 12_345) % names
    first, last, serial = pair % len(FIRST_NAMES), pair // len(FIRST_NAMES), people // names
    domain = draws.choice("domain", people, [d.weight for d in DOMAINS])
    invalid_form = np.where(
        is_invalid(world, people), draws.below("invalid-form", people, len(INVALID_FORMS)), -1
    )
    frame = pl.DataFrame(
        {
            "first_name": pick([f for f, _ in FIRST_NAMES], first),
            "last_name": pick([name for name, _ in LAST_NAMES], last),
            "first": pick([a for _, a in FIRST_NAMES], first),
            "last": pick([a for _, a in LAST_NAMES], last),
            "n": pl.Series(serial).cast(pl.String).replace("0", ""),
            "initial_number": pl.Series(serial * len(FIRST_NAMES) + first + 1).cast(pl.String),
            "year_number": pl.Series(serial * len(LAST_NAMES) + last + 1).cast(pl.String),
            "pattern": pl.Series(draws.choice("pattern", people, ADDRESS_PATTERNS.values()), dtype=pl.Int8),
            "domain": pick([d.name for d in DOMAINS], domain),
            "domain_index": pl.Series(domain, dtype=pl.Int16),
            "family": pl.Series(np.array([FAMILIES.index(d.family) for d in DOMAINS])[domain], dtype=pl.Int8),
            "dead_domain": pl.Series(np.array([d.dead for d in DOMAINS])[domain]),
            "invalid": pl.Series(invalid_form, dtype=pl.Int8),
        }
    )
    return frame.with_columns(address=addresses(frame)).select(
        "first_name",
        "last_name",
        "address",
        "domain",
        "domain_index",
        "family",
        "dead_domain",
        (pl.col("invalid") >= 0).alias("invalid"),
    )


def by_case(frame: pl.DataFrame, cases: np.ndarray, forms: list[pl.Expr]) -> pl.Series:
    """forms[case] of each row, each form evaluated only on its own rows (most rows share one)."""
    result = pl.Series("value", [None] * frame.height, dtype=pl.String)
    for case, form in enumerate(forms):
        rows = np.flatnonzero(cases == case)
        if len(rows):
            result = result.scatter(rows, frame[rows].select(form).to_series())
    return result


def addresses(frame: pl.DataFrame) -> pl.Series:
    """The address a person would type, from their pattern; a few broken the way web forms break them."""
    first, last, n, domain = pl.col("first"), pl.col("last"), pl.col("n"), pl.col("domain")
    local = by_case(
        frame,
        frame["pattern"].to_numpy(),
        [
            pl.concat_str(first, pl.lit("."), last, n),
            pl.concat_str(first, last, n),
            pl.concat_str(first, pl.lit("_"), last, n),
            pl.concat_str(first.str.head(1), last, pl.col("initial_number")),
            pl.concat_str(last, pl.lit("."), first, n),
            pl.concat_str(first, pl.col("year_number")),
        ],
    )
    frame = frame.with_columns(local=local)
    local = pl.col("local")
    broken = frame["invalid"].to_numpy()
    return by_case(
        frame,
        np.where(broken < 0, len(INVALID_FORMS), broken),
        [
            pl.concat_str(local, pl.lit("@"), domain.str.replace(r"\.[^.]+$", "")),  # no_tld: ana@gmail
            pl.concat_str(local, pl.lit("@@"), domain),  # double_at
            pl.concat_str(first, pl.lit(" "), last, pl.lit("@"), domain),  # space
            pl.concat_str(local, pl.lit("@"), domain.str.replace(".", ",", literal=True)),  # comma
            pl.concat_str(local, pl.lit("."), domain),  # no_at
            pl.lit("n/a"),  # placeholder
            pl.concat_str(local, pl.lit("@"), domain),  # valid
        ],
    )


def spelled(people: pl.DataFrame, roll: np.ndarray, spellings: dict[str, float]) -> pl.Series:
    """The address as a system wrote it: capitals, stray spaces, a display name, mailto:."""
    address = pl.col("address")
    forms = {
        "plain": address,
        "title": address.str.to_titlecase(),
        "upper": address.str.to_uppercase(),
        "spaced": pl.concat_str(pl.lit(" "), address, pl.lit("  ")),
        "display": pl.format("{} {} <{}>", pl.col("first_name"), pl.col("last_name"), address),
        "quoted_display": pl.format('"{}, {}" <{}>', pl.col("last_name"), pl.col("first_name"), address),
        "mailto": pl.concat_str(pl.lit("mailto:"), address),
    }
    bounds = np.cumsum(list(spellings.values()))
    cases = np.minimum(np.searchsorted(bounds / bounds[-1], roll, side="right"), len(bounds) - 1)
    return by_case(people, cases, [forms[name] for name in spellings]).alias("email")


# --- memberships ------------------------------------------------------------------------------


def memberships(world: World, records: np.ndarray) -> np.ndarray:
    """Bool matrix (record, list + 1): the lists of each record; the last column is 'on no list'."""
    draws, lists = world.draws, world.spec.lists
    no_list = draws.uniform("no-list", records) < ON_NO_LIST
    home = draws.choice("home-list", records, world.list_reach)  # everyone on a list is on one
    matrix = np.zeros((len(records), lists + 1), dtype=bool)
    for k in range(lists):
        on = draws.uniform("member", records * MAX_LISTS + k) < world.list_reach[k]
        matrix[:, k] = (on | (home == k)) & ~no_list
    matrix[:, lists] = no_list
    return matrix


def campaign_lists(world: World, records: np.ndarray, index: np.ndarray, stream: str) -> np.ndarray:
    """For each event, one of the record's lists at random (its home list if on none)."""
    matrix = memberships(world, records)[:, : world.spec.lists]
    counts = matrix.sum(axis=1)
    target = world.draws.below(stream, index, np.maximum(counts, 1))
    rank = np.cumsum(matrix, axis=1) - 1  # position of each list among the record's lists
    hit = matrix & (rank == target[:, None])
    chosen = hit.argmax(axis=1)
    home = world.draws.choice("home-list", records, world.list_reach)
    return np.where(counts > 0, chosen, home)


# --- the nightly contacts export -------------------------------------------------------------------

STATUSES = ("subscribed", "unsubscribed", "pending", "cleaned")
SUBSCRIBED, UNSUBSCRIBED, PENDING, CLEANED = range(4)


def present_records(world: World, night: int, start: int, stop: int) -> np.ndarray:
    """The records in [start, stop) that the night's export holds."""
    records = np.arange(start, stop, dtype=np.int64)
    initial = world.spec.contacts
    staying = np.ones(len(records), dtype=bool)
    old = records < initial
    staying[old] = world.leave_night[records[old]] > night
    return records[staying]


def contact_rows(world: World, night: int, records: np.ndarray, typed: bool) -> pl.DataFrame:
    """The export rows of these records on this night: one per (record, list), or one with no list."""
    draws, spec = world.draws, world.spec
    people = identities(world, person_of(world, records))
    people = people.with_columns(
        email=spelled(people, draws.uniform("export-spelling", records), EXPORT_SPELLINGS)
    )
    matrix = memberships(world, records)
    row, k = np.nonzero(matrix)
    key = records[row] * MAX_LISTS + k
    on_list = k < spec.lists
    status, confirmed = membership_states(world, night, key, np.where(on_list, k, -1))
    exported_at = world.night_starts[night] + 2 * 3600  # the CRM's export job runs at 02:00 UTC
    frame = pl.DataFrame(
        {
            "contact_id": pl.Series(records[row]).cast(pl.String).str.zfill(9).str.pad_start(10, "C"),
            "email": people["email"].gather(row),
            "first_name": people["first_name"]
            .gather(row)
            .set(pl.Series(draws.uniform("no-first-name", records[row]) < MISSING_FIRST_NAME), None),
            "last_name": people["last_name"].gather(row),
            "list_id": pick([*spec.list_ids, None], k),
            "status": pick(STATUSES, status),
            "confirmed_at": timestamps(confirmed, typed, "%Y-%m-%dT%H:%M:%SZ"),
            "do_not_contact": do_not_contact(world, night, records[row], typed),
            "country": pick(COUNTRIES.keys(), draws.choice("country", records[row], COUNTRIES.values())),
            "exported_at": timestamps(np.full(len(row), exported_at), typed, "%Y-%m-%dT%H:%M:%SZ"),
        }
    )
    return frame


def membership_states(
    world: World, night: int, key: np.ndarray, k: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each membership's export status and confirmation time (NaN: none) on this night."""
    draws, nights = world.draws, world.spec.nights
    base = draws.choice("status", key, BASE_STATUS_WEIGHTS.values())
    base = np.array([SUBSCRIBED, UNSUBSCRIBED, CLEANED])[base]
    # a few memberships change status on a later night: the CRM unsubscribes, cleans or re-adds
    changes = draws.uniform("status-change", key) < STATUS_CHANGES_PER_NIGHT * (nights - 1)
    change_night = 1 + draws.below("status-change-night", key, max(1, nights - 1))
    to = np.where(
        base == SUBSCRIBED,
        np.where(draws.uniform("status-change-to", key) < 0.7, UNSUBSCRIBED, CLEANED),
        SUBSCRIBED,
    )
    status = np.where(changes & (change_night <= night), to, base)

    signed_up = world.history_start - draws.uniform("signup", key) * 3 * 365 * 86_400
    double_opt_in = k == DOUBLE_OPT_IN_LIST
    unconfirmed = double_opt_in & (draws.uniform("unconfirmed", key) < UNCONFIRMED)
    confirms_later = unconfirmed & (draws.uniform("confirms-later", key) < CONFIRMS_PER_NIGHT * (nights - 1))
    confirm_night = 1 + draws.below("confirm-night", key, max(1, nights - 1))
    confirmed_by_now = confirms_later & (confirm_night <= night)
    confirmed_late_at = np.asarray(world.night_starts)[np.minimum(confirm_night, nights - 1)] - 3600 * (
        1 + draws.below("confirm-hour", key, 20)
    )
    confirmed = np.where(double_opt_in & ~unconfirmed, signed_up, np.nan)
    confirmed = np.where(confirmed_by_now, confirmed_late_at, confirmed)
    single = (k >= 0) & ~double_opt_in & (draws.uniform("single-confirmed", key) < CONFIRMED_ON_SINGLE_OPTIN)
    confirmed = np.where(single, signed_up, confirmed)
    pending = unconfirmed & ~confirmed_by_now & (draws.uniform("pending", key) < PENDING_OF_UNCONFIRMED)
    status = np.where(pending & (status == SUBSCRIBED), PENDING, status)
    status = np.where(k < 0, SUBSCRIBED, status)  # a row with no list: the contact is subscribed
    return status, confirmed


def do_not_contact(world: World, night: int, records: np.ndarray, typed: bool) -> pl.Series:
    """The export's do-not-contact flag: set for a few, switched on or off for fewer on later nights."""
    draws, nights = world.draws, world.spec.nights
    flag = draws.uniform("dnc", records) < DO_NOT_CONTACT
    flips = draws.uniform("dnc-flip", records) < DO_NOT_CONTACT_FLIPS_PER_NIGHT * (nights - 1)
    flip_night = 1 + draws.below("dnc-flip-night", records, max(1, nights - 1))
    flag = flag ^ (flips & (flip_night <= night))
    series = pl.Series(flag)
    return series if typed else series.replace_strict({True: "true", False: "false"}, return_dtype=pl.String)


def timestamps(seconds: np.ndarray, typed: bool, layout: str) -> pl.Series:
    """Epoch seconds (NaN: none) as UTC timestamps for Parquet, or as text in the file's layout."""
    values = pl.Series(np.asarray(seconds, dtype=np.float64)).fill_nan(None).cast(pl.Int64)
    moments = (values * 1_000_000).cast(pl.Datetime("us", "UTC"))
    return moments if typed else moments.dt.strftime(layout)


# --- the bounce log ---------------------------------------------------------------------------


def event_times(
    world: World, night: int, slot: np.ndarray, count: int, key: np.ndarray, stream: str
) -> np.ndarray:
    """A time in each slot of count equal slots of the night's window: logs are chronological."""
    start, stop = world.window(night)
    offset = (slot + world.draws.uniform(stream, key)) * ((stop - start) / max(count, 1))
    return start + offset.astype(np.int64)


def bounce_rows(world: World, night: int, rows: np.ndarray, count: int, typed: bool) -> pl.DataFrame:
    """Rows [rows] of the night's bounce log: deliveries, bounces and complaints of daily campaigns."""
    draws = world.draws
    key = (night << 40) | rows
    seconds = event_times(world, night, rows, count, key, "bounce-time")
    records = recipients(world, key, world.pool(night), "recipient")
    log_only = draws.uniform("bounce-log-only", key) < LOG_ONLY_BOUNCES
    people = np.where(log_only, log_only_people(world, key, "bounce-log-only-who"), person_of(world, records))
    who = identities(world, people)
    lists = np.where(
        log_only,
        draws.choice("log-only-list", key, world.list_reach),
        campaign_lists(world, records, key, "bounce-campaign-list"),
    )
    day = seconds // 86_400
    outcome = bounce_outcomes(world, key, people, seconds, day * MAX_LISTS + lists, who)
    reply = choose_replies(draws, key, outcome, who["family"].to_numpy())
    ip = pick(SENDER_IPS, draws.below("sender-ip", day * MAX_LISTS + lists, len(SENDER_IPS)))
    frame = who.select(
        spelled(who, draws.uniform("bounce-spelling", key), LOG_SPELLINGS),
        "address",
        "domain",
    ).with_columns(
        occurred_at=occurred_at(world, key, seconds, typed, "%Y-%m-%dT%H:%M:%SZ"),
        outcome=pl.Series(outcome, dtype=pl.Int8),
        campaign_id=campaign_ids(world, lists, day),
        reply=pl.Series(reply, dtype=pl.Int16),
        ip=ip,
        reported=pl.Series(draws.uniform("reported-type", key) >= MISSING_REPORTED_TYPE),
        coded=pl.Series(draws.uniform("codes-in-columns", key) >= CODES_ONLY_IN_TEXT),
    )
    return frame.select("email", "occurred_at", *bounce_columns())


def bounce_outcomes(
    world: World,
    key: np.ndarray,
    people: np.ndarray,
    seconds: np.ndarray,
    campaign: np.ndarray,
    who: pl.DataFrame,
) -> np.ndarray:
    """What happened to each send, from the state of the address and of the campaign's receiver."""
    draws = world.draws
    span = world.night_starts[-1] + 86_400 - world.history_start
    dies = draws.uniform("dead", people) < DEAD_ADDRESSES
    died_at = world.history_start + draws.uniform("died-at", people) * span
    full = draws.uniform("full", people) < FULL_MAILBOXES
    full_from = world.history_start + draws.uniform("full-from", people) * span
    low, high = FULL_EPISODE_DAYS
    full_until = full_from + (low + draws.uniform("full-days", people) * (high - low)) * 86_400
    in_full = full & (full_from <= seconds) & (seconds < full_until)
    domain = who["domain_index"].to_numpy().astype(np.int64)
    blocked = draws.uniform("blocked-campaign", campaign * 64 + domain) < BLOCKED_CAMPAIGN_DOMAINS
    roll = draws.uniform("outcome", key)
    healthy_bounds = np.cumsum(list(HEALTHY_OUTCOMES.values()))
    healthy = np.select(
        [
            roll < healthy_bounds[0],
            roll < healthy_bounds[1],
            roll < healthy_bounds[2],
            roll < healthy_bounds[3],
        ],
        [DELIVERED, OUTCOMES.index("soft_transient"), OUTCOMES.index("block"), COMPLAINT],
        OUTCOMES.index("odd"),
    )
    return np.select(
        [
            who["invalid"].to_numpy(),
            who["dead_domain"].to_numpy(),
            dies & (died_at <= seconds),
            in_full & (roll >= DELIVERED_IN_FULL_EPISODE),
            in_full,
            blocked & (roll < BLOCKED_IN_BLOCKED_CAMPAIGN),
        ],
        [
            OUTCOMES.index("hard_syntax"),
            OUTCOMES.index("hard_domain"),
            OUTCOMES.index("hard_user"),
            OUTCOMES.index("soft_full"),
            DELIVERED,
            OUTCOMES.index("block"),
        ],
        healthy,
    )


def _reply_table() -> tuple[np.ndarray, np.ndarray]:
    """Cumulative weights of every (outcome, family) group, laid end to end on [0, groups)."""
    edges, replies = [], []
    for o, outcome in enumerate(OUTCOMES):
        for f, family in enumerate(FAMILIES):
            group = [i for i, r in enumerate(REPLIES) if r.outcome == outcome and r.family in (family, "any")]
            weights = np.cumsum([REPLIES[i].weight for i in group])
            bounds = (o * len(FAMILIES) + f) + weights / weights[-1]
            bounds[-1] = o * len(FAMILIES) + f + 1
            edges.extend(bounds)
            replies.extend(group)
    return np.array(edges), np.array(replies)


REPLY_EDGES, REPLY_AT = _reply_table()


def choose_replies(draws: Draws, key: np.ndarray, outcome: np.ndarray, family: np.ndarray) -> np.ndarray:
    """A receiver reply for each bounce, as that receiver family words it (-1: none)."""
    group = np.maximum(outcome, 0) * len(FAMILIES) + family
    position = np.searchsorted(REPLY_EDGES, group + draws.uniform("reply", key), side="right")
    return np.where(outcome >= 0, REPLY_AT[np.minimum(position, len(REPLY_AT) - 1)], -1)


def bounce_columns() -> list[pl.Expr]:
    """event, campaign_id, bounce_type, codes and diagnostic from the outcome and the reply."""
    reply = pl.col("reply")
    text = pick_expr([r.text for r in REPLIES], reply)
    for placeholder, column in (("{addr}", "address"), ("{domain}", "domain"), ("{ip}", "ip")):
        text = text.str.replace_all(placeholder, pl.col(column), literal=True)
    delivered, complaint = pl.col("outcome") == DELIVERED, pl.col("outcome") == COMPLAINT
    coded = pl.col("coded")
    return [
        pl.when(delivered)
        .then(pl.lit("delivered"))
        .when(complaint)
        .then(pl.lit("complaint"))
        .otherwise(pl.lit("bounce"))
        .alias("event"),
        "campaign_id",
        pl.when(pl.col("reported"))
        .then(pick_expr([r.bounce_type for r in REPLIES], reply))
        .alias("bounce_type"),
        pl.when(delivered)
        .then(pl.lit("250"))
        .when(coded)
        .then(pick_expr([r.smtp_code for r in REPLIES], reply))
        .alias("smtp_code"),
        pl.when(delivered)
        .then(pl.lit("2.0.0"))
        .when(coded)
        .then(pick_expr([r.enhanced_code for r in REPLIES], reply))
        .alias("enhanced_code"),
        pl.when(complaint)
        .then(pl.lit("abuse report via feedback loop (ARF)"))
        .when(~delivered)
        .then(text)
        .alias("diagnostic"),
    ]


def pick_expr(values: list, positions: pl.Expr) -> pl.Expr:
    """values[positions] as an expression; null where the position is negative or the value None."""
    return positions.replace_strict(dict(enumerate(values)), default=None, return_dtype=pl.String)


def campaign_ids(world: World, lists: np.ndarray, day: np.ndarray) -> pl.Series:
    """Every list sends one campaign a day, named after the list and the date: offers-20261119."""
    dates = pl.Series(day * 86_400 * 1_000_000).cast(pl.Datetime("us", "UTC")).dt.strftime("%Y%m%d")
    return pick(world.spec.list_ids, lists) + "-" + dates


def occurred_at(world: World, key: np.ndarray, seconds: np.ndarray, typed: bool, layout: str) -> pl.Series:
    """Event times; one row in MALFORMED_ROWS broken as exports break them (empty when typed)."""
    text = timestamps(seconds, typed, layout)
    broken = pl.Series(world.draws.uniform("malformed", key) < MALFORMED_ROWS)
    if typed:
        return where(~broken, text)
    day = timestamps(seconds, False, "%Y-%m-%d")
    return where(~broken, text, day + " 25:61")


# --- the unsubscribe log --------------------------------------------------------------------------


def unsubscribe_rows(world: World, night: int, rows: np.ndarray, count: int, typed: bool) -> pl.DataFrame:
    """Rows of the night's unsubscribe log, in pairs: an episode's first event, then either its
    follow-up by the same person (a resubscribe, a do_contact) or another episode's first event."""
    draws, spec = world.draws, world.spec
    base = night << 40
    pair = rows // 2
    first_key = base | (pair * 2)
    first_episode = draws.choice("episode", first_key, [e.weight for e in EPISODES])
    follow_chance = np.array([e.follow_up for e in EPISODES])[first_episode]
    follows = (rows % 2 == 1) & (draws.uniform("follow-up", first_key) < follow_chance)
    key = np.where(follows, first_key, base | rows)  # a follow-up shares its episode's draws
    episode = draws.choice("episode", key, [e.weight for e in EPISODES])
    pairs = (count + 1) // 2
    seconds = event_times(world, night, pair, pairs, key, "unsubscribe-time")
    _, stop = world.window(night)
    later = draws.uniform("follow-up-delay", key) ** 2 * (stop - 1 - seconds)
    seconds = np.where(follows, seconds + later.astype(np.int64), seconds)

    records = recipients(world, key, world.pool(night), "unsubscriber")
    log_only = draws.uniform("unsubscribe-log-only", key) < LOG_ONLY_UNSUBSCRIBES
    people = np.where(
        log_only, log_only_people(world, key, "unsubscribe-log-only-who"), person_of(world, records)
    )
    who = identities(world, people)
    lists = np.where(
        log_only,
        draws.choice("log-only-list", key, world.list_reach),
        campaign_lists(world, records, key, "unsubscribe-list"),
    )
    scope = np.array([{"global": 0, "list": 1, "either": 2}[e.scope] for e in EPISODES])[episode]
    per_list = (scope == 1) | ((scope == 2) & (draws.uniform("integration-scope", key) < 0.6))
    with_campaign = np.array([e.with_campaign for e in EPISODES])[episode] & ~follows
    day = seconds // 86_400
    columns = episode_columns(draws, key, episode, follows, rows)
    return pl.DataFrame(
        {
            "email": spelled(who, draws.uniform("unsubscribe-spelling", key), LOG_SPELLINGS),
            "occurred_at": occurred_at(world, base | rows, seconds, typed, "%Y-%m-%d %H:%M:%S"),
            "event": columns["event"],
            "list_id": pick([*spec.list_ids, None], np.where(per_list, lists, spec.lists)),
            "source": columns["source"],
            "evidence": columns["evidence"],
            "evidence_ref": columns["evidence_ref"],
            "campaign_id": where(with_campaign, campaign_ids(world, lists, day)),
            "reason": columns["reason"],
        }
    )


def episode_columns(
    draws: Draws, key: np.ndarray, episode: np.ndarray, follows: np.ndarray, rows: np.ndarray
) -> dict[str, pl.Series]:
    """event, source, evidence, evidence_ref and reason of each row, first events and follow-ups."""
    complaint = episode == [e.name for e in EPISODES].index("complaint")
    dnc = episode == [e.name for e in EPISODES].index("do_not_contact")
    evidence_kinds = list(RESUBSCRIBE_EVIDENCE)
    evidence = draws.choice("evidence", key, RESUBSCRIBE_EVIDENCE.values())
    after_complaint = np.array([evidence_kinds.index(k) for k in COMPLAINT_RESUBSCRIBE_EVIDENCE])
    evidence = np.where(
        complaint,
        after_complaint[draws.choice("complaint-evidence", key, COMPLAINT_RESUBSCRIBE_EVIDENCE.values())],
        evidence,
    )
    evidence = np.where(follows & ~dnc, evidence, evidence_kinds.index(None))
    has_evidence = follows & ~dnc & (evidence != evidence_kinds.index(None))

    events = [e.event for e in EPISODES]
    event = pl.Series(events).gather(pl.Series(episode, dtype=pl.UInt32))
    event = pl.Series(
        np.where(follows, np.where(dnc, "do_contact", "resubscribe"), event.to_numpy()), dtype=pl.String
    )
    first_source = (
        pl.Series([e.source for e in EPISODES]).gather(pl.Series(episode, dtype=pl.UInt32)).to_numpy()
    )
    source = np.where(
        follows, np.where(dnc, "admin", np.where(has_evidence, "contact", "import")), first_source
    )

    reasons = [r for e in EPISODES for r in e.reasons]
    offsets = np.cumsum([0] + [len(e.reasons) for e in EPISODES])
    counts = np.array([len(e.reasons) for e in EPISODES])
    first_reason = offsets[episode] + draws.below("reason", key, counts[episode])
    follow_up_reasons = [
        "signed up again on the website",
        "confirmed the double opt-in email",
        "consent recorded by support",
        "re-added by a CSV import",
        "switched back to do contact at the contact's request",
    ]
    follow_reason = np.where(dnc, 4, np.where(has_evidence, evidence, 3))
    reason = pl.Series([*reasons, *follow_up_reasons]).gather(
        pl.Series(np.where(follows, len(reasons) + follow_reason, first_reason), dtype=pl.UInt32)
    )

    number = pl.Series(rows + 1000).cast(pl.String)
    ref_prefix = pick(["form:signup#", "doi:token-", "consent:ticket-", None], evidence)
    return {
        "event": event,
        "source": pl.Series(source, dtype=pl.String),
        "evidence": pick(evidence_kinds, evidence),
        "evidence_ref": where(has_evidence, ref_prefix + number),
        "reason": reason.replace("", None),
    }


# --- writing ------------------------------------------------------------------------------------


class TableWriter:
    """Appends blocks of rows to one file: one CSV header, one gzip stream, Parquet row groups."""

    def __init__(self, path: Path, file_format: str):
        self.path, self.file_format, self.rows = path, file_format, 0
        self._handle = None
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, frame: pl.DataFrame) -> None:
        if self.file_format == "parquet":
            table = frame.to_arrow()
            if self._parquet is None:
                self._schema = table.schema
                self._parquet = pq.ParquetWriter(self.path, self._schema, compression="snappy")
            self._parquet.write_table(table.cast(self._schema))
        else:
            first = self._handle is None
            if first:
                raw = open(self.path, "wb")  # noqa: SIM115  (closed by close(), after the last batch)
                # mtime 0 and no name in the header: the same rows give the same bytes
                self._handle = (
                    gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
                    if self.file_format == "csv.gz"
                    else raw
                )
                self._raw = raw
            frame.write_csv(self._handle, include_header=first)
        self.rows += frame.height

    def close(self) -> int:
        if self._parquet is not None:
            self._parquet.close()
        if self._handle is not None:
            self._handle.close()
            if self._handle is not self._raw:
                self._raw.close()
        return self.rows


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


def event_counts(spec: SynthSpec) -> tuple[list[int], list[int]]:
    """Unsubscribe-log and bounce-log rows per night: the history first, then one day a night."""
    unsubscribes = min(round(spec.contacts * UNSUBSCRIBE_ROWS_PER_CONTACT), spec.events // 4)
    shares = np.array([HISTORY_DAYS] + [1] * (spec.nights - 1), dtype=np.float64)
    return _split(unsubscribes, shares), _split(spec.events - unsubscribes, shares)


def _split(total: int, shares: np.ndarray) -> list[int]:
    """total split in proportion to shares, in whole rows that add up to total."""
    bounds = np.floor(total * np.cumsum(shares) / shares.sum() + 1e-9).astype(np.int64)
    bounds[-1] = total
    return np.diff(np.concatenate([[0], bounds])).tolist()


def generate(spec: SynthSpec, out: Path, progress: Callable[[str], None] = lambda _: None) -> list[Night]:
    """Write every night's files, pipeline.toml, SYNTH.md and synth.json into out (empty or new)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(
            f"--out {out} is not an empty folder; synth writes into a new or empty "
            "folder so that the pipeline's globs match only the files it writes."
        )
    out.mkdir(parents=True, exist_ok=True)
    world = build_world(spec)
    unsubscribes, bounces = event_counts(spec)
    typed = spec.file_format == "parquet"
    nights = []
    for night, day in enumerate(spec.night_dates):
        stamp = day.isoformat()
        files = [
            _write(
                out / f"contacts_{stamp}{spec.extension}",
                spec,
                "contacts",
                _contact_blocks(world, night, typed),
            ),
            _write(
                out / f"unsubscribes_{stamp}{spec.extension}",
                spec,
                "unsubscribes",
                _event_blocks(world, night, unsubscribes[night], typed, unsubscribe_rows),
            ),
            _write(
                out / f"bounces_{stamp}{spec.extension}",
                spec,
                "bounces",
                _event_blocks(world, night, bounces[night], typed, bounce_rows),
            ),
        ]
        for f in files:
            progress(f"wrote {f.name} ({f.rows:,} rows)")
        nights.append(Night(night + 1, stamp, f"{stamp}T06:00:00Z", files))
    (out / "pipeline.toml").write_text(pipeline_toml(spec))
    (out / "SYNTH.md").write_text(synth_md(spec, world, nights))
    (out / "synth.json").write_text(
        json.dumps(
            {
                "generator": "listhygiene synth",
                "version": GENERATOR_VERSION,
                "fingerprint": spec.fingerprint(),
                "arguments": spec.arguments(),
                "nights": [asdict(n) for n in nights],
            },
            indent=2,
        )
        + "\n"
    )
    return nights


def _write(path: Path, spec: SynthSpec, kind: str, blocks) -> WrittenFile:
    """Write the blocks into one file and say how many rows it holds."""
    writer = TableWriter(path, spec.file_format)
    try:
        for frame in blocks:
            writer.write(frame)
    finally:
        rows = writer.close()
    return WrittenFile(kind, path.name, rows)


def _contact_blocks(world: World, night: int, typed: bool):
    """The night's export in blocks of records (an empty block still carries the header)."""
    pool = world.pool(night)
    for start in range(0, pool, BLOCK_ROWS):
        records = present_records(world, night, start, min(pool, start + BLOCK_ROWS))
        yield contact_rows(world, night, records, typed)


def _event_blocks(world: World, night: int, count: int, typed: bool, make):
    """The night's log rows in blocks; a log without rows still gets its header."""
    starts = range(0, count, BLOCK_ROWS) if count else [0]
    for start in starts:
        rows = np.arange(start, min(count, start + BLOCK_ROWS), dtype=np.int64)
        yield make(world, night, rows, count, typed)


# --- the pipeline file and the description ------------------------------------------------------------


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
