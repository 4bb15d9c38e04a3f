"""The reasons an (address, list) is not sendable, in SPEC precedence order, and what lifts each."""

from __future__ import annotations

from dataclasses import dataclass

from listhygiene.vocabulary import RESUBSCRIBE_EVIDENCE

__all__ = ["BY_NAME", "COMPLAINT_EVIDENCE", "PRECEDENCE", "REASONS", "RESUBSCRIBE_EVIDENCE", "Reason"]


@dataclass(frozen=True)
class Reason:
    name: str
    scope: str  # "address": blocks every list of the address; "list": one list
    cause: str
    lifted_by: str
    blocks_transactional: bool = False


REASONS: tuple[Reason, ...] = (
    Reason(
        "forgotten",
        "address",
        "the address was erased on request (`forget`): only its keyed hash is kept",
        "fresh consent after the erasure: a resubscribe with evidence, or a confirmation in the export",
        blocks_transactional=True,
    ),
    Reason(
        "complaint",
        "address",
        "a spam complaint",
        "a resubscribe with confirmed_optin or written_consent (global, or for that list), "
        "or a confirmation in the export, after it",
    ),
    Reason(
        "hard_bounce",
        "address",
        "a bounce classified hard",
        "a delivery, or a confirmed opt-in, after it",
        blocks_transactional=True,
    ),
    # A legal do-not-mail list like an unsubscribe, but kept outside (a partner's, an
    # affiliate's): below hard_bounce, since an address that does not exist is the more basic
    # fact. Its rows say every list (scope "address") or one list; it never stops transactional mail.
    Reason(
        "external_suppression",
        "address",
        "the address is on a suppressions input (a do-not-mail list kept elsewhere), on every "
        "list or on the list its row names",
        "leaving that list: the source's newest snapshot no longer holding it",
    ),
    Reason(
        "unsubscribed",
        "address",
        "a global unsubscribe event",
        "a resubscribe with evidence (global, or for that list), or a confirmation in the "
        "export, after it; for an integration unsubscribe also a later export showing the "
        "membership subscribed",
    ),
    Reason(
        "do_not_contact",
        "address",
        "a do_not_contact event or the export's flag",
        "a do_contact event, or the export clearing its flag; memberships are kept",
    ),
    Reason(
        "list_unsubscribed",
        "list",
        "an unsubscribe event for that list",
        "a resubscribe with evidence for that list or global, or a confirmation in the "
        "export, after it; for an integration unsubscribe also a later export showing the "
        "membership subscribed",
    ),
    Reason(
        "source_unsubscribed",
        "list",
        "the export's status says unsubscribed / do_not_allow",
        "the export showing another status",
    ),
    Reason(
        "source_cleaned",
        "list",
        "the export's status says cleaned / bounced",
        "the export showing another status",
    ),
    Reason(
        "soft_bounce_limit",
        "address",
        "soft bounces on soft_bounce_limit consecutive distinct campaigns",
        "a delivery, or a confirmed opt-in, after it",
    ),
    Reason(
        "invalid_address",
        "address",
        "the normalized address is not valid",
        "a corrected address in the export",
        blocks_transactional=True,
    ),
    Reason(
        "unconfirmed",
        "list",
        "the list requires confirmed opt-in and none is recorded, or the export says pending",
        "a confirmation (confirmed_at in the export, or a confirmed_optin resubscribe)",
    ),
    Reason(
        "not_in_source",
        "list",
        "a member in an earlier snapshot, absent from the latest",
        "re-appearing in the export",
    ),
)

BY_NAME = {r.name: r for r in REASONS}
PRECEDENCE = {r.name: i for i, r in enumerate(REASONS, start=1)}

# A spam complaint needs stronger proof than a sign-up form.
COMPLAINT_EVIDENCE = ("confirmed_optin", "written_consent")
