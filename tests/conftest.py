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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The Spark tests run in one worker (pytest-xdist's loadgroup), sharing one Spark session;
    the others are spread over the workers (pyproject's addopts: -n 2 --dist loadgroup)."""
    for item in items:
        if item.path.name.startswith("test_spark_"):
            item.add_marker(pytest.mark.xdist_group("spark"))
