"""Amazon SES notifications: every notification kind, envelopes, quarantine, resends, end to end."""

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
from listhygiene.errors import InputError
from listhygiene.ingest.platforms import read_platform

from conftest import copy_sample, invoke, latest, read

FIXTURES = Path(__file__).parent / "data" / "platforms" / "ses"
SES = Source("ses", None, "unused", format="ses")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@pytest.fixture(scope="module")
def notifications():
    return read_platform(FIXTURES / "notifications.jsonl", SES)


def rows_for(result, email: str) -> list[dict]:
    return result.rows.filter(pl.col("email_raw") == email).sort("row_number").to_dicts()


def test_a_permanent_bounce_in_an_sns_envelope_gives_one_hard_bounce_per_recipient(notifications):
    [gone, _resent] = rows_for(notifications, "Gone@Example.com")
    [moved, _] = rows_for(notifications, "moved@example.org")
    assert gone["row_number"] == moved["row_number"] == 1  # one record, two recipients
    assert (gone["event"], gone["bounce_type"], gone["smtp_code"], gone["enhanced_code"]) == (
        "bounce",
        "hard",
        550,
        "5.1.1",
    )
    assert gone["diagnostic"].startswith("smtp; 550 5.1.1")
    assert gone["occurred_at"] == utc("2026-11-20T03:12:00Z")
    assert moved["enhanced_code"] == "5.1.6"
    assert gone["event_ref"] == moved["event_ref"] == "0100-bounce-aaa"
    lineage = json.loads(gone["platform"])
    assert lineage == {
        "platform": "ses",
        "raw_type": "Bounce",
        "bounce_type": "Permanent",
        "bounce_subtype": "General",
        "message_id": "0100-msg-1",
        "feedback_id": "0100-bounce-aaa",
        "sns_message_id": "sns-1",
    }


def test_transient_undetermined_and_content_rejected_bounces(notifications):
    [full] = [r for r in rows_for(notifications, "full@example.net") if r["event"] == "bounce"]
    assert (full["bounce_type"], full["smtp_code"], full["enhanced_code"]) == ("soft", 452, "4.2.2")
    [strict] = rows_for(notifications, "strict@example.net")
    # the receiver refused the content, not the address: a block, never the recipient's fault
    assert strict["bounce_type"] == "block"
    [odd] = rows_for(notifications, "odd@example.com")
    assert odd["bounce_type"] == "unknown"
    assert odd["campaign_id"] == "C-17"  # event publishing: the message's campaign tag


def test_complaints_count_unless_the_receiver_says_not_spam(notifications):
    [angry] = rows_for(notifications, "angry@example.com")
    assert (angry["event"], angry["occurred_at"]) == ("complaint", utc("2026-11-20T05:00:00Z"))
    assert json.loads(angry["platform"])["feedback_type"] == "abuse"
    assert rows_for(notifications, "happy@example.com") == []  # not-spam is no complaint


def test_a_delivery_to_several_recipients_is_a_delivery_each(notifications):
    delivered = notifications.rows.filter(pl.col("event") == "delivered").sort("email_raw")
    assert delivered["email_raw"].to_list() == ["full@example.net", "reader@example.com"]
    assert delivered["event_ref"].unique().to_list() == ["delivery:0100-msg-6"]


def test_malformed_records_are_quarantined_with_their_reason_and_the_rest_loads(notifications):
    q = notifications.quarantine.sort("row_number")
    assert q.select("row_number", "column", "error").rows() == [
        (10, None, "line is not valid JSON"),
        (11, "email", "email is empty"),
        (12, "occurred_at", "occurred_at 'yesterday' is not an ISO 8601 timestamp"),
        (13, "notificationType", "unknown SES notification type 'Teleport'"),
    ]
    # the record itself is kept as read, so it can be fixed and replayed
    assert json.loads(q.filter(pl.col("row_number") == 13)["raw"][0])["notificationType"] == "Teleport"
    # record 11 had two recipients: the one without an address is quarantined, the other loads
    assert rows_for(notifications, "nobody@example.com")[0]["row_number"] == 11


def test_rows_read_are_loaded_plus_quarantined_and_ignored_records_are_counted(notifications):
    assert notifications.rows_read == notifications.rows_loaded + notifications.quarantine.height
    assert (notifications.records_read, notifications.records_ignored) == (
        14,
        3,
    )  # not-spam, Open, SNS confirmation
    assert notifications.rows_loaded == 11


def test_a_json_array_gzipped_reads_the_same_records(tmp_path):
    target = tmp_path / "bounces.json.gz"
    target.write_bytes(gzip.compress((FIXTURES / "bounce-array.json").read_bytes()))
    result = read_platform(target, SES)
    assert sorted(result.rows["email_raw"].to_list()) == [
        "Gone@Example.com",
        "angry@example.com",
        "moved@example.org",
    ]
    assert result.rows.filter(pl.col("email_raw") == "angry@example.com")["row_number"][0] == 2


def test_a_truncated_json_document_stops_with_the_file_named(tmp_path):
    target = tmp_path / "bounces.json"
    target.write_text((FIXTURES / "bounce-array.json").read_text()[:200])
    with pytest.raises(InputError) as caught:
        read_platform(target, SES)
    assert str(target) in str(caught.value)
    assert "not valid JSON" in str(caught.value)


def ses_pipeline(tmp_path: Path) -> Path:
    config = copy_sample(tmp_path)
    logs = tmp_path / "data" / "ses"
    logs.mkdir()
    shutil.copy(FIXTURES / "notifications.jsonl", logs / "notifications-2026-11-20.jsonl")
    text = config.read_text().replace("max_quarantine_fraction = 0.05", "max_quarantine_fraction = 0.5")
    config.write_text(text + '\n[[sources]]\nname = "ses"\nformat = "ses"\npath = "../data/ses/*.jsonl"\n')
    return config


def test_end_to_end_ses_events_suppress_and_resends_count_once(tmp_path):
    config = ses_pipeline(tmp_path)
    invoke("run", "--config", config, "--as-of", "2026-11-21T06:00:00Z")
    run = latest(config)

    suppressions = read(run, "suppressions")
    by_email = {r["email"]: r for r in suppressions.filter(pl.col("source") == "ses").to_dicts()}
    assert by_email["gone@example.com"]["reason"] == "hard_bounce"
    assert by_email["angry@example.com"]["reason"] == "complaint"
    assert "strict@example.net" not in by_email  # a content block is not the address's fault
    assert "happy@example.com" not in by_email

    with duckdb.connect(str(tmp_path / "state" / "sample.duckdb"), read_only=True) as con:
        marked = con.sql("""select row_number, is_duplicate from bounce_events
                            where email = 'gone@example.com' and event_ref = '0100-bounce-aaa'
                            order by row_number""").fetchall()
        kept = con.sql(
            "select platform->>'$.message_id' from bounce_events "
            "where email = 'angry@example.com' and platform is not null"
        ).fetchall()
    assert marked == [(1, False), (14, True)]  # the SNS resend is loaded but counted once
    assert kept == [("0100-msg-4",)]

    manifest = json.loads((run / "manifest.json").read_text())
    [entry] = [i for i in manifest["inputs"] if i["source"] == "ses"]
    assert (entry["format"], entry["records_read"], entry["records_ignored"]) == ("ses", 14, 3)
    assert (entry["rows_read"], entry["rows_loaded"], entry["rows_quarantined"]) == (15, 11, 4)
    assert entry["rows_duplicate"] == 2


def test_explain_names_the_notification_as_the_evidence(tmp_path):
    config = ses_pipeline(tmp_path)
    invoke("run", "--config", config, "--as-of", "2026-11-21T06:00:00Z")
    output = invoke("explain", "angry@example.com", "--config", config).output
    assert "because: spam complaint" in output
    # the timeline's line of the notification (the consent ledger's section cites it too)
    timeline = output[output.index("Timeline") :]
    [line] = [
        candidate
        for candidate in timeline.splitlines()
        if "ses:notifications-2026-11-20.jsonl row 4" in candidate
        and not candidate.strip().startswith("because")
    ]
    assert "complaint" in line and "ses Complaint message 0100-msg-4" in line

    answer = json.loads(invoke("-q", "explain", "angry@example.com", "--config", config, "--json").stdout)
    [event] = [e for e in answer["timeline"] if e["source"] == "ses"]
    assert event["platform"]["feedback_id"] == "0100-complaint-ddd"
    assert event["platform"]["feedback_type"] == "abuse"


def test_a_file_of_only_bad_lines_loads_nothing_and_quarantines_each(tmp_path):
    target = tmp_path / "broken.jsonl"
    target.write_text("{not json\n[1, 2]\n")
    result = read_platform(target, SES)
    assert (result.rows_loaded, result.rows_read, result.records_ignored) == (0, 2, 0)
    assert result.quarantine["error"].to_list() == [
        "line is not valid JSON",
        "line is JSON but not an object",
    ]
