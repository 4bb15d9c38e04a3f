"""Real processes killed mid-run, runs started at once: nothing wrong is ever published."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from listhygiene.checkpoints import POINTS

from conftest import copy_sample, invoke

NIGHT_1 = "2026-11-20T06:00:00Z"
NIGHT_2 = "2026-11-21T06:00:00Z"
NEW_LOG = "unsubscribes_2026-11-21.csv"
NEW_EVENTS = (
    "email,occurred_at,event,list_id,source,evidence,evidence_ref\n"
    "sam@realty.example,2026-11-21T01:00:00Z,resubscribe,offers,contact,written_consent,ticket 4411\n"
)


def start_run(config: Path, as_of: str, **env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "listhygiene.cli", "run", "--config", str(config), "--as-of", as_of],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def wait_until_paused(process: subprocess.Popen, point: str) -> list[str]:
    seen = []
    for line in process.stderr:
        seen.append(line)
        if f"paused at {point}" in line:
            return seen
    raise AssertionError(f"the run never reached {point}: {''.join(seen)}")


def night_two_folder(tmp_path: Path) -> Path:
    """A sample copy with night one published and a new log file for night two."""
    config = copy_sample(tmp_path)
    invoke("run", "--config", config, "--as-of", NIGHT_1)
    (tmp_path / "data" / "sample" / NEW_LOG).write_text(NEW_EVENTS)
    return config


def published_runs(tmp_path: Path) -> dict[str, Path]:
    runs = tmp_path / "out" / "sample" / "runs"
    return {p.name.removeprefix("run_id="): p for p in sorted(runs.iterdir())}


def assert_consistent(tmp_path: Path) -> None:
    """Every folder under runs/ is a complete run the store committed; latest is one of them."""
    out = tmp_path / "out" / "sample"
    con = duckdb.connect(str(tmp_path / "state" / "sample.duckdb"), read_only=True)
    try:
        # a run killed between moving its folder under runs/ and recording it published is
        # committed in the store; the next run's repair records it published
        in_store = {
            r
            for (r,) in con.execute(
                "select run_id from runs where status in ('published', 'committed')"
            ).fetchall()
        }
        files = con.execute("select source, sha256, count(*) from input_files group by all").fetchall()
    finally:
        con.close()
    assert all(count == 1 for _, _, count in files), files
    runs = published_runs(tmp_path)
    assert set(runs) <= in_store
    for folder in runs.values():
        assert (folder / "manifest.json").exists()
        for name in ("sendable", "contact_status", "vanished", "suppressions"):
            pl.read_parquet(folder / f"{name}.parquet")
    assert (out / "latest").resolve() in set(runs.values())


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> pl.DataFrame:
    """Night two's sendable list from an undisturbed run."""
    tmp_path = tmp_path_factory.mktemp("reference")
    config = night_two_folder(tmp_path)
    invoke("run", "--config", config, "--as-of", NIGHT_2)
    return pl.read_parquet(tmp_path / "out/sample/latest/sendable.parquet")


@pytest.mark.parametrize("point", POINTS)
def test_killed_run_leaves_a_consistent_state_and_the_rerun_is_correct(tmp_path, reference, point):
    config = night_two_folder(tmp_path)
    night_one = (tmp_path / "out/sample/latest").resolve()

    process = start_run(config, NIGHT_2, LISTHYGIENE_PAUSE_AT=point)
    wait_until_paused(process, point)
    process.send_signal(signal.SIGKILL)
    process.wait()

    # what readers see right after the crash
    assert_consistent(tmp_path)
    latest = (tmp_path / "out/sample/latest").resolve()
    if point in ("committed", "published"):
        assert latest == night_one  # committed but not switched: readers still see night one
    assert pl.read_parquet(latest / "sendable.parquet").height > 0

    rerun = invoke("run", "--config", config, "--as-of", NIGHT_2)
    assert_consistent(tmp_path)
    repairs = [line for line in rerun.stderr.splitlines() if "repair:" in line]
    expected = {
        "loading": [],
        "evaluated": [],
        "writing": ["removed the unfinished run"],
        "committed": ["finished publishing run", "pointed latest at run"],
        "published": ["pointed latest at run"],
    }[point]
    assert len(repairs) == len(expected) and all(e in r for e, r in zip(expected, repairs)), repairs
    assert pl.read_parquet(tmp_path / "out/sample/latest/sendable.parquet").equals(reference)
    assert "sam@realty.example" in reference.filter(pl.col("list_id") == "offers")["email"].to_list()


def test_two_runs_at_once_one_publishes_the_other_exits_5(tmp_path):
    config = night_two_folder(tmp_path)
    # paused long enough for the second process to start and reach the lock on a loaded machine
    # (3 s was not, with a benchmark sharing the two cores)
    first = start_run(config, NIGHT_2, LISTHYGIENE_PAUSE_AT="evaluated", LISTHYGIENE_PAUSE_SECONDS="15")
    wait_until_paused(first, "evaluated")

    second = start_run(config, NIGHT_2)
    _, second_err = second.communicate(timeout=60)
    assert second.returncode == 5, second_err
    assert "another run holds the lock" in second_err and f"pid {first.pid}" in second_err

    first.communicate(timeout=60)
    assert first.returncode == 0
    assert len(published_runs(tmp_path)) == 2  # night one and one night two


def test_a_lock_left_by_a_killed_run_does_not_block_the_next(tmp_path):
    config = night_two_folder(tmp_path)
    killed = start_run(config, NIGHT_2, LISTHYGIENE_PAUSE_AT="evaluated")
    wait_until_paused(killed, "evaluated")
    killed.send_signal(signal.SIGKILL)
    killed.wait()

    result = invoke("run", "--config", config, "--as-of", NIGHT_2)
    assert f"took over the lock left by pid {killed.pid}" in result.stderr
    assert len(published_runs(tmp_path)) == 2


def test_a_run_that_finished_leaves_no_holder_behind(tmp_path):
    config = copy_sample(tmp_path)
    invoke("run", "--config", config, "--as-of", NIGHT_1)
    assert (tmp_path / "state" / "sample.duckdb.lock").read_text() == ""
    assert "took over" not in invoke("run", "--config", config, "--as-of", NIGHT_2).stderr
