"""Spark nights killed mid-load and mid-publish: the last published run stays, the next run publishes the same rows."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'listhygiene[spark]')")

from spark_session import SMALL_DATA, spark  # noqa: F401  (the shared session fixture)

from conftest import copy_sample, invoke
from test_crash_safety import NEW_EVENTS, NEW_LOG, NIGHT_1, NIGHT_2

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def spark_pipeline(root: Path) -> Path:
    """The sample on the Spark engine (a warehouse, no DuckDB store), under `root`; the warehouse
    named by a URI, as an object store's would be (file:// goes through the same code)."""
    config = copy_sample(root)
    warehouse = (root / "state" / "warehouse").as_uri()
    text = config.read_text().replace('database = "../state/sample.duckdb"', f'warehouse = "{warehouse}"', 1)
    conf = ", ".join(f'"{key}" = "{value}"' for key, value in SMALL_DATA.items())
    config.write_text(text + f'\n[engine]\nname = "spark"\nmaster = "local[2]"\nconf = {{ {conf} }}\n')
    return config


@pytest.fixture(scope="module")
def night_one(spark, tmp_path_factory) -> tuple[Path, Path]:  # noqa: F811
    """A folder with the sample's first night published on Spark and night two's new log beside
    its files, and a copy of it as it is then (a test starts from that copy, put back at the same
    place: the catalog names files and runs by their absolute paths)."""
    root = tmp_path_factory.mktemp("night-one")
    config = spark_pipeline(root)
    invoke("-q", "run", "--config", config, "--as-of", NIGHT_1)
    (root / "data" / "sample" / NEW_LOG).write_text(NEW_EVENTS)
    saved = root.with_name(root.name + "-saved")
    shutil.copytree(root, saved, symlinks=True)
    return root, saved


def restored(night_one: tuple[Path, Path]) -> Path:
    root, saved = night_one
    shutil.rmtree(root)
    shutil.copytree(saved, root, symlinks=True)
    return root


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> pl.DataFrame:
    """Night two's sendable list from undisturbed nights (on DuckDB: the engines' outputs are the
    same, tests/test_spark_engine, and DuckDB's nights take seconds)."""
    root = tmp_path_factory.mktemp("reference")
    config = copy_sample(root)
    invoke("-q", "run", "--config", config, "--as-of", NIGHT_1)
    (root / "data" / "sample" / NEW_LOG).write_text(NEW_EVENTS)
    invoke("-q", "run", "--config", config, "--as-of", NIGHT_2)
    return pl.read_parquet(root / "out/sample/latest/sendable.parquet")


def kill_at(config: Path, point: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "listhygiene.cli", "run", "--config", str(config), "--as-of", NIGHT_2],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LISTHYGIENE_PAUSE_AT": point},
    )
    seen = []
    assert process.stderr is not None
    for line in process.stderr:
        seen.append(line)
        if f"paused at {point}" in line:
            break
    else:
        raise AssertionError(f"the night never reached {point}: {''.join(seen)}")
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_spark_nights_killed_mid_load_then_after_the_commit_leave_the_last_run_and_the_next_publishes_the_same_rows(
    night_one, reference
):
    """Two crashes in a row, as a bad night may bring: killed while loading (nothing committed), then
    the retry killed after its commit (committed, not published); the next night repairs and
    publishes what an undisturbed night does."""
    root = restored(night_one)
    config = root / "pipelines" / "sample.toml"
    published_before = (root / "out/sample/latest").resolve()

    for point, statuses in (("loading", ["published"]), ("committed", ["published", "committed"])):
        kill_at(config, point)
        # what readers see right after the crash: night one, whole
        assert (root / "out/sample/latest").resolve() == published_before, point
        assert pl.read_parquet(published_before / "sendable.parquet").height > 0
        listing = json.loads(invoke("runs", "--config", config, "--json").output)
        assert [r["status"] for r in listing] == statuses, point

    rerun = invoke("run", "--config", config, "--as-of", NIGHT_2)
    repairs = ["finished publishing run", "pointed latest at run"]
    done = [line for line in rerun.stderr.splitlines() if "repair:" in line]
    assert len(done) == len(repairs) and all(e in r for e, r in zip(repairs, done)), done
    # the repaired night (published by the repair) and the rerun both hold the undisturbed rows
    runs = sorted((root / "out/sample/runs").iterdir())
    assert len(runs) == 3
    for night_two in runs[1:]:
        assert pl.read_parquet(night_two / "sendable.parquet").equals(reference), night_two.name
    assert (root / "out/sample/latest").resolve() == runs[-1]
    assert "sam@realty.example" in reference.filter(pl.col("list_id") == "offers")["email"].to_list()
    # the night killed mid-load left nothing behind: each file once in the catalog
    listing = json.loads(invoke("runs", "--config", config, "--json").output)
    assert [r["status"] for r in listing] == ["published"] * 3
    manifest = json.loads((root / "out/sample/latest/manifest.json").read_text())
    paths = [entry["path"] for entry in manifest["inputs"]]
    assert len(paths) == len(set(paths)) and any(p.endswith(NEW_LOG) for p in paths)
