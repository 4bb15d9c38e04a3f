"""`listhygiene validate`: the inputs checked as a run would, with nothing written anywhere."""

from __future__ import annotations

import shutil

import pytest

from listhygiene.config import load_config
from listhygiene.ingest.validation import validate_inputs
from test_dsn import FIXTURES, MESSAGES, maildir_pipeline

from conftest import copy_sample, invoke


def test_sample_inputs_validate_and_nothing_is_written(tmp_path):
    config = copy_sample(tmp_path)
    result = invoke("validate", "--config", config)
    assert "bounces.csv              25    24     1            ok" in result.output
    assert "1  occurred_at: occurred_at … is not an ISO 8601 timestamp" in result.output
    assert "e.g. row 12, column 'occurred_at': occurred_at '2026-11-20 25:61'" in result.output
    assert result.output.rstrip().endswith("all inputs would load")
    assert not (tmp_path / "state").exists() and not (tmp_path / "out").exists()


def test_a_file_over_the_limit_or_unusable_fails_with_exit_3(tmp_path):
    config = copy_sample(tmp_path)
    (tmp_path / "data/sample/bounces_x.csv").write_text(
        "email,occurred_at,event\n"
        "jane.doe@example.com,yesterday,bounce\n"
        "y@example.com,2026-11-20,jane.doe@example.com\n"
        "z@example.com,2026-11-20,bounce\n"
    )
    (tmp_path / "data/sample/unsubscribes_y.csv").write_text("email,event\nx@example.com,unsubscribe\n")
    result = invoke("validate", "--config", config, expect=3)
    assert "bounces_x.csv            3     1      2            over the limit" in result.output
    assert "unknown event … (expected one of bounce, delivered, complaint)" in result.output
    # the bad value quoted in the example is an address: it is shown masked
    assert "unknown event 'j***@example.com'" in result.output
    assert "required column 'occurred_at' is missing" in result.output
    assert "a run would publish nothing" in result.stderr
    assert "jane.doe@example.com" not in result.output  # addresses in examples are masked
    assert not (tmp_path / "state").exists()


def test_a_missing_contacts_export_fails_validation(tmp_path):
    config = copy_sample(tmp_path)
    for path in (tmp_path / "data/sample").glob("contacts_*"):
        path.unlink()
    result = invoke("validate", "--config", config, expect=3)
    assert "error: contacts source 'crm' matches no file" in result.output


def test_a_maildirs_messages_are_judged_together_as_a_run_judges_them(tmp_path):
    # 2 stray messages among 30 more bounces: under the sample's 5% limit together, though each
    # stray message alone is a whole file quarantined; the file in tmp/ is not read (a run skips it)
    config = maildir_pipeline(tmp_path / "many", good_copies=30)
    result = invoke("validate", "--config", config)
    assert result.output.rstrip().endswith("all inputs would load")
    assert result.output.count("counted with its source") == 2
    assert "1764800800.M9P1.mx" not in result.output
    # the fixture alone: 2 of 7 rows, over the limit, as the run says (test_dsn)
    config = maildir_pipeline(tmp_path / "few", good_copies=0)
    result = invoke("validate", "--config", config, expect=3)
    assert (
        "error: source maildir: 2 of 7 rows of its 8 messages quarantined (28.6%, limit 5.0%, "
        "the messages judged together)" in result.output
    )


def _one_file_at_a_time(check, files):
    """A runner that is not check_here: every file checked alone, as before batches."""
    return [check(source, path) for source, path in files]


@pytest.mark.parametrize("batch", ["1", "3", "default"])
def test_a_mailbox_read_in_batches_gives_the_report_of_one_file_at_a_time(tmp_path, monkeypatch, batch):
    """validate reads a bounce mailbox's files in batches, as a run loads them; each file's counts,
    problems and examples, and the verdicts, are those of reading it alone. The mailbox: the
    Maildir fixture (a stray message, a file in tmp/), an mbox, single-message .eml files of
    several shapes and an empty file."""
    if batch != "default":
        monkeypatch.setenv("LISTHYGIENE_MAILBOX_BATCH_FILES", batch)
    config_path = maildir_pipeline(tmp_path, good_copies=4)
    shutil.copy(FIXTURES / "bounces.mbox", tmp_path / "mail" / "Maildir" / "cur" / "x.mbox")
    for message in sorted(MESSAGES.glob("*.eml")):
        shutil.copy(message, tmp_path / "mail" / "Maildir" / "new" / message.name)
    (tmp_path / "mail" / "Maildir" / "new" / "empty").write_bytes(b"")
    config = load_config(config_path)
    batched = validate_inputs(config)
    alone = validate_inputs(config, _one_file_at_a_time)
    mailbox = [f for f in batched.files if f.source == "maildir"]
    assert len(mailbox) == 8 + 4 + 1 + len(list(MESSAGES.glob("*.eml"))) + 1  # tmp/ is not read
    assert any(f.rows_quarantined for f in mailbox) and any(f.rows_read == 0 for f in mailbox)
    assert any(not f.one_message and f.rows_read > 1 for f in mailbox)  # the mbox
    assert batched == alone
