"""Each published output holds one row per its grain (publish.GRAIN): audited on every data set published here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from listhygiene.outputs.publish import GRAIN, OUTPUT_QUERIES

from conftest import copy_sample, invoke
from test_platforms_mixed import FIXTURES as MIXED_FIXTURES
from test_platforms_mixed import PIPELINE as MIXED_PIPELINE

NIGHT_1, NIGHT_2 = "2026-11-20T06:00:00Z", "2026-11-21T06:00:00Z"


def grain_violations(path: Path, grain: tuple[str, ...]) -> list[tuple]:
    """The grain values held by more than one row of the Parquet file at `path` (NULL is a value)."""
    columns = ", ".join(f'"{c}"' for c in grain)
    return duckdb.execute(
        f"select {columns}, count(*) as n from read_parquet(?) group by all having count(*) > 1 "
        "order by n desc limit 5",
        [str(path)],
    ).fetchall()


def sample_runs(root: Path) -> list[Path]:
    config = copy_sample(root)
    latest = config.parent.parent / "out" / "sample" / "latest"
    runs = []
    for as_of in (NIGHT_1, NIGHT_2):
        invoke("run", "--config", config, "--as-of", as_of)
        runs.append(latest.resolve())
    return runs


def synth_runs(root: Path) -> list[Path]:
    """A synthetic set rich in duplicates, blocked resubscribes and CRM updates, two nights."""
    out = root / "synth"
    invoke("synth", "--contacts", "1500", "--events", "6000", "--out", out)
    runs = []
    for night in json.loads((out / "synth.json").read_text())["nights"]:
        invoke("run", "--config", out / "pipeline.toml", "--as-of", night["as_of"])
        runs.append((out / "out" / "latest").resolve())
    return runs


def mixed_platform_runs(root: Path) -> list[Path]:
    """A Mailchimp export, a mapped CRM CSV and SES and SendGrid logs, as test_platforms_mixed runs them."""
    shutil.copytree(MIXED_FIXTURES, root / "mixed")
    config = root / "mixed" / "pipeline.toml"
    config.write_text(MIXED_PIPELINE, encoding="utf-8")
    invoke("run", "--config", config, "--as-of", "2026-11-22T06:00:00Z")
    return [(root / "mixed" / "out" / "latest").resolve()]


DATA_SETS = {"sample": sample_runs, "synth": synth_runs, "mixed_platforms": mixed_platform_runs}


@pytest.fixture(scope="module", params=sorted(DATA_SETS))
def published(request, tmp_path_factory):
    return request.param, DATA_SETS[request.param](tmp_path_factory.mktemp(request.param))


def test_every_published_output_has_a_grain():
    assert set(GRAIN) == set(OUTPUT_QUERIES) | {"sendable.parquet"}


@pytest.mark.parametrize("name", sorted(GRAIN))
def test_each_output_holds_one_row_per_grain(published, name):
    data_set, runs = published
    for run in runs:
        path = run / name
        columns = pl.read_parquet_schema(path)
        assert set(GRAIN[name]) <= set(columns), f"{data_set} {name}: grain columns missing"
        assert grain_violations(path, GRAIN[name]) == [], f"{data_set} {run.name} {name}"


def test_the_data_sets_fill_the_outputs_whose_grain_is_audited(published):
    """An audit of empty files proves nothing: across its runs each data set fills most outputs."""
    data_set, runs = published
    filled = {name for name in GRAIN for run in runs if pl.read_parquet(run / name).height > 0}
    expected = {
        "sample": set(GRAIN) - {"quarantine.parquet"},
        "synth": set(GRAIN) - {"quarantine.parquet"},
        "mixed_platforms": {"sendable.parquet", "contact_status.parquet", "suppressions.parquet"},
    }[data_set]
    assert expected <= filled


def test_the_audit_finds_a_repeated_grain(tmp_path):
    """The audit itself: a file where two rows share (list_id, email) is reported, with the count."""
    path = tmp_path / "sendable.parquet"
    pl.DataFrame(
        {"list_id": ["news", "news", "news", None, None], "email": ["a@x.example"] * 2 + ["b@x.example"] * 3}
    ).write_parquet(path)
    violations = grain_violations(path, GRAIN["sendable.parquet"])
    assert set(violations) == {(None, "b@x.example", 2), ("news", "a@x.example", 2)}
