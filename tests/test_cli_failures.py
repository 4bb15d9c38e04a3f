"""Broken inputs and configs through the CLI: clear message, right exit code, nothing changed."""

from __future__ import annotations

import gzip
import json
import os

import duckdb
import pytest

from listhygiene import store
from listhygiene.config import load_config

from conftest import copy_sample, invoke

NIGHT_1 = "2026-11-20T06:00:00Z"
NIGHT_2 = "2026-11-21T06:00:00Z"


def store_state(config) -> dict:
    """Row counts of every store table, read without changing anything."""
    con = duckdb.connect(str(config.parent.parent / "state" / "sample.duckdb"), read_only=True)
    try:
        tables = [r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()]
        return {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in sorted(tables)}
    finally:
        con.close()


def published(config) -> tuple[list[str], str]:
    out = config.parent.parent / "out" / "sample"
    return sorted(os.listdir(out / "runs")), os.readlink(out / "latest")


@pytest.fixture
def after_night_one(tmp_path):
    config = copy_sample(tmp_path)
    invoke("run", "--config", config, "--as-of", NIGHT_1)
    return config


def add_file(config, name: str, content: bytes):
    path = config.parent.parent / "data" / "sample" / name
    path.write_bytes(content)
    return path


def assert_nothing_changed(config, before_state, before_published):
    assert store_state(config) == before_state
    assert published(config) == before_published


def _truncated_gzip() -> bytes:
    rows = "".join(f"user{i}@example.com,2026-11-20T{i % 24:02d}:{i % 60:02d}:00Z\n" for i in range(2000))
    whole = gzip.compress(("email,occurred_at\n" + rows).encode())
    return whole[: len(whole) // 2]  # the upload stopped half way


BROKEN_INPUTS = {
    "missing column": (
        "unsubscribes_2026-11-21.csv",
        b"email,event\r\nx@example.com,unsubscribe\r\n",
        ["unsubscribes_2026-11-21.csv", "'occurred_at'"],
    ),
    "unparsable timestamps": (
        "bounces_2026-11-21.csv",
        b"email,occurred_at,event\nx@example.com,yesterday,bounce\ny@example.com,21/11/2026,bounce\n",
        ["bounces_2026-11-21.csv", "row 1", "'occurred_at'", "yesterday", "2 of 2 rows"],
    ),
    "zero-byte contacts export": ("contacts_2026-11-22.csv", b"", ["contacts_2026-11-22.csv", "zero-byte"]),
    "binary file": ("contacts_2026-11-22.csv", bytes(range(256)) * 40, ["contacts_2026-11-22.csv"]),
    "truncated gzip": ("bounces_2026-11-21.csv.gz", _truncated_gzip(), ["bounces_2026-11-21.csv.gz"]),
}


@pytest.mark.parametrize("case", sorted(BROKEN_INPUTS))
def test_broken_input_fails_cleanly_and_changes_nothing(after_night_one, case):
    config = after_night_one
    name, content, expected = BROKEN_INPUTS[case]
    before_state, before_published = store_state(config), published(config)
    add_file(config, name, content)

    result = invoke("run", "--config", config, "--as-of", NIGHT_2, expect=3)

    message = result.stderr
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "Traceback" not in result.output
    assert_nothing_changed(config, before_state, before_published)


def test_contacts_glob_matching_nothing_is_an_error(tmp_path):
    config = copy_sample(tmp_path)
    for path in (tmp_path / "data" / "sample").glob("contacts_*.csv"):
        path.unlink()
    result = invoke("run", "--config", config, expect=3)
    assert "contacts source 'crm' matches no file" in result.stderr
    assert not (tmp_path / "out").exists()


def test_log_source_matching_nothing_is_a_warning(tmp_path):
    config = copy_sample(tmp_path)
    (tmp_path / "data" / "sample" / "bounces.csv").unlink()
    result = invoke("run", "--config", config, "--as-of", NIGHT_1)
    assert "bounces source 'platform_bounces' matches no file" in result.stderr


def test_a_few_bad_rows_are_quarantined_and_the_run_goes_on(after_night_one):
    config = after_night_one
    rows = "".join(f"u{i}@example.com,2026-11-20T12:00:00Z,unsubscribe\n" for i in range(40))
    add_file(
        config,
        "unsubscribes_2026-11-21.csv",
        ("email,occurred_at,event\n" + rows + "u99@example.com,2026-11-20T12:00:00Z,explode\n").encode(),
    )
    invoke("run", "--config", config, "--as-of", NIGHT_2)
    import polars as pl

    quarantine = pl.read_parquet(config.parent.parent / "out/sample/latest/quarantine.parquet")
    bad = quarantine.filter(pl.col("file").str.ends_with("unsubscribes_2026-11-21.csv"))
    assert bad.select("row_number", "column").rows() == [(41, "event")]
    assert "explode" in bad["error"][0] and "u99@example.com" in bad["raw"][0]


@pytest.mark.parametrize(
    "toml, expected",
    [
        ("[store]\ndatabase = 'x.duckdb'\n", "[store]"),
        ("not toml at all [", "is not valid TOML"),
        (
            "[store]\ndatabase='x'\noutput='y'\n[[sources]]\nname='c'\nkind='contacts'\npath='*.csv'\n"
            "[policy]\nsoft_bounce_limt = 3\n",
            "unknown key 'soft_bounce_limt'",
        ),
        (
            "[store]\ndatabase='x'\noutput='y'\n[[sources]]\nname='c'\nkind='contact'\npath='*.csv'\n",
            "kind 'contact' is not one of contacts, unsubscribes, bounces",
        ),
        (
            "[store]\ndatabase='x'\noutput='y'\n[[sources]]\nname='c'\nkind='contacts'\npath='*.csv'\n"
            "[policy]\nmax_list_drop_fraction = 20\n",
            "max_list_drop_fraction must be a fraction",
        ),
    ],
)
def test_config_errors_exit_2(tmp_path, toml, expected):
    config = tmp_path / "p.toml"
    config.write_text(toml)
    result = invoke("run", "--config", config, expect=2)
    assert expected in result.stderr
    assert not (tmp_path / "x").exists()


def test_missing_config_and_bad_as_of_exit_2(tmp_path):
    assert "does not exist" in invoke("run", "--config", tmp_path / "nope.toml", expect=2).stderr
    config = copy_sample(tmp_path)
    assert "not an ISO 8601 time" in invoke("run", "--config", config, "--as-of", "tuesday", expect=2).stderr


def test_drop_guard_stops_a_large_drop_and_force_publishes_it(after_night_one):
    config = after_night_one
    text = config.read_text().replace("max_list_drop_fraction = 0.50", "max_list_drop_fraction = 0.20")
    config.write_text(text)
    before_state, before_published = store_state(config), published(config)

    result = invoke("run", "--config", config, "--as-of", NIGHT_2, expect=4)
    assert "list offers: sendable 11 -> 6 (45% drop, limit 20%)" in result.stderr
    assert "top reasons: complaint 1, hard_bounce 1, unsubscribed 1" in result.stderr
    assert "list staff-news: sendable 3 -> 2 (33% drop" in result.stderr
    assert "--force" in result.stderr
    assert_nothing_changed(config, before_state, before_published)

    forced = invoke("run", "--config", config, "--as-of", NIGHT_2, "--force")
    assert "published with --force" in forced.output
    manifest = json.loads((config.parent.parent / "out/sample/latest/manifest.json").read_text())
    assert manifest["forced"] is True and manifest["lists"]["offers"]["sendable"] == 6


def test_backfilled_as_of_does_not_move_latest_backwards(tmp_path):
    config = copy_sample(tmp_path)
    invoke("run", "--config", config, "--as-of", NIGHT_2)
    newest = os.readlink(tmp_path / "out/sample/latest")
    invoke("run", "--config", config, "--as-of", NIGHT_1)
    assert os.readlink(tmp_path / "out/sample/latest") == newest
    assert len(os.listdir(tmp_path / "out/sample/runs")) == 2


def test_a_store_in_use_by_another_process_exits_5(after_night_one):
    import subprocess
    import sys

    config = after_night_one
    store = config.parent.parent / "state" / "sample.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys, time; c = duckdb.connect({str(store)!r}); print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = invoke("run", "--config", config, "--as-of", NIGHT_2, expect=5)
        assert "is in use by another process" in result.stderr
    finally:
        holder.kill()
        holder.wait()


def test_running_out_of_memory_is_a_clean_error_that_changes_nothing(after_night_one, monkeypatch):
    from listhygiene import pipeline

    config = after_night_one
    before_state, before_published = store_state(config), published(config)

    def out_of_memory(*args, **kwargs):
        raise duckdb.OutOfMemoryException("Out of Memory Error: failed to pin block of size 256.0 KiB")

    monkeypatch.setattr(pipeline, "evaluate", out_of_memory)
    result = invoke("run", "--config", config, "--as-of", "2026-11-21T06:00:00Z", expect=1)
    assert "Traceback" not in result.output
    assert "LISTHYGIENE_MEMORY_LIMIT" in result.output and "Nothing was published" in result.output
    assert_nothing_changed(config, before_state, before_published)


def test_out_of_memory_in_a_rule_model_names_the_model(after_night_one, monkeypatch):
    """A model DuckDB cannot fit (here status_reasons made to build a 30M-element list, which
    cannot spill, under a 64 MiB limit) is named in the error, so the operator knows which
    step to give memory; the run rolls back as for any other failure."""
    from listhygiene.rules import runner

    config = after_night_one
    before_state, before_published = store_state(config), published(config)
    real_sql = runner.model_sql

    def model_sql(name: str) -> str:
        if name == "status_reasons":
            return "select list(range) as too_big from range(30000000)"
        return real_sql(name)

    monkeypatch.setattr(runner, "model_sql", model_sql)
    monkeypatch.setenv("LISTHYGIENE_MEMORY_LIMIT", "64MiB")
    result = invoke("run", "--config", config, "--as-of", NIGHT_2, expect=1)
    assert "Traceback" not in result.output
    assert "more memory than DuckDB may use while building model status_reasons (Out of Memory" in (
        result.stderr
    )
    assert "Nothing was published and the store is unchanged" in result.stderr
    assert_nothing_changed(config, before_state, before_published)


def test_a_full_disk_while_spilling_names_the_step_and_changes_nothing(after_night_one, monkeypatch):
    """DuckDB spills what does not fit in memory beside the store; when that disk fills, the
    error names the step and the folder to free, without a traceback, and the run rolls back.
    Other I/O errors are not dressed up as a full disk."""
    from listhygiene import logs, pipeline

    config = after_night_one
    before_state, before_published = store_state(config), published(config)

    def disk_full(*args, **kwargs):
        with logs.step("building model active_reasons"):
            raise duckdb.IOException(
                'IO Error: Could not write file "state/sample.duckdb.tmp/'
                'duckdb_temp_1.tmp": No space left on device'
            )

    monkeypatch.setattr(pipeline, "evaluate", disk_full)
    result = invoke("run", "--config", config, "--as-of", NIGHT_2, expect=1)
    assert "Traceback" not in result.output
    error = result.stderr.splitlines()[-1]
    assert error.startswith("error: the disk filled while building model active_reasons (IO Error")
    assert (
        "(<store>.rules) and DuckDB what does not fit in memory (<store>.tmp); nothing was "
        "published and the store is unchanged. Free disk space"
    ) in error
    assert_nothing_changed(config, before_state, before_published)
    database = load_config(config).database
    assert not store.rule_tables_dir(database).exists()  # the failed run's rule tables are gone

    with pytest.raises(duckdb.IOException, match="Permission denied"):
        with logs.step("writing sendable.parquet"):
            raise duckdb.IOException("IO Error: Permission denied")


def test_verbose_times_every_model_and_output(sample_config):
    result = invoke("--verbose", "--log-format", "json", "run", "--config", sample_config, "--as-of", NIGHT_1)
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    debug = {line["message"].split(":")[0]: line["seconds"] for line in lines if line["level"] == "debug"}
    from listhygiene.rules.runner import RUN_MODELS

    assert {f"building model {name}" for name in RUN_MODELS} <= debug.keys()
    assert {"writing suppressions.parquet", "writing sendable.parquet"} <= debug.keys()
    assert any(key.startswith("loading ") for key in debug)
    assert all(seconds >= 0 for seconds in debug.values())
    quiet = invoke("--log-format", "json", "run", "--config", sample_config, "--as-of", NIGHT_1)
    assert all(json.loads(line)["level"] != "debug" for line in quiet.stderr.splitlines())
