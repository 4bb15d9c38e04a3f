"""format = "dsn": a bounce mailbox (Maildir and mbox) read end to end, message by message and through `listhygiene run`."""

from __future__ import annotations

import json
import random
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import polars as pl
import pytest

from listhygiene.config import Source
from listhygiene.errors import ConfigError
from listhygiene.ingest.dsn import NotABounce, Options, read_message, split_messages
from listhygiene.ingest.platforms import read_platform
from listhygiene.rules.bounces import classify_frame, load_ruleset

from conftest import copy_sample, invoke, latest, read

FIXTURES = Path(__file__).parent / "data" / "dsn"
MAILDIR = FIXTURES / "maildir"
MESSAGES = FIXTURES / "messages"  # one message a file, each for one shape of bounce (or non-bounce)
VERP = r"\+([A-Za-z]+-\d+)-"  # bounces+C-18-x=acme.example@news.example.org -> C-18
MAILBOX = Source("mailbox", None, "unused", format="dsn", campaign_verp=VERP)


def message(name: str) -> Path:
    [path] = MAILDIR.glob(f"*/{name}*")
    return path


def rows_of(path: Path, source: Source = MAILBOX) -> list[dict]:
    return read_platform(path, source).rows.sort("row_number", "email_raw").to_dicts()


# --- one message at a time ----------------------------------------------------------------------


def test_a_postfix_dsn_is_one_bounce_with_codes_arrival_date_and_campaign():
    [row] = rows_of(message("1764800000"))
    assert (row["email_raw"], row["event"], row["smtp_code"], row["enhanced_code"]) == (
        "gone@acme.example",
        "bounce",
        550,
        "5.1.1",
    )
    assert row["diagnostic"].startswith("smtp; 550 5.1.1 <gone@acme.example>: Recipient address rejected")
    assert "virtual mailbox table" in row["diagnostic"]  # the folded Diagnostic-Code, unfolded
    assert row["occurred_at"].isoformat() == "2026-11-20T07:30:58+00:00"  # Arrival-Date, not Date
    assert row["campaign_id"] == "C-17"  # X-Campaign-Id of the returned headers
    lineage = json.loads(row["platform"])
    assert lineage["message_type"] == "dsn" and lineage["reporting_mta"] == "mail.news.example.org"
    assert row["event_ref"] == "<20261120073102.4B2C01A0@mail.news.example.org>#0"


def test_a_multi_recipient_dsn_gives_a_row_per_failed_recipient_and_none_for_the_delayed_one():
    rows = rows_of(message("1764800200"))
    assert [(r["email_raw"], r["enhanced_code"], r["campaign_id"]) for r in rows] == [
        ("ann@acme.example", "5.1.10", "C-19"),
        ("bob@acme.example", "5.2.2", "C-19"),
    ]
    assert {r["row_number"] for r in rows} == {1}  # one message, its position in the file


def test_a_plain_exim_bounce_finds_address_reply_and_the_verp_campaign():
    [row] = rows_of(message("1764800100"))
    assert (row["email_raw"], row["smtp_code"], row["enhanced_code"], row["campaign_id"]) == (
        "full@acme.example",
        552,
        "5.2.2",
        "C-18",
    )
    assert "Mailbox full, quota exceeded" in row["diagnostic"]
    assert row["occurred_at"].isoformat() == "2026-11-21T02:12:40+00:00"  # the message Date, in UTC
    # without a VERP pattern the campaign is unknown
    [plain] = rows_of(message("1764800100"), Source("m", None, "unused", format="dsn"))
    assert plain["campaign_id"] is None


def test_an_abuse_report_is_a_complaint_of_its_original_recipient():
    [row] = rows_of(message("1764800400"))
    assert (row["email_raw"], row["event"], row["campaign_id"]) == ("angry@isp.example", "complaint", "C-17")
    assert row["occurred_at"].isoformat() == "2026-11-24T07:50:00+00:00"


@pytest.mark.parametrize(("name", "kind"), [("1764800300", "delay"), ("1764800500", "auto_reply")])
def test_delay_notices_and_auto_replies_are_recognised_and_yield_no_row(name, kind):
    data = message(name).read_bytes()
    assert read_message(data, Options())["type"] == kind
    result = read_platform(message(name), MAILBOX)
    assert (result.rows_loaded, result.quarantine.height, result.records_ignored) == (0, 0, 1)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("1764800600", "truncated message: its MIME body ends before the closing boundary"),
        ("1764800700", "not an email message (it does not start with header lines)"),
    ],
)
def test_a_truncated_message_and_a_non_email_file_are_quarantined_with_the_reason(name, reason):
    result = read_platform(message(name), MAILBOX)
    assert result.rows_loaded == 0
    assert result.quarantine.select("row_number", "error").to_dicts() == [{"row_number": 1, "error": reason}]


def test_an_mbox_is_split_into_messages_numbered_by_position():
    data = (FIXTURES / "bounces.mbox").read_bytes()
    messages = split_messages(data)
    assert len(messages) == 4
    assert b"\nFrom the team: happy holidays." in messages[0]  # ">From " unescaped
    result = read_platform(FIXTURES / "bounces.mbox", MAILBOX)
    assert [(r["row_number"], r["email_raw"], r["campaign_id"]) for r in result.rows.to_dicts()] == [
        (1, "nobody@qmail.example.net", "C-20"),  # qmail: plain text, the header quoted in the copy
        (2, "eve@gmail.example", "C-21"),  # Gmail's DSN; the campaign from the VERP To
        (3, "kurt@firma.example", "C-22"),  # German Exchange: the reason from the text part
    ]
    assert "Postfach des Empfängers ist voll" in result.rows["diagnostic"][2]  # quoted-printable decoded
    [bad] = result.quarantine.to_dicts()
    assert bad["row_number"] == 4 and bad["error"].startswith("not a bounce, feedback report or auto-reply")
    assert result.rows_read == result.rows_loaded + result.quarantine.height == 4


def test_report_fields_written_in_a_text_part_are_read_as_a_delivery_status_report():
    """Amazon WorkMail writes its RFC 3464 fields as text ("Technical report:"), with no
    message/delivery-status part: they are read as one, the Diagnostic-Code the diagnostic."""
    result = read_platform(MESSAGES / "workmail-report-in-text.eml", MAILBOX)
    assert (result.rows_read, result.rows_loaded, result.quarantine.height) == (1, 1, 0)
    [row] = result.rows.to_dicts()
    assert (row["email_raw"], row["event"], row["smtp_code"], row["enhanced_code"], row["campaign_id"]) == (
        "user@example.net",
        "bounce",
        550,
        "5.1.1",
        "C-23",
    )
    assert row["diagnostic"] == (
        "smtp; 550 5.1.1 <user@example.net>: Recipient address rejected: User unknown in relay recipient table"
    )
    lineage = json.loads(row["platform"])
    assert (lineage["message_type"], lineage["reporting_mta"]) == ("dsn", "mx.example.net")
    [classified] = classify_frame(result.rows, load_ruleset()).to_dicts()
    assert (classified["bounce_class"], classified["bounce_rule"]) == ("hard", "user-unknown")
    # without its Diagnostic-Code the reason is the people's paragraph, never the fields
    data = (MESSAGES / "workmail-report-in-text.eml").read_bytes()
    bare = data.replace(
        b"Diagnostic-Code: smtp; 550 5.1.1 <user@example.net>: Recipient address reje=\n", b""
    )
    [recipient] = read_message(
        bare.replace(b"cted: User unknown in relay recipient table\n", b""), Options()
    )["recipients"]
    assert (recipient["status"], recipient["diagnostic"]) == (
        "5.1.1",
        "An error occurred while trying to deliver the mail to the following recipients: user@example.net",
    )


def test_an_address_named_in_two_spellings_takes_the_paragraph_with_the_receivers_reply():
    """Office 365 names the address first (with its display form and another case) over a
    generic "A communication failure occurred…", then, for administrators, over the reply:
    the row carries the reply, with or without a delivery-status part lacking a Diagnostic-Code."""
    data = (MESSAGES / "office365-two-spellings.eml").read_bytes()
    report = data.replace(b"multipart/mixed", b"multipart/report; report-type=delivery-status").replace(
        b"--ndr-1\nContent-Type: text/rfc822-headers",
        b"--ndr-1\nContent-Type: message/delivery-status\n\nReporting-MTA: dns;mx.example.net\n\n"
        b"Final-Recipient: rfc822;User@Example.net\nAction: failed\nStatus: 5.4.1\n"
        b"X-Display-Name: User@Example.net\n\n--ndr-1\nContent-Type: text/rfc822-headers",
    )
    reply = (
        "user@example.net mx.example.net Remote Server returned '550 5.4.1 Recipient address rejected: "
        "Access denied. [mx.example.net 2026-11-27T06:10:11.001Z 08DBEC564562FCD2]'"
    )
    for message, kind in ((data, "plain_bounce"), (report, "dsn")):
        read = read_message(message, Options())
        [recipient] = read["recipients"]
        assert (read["type"], recipient["status"], recipient["diagnostic"]) == (kind, "5.4.1", reply)
    result = read_platform(MESSAGES / "office365-two-spellings.eml", MAILBOX)
    assert (result.rows_read, result.rows_loaded, result.quarantine.height) == (1, 1, 0)
    [row] = classify_frame(result.rows, load_ruleset()).to_dicts()
    assert (row["email_raw"], row["campaign_id"], row["reply_smtp_code"], row["reply_enhanced_code"]) == (
        "user@example.net",
        "C-24",
        550,
        "5.4.1",
    )
    # an address named in a paragraph with other addresses keeps its own paragraph
    two = data.replace(
        b"user@example.net\nmx.example.net", b"user@example.net other@example.net\nmx.example.net"
    )
    assert "A communication failure" in read_message(two, Options())["recipients"][0]["diagnostic"]


def test_office_365s_newer_layout_gives_the_reported_error_under_error_details():
    """Office 365's newer notice names the recipient under "Original Message Details" (no reason
    there) and gives the reply under "Error Details" ("Reported error: …", then "DSN generated
    by:"): the text is not cut at the details, and the reported error is the diagnostic, whether
    the notice is plain, a report without Diagnostic-Code, or its reply names the address."""
    data = (MESSAGES / "office365-error-details.eml").read_bytes()
    reply = "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
    named = data.replace(b"Recipient not fo=\nund", b"Recipient user@example.net not fo=\nund")
    report = data.replace(b"multipart/mixed", b"multipart/report; report-type=delivery-status").replace(
        b"--ndr-a\nContent-Type: message/rfc822",
        b"--ndr-a\nContent-Type: message/delivery-status\n\nReporting-MTA: dns;mx.example.net\n\n"
        b"Final-Recipient: rfc822;user@example.net\nAction: failed\nStatus: 5.1.10\n\n"
        b"--ndr-a\nContent-Type: message/rfc822",
    )
    cases = (
        (data, "plain_bounce", reply),
        (named, "plain_bounce", reply.replace("Recipient not", "Recipient user@example.net not")),
        (report, "dsn", reply),
    )
    for message, kind, said in cases:
        read = read_message(message, Options())
        [recipient] = read["recipients"]
        assert (read["type"], recipient["status"], recipient["smtp_code"]) == (kind, "5.1.10", "550")
        assert recipient["diagnostic"] == said
    result = read_platform(MESSAGES / "office365-error-details.eml", MAILBOX)
    assert (result.rows_read, result.rows_loaded, result.quarantine.height) == (1, 1, 0)
    [row] = classify_frame(result.rows, load_ruleset()).to_dicts()
    assert (row["email_raw"], row["campaign_id"], row["bounce_class"]) == ("user@example.net", "C-31", "hard")


def test_exims_text_generated_during_the_delivery_attempt_is_the_reason():
    """Exim's "The following text was generated during the delivery attempt:" is followed by a
    "------ address ------" heading and, in the next paragraph, the reply or the local agent's
    output: that is the address's diagnostic, and addresses inside it are not recipients."""
    path = MESSAGES / "exim-generated-text.eml"
    result = read_platform(path, MAILBOX)
    assert (result.rows_read, result.rows_loaded, result.quarantine.height) == (1, 1, 0)
    [row] = result.rows.to_dicts()
    assert (row["email_raw"], row["smtp_code"], row["enhanced_code"], row["campaign_id"]) == (
        "user@example.net",
        552,
        "5.2.2",
        "C-25",  # the header quoted in the copy
    )
    assert row["diagnostic"] == (
        "552 5.2.2 Requested mail action aborted: exceeded storage allocation (mailbox full). "
        "Ask helpdesk@mx.example.net to raise the quota."
    )
    # a local agent's output without codes, for two addresses under one heading each
    data = path.read_bytes().replace(b"  user@example.net\n", b"  user@example.net\n  other@example.net\n")
    data = data.replace(
        b"------ user@example.net ------\n\n552 5.2.2 Requested mail action aborted: exceeded storage allocation\n"
        b"(mailbox full). Ask helpdesk@mx.example.net to raise the quota.\n",
        b"------ user@example.net ------\n------ other@example.net ------\n\nmaildrop: maildir over quota.\n",
    )
    recipients = read_message(data, Options())["recipients"]
    assert [(r["email"], r["diagnostic"]) for r in recipients] == [
        ("user@example.net", "maildrop: maildir over quota."),
        ("other@example.net", "maildrop: maildir over quota."),
    ]


@pytest.mark.parametrize(
    ("reply", "smtp_code"),
    [
        (b"Mailbox full. Call the helpdesk on 555-0100 or +1 555 0100.", None),
        (b"552 5.2.2 Mailbox full. Call the helpdesk on +1 555 0100 or 555-0100.", "552"),
        (b"Helpdesk 555-0100: 552 5.2.2 mailbox full", "552"),
    ],
)
def test_a_phone_numbers_digits_are_not_the_reply_code(reply, smtp_code):
    data = (MESSAGES / "exim-generated-text.eml").read_bytes()
    data = data.replace(
        b"552 5.2.2 Requested mail action aborted: exceeded storage allocation\n"
        b"(mailbox full). Ask helpdesk@mx.example.net to raise the quota.",
        reply,
    )
    [recipient] = read_message(data, Options())["recipients"]
    assert recipient["smtp_code"] == smtp_code


def test_an_ordinary_mail_from_a_mailer_daemon_address_is_not_read_as_a_bounce():
    """Anyone can write `From: MAILER-DAEMON`: with an ordinary sender's return path (bounces
    are sent from `<>`), no bounce subject and no returned message, a text quoting a full-mailbox
    reply is not a bounce; any of those marks makes it one."""
    path = MESSAGES / "ordinary-mail-from-mailer-daemon.eml"
    result = read_platform(path, MAILBOX)
    assert (result.rows_read, result.rows_loaded, result.quarantine.height) == (1, 0, 1)
    [bad] = result.quarantine.to_dicts()
    assert bad["error"] == (
        "not a bounce, feedback report or auto-reply (a mail system's From, but an ordinary "
        "sender's return path, no bounce subject and no returned message)"
    )
    data = path.read_bytes()
    returned = (
        data.replace(
            b"From: <MAILER-DAEMON@mail.example.net>\n\n",
            b"From: <MAILER-DAEMON@mail.example.net>\n"
            b'Content-Type: multipart/mixed; boundary="r"\n\n--r\nContent-Type: text/plain\n\n',
        )
        + b"\n--r\nContent-Type: message/rfc822\n\nTo: user@example.net\nSubject: Hi\n\nHi\n--r--\n"
    )
    for evidence in (
        data.replace(b"Return-Path: <root@mail.example.net>", b"Return-Path: <>"),
        data.replace(b"Return-Path: <root@mail.example.net>\n", b""),  # no envelope to say otherwise
        data.replace(b"Subject: Our new mailbox sizes", b"Subject: Undelivered Mail Returned to Sender"),
        data.replace(
            b"Subject: Our new mailbox sizes", b"Subject: mail failed, returning to sender"
        ),  # Exim 3
        returned,
    ):
        report = read_message(evidence, Options())
        assert (report["type"], [r["email"] for r in report["recipients"]]) == (
            "plain_bounce",
            ["user@example.net"],
        )


def test_a_file_in_maildir_tmp_is_still_being_delivered_and_is_skipped():
    [path] = (MAILDIR / "tmp").iterdir()
    result = read_platform(path, MAILBOX)
    assert (result.rows_read, result.records_read) == (0, 0)


def test_a_dsn_naming_no_recipient_says_so():
    data = message("1764800000").read_bytes().replace(b"Action: failed", b"X-Action: failed")
    with pytest.raises(NotABounce, match="naming no recipient with an action"):
        read_message(data, Options())


def test_a_verp_pattern_without_a_group_is_a_config_error(tmp_path):
    source = Source("m", None, "unused", format="dsn", campaign_verp=r"\+C-\d+")
    with pytest.raises(ConfigError, match="needs a group"):
        read_platform(message("1764800100"), source)


def test_broken_mail_never_crashes_the_reader():
    """Every test message cut short at many points and with bytes overwritten (seeded, so every
    run reads the same cases) is read or refused with a reason, never an exception."""
    rnd = random.Random(23)
    outcomes: Counter[str] = Counter()
    messages = [p.read_bytes() for p in [*sorted(MAILDIR.glob("*/*")), *sorted(MESSAGES.glob("*.eml"))]]
    messages += split_messages((FIXTURES / "bounces.mbox").read_bytes())
    for data in messages:
        for cut in range(0, len(data), max(1, len(data) // 25)):
            broken = bytearray(data[:cut])
            for _ in range(3 if broken else 0):
                broken[rnd.randrange(len(broken))] = rnd.randrange(256)
            try:
                read_message(bytes(broken), Options())
                outcomes["read"] += 1
            except NotABounce:
                outcomes["refused"] += 1
    assert outcomes["read"] > 20 and outcomes["refused"] > 20, outcomes


# --- through listhygiene run ------------------------------------------------------------------------


def mailbox_pipeline(tmp_path: Path) -> Path:
    config = copy_sample(tmp_path)
    mail = tmp_path / "mail"
    shutil.copytree(MAILDIR, mail / "Maildir")
    shutil.copy(FIXTURES / "bounces.mbox", mail / "bounces.mbox")
    # one message per Maildir file: a truncated or stray file is a whole file quarantined
    text = config.read_text().replace("max_quarantine_fraction = 0.05", "max_quarantine_fraction = 1.0")
    config.write_text(
        text
        + '\n[[sources]]\nname = "maildir"\nformat = "dsn"\npath = "../mail/Maildir/*/*"\n'
        + f"campaign_verp = '{VERP}'\n"
        + '\n[[sources]]\nname = "mbox"\nformat = "dsn"\npath = "../mail/*.mbox"\n'
        + f"campaign_verp = '{VERP}'\n"
    )
    return config


@pytest.mark.slow
def test_a_bounce_mailbox_loads_through_run_and_its_bounces_suppress(tmp_path):
    config = mailbox_pipeline(tmp_path)
    invoke("run", "--config", config, "--as-of", "2026-11-30T06:00:00Z")
    run = latest(config)

    manifest = json.loads((run / "manifest.json").read_text())
    entries = [i for i in manifest["inputs"] if i["source"] in ("maildir", "mbox")]
    assert all(e["rows_read"] == e["rows_loaded"] + e["rows_quarantined"] for e in entries)
    totals = {
        key: sum(e[key] for e in entries)
        for key in ("records_read", "records_ignored", "rows_read", "rows_loaded", "rows_quarantined")
    }
    # Maildir: 8 messages (tmp/ skipped) -> 5 bounce rows, 1 complaint, delay and auto-reply
    # ignored, truncated and non-email quarantined; mbox: 4 messages -> 3 bounces, 1 quarantined
    assert totals == {
        "records_read": 12,
        "records_ignored": 2,
        "rows_read": 11,
        "rows_loaded": 8,
        "rows_quarantined": 3,
    }

    with duckdb.connect(str(tmp_path / "state" / "sample.duckdb"), read_only=True) as con:
        classes = dict(
            con.sql(
                "select email, bounce_class from bounce_events where event = 'bounce' "
                "and file_id in (select file_id from input_files where source in ('maildir', 'mbox'))"
            ).fetchall()
        )
    assert classes == {
        "gone@acme.example": "hard",
        "ann@acme.example": "hard",
        "bob@acme.example": "soft",
        "full@acme.example": "soft",
        "nobody@qmail.example.net": "hard",
        "eve@gmail.example": "hard",
        "kurt@firma.example": "soft",
    }
    suppressions = read(run, "suppressions")
    reasons = dict(
        suppressions.filter(pl.col("source").is_in(["maildir", "mbox"])).select("email", "reason").iter_rows()
    )
    assert reasons.get("angry@isp.example") == "complaint"

    # lineage names the file and the message's position in the mbox
    explained = invoke("explain", "eve@gmail.example", "--config", config).output
    assert "mbox:bounces.mbox row 2" in explained
    assert "550-5.1.1" in explained or "5.1.1" in explained


def maildir_pipeline(tmp_path: Path, good_copies: int) -> Path:
    """The sample with a Maildir source at the sample's own quarantine limit (5%): the fixture's
    messages (two of them quarantined) and `good_copies` more copies of its bounces."""
    config = copy_sample(tmp_path)
    maildir = tmp_path / "mail" / "Maildir"
    shutil.copytree(MAILDIR, maildir)
    bounces = [p for p in sorted(maildir.glob("*/*")) if b"Action: failed" in p.read_bytes()]
    for i in range(good_copies):
        original = bounces[i % len(bounces)]
        (maildir / "cur" / f"17648{i:05d}.M{i}P2.mx:2,S").write_bytes(
            f"X-Copy: {i}\n".encode() + original.read_bytes()
        )
    config.write_text(
        config.read_text()
        + '\n[[sources]]\nname = "maildir"\nformat = "dsn"\npath = "../mail/Maildir/*/*"\n'
        + f"campaign_verp = '{VERP}'\n"
    )
    return config


@pytest.mark.slow
def test_the_quarantine_guard_judges_a_maildirs_messages_together(tmp_path):
    # 2 stray messages among 30 more bounces: 2 of 52 rows (3.8%), under the 5% limit (judged
    # per file, each stray message would be a whole file quarantined and fail the night). 30
    # copies, not 60: each Maildir message is a file of its own, and the run's time grows with them
    config = maildir_pipeline(tmp_path / "many", good_copies=30)
    invoke("run", "--config", config, "--as-of", "2026-11-30T06:00:00Z")
    manifest = json.loads((latest(config) / "manifest.json").read_text())
    entries = [i for i in manifest["inputs"] if i["source"] == "maildir"]
    assert sum(e["rows_quarantined"] for e in entries) == 2
    assert sum(e["rows_loaded"] for e in entries) == 50  # 6 of the fixture, 44 of the copies' recipients
    # the fixture alone: 2 stray of 7 rows: the night fails, naming the source and the files
    config = maildir_pipeline(tmp_path / "few", good_copies=0)
    result = invoke("run", "--config", config, "--as-of", "2026-11-30T06:00:00Z", expect=3)
    assert (
        "source maildir: 2 of 7 rows of tonight's 8 messages quarantined (28.6%, limit 5.0%" in result.output
    )
