"""A store written by an earlier version gains the new columns when opened, keeping its rows."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from listhygiene import store

from conftest import copy_sample, invoke

NIGHT_1 = "2026-11-20T06:00:00Z"
NIGHT_2 = "2026-11-21T06:00:00Z"


def test_a_version_1_store_is_brought_up_to_date_without_losing_rows(tmp_path):
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        store.create_schema(con)
        for table, column in [
            ("input_files", "mtime_ns"),
            ("input_files", "format"),
            ("input_files", "records_read"),
            ("input_files", "records_ignored"),
            ("bounce_events", "event_ref"),
            ("bounce_events", "platform"),
            ("unsubscribe_events", "event_ref"),
            ("unsubscribe_events", "platform"),
            ("quarantine", "contact_id"),
            ("quarantine", "list_id"),
            ("quarantine", "email"),
        ]:
            con.execute(f'alter table {table} drop column "{column}"')
        con.execute("update store_meta set value = '1' where key = 'schema_version'")
        con.execute("insert into quarantine values (1, 1, 'email', 'email is empty', '{}')")

    con = store.connect(path)
    try:
        columns = {
            r[0]
            for r in con.execute(
                "select column_name from duckdb_columns() where table_name = 'bounce_events'"
            ).fetchall()
        }
        assert {"event_ref", "platform"} <= columns
        assert con.execute("select value from store_meta where key = 'schema_version'").fetchall() == [
            (str(store.SCHEMA_VERSION),)
        ]
        assert con.execute("select count(*) from quarantine").fetchall() == [(1,)]
        # version 5: a quarantined row keeps its record's identity; older rows have none
        assert con.execute("select contact_id, list_id, email from quarantine").fetchall() == [
            (None, None, None)
        ]
    finally:
        con.close()


def _as_schema_5(database: Path) -> None:
    """The store as listhygiene wrote it before suppression lists (schema 5): no suppression_rows."""
    with duckdb.connect(str(database)) as con:
        con.execute("drop table suppression_rows")
        con.execute("update store_meta set value = '5' where key = 'schema_version'")


def test_readers_of_an_older_store_say_the_next_run_upgrades_it(tmp_path):
    """explain and runs open the store read-only: they cannot upgrade it, so they say what to do
    (exit 2, no traceback) instead of failing on a table the older store does not have; whatif
    upgrades only its private copy; the next night upgrades the store."""
    config = copy_sample(tmp_path)
    invoke("run", "--config", config, "--as-of", NIGHT_1)
    database = tmp_path / "state" / "sample.duckdb"
    _as_schema_5(database)
    before = database.read_bytes()

    for args in (["explain", "tom.baker@acme.example"], ["runs"]):
        error = invoke(*args, "--config", config, expect=2).stderr
        assert "written by an older listhygiene (store schema 5, this version reads schema" in error
        assert "the next `listhygiene run --config ...` upgrades it" in error
    invoke("whatif", "--config", config, "--out", tmp_path / "whatif")
    assert database.read_bytes() == before  # readers never change the store

    invoke("run", "--config", config, "--as-of", NIGHT_1)
    assert "tom.baker@acme.example" in invoke("explain", "tom.baker@acme.example", "--config", config).stdout


def test_a_store_from_a_newer_listhygiene_is_refused_by_readers(tmp_path):
    config = copy_sample(tmp_path)
    invoke("run", "--config", config, "--as-of", NIGHT_1)
    with duckdb.connect(str(tmp_path / "state" / "sample.duckdb")) as con:
        con.execute(
            "update store_meta set value = ? where key = 'schema_version'", [str(store.SCHEMA_VERSION + 1)]
        )
    error = invoke("runs", "--config", config, expect=2).stderr
    assert "written by a newer listhygiene" in error and "upgrade listhygiene" in error


def _as_schema_6(database: Path) -> None:
    """The store as listhygiene wrote it before schema 7: every row's spelling stored whole in email_raw."""
    with duckdb.connect(str(database)) as con:
        for table in store.SPELLING_TABLES:
            con.execute(f"create table {table}_old as select * exclude (email_spelling) from {table}")
            con.execute(f"drop table {table}")
            con.execute(f"alter table {table}_old rename to {table}")
        con.execute("update store_meta set value = '6' where key = 'schema_version'")


def test_a_schema_6_store_keeps_each_rows_spelling_and_stores_it_only_where_it_differs(tmp_path):
    """Schema 7 keeps a row's spelling (email_spelling) only where it differs from the normalized
    address; email_raw, computed from the two, reads as before, rows under a tombstone included."""
    config = copy_sample(tmp_path)
    invoke("run", "--config", config, "--as-of", NIGHT_1)
    invoke("forget", "tom.baker@acme.example", "--config", config)
    database = tmp_path / "state" / "sample.duckdb"
    query = " union all ".join(
        f"select '{t}' as t, file_id, row_number, email, email_raw from {t}" for t in store.SPELLING_TABLES
    )
    with duckdb.connect(str(database)) as con:
        before = sorted(con.execute(query).fetchall(), key=repr)
    _as_schema_6(database)
    with duckdb.connect(str(database)) as con:
        generated = con.execute(
            "select count(*) from duckdb_columns() where column_name = 'email_raw' and is_generated"
        ).fetchall()
    assert generated == [(0,)]

    con = store.connect(database)
    try:
        after = sorted(con.execute(query).fetchall(), key=repr)
        spellings = con.execute(
            " union all ".join(
                f"select email_spelling, email from {t} where email_spelling is not null"
                for t in store.SPELLING_TABLES
            )
        ).fetchall()
        [(forgotten_spellings,)] = con.execute(
            "select count(email_raw) from contact_rows where starts_with(email, 'forgotten:')"
        ).fetchall()
        [(forgotten_rows,)] = con.execute(
            "select count(*) from contact_rows where starts_with(email, 'forgotten:')"
        ).fetchall()
    finally:
        con.close()
    assert after == before
    assert len(before) > 40 and 0 < len(spellings) < len(before) / 2  # the sample has a few odd spellings
    assert all(spelling != email for spelling, email in spellings)
    assert forgotten_rows > 0 and forgotten_spellings == 0  # a pseudonym is never shown as a spelling


def test_the_stores_spelling_rule_names_the_pseudonym_forget_writes():
    from listhygiene.privacy.keys import PSEUDONYM_PREFIX

    assert f"starts_with(email, '{PSEUDONYM_PREFIX}')" in store.SPELLING


def _stored_runs(database: Path) -> list[tuple[str, dict, list[tuple[str, str, str]]]]:
    """Each run of the store: its id, its stored manifest, and its input files as run_inputs names them."""
    from listhygiene.store.runs import run_input_keys

    con = store.connect(database)
    try:
        rows = con.execute("select run_id, manifest from runs order by run_id").fetchall()
        return [
            (run_id, json.loads(text), run_input_keys(con, run_id, json.loads(text))) for run_id, text in rows
        ]
    finally:
        con.close()


def _published_inputs(run: dict) -> list[tuple[str, str, str]]:
    """A run's input files as its published manifest.json lists them."""
    manifest = json.loads((Path(run["path"]) / "manifest.json").read_text())
    return [(i["source"], i["sha256"], i["path"]) for i in manifest["inputs"]]


def test_a_run_keeps_its_inputs_in_run_inputs_not_in_its_stored_manifest(tmp_path):
    """manifest.json lists every input file of a run; the store keeps that list as run_inputs rows
    (a bounce mailbox's list of 100,000 files would otherwise be stored again every night)."""
    config = copy_sample(tmp_path)
    for night in (NIGHT_1, NIGHT_2):
        invoke("run", "--config", config, "--as-of", night)
    database = tmp_path / "state" / "sample.duckdb"
    runs = _stored_runs(database)
    assert len(runs) == 2
    with duckdb.connect(str(database)) as con:
        paths = dict(con.execute("select run_id, path from runs").fetchall())
    for run_id, manifest, inputs in runs:
        assert "inputs" not in manifest and manifest["run_id"] == run_id
        assert inputs == _published_inputs({"path": paths[run_id]}) and inputs


def _as_schema_7(database: Path) -> None:
    """The store as listhygiene wrote it before schema 8: each run's inputs in its stored manifest."""
    with duckdb.connect(str(database)) as con:
        for run_id, path, text in con.execute("select run_id, path, manifest from runs").fetchall():
            inputs = json.loads((Path(path) / "manifest.json").read_text())["inputs"]
            con.execute(
                "update runs set manifest = ? where run_id = ?",
                [json.dumps(json.loads(text) | {"inputs": inputs}), run_id],
            )
        con.execute("drop table run_inputs")
        con.execute("update store_meta set value = '7' where key = 'schema_version'")


def test_a_schema_7_store_moves_each_runs_inputs_out_of_its_manifest(tmp_path):
    config = copy_sample(tmp_path)
    for night in (NIGHT_1, NIGHT_2):
        invoke("run", "--config", config, "--as-of", night)
    database = tmp_path / "state" / "sample.duckdb"
    before = _stored_runs(database)
    _as_schema_7(database)
    with duckdb.connect(str(database)) as con:
        assert all("inputs" in json.loads(t) for (t,) in con.execute("select manifest from runs").fetchall())

    after = _stored_runs(database)  # store.connect migrates
    assert after == before
    assert all("inputs" not in manifest for _, manifest, _ in after)
    # the next night builds on the last run, whose inputs it finds in run_inputs
    invoke("run", "--config", config, "--as-of", "2026-11-22T06:00:00Z")
    evaluation = _stored_runs(database)[-1][1]["evaluation"]
    assert evaluation["mode"] == "incremental" and evaluation["basis_run_id"] == after[-1][0]
