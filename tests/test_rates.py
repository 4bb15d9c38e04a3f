"""rates.parquet: outcomes and rates per (campaign, receiver domain), judged against [report]'s thresholds."""

from __future__ import annotations

import json

import polars as pl
import pytest

from crossing import AS_OF, write_crossing_pipeline

from conftest import copy_sample, invoke, latest, read

NIGHT_1 = "2026-11-20T06:00:00Z"
NIGHT_2 = "2026-11-21T06:00:00Z"
COUNTS = ["messages", "deliveries", "hard", "soft", "block", "complaints", "unsubscribes"]


@pytest.fixture(scope="module")
def sample_nights(tmp_path_factory):
    config = copy_sample(tmp_path_factory.mktemp("rates"))
    invoke("run", "--config", config, "--as-of", NIGHT_1)
    first = latest(config)
    invoke("run", "--config", config, "--as-of", NIGHT_2)
    return first, latest(config)


def counts(rates: pl.DataFrame, campaign: str | None, domain: str) -> dict:
    match = pl.col("campaign_id").is_null() if campaign is None else pl.col("campaign_id") == campaign
    row = rates.filter(match & (pl.col("domain") == domain))
    assert row.height == 1, f"{campaign} {domain}: {row.height} rows"
    return row.select(COUNTS).row(0, named=True)


def test_the_sample_counts_each_seed_story_by_campaign_and_receiver(sample_nights):
    _, second = sample_nights
    rates = read(second, "rates")
    # C-17 at example.com: gone's user-unknown (hard), full, retry and busy (soft), the DNS
    # blocklist rejection counted as a block (the sender's problem, not the recipient's), angry's
    # complaint, and three deliveries
    assert counts(rates, "C-17", "example.com") == dict(
        messages=8, deliveries=3, hard=1, soft=3, block=1, complaints=1, unsubscribes=0
    )
    # Tom's unsubscribe (a forwarded copy of C-16) and Priya's one-click unsubscribe, at acme.example
    assert counts(rates, "C-16", "acme.example") == dict(
        messages=1, deliveries=1, hard=0, soft=0, block=0, complaints=0, unsubscribes=2
    )
    # the CRM's unsubscribe of jordan carries no campaign
    assert counts(rates, None, "realty.example")["unsubscribes"] == 1
    c17 = rates.filter((pl.col("campaign_id") == "C-17") & (pl.col("domain") == "example.com")).row(
        0, named=True
    )
    assert c17["hard_rate"] == pytest.approx(1 / 8)
    assert c17["block_rate"] == pytest.approx(1 / 8)
    assert c17["complaint_rate"] == pytest.approx(1 / 3)
    # 33% complaints, but over 8 messages: shown, not judged (min_messages = 100)
    assert c17["thresholds_crossed"] == []
    assert rates["thresholds_crossed"].list.len().sum() == 0


def test_a_night_counts_the_events_up_to_its_as_of_only(sample_nights):
    first, second = sample_nights
    assert "C-17" not in read(first, "rates")["campaign_id"].to_list()  # sent after night 1's as-of
    assert counts(read(first, "rates"), "C-16", "example.com") == counts(
        read(second, "rates"), "C-16", "example.com"
    )


def test_a_campaign_crossing_thresholds_at_one_receiver_lists_them_in_order(tmp_path):
    config = write_crossing_pipeline(tmp_path)
    invoke("run", "--config", config, "--as-of", AS_OF)
    rates = pl.read_parquet(tmp_path / "out" / "latest" / "rates.parquet")
    assert rates["domain"].to_list() == ["example.com", "gmail.com", "outlook.com"]
    gmail = rates.filter(pl.col("domain") == "gmail.com").row(0, named=True)
    assert (gmail["messages"], gmail["deliveries"], gmail["hard"], gmail["complaints"]) == (200, 190, 10, 1)
    assert gmail["hard_rate"] == pytest.approx(0.05)
    assert gmail["complaint_rate"] == pytest.approx(1 / 190)
    assert gmail["thresholds_crossed"] == [
        "spam_rate_target",
        "spam_rate_limit",
        "complaint_rate_review",
        "complaint_rate_pause",
        "bounce_rate_review",
    ]
    outlook = rates.filter(pl.col("domain") == "outlook.com").row(0, named=True)
    assert (outlook["deliveries"], outlook["thresholds_crossed"]) == (150, [])
    small = rates.filter(pl.col("domain") == "example.com").row(0, named=True)
    assert (small["complaint_rate"], small["thresholds_crossed"]) == (pytest.approx(0.2), [])


def test_report_settings_move_the_thresholds_and_name_fewer_domains(tmp_path):
    config = write_crossing_pipeline(
        tmp_path, "bounce_rate_review = 0.06\nspam_rate_limit = 0.006\nmin_messages = 5\ndomains = 1"
    )
    invoke("run", "--config", config, "--as-of", AS_OF)
    rates = pl.read_parquet(tmp_path / "out" / "latest" / "rates.parquet")
    # gmail.com has the most mail; outlook.com and example.com are "other"
    assert rates["domain"].to_list() == ["gmail.com", "other"]
    crossed = dict(zip(rates["domain"], rates["thresholds_crossed"].to_list(), strict=True))
    assert crossed["gmail.com"] == ["spam_rate_target", "complaint_rate_review", "complaint_rate_pause"]
    # other: 1 complaint over 155 deliveries, 0.65%
    assert crossed["other"] == [
        "spam_rate_target",
        "spam_rate_limit",
        "complaint_rate_review",
        "complaint_rate_pause",
    ]


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("spam_rate_limit = 3", "spam_rate_limit is a rate, a fraction above 0 and at most 1"),
        ("domains = -1", "domains must be a whole number ≥ 0"),
        ("spam_rate = 0.001", "unknown key 'spam_rate'"),
    ],
)
def test_a_wrong_report_setting_is_a_config_error(tmp_path, body, said):
    config = write_crossing_pipeline(tmp_path, body)
    result = invoke("run", "--config", config, "--as-of", AS_OF, expect=2)
    assert said in result.output
    assert "[report]" in result.output


def test_runs_flags_a_run_whose_rates_cross_a_threshold(tmp_path):
    config = write_crossing_pipeline(tmp_path)
    invoke("-q", "run", "--config", config, "--as-of", AS_OF)
    table = invoke("runs", "--config", config).output
    assert "CROSSED spam_rate_target, spam_rate_limit, complaint_rate_review, complaint_rate_pause, " in table
    listing = json.loads(invoke("runs", "--config", config, "--json").output)
    assert [r["thresholds_crossed"][-1] for r in listing] == ["bounce_rate_review"]
    # a run published before rates.parquet existed: nothing to say
    (tmp_path / "out" / "latest" / "rates.parquet").unlink()
    assert json.loads(invoke("runs", "--config", config, "--json").output)[0]["thresholds_crossed"] is None
    assert invoke("runs", "--config", config).output.splitlines()[2].split()[-1] == "-"


def test_runs_says_ok_when_no_rate_crosses(sample_nights):
    first, _ = sample_nights
    config = first.parents[3] / "pipelines" / "sample.toml"
    listing = json.loads(invoke("runs", "--config", config, "--json").output)
    assert [r["thresholds_crossed"] for r in listing] == [[], []]
    rows = invoke("runs", "--config", config).output.splitlines()[2:]
    assert [row.split()[-1] for row in rows] == ["ok", "ok"]
