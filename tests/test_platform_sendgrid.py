"""SendGrid Event Webhook: every event kind, drops, groups, quarantine, resends, end to end."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from listhygiene.config import Source, load_config
from listhygiene.ingest.platforms import read_platform

from conftest import copy_sample, invoke, latest, read

FIXTURES = Path(__file__).parent / "data" / "platforms" / "sendgrid"
SENDGRID = Source("sendgrid", None, "unused", format="sendgrid", groups={"42": "offers"})


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@pytest.fixture(scope="module")
def events():
    return read_platform(FIXTURES / "events.jsonl", SENDGRID)


def bounces_for(result, email: str) -> list[dict]:
    return result.rows.filter(pl.col("email_raw") == email).sort("row_number").to_dicts()


def unsubscribes_for(result, email: str) -> list[dict]:
    frame = result.other_rows["unsubscribes"]
    return frame.filter(pl.col("email_raw") == email).sort("row_number").to_dicts()


def test_a_bounce_gives_codes_diagnostic_campaign_and_lineage(events):
    [gone, resent] = bounces_for(events, "Gone.SG@Example.com")
    assert (gone["row_number"], resent["row_number"]) == (3, 22)
    assert (gone["event"], gone["bounce_type"], gone["smtp_code"], gone["enhanced_code"]) == (
        "bounce",
        "hard",
        550,
        "5.1.1",
    )
    assert gone["diagnostic"] == "550 5.1.1 The mailbox you tried to reach does not exist"
    assert gone["occurred_at"] == utc("2026-11-20T01:01:00Z")  # epoch seconds, in UTC
    # the sender's campaign_id custom argument wins over the single send
    assert gone["campaign_id"] == "C-20"
    assert gone["event_ref"] == resent["event_ref"] == "sg-ev-03"
    lineage = json.loads(gone["platform"])
    assert {k: v for k, v in lineage.items() if v is not None} == {
        "platform": "sendgrid",
        "raw_event": "bounce",
        "sg_event_id": "sg-ev-03",
        "sg_message_id": "msg-03.filter-1",
        "type": "bounce",
        "bounce_classification": "Invalid Address",
        "reason": "550 5.1.1 The mailbox you tried to reach does not exist",
        "status": "5.1.1",
        "singlesend_id": "ss-nov-deals",
    }
    assert "future_field" not in lineage  # unknown keys are ignored


def test_a_blocked_bounce_is_a_block_not_the_address(events):
    [blocked] = bounces_for(events, "blocked@example.com")
    assert (blocked["event"], blocked["bounce_type"], blocked["smtp_code"], blocked["enhanced_code"]) == (
        "bounce",
        "block",
        554,
        "5.7.1",
    )
    assert json.loads(blocked["platform"])["bounce_classification"] == "Reputation"


def test_drops_count_only_when_their_reason_is_about_the_address(events):
    [old] = bounces_for(events, "old.sg@example.com")
    assert (old["event"], old["bounce_type"], old["diagnostic"], old["occurred_at"], old["event_ref"]) == (
        "bounce",
        "hard",
        "SendGrid dropped the message: Bounced Address",
        utc("2026-11-20T01:03:00Z"),
        "sg-ev-05",
    )
    assert old["enhanced_code"] is None  # the drop's 5.0.0 is SendGrid's, not a receiver's reply
    [typo] = bounces_for(events, "typo.sg@example.com")
    assert (typo["bounce_type"], typo["diagnostic"]) == ("hard", "SendGrid dropped the message: Invalid")
    [reported] = bounces_for(events, "reported.sg@example.com")
    assert (reported["event"], reported["diagnostic"]) == (
        "complaint",
        "SendGrid dropped the message: Spam Reporting Address",
    )
    [left] = unsubscribes_for(events, "left.sg@example.com")
    assert (left["event"], left["list_id"], left["origin"], left["reason"], left["campaign_id"]) == (
        "unsubscribe",
        None,
        "contact",
        "SendGrid dropped the message: Unsubscribed Address",
        "C-20",
    )
    # spam content: SendGrid's filter judged the message, not the recipient
    assert bounces_for(events, "content.sg@example.com") == []


def test_deliveries_complaints_and_ignored_events(events):
    [delivered] = bounces_for(events, "dana@example.net")  # processed, open: ignored
    assert (delivered["event"], delivered["campaign_id"], delivered["event_ref"]) == (
        "delivered",
        "ss-nov-deals",
        "sg-ev-02",
    )
    assert json.loads(delivered["platform"])["category"] == ["newsletter"]
    [angry] = bounces_for(events, "angry.sg@example.com")
    assert (angry["event"], angry["occurred_at"], angry["campaign_id"]) == (
        "complaint",
        utc("2026-11-20T02:00:00Z"),
        "C-20",
    )
    assert bounces_for(events, "slow.sg@example.com") == []  # a deferral is no bounce
    assert bounces_for(events, "click.sg@example.com") == []  # "CLICK": names are case-insensitive


def test_unsubscribes_and_groups_become_list_events(events):
    [busy] = unsubscribes_for(events, "busy@example.com")
    assert (busy["event"], busy["list_id"], busy["origin"], busy["occurred_at"], busy["event_ref"]) == (
        "unsubscribe",
        None,
        "contact",
        utc("2026-11-20T02:01:00Z"),
        "sg-ev-12",
    )
    [out, back] = unsubscribes_for(events, "retry@example.com")
    assert (out["event"], out["list_id"], out["reason"]) == (
        "unsubscribe",
        "offers",
        "SendGrid group unsubscribe (group 42)",
    )
    assert (back["event"], back["list_id"], back["evidence"], back["evidence_ref"], back["occurred_at"]) == (
        "resubscribe",
        "offers",
        "signup_form",
        "SendGrid preference centre, event sg-ev-14",
        utc("2026-11-20T03:00:00Z"),
    )
    # "Group_Unsubscribe" with the group id as text: the same event
    [ops] = unsubscribes_for(events, "ops@xn--bcher-kva.example")
    assert (ops["event"], ops["list_id"]) == ("unsubscribe", "offers")


def test_malformed_records_and_unmapped_groups_are_quarantined_and_the_rest_loads(events):
    q = events.quarantine.sort("row_number")
    assert q.select("row_number", "column", "error").rows() == [
        (
            15,
            "asm_group_id",
            "SendGrid unsubscribe group 77 is not mapped to a list; add it to the "
            'source\'s groups (groups = { "77" = "<list id>" })',
        ),
        (18, None, "line is not valid JSON"),
        (19, "event", "unknown SendGrid event 'teleport'"),
        (20, "occurred_at", "occurred_at 'yesterday' is not an ISO 8601 timestamp"),
        (21, "email", "email is empty"),
    ]
    assert not any("@" in error for error in q["error"].to_list())  # no address in an error
    assert json.loads(q.filter(pl.col("row_number") == 15)["raw"][0])["asm_group_id"] == 77


def test_counts_of_records_rows_and_ignored(events):
    # ignored: processed, Spam Content drop, deferred, open, CLICK
    assert (events.records_read, events.records_ignored) == (23, 5)
    assert (events.rows.height, events.other_rows["unsubscribes"].height) == (8, 5)
    assert events.rows_read == 8 + 5 + events.quarantine.height


def test_a_webhook_post_body_array_reads_the_same(tmp_path):
    result = read_platform(FIXTURES / "webhook-batch.json", SENDGRID)
    [new] = bounces_for(result, "new@example.com")
    assert (new["row_number"], new["event"], new["campaign_id"], new["occurred_at"]) == (
        2,
        "delivered",
        "9001",
        utc("2026-11-20T04:00:00Z"),
    )
    [busy] = unsubscribes_for(result, "busy@example.com")
    assert (busy["row_number"], busy["event_ref"]) == (1, "sg-ev-12")


def test_the_pipeline_file_maps_groups_to_lists(tmp_path):
    config = sendgrid_pipeline(tmp_path)
    [source] = [s for s in load_config(config).sources if s.name == "sendgrid"]
    assert (source.format, source.kind, source.groups) == ("sendgrid", None, {"42": "offers"})


def sendgrid_pipeline(tmp_path: Path) -> Path:
    config = copy_sample(tmp_path)
    logs = tmp_path / "data" / "sendgrid"
    logs.mkdir()
    shutil.copy(FIXTURES / "events.jsonl", logs / "events-2026-11-20.jsonl")
    shutil.copy(FIXTURES / "webhook-batch.json", logs / "webhook-batch-2026-11-20.json")
    text = config.read_text().replace("max_quarantine_fraction = 0.05", "max_quarantine_fraction = 0.5")
    config.write_text(
        text + '\n[[sources]]\nname = "sendgrid"\nformat = "sendgrid"\n'
        'path = "../data/sendgrid/*.json*"\ngroups = { "42" = "offers" }\n'
    )
    return config


def test_end_to_end_sendgrid_events_suppress_and_resends_count_once(tmp_path):
    config = sendgrid_pipeline(tmp_path)
    invoke("run", "--config", config, "--as-of", "2026-11-21T06:00:00Z")
    run = latest(config)

    suppressions = read(run, "suppressions").filter(pl.col("source") == "sendgrid")
    got = {(r["email"], r["scope"]): r["reason"] for r in suppressions.to_dicts()}
    assert got == {
        ("gone.sg@example.com", "global"): "hard_bounce",
        ("old.sg@example.com", "global"): "hard_bounce",
        ("typo.sg@example.com", "global"): "hard_bounce",
        ("angry.sg@example.com", "global"): "complaint",
        ("reported.sg@example.com", "global"): "complaint",
        ("left.sg@example.com", "global"): "unsubscribed",
        ("busy@example.com", "global"): "unsubscribed",
        ("ops@xn--bcher-kva.example", "offers"): "list_unsubscribed",
    }

    def status(email: str) -> dict:
        frame = read(run, "contact_status").filter(
            (pl.col("email") == email) & (pl.col("list_id") == "offers")
        )
        return frame.row(0, named=True)

    assert (status("busy@example.com")["sendable"], status("busy@example.com")["reason"]) == (
        False,
        "unsubscribed",
    )
    assert status("ops@xn--bcher-kva.example")["reason"] == "list_unsubscribed"
    assert status("retry@example.com")["sendable"]  # group resubscribe after the group unsubscribe
    assert status("blocked@example.com")["sendable"]  # a block never counts against the recipient

    with duckdb.connect(str(tmp_path / "state" / "sample.duckdb"), read_only=True) as con:
        bounce_marks = con.sql("""select row_number, is_duplicate from bounce_events
                                  where email = 'gone.sg@example.com' order by row_number""").fetchall()
        unsubscribe_marks = con.sql("""select f.path like '%webhook-batch%', u.row_number, u.is_duplicate
                                       from unsubscribe_events u join input_files f using (file_id)
                                       where u.email = 'busy@example.com' and u.event_ref = 'sg-ev-12'
                                       order by f.path""").fetchall()
    assert bounce_marks == [(3, False), (22, True)]  # resent in the same file: counted once
    # the webhook re-posted the unsubscribe in another batch: loaded, counted once
    assert unsubscribe_marks == [(False, 12, False), (True, 1, True)]

    manifest = json.loads((run / "manifest.json").read_text())
    entries = {Path(i["path"]).name: i for i in manifest["inputs"] if i["source"] == "sendgrid"}
    events_entry = entries["events-2026-11-20.jsonl"]
    assert (events_entry["format"], events_entry["records_read"], events_entry["records_ignored"]) == (
        "sendgrid",
        23,
        5,
    )
    assert (events_entry["rows_loaded"], events_entry["rows_quarantined"]) == (13, 5)
