"""One pipeline mixing a Mailchimp audience export, SES and SendGrid logs and a mapped CRM CSV."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl

from conftest import invoke

FIXTURES = Path(__file__).parent / "data" / "platforms" / "mixed"

PIPELINE = """
[store]
database = "state/store.duckdb"
output = "out"

[[sources]]
name = "mailchimp"
format = "mailchimp"
list_id = "newsletter"
time_zone = "Europe/London"
path = "mailchimp/*/*/*_members_export_*.csv"

[[sources]]
name = "crm"
kind = "contacts"
format = "csv"
delimiter = ";"
path = "crm/crm_*.csv"
[sources.columns]
"ID" = "contact_id"
"Mail" = "email"
"Segment" = "list_id"
"Opt-in" = "status"
[sources.values.status]
"Yes" = "subscribed"
"No" = "unsubscribed"

[[sources]]
name = "ses"
format = "ses"
path = "ses/*.jsonl"

[[sources]]
name = "sendgrid"
format = "sendgrid"
path = "sendgrid/*.json"
groups = { "42" = "weekly-deals" }

[lists.newsletter]
require_confirmed_optin = true

[lists.weekly-deals]
"""


def test_a_pipeline_of_four_formats_decides_each_list(tmp_path):
    shutil.copytree(FIXTURES, tmp_path, dirs_exist_ok=True)
    config = tmp_path / "pipeline.toml"
    config.write_text(PIPELINE)

    invoke("run", "--config", config, "--as-of", "2026-11-22T00:00:00Z")
    run = (tmp_path / "out" / "latest").resolve()

    sendable = pl.read_parquet(run / "sendable.parquet")
    assert sorted(sendable.select("list_id", "email").rows()) == [
        ("newsletter", "ada@example.com"),  # confirmed in Mailchimp, delivered by SES
        ("weekly-deals", "ada@example.com"),  # the CRM's own list for the same address
        ("weekly-deals", "fay@example.com"),  # a SendGrid 'processed' event says nothing
        ("weekly-deals", "jon@example.com"),  # a Spamhaus block is the sender's problem
    ]
    status = pl.read_parquet(run / "contact_status.parquet").filter(~pl.col("sendable"))
    assert sorted(status.select("list_id", "email", "reason").rows()) == [
        ("newsletter", "ben@example.com", "hard_bounce"),  # SES permanent bounce
        ("newsletter", "cai@example.com", "unconfirmed"),  # no CONFIRM_TIME, double opt-in list
        ("newsletter", "dee@example.com", "unsubscribed"),  # SendGrid global unsubscribe
        ("newsletter", "eve@example.com", "list_unsubscribed"),  # Mailchimp's unsubscribed export
        ("weekly-deals", "gus@example.com", "list_unsubscribed"),  # SendGrid group 42 = weekly-deals
        ("weekly-deals", "hal@example.com", "complaint"),  # SES complaint
        ("weekly-deals", "ivy@example.com", "source_unsubscribed"),  # the CRM's "No"
    ]
    eve = status.filter(pl.col("email") == "eve@example.com").row(0, named=True)
    assert "source_unsubscribed" in eve["reasons"]  # the export's status stands behind the event
    assert "mailchimp:unsubscribed_members_export_5f1c.csv row 1" in eve["detail"]

    manifest = json.loads((run / "manifest.json").read_text())
    formats = {i["source"]: i.get("format") for i in manifest["inputs"]}
    assert formats == {"mailchimp": "mailchimp", "crm": "csv", "ses": "ses", "sendgrid": "sendgrid"}
    for entry in manifest["inputs"]:
        assert entry["rows_read"] == entry["rows_loaded"] + entry["rows_quarantined"]
    [sendgrid] = [i for i in manifest["inputs"] if i["source"] == "sendgrid"]
    assert (sendgrid["records_read"], sendgrid["records_ignored"]) == (4, 1)
