"""Shared fixtures: a copy of the sample pipeline in a temp folder, and a CLI runner."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import settings as hypothesis_settings

from listhygiene.cli import cli

REPO = Path(__file__).resolve().parent.parent


def copy_sample(target: Path) -> Path:
    """The sample pipeline and data under `target`; returns the pipeline file's path."""
    shutil.copytree(REPO / "data" / "sample", target / "data" / "sample")
    (target / "pipelines").mkdir(parents=True)
    shutil.copy(REPO / "pipelines" / "sample.toml", target / "pipelines" / "sample.toml")
    return target / "pipelines" / "sample.toml"


def invoke(*args: str, expect: int = 0):
    """Run the CLI in-process; assert its exit code, showing its output if it differs."""
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == expect, result.output
    return result


@pytest.fixture
def sample_config(tmp_path) -> Path:
    return copy_sample(tmp_path)


def read(run_dir: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(run_dir / f"{name}.parquet")


def latest(config: Path) -> Path:
    return (config.parent.parent / "out" / "sample" / "latest").resolve()


# Hypothesis's per-example deadline (200 ms) measures the machine, not the code: with the suite
# spread over both cores, a slow example is a busy core. Each test's own max_examples still holds.
hypothesis_settings.register_profile("listhygiene", deadline=None)
hypothesis_settings.load_profile("listhygiene")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """The Spark tests run in one worker, sharing one Spark session and each module's nights; the
    others are spread over the workers (pyproject's addopts: -n 2 --dist loadgroup).

    Grouped by file name here, not by an `xdist_group` mark: pytest-xdist 3.8 groups by a
    suffix it writes into each test's node id, which pytest 9 no longer takes, so the mark was
    silently ignored and the Spark tests ran on both workers (two sessions, every module's
    nights built twice)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class SparkTogether(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.split("::", 1)[0].rsplit("/", 1)[-1].startswith("test_spark_"):
                return "spark"
            return super()._split_scope(nodeid)

    return SparkTogether(config, log)
