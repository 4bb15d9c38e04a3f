"""A nightly run keeps its rule tables as Parquet, deletes each after its last reader, and publishes the same outputs."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from listhygiene import pipeline, store
from listhygiene.config import load_config
from listhygiene.outputs import publish
from listhygiene.rules import runner
from test_synth import synth

from conftest import invoke


def temp_tables(con) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = 'temp' and table_type <> 'VIEW'"
        ).fetchall()
    }


def temp_views(con) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = 'temp' and table_type = 'VIEW'"
        ).fetchall()
    }


def test_models_read_finds_model_names_as_whole_words_outside_comments():
    sql = """-- unlike memberships, this reads
             select * from primary_records p join "candidates" c using (email)
             where p.reported_rows_seen -- and suppressions"""
    assert runner.models_read(sql) == {"primary_records", "candidates"}


def test_every_model_reads_only_models_built_before_it():
    for position, name in enumerate(runner.RUN_MODELS):
        assert runner.reads(name) <= set(runner.RUN_MODELS[:position]), name


def test_the_outputs_read_the_published_tables_and_the_files_in_use():
    # contact_files, not contact_records: an incremental night restricts that view's rows
    assert {
        "contact_status",
        "suppressions",
        "vanished",
        "blocked_resubscribes",
        "consent_ledger",
        "crm_updates",
        "duplicates",
        "contact_files",
        "rates",  # the store's events, not the events view an incremental night restricts
    } == publish.READS
    assert runner.expand_views({"contact_records"}) == {"contact_records", "contact_files", "held_records"}


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory):
    """A small synthetic data set with both nights published by the CLI (which drops tables)."""
    out = synth(tmp_path_factory.mktemp("drops") / "data")
    nights = json.loads((out / "synth.json").read_text())["nights"]
    for night in nights:
        invoke("-q", "run", "--config", out / "pipeline.toml", "--as-of", night["as_of"])
    return out, nights[-1]["as_of"]


def evaluate_again(folder: Path, as_of: str, tmp_path: Path, *, scratch: Path | None):
    """The published store's copy evaluated again as of the second night; returns the connection."""
    config = load_config(folder / "pipeline.toml")
    copy = tmp_path / "store.duckdb"
    shutil.copy(config.database, copy)
    con = store.connect(copy)
    moment = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
    pipeline.evaluate(con, config, moment, pipeline.previous_run(con, moment), scratch=scratch)
    return con


def test_a_nightly_run_keeps_only_what_the_outputs_read_as_parquet_files(two_nights, tmp_path):
    scratch = tmp_path / "rules"
    scratch.mkdir()
    con = evaluate_again(*two_nights, tmp_path, scratch=scratch)
    try:
        # contact_files stays: the contact_records view the outputs read is built on it
        kept = {
            "contact_status",
            "suppressions",
            "vanished",
            "blocked_resubscribes",
            "consent_ledger",
            "crm_updates",
            "duplicates",
            "contact_files",
            "rates",
        }
        assert {p.name for p in scratch.iterdir()} == {f"{name}.parquet" for name in kept}
        assert temp_tables(con) == {
            "run_params",
            "run_sources",
            "list_settings",
            "reason_precedence",
            "accepted_evidence",
            "report_thresholds",
        }
        assert kept <= temp_views(con)
        assert not ({"memberships", "candidates", "active_reasons"} & temp_views(con))
    finally:
        con.close()


def test_the_run_s_rule_tables_are_gone_once_it_published(two_nights):
    folder, _ = two_nights
    assert not store.rule_tables_dir(load_config(folder / "pipeline.toml").database).exists()


def test_outputs_with_every_table_kept_equal_the_published_ones(two_nights, tmp_path):
    folder, as_of = two_nights
    con = evaluate_again(folder, as_of, tmp_path, scratch=None)
    try:
        assert set(runner.RUN_MODELS) - runner.VIEW_MODELS <= temp_tables(con)
        publish.write_outputs(con, tmp_path / "kept")
    finally:
        con.close()
    published = (folder / "out" / "latest").resolve()
    names = sorted(p.name for p in published.glob("*.parquet"))
    assert names == sorted(p.name for p in (tmp_path / "kept").glob("*.parquet"))
    for name in names:
        expected = pl.read_parquet(published / name)
        assert expected.height > 0 or name in {"quarantine.parquet"}, name
        assert_frame_equal(pl.read_parquet(tmp_path / "kept" / name), expected, check_exact=True)
