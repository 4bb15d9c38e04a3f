"""Mailgun events: Events API pages and webhook bodies, every event kind, quarantine, resends, end to end."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from listhygiene.config import Source
from listhygiene.ingest.platforms import read_platform

from conftest import copy_sample, invoke, latest, read

FIXTURES = Path(__file__).parent / "data" / "platforms" / "mailgun"
MAILGUN = Source("mailgun", None, "unused", format="mailgun")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@pytest.fixture(scope="module")
def page():
    return read_platform(FIXTURES / "events-page.json", MAILGUN)


@pytest.fixture(scope="module")
def webhooks():
    return read_platform(FIXTURES / "webhooks.jsonl", MAILGUN)


def bounces_for(result, email: str) -> list[dict]:
    return result.rows.filter(pl.col("email_raw") == email).sort("row_number").to_dicts()


def unsubscribes_for(result, email: str) -> list[dict]:
    frame = result.other_rows.get("unsubscribes")
    if frame is None:
        return []
    return frame.filter(pl.col("email_raw") == email).sort("row_number").to_dicts()


def test_a_permanent_failure_gives_codes_diagnostic_campaign_and_lineage(page):
    [gone] = bounces_for(page, "Gone.MG@Example.com")
    assert gone["row_number"] == 3  # the third item of the page
    assert (gone["event"], gone["bounce_type"], gone["smtp_code"], gone["enhanced_code"]) == (
        "bounce",
        "hard",
        550,
        "5.1.1",
    )
    assert gone["diagnostic"] == "5.1.1 The email account that you tried to reach does not exist"
    assert gone["occurred_at"] == utc("2026-11-20T01:01:00.5Z")  # epoch seconds with a fraction
    assert gone["campaign_id"] == "C-30"  # the campaign_id user variable, not the tag
    assert gone["event_ref"] == "mg-ev-03@2026-11-20T01:01:00.500000Z"
    lineage = json.loads(gone["platform"])
    assert {k: v for k, v in lineage.items() if v is not None} == {
        "platform": "mailgun",
        "raw_event": "failed",
        "event_id": "mg-ev-03",
        "message_id": "20261120010000.3@mg.shop.example",
        "severity": "permanent",
        "reason": "bounce",
        "delivery_status_code": "550",
        "log_level": "error",
        "tags": ["november-deals"],
        "webhook": False,
    }
    assert "future-field" not in lineage  # unknown keys are ignored


def test_failure_reasons_decide_what_a_permanent_failure_is(page):
    [old] = bounces_for(page, "old.mg@example.com")  # suppress-bounce: on Mailgun's bounce list
    assert (old["event"], old["bounce_type"], old["smtp_code"], old["diagnostic"]) == (
        "bounce",
        "hard",
        None,
        "Not delivering to previously bounced address",
    )  # 605 is Mailgun's own code
    [blocked] = bounces_for(page, "blocked@example.com")  # espblock: the receiver refused the sender
    assert (blocked["bounce_type"], blocked["smtp_code"], blocked["enhanced_code"]) == ("block", 554, "5.7.1")
    [full] = bounces_for(page, "full.mg@example.com")  # old: retries ran out on a temporary trouble
    assert (full["bounce_type"], full["smtp_code"], full["enhanced_code"]) == ("soft", 452, "4.2.2")
    [reported] = bounces_for(page, "reported.mg@example.com")  # suppress-complaint
    assert (reported["event"], reported["diagnostic"], reported["occurred_at"]) == (
        "complaint",
        "Not delivering to a user who marked your messages as spam",
        utc("2026-11-20T01:05:00Z"),
    )
    [left] = unsubscribes_for(page, "left.mg@example.com")  # suppress-unsubscribe
    assert (left["event"], left["list_id"], left["origin"], left["reason"]) == (
        "unsubscribe",
        None,
        "contact",
        "Mailgun did not send: Not delivering to unsubscribed address",
    )
    assert bounces_for(page, "left.mg@example.com") == []
    # a temporary failure is Mailgun retrying, not a bounce
    assert bounces_for(page, "slow.mg@example.com") == []


def test_deliveries_complaints_unsubscribes_and_ignored_events(page):
    [delivered] = bounces_for(page, "dana@example.net")  # accepted, opened, clicked: ignored
    assert (delivered["event"], delivered["occurred_at"], delivered["event_ref"]) == (
        "delivered",
        utc("2026-11-20T01:00:10.123456Z"),
        "mg-ev-02@2026-11-20T01:00:10.123456Z",
    )
    [angry] = bounces_for(page, "angry.mg@example.com")
    assert (angry["event"], angry["campaign_id"], angry["diagnostic"]) == ("complaint", "C-30", None)
    [busy] = unsubscribes_for(page, "busy@example.com")
    assert (busy["event"], busy["list_id"], busy["origin"], busy["reason"], busy["occurred_at"]) == (
        "unsubscribe",
        None,
        "contact",
        "Mailgun unsubscribe",
        utc("2026-11-20T02:02:00Z"),
    )


def test_page_quarantine_and_counts(page):
    assert page.quarantine.sort("row_number").select("row_number", "column", "error").rows() == [
        (14, "severity", "failed event without severity (permanent or temporary)"),
        (15, "event", "unknown Mailgun event 'teleported'"),
    ]
    # ignored: accepted, temporary failure, opened, clicked
    assert (page.records_read, page.records_ignored) == (15, 4)
    assert (page.rows.height, page.other_rows["unsubscribes"].height) == (7, 2)


def test_webhook_bodies_one_per_line(webhooks):
    [gone, next_day] = bounces_for(webhooks, "Gone.MG@Example.com")
    # the same event as the page's item 3: the same reference, so it is counted once
    assert (gone["row_number"], gone["event_ref"]) == (1, "mg-ev-03@2026-11-20T01:01:00.500000Z")
    assert json.loads(gone["platform"])["webhook"] is True
    # Mailgun reuses an id on another day: with its time it is another event
    assert (next_day["row_number"], next_day["event_ref"]) == (7, "mg-ev-03@2026-11-21T03:00:00.500000Z")
    [ops] = unsubscribes_for(webhooks, "ops@xn--bcher-kva.example")
    # a mailing-list unsubscribe is global (Mailgun's list is not one of ours); legacy campaign id
    assert (ops["list_id"], ops["campaign_id"], ops["occurred_at"]) == (
        None,
        "camp-7",
        utc("2026-11-20T03:00:00.25Z"),
    )
    assert json.loads(ops["platform"])["mailing_list"] == "offers@mg.shop.example"
    [new] = bounces_for(webhooks, "new@example.com")  # "Delivered": names are case-insensitive
    assert new["event"] == "delivered"
    assert webhooks.quarantine.sort("row_number").select("row_number", "column", "error").rows() == [
        (4, None, "line is not valid JSON"),
        (5, "occurred_at", "occurred_at 'yesterday' is not an ISO 8601 timestamp"),
        (6, "email", "email is empty"),
    ]
    assert (webhooks.records_read, webhooks.records_ignored, webhooks.rows_loaded) == (7, 0, 4)


def test_webhook_bodies_as_a_gzipped_array(tmp_path):
    target = tmp_path / "webhooks.json.gz"
    target.write_bytes(gzip.compress((FIXTURES / "webhooks-array.json").read_bytes()))
    result = read_platform(target, MAILGUN)
    [busy] = unsubscribes_for(result, "busy@example.com")
    assert (busy["row_number"], busy["event_ref"]) == (1, "mg-ev-11@2026-11-20T02:02:00.000000Z")
    assert (result.records_read, result.records_ignored, result.rows.height) == (
        2,
        1,
        0,
    )  # temporary espblock


def mailgun_pipeline(tmp_path: Path) -> Path:
    config = copy_sample(tmp_path)
    logs = tmp_path / "data" / "mailgun"
    logs.mkdir()
    shutil.copy(FIXTURES / "events-page.json", logs / "events-2026-11-20.json")
    shutil.copy(FIXTURES / "webhooks.jsonl", logs / "webhooks-2026-11-20.jsonl")
    shutil.copy(FIXTURES / "webhooks-array.json", logs / "webhooks-2026-11-20b.json")
    text = config.read_text().replace("max_quarantine_fraction = 0.05", "max_quarantine_fraction = 0.5")
    config.write_text(
        text + '\n[[sources]]\nname = "mailgun"\nformat = "mailgun"\npath = "../data/mailgun/*.json*"\n'
    )
    return config


def test_end_to_end_mailgun_events_suppress_and_resends_count_once(tmp_path):
    config = mailgun_pipeline(tmp_path)
    invoke("run", "--config", config, "--as-of", "2026-11-21T06:00:00Z")
    run = latest(config)

    suppressions = read(run, "suppressions").filter(pl.col("source") == "mailgun")
    got = {(r["email"], r["scope"]): r["reason"] for r in suppressions.to_dicts()}
    assert got == {
        ("gone.mg@example.com", "global"): "hard_bounce",
        ("old.mg@example.com", "global"): "hard_bounce",
        ("angry.mg@example.com", "global"): "complaint",
        ("reported.mg@example.com", "global"): "complaint",
        ("left.mg@example.com", "global"): "unsubscribed",
        ("busy@example.com", "global"): "unsubscribed",
        ("ops@xn--bcher-kva.example", "global"): "unsubscribed",
    }
    assert "full.mg@example.com" not in {e for e, _ in got}  # one soft bounce is no suppression

    def status(email: str) -> dict:
        frame = read(run, "contact_status").filter(
            (pl.col("email") == email) & (pl.col("list_id") == "offers")
        )
        return frame.row(0, named=True)

    assert status("busy@example.com")["reason"] == "unsubscribed"
    assert status("blocked@example.com")["sendable"]  # an ESP block never counts against the recipient
    assert status("jordan@realty.example")["sendable"]  # a temporary failure is no bounce

    with duckdb.connect(str(tmp_path / "state" / "sample.duckdb"), read_only=True) as con:
        bounce_marks = con.sql("""select regexp_extract(f.path, '[^/]+$'), b.row_number, b.is_duplicate
                                  from bounce_events b join input_files f using (file_id)
                                  where b.email = 'gone.mg@example.com' order by f.path, b.row_number""").fetchall()
        unsubscribe_marks = con.sql("""select regexp_extract(f.path, '[^/]+$'), u.row_number, u.is_duplicate
                                       from unsubscribe_events u join input_files f using (file_id)
                                       where u.email = 'busy@example.com' order by f.path""").fetchall()
    # the webhook and the Events API page report the same failure: loaded, counted once
    assert bounce_marks == [
        ("events-2026-11-20.json", 3, False),
        ("webhooks-2026-11-20.jsonl", 1, True),
        ("webhooks-2026-11-20.jsonl", 7, False),
    ]
    assert unsubscribe_marks == [
        ("events-2026-11-20.json", 11, False),
        ("webhooks-2026-11-20b.json", 1, True),
    ]

    manifest = json.loads((run / "manifest.json").read_text())
    entries = {Path(i["path"]).name: i for i in manifest["inputs"] if i["source"] == "mailgun"}
    assert (
        entries["events-2026-11-20.json"]["rows_loaded"],
        entries["events-2026-11-20.json"]["rows_quarantined"],
    ) == (9, 2)
    assert entries["webhooks-2026-11-20.jsonl"]["rows_duplicate"] == 1
