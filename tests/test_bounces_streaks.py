"""What each class does to an address: hard suppresses at once, soft and unknown count, block never."""

from __future__ import annotations

import pytest

from scenario import Scenario

A = "a@example.com"

OVER_QUOTA = dict(
    smtp_code=552,
    enhanced_code="5.2.2",
    bounce_type="hard",
    diagnostic="552-5.2.2 The email account that you tried to reach is over quota.",
)
DISABLED = dict(
    smtp_code=550,
    enhanced_code="5.2.1",
    bounce_type="hard",
    diagnostic="550-5.2.1 The email account that you tried to reach is disabled.",
)
UNREADABLE = dict(smtp_code=550, diagnostic="550 Rejected")
BLOCKS = {
    "dns blocklist": dict(
        smtp_code=550,
        enhanced_code="5.7.1",
        bounce_type="hard",
        diagnostic="550 5.7.1 Service unavailable; client host [192.0.2.1] blocked using zen.spamhaus.org",
    ),
    "dmarc": dict(
        smtp_code=550,
        enhanced_code="5.7.26",
        bounce_type="hard",
        diagnostic="550-5.7.26 Unauthenticated email from example.org is not accepted due to domain's DMARC policy.",
    ),
    "rate limit": dict(
        smtp_code=421,
        enhanced_code="4.7.28",
        bounce_type="soft",
        diagnostic="421-4.7.28 mail sent from your IP address has been temporarily rate limited.",
    ),
    "spam content": dict(
        smtp_code=554,
        enhanced_code="5.7.1",
        bounce_type="hard",
        diagnostic="554 5.7.1 Message content rejected, UBE",
    ),
}


def member(**kwargs) -> Scenario:
    return Scenario(**kwargs).export("2026-11-01", {"contact_id": "C1", "email": A, "list_id": "news"})


def on_campaigns(reply: dict, *days: int) -> list[dict]:
    return [{"email": A, "occurred_at": f"2026-11-{d:02d}", "campaign_id": f"C-{d}", **reply} for d in days]


@pytest.mark.parametrize(
    "reply", [OVER_QUOTA, DISABLED, UNREADABLE], ids=["552 over quota", "disabled", "unknown"]
)
def test_soft_and_unknown_count_per_campaign_and_are_never_hard(reply):
    s = member()
    s.bounces(*on_campaigns(reply, 2, 3, 4))
    assert s.evaluate("2026-11-05").sendable(A, "news")  # a 5xx on three campaigns: not gone
    s.bounces(*on_campaigns(reply, 5))
    assert s.evaluate("2026-11-06").reasons(A, "news") == ["soft_bounce_limit"]


@pytest.mark.parametrize("kind", list(BLOCKS))
def test_blocks_reported_hard_never_count_against_the_recipient(kind):
    s = member(soft_bounce_limit=2)
    s.bounces(*on_campaigns(BLOCKS[kind], 2, 3, 4, 5, 6))
    assert s.evaluate("2026-11-07").sendable(A, "news")


def test_blocks_between_soft_bounces_do_not_reset_the_streak():
    s = member(soft_bounce_limit=3)
    s.bounces(
        *on_campaigns(OVER_QUOTA, 2, 3), *on_campaigns(BLOCKS["dmarc"], 4), *on_campaigns(OVER_QUOTA, 5)
    )
    assert s.evaluate("2026-11-06").reasons(A, "news") == ["soft_bounce_limit"]


def test_a_delivery_resets_the_streak():
    s = member(soft_bounce_limit=3)
    s.bounces(
        *on_campaigns(OVER_QUOTA, 2, 3),
        {"email": A, "occurred_at": "2026-11-03T12:00", "event": "delivered"},
        *on_campaigns(OVER_QUOTA, 4, 5),
    )
    assert s.evaluate("2026-11-06").sendable(A, "news")


@pytest.mark.parametrize(
    "reply",
    [
        dict(
            smtp_code=450,
            enhanced_code="4.1.1",
            bounce_type="soft",
            diagnostic="450 4.1.1 <a@example.com>: Recipient address rejected: User unknown in local recipient table",
        ),
        dict(
            smtp_code=550,
            enhanced_code="5.4.1",
            bounce_type="soft",
            diagnostic="550 5.4.1 Recipient address rejected: Access denied. AS(201806281)",
        ),
        dict(diagnostic="smtp; 550-5.1.1 The email account that you tried to reach does not exist."),
    ],
    ids=["450 4.1.1 user unknown", "5.4.1 directory lookup", "codes only in the text"],
)
def test_hard_bounces_suppress_at_once_even_under_a_4xx_or_a_soft_platform_type(reply):
    s = member()
    s.bounces(*on_campaigns(reply, 2))
    status = s.evaluate("2026-11-03").status(A, "news")
    assert status["reasons"] == ["hard_bounce"] and status["transactional_ok"] is False
