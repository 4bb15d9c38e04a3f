"""`listhygiene whatif` on the sample's two nights: who would leave or come back, and nothing changed."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from listhygiene.config import load_config
from listhygiene.outputs import whatif as whatif_module
from listhygiene.pipeline import run as run_night

from conftest import copy_sample, invoke, latest

NIGHT_1 = "2026-11-20T06:00:00Z"
NIGHT_2 = "2026-11-21T06:00:00Z"

# Read by the pipeline's rules file (a rule with a package rule's id replaces it in place): the
# sender-side blocklist rejections of the sample read as hard bounces, as an eager platform does.
BLOCKLIST_AS_HARD = """
[[rules]]
id = "blocklisted"
class = "hard"
reason = "blocklisted"
text = 'blocked using|block ?list'
"""


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """The sample's two nights published; returns (pipeline file, night-1 run id, night-2 run id)."""
    root = tmp_path_factory.mktemp("whatif")
    config = copy_sample(root)
    invoke("run", "--config", config, "--as-of", NIGHT_1)
    first = latest(config).name.removeprefix("run_id=")
    invoke("run", "--config", config, "--as-of", NIGHT_2)
    second = latest(config).name.removeprefix("run_id=")
    return config, first, second


def whatif(config: Path, out: Path, *args: str, expect: int = 0):
    """Run whatif; returns (changes.parquet as a frame, summary.json, printed text)."""
    result = invoke("whatif", "--config", config, "--out", out, *args, expect=expect)
    if expect:
        return None, None, result.output
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    return pl.read_parquet(out / "changes.parquet"), summary, result.output


def moved(changes: pl.DataFrame) -> list[tuple]:
    return sorted(changes.select("list_id", "email", "change", "reason_now", "reason_whatif").rows())


def list_summary(summary: dict, list_id: str) -> dict:
    [item] = [item for item in summary["lists"] if item["list_id"] == list_id]
    return item


def test_the_same_policy_changes_nobody(nights, tmp_path):
    config, _, second = nights
    changes, summary, _ = whatif(config, tmp_path / "same")
    assert changes.height == 0
    assert summary["run_id"] == second
    assert summary["changed_rows"] == 0
    # the evaluation reproduces the published run's counts exactly
    manifest = json.loads((latest(config) / "manifest.json").read_text("utf-8"))
    for list_id, counts in manifest["lists"].items():
        item = list_summary(summary, list_id)
        assert item["sendable_now"] == item["sendable_whatif"] == counts["sendable"]


def test_a_limit_of_three_on_night_one_takes_the_full_mailbox_off_offers(nights, tmp_path):
    """By night 1 full@ bounced soft on C-14, C-15 and C-16: three campaigns in a row."""
    config, first, _ = nights
    changes, summary, output = whatif(
        config, tmp_path / "three", "--run", first, "--set", "policy.soft_bounce_limit=3"
    )
    assert moved(changes) == [("offers", "full@example.com", "leaves", None, "soft_bounce_limit")]
    assert changes["sendable_now"].to_list() == [True]
    assert changes["sendable_whatif"].to_list() == [False]
    assert "soft bounces on 3 consecutive campaigns" in changes["detail_whatif"][0]
    offers = list_summary(summary, "offers")
    assert (offers["sendable_now"], offers["sendable_whatif"], offers["leave"]) == (11, 10, 1)
    assert offers["leave_by_reason"] == [
        {"reason": "soft_bounce_limit", "n": 1, "examples": ["f***@example.com"]}
    ]
    assert summary["changes"] == [{"key": "policy.soft_bounce_limit", "now": 4, "whatif": 3}]
    # printed masked, never whole
    assert "offers: 1 leave, soft_bounce_limit (e.g. f***@example.com)" in output
    assert "full@example.com" not in output


def test_a_limit_of_three_on_night_two_moves_nobody(nights, tmp_path):
    """busy@ has two soft bounces in a row; retry@'s streak was broken by a delivery on C-16."""
    config, _, _ = nights
    changes, _, _ = whatif(config, tmp_path / "three", "--set", "policy.soft_bounce_limit=3")
    assert changes.height == 0


def test_a_limit_of_five_brings_the_full_mailbox_back(nights, tmp_path):
    """full@'s four soft bounces (C-14..C-17) suppress it at 4, not at 5."""
    config, _, _ = nights
    changes, summary, output = whatif(config, tmp_path / "five", "--set", "policy.soft_bounce_limit=5")
    assert moved(changes) == [("offers", "full@example.com", "comes_back", "soft_bounce_limit", None)]
    assert list_summary(summary, "offers")["come_back_by_reason"] == [
        {"reason": "soft_bounce_limit", "n": 1, "examples": ["f***@example.com"]}
    ]
    assert "offers: 1 come back, soft_bounce_limit (e.g. f***@example.com)" in output


def test_as_of_a_time_compares_with_the_pipeline_file_evaluated_then(nights, tmp_path):
    config, _, _ = nights
    changes, summary, _ = whatif(
        config, tmp_path / "as-of", "--as-of", NIGHT_2, "--set", "policy.soft_bounce_limit=5"
    )
    assert summary["run_id"] is None
    assert moved(changes) == [("offers", "full@example.com", "comes_back", "soft_bounce_limit", None)]


def test_blocklist_rejections_read_as_hard_take_the_blocked_sender_off(nights, tmp_path):
    """blocked@'s four 5.7.1 replies blame the sender's IP; read as hard bounces they suppress it."""
    config, _, _ = nights
    rules = tmp_path / "blocklist_as_hard.toml"
    rules.write_text(BLOCKLIST_AS_HARD, "utf-8")
    changes, summary, _ = whatif(config, tmp_path / "rules", "--bounce-rules", rules)
    assert moved(changes) == [("offers", "blocked@example.com", "leaves", None, "hard_bounce")]
    assert "5.7.1" in changes["detail_whatif"][0]
    assert summary["bounce_rules"]["bounces_reclassified"] == 4
    assert summary["bounce_rules"]["version"].endswith("+blocklist_as_hard.toml")


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        (
            "policy.soft_bounce_limt=3",
            "policy.soft_bounce_limt: unknown key. Did you mean policy.soft_bounce_limit?",
        ),
        ("policy.soft_bounce_limit=three", "soft_bounce_limit must be a whole number"),
        ("policy.soft_bounce_limit=0", "soft_bounce_limit must be at least 1"),
        ("lists.newsleter.require_confirmed_optin=false", "no list 'newsleter'"),
        ("lists.newsletter.require_confirmed_optin=yes", "require_confirmed_optin must be true or false"),
        ("policy.max_list_drop_fraction=0.5", "guards publishing a run, not who is sendable"),
        ("store.database=elsewhere.duckdb", "store.database: unknown key"),
        ("soft_bounce_limit", "is not KEY=VALUE"),
    ],
)
def test_a_bad_key_or_value_is_a_usage_error_naming_it(nights, tmp_path, setting, named):
    config, _, _ = nights
    _, _, output = whatif(config, tmp_path / "bad", "--set", setting, expect=2)
    assert named in output
    assert not (tmp_path / "bad" / "changes.parquet").exists()


def test_an_out_folder_inside_the_published_runs_is_refused(nights):
    config, _, _ = nights
    _, _, output = whatif(config, latest(config) / "whatif", expect=2)
    assert "whatif must leave as it is" in output


def fingerprint(*folders: Path) -> dict[str, str]:
    """Every file's SHA-256 and every link's target under the folders."""
    found = {}
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            for name in dirs + files:
                path = Path(root) / name
                if path.is_symlink():
                    found[str(path)] = "-> " + os.readlink(path)
                elif path.is_file():
                    found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def test_store_published_runs_and_latest_stay_byte_identical(nights, tmp_path):
    config, _, _ = nights
    state, out = config.parent.parent / "state", config.parent.parent / "out"
    before = fingerprint(state, out)
    assert any(p.endswith("sample.duckdb") for p in before) and any(p.endswith("latest") for p in before)
    rules = tmp_path / "blocklist_as_hard.toml"
    rules.write_text(BLOCKLIST_AS_HARD, "utf-8")
    whatif(config, tmp_path / "w", "--set", "policy.soft_bounce_limit=2", "--bounce-rules", rules)
    assert fingerprint(state, out) == before
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == ["changes.parquet", "summary.json"]


def test_a_night_can_start_while_whatif_evaluates(tmp_path, monkeypatch):
    """whatif holds the store only while copying it: a run takes the lock and publishes meanwhile."""
    config = copy_sample(tmp_path)
    invoke("run", "--config", config, "--as-of", NIGHT_1)
    compared = latest(config).name.removeprefix("run_id=")
    evaluate, nights_run = whatif_module.evaluate, []

    def run_a_night_first(*args, **kwargs):
        nights_run.append(run_night(load_config(config), as_of=whatif_module.datetime.fromisoformat(NIGHT_2)))
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(whatif_module, "evaluate", run_a_night_first)
    changes, summary, _ = whatif(config, tmp_path / "w", "--set", "policy.soft_bounce_limit=3")
    [night] = nights_run
    assert latest(config) == night.path  # the night published while whatif was evaluating
    assert summary["run_id"] == compared  # and whatif kept to the run it started with
    assert moved(changes) == [("offers", "full@example.com", "leaves", None, "soft_bounce_limit")]
    shutil.rmtree(tmp_path / "w")


def test_a_list_without_double_opt_in_takes_the_unconfirmed_member(nights, tmp_path):
    """On night 1 new@ had joined the newsletter and not yet confirmed (it did at 20:00)."""
    config, first, _ = nights
    changes, summary, _ = whatif(
        config, tmp_path / "sop", "--run", first, "--set", "lists.newsletter.require_confirmed_optin=false"
    )
    assert moved(changes) == [("newsletter", "new@example.com", "comes_back", "unconfirmed", None)]
    assert summary["changes"] == [
        {"key": "lists.newsletter.require_confirmed_optin", "now": True, "whatif": False}
    ]


def test_whatif_waits_for_a_night_that_holds_the_store(nights, tmp_path):
    """A night holds the store read-write: whatif says so and exits 5, as explain does."""
    config, _, _ = nights
    database = config.parent.parent / "state" / "sample.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_STORE, str(database)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        _, _, output = whatif(config, tmp_path / "w", expect=5)
        assert "in use by a run that is going on" in output
    finally:
        holder.kill()
        holder.wait()


# A writer's connection, as a night holds it, until killed.
HOLD_STORE = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(60)
"""


def test_files_loaded_after_the_compared_run_do_not_count(tmp_path):
    """The night-2 export arrives after a run as of night 2 was published: a what-if on that run
    still reads the files the run read (with the export, Ana's do_not_allow would show up)."""
    config = copy_sample(tmp_path)
    late = tmp_path / "data" / "sample" / "contacts_2026-11-21.csv"
    held_back = tmp_path / "contacts_2026-11-21.csv"
    late.rename(held_back)
    invoke("run", "--config", config, "--as-of", NIGHT_2)
    compared = latest(config).name.removeprefix("run_id=")
    held_back.rename(late)
    invoke("run", "--config", config, "--as-of", NIGHT_2)
    changes, summary, _ = whatif(config, tmp_path / "w", "--run", compared)
    assert summary["run_id"] == compared
    assert changes.height == 0
    # the newer run, which read the export, differs from it: the pinning is what kept it out
    runs = config.parent.parent / "out" / "sample" / "runs"
    statuses = [
        set(
            pl.read_parquet(runs / f"run_id={run_id}" / "contact_status.parquet")
            .select("email", "list_id", "reason")
            .rows()
        )
        for run_id in (compared, latest(config).name.removeprefix("run_id="))
    ]
    assert ("leaver@example.com", "offers", "not_in_source") in statuses[1] - statuses[0]
