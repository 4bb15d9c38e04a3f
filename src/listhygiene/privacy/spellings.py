"""How an address to forget was spelled, and the patterns that find those spellings in text and bytes."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Characters that may stand beside an address inside a longer one: a spelling found next to
# one of them is part of another address (ana@x.com in diana@x.com), not the one forgotten.
_LOCAL_CHARS = "a-z0-9.!#$%&'*+/=?^_`{|}~-"
_DOMAIN_CHARS = "a-z0-9-"

REDACTED = "[forgotten]"


def address_part(spelling: str) -> str:
    """The address inside a raw spelling: 'Tom <TOM@X.com.>' -> 'TOM@X.com'."""
    text = spelling.strip()
    if "<" in text and ">" in text[text.rfind("<") :]:
        text = text[text.rfind("<") + 1 : text.rfind(">")]
    text = text.strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :]
    text = text.split("?", 1)[0].strip().rstrip(".")
    return text


def spellings_of(normalized: list[str], raw: list[str]) -> list[str]:
    """Every distinct address spelling to erase, longest first (a regex alternation then
    prefers the longest): the normalized addresses and the address part of each raw value."""
    parts = {address_part(r) for r in raw if r and "@" in r}
    found = {s for s in normalized if s} | parts | {p.lower() for p in parts}
    return sorted((s for s in found if "@" in s), key=lambda s: (-len(s), s))


def sql_pattern(spellings: list[str]) -> str:
    """An RE2 pattern (DuckDB) for any spelling, case-insensitive, with the characters around it
    in groups 1 and 3 so that a replacement keeps them: '\\1[forgotten]\\3'."""
    alternation = "|".join(re.escape(s) for s in spellings)
    return f"(?i)(^|[^{_LOCAL_CHARS}])({alternation})($|[^{_DOMAIN_CHARS}.]|\\.$|\\.[^{_DOMAIN_CHARS}])"


@dataclass(frozen=True)
class BytesSpellings:
    """The spellings as UTF-8 (for a fast search) and the pattern that checks a find's edges."""

    needles: tuple[bytes, ...]
    pattern: re.Pattern[bytes]

    def search(self, data: bytes) -> re.Match[bytes] | None:
        return self.pattern.search(data)

    def sub(self, replacement: bytes, data: bytes) -> bytes:
        return self.pattern.sub(replacement, data)


def bytes_pattern(spellings: list[str]) -> BytesSpellings:
    """The same, for a byte scan (Python re, UTF-8), with lookarounds instead of groups."""
    encoded = tuple(s.encode("utf-8") for s in spellings)
    alternation = b"|".join(re.escape(s) for s in encoded)
    pattern = re.compile(
        b"(?<!["
        + _LOCAL_CHARS.encode()
        + b"])(?:"
        + alternation
        + b")(?!["
        + _DOMAIN_CHARS.encode()
        + b"]|\\.["
        + _DOMAIN_CHARS.encode()
        + b"])",
        re.IGNORECASE,
    )
    return BytesSpellings(encoded, pattern)
