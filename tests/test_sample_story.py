"""End to end on data/sample: the five seed stories over two nights, through the CLI."""

from __future__ import annotations

import json

import polars as pl
import pytest

from conftest import copy_sample, invoke, read

NIGHT_1 = "2026-11-20T06:00:00Z"
NIGHT_2 = "2026-11-21T06:00:00Z"


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Both sample nights published in order; returns (config, night-1 run dir, night-2 run dir)."""
    config = copy_sample(tmp_path_factory.mktemp("sample"))
    invoke("run", "--config", config, "--as-of", NIGHT_1)
    first = (config.parent.parent / "out" / "sample" / "latest").resolve()
    invoke("run", "--config", config, "--as-of", NIGHT_2)
    second = (config.parent.parent / "out" / "sample" / "latest").resolve()
    assert first != second
    return config, first, second


def sendable(run_dir, list_id: str) -> list[str]:
    frame = read(run_dir, "sendable").filter(pl.col("list_id") == list_id)
    return sorted(frame["email"].to_list())


def status(run_dir, email: str, list_id: str | None) -> dict:
    frame = read(run_dir, "contact_status").filter(pl.col("email") == email)
    frame = frame.filter(pl.col("list_id").is_null() if list_id is None else pl.col("list_id") == list_id)
    assert frame.height == 1, f"{email} on {list_id}: {frame.height} rows"
    return frame.row(0, named=True)


def test_night_one_sendable_lists(nights):
    _, first, _ = nights
    assert sendable(first, "staff-news") == [
        "megan@acme.example",
        "priya@acme.example",
        "tom.baker@acme.example",
    ]
    assert sendable(first, "newsletter") == ["ana.souza@example.org"]
    assert sendable(first, "offers") == [
        "ana.souza@example.org",
        "angry@example.com",
        "blocked@example.com",
        "busy@example.com",
        "cleaned@example.com",
        "eli@example.net",
        "full@example.com",
        "gone@example.com",
        "leaver@example.com",
        "ops@xn--bcher-kva.example",
        "retry@example.com",
    ]


def test_night_two_sendable_lists(nights):
    _, _, second = nights
    assert sendable(second, "staff-news") == ["li.wei@acme.example", "megan@acme.example"]
    assert sendable(second, "newsletter") == ["dana@example.net", "new@example.com"]
    assert sendable(second, "offers") == [
        "blocked@example.com",
        "busy@example.com",
        "dana@example.net",
        "jordan@realty.example",
        "ops@xn--bcher-kva.example",
        "retry@example.com",
    ]


def test_vanished_report_names_each_reason(nights):
    _, first, second = nights
    vanished = read(second, "vanished")
    got = {(r["list_id"], r["email"]): r["reason"] for r in vanished.iter_rows(named=True)}
    assert got == {
        ("staff-news", "tom.baker@acme.example"): "unsubscribed",
        ("staff-news", "priya@acme.example"): "list_unsubscribed",
        ("newsletter", "ana.souza@example.org"): "unsubscribed",
        ("offers", "ana.souza@example.org"): "unsubscribed",
        ("offers", "eli@example.net"): "do_not_contact",
        ("offers", "gone@example.com"): "hard_bounce",
        ("offers", "full@example.com"): "soft_bounce_limit",
        ("offers", "leaver@example.com"): "not_in_source",
        ("offers", "angry@example.com"): "complaint",
        ("offers", "cleaned@example.com"): "source_cleaned",
    }
    assert set(vanished["previous_run_id"]) == {first.name.removeprefix("run_id=")}
    assert read(first, "vanished").height == 0  # no earlier run to compare with


def test_forwarded_unsubscribe_is_honoured_while_still_in_the_export(nights):
    """Seed 000: Tom never unsubscribed himself, but a forwarded email's link did; honoured."""
    _, _, second = nights
    tom = status(second, "tom.baker@acme.example", "staff-news")
    assert tom["sendable"] is False and tom["reason"] == "unsubscribed"
    assert tom["contact_id"] == "C002"
    assert "global unsubscribe (contact)" in tom["detail"]
    assert "platform_unsubscribes:unsubscribes.csv row 8" in tom["detail"]
    assert tom["transactional_ok"] is True  # transactional mail ignores unsubscribes
    blocked = read(second, "blocked_resubscribes").filter(pl.col("email") == "tom.baker@acme.example")
    assert blocked["source"].to_list() == ["crm:contacts_2026-11-21.csv row 2"]
    assert "a re-import does not resubscribe" in blocked["why"][0]


def test_reimport_does_not_resubscribe(nights):
    """Seed 000: re-adding an unsubscribed contact by import changes nothing and is reported."""
    _, _, second = nights
    priya = status(second, "priya@acme.example", "staff-news")
    assert priya["reason"] == "list_unsubscribed" and priya["sendable"] is False
    blocked = read(second, "blocked_resubscribes").filter(pl.col("email") == "priya@acme.example")
    why = dict(zip(blocked["source"], blocked["why"]))
    assert why["platform_unsubscribes:unsubscribes.csv row 11"].startswith("no evidence of consent")
    assert "a re-import does not resubscribe" in why["crm:contacts_2026-11-21.csv row 3"]


def test_signup_form_resubscribes(nights):
    """Seed 000: a sign-up form after an unsubscribe brings the contact back."""
    _, first, second = nights
    assert status(first, "li.wei@acme.example", "staff-news")["reason"] == "unsubscribed"
    li = status(second, "li.wei@acme.example", "staff-news")
    assert li["sendable"] is True and li["reasons"] == []


def test_integration_unsubscribe_follows_the_crm_contact_one_does_not(nights):
    """Seed 001: an Integration unsubscribe is reversed by the next CRM export; a Contact one is not."""
    _, first, second = nights
    assert status(first, "jordan@realty.example", "offers")["reasons"] == [
        "unsubscribed",
        "source_unsubscribed",
    ]
    assert status(second, "jordan@realty.example", "offers")["sendable"] is True
    for run in (first, second):
        sam = status(run, "sam@realty.example", "offers")
        assert sam["reasons"] == ["unsubscribed"] and sam["sendable"] is False


def test_duplicate_records_are_suppressed_together(nights):
    """Seed 002: an unsubscribe keyed by address covers every record holding that address."""
    _, _first, second = nights
    contacts = read(second, "contact_status").filter(pl.col("email") == "ana.souza@example.org")
    assert sorted(contacts["list_id"]) == ["newsletter", "offers"]
    assert dict(zip(contacts["list_id"], contacts["contact_id"])) == {"newsletter": "C020", "offers": "C021"}
    assert status(second, "ana.souza@example.org", "newsletter")["reasons"] == [
        "unsubscribed",
        "source_unsubscribed",
    ]
    assert status(second, "ana.souza@example.org", "offers")["reasons"] == ["unsubscribed"]


def test_do_not_contact_keeps_memberships(nights):
    """Seed 003: do-not-contact blocks all marketing, keeps every list, and undoing it restores them."""
    _, first, second = nights
    for list_id in ("newsletter", "offers"):
        assert status(first, "dana@example.net", list_id)["reason"] == "do_not_contact"
        assert status(second, "dana@example.net", list_id)["sendable"] is True
    eli = status(second, "eli@example.net", "offers")
    assert eli["reason"] == "do_not_contact" and "flag set in the export" in eli["detail"]
    assert eli["transactional_ok"] is True


def test_hard_bounce_suppresses_soft_bounces_do_not(nights):
    """Seed 003: a hard bounce stops mail (transactional too); soft bounces alone do not."""
    _, _, second = nights
    gone = status(second, "gone@example.com", "offers")
    assert gone["reason"] == "hard_bounce" and gone["transactional_ok"] is False
    assert gone["detail"] == (
        'hard bounce 550 5.1.1 "user unknown" (user_unknown, rule user-unknown) on campaign C-17, '
        "2026-11-20T07:30Z (platform_bounces:bounces.csv row 17)"
    )
    assert status(second, "busy@example.com", "offers")["sendable"] is True


def test_four_soft_bounce_campaigns_in_a_row(nights):
    """Seed 004: soft errors on the last 4 campaigns; a delivery between resets; blocks never count."""
    _, first, second = nights
    assert status(first, "full@example.com", "offers")["sendable"] is True  # 3 of 4 so far
    full = status(second, "full@example.com", "offers")
    assert full["reason"] == "soft_bounce_limit"
    assert full["detail"].startswith(
        'soft bounces on 4 consecutive campaigns, the last: soft bounce 452 4.2.2 "Mailbox full" '
        "(mailbox_full, rule mailbox-full) on campaign C-17"
    )
    assert status(second, "retry@example.com", "offers")["sendable"] is True
    assert status(second, "blocked@example.com", "offers")["sendable"] is True


def test_unconfirmed_opt_in(nights):
    """Seed 004: confirmed opt-in is a separate status; a double opt-in list needs it."""
    _, first, second = nights
    new = status(first, "new@example.com", "newsletter")
    assert new["reason"] == "unconfirmed"
    assert new["detail"] == "list newsletter requires confirmed opt-in; none recorded"
    assert status(second, "new@example.com", "newsletter")["sendable"] is True
    pending = status(second, "pending@example.com", "offers")
    assert pending["reason"] == "unconfirmed" and "export status pending" in pending["detail"]


def test_complaint_is_not_lifted_by_a_signup_form(nights):
    _, _, second = nights
    angry = status(second, "angry@example.com", "offers")
    assert angry["reason"] == "complaint"
    blocked = read(second, "blocked_resubscribes").filter(
        (pl.col("email") == "angry@example.com") & pl.col("evidence").eq("signup_form")
    )
    assert blocked.height == 1
    assert blocked["why"][0].startswith("a sign-up form does not lift the spam complaint")


def test_invalid_address_and_contact_on_no_list(nights):
    _, _, second = nights
    bad = status(second, "not-an-address", "offers")
    assert bad["reason"] == "invalid_address" and bad["transactional_ok"] is False
    info = status(second, "info@example.com", None)
    assert info["sendable"] is False and info["transactional_ok"] is True and info["reason"] is None


def test_suppressions_cover_addresses_by_scope(nights):
    _, _, second = nights
    sup = read(second, "suppressions")
    rows = {(r["email"], r["scope"], r["reason"]) for r in sup.iter_rows(named=True)}
    assert ("tom.baker@acme.example", "global", "unsubscribed") in rows
    assert ("priya@acme.example", "staff-news", "list_unsubscribed") in rows
    assert ("gone@example.com", "global", "hard_bounce") in rows
    assert ("ana.souza@example.org", "newsletter", "source_unsubscribed") in rows
    assert ("cleaned@example.com", "offers", "source_cleaned") in rows
    assert not any(reason in ("unconfirmed", "not_in_source") for _, _, reason in rows)
    # lifted suppressions are gone
    assert not any(
        email in ("dana@example.net", "li.wei@acme.example", "jordan@realty.example") for email, _, _ in rows
    )


def test_quarantine_and_manifest_account_for_every_row(nights):
    _, _, second = nights
    quarantine = read(second, "quarantine")
    assert quarantine.select("file", "row_number").rows() == [
        (str((second.parents[3] / "data/sample/bounces.csv").resolve()), 12)
    ]
    assert "occurred_at" in quarantine["error"][0]
    manifest = json.loads((second / "manifest.json").read_text())
    for entry in manifest["inputs"]:
        assert entry["rows_read"] == entry["rows_loaded"] + entry["rows_quarantined"]
    assert manifest["lists"]["offers"] == {
        "sendable": 6,
        "previous": 11,
        "vanished": 7,
        "vanished_by_reason": manifest["lists"]["offers"]["vanished_by_reason"],
    }
    assert manifest["outputs"]["vanished.parquet"] == 10


def test_runs_lists_both_nights(nights):
    config, first, second = nights
    out = invoke("runs", "--config", config).output
    assert first.name.removeprefix("run_id=") in out and second.name.removeprefix("run_id=") in out
    listing = json.loads(invoke("runs", "--config", config, "--json").output)
    assert [r["lists"]["offers"]["sendable"] for r in listing] == [11, 6]
    assert [r["lists"]["offers"]["vanished"] for r in listing] == [0, 7]
