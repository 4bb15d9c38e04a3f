"""Every rule of SPEC §4, each on small fixed tables: causes, lifts, scope and precedence."""

from __future__ import annotations

from datetime import UTC

import pytest

from scenario import Scenario

A = "a@example.com"


def member(list_id="news", email=A, contact_id="C1", **extra) -> dict:
    return {"contact_id": contact_id, "email": email, "list_id": list_id, **extra}


def unsub(at, email=A, **extra) -> dict:
    return {"email": email, "occurred_at": at, **extra}


def bounce(at, campaign=None, email=A, **extra) -> dict:
    return {"email": email, "occurred_at": at, "campaign_id": campaign, **extra}


def soft(at, campaign, **extra) -> dict:
    return bounce(at, campaign, bounce_type="soft", smtp_code=452, enhanced_code="4.2.2", **extra)


def delivered(at, campaign=None) -> dict:
    return bounce(at, campaign, event="delivered")


def with_member(*lists: str, **kwargs) -> Scenario:
    return Scenario(**kwargs).export("2026-11-01", *(member(list_id) for list_id in lists))


# --- addresses ----------------------------------------------------------------------------


def test_addresses_match_after_normalization():
    s = Scenario().export("2026-11-01", member(email='"Doe, A" <A@EXAMPLE.com.>'))
    s.unsubscribes(unsub("2026-11-02", email="mailto:a@example.com"))
    assert s.evaluate("2026-11-03").reasons(A, "news") == ["unsubscribed"]


def test_invalid_address_is_kept_with_its_reason_and_blocks_transactional():
    s = Scenario().export("2026-11-01", member(email="not an address"))
    status = s.evaluate("2026-11-02").status("not an address", "news")
    assert status["reasons"] == ["invalid_address"]
    assert status["transactional_ok"] is False


def test_corrected_address_lifts_invalid_address():
    s = Scenario().export("2026-11-01", member(email="a@example"))
    s.export("2026-11-02", member(email="a@example.com"))
    result = s.evaluate("2026-11-03")
    assert result.sendable(A, "news")
    assert result.reasons("a@example", "news") == ["invalid_address", "not_in_source"]


def test_duplicate_records_are_one_recipient_suppressed_together():
    s = Scenario().export(
        "2026-11-01",
        member("news", contact_id="C1"),
        member("deals", email=" A@Example.com ", contact_id="C2"),
    )
    s.unsubscribes(unsub("2026-11-02"))
    result = s.evaluate("2026-11-03")
    assert result.reasons(A, "news") == ["unsubscribed"]
    assert result.reasons(A, "deals") == ["unsubscribed"]
    assert {result.status(A, list_id)["contact_id"] for list_id in ("news", "deals")} == {"C1", "C2"}


# --- complaint ------------------------------------------------------------------------------


def test_complaint_from_either_log_blocks_every_list():
    s = with_member("news", "deals")
    s.bounces(bounce("2026-11-02", "C-1", event="complaint"))
    result = s.evaluate("2026-11-03")
    assert result.reasons(A, "news") == ["complaint"] and result.reasons(A, "deals") == ["complaint"]
    assert result.status(A, "news")["transactional_ok"] is True

    s = with_member("news")
    s.unsubscribes(unsub("2026-11-02", event="unsubscribe", origin="complaint", list_id="news"))
    assert s.evaluate("2026-11-03").reasons(A, "news") == ["complaint"]


@pytest.mark.parametrize(
    "evidence, lifted",
    [("signup_form", False), ("confirmed_optin", True), ("written_consent", True), (None, False)],
)
def test_complaint_is_lifted_only_by_strong_consent(evidence, lifted):
    s = with_member("news")
    s.unsubscribes(
        unsub("2026-11-02", event="complaint"), unsub("2026-11-03", event="resubscribe", evidence=evidence)
    )
    assert s.evaluate("2026-11-04").sendable(A, "news") is lifted


def test_consent_before_the_complaint_does_not_lift_it():
    s = with_member("news")
    s.unsubscribes(
        unsub("2026-11-02", event="resubscribe", evidence="written_consent"),
        unsub("2026-11-03", event="complaint"),
    )
    assert s.evaluate("2026-11-04").reasons(A, "news") == ["complaint"]


# --- hard bounce ------------------------------------------------------------------------------


def test_hard_bounce_blocks_marketing_and_transactional():
    s = with_member("news")
    s.bounces(bounce("2026-11-02", "C-1", smtp_code=550, enhanced_code="5.1.1", diagnostic="user unknown"))
    status = s.evaluate("2026-11-03").status(A, "news")
    assert status["reasons"] == ["hard_bounce"] and status["transactional_ok"] is False


@pytest.mark.parametrize(
    "code, bounce_type, expected",
    [
        ("5.1.1", None, ["hard_bounce"]),  # user unknown
        ("5.2.2", "hard", []),  # a full mailbox is soft whatever the platform says
        ("5.7.1", "hard", []),  # a block is the sender's problem
        (None, "hard", ["hard_bounce"]),  # the platform's word is the fallback
        (None, "soft", []),
    ],
)
def test_bounces_are_classified_by_code_then_platform_type(code, bounce_type, expected):
    s = with_member("news")
    s.bounces(bounce("2026-11-02", "C-1", smtp_code=550, enhanced_code=code, bounce_type=bounce_type))
    assert s.evaluate("2026-11-03").reasons(A, "news") == expected


@pytest.mark.parametrize(
    "lift",
    [
        delivered("2026-11-03", "C-2"),
    ],
)
def test_hard_bounce_is_lifted_by_a_later_delivery(lift):
    s = with_member("news")
    s.bounces(bounce("2026-11-02", "C-1", enhanced_code="5.1.1"), lift)
    assert s.evaluate("2026-11-04").sendable(A, "news")


def test_last_deliveries_keeps_the_latest_delivery_of_each_address_with_a_cause():
    """The model under the delivery lift: one row per address that has a cause, its latest
    delivery at or before the as-of; addresses without a cause are left out, however many
    deliveries they have."""
    from datetime import datetime

    B, C = "b@example.com", "c@example.com"
    s = Scenario().export(
        "2026-11-01", member(), member(email=B, contact_id="C2"), member(email=C, contact_id="C3")
    )
    s.bounces(
        bounce("2026-11-02", "C-1", enhanced_code="5.1.1"),
        delivered("2026-11-03", "C-2"),
        delivered("2026-11-05", "C-3"),
        delivered("2026-11-09", "C-4"),  # after the as-of
        soft("2026-11-02", "C-1", email=B),
        bounce("2026-11-02", "C-1", email=B, event="delivered"),
        bounce("2026-11-06", "C-2", email=C, event="delivered"),
    )
    s.unsubscribes(unsub("2026-11-02", email=B))
    rows = s.evaluate("2026-11-07").table("last_deliveries").sort("email").rows()
    assert rows == [(A, datetime(2026, 11, 5, tzinfo=UTC)), (B, datetime(2026, 11, 2, tzinfo=UTC))]


def test_hard_bounce_is_lifted_by_a_later_confirmed_opt_in():
    s = with_member("news")
    s.bounces(bounce("2026-11-02", "C-1", enhanced_code="5.1.1"))
    s.export("2026-11-05", member("news", confirmed_at="2026-11-04"))
    assert s.evaluate("2026-11-06").sendable(A, "news")
    s2 = with_member("news")
    s2.bounces(delivered("2026-11-01T12:00", "C-0"), bounce("2026-11-02", "C-1", enhanced_code="5.1.1"))
    assert s2.evaluate("2026-11-03").reasons(A, "news") == ["hard_bounce"]


# --- unsubscribes ---------------------------------------------------------------------------


def test_global_unsubscribe_covers_every_list_and_addresses_on_no_list():
    s = with_member("news", "deals")
    s.unsubscribes(unsub("2026-11-02"), unsub("2026-11-02", email="stranger@example.com"))
    result = s.evaluate("2026-11-03")
    assert result.reasons(A, "news") == ["unsubscribed"] == result.reasons(A, "deals")
    assert ("stranger@example.com", "global", "unsubscribed") in result.suppressions()


def test_list_unsubscribe_covers_only_that_list_even_before_joining():
    s = with_member("news", "deals")
    s.unsubscribes(unsub("2026-11-02", list_id="news"), unsub("2026-11-02", list_id="vip"))
    result = s.evaluate("2026-11-03")
    assert result.reasons(A, "news") == ["list_unsubscribed"]
    assert result.sendable(A, "deals")
    assert (A, "vip", "list_unsubscribed") in result.suppressions()


@pytest.mark.parametrize("evidence", ["signup_form", "confirmed_optin", "written_consent"])
def test_resubscribe_with_evidence_lifts_an_unsubscribe(evidence):
    s = with_member("news")
    s.unsubscribes(unsub("2026-11-02"), unsub("2026-11-03", event="resubscribe", evidence=evidence))
    assert s.evaluate("2026-11-04").sendable(A, "news")


@pytest.mark.parametrize("evidence", [None, "phone_call"])
def test_resubscribe_without_valid_evidence_is_blocked(evidence):
    s = with_member("news")
    s.unsubscribes(unsub("2026-11-02"), unsub("2026-11-03", event="resubscribe", evidence=evidence))
    result = s.evaluate("2026-11-04")
    assert result.reasons(A, "news") == ["unsubscribed"]
    blocked = result.blocked()
    assert blocked.height == 1 and blocked["evidence"][0] == evidence
    assert "signup_form, confirmed_optin, written_consent" in blocked["why"][0]


def test_list_resubscribe_lifts_a_global_unsubscribe_for_that_list_only():
    s = with_member("news", "deals")
    s.unsubscribes(
        unsub("2026-11-02"), unsub("2026-11-03", event="resubscribe", list_id="news", evidence="signup_form")
    )
    result = s.evaluate("2026-11-04")
    assert result.sendable(A, "news")
    assert result.reasons(A, "deals") == ["unsubscribed"]
    assert (A, "global", "unsubscribed") in result.suppressions()


def test_global_resubscribe_lifts_list_unsubscribes():
    s = with_member("news")
    s.unsubscribes(
        unsub("2026-11-02", list_id="news"),
        unsub("2026-11-03", event="resubscribe", evidence="written_consent"),
    )
    assert s.evaluate("2026-11-04").sendable(A, "news")


def test_confirmed_at_in_export_after_the_unsubscribe_counts_as_confirmed_optin():
    s = with_member("news")
    s.unsubscribes(unsub("2026-11-02", list_id="news"))
    s.export("2026-11-04", member("news", confirmed_at="2026-11-03"))
    assert s.evaluate("2026-11-05").sendable(A, "news")


def test_export_listing_subscribed_after_a_contact_unsubscribe_is_a_blocked_resubscribe():
    s = with_member("news")
    s.unsubscribes(unsub("2026-11-02"))
    s.export("2026-11-03", member("news"))
    result = s.evaluate("2026-11-04")
    assert result.reasons(A, "news") == ["unsubscribed"]
    blocked = result.blocked()
    assert blocked.height == 1 and "a re-import does not resubscribe" in blocked["why"][0]


def test_export_older_than_the_unsubscribe_is_not_a_resubscribe_attempt():
    s = with_member("news")
    s.unsubscribes(unsub("2026-11-02"))
    assert s.evaluate("2026-11-03").blocked().height == 0


@pytest.mark.parametrize("list_id", [None, "news"])
def test_integration_unsubscribe_follows_the_next_crm_export(list_id):
    s = with_member("news")
    s.unsubscribes(unsub("2026-11-02", origin="integration", list_id=list_id))
    assert not s.evaluate("2026-11-02T12:00").sendable(A, "news")
    s.export("2026-11-03", member("news"))
    result = s.evaluate("2026-11-04")
    assert result.sendable(A, "news") and result.blocked().height == 0


def test_integration_unsubscribe_is_not_lifted_by_an_export_saying_unsubscribed():
    s = with_member("news")
    s.unsubscribes(unsub("2026-11-02", origin="integration"))
    s.export("2026-11-03", member("news", status="unsubscribed"))
    assert s.evaluate("2026-11-04").reasons(A, "news") == ["unsubscribed", "source_unsubscribed"]


# --- do not contact ---------------------------------------------------------------------------


def test_do_not_contact_event_keeps_memberships_and_do_contact_restores_them():
    s = with_member("news", "deals")
    s.unsubscribes(unsub("2026-11-02", event="do_not_contact"))
    blocked = s.evaluate("2026-11-03")
    assert blocked.reasons(A, "news") == ["do_not_contact"] == blocked.reasons(A, "deals")
    assert blocked.status(A, "news")["transactional_ok"] is True
    s.unsubscribes(unsub("2026-11-04", event="do_contact"))
    restored = s.evaluate("2026-11-05")
    assert restored.sendable(A, "news") and restored.sendable(A, "deals")


def test_do_not_contact_flag_follows_the_export():
    s = Scenario().export("2026-11-01", member("news", do_not_contact=True), member("deals"))
    assert s.evaluate("2026-11-02").reasons(A, "deals") == ["do_not_contact"]
    s.export("2026-11-03", member("news", do_not_contact=False), member("deals"))
    assert s.evaluate("2026-11-04").sendable(A, "deals")


def test_clearing_the_export_flag_lifts_an_earlier_do_not_contact_event():
    s = Scenario().export("2026-11-01", member("news"))
    s.unsubscribes(unsub("2026-11-02", event="do_not_contact"))
    s.export("2026-11-03", member("news", do_not_contact=True))
    s.export("2026-11-04", member("news", do_not_contact=False))
    assert s.evaluate("2026-11-05").sendable(A, "news")


# --- export status ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, reason",
    [("unsubscribed", "source_unsubscribed"), ("cleaned", "source_cleaned"), ("pending", "unconfirmed")],
)
def test_export_status_reasons_follow_the_export(status, reason):
    s = Scenario().export("2026-11-01", member("news", status=status))
    assert s.evaluate("2026-11-02").reasons(A, "news") == [reason]
    s.export("2026-11-03", member("news", status="subscribed", confirmed_at="2026-11-02"))
    assert s.evaluate("2026-11-04").sendable(A, "news")


def test_export_status_reason_at_is_the_start_of_the_current_run_of_snapshots():
    s = Scenario().export("2026-11-01", member("news", status="unsubscribed"))
    s.export("2026-11-02", member("news"))
    s.export("2026-11-03", member("news", status="unsubscribed"))
    s.export("2026-11-04", member("news", status="unsubscribed"))
    status = s.evaluate("2026-11-05").status(A, "news")
    assert status["reason"] == "source_unsubscribed"
    assert status["reason_at"].isoformat() == "2026-11-03T00:00:00+00:00"


def test_record_on_no_list_saying_do_not_allow_covers_the_address():
    s = Scenario().export("2026-11-01", member("news"), member(None, contact_id="C2", status="unsubscribed"))
    result = s.evaluate("2026-11-02")
    assert result.reasons(A, "news") == ["source_unsubscribed"]
    assert (A, "global", "source_unsubscribed") in result.suppressions()


# --- soft bounces ----------------------------------------------------------------------------


def test_soft_bounce_limit_needs_consecutive_distinct_campaigns():
    s = with_member("news")
    s.bounces(
        soft("2026-11-02", "C-1"),
        soft("2026-11-02T05:00", "C-1"),  # a retry: one campaign
        soft("2026-11-03", "C-2"),
        soft("2026-11-04", "C-3"),
    )
    assert s.evaluate("2026-11-05").sendable(A, "news")
    s.bounces(soft("2026-11-05", "C-4"))
    status = s.evaluate("2026-11-06").status(A, "news")
    assert status["reasons"] == ["soft_bounce_limit"]
    assert status["reason_at"].isoformat() == "2026-11-05T00:00:00+00:00"
    assert status["transactional_ok"] is True


def test_bounce_without_campaign_counts_as_its_own_campaign():
    s = with_member("news")
    s.bounces(*(soft(f"2026-11-0{d}", None) for d in range(2, 6)))
    assert s.evaluate("2026-11-06").reasons(A, "news") == ["soft_bounce_limit"]


def test_delivery_between_resets_the_streak():
    s = with_member("news")
    s.bounces(
        soft("2026-11-02", "C-1"),
        soft("2026-11-03", "C-2"),
        delivered("2026-11-03T12:00", "C-X"),
        soft("2026-11-04", "C-3"),
        soft("2026-11-05", "C-4"),
    )
    assert s.evaluate("2026-11-06").sendable(A, "news")


def test_delivery_after_the_limit_lifts_it():
    s = with_member("news")
    s.bounces(*(soft(f"2026-11-0{d}", f"C-{d}") for d in range(2, 6)), delivered("2026-11-07", "C-7"))
    assert s.evaluate("2026-11-06").reasons(A, "news") == ["soft_bounce_limit"]
    assert s.evaluate("2026-11-08").sendable(A, "news")


def test_blocks_neither_count_nor_reset():
    s = with_member("news")
    block = dict(smtp_code=550, enhanced_code="5.7.1", diagnostic="blocked using a DNS blocklist")
    s.bounces(
        soft("2026-11-02", "C-1"),
        soft("2026-11-03", "C-2"),
        bounce("2026-11-04", "C-3", **block),
        bounce("2026-11-05", "C-4", **block),
        soft("2026-11-06", "C-5"),
    )
    assert s.evaluate("2026-11-07").sendable(A, "news")
    s.bounces(soft("2026-11-07", "C-6"))
    assert s.evaluate("2026-11-08").reasons(A, "news") == ["soft_bounce_limit"]


def test_unknown_bounces_count_as_soft():
    s = with_member("news", soft_bounce_limit=2)
    s.bounces(bounce("2026-11-02", "C-1"), bounce("2026-11-03", "C-2"))
    assert s.evaluate("2026-11-04").reasons(A, "news") == ["soft_bounce_limit"]


@pytest.mark.parametrize("window_days, suppressed", [(0, True), (10, True), (3, False)])
def test_soft_bounce_window(window_days, suppressed):
    s = with_member("news", soft_bounce_window_days=window_days)
    s.bounces(
        soft("2026-11-01", "C-1"),
        soft("2026-11-03", "C-2"),
        soft("2026-11-05", "C-3"),
        soft("2026-11-07", "C-4"),
    )
    assert (not s.evaluate("2026-11-08").sendable(A, "news")) is suppressed


# --- confirmation and membership ------------------------------------------------------------


def test_list_requiring_confirmed_optin_needs_a_confirmation():
    s = Scenario(lists={"news": True}).export(
        "2026-11-01",
        member("news"),
        member("news", email="b@example.com", contact_id="C2", confirmed_at="2026-10-01"),
    )
    result = s.evaluate("2026-11-02")
    assert result.reasons(A, "news") == ["unconfirmed"]
    assert result.sendable("b@example.com", "news")


def test_confirmed_optin_resubscribe_confirms():
    s = Scenario(lists={"news": True}).export("2026-11-01", member("news"))
    s.unsubscribes(unsub("2026-11-02", event="resubscribe", evidence="confirmed_optin", list_id="news"))
    assert s.evaluate("2026-11-03").sendable(A, "news")


def test_not_in_source_until_reappearing():
    s = Scenario().export("2026-11-01", member("news"))
    s.export("2026-11-02", member("news", email="b@example.com", contact_id="C2"))
    status = s.evaluate("2026-11-03").status(A, "news")
    assert status["reasons"] == ["not_in_source"]
    assert status["reason_at"].isoformat() == "2026-11-02T00:00:00+00:00"
    s.export("2026-11-04", member("news"))
    assert s.evaluate("2026-11-05").sendable(A, "news")


def test_contact_on_no_list_is_reported_but_never_sendable():
    s = Scenario().export("2026-11-01", member(None))
    status = s.evaluate("2026-11-02").status(A, None)
    assert status["sendable"] is False and status["transactional_ok"] is True


def test_every_reported_row_carries_the_record_primary_records_chose():
    # a former member, a contact on no list, and an address on a list and on no list (it is
    # reported for its list only); two records of one address on one list
    B, D = "b@example.com", "d@example.com"
    s = Scenario().export(
        "2026-11-01",
        member("news"),
        member(None, email=B, contact_id="C2"),
        member("news", email=D, contact_id="C4"),
        member(None, email=D, contact_id="C5"),
    )
    s.export(
        "2026-11-02",
        member(None, email=B, contact_id="C2"),
        member("news", email=D, contact_id="C6", status="unsubscribed"),
        member("news", email=D, contact_id="C4"),
        member(None, email=D, contact_id="C5"),
    )
    result = s.evaluate("2026-11-03")
    status = result.table("contact_status").select("email", "list_id", "contact_id", "file_id", "row_number")
    chosen = result.table("primary_records").select("email", "list_id", "contact_id", "file_id", "row_number")
    assert sorted(status.rows(), key=str) == sorted(
        chosen.join(status.select("email", "list_id"), on=["email", "list_id"], nulls_equal=True).rows(),
        key=str,
    )
    assert {(r[0], r[1], r[2]) for r in status.rows()} == {
        (A, "news", "C1"),
        (B, None, "C2"),
        (D, "news", "C4"),
    }
    assert result.status(A, "news")["reasons"] == ["not_in_source"]


def test_records_that_rank_equal_are_chosen_by_contact_id_whatever_the_row_order():
    """Two records of one address in one export, both subscribed, rank equal up to their
    contact ids: the smaller id speaks, for the list and for the address as a whole, though
    the export lists the larger first (memberships and primary_records rank by integers and
    fall back to record_rank for such ties)."""
    B = "b@example.com"
    s = Scenario().export(
        "2026-11-01",
        member("news", contact_id="C9"),
        member("news", contact_id="C3"),
        member(None, email=B, contact_id="K9"),
        member(None, email=B, contact_id="K3"),
        member("news", email=B, contact_id="K5"),
    )
    result = s.evaluate("2026-11-02")
    assert result.status(A, "news")["contact_id"] == "C3"
    chosen = {
        (r["email"], r["list_id"]): r["contact_id"]
        for r in result.table("primary_records").iter_rows(named=True)
    }
    # the address as a whole: the best of news' speaker (K5) and its rows on no list
    assert chosen == {(A, "news"): "C3", (A, None): "C3", (B, "news"): "K5", (B, None): "K3"}


# --- precedence and time ----------------------------------------------------------------------


def test_reasons_are_listed_in_precedence_order():
    s = Scenario(lists={"news": True}).export("2026-11-01", member("news", status="cleaned"))
    s.unsubscribes(
        unsub("2026-11-02", list_id="news"),
        unsub("2026-11-02", event="do_not_contact"),
        unsub("2026-11-02"),
        unsub("2026-11-03", event="complaint"),
    )
    s.bounces(bounce("2026-11-02", "C-1", enhanced_code="5.1.1"))
    status = s.evaluate("2026-11-04").status(A, "news")
    assert status["reasons"] == [
        "complaint",
        "hard_bounce",
        "unsubscribed",
        "do_not_contact",
        "list_unsubscribed",
        "source_cleaned",
        "unconfirmed",
    ]
    assert status["reason"] == "complaint"
    assert status["detail"].startswith("spam complaint")


def test_events_after_the_as_of_do_not_exist():
    s = with_member("news")
    s.unsubscribes(unsub("2026-11-05"))
    s.export("2026-11-06", member("news", status="cleaned"))
    assert s.evaluate("2026-11-04").sendable(A, "news")
    assert s.evaluate("2026-11-05").reasons(A, "news") == ["unsubscribed"]
    assert s.evaluate("2026-11-07").reasons(A, "news") == ["unsubscribed", "source_cleaned"]


def test_newest_snapshot_at_or_before_the_as_of_is_used():
    s = Scenario().export("2026-11-01", member("news"))
    s.export("2026-11-03", member("news", status="unsubscribed"))
    assert s.evaluate("2026-11-02").sendable(A, "news")
    assert s.evaluate("2026-11-03").reasons(A, "news") == ["source_unsubscribed"]


def test_transactional_mail_ignores_everything_but_invalid_address_and_hard_bounce():
    s = Scenario(lists={"news": True}, soft_bounce_limit=2).export(
        "2026-11-01", member("news"), member("deals", status="pending")
    )
    s.export("2026-11-02", member("news"))  # gone from deals: not_in_source
    s.unsubscribes(
        unsub("2026-11-02"),
        unsub("2026-11-02", event="do_not_contact"),
        unsub("2026-11-03", event="complaint"),
    )
    s.bounces(soft("2026-11-03", "C-1"), soft("2026-11-04", "C-2"))
    result = s.evaluate("2026-11-05")
    for list_id in ("news", "deals"):
        status = result.status(A, list_id)
        assert status["sendable"] is False and status["transactional_ok"] is True
    assert set(result.reasons(A, "news")) == {
        "complaint",
        "unsubscribed",
        "do_not_contact",
        "soft_bounce_limit",
        "unconfirmed",
    }
    assert "not_in_source" in result.reasons(A, "deals")


def test_a_reason_with_two_active_causes_is_listed_once():
    s = Scenario().export("2026-11-01", member("news"))
    s.unsubscribes(unsub("2026-11-02", event="do_not_contact"))
    s.export("2026-11-03", member("news", do_not_contact=True))
    status = s.evaluate("2026-11-04").status(A, "news")
    assert status["reasons"] == ["do_not_contact"]
    assert status["reason_at"].isoformat() == "2026-11-02T00:00:00+00:00"  # the earlier cause
