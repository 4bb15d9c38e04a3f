"""What receivers reply to a send, worded as real mail servers word it, and how a reply is chosen."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from listhygiene.synth.draws import Draws
from listhygiene.synth.names import FAMILIES

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
