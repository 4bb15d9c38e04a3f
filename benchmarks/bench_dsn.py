"""Time loading a bounce mailbox of N messages (one mbox, format "dsn") through a real run (not collected by pytest).

Run: .venv/bin/python benchmarks/bench_dsn.py [WORKDIR] [MESSAGES] [--maildir]
Writes WORKDIR/mail/bounces.mbox once (reused while its message count matches), or with
--maildir a Maildir of one file per message (WORKDIR/mail/Maildir/cur/): Postfix DSNs,
two-recipient Exchange DSNs, Exim plain-text bounces, delay DSNs, ARF abuse reports and
auto-replies, every address distinct. Then times `read_platform` alone and a first-night
`listhygiene run` (a separate process, wall time and peak RSS) on an empty store. The result
goes to benchmarks/results/dsn-<layout>-<messages>-<time>.json.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from listhygiene.config import load_config
from listhygiene.ingest.platforms import read_platform

POSTFIX = """From MAILER-DAEMON Fri Nov 20 07:31:02 2026
Return-Path: <>
Date: Fri, 20 Nov 2026 07:31:02 +0000
From: MAILER-DAEMON@mail.news.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: bounces@news.example
Message-Id: <pf.{i}@mail.news.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B{i}"

--B{i}
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<u{i}@d{d}.example>: host mx.d{d}.example said: {reply}

--B{i}
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.news.example
Arrival-Date: Fri, 20 Nov 2026 07:30:58 +0000

Final-Recipient: rfc822; u{i}@d{d}.example
Action: failed
Status: {status}
Diagnostic-Code: smtp; {reply}

--B{i}
Content-Type: text/rfc822-headers

From: News <news@news.example>
To: u{i}@d{d}.example
X-Campaign-Id: C-{c}

--B{i}--
"""
EXCHANGE = """From postmaster Sat Nov 21 10:00:00 2026
Date: Sat, 21 Nov 2026 10:00:00 +0000
From: postmaster@exchange.d{d}.example
To: bounces@news.example
Subject: Undeliverable: offers
Message-ID: <ex.{i}@exchange.d{d}.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="E{i}"

--E{i}
Content-Type: message/delivery-status

Reporting-MTA: dns;exchange.d{d}.example
Arrival-Date: Sat, 21 Nov 2026 09:58:11 +0000

Final-Recipient: rfc822;a{i}@d{d}.example
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup

Final-Recipient: rfc822;b{i}@d{d}.example
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp;554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException

--E{i}--
"""
EXIM = """From MAILER-DAEMON Sun Nov 22 03:12:40 2026
Return-Path: <>
Date: Sun, 22 Nov 2026 03:12:40 +0100
From: Mail Delivery System <Mailer-Daemon@mail.news.example>
To: bounces@news.example
Subject: Mail delivery failed: returning message to sender
Message-Id: <ex.{i}@mail.news.example>

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  x{i}@d{d}.example
    host mx.d{d}.example
    SMTP error from remote mail server after RCPT TO:<x{i}@d{d}.example>:
    550 5.1.1 No such user here

------ This is a copy of the message, including all the headers. ------

From: News <news@news.example>
To: x{i}@d{d}.example
X-Campaign-Id: C-{c}
"""
DELAY = """From MAILER-DAEMON Mon Nov 23 11:00:00 2026
Date: Mon, 23 Nov 2026 11:00:00 +0000
From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example>
To: bounces@news.example
Subject: Warning: could not send message for past 4 hours
Message-ID: <dl.{i}@relay.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="W{i}"

--W{i}
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example
Arrival-Date: Mon, 23 Nov 2026 07:00:00 +0000

Final-Recipient: RFC822; s{i}@d{d}.example
Action: delayed
Status: 4.4.1

--W{i}--
"""
ARF = """From fbl Tue Nov 24 08:00:00 2026
From: <fbl@isp.example>
Date: Tue, 24 Nov 2026 08:00:00 +0000
Subject: FW: offers
To: <abuse@news.example>
Message-ID: <arf.{i}@isp.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F{i}"

--F{i}
Content-Type: message/feedback-report

Feedback-Type: abuse
Version: 1
Original-Rcpt-To: <f{i}@d{d}.example>
Arrival-Date: Tue, 24 Nov 2026 07:50:00 +0000

--F{i}--
"""
AUTO_REPLY = """From someone Tue Nov 24 09:00:00 2026
From: Someone <o{i}@d{d}.example>
To: bounces@news.example
Date: Tue, 24 Nov 2026 09:00:00 +0000
Subject: Automatic reply: offers
Auto-Submitted: auto-replied
Message-ID: <ooo.{i}@d{d}.example>

I am out of the office until Monday.
"""
REPLIES = [
    ("5.1.1", "550 5.1.1 <{a}>: Recipient address rejected: User unknown"),
    ("4.2.2", "452 4.2.2 Mailbox full"),
]


def template(text: str, i: pl.Expr) -> pl.Expr:
    """The template with {i}, {d}, {c}, {status} and {reply} filled in, for every message at once."""
    hard = (i % 3) != 0
    values = {
        "reply": pl.when(hard).then(pl.lit(REPLIES[0][1])).otherwise(pl.lit(REPLIES[1][1])),
        "status": pl.when(hard).then(pl.lit(REPLIES[0][0])).otherwise(pl.lit(REPLIES[1][0])),
        "i": i.cast(pl.String),
        "d": (i % 97).cast(pl.String),
        "c": (i % 40).cast(pl.String),
        "a": pl.concat_str(pl.lit("u"), i.cast(pl.String), pl.lit("@mx")),
    }
    pieces = re.split(r"\{(reply|status|i|d|c|a)\}", text)
    return pl.concat_str([values[p] if k % 2 else pl.lit(p) for k, p in enumerate(pieces)])


def mailbox(n: int) -> pl.Series:
    """n messages: 50% Postfix DSNs, 15% two-recipient Exchange DSNs, 15% Exim plain bounces,
    10% delay DSNs, 5% abuse reports, 5% auto-replies."""
    i = pl.int_range(n, dtype=pl.Int64)
    k = i % 20
    body = (
        pl.when(k < 10)
        .then(template(POSTFIX, i))
        .when(k < 13)
        .then(template(EXCHANGE, i))
        .when(k < 16)
        .then(template(EXIM, i))
        .when(k < 18)
        .then(template(DELAY, i))
        .when(k < 19)
        .then(template(ARF, i))
        .otherwise(template(AUTO_REPLY, i))
    )
    return pl.select(body).to_series()


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--maildir"]
    maildir = "--maildir" in sys.argv[1:]
    work = Path(args[0]) if args else Path(tempfile.mkdtemp(prefix="bench-dsn-"))
    n = int(args[1]) if len(args) > 1 else 100_000
    mail = work / "mail"
    mail.mkdir(parents=True, exist_ok=True)
    target = mail / "bounces.mbox"
    marker = work / "messages.count"
    layout = f"{n} {'maildir' if maildir else 'mbox'}"
    if not marker.exists() or marker.read_text() != layout:
        started = time.perf_counter()
        shutil.rmtree(mail, ignore_errors=True)
        mail.mkdir()
        if maildir:
            cur = mail / "Maildir" / "cur"
            cur.mkdir(parents=True)
            for i, message in enumerate(mailbox(n).to_list()):
                # a Maildir file holds the message without mbox's "From " line
                (cur / f"1764000000.M{i}P1.bench:2,S").write_text(message.split("\n", 1)[1])
            target = cur / "1764000000.M0P1.bench:2,S"
        else:
            target.write_text("\n".join(mailbox(n).to_list()))
        marker.write_text(layout)
        print(
            f"generated {n:,} messages ({target.stat().st_size / 2**20:,.0f} MiB) "
            f"in {time.perf_counter() - started:.1f} s"
        )
    (work / "contacts_2026-11-20.csv").write_text("contact_id,email,list_id\nC1,u1@d1.example,news\n")
    config = work / "pipeline.toml"
    config.write_text(
        '[store]\ndatabase = "state/store.duckdb"\noutput = "out"\n'
        '[[sources]]\nname = "crm"\nkind = "contacts"\npath = "contacts_*.csv"\n'
        '[[sources]]\nname = "mailbox"\nformat = "dsn"\n'
        + ('path = "mail/Maildir/*/*"\n' if maildir else 'path = "mail/*.mbox"\n')
    )
    if maildir:
        target = mail / "Maildir" / "cur" / "1764000000.M0P1.bench:2,S"

    source = load_config(config).sources[1]
    started, cpu = time.perf_counter(), time.process_time()
    result = read_platform(target, source)
    read_seconds, read_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"read_platform: {result.records_read:,} messages -> {result.rows_loaded:,} rows, "
        f"{result.quarantine.height:,} quarantined, {result.records_ignored:,} ignored "
        f"in {read_seconds:.1f} s ({read_cpu:.1f} s CPU)"
    )
    del result

    shutil.rmtree(work / "state", ignore_errors=True)
    shutil.rmtree(work / "out", ignore_errors=True)
    listhygiene = Path(sys.executable).with_name("listhygiene")
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(listhygiene), "-q", "run", "--config", str(config), "--as-of", "2026-11-30T00:00:00Z"]
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    print(
        f"listhygiene run (first night, loads the mailbox): exit {os.waitstatus_to_exitcode(status)}, "
        f"{wall:.1f} s wall ({usage.ru_utime + usage.ru_stime:.1f} s CPU), "
        f"peak RSS {usage.ru_maxrss / 2**20:.2f} GiB; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    result = {
        "messages": n,
        "layout": "maildir" if maildir else "mbox",
        "read_platform_seconds": round(read_seconds, 1),
        "read_platform_cpu_seconds": round(read_cpu, 1),
        "run_exit": os.waitstatus_to_exitcode(status),
        "run_seconds": round(wall, 1),
        "run_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "load_average": round(os.getloadavg()[0], 1),
        "cpus": os.cpu_count(),
        "run_peak_rss_gib": round(usage.ru_maxrss / 2**20, 2),
    }
    print(json.dumps(result))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (Path(__file__).parent / "results" / f"dsn-{result['layout']}-{n}-{stamp}.json").write_text(
        json.dumps(result, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
