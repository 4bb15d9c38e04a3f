"""Postmark webhooks and API dumps: every bounce Type, subscription changes, suppressions, quarantine, resends, end to end."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from listhygiene.config import Source
from listhygiene.ingest.platforms import read_platform
from listhygiene.rules.bounces import classify_frame, load_ruleset

from conftest import copy_sample, invoke, latest, read

FIXTURES = Path(__file__).parent / "data" / "platforms" / "postmark"
POSTMARK = Source("postmark", None, "unused", format="postmark")
AS_OF = "2026-11-21T06:00:00Z"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@pytest.fixture(scope="module")
def webhooks():
    return read_platform(FIXTURES / "webhooks.jsonl", POSTMARK)


@pytest.fixture(scope="module")
def dump():
    return read_platform(FIXTURES / "suppressions.json", POSTMARK)


@pytest.fixture(scope="module")
def types():
    return read_platform(FIXTURES / "bounce-types.json", POSTMARK)


def bounces_for(result, email: str) -> list[dict]:
    return result.rows.filter(pl.col("email_raw") == email).sort("row_number").to_dicts()


def unsubscribes_for(result, email: str) -> list[dict]:
    frame = result.other_rows.get("unsubscribes", pl.DataFrame(schema={"email_raw": pl.String}))
    return frame.filter(pl.col("email_raw") == email).sort("row_number").to_dicts()


# --- bounce webhooks ---------------------------------------------------------------------------


def test_a_hard_bounce_webhook_is_a_hard_bounce_with_its_reply_codes_and_lineage(webhooks):
    [megan, resent] = bounces_for(webhooks, "megan@acme.example")
    assert (megan["row_number"], resent["row_number"]) == (1, 18)
    assert (megan["event"], megan["bounce_type"], megan["smtp_code"], megan["enhanced_code"]) == (
        "bounce",
        "hard",
        550,
        "5.1.1",
    )
    assert megan["diagnostic"] == "smtp;550 5.1.1 The email account that you tried to reach does not exist."
    assert megan["occurred_at"] == utc("2026-11-20T04:10:11.123456Z")  # 7 fraction digits, cut to µs
    assert (megan["campaign_id"], megan["event_ref"]) == ("C-18", "4100000001")
    # Postmark's own fields are kept for lineage; unknown keys (Metadata, FutureField) are ignored
    assert json.loads(megan["platform"]) == {
        "platform": "postmark",
        "record_type": "Bounce",
        "id": "4100000001",
        "message_id": "7f3a1c52-0001-4e7b-9a10-2b6f0c4d8e01",
        "type": "HardBounce",
        "type_code": "1",
        "message_stream": "broadcast",
        "description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "inactive": True,
        "can_activate": True,
        "server_id": "31337",
    }


def test_soft_transient_and_blocked_bounces_keep_postmarks_verdict_as_the_fallback(webhooks):
    [soft] = bounces_for(webhooks, "soft@example.net")
    assert (soft["bounce_type"], soft["smtp_code"], soft["enhanced_code"]) == ("soft", 452, "4.2.2")
    assert soft["occurred_at"] == utc("2026-11-20T09:11:00Z")  # -05:00 offset in BouncedAt
    [slow] = bounces_for(webhooks, "slow@example.net")
    assert (slow["bounce_type"], slow["smtp_code"], slow["enhanced_code"]) == ("soft", None, None)
    [dana] = bounces_for(webhooks, "dana@example.net")
    # the receiver refused the sender (a blocklisted IP), not the address
    assert (dana["event"], dana["bounce_type"], dana["event_ref"]) == ("bounce", "block", "4100000004")


def test_spam_complaints_are_read_by_type_name_not_by_type_code(webhooks):
    [from_bounce_hook, from_subscription_change] = bounces_for(webhooks, "grumpy@example.org")
    # TypeCode 512 is SpamNotification's code; the Type name says SpamComplaint, and wins
    assert json.loads(from_bounce_hook["platform"])["type_code"] == "512"
    assert (from_bounce_hook["event"], from_bounce_hook["bounce_type"]) == ("complaint", None)
    assert from_bounce_hook["occurred_at"] == utc("2026-11-20T05:00:00Z")
    assert from_subscription_change["event"] == "complaint"
    [new] = bounces_for(webhooks, "new@example.com")  # the spam complaint webhook
    assert (new["event"], new["occurred_at"], new["event_ref"], new["campaign_id"]) == (
        "complaint",
        utc("2026-11-20T21:30:00.5Z"),
        "4100000006",
        "receipts",
    )
    assert json.loads(new["platform"])["record_type"] == "SpamComplaint"


def test_unsubscribe_replies_and_manual_deactivations_are_unsubscribes_from_every_list(webhooks):
    [reply] = unsubscribes_for(webhooks, "removeme@example.com")
    assert (reply["row_number"], reply["event"], reply["list_id"], reply["origin"]) == (
        8,
        "unsubscribe",
        None,
        "contact",
    )
    assert (reply["occurred_at"], reply["event_ref"], reply["reason"]) == (
        utc("2026-11-20T04:21:00Z"),
        "4100000008",
        "Postmark bounce type Unsubscribe",
    )
    [manual] = unsubscribes_for(webhooks, "handoff@example.com")
    assert (manual["event"], manual["list_id"], manual["origin"], manual["evidence"]) == (
        "unsubscribe",
        None,
        "admin",
        None,
    )
    assert bounces_for(webhooks, "removeme@example.com") == bounces_for(webhooks, "handoff@example.com") == []


def test_auto_replies_api_errors_opens_and_clicks_carry_no_event(webhooks):
    for email in ("away@example.com", "suppressed@example.com"):
        assert bounces_for(webhooks, email) == unsubscribes_for(webhooks, email) == []
    assert webhooks.records_ignored == 4  # AutoResponder, SMTPApiError, Open, Click


def test_a_delivery_webhook_is_a_delivery(webhooks):
    [reader] = bounces_for(webhooks, "reader@example.com")  # its Open and Click are ignored
    assert (reader["row_number"], reader["event"], reader["occurred_at"], reader["event_ref"]) == (
        11,
        "delivered",
        utc("2026-11-20T04:00:05Z"),
        "delivery:7f3a1c52-0011-4e7b-9a10-2b6f0c4d8e11",
    )
    assert reader["bounce_type"] is None


# --- subscription changes and suppression dumps ------------------------------------------------------


def test_subscription_changes_follow_the_suppression_reason(webhooks):
    [gone] = bounces_for(webhooks, "gone.sub@example.com")
    assert (gone["row_number"], gone["event"], gone["bounce_type"], gone["diagnostic"]) == (
        13,
        "bounce",
        "hard",
        None,
    )
    assert gone["event_ref"] == "subscription:broadcast:true:2026-11-20T04:10:12.0000000Z"
    [jordan] = unsubscribes_for(webhooks, "jordan@realty.example")
    assert (jordan["event"], jordan["list_id"], jordan["origin"], jordan["occurred_at"]) == (
        "unsubscribe",
        None,
        "contact",
        utc("2026-11-20T08:15:00Z"),
    )
    assert jordan["reason"] == "Postmark ManualSuppression by Recipient on stream broadcast"
    assert json.loads(jordan["platform"]) == {
        "platform": "postmark",
        "record_type": "SubscriptionChange",
        "message_id": "7f3a1c52-0015-4e7b-9a10-2b6f0c4d8e15",
        "message_stream": "broadcast",
        "origin": "Recipient",
        "suppression_reason": "ManualSuppression",
        "suppress_sending": True,
        "server_id": "31337",
    }


def test_a_customer_suppression_is_an_admin_unsubscribe_and_its_reactivation_has_no_evidence(webhooks):
    [suppressed, reactivated] = unsubscribes_for(webhooks, "reactivated@example.com")
    assert (suppressed["event"], suppressed["origin"]) == ("unsubscribe", "admin")
    assert (reactivated["event"], reactivated["origin"], reactivated["evidence"], reactivated["list_id"]) == (
        "resubscribe",
        "admin",
        None,
        None,
    )
    assert reactivated["reason"] == "Postmark reactivation by Customer on stream broadcast"
    assert reactivated["event_ref"] == "subscription:broadcast:false:2026-11-20T10:00:00Z"
    assert json.loads(reactivated["platform"])["suppress_sending"] is False


def test_a_suppressions_dump_gives_one_event_per_suppression(dump):
    [hard] = bounces_for(dump, "bounced.dump@example.com")
    assert (hard["row_number"], hard["event"], hard["bounce_type"], hard["occurred_at"]) == (
        1,
        "bounce",
        "hard",
        utc("2026-11-19T13:58:33Z"),
    )
    assert hard["event_ref"] == "suppression:HardBounce:2026-11-19T08:58:33-05:00"
    assert json.loads(hard["platform"])["record_type"] == "SuppressionDump"
    [complaint] = bounces_for(dump, "complained.dump@example.com")
    assert complaint["event"] == "complaint"
    [by_customer] = unsubscribes_for(dump, "retry@example.com")
    assert (by_customer["event"], by_customer["origin"], by_customer["list_id"], by_customer["reason"]) == (
        "unsubscribe",
        "admin",
        None,
        "Postmark ManualSuppression by Customer",
    )
    [by_recipient] = unsubscribes_for(dump, "left.dump@example.com")
    assert by_recipient["origin"] == "contact"
    assert dump.quarantine.select("row_number", "column", "error").rows() == [
        (5, "SuppressionReason", "unknown SuppressionReason 'Teleported'")
    ]
    assert (dump.records_read, dump.records_ignored, dump.rows_read) == (5, 0, 5)


# --- every bounce Type -------------------------------------------------------------------------------

# Type -> (kind, event, bounce_type or unsubscribe source); None: no event
TYPE_TABLE = {
    "HardBounce": ("bounces", "bounce", "hard"),
    "Transient": ("bounces", "bounce", "soft"),
    "Unsubscribe": ("unsubscribes", "unsubscribe", "contact"),
    "Subscribe": None,
    "AutoResponder": None,
    "AddressChange": None,
    "DnsError": ("bounces", "bounce", "soft"),
    "SpamNotification": ("bounces", "bounce", "block"),
    "OpenRelayTest": None,
    "Unknown": ("bounces", "bounce", "unknown"),
    "SoftBounce": ("bounces", "bounce", "soft"),
    "VirusNotification": ("bounces", "bounce", "block"),
    "ChallengeVerification": None,
    "BadEmailAddress": ("bounces", "bounce", "hard"),
    "SpamComplaint": ("bounces", "complaint", None),
    "ManuallyDeactivated": ("unsubscribes", "unsubscribe", "admin"),
    "Unconfirmed": None,
    "Blocked": ("bounces", "bounce", "block"),
    "SMTPApiError": None,
    "InboundError": None,
    "DMARCPolicy": ("bounces", "bounce", "block"),
    "TemplateRenderingFailed": None,
}


@pytest.mark.parametrize("bounce_type", list(TYPE_TABLE))
def test_each_postmark_bounce_type_maps_as_documented(types, bounce_type):
    email = f"{bounce_type.lower()}@example.com"
    bounced, unsubscribed = bounces_for(types, email), unsubscribes_for(types, email)
    expected = TYPE_TABLE[bounce_type]
    if expected is None:
        assert bounced == unsubscribed == []
    elif expected[0] == "bounces":
        [row] = bounced
        assert (row["event"], row["bounce_type"]) == expected[1:]
        assert row["campaign_id"] in ("C-20", None)
        assert unsubscribed == []
    else:
        [row] = unsubscribed
        assert (row["event"], row["origin"], row["list_id"]) == (*expected[1:], None)
        assert bounced == []


def test_a_bounces_api_page_reads_without_record_type_and_counts_the_ignored(types):
    assert types.quarantine.height == 0
    assert (types.records_read, types.records_ignored) == (22, 9)
    blocked = bounces_for(types, "blocked@example.com")[0]
    assert (blocked["row_number"], blocked["event_ref"]) == (18, "4200000018")


def test_the_bounce_rules_read_postmarks_details_and_keep_blocks_off_the_recipient(types):
    classes = classify_frame(types.rows, load_ruleset())
    verdicts = dict(zip(classes["email_raw"], zip(classes["bounce_class"], classes["bounce_reason"])))
    assert verdicts["blocked@example.com"] == ("block", "bad_reputation")
    assert verdicts["dmarcpolicy@example.com"] == ("block", "auth_failure")
    assert verdicts["hardbounce@example.com"] == ("hard", "user_unknown")
    assert verdicts["softbounce@example.com"] == ("soft", "mailbox_full")
    # no recognisable reply: Postmark's own Type decides
    assert verdicts["virusnotification@example.com"] == ("block", "unclassified")
    assert verdicts["unknown@example.com"] == ("unknown", "unclassified")


# --- malformed records -------------------------------------------------------------------------------


def test_malformed_records_are_quarantined_with_their_reason_and_the_rest_loads(webhooks):
    q = webhooks.quarantine.sort("row_number")
    assert q.select("row_number", "column", "error").rows() == [
        (19, None, "line is not valid JSON"),
        (
            20,
            "RecordType",
            "no RecordType, and neither a suppression (EmailAddress, SuppressionReason) "
            "nor a bounce (Type, BouncedAt): not a Postmark record",
        ),
        (21, "RecordType", "unknown Postmark RecordType 'Teleport'"),
        (22, "Type", "unknown Postmark bounce Type 'Quantum'"),
        (23, "SuppressSending", "SuppressSending 'maybe' is neither true nor false"),
        (24, "email", "email is empty"),
        (25, "occurred_at", "occurred_at 'yesterday' is not an ISO 8601 timestamp"),
    ]
    # the record itself is kept as read, so it can be fixed and replayed
    assert json.loads(q.filter(pl.col("row_number") == 22)["raw"][0])["Type"] == "Quantum"
    # no error names an address
    assert not q["error"].str.contains("@").any()


def test_rows_read_are_loaded_plus_quarantined(webhooks):
    loaded = webhooks.rows.height + sum(f.height for f in webhooks.other_rows.values())
    assert (webhooks.records_read, loaded, webhooks.quarantine.height) == (26, 15, 7)
    assert webhooks.rows_read == loaded + webhooks.quarantine.height


# --- end to end ---------------------------------------------------------------------------------------


def postmark_pipeline(tmp_path: Path) -> Path:
    config = copy_sample(tmp_path)
    logs = tmp_path / "data" / "postmark"
    logs.mkdir()
    shutil.copy(FIXTURES / "webhooks.jsonl", logs / "webhooks-2026-11-20.jsonl")
    # the same stream's suppressions dumped on two days: the second dump repeats the first
    # and adds the day's new suppression
    shutil.copy(FIXTURES / "suppressions.json", logs / "suppressions-2026-11-20.json")
    next_day = json.loads((FIXTURES / "suppressions.json").read_text())
    next_day["Suppressions"].append(
        {
            "EmailAddress": "later.dump@example.com",
            "SuppressionReason": "ManualSuppression",
            "Origin": "Recipient",
            "CreatedAt": "2026-11-21T02:00:00Z",
        }
    )
    (logs / "suppressions-2026-11-21.json").write_text(json.dumps(next_day, indent=2))
    text = config.read_text().replace("max_quarantine_fraction = 0.05", "max_quarantine_fraction = 0.5")
    config.write_text(
        text + '\n[[sources]]\nname = "postmark"\nformat = "postmark"\npath = "../data/postmark/*.json*"\n'
    )
    return config


@pytest.fixture(scope="module")
def postmark_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("postmark")
    config = postmark_pipeline(tmp_path)
    invoke("run", "--config", config, "--as-of", AS_OF)
    return tmp_path, config, latest(config)


def test_end_to_end_postmark_events_suppress_by_their_meaning(postmark_run):
    _, _, run = postmark_run
    suppressions = read(run, "suppressions").filter(pl.col("source") == "postmark")
    reasons = {(r["email"], r["reason"]) for r in suppressions.to_dicts()}
    assert {
        ("megan@acme.example", "hard_bounce"),
        ("gone.sub@example.com", "hard_bounce"),
        ("bounced.dump@example.com", "hard_bounce"),
        ("new@example.com", "complaint"),
        ("grumpy@example.org", "complaint"),
        ("complained.dump@example.com", "complaint"),
        ("jordan@realty.example", "unsubscribed"),
        ("retry@example.com", "unsubscribed"),
        ("removeme@example.com", "unsubscribed"),
        ("handoff@example.com", "unsubscribed"),
        ("reactivated@example.com", "unsubscribed"),
        ("later.dump@example.com", "unsubscribed"),
    } <= reasons
    suppressed = {email for email, _ in reasons}
    # a block is the sender's problem; a soft bounce alone suppresses nothing; ignored types do nothing
    assert not suppressed & {
        "dana@example.net",
        "soft@example.net",
        "slow@example.net",
        "away@example.com",
        "suppressed@example.com",
    }

    status = read(run, "contact_status")

    def reason(email: str, list_id: str) -> str | None:
        [row] = status.filter((pl.col("email") == email) & (pl.col("list_id") == list_id)).to_dicts()
        return row["reason"]

    assert reason("megan@acme.example", "staff-news") == "hard_bounce"
    assert reason("jordan@realty.example", "offers") == "unsubscribed"
    assert reason("retry@example.com", "offers") == "unsubscribed"
    assert reason("new@example.com", "newsletter") == "complaint"
    assert reason("dana@example.net", "offers") is None  # Blocked: still sendable
    assert (
        "dana@example.net" in read(run, "sendable").filter(pl.col("list_id") == "offers")["email"].to_list()
    )


def test_end_to_end_a_customer_reactivation_is_reported_as_a_blocked_resubscribe(postmark_run):
    _, _, run = postmark_run
    blocked = read(run, "blocked_resubscribes").filter(pl.col("email") == "reactivated@example.com")
    [row] = blocked.to_dicts()
    assert row["attempted_at"] == utc("2026-11-20T10:00:00Z")
    assert row["why"].startswith("no evidence of consent")


def test_end_to_end_resent_webhooks_and_repeated_dumps_count_once(postmark_run):
    tmp_path, _, run = postmark_run
    with duckdb.connect(str(tmp_path / "state" / "sample.duckdb"), read_only=True) as con:
        marked = con.sql("""select row_number, is_duplicate from bounce_events
                            where email = 'megan@acme.example' and event_ref = '4100000001'
                            order by row_number""").fetchall()
        repeated = con.sql("""select f.path, e.row_number, e.is_duplicate from unsubscribe_events e
                              join input_files f using (file_id)
                              where e.email = 'retry@example.com' order by f.path""").fetchall()
    assert marked == [(1, False), (18, True)]  # the resent webhook is loaded but counted once
    assert [(Path(p).name, n, d) for p, n, d in repeated] == [
        ("suppressions-2026-11-20.json", 3, False),
        ("suppressions-2026-11-21.json", 3, True),
    ]

    manifest = json.loads((run / "manifest.json").read_text())
    entries = {Path(i["path"]).name: i for i in manifest["inputs"] if i["source"] == "postmark"}
    hooks = entries["webhooks-2026-11-20.jsonl"]
    assert (hooks["format"], hooks["records_read"], hooks["records_ignored"]) == ("postmark", 26, 4)
    assert (hooks["rows_read"], hooks["rows_loaded"], hooks["rows_quarantined"]) == (22, 15, 7)
    assert hooks["rows_duplicate"] == 1
    second_dump = entries["suppressions-2026-11-21.json"]
    assert (second_dump["rows_loaded"], second_dump["rows_quarantined"], second_dump["rows_duplicate"]) == (
        5,
        1,
        4,
    )


def test_explain_names_the_postmark_record_as_the_evidence(postmark_run):
    _, config, _ = postmark_run
    output = invoke("explain", "jordan@realty.example", "--config", config).output
    assert "postmark:webhooks-2026-11-20.jsonl row 15" in output
