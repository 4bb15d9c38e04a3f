"""A lean MIME reader for bounce messages: header blocks parsed by the email package, bodies split at their boundaries without a line-by-line parse."""

from __future__ import annotations

import base64
import binascii
import contextlib
import quopri
from dataclasses import dataclass, field
from email.message import Message
from functools import cached_property

# A report is read for its headers, field groups and short texts; a returned message's body
# (often a whole newsletter) is never parsed, only its headers.
_LONGEST_TEXT = 64 * 1024


@dataclass
class Part:
    """One MIME part: its headers (an email.message.Message holding only headers), its raw
    body, the parts inside it, and whether a multipart body ended before its closing boundary."""

    headers: Message
    body: bytes
    children: list[Part] = field(default_factory=list)
    truncated: bool = False

    @cached_property
    def content_type(self) -> str:
        return self.headers.get_content_type()

    @cached_property
    def text(self) -> str:
        """The body decoded: its transfer encoding, then its charset (bad bytes replaced)."""
        body = self.body[:_LONGEST_TEXT]
        encoding = str(self.headers.get("Content-Transfer-Encoding", "")).strip().lower()
        if encoding == "quoted-printable":
            body = quopri.decodestring(body)
        elif encoding == "base64":
            with contextlib.suppress(binascii.Error, ValueError):
                body = base64.b64decode(body, validate=False)
        charset = self.headers.get_content_charset() or "utf-8"
        try:
            return body.decode(charset, errors="replace")
        except LookupError:
            return body.decode("utf-8", errors="replace")

    def walk(self) -> list[Part]:
        """This part and every part inside it, not descending into a returned message."""
        found = [self]
        if self.content_type != "message/rfc822":
            for child in self.children:
                found.extend(child.walk())
        return found


def headers_of(text: str) -> Message:
    """A header block as an email.message.Message (the package's content-type, parameter and
    charset logic), its fields split here: the feed parser's line-by-line state machine costs
    more than the rest of a bounce's reading, and a header block needs only unfolding."""
    message = Message()
    name, value = None, ""
    for line in text.split("\n"):
        if line[:1] in (" ", "\t") and name is not None:
            value += " " + line.strip()
            continue
        if name is not None:
            message[name] = value
        key, colon, rest = line.partition(":")
        name, value = (
            (key.strip(), rest.strip()) if colon and key.strip() and " " not in key.strip() else (None, "")
        )
    if name is not None:
        message[name] = value
    return message


def fields_of(block: str) -> dict[str, str]:
    """An RFC 3464 field group ("Name: value" lines, continuation lines folded in), by lower-case
    name; the first of a repeated name wins. Far cheaper than a header parse, run per recipient."""
    fields: dict[str, str] = {}
    name = None
    for line in block.split("\n"):
        if line[:1] in (" ", "\t") and name is not None:
            fields[name] += " " + line.strip()
            continue
        key, colon, value = line.partition(":")
        name = key.strip().lower() if colon else None
        if name and name not in fields:
            fields[name] = value.strip()
        elif name:
            name = None  # a repeated field: its continuation lines are not the first one's
    return fields


def parse(data: bytes, depth: int = 0) -> Part:
    """The message (or part) in `data`, with line ends made LF."""
    data = data.replace(b"\r\n", b"\n")
    if data.startswith(b"\n"):  # a part with no headers
        head, body = b"", data[1:]
    else:
        head, _, body = data.partition(b"\n\n")
    part = Part(headers_of(head.decode("utf-8", errors="replace")), body)
    kind = part.content_type
    if kind == "message/rfc822" and depth < 3:
        part.children = [parse(body, depth + 1)]
    elif kind.startswith("multipart/") and depth < 5:
        boundary = part.headers.get_param("boundary")
        if isinstance(boundary, str) and boundary:
            part.children, part.truncated = _split(body, boundary.encode("utf-8", "replace"), depth)
    return part


def _split(body: bytes, boundary: bytes, depth: int) -> tuple[list[Part], bool]:
    """The parts between `--boundary` lines, and True when the closing `--boundary--` is missing."""
    marker = b"--" + boundary
    chunks = (b"\n" + body).split(b"\n" + marker)
    parts, closed = [], False
    for chunk in chunks[1:]:  # chunks[0] is the preamble
        if chunk.startswith(b"--"):
            closed = True
            break
        _, _, content = chunk.partition(b"\n")  # the rest of the boundary line
        parts.append(parse(content, depth + 1))
    return parts, not closed
