"""One message of a bounce mailbox read into what it reports: failed recipients (RFC 3464 or plain text), a feedback report, an auto-reply, or why it is none of these."""

from __future__ import annotations

import email.utils
import hashlib
import re
from dataclasses import dataclass
from email.message import Message
from functools import cached_property

from listhygiene.ingest.dsn import mime
from listhygiene.ingest.dsn.mime import Part
from listhygiene.ingest.dsn.plain import (
    ADDRESS,
    BOUNCE_SENDER,
    STATUS,
    diagnostic,
    failed_recipients,
    is_auto_reply,
    looks_like_bounce,
    own_text,
    reply_code,
)

# What a message is; only some kinds yield rows (see dsn.py)
DSN, PLAIN_BOUNCE, COMPLAINT, FEEDBACK, DELAY, AUTO_REPLY, DELIVERY = (
    "dsn",
    "plain_bounce",
    "complaint",
    "feedback",
    "delay",
    "auto_reply",
    "delivery",
)
_BLOCKS = re.compile(r"\n[ \t]*\n")
# a recipient's fields written at the start of lines of a text part
_TEXT_RECIPIENT = re.compile(r"(?im)^(?:final|original)-recipient:[ \t]*\S")
_TEXT_ACTION = re.compile(r"(?im)^action:[ \t]*\S")
_HEADER_LINE = re.compile(rb"^(From |[!-9;-~]+:)")
_LONGEST_RAW = 2000


@dataclass(frozen=True)
class Options:
    """What a source says about its mail: the returned message's campaign header, and the
    pattern finding the campaign in a VERP return path."""

    campaign_header: str = "X-Campaign-Id"
    campaign_verp: re.Pattern[str] | None = None

    @cached_property
    def quoted_header(self) -> re.Pattern[str]:
        """The campaign header as a bounce quotes the returned message in its text."""
        return re.compile(rf"(?im)^[ \t>]*{re.escape(self.campaign_header)}:[ \t]*(\S[^\r\n]*)")


class NotABounce(Exception):
    """The message is none of what a bounce mailbox should hold; the text says why."""


def raw_text(data: bytes) -> str:
    """The start of a message as text, for the quarantine's raw column."""
    return data[:_LONGEST_RAW].decode("utf-8", errors="replace")


def read_message(data: bytes, options: Options) -> dict:
    """What the message reports, as a JSON-ready dict; NotABounce says why it is none of it."""
    data = data.lstrip()
    if b"\x00" in data[:4096] or not _HEADER_LINE.match(data):
        raise NotABounce("not an email message (it does not start with header lines)")
    top = mime.parse(data)
    if not top.headers.keys():
        raise NotABounce("not an email message (no header fields)")
    parts = top.walk()
    try:
        return _report(data, top.headers, parts, options)
    except NotABounce:
        # MTAs cut long returned messages without closing their boundaries: a missing boundary
        # is only the reason when the report itself could not be read
        if any(p.truncated for p in parts):
            raise NotABounce("truncated message: its MIME body ends before the closing boundary") from None
        raise


def _report(data: bytes, message: Message, parts: list[Part], options: Options) -> dict:
    report: dict = {
        "message_id": (message.get("Message-ID") or "").strip() or _digest(data),
        "date": _iso(message.get("Date")),
        "campaign_id": _campaign(message, parts, options),
        "reporting_mta": None,
        "recipients": [],
    }
    feedback = _first(parts, "message/feedback-report")
    if feedback is not None:
        return report | _feedback(feedback, parts)
    status = _first(parts, "message/delivery-status") or _first(parts, "message/global-delivery-status")
    if status is not None:
        groups = _fields(status)
        people = own_text(_text_of(parts))
        if groups and groups[0].get("reporting-mta"):
            return report | _delivery_status(groups[0], groups[1:], people)
        return report | _delivery_status(None, groups, people)
    if looks_like_bounce(message, returns_a_message=_returned_headers(parts) is not None):
        text = own_text(_text_of(parts))
        written = _fields_in_text(text)
        if written is not None:
            return report | _delivery_status(*written)
        return report | _plain_bounce(text, parts, message)
    if is_auto_reply(message):
        return report | {"type": AUTO_REPLY}
    if BOUNCE_SENDER.search(message.get("From") or ""):
        raise NotABounce(
            "not a bounce, feedback report or auto-reply (a mail system's From, but an ordinary "
            "sender's return path, no bounce subject and no returned message)"
        )
    raise NotABounce(
        "not a bounce, feedback report or auto-reply (no delivery report, no bounce sender or subject)"
    )


def _first(parts: list[Part], content_type: str) -> Part | None:
    return next((p for p in parts if p.content_type == content_type), None)


def _fields(part: Part) -> list[dict[str, str]]:
    """A report part's field groups (per-message first, then per-recipient)."""
    text = part.text.replace("\r\n", "\n").strip()
    return [mime.fields_of(block) for block in _BLOCKS.split(text) if block.strip()]


def _fields_in_text(text: str) -> tuple[dict[str, str] | None, list[dict[str, str]], str] | None:
    """RFC 3464 fields a bounce writes into its text instead of a delivery-status part (Amazon
    WorkMail's "Technical report:"): the per-message group (Reporting-MTA), the recipient groups
    (those naming a recipient and an action) and the text without them; None when the text has
    no recipient group."""
    if not (_TEXT_RECIPIENT.search(text) and _TEXT_ACTION.search(text)):
        return None
    per_message, recipients, people = None, [], []
    for block in _BLOCKS.split(text):
        group = mime.fields_of(block)
        if group.get("action") and (group.get("final-recipient") or group.get("original-recipient")):
            recipients.append(group)
        elif group.get("reporting-mta") and per_message is None:
            per_message = group
        else:
            people.append(block)
    return (per_message, recipients, "\n\n".join(people)) if recipients else None


def _value(group: dict[str, str], name: str) -> str | None:
    value = group.get(name.lower())
    if value is None:
        return None
    return diagnostic(str(value)) or None


def _typed_address(value: str | None) -> str | None:
    """'rfc822; jane@example.com' -> 'jane@example.com' (other address types are not mail)."""
    if not value:
        return None
    kind, _, address = value.partition(";")
    if not address:
        address = kind
    elif kind.strip().lower() not in ("rfc822", "utf-8"):
        return None
    found = ADDRESS.search(address)
    return found.group(0) if found else address.strip().strip("<>").strip() or None


def _mta(value: str | None) -> str | None:
    """'dns; mx.example.com' -> 'mx.example.com'."""
    return value.rpartition(";")[2].strip() or None if value else None


def _delivery_status(
    per_message: dict[str, str] | None, groups: list[dict[str, str]], people_text: str
) -> dict:
    """The report's recipients, from its per-message field group (None when it has none), its
    per-recipient groups and the text written for people (for a recipient without a
    Diagnostic-Code)."""
    arrival = _iso(per_message.get("arrival-date")) if per_message is not None else None
    recipients = []
    for group in groups:
        address = _typed_address(_value(group, "Original-Recipient")) or _typed_address(
            _value(group, "Final-Recipient")
        )
        action = (_value(group, "Action") or "").lower()
        if address is None or not action:
            continue
        said = _value(group, "Diagnostic-Code") or _near(people_text, address)
        status = _value(group, "Status")
        recipients.append(
            {
                "email": address,
                "action": action.split()[0],
                "status": _code(STATUS, status) or _code(STATUS, said),
                "smtp_code": reply_code(said) if said else None,
                "diagnostic": said,
                "remote_mta": _mta(_value(group, "Remote-MTA")),
                "occurred_at": arrival,
            }
        )
    if not recipients:
        raise NotABounce("a delivery status report naming no recipient with an action")
    actions = {r["action"] for r in recipients}
    kind = DSN if "failed" in actions else DELAY if actions <= {"delayed"} else DELIVERY
    mta = _value(per_message if per_message is not None else groups[0], "Reporting-MTA")
    return {"type": kind, "reporting_mta": _mta(mta), "recipients": recipients}


def _plain_bounce(text: str, parts: list[Part], message: Message) -> dict:
    """The recipients a bounce's own text (`text`, before the returned copy) names."""
    exclude = {
        a.lower()
        for h in ("From", "To", "Delivered-To", "X-Original-To", "Return-Path")
        for a in ADDRESS.findall(message.get(h) or "")
    }
    found = failed_recipients(text, exclude)
    if not found:
        returned = _returned_headers(parts)
        to = ADDRESS.findall(returned.get("To") or "") if returned is not None else []
        if len(to) == 1:
            found = [(to[0], diagnostic(text))]
    if not found:
        raise NotABounce("a bounce whose text names no recipient address")
    if _is_delay_notice(text):
        return {"type": DELAY, "recipients": []}
    return {
        "type": PLAIN_BOUNCE,
        "recipients": [
            {
                "email": address,
                "action": "failed",
                "status": _code(STATUS, said),
                "smtp_code": reply_code(said) if said else None,
                "diagnostic": said,
                "remote_mta": None,
                "occurred_at": None,
            }
            for address, said in found
        ],
    }


# A warning that delivery is still being tried is not a bounce of the message (Sendmail's
# "Warning: could not send message for past 4 hours", Exim's "has not yet been delivered").
_DELAY_NOTICE = re.compile(
    r"not (yet )?been delivered|will (continue to )?(be )?retr(y|ied)|will be retried|"
    r"attempts will continue|still trying|could not send message for (the )?past|"
    r"this is a warning|warning: message|delayed|delay(ed)? notification|no action is required",
    re.I,
)
_FINAL_FAILURE = re.compile(
    r"permanent|fatal|could not be delivered|giving up|gave up|failed permanently", re.I
)


def _is_delay_notice(text: str) -> bool:
    return bool(_DELAY_NOTICE.search(text)) and not _FINAL_FAILURE.search(text)


def _feedback(part: Part, parts: list[Part]) -> dict:
    [fields, *_] = _fields(part) or [{}]
    kind = (_value(fields, "Feedback-Type") or "").lower()
    returned = _returned_headers(parts)
    rcpt = _typed_address(_value(fields, "Original-Rcpt-To"))
    if rcpt is None and returned is not None:
        to = ADDRESS.findall(returned.get("To") or "")
        rcpt = to[0] if len(to) == 1 else None
    if kind != "abuse":
        return {"type": FEEDBACK, "feedback_type": kind, "recipients": []}
    if rcpt is None:
        raise NotABounce("an abuse report naming no recipient (no Original-Rcpt-To, no single To)")
    when = _iso(_value(fields, "Arrival-Date") or _value(fields, "Received-Date"))
    return {
        "type": COMPLAINT,
        "feedback_type": kind,
        "reporting_mta": _mta(_value(fields, "Reporting-MTA")),
        "recipients": [{"email": rcpt, "action": "complaint", "occurred_at": when}],
    }


def _returned_headers(parts: list[Part]) -> Message | None:
    """The headers of the returned message (message/rfc822 or text/rfc822-headers)."""
    for part in parts:
        if part.content_type == "message/rfc822" and part.children:
            return part.children[0].headers
        if part.content_type == "text/rfc822-headers":
            return mime.headers_of(part.text)
    return None


def _campaign(message: Message, parts: list[Part], options: Options) -> str | None:
    returned = _returned_headers(parts)
    if returned is not None and returned.get(options.campaign_header):
        return diagnostic(str(returned.get(options.campaign_header)))
    # a bounce that quotes the returned message as text (qmail, old Exchange)
    quoted = options.quoted_header.search(_text_of(parts))
    if quoted:
        return quoted.group(1).strip()
    if options.campaign_verp is not None:
        for name in ("Delivered-To", "X-Original-To", "To"):
            for address in ADDRESS.findall(message.get(name) or ""):
                found = options.campaign_verp.search(address)
                if found and found.group(1):
                    return found.group(1)
    return None


def _text_of(parts: list[Part]) -> str:
    """The text/plain parts of the bounce itself (or its HTML without tags), joined."""
    texts = [p.text for p in parts if p.content_type == "text/plain"]
    if not texts:
        html = [p.text for p in parts if p.content_type == "text/html"]
        texts = [re.sub(r"<[^>]*>|&nbsp;", " ", h) for h in html]
    return "\n\n".join(texts)


def _near(text: str, address: str) -> str | None:
    """The paragraph of the people's text naming the address (a DSN without Diagnostic-Code)."""
    found = failed_recipients(text, set(), whole_text=False)
    said = next((s for a, s in found if a == address.lower()), None)
    # a paragraph that only names the address says nothing the Status does not
    return said if said and len(ADDRESS.sub("", said).strip(" :<>-_")) >= 12 else None


def _code(pattern: re.Pattern[str], text: str | None) -> str | None:
    found = pattern.search(text or "")
    return found.group(1) if found else None


def _iso(value: str | None) -> str | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.isoformat() if parsed.tzinfo is not None else parsed.isoformat() + "Z"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()[:32]
