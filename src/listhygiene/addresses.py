"""Email addresses normalized in bulk into the matching key, validated, and masked for logs."""

from __future__ import annotations

from collections.abc import Callable

import idna
import polars as pl

# Trimmed from both ends of an address: Unicode White_Space (tabs, NBSP, ideographic space, ...)
# plus invisible format characters that spreadsheets and copy-paste leave behind.
_WHITE_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
)
_INVISIBLE = "\u180e\u200b\u200c\u200d\u2060\ufeff"
_BLANKS = _WHITE_SPACE + _INVISIBLE


def _char_class(chars: str) -> str:
    """A regex character class matching exactly `chars` (Rust regex syntax)."""
    return "[" + "".join(f"\\x{{{ord(c):X}}}" for c in chars) + "]"


# Raw text that needs more than "trim and lower-case": non-ASCII, angle brackets, a mailto: URI.
_NEEDS_UNWRAPPING = r"(?i)[^\x00-\x7F]|<|mailto:"
# `Display Name <addr>`: the address is inside the last complete <...>.
_ANGLE_BRACKETED = r"<[^<>]*>"
# `mailto:addr?subject=...`: drop the scheme (repeated, any case) and the query.
_MAILTO_URI = rf"(?is)^(?:mailto:{_char_class(_BLANKS)}*)+([^?]*).*$"
# Text made only of these characters is NFC before and after lower-casing (no combining marks, no
# singleton decompositions, lower-case forms stay in the set; the tests check this): Basic Latin,
# Latin-1, Latin Extended-A/B and IPA without U+0130 (İ), U+023A and U+023E (whose lower-case forms
# lie outside), Cyrillic letters, kana, CJK ideographs, Hangul syllables.
_NFC_STABLE = (
    r"\x{0}-\x{12F}\x{131}-\x{239}\x{23B}-\x{23D}\x{23F}-\x{2AF}"
    r"\x{400}-\x{482}\x{48A}-\x{52F}"
    r"\x{3041}-\x{3096}\x{30A1}-\x{30FA}\x{4E00}-\x{9FFF}\x{AC00}-\x{D7A3}"
)
_MAY_NEED_NFC = rf"[^{_NFC_STABLE}]"
# An address splits at its last '@'; the domain is what follows it.
_AT_DOMAIN = r"@[^@]*$"
_NON_ASCII_DOMAIN = r"@[^@]*[^\x00-\x7F][^@]*$"
_DOMAIN_WITH_TRAILER = rf"@[^@]*{_char_class(_BLANKS + '.')}$"  # `jane@example.com.`

# Shape of a valid normalized address (lower-cased, domain in ASCII).
# Local part: RFC 5322 dot-atom text, plus non-ASCII letters, marks and digits (RFC 6531).
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~\-\p{L}\p{M}\p{N}]+"
_DOT_ATOM = rf"{_ATOM}(?:\.{_ATOM})*"
# Domain: two or more LDH labels; the top-level label is alphabetic or an A-label (xn--...).
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_TOP_LABEL = r"(?:[a-z]{2,63}|xn--[a-z0-9-]{0,58}[a-z0-9])"
_VALID_SHAPE = rf"^{_DOT_ATOM}@(?:{_LABEL}\.)+{_TOP_LABEL}$"
_MAX_LOCAL_OCTETS = 64
_MAX_ADDRESS_OCTETS = 254  # also keeps the domain within its 253


def normalize_addresses(raw: pl.Series) -> pl.DataFrame:
    """Normalize a column of raw addresses.

    Same length and order as `raw`; columns `email` (String: normalized form, null only where raw
    is null) and `email_valid` (Boolean: false where the normalized form is not a
    deliverable-looking address; null where raw is null).

    Steps: trim; keep what is inside `<...>`; drop `mailto:` and its `?query`; NFC; lower-case;
    drop the domain's trailing dot; IDNA-encode a non-ASCII domain.
    """
    text = _without_trailing_dots(_canonical_text(raw.cast(pl.String)))
    email = _by_pattern(text, _NON_ASCII_DOMAIN, _with_ascii_domain)
    return pl.DataFrame({"email": email}).with_columns(email_valid=_looks_deliverable(pl.col("email")))


def normalize_address(raw: str) -> tuple[str, bool]:
    """Normalize one address exactly as `normalize_addresses` does (for `explain EMAIL`)."""
    email, email_valid = normalize_addresses(pl.Series([raw], dtype=pl.String)).row(0)
    return email, email_valid


def _canonical_text(raw: pl.Series) -> pl.Series:
    """Trimmed, unwrapped, NFC, lower-cased text of each address."""
    return _by_pattern(raw, _NEEDS_UNWRAPPING, _unwrapped_canonical, otherwise=_trimmed_lowercase)


def _trimmed_lowercase(text: pl.Series) -> pl.Series:
    """All that plain ASCII needs: trim (its blanks are all Unicode White_Space) and lower-case."""
    return text.str.strip_chars().str.to_lowercase()


def _unwrapped_canonical(raw: pl.Series) -> pl.Series:
    """Trim, unwrap `Name <addr>` and `mailto:`, then NFC and lower-case."""
    unwrapped = _without_mailto(_inside_angle_brackets(raw.str.strip_chars(_BLANKS)))
    return _by_pattern(unwrapped, _MAY_NEED_NFC, _nfc_lowercase, otherwise=_lowercase)


def _inside_angle_brackets(text: pl.Series) -> pl.Series:
    """What is inside the last `<...>` (as in `"Doe, Jane" <jane@example.com>`), trimmed."""
    last_bracketed = text.str.extract_all(_ANGLE_BRACKETED).list.last()
    inside = last_bracketed.str.strip_prefix("<").str.strip_suffix(">")
    return inside.fill_null(text).str.strip_chars(_BLANKS)


def _without_mailto(text: pl.Series) -> pl.Series:
    """Drop a leading `mailto:` (repeated, any case) and the URI's `?query`, trimmed."""
    return text.str.replace(_MAILTO_URI, "$1").str.strip_chars(_BLANKS)


def _nfc_lowercase(text: pl.Series) -> pl.Series:
    """NFC, lower-cased, NFC again (lower-casing can leave marks uncomposed or out of order)."""
    return text.str.normalize("NFC").str.to_lowercase().str.normalize("NFC")


def _lowercase(text: pl.Series) -> pl.Series:
    """Lower-cased text."""
    return text.str.to_lowercase()


def _without_trailing_dots(text: pl.Series) -> pl.Series:
    """Drop trailing dots (and blanks they hid) after the last '@': `jane@example.com.`."""
    return _by_pattern(text, _DOMAIN_WITH_TRAILER, _stripped_end)


def _stripped_end(addresses: pl.Series) -> pl.Series:
    """Trailing dots and blanks dropped (never past an address's '@')."""
    return addresses.str.strip_chars_end(_BLANKS + ".")


def _with_ascii_domain(addresses: pl.Series) -> pl.Series:
    """Addresses with their (non-ASCII) domain IDNA-encoded, once per distinct domain."""
    at_domain = pl.col("address").str.extract(_AT_DOMAIN, 0)
    parts = addresses.to_frame("address").select(
        local=pl.col("address").str.strip_suffix(at_domain),
        domain=at_domain.str.slice(1),
    )
    distinct = parts.get_column("domain").unique()
    encoded = pl.Series([_idna_ascii(domain) for domain in distinct.to_list()], dtype=pl.String)
    ascii_domain = pl.col("domain").replace(distinct, encoded)
    return parts.select(pl.concat_str("local", pl.lit("@"), ascii_domain)).to_series()


def _idna_ascii(domain: str) -> str:
    """IDNA 2008 / UTS 46 ASCII form of `domain`, or `domain` unchanged if it cannot be encoded."""
    try:
        return idna.encode(domain, uts46=True).decode("ascii").rstrip(".")
    except idna.IDNAError:
        return domain


def _looks_deliverable(email: pl.Expr) -> pl.Expr:
    """True where a normalized address has the valid shape and is within the length limits."""
    local_octets = email.str.find("@", literal=True)  # a byte offset; one '@' in a valid shape
    return (
        email.str.contains(_VALID_SHAPE)
        & (email.str.len_bytes() <= _MAX_ADDRESS_OCTETS)
        & (local_octets <= _MAX_LOCAL_OCTETS)
    )


def _by_pattern(
    source: pl.Series,
    pattern: str,
    transform: Callable[[pl.Series], pl.Series],
    *,
    otherwise: Callable[[pl.Series], pl.Series] | None = None,
) -> pl.Series:
    """`transform` of the rows of `source` that match `pattern`, `otherwise` of the other rows.

    Each function sees only its own rows, so a costly one runs only where it is needed. Without
    `otherwise` the other rows stay as they are; null rows always stay null.
    """
    matches = source.str.contains(pattern)
    result = source.clone()
    result.scatter(matches.arg_true(), transform(source.filter(matches)))
    if otherwise is not None:
        result.scatter((~matches).arg_true(), otherwise(source.filter(~matches)))
    return result
