"""What a bounce written for people says: its failed recipients and their reasons, and the marks of bounces and auto-replies."""

from __future__ import annotations

import re
from email.message import Message

# Bounces come from the mail system, not a person: these senders and subjects mark them when
# there is no machine-readable report (qmail, old Exchange, Lotus, Sendmail without DSN).
BOUNCE_SENDER = re.compile(
    r"mailer-daemon|postmaster|mail ?delivery|mdaemon|mail ?administrator|\bmailer\b", re.I
)
BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (status notification|fail|failure|problem|report)|"
    r"returned mail|mail delivery (failed|failure|system)|failure notice|delivery has failed|"
    r"mail failed|returning (message )?to sender|"
    r"could not be delivered|non[- ]?delivery|rejected|nondeliverable|"
    r"unzustellbar|nicht zustellbar|non remis|non distribu|no se puede entregar|no entregado|"
    r"não entregue|nao entregue|non recapitat|mancato recapito|onbestelbaar|niet bezorgd",
    re.I,
)
# RFC 3834 and the headers vacation programs add; and subjects of the common responders
AUTO_REPLY_SUBJECT = re.compile(
    r"out of (the )?office|automatic reply|auto(matic)?[- ]?(reply|response|antwort)|^auto:|vacation|"
    r"abwesenheit|r[ée]ponse automatique|absence|respuesta autom[áa]tica|fuera de la oficina|"
    r"resposta autom[áa]tica|aus(ente|enza)|risposta automatica|automatisch antwoord|afwezig",
    re.I,
)
# Where a bounce's own text stops and the copy of the returned message begins
_RETURNED_COPY = re.compile(
    r"^[ \t>-]*(-{2,}|={2,})?[ \t]*("
    r"this is a copy of|below this line is a copy|original message|returned (mail|message) follows|"
    r"copy of the (original )?message|message headers follow|the headers of the|"
    r"unsent message below|undelivered message (headers )?follow|text of the message follows|"
    r"received: from |return-path: )",
    re.I | re.M,
)
ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+"
)
# an RFC 3463 code, not a piece of an IP address or version ("4.79.181.168")
STATUS = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?!\d|\.\d)")
# a reply code: three digits after the start, punctuation, a word, a status code or another
# reply code, and before a word, a status code or IP address, an id, a short number ("554 30
# Sorry") or the end; not digits of a longer number ("555-0100", "+1 555 0100"). The classifier
# reads codes in a diagnostic alike (models/reasons/bounce_classes.sql, without the end).
SMTP_REPLY = re.compile(
    r"(?:^\s*|[^\w\s.+-]|[^\d\s+]\s+|[^\d\s+]-|\d\.\d{1,3}\s+|[45]\d\d[\s-]+)([45]\d\d)"
    r"(?:[\s-]\s*[^\d\s]|[\s-]\s*\d{1,3}\.\d|\s\d+[A-Za-z]|\s\d{1,2}\s+[^\d\s]|\s*$)"
)
_REPLY_DIGITS = re.compile(r"[45]\d\d")
_SYSTEM_LOCAL_PART = re.compile(r"^(postmaster|mailer-daemon|abuse|noreply|no-reply|root)$", re.I)
_BLANK_LINES = re.compile(r"\n[ \t]*\n")
# Exim's "The following text was generated during the delivery attempt(s):", then for each
# group of addresses a paragraph of "------ address ------" lines, then the text itself
_EXIM_GENERATED = re.compile(r"generated during the delivery attempts?:\s*$", re.I)
_EXIM_MARK = "during the delivery attempt"
_SPACES = re.compile(r"\s+")
LONGEST_DIAGNOSTIC = 1000


def is_auto_reply(message: Message) -> bool:
    submitted = (message.get("Auto-Submitted") or "").strip().lower()
    if submitted.startswith("auto-replied"):
        return True
    if any(message.get(h) for h in ("X-Autoreply", "X-Autorespond", "X-Vacation")):
        return True
    if (message.get("Precedence") or "").strip().lower() == "auto_reply":
        return True
    return bool(AUTO_REPLY_SUBJECT.search(message.get("Subject") or ""))


def looks_like_bounce(message: Message, *, returns_a_message: bool = False) -> bool:
    """Whether the headers show a bounce: the null return path (RFC 5321 sends notifications
    from `<>`) or a mail system's, a bounce subject, or a mail system's From. A From anyone can
    write is not enough when the return path names an ordinary sender (a person or a program
    mailing as MAILER-DAEMON), unless the message also returns a message (`returns_a_message`:
    a message/rfc822 or headers part)."""
    return_path = (message.get("Return-Path") or "").strip()
    if return_path.replace(" ", "") == "<>" or BOUNCE_SENDER.search(return_path):
        return True
    if BOUNCE_SUBJECT.search(message.get("Subject") or ""):
        return True
    if BOUNCE_SENDER.search(message.get("From") or ""):
        return returns_a_message or not ADDRESS.search(return_path)
    return False


def own_text(text: str) -> str:
    """The bounce's own words: the text before the copy of the returned message."""
    cut = _RETURNED_COPY.search(text)
    return text[: cut.start()] if cut else text


def failed_recipients(text: str, exclude: set[str], *, whole_text: bool = True) -> list[tuple[str, str]]:
    """(address, diagnostic) for every address the bounce's own text names, in order.

    The diagnostic is the paragraph naming the address (qmail's "<a@b>:" block, Exim's
    indented reply); a paragraph holding little more than the address takes the next one too
    (Sendmail's "----- The following addresses had permanent fatal errors -----" layout). When
    the first paragraph naming an address carries no reply or status code and a later one
    naming it alone does, the later one is its diagnostic (Office 365 names the address in
    two spellings, first over its generic "A communication failure occurred…", then over the
    receiver's reply). When only one address is named, the whole text is its diagnostic if its
    paragraph says nothing (unless `whole_text` is off: a DSN's Status says enough without the
    bounce's boilerplate).
    """
    paragraphs = [p.strip() for p in _BLANK_LINES.split(text.replace("\r\n", "\n"))]
    generated, transcript = _exim_generated_text(paragraphs) if _EXIM_MARK in text else ({}, set())
    found: dict[str, str] = {}
    settled: set[str] = set()  # addresses whose diagnostic carries a code
    for i, paragraph in enumerate(paragraphs):
        if i in transcript:  # a program's output names addresses that did not fail
            continue
        keys = [
            key
            for key in dict.fromkeys(a.lower().strip(".") for a in ADDRESS.findall(paragraph))
            if key not in exclude and not _SYSTEM_LOCAL_PART.match(key.rpartition("@")[0])
        ]
        for key in keys:
            if key in settled or (key in found and len(keys) > 1):
                continue
            said = paragraph
            if len(_words(ADDRESS.sub("", said))) < 20 and i + 1 < len(paragraphs):
                said = f"{said} {paragraphs[i + 1]}"
            if key not in found:
                found[key] = said
            elif _has_code(found[key]):  # asked only when an address is named again
                settled.add(key)
            elif _has_code(said):
                found[key] = said
                settled.add(key)
    if whole_text and len(found) == 1:
        [(key, said)] = found.items()
        if len(_words(ADDRESS.sub("", said))) < 20:
            found[key] = text
    for key in found:
        if generated.get(key):
            found[key] = generated[key]
    return [(address, diagnostic(said)) for address, said in found.items()]


def _exim_generated_text(paragraphs: list[str]) -> tuple[dict[str, str], set[int]]:
    """Exim's text generated during the delivery attempt (a pipe's or local agent's output),
    by the address its "------ address ------" heading names, and the positions of the
    paragraphs of that text."""
    start = next((i for i, p in enumerate(paragraphs) if _EXIM_GENERATED.search(p)), None)
    if start is None:
        return {}, set()
    generated: dict[str, str] = {}
    transcript: set[int] = set()
    heading: list[str] = []
    said: list[str] = []
    for i in range(start + 1, len(paragraphs) + 1):
        paragraph = paragraphs[i] if i < len(paragraphs) else None
        if paragraph is None or (paragraph.startswith("------") and paragraph.endswith("------")):
            for key in heading:
                generated.setdefault(key, " ".join(said))
            if paragraph is not None:
                heading = [a.lower().strip(".") for a in ADDRESS.findall(paragraph)]
                said = []
        elif heading:
            said.append(paragraph)
            transcript.add(i)
    return generated, transcript


def _has_code(text: str) -> bool:
    return bool(STATUS.search(text) or reply_code(text))


def reply_code(text: str) -> str | None:
    """The first reply code in the text (SMTP_REPLY's group), searched from just before the
    first three digits that could be one: the same answer, without trying the pattern's
    alternatives at every position of a long text."""
    first = _REPLY_DIGITS.search(text)
    if first is None:
        return None
    start = first.start()  # back over the whitespace and hyphens the pattern may take before it
    while start and (text[start - 1].isspace() or text[start - 1] == "-"):
        start -= 1
    found = SMTP_REPLY.search(text, max(0, start - 6))
    return found.group(1) if found else None


def diagnostic(text: str) -> str:
    return _SPACES.sub(" ", text).strip()[:LONGEST_DIAGNOSTIC]


def _words(text: str) -> str:
    return re.sub(r"[^A-Za-z]", "", text)
