"""Tests of address normalization (the matching key), validity and masking."""

from __future__ import annotations

import re
import unicodedata

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from listhygiene import addresses as normalize
from listhygiene.addresses import normalize_address, normalize_addresses
from listhygiene.masking import mask_email, mask_email_expr

# raw as exported -> (normalized email, valid)
REALISTIC = [
    ("  Jane.Doe@Example.COM ", "jane.doe@example.com", True),
    ('"Doe, Jane" <Jane@Example.com>', "jane@example.com", True),
    ("Jane <jane@example.com>", "jane@example.com", True),
    ("<jane@example.com>", "jane@example.com", True),
    ("mailto:Jane@Example.com", "jane@example.com", True),
    ("MAILTO:jane@example.com?subject=hi", "jane@example.com", True),
    ("jane@example.com.", "jane@example.com", True),
    ("jane@Bücher.example", "jane@xn--bcher-kva.example", True),
    ("\u00a0jane@example.com\u00a0", "jane@example.com", True),
    ("\tjane@example.com\u200b\ufeff ", "jane@example.com", True),
    ("\u3000Jane <jane@example.com> \r\n", "jane@example.com", True),
    ('"a <b> c" <jane@example.com>', "jane@example.com", True),
    ("Jane <mailto:jane@example.com>", "jane@example.com", True),
    ("mailto: mailto:jane@example.com", "jane@example.com", True),
    ("jane+news@example.co.uk", "jane+news@example.co.uk", True),
    ("o'neil@example.com", "o'neil@example.com", True),
    ("José@Example.com", "josé@example.com", True),
    ("ΑΣ@example.gr", "ας@example.gr", True),
    ("jane@例え.テスト", "jane@xn--r8jz45g.xn--zckzah", True),
    ("jane@xn--bcher-kva.example", "jane@xn--bcher-kva.example", True),
    ("jane@example.xn--p1ai", "jane@example.xn--p1ai", True),
    ("jane@Straße.de", "jane@xn--strae-oqa.de", True),
    ("jane@example.com?x", "jane@example.com?x", False),  # '?' only ends a mailto: URI
]

INVALID = [
    "no-at-sign",
    "a@b",
    "a@@b.com",
    ".a@b.com",
    "a.@b.com",
    "a..b@c.com",
    "john doe@x.com",
    "a@-x.com",
    "a@x-.com",
    "a@x.c0m",
    "a@x.123",
    "a@x..com",
    "a@.x.com",
    "a@x_y.com",
    "a@x.c",
    "@example.com",
    "jane@",
    "jane <jane@example.com",  # no complete <...>: kept as it is
    "",
    "   ",
    "\u00a0\u200b",
]


def normalized(values: list[str | None]) -> list[tuple[str | None, bool | None]]:
    """normalize_addresses of `values`, as (email, email_valid) rows."""
    return normalize_addresses(pl.Series(values, dtype=pl.String)).rows()


@pytest.mark.parametrize(("raw", "email", "valid"), REALISTIC)
def test_realistic_inputs(raw: str, email: str, valid: bool) -> None:
    assert normalized([raw]) == [(email, valid)]


@pytest.mark.parametrize("raw", INVALID)
def test_invalid_addresses_are_kept_and_flagged(raw: str) -> None:
    email, valid = normalize_address(raw)
    assert valid is False
    assert email == normalize_address(email)[0]


def test_blank_text_gives_empty_email() -> None:
    assert normalized(["", " \t", "\u00a0\u200b\u3000"]) == [("", False)] * 3


def test_composed_and_decomposed_local_parts_match() -> None:
    composed, decomposed = "jos\u00e9@example.com", "jose\u0301@example.com"
    assert normalized([composed, decomposed]) == [("jos\u00e9@example.com", True)] * 2


def test_lower_casing_keeps_nfc() -> None:
    # 'H' + combining line below has no precomposed form; 'h' + it is U+1E96.
    assert normalize_address("H\u0331ans@example.com") == ("\u1e96ans@example.com", True)


def test_full_width_domain_follows_uts46() -> None:
    email, valid = normalize_address("JANE@ＥＸＡＭＰＬＥ.com")
    assert (email, valid) == ("jane@example.com", True)
    assert normalize_address(email) == (email, valid)


def test_ideographic_full_stop_at_end_of_idn_domain_is_dropped() -> None:
    assert normalize_address("jane@bücher.example。") == ("jane@xn--bcher-kva.example", True)


def test_unencodable_domain_is_kept_lower_cased_and_invalid() -> None:
    assert normalize_address("jane@Ü-.example") == ("jane@ü-.example", False)


@pytest.mark.parametrize(
    ("raw", "valid"),
    [
        ("a" * 64 + "@example.com", True),
        ("a" * 65 + "@example.com", False),
        ("é" * 32 + "@example.com", True),  # 64 octets
        ("é" * 32 + "a@example.com", False),  # 65 octets
        ("a@" + "b" * 63 + ".com", True),
        ("a@" + "b" * 64 + ".com", False),
        ("a" * 64 + "@" + "b" * 63 + "." + "b" * 63 + "." + "c" * 61, True),  # 254 octets
        ("a" * 64 + "@" + "b" * 63 + "." + "b" * 63 + "." + "c" * 62, False),  # 255 octets
        ("a@b-c.example.com", True),
        ("a!#$%&'*+/=?^_`{|}~-@example.com", True),
        ("ж.中文@example.com", True),
        ("a(b)@example.com", False),
        ('"a"@example.com', False),
        ("a@[192.0.2.1]", False),
        ("a@192.0.2.1", False),
    ],
)
def test_validity_limits(raw: str, valid: bool) -> None:
    assert normalize_address(raw)[1] is valid


def test_nulls_order_and_length_are_kept() -> None:
    raw = [None, "B@X.com", "Jane <J@Ü.de>", None, "bad", ""]
    frame = normalize_addresses(pl.Series(raw, dtype=pl.String))
    assert frame.schema == pl.Schema({"email": pl.String, "email_valid": pl.Boolean})
    assert frame.rows() == [
        (None, None),
        ("b@x.com", True),
        ("j@xn--tda.de", True),
        (None, None),
        ("bad", False),
        ("", False),
    ]


def test_empty_and_all_null_columns() -> None:
    assert normalize_addresses(pl.Series([], dtype=pl.String)).shape == (0, 2)
    assert normalize_addresses(pl.Series([None, None])).rows() == [(None, None)] * 2


def test_each_distinct_idn_domain_is_encoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    encode = normalize._idna_ascii
    monkeypatch.setattr(normalize, "_idna_ascii", lambda d: calls.append(d) or encode(d))
    normalized(["a@Bücher.example", "b@bücher.example", "c@münchen.de", "d@plain.com"] * 50)
    assert sorted(calls) == ["bücher.example", "münchen.de"]


@pytest.mark.parametrize("raw", [raw for raw, _, _ in REALISTIC] + INVALID)
def test_single_address_agrees_with_bulk(raw: str) -> None:
    table = [raw for raw, _, _ in REALISTIC] + INVALID
    assert normalize_address(raw) == normalized(table)[table.index(raw)]


def test_nfc_stable_characters_need_no_normalization() -> None:
    """The rows that skip NFC are NFC before and after lower-casing, whatever their order."""
    every_character = pl.Series([chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF])
    may_need_nfc = every_character.str.contains(normalize._MAY_NEED_NFC)
    stable = every_character.filter(~may_need_nfc).to_list()
    second_of_a_pair = {
        chr(int(decomposition.split()[1], 16))
        for decomposition in map(unicodedata.decomposition, map(chr, range(0x110000)))
        if decomposition and not decomposition.startswith("<") and len(decomposition.split()) == 2
    } | {chr(code) for code in [*range(0x1161, 0x1176), *range(0x11A8, 0x11C3)]}  # Hangul V, T
    column = pl.Series(stable, dtype=pl.String)
    assert column.str.normalize("NFC").to_list() == stable
    assert not [c for c in stable if unicodedata.combining(c) or c in second_of_a_pair]
    stable_set = set(stable)
    assert not [c for c in column.str.to_lowercase().to_list() if not set(c) <= stable_set]


# --- properties -------------------------------------------------------------------------------

UTF8_CHARACTER = st.characters(codec="utf-8")  # what a polars String can hold: no lone surrogates
BLANK = st.sampled_from([" ", "\t", "\n", "\u00a0", "\u200b", "\ufeff", "\u3000", "\u2003"])
LOCAL_PIECE = st.sampled_from(
    [
        *list("abcxyzABCXYZ0129._+-'!#$%&*/=?^`{|}~\"(),:;<>@ "),
        "é",
        "é",
        "ü",
        "ß",
        "İ",
        "Σ",
        "ж",
        "中",
        "ｊ",
        "̇",
        "̱",
        "K",
    ]
)
LABEL_CHAR = st.sampled_from([*"abcXYZ019-_", "ü", "ß", "Ｅ", "É", "中", "ｘ", "\u0301"])
LABEL = st.text(LABEL_CHAR, min_size=1, max_size=10)
DOMAIN = st.builds(
    lambda labels, end: ".".join(labels) + end,
    st.lists(LABEL, min_size=1, max_size=4),
    st.sampled_from(["", "", ".", "。", ". ", ".."]),
)
LOCAL = st.lists(LOCAL_PIECE, max_size=12).map("".join)
ADDRESS = st.builds(lambda local, domain: f"{local}@{domain}", LOCAL, DOMAIN)
NAME = st.text(UTF8_CHARACTER, max_size=8)
MAILTO = st.sampled_from(["mailto:", "MAILTO:", "Mailto: ", "mailto:mailto:"])
WRAPPED = st.one_of(
    ADDRESS,
    st.builds(lambda name, a: f'"{name}" <{a}>', NAME, ADDRESS),
    st.builds(lambda name, a: f"{name} <{a}>", NAME, ADDRESS),
    st.builds(lambda m, a, q: f"{m}{a}{q}", MAILTO, ADDRESS, st.sampled_from(["", "?cc=x", "?"])),
    st.builds(lambda m, a: f"<{m}{a}>", MAILTO, ADDRESS),
)
PLAUSIBLE = st.builds(
    lambda before, text, after: before + text + after,
    st.text(BLANK, max_size=2),
    WRAPPED,
    st.text(BLANK, max_size=2),
)
STRUCTURED_TEXT = st.text(
    st.one_of(
        st.sampled_from([*list('<>@.:?" \tmailtoMAILTO'), "\xa0", "\u200b", "́", "İ", "。"]),
        UTF8_CHARACTER,
    )
)
ANY_TEXT = st.one_of(st.text(UTF8_CHARACTER), STRUCTURED_TEXT)


def assert_idempotent(raw: list[str | None]) -> None:
    """Normalizing the normalized column changes neither `email` nor `email_valid`."""
    once = normalize_addresses(pl.Series(raw, dtype=pl.String))
    twice = normalize_addresses(once.get_column("email"))
    assert twice.get_column("email").to_list() == once.get_column("email").to_list()
    assert twice.get_column("email_valid").to_list() == once.get_column("email_valid").to_list()
    assert [email is None for email in once.get_column("email")] == [r is None for r in raw]


@settings(max_examples=300)
@given(st.lists(st.one_of(ANY_TEXT, st.none()), max_size=20))
def test_normalizing_arbitrary_text_is_idempotent(raw: list[str | None]) -> None:
    assert_idempotent(raw)


@settings(max_examples=300)
@given(st.lists(PLAUSIBLE, min_size=1, max_size=20))
def test_normalizing_plausible_addresses_is_idempotent(raw: list[str]) -> None:
    assert_idempotent(raw)


@given(st.lists(st.one_of(PLAUSIBLE, ANY_TEXT), min_size=1, max_size=8))
def test_each_row_is_normalized_on_its_own(raw: list[str]) -> None:
    assert [normalize_address(r) for r in raw] == normalized(raw)


# --- masking ----------------------------------------------------------------------------------

MASKED = [
    ("jane.doe@example.com", "j***@example.com"),
    ("j@example.com", "j***@example.com"),
    ("@example.com", "***@example.com"),
    ("a@b@example.com", "a***@example.com"),
    ("José@xn--bcher-kva.example", "J***@xn--bcher-kva.example"),
    ("no-at-sign", "n***"),
    ("x", "x***"),
    ("", "<empty>"),
    (None, "<empty>"),
]


@pytest.mark.parametrize(("address", "masked"), MASKED)
def test_mask_email(address: str | None, masked: str) -> None:
    assert mask_email(address) == masked


def test_mask_email_expr_masks_a_column() -> None:
    column = pl.Series([address for address, _ in MASKED], dtype=pl.String)
    masked = pl.select(mask_email_expr(pl.lit(column))).to_series()
    assert masked.to_list() == [expected for _, expected in MASKED]


@given(st.lists(st.one_of(ANY_TEXT, PLAUSIBLE, st.none()), max_size=10))
def test_mask_email_expr_agrees_with_mask_email(addresses: list[str | None]) -> None:
    frame = pl.DataFrame({"email": addresses}, schema={"email": pl.String})
    masked = frame.select(mask_email_expr(pl.col("email"))).to_series().to_list()
    assert masked == [mask_email(address) for address in addresses]


@given(
    st.text(UTF8_CHARACTER, min_size=2).filter(lambda s: "@" not in s),
    st.sampled_from(["a.com", "x.org"]),
)
def test_masking_hides_the_local_part(local: str, domain: str) -> None:
    """Only its first character shows (unless the domain itself holds it, or it is `j***`)."""
    assume(local not in domain and not re.fullmatch(r".\*+", local, flags=re.S))
    address = f"{local}@{domain}"
    assert local not in mask_email(address)
    assert local not in pl.select(mask_email_expr(pl.lit(address))).item()
