"""Loads the pipeline's input files into the store: once per file content, with lineage."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from . import bounces
from .checkpoints import checkpoint
from .config import Config, Source
from .errors import InputError, ValidationFailed
from .ingest import ReadResult, file_sha256
from .platforms import read_source_file
from .normalize import mask_addresses_in, normalize_addresses
from .store import EVENT_IDENTITY

log = logging.getLogger("listhygiene")

TABLE_OF_KIND = {
    "contacts": "contact_rows",
    "unsubscribes": "unsubscribe_events",
    "bounces": "bounce_events",
}


@dataclass
class FileLoad:
    """What happened to one input file in this run."""

    source: str
    kind: str
    path: Path
    sha256: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    status: str  # loaded | already_loaded | rejected


@dataclass
class LoadReport:
    files: list[FileLoad] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def load_sources(con: duckdb.DuckDBPyConnection, config: Config, loaded_at: datetime) -> LoadReport:
    """Load every new file of every source; raise before anything is committed if one is unusable.

    Runs inside the caller's transaction: on any error the caller rolls back, so the store is
    left exactly as it was.
    """
    report = LoadReport()
    rejected: list[str] = []
    for source in config.sources:
        files = source.files()
        if not files:
            _no_files(source, report)
            continue
        for path in files:
            outcome, problem = _load_file(con, source, path, config, loaded_at, report)
            report.files.append(outcome)
            if problem:
                rejected.append(problem)
    if rejected:
        raise ValidationFailed(
            "inputs failed validation; nothing was loaded or published:\n"
            + "\n".join(f"  - {p}" for p in rejected)
            + "\nFix the rows named above (or raise [policy] max_quarantine_fraction), then run again."
        )
    return report


def _no_files(source: Source, report: LoadReport) -> None:
    if source.file_kind == "contacts":
        raise InputError(
            f"contacts source {source.name!r} matches no file ({source.path}).",
            hint="An empty export would make every contact vanish; check the path in the "
                 "pipeline file or that tonight's export arrived.",
        )
    message = f"{source.file_kind} source {source.name!r} matches no file ({source.path}): no events from it."
    report.warnings.append(message)
    log.warning(message)


def _load_file(con, source: Source, path: Path, config: Config, loaded_at: datetime,
               report: LoadReport) -> tuple[FileLoad, str | None]:
    stat = path.stat()
    # A file still of the size and modification time it had when loaded is that file: skip it
    # without reading it again (as make and rsync do); any other file is known by its content.
    unchanged = con.execute(
        "select sha256, rows_read, rows_loaded, rows_quarantined from input_files "
        "where source = ? and path = ? and size = ? and mtime_ns = ? order by file_id desc limit 1",
        [source.name, str(path.resolve()), stat.st_size, stat.st_mtime_ns],
    ).fetchall()
    if unchanged:
        sha, *counts = unchanged[0]
        known = [tuple(counts)]
    else:
        sha = file_sha256(path)
        # A log's content is loaded once, wherever it turns up again. A contacts file is a part
        # of the snapshot its name or folder dates: the same content under a new name (tonight's
        # unchanged part of an export) is loaded again as part of tonight's snapshot.
        same_place = " and path = ?" if source.file_kind == "contacts" else ""
        known = con.execute(
            "select rows_read, rows_loaded, rows_quarantined from input_files "
            f"where source = ? and sha256 = ?{same_place}",
            [source.name, sha] + ([str(path.resolve())] if same_place else []),
        ).fetchall()
    if known:
        log.info("%s %s: already loaded (%d rows), skipped", source.name, path.name, known[0][0])
        return FileLoad(source.name, source.file_kind, path, sha, *known[0], status="already_loaded"), None
    [(versions,)] = con.execute(
        "select count(*) from input_files where source = ? and path = ?",
        [source.name, str(path.resolve())],
    ).fetchall()
    if versions:
        message = (f"{source.name} {path.name}: content changed since it was loaded; loading it as "
                   f"version {versions + 1}" + (" (it replaces the earlier versions of this snapshot)"
                                                if source.file_kind == "contacts" else
                                                " (events already loaded are counted once)"))
        report.warnings.append(message)
        log.warning(message)

    result = read_source_file(path, source, sha256=sha)
    result.mtime_ns = stat.st_mtime_ns
    for warning in result.warnings:
        message = f"{source.name} {path.name}: {warning}"
        report.warnings.append(message)
        log.warning(message)
    quarantined = result.quarantine.height
    ignored = (f", {result.records_ignored} of {result.records_read} records ignored (no hygiene event)"
               if result.records_ignored else "")
    log.info("%s %s: %d rows read, %d loaded, %d quarantined%s",
             source.name, path.name, result.rows_read, result.rows_loaded, quarantined, ignored,
             extra={"stage": "loading", "source": source.name, "file": str(path),
                    "rows_read": result.rows_read, "rows_loaded": result.rows_loaded,
                    "rows_quarantined": quarantined, "records_read": result.records_read,
                    "records_ignored": result.records_ignored})

    limit = config.policy.max_quarantine_fraction
    if result.rows_read and quarantined / result.rows_read > limit:
        outcome = FileLoad(source.name, source.file_kind, path, sha, result.rows_read,
                           result.rows_loaded, quarantined, status="rejected")
        return outcome, _rejection(result, limit)

    insert_file(con, source, result, loaded_at)
    checkpoint("loading")
    outcome = FileLoad(source.name, source.file_kind, path, sha, result.rows_read,
                       result.rows_loaded, quarantined, status="loaded")
    return outcome, None


def _rejection(result: ReadResult, limit: float) -> str:
    q = result.quarantine
    examples = q.sort("row_number").head(3)
    lines = [
        f"row {r['row_number']}" + (f", column {r['column']!r}" if r["column"] else "")
        + f": {mask_addresses_in(r['error'])}"
        for r in examples.iter_rows(named=True)
    ]
    return (
        f"file {result.path} ({result.source}): {q.height} of {result.rows_read} rows quarantined "
        f"({q.height / result.rows_read:.1%}, limit {limit:.1%}); first: " + "; ".join(lines)
    )


def insert_file(con, source: Source, result: ReadResult, loaded_at: datetime) -> None:
    """Add one read file to the store: its record, its rows (addresses normalized), its quarantine."""
    file_id = con.execute("select nextval('input_file_ids')").fetchone()[0]
    attribute_columns = None
    if result.kind == "contacts":
        attribute_columns = _attribute_columns(result.rows)
    con.execute(
        """insert into input_files by name select ? as file_id, ? as source, ? as kind, ? as path,
               ? as sha256, ? as size, ? as rows_read, ? as rows_loaded, ? as rows_quarantined,
               ? as snapshot_at, ? as loaded_at, ? as attribute_columns, ? as format,
               ? as records_read, ? as records_ignored, ? as mtime_ns""",
        [file_id, source.name, result.kind, str(result.path.resolve()), result.sha256, result.size,
         result.rows_read, result.rows_loaded, result.quarantine.height, result.snapshot_at, loaded_at,
         attribute_columns, source.format, result.records_read,
         result.records_ignored if result.records_read is not None else None, result.mtime_ns],
    )
    for kind, rows in result.rows_by_kind.items():
        if rows.height:
            _insert_rows(con, kind, rows, file_id)
    if result.quarantine.height:
        con.register("new_quarantine", result.quarantine.to_arrow())
        con.execute(
            "insert into quarantine select ?, row_number, \"column\", error, raw from new_quarantine",
            [file_id],
        )
        con.unregister("new_quarantine")


def _insert_rows(con, kind: str, rows: pl.DataFrame, file_id: int) -> None:
    """Insert one kind's rows of a file (addresses normalized, bounces classified), then mark repeats."""
    addresses = normalize_addresses(rows["email_raw"])
    batch = rows.with_columns(addresses["email"], addresses["email_valid"], file_id=pl.lit(file_id))
    if kind == "bounces":
        con.register("new_bounces", batch.to_arrow())
        batch_sql = bounces.classified_bounces_sql(con)
    else:
        con.register("new_rows", batch.to_arrow())
        batch_sql = "select * from new_rows"
    table = TABLE_OF_KIND[kind]
    con.execute(f"insert into {table} by name {batch_sql}")
    con.unregister("new_bounces" if kind == "bounces" else "new_rows")
    if table in EVENT_IDENTITY:
        mark_duplicate_events(con, table, file_id)


def mark_duplicate_events(con, table: str, file_id: int) -> None:
    """Mark the new file's events already known from earlier rows or files.

    Two events are the same when the platform gave both the same id (event_ref) for the same
    address, or, for events without an id, when every column of the identity is equal. Each
    kind of sameness is one pass whose join is on plain keys, so DuckDB hashes it.
    """
    identity = EVENT_IDENTITY[table]
    passes = [
        ("event_ref is not null", ("email", "event_ref")),
        ("event_ref is null", identity),
    ]
    for which, keys in passes:
        same = " and ".join(f"o.{c} is not distinct from n.{c}" for c in keys)
        con.execute(
            f"""
            update {table} as target set is_duplicate = true
            from (
                select row_id
                from (
                    select rowid as row_id, file_id,
                           row_number() over (partition by {", ".join(keys)}
                                              order by file_id, row_number, rowid) as nth
                    from {table} o
                    where o.{which}
                      and exists (select 1 from {table} n where n.file_id = ? and n.{which} and {same})
                )
                where nth > 1 and file_id = ?
            ) repeated
            where target.rowid = repeated.row_id
            """,
            [file_id, file_id],
        )


def _attribute_columns(rows: pl.DataFrame) -> list[str]:
    """The extra columns of a contacts file, in header order (they all share one JSON shape)."""
    if not rows.height:
        return []
    return list(json.loads(rows["attributes"][0]).keys())
