"""What would lift each reason, in words: the SPEC's "lifted by" column made specific to one address and list."""

from __future__ import annotations

from collections.abc import Iterable

from listhygiene.config import Config
from listhygiene.outputs.explain.render import short_time
from listhygiene.rules.reasons import BY_NAME, COMPLAINT_EVIDENCE, RESUBSCRIBE_EVIDENCE


def lifting_condition(
    config: Config,
    reason: str,
    list_id: str | None,
    after: str | None,
    active: dict,
    *,
    integration_only: bool = False,
) -> str:
    """What would lift one active reason, concretely: which event, for which scope, after when.

    The words of reasons.REASONS[..].lifted_by, with the list, the accepted evidence and the
    time of the latest cause still in force filled in.
    """
    when = f"after {short_time(after)}" if after else ""
    scope = f"global, or for {list_id}" if list_id else "global"
    anyof = _or(RESUBSCRIBE_EVIDENCE)
    if reason == "complaint":
        return (
            f"a resubscribe with {_or(COMPLAINT_EVIDENCE)} evidence ({scope}), or a confirmed_at "
            f"in the export, {when} (a sign-up form is not enough after a spam complaint)"
        )
    if reason in ("hard_bounce", "soft_bounce_limit"):
        return (
            f"a delivery to the address, or a confirmed opt-in (a resubscribe with confirmed_optin "
            f"evidence or a confirmed_at in the export), {when}"
        )
    if reason in ("unsubscribed", "list_unsubscribed"):
        where = scope if reason == "unsubscribed" else f"for {list_id} or global"
        text = (
            f"a resubscribe with {anyof} evidence ({where}), or a confirmed_at in the export, "
            f"{when}; a re-import or an export saying subscribed is not enough"
        )
        if integration_only:
            on = "on any list" if reason == "unsubscribed" else f"on {list_id}"
            text = (
                f"a contacts export {when} listing the address as subscribed {on} (the CRM "
                f"made this unsubscribe, so the CRM can undo it), or {text.split(';')[0]}"
            )
        return text
    if reason == "do_not_contact":
        if active["origin"] == "export":
            return f"the {active['source']} export clearing the do_not_contact flag (set since {short_time(after)})"
        return (
            f"a do_contact event {when}, or a contacts export clearing the do_not_contact flag "
            f"{when}; the memberships are kept and come back as they were"
        )
    if reason in ("source_unsubscribed", "source_cleaned"):
        on = f"on {list_id}" if not active["is_global"] else "on its row with no list (the whole contact)"
        return f"the {active['source']} export showing another status {on}"
    if reason == "external_suppression":
        on = "from every list" if active["is_global"] else f"from {list_id}"
        return (
            f"the {active['source']} suppression list dropping the address {on}: a newer snapshot "
            "of that list without it (nothing listhygiene receives otherwise lifts it)"
        )
    if reason == "invalid_address":
        return "a corrected address in the export: this address cannot be mailed as it is"
    if reason == "unconfirmed":
        text = (
            f"a confirmation: a confirmed_at in the export for {list_id} (or on a row with no "
            f"list), or a resubscribe with confirmed_optin evidence"
        )
        if list_id and not config.mailing_list(list_id).require_confirmed_optin:
            text += ", or the export no longer saying pending"
        return text
    if reason == "not_in_source":
        return f"the address appearing on {list_id} again in a contacts export"
    return BY_NAME[reason].lifted_by


def _or(words: Iterable[str]) -> str:
    words = list(words)
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]
