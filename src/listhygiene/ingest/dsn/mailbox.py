"""A bounce mailbox's files as messages: one `.eml` or Maildir file is one message, an mbox holds many."""

from __future__ import annotations

import re
from pathlib import Path

# An mbox message starts with a "From " line at the start of the file or after a blank line
# (mboxo/mboxrd writers escape "From " inside bodies as ">From ", and put a blank line first).
_MBOX_SEPARATOR = re.compile(rb"(?:\A|\n\r?\n)From [^\n]*\n")
_ESCAPED_FROM = re.compile(rb"(?m)^>(>*From )")


def is_maildir_tmp(path: Path) -> bool:
    """A file in a Maildir's tmp/ is still being delivered: it is not a message yet."""
    folder = path.parent
    return folder.name == "tmp" and (folder.parent / "cur").is_dir() and (folder.parent / "new").is_dir()


def split_messages(data: bytes) -> list[bytes]:
    """The messages of a file: an mbox (it starts with a "From " line) split at its separators,
    with ">From " unescaped; anything else is one message."""
    if not data.startswith(b"From "):
        return [data]
    separators = list(_MBOX_SEPARATOR.finditer(data))
    starts = [m.end() for m in separators]
    ends = [*(m.start() for m in separators[1:]), len(data)]
    return [_ESCAPED_FROM.sub(rb"\1", data[start:end]) for start, end in zip(starts, ends, strict=True)]
