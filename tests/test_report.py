"""The run report (report.html): the seed stories on the sample, its numbers equal to the outputs, masking."""

from __future__ import annotations

import json
import re
import shutil

import polars as pl
import pytest

from crossing import AS_OF, write_crossing_pipeline
from listhygiene.outputs.report import write_report
from report_pages import CROSSED, number, percent, report_tables

from conftest import copy_sample, invoke, latest, read

NIGHT_1 = "2026-11-20T06:00:00Z"
NIGHT_2 = "2026-11-21T06:00:00Z"


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The sample's two nights published, and night 2's report written by `listhygiene report`."""
    config = copy_sample(tmp_path_factory.mktemp("report"))
    invoke("-q", "run", "--config", config, "--as-of", NIGHT_1)
    first = latest(config)
    invoke("-q", "run", "--config", config, "--as-of", NIGHT_2)
    second = latest(config)
    result = invoke("report", "--config", config)
    assert result.output.startswith(f"wrote {second / 'report.html'} (")
    return config, first, second, (second / "report.html").read_text("utf-8")


def test_the_sample_report_tells_each_seed_story(sample):
    _, _, second, html = sample
    tables = report_tables(html)
    vanished = {(r["list"], r["email"]): r["reason"] for r in tables["vanished"]}
    assert vanished[("staff-news", "t***@acme.example")] == "unsubscribed"  # Tom, a forwarded copy
    assert vanished[("offers", "g***@example.com")] == "hard_bounce"  # 550 5.1.1 user unknown
    assert vanished[("offers", "f***@example.com")] == "soft_bounce_limit"  # 4 campaigns of soft bounces
    assert vanished[("offers", "a***@example.com")] == "complaint"
    # the DNS-blocklist rejections of blocked@ are blocks, the sender's problem: not hard bounces,
    # and blocked@ stays sendable
    outcomes = {r["domain"]: r for r in tables["outcomes"]}
    assert (number(outcomes["example.com"]["block"]), number(outcomes["example.com"]["hard"])) == (4, 1)
    assert ("offers", "b***@example.com") not in vanished
    # the complaint after which angry's sign-up form is refused
    blocked = {(r["email"], r["list"]) for r in tables["blocked_resubscribes"]}
    assert ("a***@example.com", "-") in blocked
    assert len(tables["vanished"]) == read(second, "vanished").height


def test_the_report_tables_hold_the_outputs_numbers(sample):
    _, first, second, html = sample
    tables = report_tables(html)
    rates = read(second, "rates")
    assert len(tables["rates"]) == rates.height
    for shown, row in zip(tables["rates"], rates.iter_rows(named=True), strict=True):
        assert shown["campaign"] == (row["campaign_id"] or "(none)")
        assert shown["domain"] == row["domain"]
        for column in ("messages", "deliveries", "hard", "complaints", "unsubscribes"):
            assert number(shown[column]) == row[column], (shown, column)
        for column in ("hard_rate", "complaint_rate", "unsubscribe_rate"):
            assert shown[column.replace("_", " ")] == percent(row[column])
    by_domain = rates.group_by("domain").agg(pl.col("deliveries", "hard", "soft", "block").sum())
    for row in by_domain.iter_rows(named=True):
        [shown] = [r for r in tables["outcomes"] if r["domain"] == row["domain"]]
        assert [number(shown[c]) for c in ("deliveries", "hard", "soft", "block")] == [
            row["deliveries"],
            row["hard"],
            row["soft"],
            row["block"],
        ]
    # sendable per list over both runs, as each run's sendable.parquet counts it
    for run, shown in zip((first, second), tables["sendable"], strict=True):
        counted = read(run, "sendable").group_by("list_id").len()
        assert {k: number(shown[k]) for k in counted["list_id"]} == dict(counted.iter_rows())
    # vanished per run by reason, as vanished.parquet counts it
    night_two = dict(read(second, "vanished").group_by("reason").len().iter_rows())
    assert {
        k: number(v) for k, v in tables["vanished_by_reason"][1].items() if k not in ("run", CROSSED)
    } == (night_two)
    suppressions = dict(read(second, "suppressions").group_by("reason").len().iter_rows())
    shown = tables["suppressions_by_reason"][1]
    assert {k: number(shown[k]) for k in suppressions} == suppressions
    assert number(shown["blocked resubscribes"]) == read(second, "blocked_resubscribes").height
    quarantined = {r["file"]: number(r["quarantined"]) for r in tables["quarantine_by_file"]}
    assert quarantined == {
        "contacts_2026-11-20.csv": 0,
        "contacts_2026-11-21.csv": 0,
        "bounces.csv": 1,
        "unsubscribes.csv": 0,
    }


def test_the_report_needs_no_network_and_prints_no_whole_address(sample):
    _, _, second, html = sample
    assert not re.search(r"<script|<link|<img|<iframe|\bsrc=|url\(|@import", html, re.IGNORECASE)
    assert set(re.findall(r'href="([^"]*)"', html)) <= {
        f"#{a}" for a in re.findall(r'<section id="([^"]+)"', html)
    }
    addresses = set(read(second, "contact_status")["email"]) | set(read(second, "suppressions")["email"])
    assert [a for a in addresses if "@" in a and a in html] == []


def test_show_addresses_writes_them_in_clear_only_where_asked(sample, tmp_path):
    config, _, _, _ = sample
    result = invoke("report", "--config", config, "--show-addresses", expect=2)
    assert "--out" in result.output
    out = tmp_path / "clear.html"
    invoke("report", "--config", config, "--show-addresses", "--out", out)
    assert "tom.baker@acme.example" in out.read_text("utf-8")


def test_an_earlier_run_by_the_beginning_of_its_id(sample, tmp_path):
    config, first, _, _ = sample
    out = tmp_path / "night1.html"
    run_id = first.name.removeprefix("run_id=")
    invoke("report", "--config", config, "--run", run_id[:20], "--out", out)
    tables = report_tables(out.read_text("utf-8"))
    assert [r["run"] for r in tables["sendable"]] == ["2026-11-20"]  # the runs before it only
    assert [r["verdict"] for r in tables["drop_guard"]] == ["no previous run to compare with"] * 3
    result = invoke("report", "--config", config, "--run", "2025", expect=2)
    assert "no published run '2025'" in result.output
    result = invoke("report", "--config", config, "--run", "2026", expect=2)
    assert "names 2 runs" in result.output


def test_a_crossed_threshold_is_shown_plainly(tmp_path):
    config = write_crossing_pipeline(tmp_path / "crossing")
    invoke("-q", "run", "--config", config, "--as-of", AS_OF)
    invoke("report", "--config", config, "--out", tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text("utf-8")
    assert (
        "Sender thresholds crossed: spam_rate_target, spam_rate_limit, complaint_rate_review, "
        "complaint_rate_pause, bounce_rate_review"
    ) in html
    assert "C-1 at gmail.com: spam_rate_target, spam_rate_limit" in html
    tables = report_tables(html)
    crossed = {r["domain"]: r[CROSSED] for r in tables["rates_by_domain"]}
    assert crossed == {"example.com": "", "gmail.com": "yes", "outlook.com": ""}
    # the campaign as a whole (10 hard bounces in 355 messages, 2.8%) crosses the complaint thresholds only
    [campaign] = tables["rates_by_campaign"]
    assert campaign["thresholds crossed"] == (
        "spam_rate_target, spam_rate_limit, complaint_rate_review, complaint_rate_pause"
    )
    assert re.search(r'<rect class="bar crossed"[^>]*data-x="C-1"', html)


def test_the_stages_of_the_manifest_are_shown(sample, tmp_path):
    _, _, second, _ = sample
    run = tmp_path / "run"
    shutil.copytree(second, run)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["stages"] = {"loading inputs": 1.25, "evaluating rules": 3.5, "writing outputs": 0.75}
    (run / "manifest.json").write_text(json.dumps(manifest))
    written = write_report(run, second.parent.parent)
    stages = report_tables(written.read_text("utf-8"))["stages"]
    assert [(r["stage"], r["seconds"]) for r in stages] == [
        ("loading inputs", "1.25 s"),
        ("evaluating rules", "3.50 s"),
        ("writing outputs", "0.75 s"),
        ("total", "5.50 s"),
    ]


def test_a_run_published_before_rates_existed_gets_a_report_without_rates(sample, tmp_path):
    _, _, second, _ = sample
    run = tmp_path / "run"
    shutil.copytree(second, run)
    (run / "rates.parquet").unlink()
    tables = report_tables(write_report(run, second.parent.parent).read_text("utf-8"))
    assert (tables["rates"], tables["outcomes"]) == ([], [])
    assert [r["run"] for r in tables["sendable"]] == ["2026-11-20", "2026-11-21"]


def test_every_published_run_holds_the_report_its_night_wrote(sample):
    _, first, _, _ = sample
    tables = report_tables((first / "report.html").read_text("utf-8"))
    assert [r["run"] for r in tables["sendable"]] == ["2026-11-20"]
    # the night's stages, from its manifest (the report itself is written after it)
    stages = [r["stage"] for r in tables["stages"]]
    assert stages[-1] == "total" and "evaluating rules" in stages


def test_a_mailbox_of_many_files_shows_its_files_with_quarantined_rows_and_one_line_for_the_rest():
    """A Maildir is a file per message: the report lists the files that had rows quarantined,
    and the others of that source as one line with their count and totals."""
    from listhygiene.outputs.report.gather import FILES_SHOWN_PER_SOURCE, _quarantine_by_file

    many = FILES_SHOWN_PER_SOURCE + 10
    inputs = [
        {
            "source": "crm",
            "path": "/in/contacts.csv",
            "rows_read": 10,
            "rows_loaded": 10,
            "rows_quarantined": 0,
        },
        *[
            {
                "source": "mailbox",
                "path": f"/mail/cur/{n}.eml",
                "rows_read": 2,
                "rows_loaded": 1 if n in (7, 30) else 2,
                "rows_quarantined": 1 if n in (7, 30) else 0,
            }
            for n in range(many)
        ],
    ]
    shown = _quarantine_by_file({"inputs": inputs})
    assert shown.rows() == [
        ("crm", "contacts.csv", 10, 10, 0),
        ("mailbox", "7.eml", 2, 1, 1),
        ("mailbox", "30.eml", 2, 1, 1),
        ("mailbox", f"({many - 2} files without quarantined rows)", 2 * (many - 2), 2 * (many - 2), 0),
    ]
    few = _quarantine_by_file({"inputs": inputs[:5]})
    assert few.height == 5  # under the limit every file is its own line
