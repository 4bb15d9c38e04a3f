"""Published outputs: reproducible, typed, readable by DuckDB, polars and pandas, atomically linked."""

from __future__ import annotations

import json
import os

import duckdb
import pandas as pd
import polars as pl
import pytest

from listhygiene.outputs.publish import (
    OUTPUT_QUERIES,
    SENDABLE_ORDER,
    UNIQUE_ORDER,
    order_column,
    total_order,
)

from conftest import copy_sample, invoke

NIGHT_1 = "2026-11-20T06:00:00Z"
NIGHT_2 = "2026-11-21T06:00:00Z"
OUTPUTS = ("sendable", "contact_status", "suppressions", "vanished", "blocked_resubscribes", "quarantine")


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    """Night 1, night 2, then night 2 again over the same inputs."""
    config = copy_sample(tmp_path_factory.mktemp("outputs"))
    latest = config.parent.parent / "out" / "sample" / "latest"
    runs = []
    for as_of in (NIGHT_1, NIGHT_2, NIGHT_2):
        invoke("run", "--config", config, "--as-of", as_of)
        runs.append(latest.resolve())
    return config, runs


@pytest.mark.parametrize("name", OUTPUTS)
def test_same_as_of_twice_gives_identical_contents(three_runs, name):
    _, (_, second, again) = three_runs
    assert second != again
    first_copy = pl.read_parquet(second / f"{name}.parquet")
    second_copy = pl.read_parquet(again / f"{name}.parquet")
    assert first_copy.height > 0 or name == "vanished"
    assert first_copy.equals(second_copy)


def test_outputs_are_typed(three_runs):
    _, (_, second, _) = three_runs
    status = pl.read_parquet(second / "contact_status.parquet")
    assert status.schema["sendable"] == pl.Boolean
    assert status.schema["reasons"] == pl.List(pl.String)
    assert status.schema["reason_at"] == pl.Datetime("us", "UTC")
    assert pl.read_parquet(second / "vanished.parquet").schema["reasons"] == pl.List(pl.String)
    assert pl.read_parquet(second / "suppressions.parquet").schema["since"] == pl.Datetime("us", "UTC")
    sendable = pl.read_parquet(second / "sendable.parquet")
    assert sendable.columns == ["list_id", "email", "contact_id", "first_name", "company"]
    ops = sendable.filter(pl.col("email") == "ops@xn--bcher-kva.example")
    assert ops["company"].to_list() == ["Bücher"]


@pytest.mark.parametrize("name", OUTPUTS)
def test_readable_by_duckdb_polars_and_pandas(three_runs, name):
    _, (_, second, _) = three_runs
    path = second / f"{name}.parquet"
    rows = pl.read_parquet(path).height
    assert duckdb.sql(f"select count(*) from read_parquet('{path}')").fetchall() == [(rows,)]
    assert len(pd.read_parquet(path)) == rows


def test_runs_are_hive_partitioned_for_analysts(three_runs):
    config, runs = three_runs
    out = config.parent.parent / "out" / "sample"
    counts = duckdb.sql(
        f"select run_id, count(*) from read_parquet('{out}/runs/*/sendable.parquet', hive_partitioning=true) "
        "group by run_id order by run_id"
    ).fetchall()
    assert [r[0] for r in counts] == [r.name.removeprefix("run_id=") for r in runs]


def test_latest_points_at_the_newest_run_and_no_staging_is_left(three_runs):
    config, runs = three_runs
    out = config.parent.parent / "out" / "sample"
    assert (out / "latest").resolve() == runs[-1]
    assert os.readlink(out / "latest") == f"runs/{runs[-1].name}"
    assert sorted(os.listdir(out / "runs")) == sorted(r.name for r in runs)


def test_manifest_describes_the_run(three_runs):
    _, (first, second, again) = three_runs
    manifest = json.loads((second / "manifest.json").read_text())
    assert manifest["run_id"] == second.name.removeprefix("run_id=")
    assert manifest["as_of"] == "2026-11-21T06:00:00.000000Z"
    assert manifest["previous_run_id"] == first.name.removeprefix("run_id=")
    assert len(manifest["config"]["sha256"]) == 64
    assert {i["path"].rsplit("/", 1)[1] for i in manifest["inputs"]} == {
        "contacts_2026-11-20.csv",
        "contacts_2026-11-21.csv",
        "unsubscribes.csv",
        "bounces.csv",
    }
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    assert manifest["outputs"]["sendable.parquet"] == pl.read_parquet(second / "sendable.parquet").height
    assert manifest["lists"]["staff-news"]["vanished_by_reason"] == {
        "unsubscribed": 1,
        "list_unsubscribed": 1,
    }
    # the re-run compares with the same earlier run, not with the first night-2 run
    assert json.loads((again / "manifest.json").read_text())["previous_run_id"] == manifest["previous_run_id"]
    assert not any(
        i["loaded_in_this_run"] for i in json.loads((again / "manifest.json").read_text())["inputs"]
    )


def order_of(name: str) -> str:
    return OUTPUT_QUERIES[name][1] if name in OUTPUT_QUERIES else SENDABLE_ORDER


def in_total_order(path) -> bool:
    """The file's rows are sorted by its key then its other columns (or its key is unique)."""
    rows = pl.read_parquet(path)
    order = order_of(path.name)
    if path.name in UNIQUE_ORDER:
        if rows.select(order_column(t) for t in order.split(",")).is_duplicated().any():
            return False
    else:
        order = total_order(rows.columns, order)
    positions = duckdb.sql(
        f"select file_row_number from read_parquet('{path}', hive_partitioning = false, "
        f"file_row_number = true) order by {order}"
    ).fetchall()
    return [p for (p,) in positions] == list(range(rows.height))


@pytest.mark.parametrize("name", sorted([*OUTPUT_QUERIES, "sendable.parquet"]))
def test_every_output_is_written_in_a_total_order(three_runs, name):
    """Rows that tie on an output's key would come out as DuckDB's threads finish them."""
    _, (_, second, _) = three_runs
    assert in_total_order(second / name)


TIES_PIPELINE = """
[store]
database = "state/store.duckdb"
output = "out"

[[sources]]
name = "crm"
kind = "contacts"
path = "contacts_*.csv"

[[sources]]
name = "platform_unsubscribes"
kind = "unsubscribes"
path = "unsubscribes.csv"

[policy]
max_list_drop_fraction = 1.0
max_quarantine_fraction = 0.5
"""


def test_quarantined_rows_of_two_versions_of_a_file_are_ordered_by_their_content(tmp_path):
    """A log file re-exported with other content is loaded again as a new version: both versions'
    bad rows are reported, under one path and row number, so the key alone cannot order them."""
    (tmp_path / "pipeline.toml").write_text(TIES_PIPELINE)
    (tmp_path / "contacts_2026-11-20.csv").write_text(
        "contact_id,email,list_id\nc1,ana@example.com,news\nc2,bo@example.com,news\n"
    )
    log = tmp_path / "unsubscribes.csv"
    log.write_text("email,occurred_at\nana@example.com,2026-11-19T10:00:00Z\nbo@example.com,yesterday\n")
    invoke("run", "--config", tmp_path / "pipeline.toml", "--as-of", NIGHT_1)
    log.write_text(
        "email,occurred_at\nana@example.com,2026-11-19T10:00:00Z\nbo@example.com,last week\n"
        "cy@example.com,2026-11-20T01:00:00Z\n"
    )
    invoke("run", "--config", tmp_path / "pipeline.toml", "--as-of", NIGHT_2)
    run = (tmp_path / "out" / "latest").resolve()

    quarantine = pl.read_parquet(run / "quarantine.parquet")
    assert quarantine.select("row_number", "raw").rows() == [
        (2, '{"email":"bo@example.com","occurred_at":"last week"}'),
        (2, '{"email":"bo@example.com","occurred_at":"yesterday"}'),
    ]
    assert in_total_order(run / "quarantine.parquet")
