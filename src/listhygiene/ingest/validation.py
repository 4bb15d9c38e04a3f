"""A dry run of the inputs: read and validate every file, change nothing, report what would happen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import polars as pl

from listhygiene.config import Config, Source
from listhygiene.errors import InputError
from listhygiene.ingest.dsn import is_maildir_tmp
from listhygiene.ingest.mailbox_batches import BATCH_BYTES, batch_files, per_file, read_messages
from listhygiene.ingest.platforms import dsn, read_source_batches
from listhygiene.masking import mask_addresses_in

EXAMPLES_PER_FILE = 3


@dataclass
class FileCheck:
    source: str
    kind: str
    path: Path
    rows_read: int = 0
    rows_valid: int = 0
    rows_quarantined: int = 0
    by_problem: dict[str, int] = field(default_factory=dict)  # "column: kind of problem" -> rows
    examples: list[str] = field(default_factory=list)
    error: str | None = None  # the whole file is unusable
    over_limit: bool = False
    # a mailbox file of one message (a Maildir's, an .eml): judged with the source's others
    one_message: bool = False

    @property
    def failed(self) -> bool:
        return self.error is not None or self.over_limit


@dataclass
class ValidationReport:
    files: list[FileCheck]
    warnings: list[str]

    @property
    def failed(self) -> bool:
        return any(f.failed for f in self.files) or any(w.startswith("error:") for w in self.warnings)


# Runs the checks of several files: in this process by default; the Spark engine runs each
# file's check as a task of its own (engines/spark/validation.py).
CheckRunner = Callable[[Callable[[Source, Path], FileCheck], list[tuple[Source, Path]]], list[FileCheck]]


def check_here(
    check: Callable[[Source, Path], FileCheck], files: list[tuple[Source, Path]]
) -> list[FileCheck]:
    return [check(source, path) for source, path in files]


def validate_inputs(config: Config, run_checks: CheckRunner = check_here) -> ValidationReport:
    """Read every file every source matches, exactly as a run would, without the store."""
    planned: list[tuple[Source, Path]] = []
    warnings: list[str] = []
    for source in config.sources:
        matched = source.files()
        if not matched:
            if source.file_kind == "contacts":
                warnings.append(f"error: contacts source {source.name!r} matches no file ({source.path})")
            else:
                warnings.append(f"{source.file_kind} source {source.name!r} matches no file ({source.path})")
        # a file in a Maildir's tmp/ is still being delivered: a run neither loads nor records it
        planned.extend(
            (source, path) for path in matched if not (source.format == "dsn" and is_maildir_tmp(path))
        )
    limit = config.policy.max_quarantine_fraction
    # Here (not on Spark), a bounce mailbox's files are read in batches, as a run loads them: a
    # Maildir of 100,000 one-message files checked one by one would take hours.
    batched = run_checks is check_here
    one_by_one = [i for i, (source, _) in enumerate(planned) if not (batched and source.format == "dsn")]
    checked = run_checks(partial(check_file, limit=limit), [planned[i] for i in one_by_one])
    checks: dict[int, FileCheck] = dict(zip(one_by_one, checked, strict=True))
    for source in config.sources:
        places = [i for i, (s, _) in enumerate(planned) if s is source and i not in checks]
        if places:
            found = check_mailbox(source, [planned[i][1] for i in places], limit)
            checks.update(zip(places, found, strict=True))
    files = [checks[i] for i in range(len(planned))]
    warnings.extend(_messages_over_the_limit(config, files, limit))
    return ValidationReport(files, warnings)


def check_mailbox(source: Source, paths: list[Path], limit: float) -> list[FileCheck]:
    """check_file's answer for each of a bounce mailbox's files, read in batches of up to
    batch_files() files or BATCH_BYTES as a run loads them (a file that cannot be read is
    checked alone, for its error)."""
    checks: list[FileCheck] = []
    batch: list[Path] = []
    contents: list[bytes] = []
    size = 0

    def flush() -> None:
        nonlocal size
        if batch:
            checks.extend(_check_batch(source, batch, contents, limit))
        batch.clear()
        contents.clear()
        size = 0

    most = batch_files()
    for path in paths:
        try:
            data = dsn.read_file(path)
        except InputError:
            flush()
            checks.append(check_file(source, path, limit))
            continue
        batch.append(path)
        contents.append(data)
        size += len(data)
        if len(batch) >= most or size >= BATCH_BYTES:
            flush()
    flush()
    return checks


def _check_batch(source: Source, paths: list[Path], contents: list[bytes], limit: float) -> list[FileCheck]:
    read = read_messages(source, paths, contents)
    n = len(paths)
    records = per_file(read.records_file, n)
    quarantined = per_file(read.quarantine["file"], n)
    valid = per_file(pl.concat([rows["file"] for rows in read.by_kind.values()]), n)
    checks = []
    for k, path in enumerate(paths):
        check = FileCheck(source.name, source.file_kind, path)
        check.rows_read, check.rows_valid, check.rows_quarantined = (
            valid[k] + quarantined[k],
            valid[k],
            quarantined[k],
        )
        if quarantined[k]:
            _describe(check, read.quarantine.filter(pl.col("file") == k))
        check.one_message = records[k] == 1
        check.over_limit = (
            not check.one_message and bool(check.rows_read) and quarantined[k] / check.rows_read > limit
        )
        checks.append(check)
    return checks


def _messages_over_the_limit(config: Config, files: list[FileCheck], limit: float) -> list[str]:
    """The quarantine limit over each source's one-message files judged together, as a run
    judges a bounce mailbox's messages (store.loading.mailbox_rejection): one stray message is
    not a whole file gone bad. A run judges the messages new to the store; this, all of them."""
    found = []
    for source in config.sources:
        messages = [f for f in files if f.source == source.name and f.one_message and f.error is None]
        read = sum(f.rows_read for f in messages)
        quarantined = sum(f.rows_quarantined for f in messages)
        if read and quarantined / read > limit:
            found.append(
                f"error: source {source.name}: {quarantined} of {read} rows of its {len(messages)} "
                f"messages quarantined ({quarantined / read:.1%}, limit {limit:.1%}, the messages "
                "judged together)"
            )
    return found


def check_file(source: Source, path: Path, limit: float) -> FileCheck:
    """Read and validate one file as a run would; its counts, problems and first examples."""
    check = FileCheck(source.name, source.file_kind, path)
    try:
        # batch by batch, as a run loads it: good rows are counted and dropped, so a file of
        # any size is checked in the memory of one batch
        batches, read_result = read_source_batches(path, source)
        rows_valid = sum(rows.height for _, rows in batches)
        result = read_result()
    except InputError as exc:
        check.error = mask_addresses_in(str(exc))
        return check
    quarantine = result.quarantine
    check.rows_read, check.rows_valid, check.rows_quarantined = (
        result.rows_read,
        rows_valid,
        quarantine.height,
    )
    if quarantine.height:
        _describe(check, quarantine)
    check.one_message = source.format == "dsn" and result.records_read == 1
    check.over_limit = (
        not check.one_message and bool(result.rows_read) and quarantine.height / result.rows_read > limit
    )
    return check


def _describe(check: FileCheck, quarantine: pl.DataFrame) -> None:
    """A file's quarantined rows by kind of problem, and its first examples (addresses masked)."""
    check.by_problem = _problems(quarantine)
    check.examples = [
        f"row {r['row_number']}"
        + (f", column {r['column']!r}" if r["column"] else "")
        + f": {mask_addresses_in(r['error'])}"
        for r in quarantine.sort("row_number").head(EXAMPLES_PER_FILE).iter_rows(named=True)
    ]


def _problems(quarantine: pl.DataFrame) -> dict[str, int]:
    """Quarantined rows per kind of problem: the column and the message without its values."""
    kinds = quarantine.select(
        pl.concat_str(
            pl.col("column").fill_null("row"),
            pl.lit(": "),
            pl.col("error").str.split("; ").list.first().str.replace_all(r"'[^']*'", "…"),
        ).alias("problem")
    )
    counts = kinds.group_by("problem").len().sort(["len", "problem"], descending=[True, False])
    return dict(counts.iter_rows())
