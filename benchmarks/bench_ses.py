"""Time loading N Amazon SES notifications (SNS envelopes, one per line) through a real run (not collected by pytest).

Run: .venv/bin/python benchmarks/bench_ses.py [WORKDIR] [NOTIFICATIONS]
Writes WORKDIR/ses/notifications.jsonl once (reused while its size matches), a one-row
contacts export and a pipeline file, then times `read_platform` alone and a first-night
`listhygiene run` (a separate process, wall time and peak RSS) on an empty store.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from listhygiene.config import load_config
from listhygiene.ingest.platforms import read_platform

ROOT = Path(__file__).resolve().parent.parent


def fmt(template: str, *values) -> pl.Expr:
    """template with each "{}" replaced by the next expression (JSON's own braces stay literal)."""
    pieces = template.split("{}")
    assert len(pieces) == len(values) + 1, template
    parts: list[pl.Expr] = []
    for piece, value in zip(pieces, [*values, None]):
        parts.append(pl.lit(piece))
        if value is not None:
            parts.append(value.cast(pl.String))
    return pl.concat_str(parts)


def notifications(n: int) -> pl.Series:
    """n SNS envelopes: 60% bounces (two recipients every fifth), 10% complaints, 30% deliveries."""
    i = pl.int_range(n, dtype=pl.Int64)
    stamp = (pl.lit(1_795_000_000_000_000, dtype=pl.Int64) + i * 1_000_000).cast(pl.Datetime("us", "UTC"))
    when = stamp.dt.to_string("%Y-%m-%dT%H:%M:%S%.3fZ")
    address = fmt("user{}@example{}.com", i % 700_000, i % 97)
    second = fmt("other{}@example{}.com", i % 500_000, i % 89)
    mail = fmt(
        '"mail":{"timestamp":"{}","messageId":"0100-msg-{}","source":"news@shop.example",'
        '"destination":["{}"]}',
        when,
        i,
        address,
    )
    recipient = fmt(
        '{"emailAddress":"{}","action":"failed","status":"5.1.1",'
        '"diagnosticCode":"smtp; 550 5.1.1 user unknown"}',
        address,
    )
    soft = fmt(
        '{"emailAddress":"{}","action":"failed","status":"4.2.2",'
        '"diagnosticCode":"smtp; 452 4.2.2 mailbox full"}',
        second,
    )
    recipients = pl.when(i % 5 == 0).then(fmt("{},{}", recipient, soft)).otherwise(recipient)
    bounce = fmt(
        '{"notificationType":"Bounce","bounce":{"bounceType":"{}","bounceSubType":"General",'
        '"bouncedRecipients":[{}],"timestamp":"{}","feedbackId":"0100-fb-{}",'
        '"reportingMTA":"dsn; a1.smtp-out.amazonses.com"},{}}',
        pl.when(i % 3 == 0).then(pl.lit("Permanent")).otherwise(pl.lit("Transient")),
        recipients,
        when,
        i,
        mail,
    )
    complaint = fmt(
        '{"notificationType":"Complaint","complaint":{"complainedRecipients":'
        '[{"emailAddress":"{}"}],"timestamp":"{}","feedbackId":"0100-fb-{}",'
        '"complaintFeedbackType":"abuse"},{}}',
        address,
        when,
        i,
        mail,
    )
    delivery = fmt(
        '{"notificationType":"Delivery","delivery":{"timestamp":"{}","recipients":["{}"],'
        '"processingTimeMillis":512,"smtpResponse":"250 2.0.0 OK"},{}}',
        when,
        address,
        mail,
    )
    body = pl.when(i % 10 < 6).then(bounce).when(i % 10 == 6).then(complaint).otherwise(delivery)
    frame = pl.select(body=body, i=i)
    # SNS carries the notification as a JSON string: escape it once, in bulk.
    return frame.select(
        fmt(
            '{"Type":"Notification","MessageId":"sns-{}","TopicArn":"arn:aws:sns:eu-west-1:123456789012:ses",'
            '"Message":{},"Timestamp":"2026-11-20T03:12:01.000Z"}',
            pl.col("i"),
            pl.struct(pl.col("body").alias("m")).struct.json_encode().str.slice(5).str.head(-1),
        )
    ).to_series()


def main() -> None:
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="bench-ses-"))
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    logs = work / "ses"
    logs.mkdir(parents=True, exist_ok=True)
    target = logs / "notifications.jsonl"
    marker = work / "notifications.count"
    if not target.exists() or not marker.exists() or marker.read_text() != str(n):
        started = time.perf_counter()
        lines = notifications(n)
        target.write_text("\n".join(lines.to_list()) + "\n")
        marker.write_text(str(n))
        print(
            f"generated {n:,} notifications ({target.stat().st_size / 2**20:,.0f} MiB) "
            f"in {time.perf_counter() - started:.1f} s"
        )
    (work / "contacts_2026-11-20.csv").write_text("contact_id,email,list_id\nC1,user1@example1.com,news\n")
    config = work / "pipeline.toml"
    config.write_text(
        '[store]\ndatabase = "state/store.duckdb"\noutput = "out"\n'
        '[[sources]]\nname = "crm"\nkind = "contacts"\npath = "contacts_*.csv"\n'
        '[[sources]]\nname = "ses"\nformat = "ses"\npath = "ses/*.jsonl"\n'
    )

    source = load_config(config).sources[1]
    started = time.perf_counter()
    result = read_platform(target, source)
    read_seconds = time.perf_counter() - started
    print(
        f"read_platform: {result.records_read:,} records -> {result.rows_loaded:,} rows, "
        f"{result.quarantine.height:,} quarantined, {result.records_ignored:,} ignored "
        f"in {read_seconds:.1f} s"
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
        f"listhygiene run (first night, loads the file): exit {os.waitstatus_to_exitcode(status)}, "
        f"{wall:.1f} s wall, peak RSS {usage.ru_maxrss / 2**20:.2f} GiB"
    )
    print(
        json.dumps(
            {
                "notifications": n,
                "read_platform_seconds": round(read_seconds, 1),
                "run_seconds": round(wall, 1),
                "run_peak_rss_gib": round(usage.ru_maxrss / 2**20, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
