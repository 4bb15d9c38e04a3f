"""Hypothesis over random small worlds: suppressions are never lost to an unrelated event."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenario import Scenario

ADDRESSES = ("a@example.com", "b@example.com", "c@example.com")
LISTS = ("news", "deals")
DAYS = [f"2026-11-{d:02d}T{h:02d}:00" for d in range(2, 9) for h in (3, 15)]

unsubscribe_events = st.builds(
    lambda email, at, event, list_id, origin, evidence: {
        "email": email,
        "occurred_at": at,
        "event": event,
        "list_id": list_id,
        "origin": origin,
        "evidence": evidence,
    },
    st.sampled_from(ADDRESSES),
    st.sampled_from(DAYS),
    st.sampled_from(["unsubscribe", "resubscribe", "complaint", "do_not_contact", "do_contact"]),
    st.sampled_from([None, *LISTS]),
    st.sampled_from(["contact", "integration", "admin", "list_unsubscribe"]),
    st.sampled_from([None, "signup_form", "confirmed_optin", "written_consent", "a_phone_call"]),
)

bounce_events = st.builds(
    lambda email, at, event, campaign, code: {
        "email": email,
        "occurred_at": at,
        "event": event,
        "campaign_id": campaign,
        "enhanced_code": code,
    },
    st.sampled_from(ADDRESSES),
    st.sampled_from(DAYS),
    st.sampled_from(["bounce", "bounce", "delivered", "complaint"]),
    st.sampled_from([None, "C-1", "C-2", "C-3", "C-4", "C-5"]),
    st.sampled_from([None, "5.1.1", "4.2.2", "5.2.2", "5.7.1"]),
)

memberships = st.lists(
    st.builds(
        lambda email, list_id, status, dnc: {
            "contact_id": email[0],
            "email": email,
            "list_id": list_id,
            "status": status,
            "do_not_contact": dnc,
        },
        st.sampled_from(ADDRESSES),
        st.sampled_from(LISTS),
        st.sampled_from(["subscribed", "subscribed", "unsubscribed", "pending", "cleaned"]),
        st.booleans(),
    ),
    min_size=1,
    max_size=5,
)

# Events that only ever start suppressions, for any address, and any event for a stranger.
stranger = "zed@example.org"
cause_events = st.one_of(
    st.builds(
        lambda email, at, event, list_id: {
            "email": email,
            "occurred_at": at,
            "event": event,
            "list_id": list_id,
            "origin": "contact",
        },
        st.sampled_from(ADDRESSES),
        st.sampled_from(DAYS),
        st.sampled_from(["unsubscribe", "complaint", "do_not_contact"]),
        st.sampled_from([None, *LISTS]),
    ).map(lambda e: ("unsubscribes", e)),
    st.builds(
        lambda email, at, code, campaign: {
            "email": email,
            "occurred_at": at,
            "event": "bounce",
            "enhanced_code": code,
            "campaign_id": campaign,
        },
        st.sampled_from(ADDRESSES),
        st.sampled_from(DAYS),
        st.sampled_from(["5.1.1", "4.2.2", "5.7.1", None]),
        st.sampled_from(["C-1", "C-9", None]),
    ).map(lambda e: ("bounces", e)),
    unsubscribe_events.map(lambda e: ("unsubscribes", {**e, "email": stranger})),
    bounce_events.map(lambda e: ("bounces", {**e, "email": stranger})),
)


def world(members, unsubscribes, bounces) -> Scenario:
    s = Scenario(lists={"news": False, "deals": False}, soft_bounce_limit=2)
    s.export("2026-11-01", *members)
    s.unsubscribes(*unsubscribes)
    s.bounces(*bounces)
    return s


def not_sendable(result) -> set[tuple[str, str]]:
    status = result.table("contact_status")
    return {
        (r["email"], r["list_id"])
        for r in status.iter_rows(named=True)
        if r["list_id"] is not None and not r["sendable"]
    }


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    memberships, st.lists(unsubscribe_events, max_size=6), st.lists(bounce_events, max_size=6), cause_events
)
def test_an_unrelated_event_never_makes_a_suppressed_address_sendable(members, unsubs, bounces, extra):
    before = not_sendable(world(members, unsubs, bounces).evaluate("2026-11-10"))
    kind, event = extra
    after_world = world(
        members,
        [*unsubs, event] if kind == "unsubscribes" else unsubs,
        [*bounces, event] if kind == "bounces" else bounces,
    )
    after = not_sendable(after_world.evaluate("2026-11-10"))
    assert before <= after


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(memberships, st.lists(unsubscribe_events, max_size=6), st.lists(bounce_events, max_size=6))
def test_every_status_row_is_sendable_exactly_when_it_has_no_reason(members, unsubs, bounces):
    status = world(members, unsubs, bounces).evaluate("2026-11-10").table("contact_status")
    for row in status.iter_rows(named=True):
        if row["list_id"] is not None:
            assert row["sendable"] == (row["reasons"] == [])
            assert row["reason"] == (row["reasons"][0] if row["reasons"] else None)
        has_blocking = {"hard_bounce", "invalid_address"} & set(row["reasons"])
        assert row["transactional_ok"] == (not has_blocking)
