"""Operator-facing behaviour: JSON and plain logs, masked addresses, pruning old runs."""

from __future__ import annotations

import json
import logging
import os

import duckdb

from listhygiene.logs import MaskAddresses

from conftest import copy_sample, invoke

NIGHT_1 = "2026-11-20T06:00:00Z"
NIGHT_2 = "2026-11-21T06:00:00Z"


def test_json_logs_are_one_object_per_line_with_fields(tmp_path):
    config = copy_sample(tmp_path)
    result = invoke("--log-format", "json", "run", "--config", config, "--as-of", NIGHT_1)
    entries = [json.loads(line) for line in result.stderr.splitlines()]
    assert all({"time", "level", "message"} <= set(e) for e in entries)
    loaded = [e for e in entries if e.get("file", "").endswith("bounces.csv")]
    assert loaded and (loaded[0]["rows_read"], loaded[0]["rows_loaded"], loaded[0]["rows_quarantined"]) == (
        25,
        24,
        1,
    )
    stages = [e["stage"] for e in entries if "seconds" in e]
    assert stages == ["loading inputs", "evaluating rules", "writing outputs"]
    final = entries[-1]
    assert final["stage"] == "published" and final["lists"]["offers"]["sendable"] == 11


def test_plain_logs_when_not_a_terminal_and_quiet_keeps_only_warnings(tmp_path):
    config = copy_sample(tmp_path)
    plain = invoke("run", "--config", config, "--as-of", NIGHT_1).stderr
    assert "INFO platform_bounces bounces.csv: 25 rows read, 24 loaded, 1 quarantined" in plain
    quiet = invoke("-q", "run", "--config", config, "--as-of", NIGHT_2)
    assert quiet.stderr == ""
    assert "published run" in quiet.stdout  # the summary is the command's result, not a log


def test_log_lines_never_carry_a_whole_address():
    record = logging.LogRecord(
        "listhygiene",
        logging.WARNING,
        __file__,
        1,
        "bounce for %s from <Jane.Doe@Example.com>",
        ("bob.smith@example.org",),
        None,
    )
    MaskAddresses().filter(record)
    assert record.getMessage() == "bounce for b***@example.org from <J***@Example.com>"


def test_keep_runs_prunes_old_outputs_but_never_the_store(tmp_path):
    config = copy_sample(tmp_path)
    config.write_text(
        config.read_text().replace('output = "../out/sample"', 'output = "../out/sample"\nkeep_runs = 1')
    )
    for as_of in (NIGHT_1, NIGHT_2, "2026-11-22T06:00:00Z"):
        result = invoke("run", "--config", config, "--as-of", as_of)
    runs = sorted(os.listdir(tmp_path / "out/sample/runs"))
    assert len(runs) == 1 and runs[0].startswith("run_id=20261122T060000Z")
    assert "pruned the outputs of run 20261121T060000Z" in result.stderr
    con = duckdb.connect(str(tmp_path / "state/sample.duckdb"), read_only=True)
    try:
        assert [s for (s,) in con.execute("select status from runs order by run_id").fetchall()] == [
            "pruned",
            "pruned",
            "published",
        ]
        assert con.execute("select count(*) from contact_rows").fetchall() == [(47,)]
    finally:
        con.close()
    listing = invoke("runs", "--config", config).output
    assert listing.count("pruned") == 2
