"""`listhygiene bounces classify`: a bounce log's rows with class, reason and rule, addresses masked."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner

from listhygiene.cli import cli

SAMPLE = Path(__file__).parents[1] / "data" / "sample" / "bounces.csv"


def invoke(*args: str):
    return CliRunner().invoke(cli, ["bounces", "classify", *args])


def test_table_shows_each_row_masked_with_class_reason_and_rule():
    result = invoke(str(SAMPLE))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "row",
        "email",
        "event",
        "smtp_code",
        "enhanced_code",
        "class",
        "reason",
        "rule",
    ]
    assert lines[2].split() == [
        "1",
        "f***@example.com",
        "bounce",
        "452",
        "4.2.2",
        "soft",
        "mailbox_full",
        "mailbox-full",
    ]
    assert ["3", "b***@example.com", "bounce", "550", "5.7.1", "block", "blocklisted", "blocklisted"] in (
        line.split() for line in lines
    )
    assert "gone@example.com" not in result.stdout and "g***@example.com" in result.stdout
    # the malformed row 12 is named on stderr, and a summary follows
    assert "row 12, column 'occurred_at'" in result.stderr
    assert "24 rows, rules 2026.12.11: soft 9, block 4, hard 1" in result.stderr


def test_json_and_csv_carry_the_same_rows():
    as_json = json.loads(invoke(str(SAMPLE), "--format", "json").stdout)
    as_csv = list(csv.DictReader(io.StringIO(invoke(str(SAMPLE), "--format", "csv").stdout)))
    assert len(as_json) == len(as_csv) == 24
    gone = next(r for r in as_json if r["row"] == 17)
    assert gone == {
        "row": 17,
        "email": "g***@example.com",
        "event": "bounce",
        "smtp_code": 550,
        "enhanced_code": "5.1.1",
        "class": "hard",
        "reason": "user_unknown",
        "rule": "user-unknown",
    }
    assert next(r for r in as_csv if r["row"] == "17")["rule"] == "user-unknown"


def test_codes_shown_are_those_parsed_from_the_diagnostic(tmp_path):
    log = tmp_path / "b.csv"
    log.write_text('email,occurred_at,diagnostic\nx@example.com,2026-01-01,"smtp; 552-5.2.2 Over quota"\n')
    row = json.loads(invoke(str(log), "--format", "json").stdout)[0]
    assert (row["smtp_code"], row["enhanced_code"], row["class"]) == (552, "5.2.2", "soft")


def test_config_adds_the_pipelines_rules(tmp_path):
    (tmp_path / "rules.toml").write_text(
        "[[rules]]\nid = 'local-full'\nclass = 'soft'\nreason = 'mailbox_full'\ntext = 'casier sature'\n"
    )
    (tmp_path / "p.toml").write_text(
        '[store]\ndatabase = "s.duckdb"\noutput = "out"\n'
        '[[sources]]\nname = "crm"\nkind = "contacts"\npath = "c.csv"\n'
        '[bounces]\nrules = "rules.toml"\n'
    )
    log = tmp_path / "b.csv"
    log.write_text(
        'email,occurred_at,smtp_code,diagnostic\nx@example.com,2026-01-01,550,"550 casier sature"\n'
    )
    assert json.loads(invoke(str(log), "--format", "json").stdout)[0]["rule"] == "unrecognised"
    with_rules = invoke(str(log), "--config", str(tmp_path / "p.toml"), "--format", "json")
    assert json.loads(with_rules.stdout)[0]["rule"] == "local-full"


def test_a_bad_rules_file_is_a_config_error(tmp_path):
    (tmp_path / "rules.toml").write_text(
        "[[rules]]\nid = 'x'\nclass = 'hard'\nreason = 'r'\ntext = '(?<=x)'\n"
    )
    (tmp_path / "p.toml").write_text(
        '[store]\ndatabase = "s.duckdb"\noutput = "out"\n'
        '[[sources]]\nname = "crm"\nkind = "contacts"\npath = "c.csv"\n'
        '[bounces]\nrules = "rules.toml"\n'
    )
    result = invoke(str(SAMPLE), "--config", str(tmp_path / "p.toml"))
    assert result.exit_code == 2
    assert "bounce rule 'x' (rules.toml): text is not a valid RE2 regular expression" in result.stderr


def test_an_unusable_file_is_an_input_error(tmp_path):
    log = tmp_path / "b.csv"
    log.write_text("address,when\nx@example.com,2026-01-01\n")
    result = invoke(str(log))
    assert result.exit_code == 3
    assert "b.csv" in result.stderr and "email" in result.stderr
    assert invoke(str(tmp_path / "missing.csv")).exit_code == 3


def test_help_has_an_example():
    result = CliRunner().invoke(cli, ["bounces", "classify", "--help"])
    assert "listhygiene bounces classify data/sample/bounces.csv" in result.output
