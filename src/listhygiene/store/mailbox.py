"""A bounce mailbox's new files loaded in batches: one read, one validation and one insert for thousands of messages."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from listhygiene.checkpoints import checkpoint
from listhygiene.config import Source
from listhygiene.ingest.dsn import is_maildir_tmp
from listhygiene.ingest.mailbox_batches import BATCH_BYTES, batch_files, per_file, read_messages
from listhygiene.ingest.platforms import dsn
from listhygiene.ingest.reading import ReadResult
from listhygiene.logs import step
from listhygiene.privacy.tombstones import NightGuard
from listhygiene.store.inserting import arrow_of, insert_quarantine, insert_rows, rejection
from listhygiene.store.planning import FileLoad, LoadReport, PlannedFile, Planner, already_loaded

log = logging.getLogger("listhygiene")


@dataclass
class _Batch:
    """New files waiting to be loaded together, with their places among the source's files."""

    files: list[tuple[int, PlannedFile]] = field(default_factory=list)
    size: int = 0
    contents: set[str] = field(default_factory=set)  # the files' sha256
    data: list[bytes] = field(default_factory=list)  # the files' bytes, read once to hash them

    def add(self, place: int, planned: PlannedFile, data: bytes) -> None:
        self.files.append((place, planned))
        self.size += planned.size
        self.contents.add(planned.sha256)
        self.data.append(data)


def load_mailbox(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    files: list[Path],
    planner: Planner,
    limit: float,
    loaded_at: datetime,
    report: LoadReport,
    guard: NightGuard | None,
) -> tuple[list[FileLoad], list[str]]:
    """Load a dsn source's new files batch by batch; one FileLoad per file (in `files`' order;
    none for a file in a Maildir's tmp/) and the rejections of files over the quarantine limit
    (an mbox judged on its own)."""
    outcomes: list[FileLoad | None] = [None] * len(files)
    rejected: list[str] = []
    batch = _Batch()
    skipped = 0
    most = batch_files()

    def flush() -> None:
        nonlocal batch
        if batch.files:
            rejected.extend(
                _load_batch(
                    con, source, batch, len(files), planner, limit, loaded_at, report, guard, outcomes
                )
            )
        batch = _Batch()

    read: dict[Path, bytes] = {}

    def digest(path: Path) -> str:
        """A new file's hash, from its bytes kept for reading its messages (not read twice)."""
        data = read[path] = dsn.read_file(path)
        return hashlib.sha256(data).hexdigest()

    for place, path in enumerate(files):
        if is_maildir_tmp(path):
            # still being delivered: not planned, not recorded. (Recorded, its content hashed
            # but no message read, the message moved to new/ tomorrow would be taken as loaded.)
            continue
        planned = planner.identify(path, digest)
        if planned.known is None and planned.sha256 in batch.contents:
            flush()  # the same bytes twice tonight: the second is the first's, once it is loaded
            planned = planner.identify(path, digest)
        planner.judge(planned, report, quiet=True)
        data = read.pop(path, b"")
        if planned.known is not None:
            outcomes[place] = already_loaded(source, planned)
            skipped += 1
            continue
        if not planned.size:  # warned here, as files are planned: the night's warnings stay in file order
            message = f"{source.name} {path.name}: zero-byte file holds no records"
            report.warnings.append(message)
            log.warning(message)
        batch.add(place, planned, data)
        if len(batch.files) >= most or batch.size >= BATCH_BYTES:
            flush()
    flush()
    if skipped:
        log.info("source %s: %d of %d files already loaded, skipped", source.name, skipped, len(files))
    return [o for o in outcomes if o is not None], rejected


def _load_batch(
    con,
    source: Source,
    batch: _Batch,
    total: int,
    planner: Planner,
    limit: float,
    loaded_at: datetime,
    report: LoadReport,
    guard: NightGuard | None,
    outcomes: list[FileLoad | None],
) -> list[str]:
    """Read, validate and insert one batch of files; fill their outcomes; the rejections."""
    first, last = batch.files[0][0] + 1, batch.files[-1][0] + 1
    with step(f"loading {source.name} files {first}-{last}"):
        planned = [p for _, p in batch.files]
        file_ids = sorted(
            i
            for (i,) in con.execute(
                "select nextval('input_file_ids') from range(?)", [len(planned)]
            ).fetchall()
        )
        read = read_messages(source, [p.path for _, p in batch.files], batch.data)
        n = len(planned)
        records_read = per_file(read.records_file, n)
        used = per_file(read.records_file.gather(read.rows.used - 1), n)
        quarantined = per_file(read.quarantine["file"], n)
        loaded = per_file(pl.concat([rows["file"] for rows in read.by_kind.values()]), n)
        rows_read = [q + good for q, good in zip(quarantined, loaded, strict=True)]
        refused: set[int] = set()
        problems = []
        for k, (place, file) in enumerate(batch.files):
            one_message = records_read[k] == 1  # judged with the others in mailbox_rejection
            status = "loaded"
            if not one_message and rows_read[k] and quarantined[k] / rows_read[k] > limit:
                status = "rejected"
                refused.add(k)
                problems.append(_rejection(source, file, read.quarantine, k, rows_read[k], limit))
            outcomes[place] = FileLoad(
                source.name,
                source.file_kind,
                file.path,
                file.sha256,
                rows_read[k],
                loaded[k],
                quarantined[k],
                status=status,
                one_message=one_message,
            )
        ids = pl.Series("file_id", file_ids, dtype=pl.Int64)
        kept = ~pl.col("file").is_in(list(refused)) if refused else pl.lit(True)
        for kind, rows in read.by_kind.items():
            rows = rows.filter(kept)
            if rows.height:
                insert_rows(
                    con, kind, rows.with_columns(file_id=ids.gather(rows["file"])).drop("file"), guard
                )
        _record_files(
            con,
            source,
            batch,
            file_ids,
            refused,
            loaded_at,
            rows_read,
            loaded,
            quarantined,
            records_read,
            used,
        )
        quarantine = read.quarantine.filter(kept)
        insert_quarantine(
            con, quarantine.with_columns(file_id=ids.gather(quarantine["file"])).drop("file"), guard
        )
        for k, file in enumerate(planned):
            if k not in refused:
                planner.learn(file, (rows_read[k], loaded[k], quarantined[k]))
    messages = sum(records_read)
    ignored = messages - sum(used)
    log.info(
        "source %s: files %d-%d of %d: %d new, %d messages: %d rows read, %d loaded, %d quarantined%s",
        source.name,
        first,
        last,
        total,
        n,
        messages,
        sum(rows_read),
        sum(loaded),
        sum(quarantined),
        f", {ignored} messages ignored (no hygiene event)" if ignored else "",
        extra={
            "stage": "loading",
            "source": source.name,
            "file": str(planned[0].path),
            "files": n,
            "rows_read": sum(rows_read),
            "rows_loaded": sum(loaded),
            "rows_quarantined": sum(quarantined),
            "records_read": messages,
            "records_ignored": ignored,
        },
    )
    checkpoint("loading")
    return problems


def _rejection(
    source: Source, file: PlannedFile, quarantine: pl.DataFrame, k: int, rows_read: int, limit: float
) -> str:
    """A file over the quarantine limit, worded as for any other file."""
    own = quarantine.filter(pl.col("file") == k).drop("file")
    result = ReadResult(
        path=file.path,
        source=source.name,
        kind=source.file_kind,
        sha256=file.sha256,
        size=file.size,
        rows_read=rows_read,
        rows=pl.DataFrame(),
        quarantine=own,
        snapshot_at=None,
    )
    return rejection(result, limit)


def _record_files(
    con,
    source: Source,
    batch: _Batch,
    file_ids: list[int],
    refused: set[int],
    loaded_at: datetime,
    rows_read: list[int],
    loaded: list[int],
    quarantined: list[int],
    records_read: list[int],
    used: list[int],
) -> None:
    """The batch's input_files rows (its refused files have none), in one statement: the same
    columns and values as store.loading.finish_file writes for a file."""
    keep = [k for k in range(len(batch.files)) if k not in refused]
    files = [batch.files[k][1] for k in keep]
    new_files = arrow_of(  # noqa: F841  (read by name)
        pl.DataFrame(
            {
                "file_id": [file_ids[k] for k in keep],
                "path": [f.where or str(f.path.resolve()) for f in files],
                "sha256": [f.sha256 for f in files],
                "size": [f.size for f in files],
                "rows_read": [rows_read[k] for k in keep],
                "rows_loaded": [loaded[k] for k in keep],
                "rows_quarantined": [quarantined[k] for k in keep],
                "records_read": [records_read[k] for k in keep],
                "records_ignored": [records_read[k] - used[k] for k in keep],
                "mtime_ns": [f.mtime_ns for f in files],
            },
            schema={
                "file_id": pl.Int64,
                "path": pl.String,
                "sha256": pl.String,
                "size": pl.Int64,
                "rows_read": pl.Int64,
                "rows_loaded": pl.Int64,
                "rows_quarantined": pl.Int64,
                "records_read": pl.Int64,
                "records_ignored": pl.Int64,
                "mtime_ns": pl.Int64,
            },
        )
    )
    con.execute(
        """insert into input_files by name
           select *, ? as source, ? as kind, null as snapshot_at, ?::timestamptz as loaded_at,
                  null as attribute_columns, ? as format
           from new_files""",
        [source.name, source.file_kind, loaded_at, source.format],
    )
