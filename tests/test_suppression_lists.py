"""The suppressions input kind and the reason external_suppression (SPEC §3, §4): a do-not-mail
list kept elsewhere suppresses the addresses its newest snapshot holds, in clear or hashed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest

from listhygiene.errors import InputError
from listhygiene.ingest.reading import read_input

from scenario import Scenario

A = "a@example.com"
B = "b@example.com"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def member(list_id="news", email=A, contact_id="C1", **extra) -> dict:
    return {"contact_id": contact_id, "email": email, "list_id": list_id, **extra}


def members() -> Scenario:
    """A on news and deals, B on news and deals."""
    return Scenario().export(
        "2026-11-01",
        member("news"),
        member("deals"),
        member("news", email=B, contact_id="C2"),
        member("deals", email=B, contact_id="C2"),
    )


# --- cause and scope ----------------------------------------------------------------------


def test_a_clear_row_suppresses_every_list_and_a_hashed_row_with_a_list_only_that_list():
    s = members().suppression_list(
        "2026-11-02",
        {"email": " A@Example.COM ", "reason": "partner opt-out"},
        {"email_sha256": sha(B), "list_id": "news"},
    )
    result = s.evaluate("2026-11-03")
    assert result.reasons(A, "news") == ["external_suppression"]
    assert result.reasons(A, "deals") == ["external_suppression"]
    assert result.reasons(B, "news") == ["external_suppression"]
    assert result.sendable(B, "deals")
    assert result.suppressions() == {
        (A, "global", "external_suppression"),
        (B, "news", "external_suppression"),
    }
    details = dict(result.table("suppressions").select("email", "detail").iter_rows())
    assert details[A] == (
        'on suppression list "acme" (reason "partner opt-out") since 2026-11-02T00:00Z '
        "(acme:suppressions_2.csv row 1)"
    )
    assert details[B] == (
        'on suppression list "acme" for news (matched by SHA-256) since 2026-11-02T00:00Z '
        "(acme:suppressions_2.csv row 2)"
    )


def test_transactional_mail_is_not_stopped_by_a_suppression_list():
    s = members().suppression_list("2026-11-02", {"email": A})
    status = s.evaluate("2026-11-03").status(A, "news")
    assert (status["sendable"], status["transactional_ok"]) == (False, True)


def test_a_hash_matches_the_normalized_address_only():
    # the list hashed "A@Example.com" as written: not the normalized address, so no match
    s = Scenario().export("2026-11-01", member(email="A@Example.com"))
    s.suppression_list("2026-11-02", {"email_sha256": sha("A@Example.com")})
    assert s.evaluate("2026-11-03").sendable(A, "news")
    s.suppression_list("2026-11-04", {"email_sha256": sha(A)})
    assert s.evaluate("2026-11-05").reasons(A, "news") == ["external_suppression"]


def test_a_clear_address_nobody_knows_is_kept_and_a_hash_nobody_knows_is_shown_nowhere():
    s = members().suppression_list(
        "2026-11-02", {"email": "stranger@example.com"}, {"email_sha256": sha("ghost@example.com")}
    )
    result = s.evaluate("2026-11-03")
    assert result.suppressions() == {("stranger@example.com", "global", "external_suppression")}
    assert result.table("contact_status").filter(pl.col("email") == "ghost@example.com").is_empty()


def test_a_hash_names_an_address_known_from_the_logs_only():
    s = members().unsubscribes({"email": "logs@example.com", "occurred_at": "2026-11-01", "list_id": "news"})
    s.suppression_list("2026-11-02", {"email_sha256": sha("logs@example.com")})
    assert ("logs@example.com", "global", "external_suppression") in s.evaluate("2026-11-03").suppressions()


# --- lift: leaving the list ---------------------------------------------------------------


def test_leaving_the_list_in_a_newer_snapshot_lifts_it_and_returning_starts_anew():
    s = members().suppression_list("2026-11-02", {"email": A}, {"email_sha256": sha(B)})
    s.suppression_list("2026-11-04", {"email_sha256": sha(B)})
    result = s.evaluate("2026-11-05")
    assert result.sendable(A, "news")
    assert result.reasons(B, "news") == ["external_suppression"]
    # listed since the first snapshot of its unbroken run
    assert result.status(B, "news")["reason_at"].isoformat() == "2026-11-02T00:00:00+00:00"
    # the as-of is a wall: before the newer snapshot, the older list is in force
    assert s.evaluate("2026-11-03").reasons(A, "news") == ["external_suppression"]
    s.suppression_list("2026-11-06", {"email": A}, {"email_sha256": sha(B)})
    status = s.evaluate("2026-11-07").status(A, "news")
    assert status["reasons"] == ["external_suppression"]
    assert status["reason_at"].isoformat() == "2026-11-06T00:00:00+00:00"


def test_an_empty_snapshot_lifts_the_whole_list_and_each_source_is_its_own_list():
    s = members().suppression_list("2026-11-02", {"email": A}, {"email": B})
    s.suppression_list("2026-11-02", {"email": B}, source="other")
    s.suppression_list("2026-11-04")
    result = s.evaluate("2026-11-05")
    assert result.sendable(A, "news")
    assert result.reasons(B, "news") == ["external_suppression"]
    assert "other" in result.status(B, "news")["detail"]


def test_since_is_the_rows_own_date_when_the_list_gives_one():
    s = members().suppression_list("2026-11-02", {"email": A, "occurred_at": "2026-10-15T08:30"})
    assert s.evaluate("2026-11-03").status(A, "news")["reason_at"].isoformat() == "2026-10-15T08:30:00+00:00"


def test_an_unsubscribe_does_not_lift_it():
    s = members().suppression_list("2026-11-02", {"email": A})
    s.unsubscribes(
        {"email": A, "occurred_at": "2026-11-03", "event": "resubscribe", "evidence": "confirmed_optin"}
    )
    assert s.evaluate("2026-11-04").reasons(A, "news") == ["external_suppression"]


# --- precedence ---------------------------------------------------------------------------


def test_it_ranks_below_hard_bounce_and_above_unsubscribed():
    s = members().suppression_list("2026-11-02", {"email": A}, {"email": B})
    s.unsubscribes({"email": A, "occurred_at": "2026-11-02"})
    s.bounces(
        {
            "email": B,
            "occurred_at": "2026-11-02",
            "campaign_id": "C-1",
            "smtp_code": 550,
            "enhanced_code": "5.1.1",
        }
    )
    result = s.evaluate("2026-11-03")
    assert result.reasons(A, "news") == ["external_suppression", "unsubscribed"]
    assert result.reasons(B, "news") == ["hard_bounce", "external_suppression"]
    assert result.status(B, "news")["transactional_ok"] is False  # the hard bounce's doing


# --- reading ------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_malformed_hash_is_quarantined_with_its_reason_and_row(tmp_path):
    path = write(
        tmp_path,
        "dnm_2026-11-21.csv",
        "email_sha256,list_id\n " + sha(A).upper() + " ,\nnot-a-hash,news\n" + sha(B)[:63] + "g,\n,news\n",
    )
    result = read_input(path, source="acme", kind="suppressions")
    assert result.rows["email_sha256"].to_list() == [sha(A)]  # trimmed and lower-cased
    quarantine = result.quarantine.select("row_number", "column", "error").rows()
    assert quarantine == [
        (
            2,
            "email_sha256",
            "email_sha256 'not-a-hash' is not a SHA-256 in hex (expected 64 characters 0-9, a-f)",
        ),
        (
            3,
            "email_sha256",
            f"email_sha256 '{sha(B)[:63]}g' is not a SHA-256 in hex (expected 64 characters 0-9, a-f)",
        ),
        (4, "email", "the row holds no address: email and email_sha256 are both empty"),
    ]
    assert result.snapshot_at.isoformat() == "2026-11-21T00:00:00+00:00"


def test_a_row_naming_its_address_both_ways_is_quarantined(tmp_path):
    path = write(tmp_path, "dnm.csv", f"email,email_sha256\n{A},{sha(A)}\n{B},\n")
    result = read_input(path, source="acme", kind="suppressions")
    assert result.rows["email_raw"].to_list() == [B]
    assert result.quarantine.select("row_number", "column").rows() == [(1, "email")]


def test_a_file_with_neither_address_column_fails_naming_file_and_columns(tmp_path):
    path = write(tmp_path, "dnm.csv", "address,list_id\na@example.com,\n")
    with pytest.raises(InputError) as failure:
        read_input(path, source="acme", kind="suppressions")
    message = str(failure.value)
    assert "dnm.csv" in message
    assert "'email' or 'email_sha256'" in message
    assert "'address'" in message


def test_a_quarantined_row_naming_its_address_is_not_an_absence():
    s = members().suppression_list("2026-11-02", {"email": A})
    s.suppression_list("2026-11-04")
    s.con.execute(
        "insert into quarantine (file_id, row_number, column_name, error, raw, email) "
        "select max(file_id), 1, 'occurred_at', 'occurred_at ''soon'' is not an ISO 8601 timestamp', "
        "'{}', ? from input_files where kind = 'suppressions'",
        [A],
    )
    status = s.evaluate("2026-11-05").status(A, "news")
    assert status["reasons"] == ["external_suppression"]
    assert status["reason_at"].isoformat() == "2026-11-02T00:00:00+00:00"
