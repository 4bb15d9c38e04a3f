"""Loads the pipeline's input files into the store: once per file content, with lineage.

Which files are new is store.planning; a bounce mailbox's files (format "dsn", a Maildir's
thousands of one-message files) are loaded in batches by store.mailbox; rows go into the
tables through store.inserting.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from listhygiene.checkpoints import checkpoint
from listhygiene.config import Config, Source
from listhygiene.errors import InputError, ValidationFailed
from listhygiene.ingest.platforms import read_source_batches
from listhygiene.ingest.reading import ReadResult
from listhygiene.logs import step
from listhygiene.privacy.tombstones import HeldRows, NightGuard, night_guard
from listhygiene.store.database import EVENT_IDENTITY, loading_memory
from listhygiene.store.inserting import TABLE_OF_KIND, insert_quarantine, insert_rows, rejection
from listhygiene.store.mailbox import load_mailbox
from listhygiene.store.planning import FileLoad, LoadReport, Planner, already_loaded

__all__ = [
    "FileLoad",
    "LoadReport",
    "finish_file",
    "inputs_failed",
    "insert_batches",
    "insert_file",
    "load_sources",
    "mark_duplicate_events",
    "no_files",
    "rejection",
]

log = logging.getLogger("listhygiene")


def load_sources(con: duckdb.DuckDBPyConnection, config: Config, loaded_at: datetime) -> LoadReport:
    """Load every new file of every source; raise before anything is committed if one is unusable.

    Runs inside the caller's transaction: on any error the caller rolls back, so the store is
    left exactly as it was.
    """
    with loading_memory(con):  # polars' batches beside DuckDB: less for DuckDB meanwhile
        return _load_sources(con, config, loaded_at)


def _load_sources(con: duckdb.DuckDBPyConnection, config: Config, loaded_at: datetime) -> LoadReport:
    report = LoadReport()
    rejected: list[str] = []
    guard = night_guard(con, config)
    [(last_before,)] = con.execute("select coalesce(max(file_id), 0) from input_files").fetchall()
    for source in config.sources:
        files = source.files()
        if not files:
            no_files(source, report)
            continue
        planner = Planner(con, source)  # the source's loaded files, asked once
        limit = config.policy.max_quarantine_fraction
        if source.format == "dsn":  # a mailbox: thousands of one-message files, loaded in batches
            outcomes, problems = load_mailbox(con, source, files, planner, limit, loaded_at, report, guard)
            rejected += problems
        else:
            outcomes = []
            for path in files:
                with step(f"loading {source.name} {path.name}"):
                    outcome, problem = _load_file(con, source, path, planner, limit, loaded_at, report, guard)
                outcomes.append(outcome)
                if problem:
                    rejected.append(problem)
        report.files += outcomes
        rejected += mailbox_rejection(source, outcomes, config.policy.max_quarantine_fraction)
    if rejected:
        raise inputs_failed(rejected)
    if guard is not None:
        report.held = settle_forgotten(con, guard)  # held rows stored first: one may be its event's first
    # once for the night, not per file: a Maildir is thousands of one-message files, and each
    # pass reads the whole event table (per file, loading a mailbox grew with its square)
    tonight = con.execute("select file_id from input_files where file_id > ?", [last_before]).fetchall()
    for table in EVENT_IDENTITY:
        mark_duplicate_events(con, table, [file_id for (file_id,) in tonight])
    return report


def mailbox_rejection(source: Source, outcomes: list[FileLoad], limit: float) -> list[str]:
    """The quarantine guard over a mailbox's one-message files (a Maildir, .eml files) loaded
    tonight, judged together: one stray message is not a whole file of bounces gone bad."""
    messages = [o for o in outcomes if o.one_message and o.status == "loaded"]
    read = sum(o.rows_read for o in messages)
    quarantined = sum(o.rows_quarantined for o in messages)
    if not read or quarantined / read <= limit:
        return []
    first = ", ".join(o.path.name for o in messages if o.rows_quarantined)
    return [
        f"source {source.name}: {quarantined} of {read} rows of tonight's {len(messages)} messages "
        f"quarantined ({quarantined / read:.1%}, limit {limit:.1%}, the messages judged together); "
        f"first: {first[:300]}"
    ]


def settle_forgotten(con, guard: NightGuard) -> HeldRows:
    """Store the rows held back from forgotten addresses (before tonight's duplicate events are
    marked: a held row may be the first of its event)."""
    held = guard.settle()
    if held.files:
        rows = sum(held.rows.values())
        if rows:
            log.warning(
                "%d rows of tonight's inputs hold forgotten addresses: stored under their tombstones, "
                "without the address (the input files still hold it; `listhygiene forget` lists them)",
                rows,
            )
    if held.lifted:
        log.warning(
            "%d forgotten addresses gave fresh consent after their erasure: in clear again", held.lifted
        )
    return held


def inputs_failed(rejected: list[str]) -> ValidationFailed:
    """The error of a night whose files went over the quarantine limit (each named in `rejected`)."""
    return ValidationFailed(
        "inputs failed validation; nothing was loaded or published:\n"
        + "\n".join(f"  - {p}" for p in rejected)
        + "\nFix the rows named above (or raise [policy] max_quarantine_fraction), then run again."
    )


def no_files(source: Source, report: LoadReport) -> None:
    """A source matching no file tonight: an error for contacts, a warning for a log."""
    if source.file_kind == "contacts":
        raise InputError(
            f"contacts source {source.name!r} matches no file ({source.path}).",
            hint="An empty export would make every contact vanish; check the path in the "
            "pipeline file or that tonight's export arrived.",
        )
    message = f"{source.file_kind} source {source.name!r} matches no file ({source.path}): no events from it."
    if source.file_kind == "suppressions":
        message = (
            f"suppressions source {source.name!r} matches no file ({source.path}): its newest "
            "list already loaded, if any, stays in force."
        )
    report.warnings.append(message)
    log.warning(message)


def _load_file(
    con,
    source: Source,
    path: Path,
    planner: Planner,
    limit: float,
    loaded_at: datetime,
    report: LoadReport,
    guard: NightGuard | None = None,
) -> tuple[FileLoad, str | None]:
    planned = planner.plan(path, report)
    if planned.known is not None:
        return already_loaded(source, planned), None
    sha = planned.sha256

    # Rows go into the store batch by batch as they are read; quarantined rows, few, are kept.
    batches, read_result = read_source_batches(path, source, sha256=sha)
    file_id = _new_file_id(con)
    loaded, attribute_columns = insert_batches(con, batches, file_id, guard)
    result = read_result()
    result.mtime_ns = planned.mtime_ns
    rows_loaded = sum(loaded.values())
    for warning in result.warnings:
        message = f"{source.name} {path.name}: {warning}"
        report.warnings.append(message)
        log.warning(message)
    quarantined = result.quarantine.height
    ignored = (
        f", {result.records_ignored} of {result.records_read} records ignored (no hygiene event)"
        if result.records_ignored
        else ""
    )
    log.info(
        "%s %s: %d rows read, %d loaded, %d quarantined%s",
        source.name,
        path.name,
        result.rows_read,
        rows_loaded,
        quarantined,
        ignored,
        extra={
            "stage": "loading",
            "source": source.name,
            "file": str(path),
            "rows_read": result.rows_read,
            "rows_loaded": rows_loaded,
            "rows_quarantined": quarantined,
            "records_read": result.records_read,
            "records_ignored": result.records_ignored,
        },
    )

    one_message = source.format == "dsn" and result.records_read == 1  # judged in mailbox_rejection
    rejected = not one_message and result.rows_read and quarantined / result.rows_read > limit
    outcome = FileLoad(
        source.name,
        source.file_kind,
        path,
        sha,
        result.rows_read,
        rows_loaded,
        quarantined,
        status="rejected" if rejected else "loaded",
        one_message=one_message,
    )
    if rejected:
        # Its rows went in as they were read: take them out (load_sources raises, and the run
        # rolls back all the same).
        for kind in loaded:
            con.execute(f"delete from {TABLE_OF_KIND[kind]} where file_id = ?", [file_id])
        return outcome, rejection(result, limit)

    finish_file(
        con, file_id, source, result, loaded_at, loaded, attribute_columns, guard, mark_duplicates=False
    )
    planner.learn(planned, (result.rows_read, rows_loaded, quarantined))
    checkpoint("loading")
    return outcome, None


def insert_file(con, source: Source, result: ReadResult, loaded_at: datetime) -> None:
    """Add one file read whole to the store: its record, its rows (addresses normalized), its quarantine."""
    file_id = _new_file_id(con)
    loaded, attribute_columns = insert_batches(con, iter(result.rows_by_kind.items()), file_id)
    finish_file(con, file_id, source, result, loaded_at, loaded, attribute_columns)


def _new_file_id(con) -> int:
    [(file_id,)] = con.execute("select nextval('input_file_ids')").fetchall()
    return file_id


def insert_batches(
    con, batches: Iterator[tuple[str, pl.DataFrame]], file_id: int, guard: NightGuard | None = None
) -> tuple[dict[str, int], list[str]]:
    """Insert each (kind, rows) batch as it comes; return the rows inserted by kind, and the
    extra columns of the contacts (from the first row: they all share one JSON shape)."""
    loaded: dict[str, int] = {}
    attribute_columns: list[str] = []
    # A batch is inserted (DuckDB) while the next one is read and validated (polars, pandera).
    with ThreadPoolExecutor(max_workers=1) as inserter:
        inserting = None
        for kind, rows in batches:
            if not rows.height:
                continue
            if kind == "contacts" and kind not in loaded:
                attribute_columns = list(json.loads(rows["attributes"][0]).keys())
            if inserting is not None:
                inserting.result()
            inserting = inserter.submit(
                insert_rows, con, kind, rows.with_columns(file_id=pl.lit(file_id)), guard
            )
            loaded[kind] = loaded.get(kind, 0) + rows.height
        if inserting is not None:
            inserting.result()
    return loaded, attribute_columns


def finish_file(
    con,
    file_id: int,
    source: Source,
    result: ReadResult,
    loaded_at: datetime,
    loaded: dict[str, int],
    attribute_columns: list[str],
    guard: NightGuard | None = None,
    mark_duplicates: bool = True,
) -> None:
    """Once its rows are in: the file's record in input_files, its quarantined rows, and (unless
    the caller marks a night's files together) its events already known marked."""
    con.execute(
        """insert into input_files by name select ? as file_id, ? as source, ? as kind, ? as path,
               ? as sha256, ? as size, ? as rows_read, ? as rows_loaded, ? as rows_quarantined,
               ? as snapshot_at, ? as loaded_at, ? as attribute_columns, ? as format,
               ? as records_read, ? as records_ignored, ? as mtime_ns""",
        [
            file_id,
            source.name,
            result.kind,
            str(result.path.resolve()),
            result.sha256,
            result.size,
            result.rows_read,
            sum(loaded.values()),
            result.quarantine.height,
            result.snapshot_at,
            loaded_at,
            attribute_columns if result.kind == "contacts" else None,
            source.format,
            result.records_read,
            result.records_ignored if result.records_read is not None else None,
            result.mtime_ns,
        ],
    )
    insert_quarantine(con, result.quarantine.with_columns(file_id=pl.lit(file_id, dtype=pl.Int64)), guard)
    if mark_duplicates:
        for kind in loaded:
            if TABLE_OF_KIND[kind] in EVENT_IDENTITY:
                mark_duplicate_events(con, TABLE_OF_KIND[kind], [file_id])


def mark_duplicate_events(con, table: str, file_ids: list[int]) -> None:
    """Mark the new files' events already known from earlier rows or files.

    Two events are the same when the platform gave both the same id (event_ref) for the same
    address, or, for events without an id, when every column of the identity is equal; of
    each set of the same event, the first (by file, row) counts and the others are marked.
    Each kind of sameness is one pass. A pass compares the identity's hash first (one integer
    per row: the new files' hashes, the earlier rows that share one, the hashes seen twice) and
    ranks by the identity's columns only the few rows whose hash repeats, so a file of new
    events is never sorted whole. The files are marked together in one pass (a row is
    marked when a row before it by (file, row) is the same event, whichever file it is in).
    """
    if not file_ids:
        return
    identity = EVENT_IDENTITY[table]
    passes = [
        ("event_ref is not null", ("email", "event_ref")),
        ("event_ref is null", identity),
    ]
    for which, keys in passes:
        key_list = ", ".join(keys)
        con.execute(
            f"""
            update {table} set is_duplicate = true
            where rowid in (
                with
                tonight as (
                    select hash({key_list}) as h from {table} where list_contains($files, file_id) and {which}
                ),
                earlier as (
                    select hash({key_list}) as h from {table}
                    where not list_contains($files, file_id) and {which} and hash({key_list}) in (select h from tonight)
                ),
                repeated as (
                    select h from (select h from tonight union all select h from earlier)
                    group by h having count(*) > 1
                ),
                -- a shared hash is only a candidate: the identity's columns decide
                ranked as (
                    select rowid as row_id, file_id,
                           row_number() over (partition by {key_list}
                                              order by file_id, row_number, rowid) as nth
                    from {table}
                    where {which} and hash({key_list}) in (select h from repeated)
                )
                select row_id from ranked where nth > 1 and list_contains($files, file_id)
            )
            """,
            {"files": file_ids},
        )
