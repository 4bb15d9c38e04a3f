"""A run's record in the store: the input files it read, kept in run_inputs beside its manifest."""

from __future__ import annotations

import json

import duckdb

# The files a night reads: every loaded file of the sources (and kinds) the night's rules read,
# as the temp table run_sources names them. manifest.json lists these; run_inputs keeps them.
RUN_INPUT_FILES = "input_files f join run_sources s on s.source = f.source and s.kind = f.kind"


def record_run_inputs(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """The night's input files (RUN_INPUT_FILES) as the run's rows of run_inputs."""
    con.execute(f"insert into run_inputs select ?, f.file_id from {RUN_INPUT_FILES}", [run_id])


def stored_manifest(manifest: dict) -> str:
    """The manifest as the runs table keeps it: without its inputs, which run_inputs holds."""
    return json.dumps({key: value for key, value in manifest.items() if key != "inputs"})


def run_input_keys(
    con: duckdb.DuckDBPyConnection, run_id: str, manifest: dict, alias: str | None = None
) -> list[tuple[str, str, str]]:
    """(source, sha256, path) of each input file run `run_id` read, from the store (attached as
    `alias`, or the connection's own): its run_inputs rows, or the list its stored manifest
    still holds (a Spark catalog written before store schema 8; a run whose inputs the
    migration could not all find)."""
    if "inputs" in manifest:
        return [(i["source"], i["sha256"], i["path"]) for i in manifest["inputs"]]
    prefix = f'"{alias}".' if alias else ""
    return [
        (source, sha, path)
        for source, sha, path in con.execute(
            f"select f.source, f.sha256, f.path from {prefix}run_inputs r "
            f"join {prefix}input_files f using (file_id) where r.run_id = ? "
            "order by f.source, f.path, f.file_id",
            [run_id],
        ).fetchall()
    ]
